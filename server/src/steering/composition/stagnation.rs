//! Stagnation escape (§3.6): count the trailing completed rounds whose winner had the same image
//! key; once the streak reaches `stagnation_patience`, the sampler sees
//! `min(1, R · stagnation_trust_radius_scale)`. Updaters keep the original radius.

use super::types::RoundRecord;
use crate::steering::config::StrategyConfig;

/// Trailing completed rounds won by the same image (the carried incumbent keeps its image).
pub fn trailing_selected_image_streak(rounds: &[RoundRecord]) -> u32 {
    let mut streak = 0;
    let mut key: Option<String> = None;
    for round in rounds.iter().rev() {
        let Some(winner) = round.winner() else {
            break;
        };
        let current = winner.image_key();
        match &key {
            None => {
                key = Some(current);
                streak = 1;
            }
            Some(previous) if *previous != current => break,
            Some(_) => streak += 1,
        }
    }
    streak
}

/// `(streak, Some(boosted radius))` when the sampler's radius is widened this round.
pub fn stagnation_boost(
    config: &StrategyConfig,
    current_round: u32,
    rounds: &[RoundRecord],
) -> (u32, Option<f64>) {
    let patience = config.stagnation_patience;
    if patience == 0 || current_round == 0 {
        return (0, None);
    }
    let streak = trailing_selected_image_streak(rounds);
    if streak < patience {
        return (streak, None);
    }
    let boosted = (config.trust_radius * config.stagnation_trust_radius_scale).min(1.0);
    if boosted <= config.trust_radius + 1e-9 {
        return (streak, None);
    }
    (streak, Some(boosted))
}
