//! Who may use the server (`serve --auth`). With `none` (the default, allowed only on a
//! loopback address) everyone who reaches the port may; with `token` every request needs an
//! API token (`services/tokens.rs`), sent as
//!
//! * `Authorization: Bearer <secret>` (scripts, the `/api` and reference routes);
//! * `Authorization: Basic` with the secret as password, or `--api-auth user:pass` credentials,
//!   as A1111 tools send them (`webuiapi.set_auth`);
//! * the `stablesteering_token` cookie that `POST /login` sets for the web app (HttpOnly,
//!   SameSite=Strict, `Secure` with `--secure-cookie`).
//!
//! Refusals: 401 in our JSON shape (A1111's under `/sdapi/`) with `WWW-Authenticate`; a page
//! request without a token is sent to `/login`. `/api/health`, the login page and the site's
//! static files stay open (a health probe needs no secret; they reveal nothing).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;

use super::a1111::errors::A1111Error;
use super::error::ApiError;
use crate::services::principal::{acting_as, Principal};
use crate::services::{ErrorKind, ServiceError};
use crate::state::AppState;

/// The cookie the login page sets.
pub const COOKIE: &str = "stablesteering_token";

/// `--auth`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// No authentication (loopback only).
    #[default]
    None,
    /// Every request needs an API token.
    Token,
    /// Like `token`, and people can also log in to the web app with a user name and password
    /// (`stablesteering user add`); the login mints a token for the cookie.
    Accounts,
}

/// How requests are authenticated.
#[derive(Debug, Clone, Default)]
pub struct AuthPolicy {
    /// `--auth`.
    pub mode: AuthMode,
    /// `--api-auth user:pass`: Basic credentials A1111 tools may use besides tokens.
    pub api_auth: Option<(String, String)>,
    /// `--secure-cookie`: mark the login cookie `Secure` (behind HTTPS).
    pub secure_cookie: bool,
}

impl AuthPolicy {
    /// Parses `--api-auth user:pass`.
    pub fn parse_api_auth(raw: &str) -> Result<(String, String), String> {
        match raw.split_once(':') {
            Some((user, pass)) if !user.is_empty() && pass.len() >= 8 => {
                Ok((user.to_string(), pass.to_string()))
            }
            _ => Err(
                "--api-auth must be user:password, with a password of at least 8 characters".into(),
            ),
        }
    }
}

/// Paths anyone may request.
fn is_open(method: &Method, path: &str) -> bool {
    path == "/api/health"
        || path == "/login"
        || (method == Method::GET && (path.starts_with("/pkg/") || path == "/favicon.ico"))
}

/// What the request presents: a bearer/basic password, or the login cookie.
pub fn presented(headers: &HeaderMap) -> Vec<String> {
    let mut secrets = Vec::new();
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(token) = value.strip_prefix("Bearer ") {
            secrets.push(token.trim().to_string());
        } else if let Some(encoded) = value.strip_prefix("Basic ") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            if let Some(pair) = decoded {
                secrets.push(pair);
            }
        }
    }
    for cookies in headers.get_all(header::COOKIE) {
        let Ok(cookies) = cookies.to_str() else {
            continue;
        };
        for cookie in cookies.split(';') {
            if let Some(value) = cookie.trim().strip_prefix(&format!("{COOKIE}=")) {
                secrets.push(value.to_string());
            }
        }
    }
    secrets
}

/// Who `secret` (a token, or a Basic `user:pass` pair) authenticates, if anyone.
pub fn identify(state: &AppState, secret: &str) -> Option<Principal> {
    let policy = &state.runtime.auth;
    if let Some((user, pass)) = &policy.api_auth {
        if constant_time_eq(secret.as_bytes(), format!("{user}:{pass}").as_bytes()) {
            return Some(Principal {
                user: user.clone(),
                admin: false,
            });
        }
    }
    // Basic auth with a token as password (any user name).
    let token = secret.split_once(':').map_or(secret, |(_, pass)| pass);
    state.store.with_projections(|p| {
        p.access.authenticate(token).map(|t| Principal {
            user: t.user.clone(),
            admin: t.admin,
        })
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The middleware.
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.runtime.auth.mode == AuthMode::None || is_open(request.method(), request.uri().path())
    {
        return next.run(request).await;
    }
    let who = presented(request.headers())
        .iter()
        .find_map(|s| identify(&state, s));
    match who {
        Some(principal) => acting_as(Some(principal), next.run(request)).await,
        None => refuse(&request),
    }
}

fn refuse(request: &Request) -> Response {
    let path = request.uri().path();
    let wants_page = request.method() == Method::GET
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    if wants_page && !path.starts_with("/api/") && !path.starts_with("/sdapi/") {
        let next = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        return Redirect::to(&format!("/login?next={}", encode_component(&next))).into_response();
    }
    let message = "this server needs an API token: send `Authorization: Bearer <token>` (create one with `stablesteering token add`)";
    let (mut response, challenge) = if path.starts_with("/sdapi/") {
        (
            A1111Error::http(StatusCode::UNAUTHORIZED, message).into_response(),
            "Basic realm=\"stablesteering\"",
        )
    } else {
        (
            ApiError(ServiceError::new(ErrorKind::Unauthorized, message).field("Authorization"))
                .into_response(),
            "Bearer realm=\"stablesteering\"",
        )
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// Percent-encodes everything but unreserved characters and `/`.
pub fn encode_component(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_basic_and_cookie_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer sst_abc"),
        );
        assert_eq!(presented(&headers), ["sst_abc"]);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcjpwYXNz"),
        );
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; stablesteering_token=sst_x"),
        );
        assert_eq!(presented(&headers), ["user:pass", "sst_x"]);
    }

    #[test]
    fn api_auth_needs_a_real_password() {
        assert!(AuthPolicy::parse_api_auth("me:longenough").is_ok());
        assert!(AuthPolicy::parse_api_auth("me:short").is_err());
        assert!(AuthPolicy::parse_api_auth("nocolon").is_err());
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
