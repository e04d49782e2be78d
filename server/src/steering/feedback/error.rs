//! Typed feedback errors: what went wrong, which request field, and the HTTP-style error code.

/// The class of a feedback error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackErrorKind {
    /// The payload is malformed or breaks a rule of its mode (400 `invalid_input`).
    Invalid,
    /// The payload references a candidate that is not in the round (400 `invalid_input`).
    UnknownCandidate,
    /// The feedback type is not the session's mode (400 `invalid_input`).
    ModeMismatch,
    /// The round cannot take feedback now (409 `conflict`).
    NotAccepting,
}

/// A feedback validation error naming the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FeedbackError {
    /// Error class.
    pub kind: FeedbackErrorKind,
    /// Dotted path of the offending field, e.g. `payload.ratings.cand_1`.
    pub field: String,
    /// Human-readable message (the reference's wording where the reference had a check).
    pub message: String,
}

impl FeedbackError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        FeedbackError {
            kind: FeedbackErrorKind::Invalid,
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn unknown(field: impl Into<String>, message: impl Into<String>) -> Self {
        FeedbackError {
            kind: FeedbackErrorKind::UnknownCandidate,
            field: field.into(),
            message: message.into(),
        }
    }

    /// `invalid_input` or `conflict`, as the HTTP layer reports it.
    pub fn error_code(&self) -> &'static str {
        match self.kind {
            FeedbackErrorKind::NotAccepting => "conflict",
            _ => "invalid_input",
        }
    }
}
