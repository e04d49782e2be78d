//! `winner_copy` (§5.1): `z' = w`, without rounding or clamping.

use serde_json::Map;

use super::UpdateContext;

pub(super) fn update(
    ctx: &UpdateContext<'_>,
) -> (Vec<f64>, &'static str, Map<String, serde_json::Value>) {
    (ctx.winner.z.clone(), "copy", Map::new())
}
