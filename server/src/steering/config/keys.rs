//! The config keys in reference order, each with its one-line meaning (used by the YAML header
//! and by the unknown-key suggestion).

/// `(key, meaning)` for every config key, in the reference's order.
pub const KEYS: [(&str, &str); 22] = [
    (
        "strategy",
        "preference (a Bayesian model of what you like, fitted on every round; default) or classic (the reference's sampler + updater)",
    ),
    (
        "sampler",
        "classic only: how candidate steering vectors are proposed each round",
    ),
    ("updater", "classic only: how feedback moves the steering state z"),
    (
        "feedback_mode",
        "what the user gives per round (ratings, a pair, a ranking, ...)",
    ),
    (
        "seed_policy",
        "how render seeds are assigned to candidates (shared: one seed until you ask for a new one)",
    ),
    (
        "seed_casting",
        "preference only: round 1 shows this many seeds of the plain prompt and your pick becomes the session's seed (0 = off, 2..12)",
    ),
    (
        "basis",
        "directions of z: semantic (prompt variants encoded by CLIP), sinusoidal (the reference's) or random_orthonormal",
    ),
    (
        "steering_mode",
        "how z is turned into an offset of the prompt embeddings",
    ),
    (
        "steering_dimension",
        "size of the low-dimensional steering vector z (1..16)",
    ),
    (
        "candidate_count",
        "visible candidates per round, pinned baseline/incumbent included (1..12)",
    ),
    (
        "image_size",
        "WIDTHxHEIGHT, multiples of 8 between 64 and 2048, for example 512x512",
    ),
    (
        "trust_radius",
        "radius of the ball around the prompt (z = 0) that proposals stay in (0 < r <= 1); preference: the starting trust region around the incumbent",
    ),
    (
        "prior_width",
        "preference only: expected distance of what you want from the plain prompt, in z units (0 < w <= 2)",
    ),
    (
        "acquisition",
        "preference only: how candidates are chosen (qeubo, thompson, posterior_mean, random)",
    ),
    (
        "stagnation_patience",
        "rounds with the same selected image before the sampler's radius widens (0 = off, <= 10)",
    ),
    (
        "stagnation_trust_radius_scale",
        "multiplier applied to trust_radius during stagnation escape (1..3)",
    ),
    (
        "convergence_patience",
        "consecutive quiet rounds before the session counts as converged (0 disables, <= 10)",
    ),
    (
        "convergence_min_delta",
        "step size, as a fraction of trust_radius, below which a round is quiet (0..1)",
    ),
    (
        "anchor_strength",
        "scale of the steering offset added to the prompt embeddings (0..2)",
    ),
    (
        "guidance_scale",
        "classifier-free guidance strength (0 < g <= 20), for example 7.5",
    ),
    (
        "num_inference_steps",
        "diffusion denoising steps (1..100), for example 15 or 30",
    ),
    (
        "model_name",
        "prepared local model id or Hugging Face model id",
    ),
];

/// Whether `key` is a config key.
pub fn is_key(key: &str) -> bool {
    KEYS.iter().any(|(k, _)| *k == key)
}

/// The config key closest to `unknown`: a key it abbreviates (at least 3 characters), else the
/// key with the smallest Levenshtein distance (first one on ties).
pub fn closest_key(unknown: &str) -> &'static str {
    if unknown.len() >= 3 {
        if let Some((key, _)) = KEYS.iter().find(|(key, _)| key.starts_with(unknown)) {
            return key;
        }
    }
    let mut best = KEYS[0].0;
    let mut best_distance = usize::MAX;
    for (key, _) in KEYS {
        let distance = strsim::levenshtein(unknown, key);
        if distance < best_distance {
            best = key;
            best_distance = distance;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_misspelled_key() {
        assert_eq!(closest_key("trust_raduis"), "trust_radius");
        assert_eq!(closest_key("sampl"), "sampler");
        assert_eq!(closest_key("candidate_cout"), "candidate_count");
        assert_eq!(closest_key("steering_dim"), "steering_dimension");
        assert_eq!(closest_key("steering_mod"), "steering_mode");
        assert!(is_key("model_name"));
        assert!(!is_key("trust_raduis"));
    }
}
