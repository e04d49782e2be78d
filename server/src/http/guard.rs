//! Browser-origin safety: what a page from elsewhere must not be able to make this server do.
//!
//! A server on the loopback is reachable by every page its user visits. Two attacks matter:
//!
//! * **Cross-site requests.** A page on `evil.example` (or on another local port) posts to
//!   `http://127.0.0.1:3000/...` with a "simple" request — a form, or a `fetch` with a
//!   `text/plain` body — which a browser sends without asking (no CORS preflight). So every
//!   state-changing request from a browser must show it comes from this server's own page
//!   (`Origin`, else `Sec-Fetch-Site`), and bodies in the three simple content types are refused
//!   (the routes read JSON; only the trace beacon takes `text/plain`).
//! * **DNS rebinding.** `evil.example` re-resolves to 127.0.0.1, its page becomes "same origin"
//!   with this server under the attacker's name, and can read every answer. Refused by `Host`:
//!   only IP literals, `localhost` (browsers pin `*.localhost` to the loopback) and the names
//!   the operator configured (`--allowed-host`) are served.
//!
//! Clients that are not browsers (curl, scripts, A1111 tools) send neither `Origin` nor
//! `Sec-Fetch-Site`, so they pass the origin check; they still need a valid `Host`. The
//! in-process reads of server-side rendering do not pass through here.

use std::net::{Ipv4Addr, Ipv6Addr};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::a1111::errors::A1111Error;
use super::error::ApiError;
use crate::services::{ErrorKind, ServiceError};
use crate::state::AppState;

/// Which hosts and origins the server answers besides its own. Built from `serve`'s
/// `--allowed-host` / `--allowed-origin`; the default is right for a loopback server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    /// Host names (lower case, no port) served besides IP literals and `localhost`;
    /// `*` serves any name (only behind a proxy that checks `Host` itself).
    pub allowed_hosts: Vec<String>,
    /// Origins (`scheme://host[:port]`, lower case) whose pages may change state here, besides
    /// the server's own.
    pub allowed_origins: Vec<String>,
}

impl AccessPolicy {
    /// A policy from the command line's lists (normalised to lower case, trailing `/` and
    /// `.` removed).
    pub fn new(hosts: &[String], origins: &[String]) -> AccessPolicy {
        AccessPolicy {
            allowed_hosts: hosts
                .iter()
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            allowed_origins: origins
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .filter(|o| !o.is_empty())
                .collect(),
        }
    }

    /// Whether a `Host` header value names this server.
    pub fn host_allowed(&self, host: &str) -> bool {
        let Some(name) = host_name(host) else {
            return false;
        };
        if name.parse::<Ipv4Addr>().is_ok() || name.parse::<Ipv6Addr>().is_ok() {
            return true;
        }
        name == "localhost"
            || name.ends_with(".localhost")
            || self
                .allowed_hosts
                .iter()
                .any(|allowed| allowed == "*" || *allowed == name)
    }

    /// Whether a page of `origin` may change state on the server addressed as `host`.
    pub fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        if self.allowed_origins.contains(&origin) {
            return true;
        }
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        match (authority, host) {
            (Some(authority), Some(host)) => authority == host.trim().to_ascii_lowercase(),
            _ => false,
        }
    }
}

/// The name part of a `Host` value (`name`, `name:port`, `[v6]:port`), lower case, without a
/// trailing dot; `None` when it is not a well-formed host.
pub fn host_name(host: &str) -> Option<String> {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        if !(after.is_empty() || port_suffix(after)) {
            return None;
        }
        v6
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port_suffix(&format!(":{port}")) => name,
            Some(_) => return None,
            None => host,
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let well_formed = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':' | '_'));
    well_formed.then_some(name)
}

fn port_suffix(text: &str) -> bool {
    text.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Methods that change nothing (and that browsers send cross-site without an `Origin`).
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The content types a browser sends cross-site without a preflight.
const SIMPLE_CONTENT_TYPES: [&str; 3] = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
];

/// The one route that takes `text/plain`: `navigator.sendBeacon` sends trace events that way.
const BEACON_PATH: &str = "/frontend-events";

/// The login form posts `application/x-www-form-urlencoded` (it works without scripts); the
/// Origin check above still refuses it from another site.
const FORM_PATHS: [&str; 2] = ["/login", "/logout"];

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 421 (unknown host), 403 (foreign origin) or 415 (simple content type).
    pub kind: ErrorKind,
    /// The header at fault.
    pub header: &'static str,
    /// What to tell the client.
    pub message: String,
}

/// Checks one request's headers against the policy; `Ok` lets it through.
pub fn check(
    policy: &AccessPolicy,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    // HTTP/1.1 browsers always send Host; a request without one is no browser's.
    if let Some(host) = host {
        if !policy.host_allowed(host) {
            return Err(Refusal {
                kind: ErrorKind::MisdirectedRequest,
                header: "Host",
                message: format!(
                    "this server does not answer to the host name {:?} (DNS-rebinding guard); \
                     add it with --allowed-host if it is yours",
                    clip(host)
                ),
            });
        }
    }
    if is_safe(method) {
        return Ok(());
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !policy.origin_allowed(origin, host) {
            return Err(Refusal {
                kind: ErrorKind::Forbidden,
                header: "Origin",
                message: format!(
                    "cross-origin request refused: a page of {:?} may not change this server's \
                     state (allow it with --allowed-origin)",
                    clip(origin)
                ),
            });
        }
    } else if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("");
        if !matches!(site, "same-origin" | "none") {
            return Err(Refusal {
                kind: ErrorKind::Forbidden,
                header: "Sec-Fetch-Site",
                message: format!(
                    "cross-origin request refused: the browser says it comes from a {:?} page",
                    clip(site)
                ),
            });
        }
    }
    if let Some(kind) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
    {
        let essence = kind
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let beacon = path == BEACON_PATH && essence == "text/plain";
        let form = FORM_PATHS.contains(&path) && essence == "application/x-www-form-urlencoded";
        if SIMPLE_CONTENT_TYPES.contains(&essence.as_str()) && !beacon && !form {
            return Err(Refusal {
                kind: ErrorKind::UnsupportedMediaType,
                header: "Content-Type",
                message: format!("send the body as application/json, not {essence}"),
            });
        }
    }
    Ok(())
}

/// A header value cut to a printable length for messages.
fn clip(text: &str) -> String {
    text.chars().take(80).collect()
}

/// The middleware: refuses what [`check`] refuses, in the error shape of the route's family.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let refusal = check(
        &state.runtime.access,
        request.method(),
        request.uri().path(),
        request.headers(),
    );
    match refusal {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            tracing::warn!(header = refusal.header, message = %refusal.message, "request refused");
            if request.uri().path().starts_with("/sdapi/") {
                let status =
                    StatusCode::from_u16(refusal.kind.status()).unwrap_or(StatusCode::FORBIDDEN);
                return A1111Error::http(status, refusal.message).into_response();
            }
            ApiError(ServiceError::new(refusal.kind, refusal.message).field(refusal.header))
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().expect("header value"));
        }
        map
    }

    #[test]
    fn host_names_parse() {
        assert_eq!(host_name("127.0.0.1:3000").as_deref(), Some("127.0.0.1"));
        assert_eq!(host_name("[::1]:3000").as_deref(), Some("::1"));
        assert_eq!(host_name("LocalHost.").as_deref(), Some("localhost"));
        assert_eq!(host_name("a.example:80").as_deref(), Some("a.example"));
        assert_eq!(host_name("a.example:x"), None);
        assert_eq!(host_name("a b"), None);
        assert_eq!(host_name("[::1"), None);
        assert_eq!(host_name(""), None);
    }

    #[test]
    fn rebinding_names_are_refused_and_ours_served() {
        let policy = AccessPolicy::new(&["lab.example".into()], &[]);
        for ok in [
            "127.0.0.1:3000",
            "[::1]:3000",
            "localhost:3000",
            "app.localhost",
            "10.0.0.5",
            "LAB.example:8080",
        ] {
            assert!(policy.host_allowed(ok), "{ok}");
        }
        for bad in [
            "attacker.example:3000",
            "localhost.attacker.example",
            "lab.example.evil",
        ] {
            assert!(!policy.host_allowed(bad), "{bad}");
        }
        assert!(AccessPolicy::new(&["*".into()], &[]).host_allowed("any.example"));
    }

    #[test]
    fn state_changes_need_our_origin() {
        let policy = AccessPolicy::new(&[], &["https://tools.example".into()]);
        let post = Method::POST;
        let ours = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
        ]);
        assert!(check(&policy, &post, "/api/sessions", &ours).is_ok());
        let other_port = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:9999"),
        ]);
        let refused = check(&policy, &post, "/api/sessions", &other_port).unwrap_err();
        assert_eq!(
            (refused.kind, refused.header),
            (ErrorKind::Forbidden, "Origin")
        );
        let listed = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "https://tools.example"),
        ]);
        assert!(check(&policy, &post, "/api/sessions", &listed).is_ok());
        let null = headers(&[("host", "127.0.0.1:3000"), ("origin", "null")]);
        assert!(check(&policy, &post, "/api/sessions", &null).is_err());
        // Reads are not refused for their origin (CORS keeps their answers from the page).
        assert!(check(&policy, &Method::GET, "/api/sessions", &other_port).is_ok());
    }

    #[test]
    fn fetch_metadata_without_origin() {
        let policy = AccessPolicy::default();
        for (site, ok) in [
            ("same-origin", true),
            ("none", true),
            ("same-site", false),
            ("cross-site", false),
        ] {
            let h = headers(&[("host", "localhost:3000"), ("sec-fetch-site", site)]);
            assert_eq!(
                check(&policy, &Method::DELETE, "/api/sessions/x", &h).is_ok(),
                ok,
                "{site}"
            );
        }
        // No browser headers at all: a script or an A1111 tool.
        assert!(check(&policy, &Method::POST, "/sdapi/v1/txt2img", &headers(&[])).is_ok());
    }

    #[test]
    fn simple_content_types_are_refused_except_the_beacon() {
        let policy = AccessPolicy::default();
        for kind in [
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let h = headers(&[("content-type", kind)]);
            let refused = check(&policy, &Method::POST, "/sdapi/v1/txt2img", &h).unwrap_err();
            assert_eq!(refused.kind, ErrorKind::UnsupportedMediaType, "{kind}");
        }
        let beacon = headers(&[("content-type", "text/plain")]);
        assert!(check(&policy, &Method::POST, BEACON_PATH, &beacon).is_ok());
        let json = headers(&[("content-type", "application/json")]);
        assert!(check(&policy, &Method::POST, "/sdapi/v1/txt2img", &json).is_ok());
    }
}
