//! Feedback: the six modes, the reference's normalization and validation messages, and the new
//! checks (rating range, tag vocabulary, round membership, latest round, mode).

mod error;
mod normalize;
mod normalized;
pub mod tags;
mod validate;

pub use crate::steering::kinds::FeedbackMode;
pub use error::{FeedbackError, FeedbackErrorKind};
pub use normalize::normalize;
pub use normalized::NormalizedFeedback;
pub use validate::{
    check_mode, check_round_accepts_feedback, normalize_for_round, validate_against_round,
    RoundState,
};
