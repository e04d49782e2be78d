//! The `preference` strategy: a Bayesian model of what the user wants, fitted on every round
//! of the session, that chooses each round's candidates to learn it fastest.
//!
//! - [`choices`]: feedback of any mode as Plackett–Luce / multinomial-logit choice events over
//!   the shown set (incumbent included), directional critique tags as sign constraints.
//! - [`laplace`], [`posterior`]: the ideal-point utility `u(z) = −β‖z − t‖²` with a
//!   prompt-anchored Gaussian prior on `t`, fitted by Newton + line search (f64, fixed caps), a
//!   Laplace Gaussian per β of a small grid, mixed by evidence.
//! - [`proposals`]: greedy batch qEUBO over a pool (Thompson optima, posterior mean, uncertain
//!   directions, incumbent perturbations, spread directions) inside a trust region around the
//!   incumbent; the (1+λ)-ES fallback for users the model cannot explain.
//! - [`state`]: the whole strategy state as a pure function of the rounds, so replay, time
//!   travel and forks recompute the same numbers; [`compose`] and [`update`] use it.
//!
//! All randomness comes from the session's seed token through MT19937.

pub mod choices;
pub mod compose;
pub mod evidence;
pub mod laplace;
pub mod memo;
pub mod posterior;
pub mod proposals;
pub mod state;
pub mod update;

pub use choices::{choice_terms, NoTagDirections, TagDirectionList, TagDirections, Term};
pub use compose::{compose_preference_round, shared_render_seed, PreferenceView};
pub use posterior::{fit_posterior, Posterior};
pub use state::{Driver, SessionState, SteeringRound, Tuning};
pub use update::{apply_preference_feedback, PreferenceUpdate};

#[cfg(test)]
mod tests;
