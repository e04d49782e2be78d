//! `/api/tokens`: list, create and revoke API tokens over HTTP (the first one comes from
//! `stablesteering token add`, on the server). The secret is answered once, at creation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;

use super::error::{parse_id, ApiError, ApiResult, JsonBody};
use crate::services::principal;
use crate::services::tokens::{self, NewToken, TokenSpec};
use crate::services::{ErrorKind, ServiceError};
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
    /// What the token is for (default: the user name).
    #[serde(default)]
    #[schemars(length(max = 100))]
    pub label: String,
    /// Whose token (default: the caller's own). Only an admin names another user.
    #[serde(default)]
    #[schemars(pattern(r"^[A-Za-z0-9._-]{1,64}$"))]
    pub user: Option<String>,
    /// Admin rights (only an admin grants them).
    #[serde(default)]
    pub admin: bool,
}

async fn list(State(state): State<AppState>) -> Json<Vec<TokenView>> {
    Json(tokens::list(&state.store))
}

async fn create(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<TokenRequest>,
) -> ApiResult<(StatusCode, Json<NewToken>)> {
    let me = principal::current();
    let user = match (&req.user, &me) {
        (Some(user), _) => user.clone(),
        (None, Some(me)) => me.user.clone(),
        (None, None) => return Err(ApiError::invalid("user", "name the token's user")),
    };
    if let Some(me) = &me {
        if !me.admin && (req.admin || user != me.user) {
            return Err(ApiError(
                ServiceError::new(
                    ErrorKind::Forbidden,
                    "only an admin creates tokens for other users or with admin rights",
                )
                .field(if req.admin { "admin" } else { "user" }),
            ));
        }
    }
    let spec = TokenSpec {
        user,
        admin: req.admin,
        label: req.label,
    };
    let token = tokens::create(&state.store, &spec).await?;
    Ok((StatusCode::CREATED, Json(token)))
}

async fn revoke(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = parse_id("token", &id)?;
    tokens::revoke(&state.store, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
