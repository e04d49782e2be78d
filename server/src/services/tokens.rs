//! API tokens: created by `stablesteering token add` or `POST /api/tokens`, revoked by
//! `token revoke` or `DELETE /api/tokens/{id}`. A token is 32 random bytes from the OS,
//! written `sst_` + 64 hex digits; the log keeps only its BLAKE2b-256 (`token.created`), so
//! neither the log nor a backup can be used to log in.

use uuid::Uuid;

use super::{ServiceError, ServiceResult};
use crate::artifacts::content_hash;
use crate::store::events::{TokenCreated, TokenRevoked};
use crate::store::projections::access::TokenView;
use crate::store::{
    AppendRequest, Event, ExpectedVersion, Id, LogStore, NewEvent, StreamAppend, StreamId,
};

/// Label of the tokens a password login mints (logout revokes them; others are left alone).
pub const WEB_LOGIN_LABEL: &str = "web login";

/// Prefix of every secret (so a leaked one is recognizable by secret scanners).
pub const SECRET_PREFIX: &str = "sst_";
/// Longest label.
pub const MAX_LABEL_CHARS: usize = 100;

/// A new token and its secret (shown once).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct NewToken {
    pub token_id: Uuid,
    /// Whose token it is.
    pub user: String,
    /// Whether it sees and manages everything.
    pub admin: bool,
    pub label: String,
    /// The secret: send it as `Authorization: Bearer <secret>`. It is not stored.
    pub secret: String,
}

fn new_secret() -> ServiceResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| ServiceError::internal(format!("no randomness from the OS: {e}")))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{SECRET_PREFIX}{hex}"))
}

/// One event appended to the access stream.
fn on_access_stream(event: Event) -> AppendRequest {
    AppendRequest {
        streams: vec![StreamAppend {
            stream: StreamId::Access,
            expected: ExpectedVersion::Any,
            events: vec![NewEvent::new(event)],
        }],
    }
}

/// What a new token is for.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    /// Its user (`[A-Za-z0-9._-]`, 1..=64).
    pub user: String,
    /// Admin rights.
    pub admin: bool,
    /// A label (defaults to the user name).
    pub label: String,
}

/// The event of a new token, and the token (with its secret).
pub fn prepare(spec: &TokenSpec) -> ServiceResult<(AppendRequest, NewToken)> {
    if !crate::store::events::valid_user_name(&spec.user) {
        return Err(ServiceError::invalid(
            "user",
            "a user name is 1 to 64 of A-Z a-z 0-9 . _ -",
        ));
    }
    let label = if spec.label.trim().is_empty() {
        spec.user.as_str()
    } else {
        spec.label.trim()
    };
    if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS {
        return Err(ServiceError::invalid(
            "label",
            format!("a token needs a label of 1 to {MAX_LABEL_CHARS} characters"),
        ));
    }
    let secret = new_secret()?;
    let token_id = Uuid::now_v7();
    let event = Event::TokenCreated(TokenCreated {
        token_id: Id(token_id),
        user: spec.user.clone(),
        admin: spec.admin,
        label: label.to_string(),
        secret_hash: content_hash(secret.as_bytes()),
    });
    Ok((
        on_access_stream(event),
        NewToken {
            token_id,
            user: spec.user.clone(),
            admin: spec.admin,
            label: label.to_string(),
            secret,
        },
    ))
}

/// Creates a token (blocking; the CLI's path).
pub fn create_blocking(store: &LogStore, spec: &TokenSpec) -> ServiceResult<NewToken> {
    let (request, token) = prepare(spec)?;
    store.append_blocking(request)?;
    Ok(token)
}

/// Creates a token (the API's path).
pub async fn create(store: &LogStore, spec: &TokenSpec) -> ServiceResult<NewToken> {
    let (request, token) = prepare(spec)?;
    store.append_async(request).await?;
    Ok(token)
}

/// The revocation of `token_id`, or 404 when there is no such live token the current principal
/// may manage (its own, or any for an admin).
pub fn revocation(store: &LogStore, token_id: Uuid) -> ServiceResult<AppendRequest> {
    let live = store.with_projections(|p| {
        p.access
            .get(&token_id)
            .is_some_and(|t| !t.revoked && super::principal::may_see(Some(&t.user)))
    });
    if !live {
        return Err(ServiceError::not_found("token", token_id).field("token_id"));
    }
    Ok(on_access_stream(Event::TokenRevoked(TokenRevoked {
        token_id: Id(token_id),
    })))
}

/// The tokens the current principal may manage (secrets are never listed: not stored).
pub fn list(store: &LogStore) -> Vec<TokenView> {
    let mut all = store.with_projections(|p| p.access.list());
    all.retain(|t| super::principal::may_see(Some(&t.user)));
    all
}

/// The revocation of the web-login token whose secret is `secret`, if it is one.
fn logout_revocation(store: &LogStore, secret: &str) -> Option<AppendRequest> {
    let id = store.with_projections(|p| {
        p.access
            .authenticate(secret)
            .filter(|t| t.label == WEB_LOGIN_LABEL)
            .map(|t| t.token_id)
    })?;
    Some(on_access_stream(Event::TokenRevoked(TokenRevoked {
        token_id: Id(id),
    })))
}

/// Revokes `token_id` (the API's path).
pub async fn revoke(store: &LogStore, token_id: Uuid) -> ServiceResult<()> {
    store.append_async(revocation(store, token_id)?).await?;
    Ok(())
}

/// Ends a password login: revokes the web-login token `secret`, if it is one (a pasted API
/// token is left alone).
pub async fn logout(store: &LogStore, secret: &str) -> ServiceResult<()> {
    if let Some(request) = logout_revocation(store, secret) {
        store.append_async(request).await?;
    }
    Ok(())
}
