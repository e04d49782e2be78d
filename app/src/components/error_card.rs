//! How a page says that its data could not be loaded; during SSR it also sets the HTTP status
//! (404 for an unknown session, …) so the response is honest, not a 200 with an error inside.

use leptos::prelude::*;

use crate::net::ApiFailure;

/// A card with the failure and a way back.
#[component]
pub fn ErrorCard(failure: ApiFailure) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if failure.status >= 400 {
        if let (Some(options), Ok(code)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::StatusCode::from_u16(failure.status),
        ) {
            options.set_status(code);
        }
    }
    let title = match failure.status {
        404 => "Not found",
        0 => "The server could not be reached",
        _ => "Something went wrong",
    };
    view! {
        <section id="page-error" class="card error" role="alert">
            <h1>{title}</h1>
            <p>{failure.describe()}</p>
            <a href="/">"Back to the dashboard"</a>
        </section>
    }
}
