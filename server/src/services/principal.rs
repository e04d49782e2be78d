//! Who is asking. With `serve --auth token`, the auth layer runs each request *as* the user
//! of its token ([`acting_as`]); the service layer asks [`may_see`] before it shows or changes
//! a session, so a user sees only their own sessions (an admin sees all) on every route,
//! without each handler having to remember. Without auth, and in the server's own background
//! work (job workers), there is no principal and everything is visible.

use std::future::Future;

/// A user acting through a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user name (owner of the sessions they create).
    pub user: String,
    /// Sees and manages everything.
    pub admin: bool,
}

tokio::task_local! {
    static CURRENT: Principal;
}

/// Runs `work` as `principal` (or as nobody in particular, when `None`).
pub async fn acting_as<F: Future>(principal: Option<Principal>, work: F) -> F::Output {
    match principal {
        Some(p) => CURRENT.scope(p, work).await,
        None => work.await,
    }
}

/// The principal of the request being served, if auth is on.
pub fn current() -> Option<Principal> {
    CURRENT.try_with(Principal::clone).ok()
}

/// Whether the current principal may see a session owned by `owner`.
pub fn may_see(owner: Option<&str>) -> bool {
    match current() {
        None => true,
        Some(p) => p.admin || owner == Some(p.user.as_str()),
    }
}

/// Whether the current principal may see everything (no auth, or an admin).
pub fn sees_all() -> bool {
    current().is_none_or(|p| p.admin)
}
