//! Reusable widgets.

pub mod belief_panel;
pub mod candidate;
pub mod error_card;
pub mod feedback_form;
pub mod progress;
pub mod session_cards;
pub mod trajectory_plot;
