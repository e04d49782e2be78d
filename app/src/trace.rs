//! Frontend trace events (`POST /frontend-events`): what the person did, tied to the session and
//! round, so the per-session trace report shows the browser's side next to the server's.
//! Fire-and-forget: a lost trace never blocks the page.

use serde_json::{json, Value};

/// Sends `event` from the current page (browser only; does nothing during SSR).
pub fn emit(event: &str, session_id: Option<&str>, round_id: Option<&str>, details: Value) {
    #[cfg(feature = "hydrate")]
    {
        let page = web_sys::window()
            .and_then(|w| w.location().pathname().ok())
            .unwrap_or_default();
        let body = json!({
            "event": event,
            "page": page,
            "session_id": session_id,
            "round_id": round_id,
            "details": details,
        });
        leptos::task::spawn_local(async move {
            let _ = crate::net::post_json::<_, Value>("/frontend-events", &body).await;
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (event, session_id, round_id, details, json!(null));
}
