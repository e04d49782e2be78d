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

use super::auth::{encode_component, identify, AuthMode, COOKIE};
use crate::services::{passwords, tokens};
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
    /// An API token (`--auth token` and `accounts`).
    #[serde(default)]
    token: String,
    /// User name and password (`--auth accounts`).
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
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

fn form(next: &str, error: Option<&str>, accounts: bool) -> Html<String> {
    let error = error.map_or(String::new(), |e| {
        format!("<p class=\"error\">{}</p>", escape(e))
    });
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Log in · StableSteering</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}}\
         input{{width:100%;padding:.5rem;margin:.5rem 0;box-sizing:border-box}}button{{padding:.5rem 1rem}}\
         .error{{color:#b00020}}</style></head><body><h1>StableSteering</h1>\
         {error}{accounts}\
         <form method=\"post\" action=\"/login\"><label for=\"token\">API token</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required>\
         <input type=\"hidden\" name=\"next\" value=\"{next}\"><button type=\"submit\">Log in with a token</button></form>\
         <p>An administrator creates tokens on the server with \
         <code>stablesteering token add --data-dir DIR --user NAME</code>.</p></body></html>",
        next = escape(next),
        accounts = if accounts {
            format!(
                "<form method=\"post\" action=\"/login\"><label for=\"user\">User</label>\
                 <input id=\"user\" name=\"user\" autocomplete=\"username\" required>\
                 <label for=\"password\">Password</label>\
                 <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
                 <input type=\"hidden\" name=\"next\" value=\"{}\"><button type=\"submit\">Log in</button></form><hr>",
                escape(next)
            )
        } else {
            String::new()
        },
    ))
}

fn accounts(state: &AppState) -> bool {
    state.runtime.auth.mode == AuthMode::Accounts
}

async fn page(State(state): State<AppState>, Query(q): Query<Next>) -> Html<String> {
    form(&local_target(q.next.as_deref()), None, accounts(&state))
}

fn cookie(value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// The secret for the cookie: the posted token if valid, or a token minted for a valid
/// user/password pair (`--auth accounts`).
async fn secret_of(state: &AppState, f: &LoginForm) -> Option<String> {
    if accounts(state) && !f.user.is_empty() {
        let (store, user, password) = (state.store.clone(), f.user.clone(), f.password.clone());
        let who = tokio::task::spawn_blocking(move || {
            passwords::verify_blocking(&store, &user, &password)
        })
        .await
        .ok()??;
        let spec = tokens::TokenSpec {
            user: who.user,
            admin: who.admin,
            label: tokens::WEB_LOGIN_LABEL.into(),
        };
        return tokens::create(&state.store, &spec)
            .await
            .ok()
            .map(|t| t.secret);
    }
    let token = f.token.trim();
    let plausible =
        !token.is_empty() && token.len() <= 256 && token.bytes().all(|b| b.is_ascii_graphic());
    (plausible && identify(state, token).is_some()).then(|| token.to_string())
}

async fn login(State(state): State<AppState>, Form(f): Form<LoginForm>) -> Response {
    let next = local_target(f.next.as_deref());
    let Some(secret) = secret_of(&state, &f).await else {
        let error = Some("Those credentials are not valid.");
        return (
            StatusCode::UNAUTHORIZED,
            form(&next, error, accounts(&state)),
        )
            .into_response();
    };
    let token = secret.as_str();
    let mut response = Redirect::to(&next).into_response();
    let secure = state.runtime.auth.secure_cookie;
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie(token, COOKIE_MAX_AGE_SECS, secure),
    );
    response
}

async fn logout(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    // A password login's token ends with the login; a pasted API token is left alone.
    for secret in super::auth::presented(&headers) {
        if let Err(e) = tokens::logout(&state.store, &secret).await {
            tracing::warn!(error = %e, "could not revoke a web-login token at logout");
        }
    }
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
        assert!(form("/\"><script>", None, true)
            .0
            .contains("/&quot;&gt;&lt;script&gt;"));
    }
}
