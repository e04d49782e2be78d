//! HTTP errors: every refusal is `{error_code, message, field?, line?}` with the status of its
//! kind, and malformed bodies (wrong JSON, wrong types, too large, not JSON) are 4xx in that same
//! shape — never a 500, never axum's plain-text rejections.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::services::{ErrorKind, ServiceError};

/// A service error as an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub ServiceError);

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError(e)
    }
}

impl ApiError {
    /// A 400 on `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError(ServiceError::invalid(field, message))
    }

    /// A 404.
    pub fn not_found(what: &str, id: impl std::fmt::Display) -> Self {
        ApiError(ServiceError::not_found(what, id))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status =
            StatusCode::from_u16(e.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if e.kind == ErrorKind::Internal {
            tracing::error!(message = %e.message, "internal error");
        }
        let mut body = json!({"error_code": e.kind.code(), "message": e.message});
        if let Some(field) = &e.field {
            body["field"] = json!(field);
        }
        if let Some(line) = e.line {
            body["line"] = json!(line);
        }
        (status, axum::Json(body)).into_response()
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;

/// `Json<T>` whose rejections are [`ApiError`]s naming the offending field.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// `Query<T>` whose rejections are [`ApiError`]s (400 in our JSON shape naming the parameter,
/// not axum's text/plain).
pub struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        parse_query(query).map(QueryParams)
    }
}

fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{query}").parse().map_err(|_| {
            ApiError::invalid("query", "the query string is not a valid URI component")
        })?,
    )
    .map(|axum::extract::Query(v)| v)
    .map_err(|rejection| {
        let text = rejection.body_text();
        // "Failed to deserialize query string: limit: invalid digit found in string".
        let named = text
            .split("query string: ")
            .nth(1)
            .and_then(|rest| rest.split_once(": "))
            .map(|(name, _)| name)
            .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        let field = named
            .map(str::to_string)
            .or_else(|| field_from_serde_message(&text))
            .unwrap_or_else(|| "query".into());
        ApiError::invalid(&field, text)
    })
}

/// Maps axum's JSON rejections to our error shape.
pub fn json_rejection(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    let kind = match &rejection {
        JsonRejection::MissingJsonContentType(_) => ErrorKind::UnsupportedMediaType,
        JsonRejection::JsonSyntaxError(_) => ErrorKind::InvalidInput,
        JsonRejection::JsonDataError(_) => ErrorKind::Unprocessable,
        JsonRejection::BytesRejection(_) => {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ErrorKind::TooLarge
            } else {
                ErrorKind::InvalidInput
            }
        }
        _ => ErrorKind::InvalidInput,
    };
    let field = field_from_serde_message(&text);
    let mut err = ServiceError::new(kind, text);
    err.field = field;
    ApiError(err)
}

/// serde_path_to_error-style paths appear as "… at `a.b`" or "missing field `x`"; pull the name.
fn field_from_serde_message(text: &str) -> Option<String> {
    if let Some(rest) = text.split("missing field `").nth(1) {
        return rest.split('`').next().map(str::to_string);
    }
    if let Some(rest) = text.split("unknown field `").nth(1) {
        return rest.split('`').next().map(str::to_string);
    }
    // axum: "Failed to deserialize the JSON body into the target type: path.to.field: reason"
    let after = text.split("target type: ").nth(1)?;
    let (path, _) = after.split_once(": ")?;
    if path.contains(' ') {
        return None;
    }
    Some(path.to_string())
}

/// A 404 in our shape for unknown API paths.
pub async fn api_not_found() -> ApiError {
    ApiError(ServiceError::new(ErrorKind::NotFound, "no such API route"))
}

/// Parses a path id (a UUID) or answers 404 naming it: ids are checked before they touch
/// anything.
pub fn parse_id(what: &str, raw: &str) -> ApiResult<uuid::Uuid> {
    raw.parse::<uuid::Uuid>().map_err(|_| {
        ApiError(ServiceError::not_found(what, sanitize(raw)).field(format!("{what}_id")))
    })
}

fn sanitize(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect()
}
