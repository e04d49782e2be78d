//! `/api/tokens`: list, create and revoke API tokens over HTTP (the first one comes from
//! `stablesteering token add`, on the server). The secret is answered once, at creation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;

use super::error::{parse_id, ApiResult, JsonBody};
use crate::services::tokens::{self, NewToken};
use crate::state::AppState;
use crate::store::projections::access::TokenView;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/tokens", get(list).post(create))
        .route("/api/tokens/{id}", delete(revoke))
}

/// The body of `POST /api/tokens`.
#[derive(Deserialize, schemars::JsonSchema)]
pub struct TokenRequest {
    /// What the token is for.
    #[schemars(length(min = 1, max = 100))]
    pub label: String,
}

async fn list(State(state): State<AppState>) -> Json<Vec<TokenView>> {
    Json(tokens::list(&state.store))
}

async fn create(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<TokenRequest>,
) -> ApiResult<(StatusCode, Json<NewToken>)> {
    let token = tokens::create(&state.store, &req.label).await?;
    Ok((StatusCode::CREATED, Json(token)))
}

async fn revoke(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = parse_id("token", &id)?;
    let request = tokens::revocation(&state.store, id)?;
    state
        .store
        .append_async(request)
        .await
        .map_err(crate::services::ServiceError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
