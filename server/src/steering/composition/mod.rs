//! Round composition as the reference orchestrator does it, as pure functions over a
//! `SessionView`: pinned slot, sampler proposals, first-round widening, stagnation escape, seeds,
//! and the calibration round. The server and the oracle benchmark call the same code.

mod calibration;
mod compose;
mod stagnation;
mod types;
mod widening;

pub use calibration::{
    calibration_mean, compose_calibration_round, CalibrationError, CALIBRATION_PROBES,
};
pub use compose::compose_round;
pub use stagnation::{stagnation_boost, trailing_selected_image_streak};
pub use types::{
    ComposedCandidate, ComposedRound, CompositionError, RoundCandidate, RoundRecord, SessionView,
    StagnationEscape,
};
pub use widening::widen_first_round;
