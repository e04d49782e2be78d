//! Reusable view components.

pub mod health_panel;
