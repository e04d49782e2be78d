//! A1111's error shapes and the field-by-field body reader that produces them.
//!
//! * Refusals A1111 raises as `HTTPException` (unknown sampler, missing init image, unknown
//!   model) answer `{"error", "detail", "body", "errors"}` like its exception middleware.
//! * Request validation (wrong types, malformed JSON, impossible values) answers FastAPI's
//!   `422 {"detail": [{"loc": ["body", field], "msg", "type"}]}`.
//!
//! [`Fields`] reads a JSON object one known key at a time, so every type error names its field;
//! `null` and missing keys mean "use the default" and unknown keys are left alone.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use crate::services::{ErrorKind, ServiceError};

/// One A1111-style refusal.
#[derive(Debug)]
pub enum A1111Error {
    /// `HTTPException(status, detail)`.
    Http {
        /// Status code.
        status: StatusCode,
        /// Human-readable detail.
        detail: String,
    },
    /// FastAPI request validation: a list of `{loc, msg, type}`.
    Validation(Vec<Value>),
}

/// Handler result of this module.
pub type A1111Result<T> = Result<T, A1111Error>;

impl A1111Error {
    /// An `HTTPException` with `status`.
    pub fn http(status: StatusCode, detail: impl Into<String>) -> Self {
        A1111Error::Http {
            status,
            detail: detail.into(),
        }
    }

    /// 400.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::http(StatusCode::BAD_REQUEST, detail)
    }

    /// 422 on one body field.
    pub fn invalid(field: &str, msg: impl Into<String>) -> Self {
        A1111Error::Validation(vec![detail_item(field, &msg.into(), "value_error")])
    }
}

/// One FastAPI validation item.
pub fn detail_item(field: &str, msg: &str, kind: &str) -> Value {
    let mut loc = vec![json!("body")];
    if !field.is_empty() {
        loc.push(json!(field));
    }
    json!({"loc": loc, "msg": msg, "type": kind})
}

impl From<ServiceError> for A1111Error {
    fn from(e: ServiceError) -> Self {
        match e.kind {
            ErrorKind::InvalidInput | ErrorKind::Unprocessable => {
                let field = e.field.clone().unwrap_or_default();
                A1111Error::invalid(&field, e.message)
            }
            kind => {
                if kind == ErrorKind::Internal {
                    tracing::error!(message = %e.message, "a1111: internal error");
                }
                let status = StatusCode::from_u16(kind.status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                A1111Error::http(status, e.message)
            }
        }
    }
}

impl IntoResponse for A1111Error {
    fn into_response(self) -> Response {
        match self {
            A1111Error::Http { status, detail } => {
                let errors = format!("{}: {detail}", status.as_u16());
                let body = json!({
                    "error": "HTTPException",
                    "detail": detail,
                    "body": "",
                    "errors": errors,
                });
                (status, Json(body)).into_response()
            }
            A1111Error::Validation(items) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"detail": items})),
            )
                .into_response(),
        }
    }
}

/// Parses a request body as a JSON object (an empty body is `{}`), or 422.
pub fn object_body(bytes: &[u8]) -> A1111Result<Map<String, Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(A1111Error::Validation(vec![detail_item(
            "",
            "value is not a valid dict",
            "type_error.dict",
        )])),
        Err(e) => Err(A1111Error::Validation(vec![detail_item(
            "",
            &format!("JSON decode error: {e}"),
            "value_error.jsondecode",
        )])),
    }
}

/// Reads typed fields out of a JSON object, collecting one validation item per bad field.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    errors: Vec<Value>,
}

impl<'a> Fields<'a> {
    /// A reader over `map`.
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Fields {
            map,
            errors: Vec::new(),
        }
    }

    /// The field as `T`; `None` when missing, `null` or of the wrong type (recorded).
    pub fn get<T: DeserializeOwned>(&mut self, key: &str, expected: &str) -> Option<T> {
        let value = self.map.get(key)?;
        if value.is_null() {
            return None;
        }
        // Pydantic accepts 20.0 for an int; so do we (and nothing fractional).
        let value = match value {
            Value::Number(n) if n.is_f64() && expected.starts_with("int") => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    json!(f as i64)
                } else {
                    value.clone()
                }
            }
            _ => value.clone(),
        };
        match serde_json::from_value::<T>(value) {
            Ok(v) => Some(v),
            Err(_) => {
                self.errors.push(detail_item(
                    key,
                    &format!("value is not a valid {expected}"),
                    &format!("type_error.{expected}"),
                ));
                None
            }
        }
    }

    /// Records a value error on `key`.
    pub fn reject(&mut self, key: &str, msg: impl Into<String>) {
        self.errors
            .push(detail_item(key, &msg.into(), "value_error"));
    }

    /// `Err(422)` when any field was bad.
    pub fn finish(self) -> A1111Result<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(A1111Error::Validation(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_name_the_bad_key_and_treat_null_as_missing() {
        let map =
            object_body(br#"{"steps": "x", "seed": null, "cfg_scale": 5, "n": 2.0}"#).unwrap();
        let mut f = Fields::new(&map);
        assert_eq!(f.get::<u32>("steps", "integer"), None);
        assert_eq!(f.get::<i64>("seed", "integer"), None);
        assert_eq!(f.get::<f64>("cfg_scale", "float"), Some(5.0));
        assert_eq!(f.get::<u32>("n", "integer"), Some(2));
        let Err(A1111Error::Validation(items)) = f.finish() else {
            panic!("expected a validation error")
        };
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["loc"], json!(["body", "steps"]));
    }

    #[test]
    fn bodies_must_be_objects() {
        assert!(object_body(b"").unwrap().is_empty());
        assert!(object_body(b"[1]").is_err());
        assert!(object_body(b"{").is_err());
    }
}
