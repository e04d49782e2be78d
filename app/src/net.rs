//! How pages talk to the server's JSON API, on both sides of hydration.
//!
//! Reads go through [`Api`]: in the browser it is `fetch`; during server-side rendering the
//! server provides a [`ServerFetch`] in context that answers the same paths from its own router
//! in-process, so the first paint shows exactly what the API would return (and `app` never
//! depends on `server`). Writes ([`post_json`], [`delete`]) only happen in the browser, from
//! event handlers.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A refused or failed request: the server's `{error_code, message, field?, line?}` plus the
/// HTTP status (0 when the network failed before any answer).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ApiFailure {
    #[serde(default)]
    pub status: u16,
    #[serde(default)]
    pub error_code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub line: Option<u32>,
}

impl ApiFailure {
    /// A failure with no HTTP answer behind it.
    pub fn local(message: impl Into<String>) -> Self {
        ApiFailure {
            status: 0,
            error_code: "client_error".into(),
            message: message.into(),
            field: None,
            line: None,
        }
    }

    /// Reads an error body (falls back to the raw text when it is not our JSON shape).
    pub fn from_response(status: u16, body: &str) -> Self {
        match serde_json::from_str::<ApiFailure>(body) {
            Ok(mut f) if !f.message.is_empty() => {
                f.status = status;
                f
            }
            _ => ApiFailure {
                status,
                error_code: "http_error".into(),
                message: if body.trim().is_empty() {
                    format!("HTTP {status}")
                } else {
                    body.chars().take(300).collect()
                },
                field: None,
                line: None,
            },
        }
    }

    /// One line for a person: the message, with the field and line when the server named them.
    pub fn describe(&self) -> String {
        let mut out = self.message.clone();
        if let Some(field) = &self.field {
            out.push_str(&format!(" (field `{field}`"));
            if let Some(line) = self.line {
                out.push_str(&format!(", line {line}"));
            }
            out.push(')');
        } else if let Some(line) = self.line {
            out.push_str(&format!(" (line {line})"));
        }
        out
    }
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Result of an API call.
pub type ApiResult<T> = Result<T, ApiFailure>;

/// A boxed `GET path → (status, body)` future.
#[cfg(feature = "ssr")]
pub type FetchFuture = std::pin::Pin<Box<dyn std::future::Future<Output = (u16, String)> + Send>>;

/// The server side of [`Api`]: answers `GET path` with `(status, body)` from the server's router.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct ServerFetch(pub std::sync::Arc<dyn Fn(String) -> FetchFuture + Send + Sync>);

/// Reads JSON from the API; take it with [`Api::from_context`] in a component.
#[derive(Clone, Default)]
pub struct Api {
    #[cfg(feature = "ssr")]
    server: Option<ServerFetch>,
}

impl Api {
    /// The reader for the current render (the server's in-process fetch during SSR).
    pub fn from_context() -> Self {
        Api {
            #[cfg(feature = "ssr")]
            server: leptos::prelude::use_context::<ServerFetch>(),
        }
    }

    /// `GET path` decoded as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> ApiResult<T> {
        let (status, body) = self.get_raw(path).await?;
        decode(status, &body, path)
    }

    #[cfg(feature = "ssr")]
    async fn get_raw(&self, path: &str) -> ApiResult<(u16, String)> {
        match &self.server {
            Some(fetch) => Ok((fetch.0)(path.to_string()).await),
            None => Err(ApiFailure::local("no server fetch in context")),
        }
    }

    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    async fn get_raw(&self, path: &str) -> ApiResult<(u16, String)> {
        // Resources want `Send` futures; the browser is single-threaded, so wrapping is sound.
        send_wrapper::SendWrapper::new(browser::request("GET", path, None)).await
    }

    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    async fn get_raw(&self, _path: &str) -> ApiResult<(u16, String)> {
        Err(ApiFailure::local("built without ssr or hydrate"))
    }
}

fn decode<T: DeserializeOwned>(status: u16, body: &str, path: &str) -> ApiResult<T> {
    if !(200..300).contains(&status) {
        return Err(ApiFailure::from_response(status, body));
    }
    // 204 and friends: decode `null` so `()` works.
    let body = if body.trim().is_empty() { "null" } else { body };
    serde_json::from_str(body)
        .map_err(|e| ApiFailure::local(format!("unexpected answer from {path}: {e}")))
}

/// `POST path` with a JSON body, decoding the JSON answer (browser only).
pub async fn post_json<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> ApiResult<T> {
    let text = serde_json::to_string(body).map_err(|e| ApiFailure::local(e.to_string()))?;
    let (status, answer) = send("POST", path, Some(text)).await?;
    decode(status, &answer, path)
}

/// `DELETE path` (browser only).
pub async fn delete(path: &str) -> ApiResult<()> {
    let (status, answer) = send("DELETE", path, None).await?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(ApiFailure::from_response(status, &answer))
    }
}

async fn send(method: &str, path: &str, body: Option<String>) -> ApiResult<(u16, String)> {
    #[cfg(feature = "hydrate")]
    {
        browser::request(method, path, body).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (method, body);
        Err(ApiFailure::local(format!(
            "{path} can only be called from the browser"
        )))
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::{ApiFailure, ApiResult};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    /// `fetch` with an optional JSON body; answers `(status, text)`.
    pub async fn request(
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> ApiResult<(u16, String)> {
        let window = web_sys::window().ok_or_else(|| ApiFailure::local("no window"))?;
        let init = web_sys::RequestInit::new();
        init.set_method(method);
        let headers = web_sys::Headers::new().map_err(js_failure)?;
        headers
            .set("accept", "application/json")
            .map_err(js_failure)?;
        if let Some(body) = body {
            headers
                .set("content-type", "application/json")
                .map_err(js_failure)?;
            init.set_body(&JsValue::from_str(&body));
        }
        init.set_headers(&headers);
        let response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
            .await
            .map_err(|e| {
                ApiFailure::local(format!(
                    "network error: {}",
                    e.as_string().unwrap_or_default()
                ))
            })?;
        let response: web_sys::Response = response
            .dyn_into()
            .map_err(|_| ApiFailure::local("fetch did not return a Response"))?;
        let text = JsFuture::from(response.text().map_err(js_failure)?)
            .await
            .map_err(js_failure)?
            .as_string()
            .unwrap_or_default();
        Ok((response.status(), text))
    }

    fn js_failure(e: JsValue) -> ApiFailure {
        ApiFailure::local(format!("{e:?}"))
    }
}
