//! One module per page, as in leptos' hackernews_axum example.

pub mod calibration;
pub mod diagnostics;
pub mod home;
pub mod not_found;
pub mod replay;
pub mod session;
pub mod setup;
