//! The web app's login with `--auth token`: `GET /login` is a plain HTML form (it works before
//! the app's script loads), `POST /login` checks the token and sets the HttpOnly cookie the
//! auth layer reads, `POST /logout` clears it. The form posts urlencoded, which the guard
//! allows on these two paths only, and only from this server's own pages (Origin check).

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::auth::{encode_component, identify, COOKIE};
use crate::state::AppState;

/// How long the login cookie lasts.
const COOKIE_MAX_AGE_SECS: u64 = 30 * 24 * 3600;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(page).post(login))
        .route("/logout", post(logout))
}

#[derive(Deserialize)]
struct Next {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    #[serde(default)]
    next: Option<String>,
}

/// Only a path on this server: `/x`, never `//host` or `https://host` (no open redirect).
fn local_target(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn form(next: &str, error: Option<&str>) -> Html<String> {
    let error = error.map_or(String::new(), |e| {
        format!("<p class=\"error\">{}</p>", escape(e))
    });
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Log in · StableSteering</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}}\
         input{{width:100%;padding:.5rem;margin:.5rem 0;box-sizing:border-box}}button{{padding:.5rem 1rem}}\
         .error{{color:#b00020}}</style></head><body><h1>StableSteering</h1>\
         <p>This server needs an API token. Create one on the server with \
         <code>stablesteering token add --data-dir DIR --label NAME</code>.</p>{error}\
         <form method=\"post\" action=\"/login\"><label for=\"token\">API token</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required>\
         <input type=\"hidden\" name=\"next\" value=\"{next}\"><button type=\"submit\">Log in</button></form>\
         </body></html>",
        next = escape(next),
    ))
}

async fn page(Query(q): Query<Next>) -> Html<String> {
    form(&local_target(q.next.as_deref()), None)
}

fn cookie(value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

async fn login(State(state): State<AppState>, Form(f): Form<LoginForm>) -> Response {
    let next = local_target(f.next.as_deref());
    let token = f.token.trim();
    let plausible =
        !token.is_empty() && token.len() <= 256 && token.bytes().all(|b| b.is_ascii_graphic());
    if !plausible || identify(&state, token).is_none() {
        return (
            StatusCode::UNAUTHORIZED,
            form(&next, Some("That token is not valid.")),
        )
            .into_response();
    }
    let mut response = Redirect::to(&next).into_response();
    let secure = state.runtime.auth.secure_cookie;
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie(token, COOKIE_MAX_AGE_SECS, secure),
    );
    response
}

async fn logout(State(state): State<AppState>) -> Response {
    let mut response =
        Redirect::to(&format!("/login?next={}", encode_component("/"))).into_response();
    let secure = state.runtime.auth.secure_cookie;
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie("", 0, secure));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert_eq!(local_target(Some("/sessions/x?y=1")), "/sessions/x?y=1");
        for hostile in ["//evil.example", "https://evil.example", "/\\evil", "evil"] {
            assert_eq!(local_target(Some(hostile)), "/", "{hostile}");
        }
        assert_eq!(local_target(None), "/");
        assert!(form("/\"><script>", None)
            .0
            .contains("/&quot;&gt;&lt;script&gt;"));
    }
}
