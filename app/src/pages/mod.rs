//! One module per page, as in leptos' hackernews_axum example.

pub mod home;
pub mod not_found;
