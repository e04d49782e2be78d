//! `ConfigError`: a config problem with the key or field it concerns and, for YAML input, the
//! line, so the HTTP layer can answer `{error_code, message, field}`.

/// What kind of config problem it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The YAML text does not parse.
    Syntax,
    /// The document is not a mapping.
    NotAMapping,
    /// A key that the config does not have.
    UnknownKey {
        /// The closest valid key.
        suggestion: String,
    },
    /// A value of the wrong type.
    WrongType,
    /// An enum value outside its vocabulary.
    InvalidEnum {
        /// Every valid value.
        allowed: Vec<String>,
    },
    /// A number outside its range.
    OutOfRange,
    /// A malformed or out-of-bounds `image_size`.
    InvalidImageSize,
}

/// A config validation error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    /// The kind of problem.
    pub kind: ConfigErrorKind,
    /// The key or field concerned, if any.
    pub field: Option<String>,
    /// 1-based line in the YAML text, when known.
    pub line: Option<usize>,
    /// Human-readable message.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(kind: ConfigErrorKind, field: Option<&str>, message: String) -> Self {
        ConfigError {
            kind,
            field: field.map(str::to_string),
            line: None,
            message,
        }
    }

    /// Always `invalid_input` (HTTP 400).
    pub fn error_code(&self) -> &'static str {
        "invalid_input"
    }

    /// Adds the line and appends it to the message.
    pub(crate) fn at_line(mut self, line: Option<usize>) -> Self {
        if let (Some(line), None) = (line, self.line) {
            self.line = Some(line);
            self.message = format!("{} (line {line})", self.message);
        }
        self
    }
}
