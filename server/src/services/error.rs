//! `ServiceError`: every refusal of the service layer with the HTTP status it maps to, a stable
//! `error_code` and the request field it concerns.

use crate::store::StoreError;

/// What kind of refusal it is; decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request is well-formed JSON but its content is invalid.
    InvalidInput,
    /// 401: the server needs an API token and the request has none that is valid.
    Unauthorized,
    /// 403: a browser page of another origin tried to change state.
    Forbidden,
    /// 404: an id that does not exist.
    NotFound,
    /// 408: the request took longer than the API's time limit.
    Timeout,
    /// 409: the state does not allow it (a job is running, the round is stale, ...).
    Conflict,
    /// 413: the body is too large.
    TooLarge,
    /// 415: not JSON.
    UnsupportedMediaType,
    /// 421: the request names a host this server does not answer to (DNS-rebinding guard).
    MisdirectedRequest,
    /// 422: the body does not have the expected shape.
    Unprocessable,
    /// 429: the client sent more requests than its rate allows.
    TooManyRequests,
    /// 503: the store's write queue is full; retry.
    Busy,
    /// 507: the disk is full; nothing was recorded.
    DiskFull,
    /// 500: a fault of ours.
    Internal,
}

impl ErrorKind {
    /// Every kind (the OpenAPI document lists their codes).
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::InvalidInput,
        ErrorKind::Unauthorized,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::Timeout,
        ErrorKind::Conflict,
        ErrorKind::TooLarge,
        ErrorKind::UnsupportedMediaType,
        ErrorKind::MisdirectedRequest,
        ErrorKind::Unprocessable,
        ErrorKind::TooManyRequests,
        ErrorKind::Busy,
        ErrorKind::DiskFull,
        ErrorKind::Internal,
    ];

    /// HTTP status code.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidInput => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Timeout => 408,
            ErrorKind::Conflict => 409,
            ErrorKind::TooLarge => 413,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::MisdirectedRequest => 421,
            ErrorKind::Unprocessable => 422,
            ErrorKind::TooManyRequests => 429,
            ErrorKind::Busy => 503,
            ErrorKind::DiskFull => 507,
            ErrorKind::Internal => 500,
        }
    }

    /// The `error_code` of the JSON body (the reference's four plus ours).
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Conflict => "conflict",
            ErrorKind::TooLarge => "payload_too_large",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::MisdirectedRequest => "misdirected_request",
            ErrorKind::Unprocessable => "invalid_input",
            ErrorKind::TooManyRequests => "rate_limited",
            ErrorKind::Busy => "busy",
            ErrorKind::DiskFull => "disk_full",
            ErrorKind::Internal => "internal_error",
        }
    }
}

/// A refusal with its message and the field it concerns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    /// Kind (status).
    pub kind: ErrorKind,
    /// Human-readable message.
    pub message: String,
    /// The request field concerned.
    pub field: Option<String>,
    /// 1-based YAML line, for config errors.
    pub line: Option<usize>,
}

impl ServiceError {
    /// A new error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ServiceError {
            kind,
            message: message.into(),
            field: None,
            line: None,
        }
    }

    /// Names the field concerned.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400 on `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message).field(field)
    }

    /// 404.
    pub fn not_found(what: &str, id: impl std::fmt::Display) -> Self {
        Self::new(ErrorKind::NotFound, format!("{what} {id} not found"))
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        let kind = match &e {
            StoreError::Conflict { .. } => ErrorKind::Conflict,
            StoreError::Busy { .. } | StoreError::Database { .. } => ErrorKind::Busy,
            StoreError::DiskFull { .. } => ErrorKind::DiskFull,
            StoreError::UnknownSession(_) | StoreError::RoundNotFound { .. } => ErrorKind::NotFound,
            StoreError::InvalidRequest(_) | StoreError::InvalidEvent { .. } => {
                ErrorKind::InvalidInput
            }
            _ => ErrorKind::Internal,
        };
        let message = match &e {
            StoreError::Conflict { .. } => {
                "another request changed this session at the same time; reload and try again"
                    .to_string()
            }
            other => other.to_string(),
        };
        ServiceError::new(kind, message)
    }
}

impl From<crate::steering::config::ConfigError> for ServiceError {
    fn from(e: crate::steering::config::ConfigError) -> Self {
        ServiceError {
            kind: ErrorKind::InvalidInput,
            message: e.message.clone(),
            field: e.field.clone().or_else(|| Some("config_yaml".into())),
            line: e.line,
        }
    }
}

impl From<crate::steering::feedback::FeedbackError> for ServiceError {
    fn from(e: crate::steering::feedback::FeedbackError) -> Self {
        let kind = if e.error_code() == "conflict" {
            ErrorKind::Conflict
        } else {
            ErrorKind::InvalidInput
        };
        ServiceError::new(kind, e.message.clone()).field(e.field.clone())
    }
}

/// Shorthand.
pub type ServiceResult<T> = Result<T, ServiceError>;
