//! Prompt dimensions and priority weighting (§6.4): the first four content words of the prompt
//! plus `lighting`, `color`, `mood`; and the UI's priority-weighted overall star rating.

const STOP_WORDS: [&str; 18] = [
    "a", "an", "the", "of", "in", "on", "at", "to", "and", "or", "with", "from", "by", "for", "is",
    "are", "was", "were",
];
const STYLE_DIMENSIONS: [&str; 3] = ["lighting", "color", "mood"];

/// The rating dimensions of a prompt: the first 4 lowercase ASCII-letter words longer than 3
/// letters that are not stop words, then `lighting`, `color`, `mood`, without duplicates.
pub fn extract_prompt_dimensions(prompt: &str) -> Vec<String> {
    let lowered = prompt.to_lowercase();
    let content = lowered
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty() && w.len() > 3 && !STOP_WORDS.contains(w))
        .take(4);
    let mut out: Vec<String> = Vec::new();
    for word in content.chain(STYLE_DIMENSIONS) {
        if !out.iter().any(|seen| seen == word) {
            out.push(word.to_string());
        }
    }
    out
}

/// The weighted overall score and the star rating it becomes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightedScore {
    /// `Σ w·score / Σ w`.
    pub weighted: f64,
    /// JavaScript `Math.round` of it (halves round up).
    pub stars: i64,
}

/// The browser's `recalcWeightedScore`: with N prioritized dimensions and priority p the weight
/// is `N − (p − 1)`; unrated dimensions count as 0 but keep their weight in the denominator.
pub fn weighted_overall_score(
    priorities: &[(String, i64)],
    scores: &[(String, i64)],
) -> Option<WeightedScore> {
    if priorities.is_empty() {
        return None;
    }
    let n = priorities.len() as f64;
    let mut weighted_sum = 0.0;
    let mut total_weight = 0.0;
    for (dim, priority) in priorities {
        let weight = n - (*priority as f64 - 1.0);
        let score = scores
            .iter()
            .find(|(d, _)| d == dim)
            .map(|(_, s)| *s as f64)
            .unwrap_or(0.0);
        weighted_sum += weight * score;
        total_weight += weight;
    }
    if total_weight == 0.0 {
        return None;
    }
    let weighted = weighted_sum / total_weight;
    Some(WeightedScore {
        weighted,
        stars: (weighted + 0.5).floor() as i64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, i64)]) -> Vec<(String, i64)> {
        items.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn documented_example() {
        assert_eq!(
            extract_prompt_dimensions("A cinematic mountain road at sunrise"),
            vec![
                "cinematic",
                "mountain",
                "road",
                "sunrise",
                "lighting",
                "color",
                "mood"
            ]
        );
    }

    #[test]
    fn unrated_dimensions_keep_their_weight() {
        // N = 3: weights 3, 2, 1. Scores 5, (unrated), 2 → (15 + 0 + 2) / 6 = 2.8333 → 3 stars.
        let p = pairs(&[("color", 1), ("mood", 2), ("road", 3)]);
        let s = pairs(&[("color", 5), ("road", 2)]);
        let out = weighted_overall_score(&p, &s);
        assert!(out.is_some_and(|w| (w.weighted - 17.0 / 6.0).abs() < 1e-12 && w.stars == 3));
        // 2.5 rounds up like Math.round.
        let p = pairs(&[("a", 1), ("b", 1)]);
        let s = pairs(&[("a", 2), ("b", 3)]);
        assert_eq!(weighted_overall_score(&p, &s).map(|w| w.stars), Some(3));
        assert_eq!(weighted_overall_score(&[], &s), None);
    }
}
