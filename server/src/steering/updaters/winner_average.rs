//! `winner_average` (§5.2, the default updater): `z' = round6(0.5 z + 0.5 w)`, not clamped.

use serde_json::{Map, Value};

use super::UpdateContext;
use crate::steering::math::round6;

pub(super) fn update(ctx: &UpdateContext<'_>) -> (Vec<f64>, &'static str, Map<String, Value>) {
    let next = ctx
        .current_z
        .iter()
        .zip(&ctx.winner.z)
        .map(|(c, t)| round6(c * 0.5 + t * 0.5))
        .collect();
    (next, "average", Map::new())
}
