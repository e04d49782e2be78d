//! Passwords for `serve --auth accounts`: set with `stablesteering user add` (read from stdin),
//! stored as Argon2id PHC strings in `password.set` events, checked at `/login`. A password login
//! mints an ordinary token for the browser's cookie (`token.created`, label "web login"), which
//! logout revokes; everything after the login is the token path.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use super::principal::Principal;
use super::{ServiceError, ServiceResult};
use crate::store::events::PasswordSet;
use crate::store::{
    AppendRequest, Event, ExpectedVersion, LogStore, NewEvent, StreamAppend, StreamId,
};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (Argon2 has no limit; this bounds the work per login).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Records `user`'s password (blocking: hashing takes tens of milliseconds by design).
pub fn set_blocking(
    store: &LogStore,
    user: &str,
    admin: bool,
    password: &str,
) -> ServiceResult<()> {
    if !crate::store::events::valid_user_name(user) {
        return Err(ServiceError::invalid(
            "user",
            "a user name is 1 to 64 of A-Z a-z 0-9 . _ -",
        ));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(ServiceError::invalid(
            "password",
            format!("a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_BYTES} characters"),
        ));
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| ServiceError::internal(format!("no randomness from the OS: {e}")))?;
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| ServiceError::internal(format!("salt: {e}")))?;
    let phc = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| ServiceError::internal(format!("hashing failed: {e}")))?
        .to_string();
    store.append_blocking(AppendRequest {
        streams: vec![StreamAppend {
            stream: StreamId::Access,
            expected: ExpectedVersion::Any,
            events: vec![NewEvent::new(Event::PasswordSet(PasswordSet {
                user: user.to_string(),
                admin,
                password_phc: phc,
            }))],
        }],
    })?;
    Ok(())
}

/// Who `user` / `password` logs in as (blocking: Argon2 verification).
pub fn verify_blocking(store: &LogStore, user: &str, password: &str) -> Option<Principal> {
    if password.len() > MAX_PASSWORD_BYTES {
        return None;
    }
    let (admin, phc) = store.with_projections(|p| p.access.password_of(user))?;
    let parsed = PasswordHash::new(&phc).ok()?;
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .ok()
        .map(|()| Principal {
            user: user.to_string(),
            admin,
        })
}
