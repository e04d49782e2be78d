//! The `access` projection: API tokens by the hash of their secret. A request's token is hashed
//! and looked up; a revoked token is kept (for listing) but no longer authenticates.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use uuid::Uuid;

use crate::artifacts::content_hash;
use crate::store::{Envelope, Event};

/// One token, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TokenView {
    pub token_id: Uuid,
    /// Whose token it is.
    pub user: String,
    /// Whether it may see and manage everything.
    pub admin: bool,
    pub label: String,
    pub created_at_us: i64,
    pub revoked: bool,
}

/// Every token ever created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tokens {
    by_id: BTreeMap<Uuid, TokenView>,
    #[serde(skip)]
    by_hash: HashMap<String, Uuid>,
    /// `user → (admin, Argon2 PHC string)` of users with a password.
    #[serde(skip)]
    passwords: HashMap<String, (bool, String)>,
}

impl Tokens {
    /// The live token whose secret is `secret`.
    pub fn authenticate(&self, secret: &str) -> Option<&TokenView> {
        let id = self.by_hash.get(&content_hash(secret.as_bytes()))?;
        self.by_id.get(id).filter(|t| !t.revoked)
    }

    /// Every token, oldest first.
    pub fn list(&self) -> Vec<TokenView> {
        let mut all: Vec<TokenView> = self.by_id.values().cloned().collect();
        all.sort_by_key(|t| t.created_at_us);
        all
    }

    /// One token.
    pub fn get(&self, id: &Uuid) -> Option<&TokenView> {
        self.by_id.get(id)
    }

    /// Whether any live token (or password) exists.
    pub fn any_live(&self) -> bool {
        self.by_id.values().any(|t| !t.revoked) || !self.passwords.is_empty()
    }

    /// `(admin, PHC hash)` of `user`'s password, if they have one.
    pub fn password_of(&self, user: &str) -> Option<(bool, String)> {
        self.passwords.get(user).cloned()
    }
}

/// Applies one event of the `access` stream; false when it does not belong there.
pub fn apply(tokens: &mut Tokens, env: Envelope) -> bool {
    match env.event {
        Event::TokenCreated(t) => {
            tokens.by_hash.insert(t.secret_hash, t.token_id.0);
            tokens.by_id.insert(
                t.token_id.0,
                TokenView {
                    token_id: t.token_id.0,
                    user: t.user,
                    admin: t.admin,
                    label: t.label,
                    created_at_us: env.recorded_at_us,
                    revoked: false,
                },
            );
            true
        }
        Event::PasswordSet(p) => {
            tokens.passwords.insert(p.user, (p.admin, p.password_phc));
            true
        }
        Event::TokenRevoked(t) => match tokens.by_id.get_mut(&t.token_id.0) {
            Some(view) => {
                view.revoked = true;
                true
            }
            None => false,
        },
        _ => false,
    }
}
