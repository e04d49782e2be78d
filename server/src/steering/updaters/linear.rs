//! `linear_preference` (§5.3): `z' = round6(0.35 z + 0.65 w)` (α = 0.65), not clamped.

use serde_json::{Map, Value};

use super::UpdateContext;
use crate::steering::math::round6;

const ALPHA: f64 = 0.65;

pub(super) fn update(ctx: &UpdateContext<'_>) -> (Vec<f64>, &'static str, Map<String, Value>) {
    let next = ctx
        .current_z
        .iter()
        .zip(&ctx.winner.z)
        .map(|(c, t)| round6((1.0 - ALPHA) * c + ALPHA * t))
        .collect();
    (next, "linear_move", Map::new())
}
