//! The critique-tag vocabulary: three positive and seven negative tags (§5.12).

/// Tags that pull the steering vector toward a candidate.
pub const POSITIVE_TAGS: [&str; 3] = ["good_composition", "good_color", "good_detail"];

/// Tags that push the steering vector away from a candidate.
pub const NEGATIVE_TAGS: [&str; 7] = [
    "too_dark",
    "too_bright",
    "wrong_style",
    "wrong_composition",
    "too_busy",
    "too_simple",
    "wrong_subject",
];

/// Every selectable tag, positive first (the UI order).
pub const CRITIQUE_TAGS: [&str; 10] = [
    "good_composition",
    "good_color",
    "good_detail",
    "too_dark",
    "too_bright",
    "wrong_style",
    "wrong_composition",
    "too_busy",
    "too_simple",
    "wrong_subject",
];

/// Whether `tag` is a positive tag.
pub fn is_positive(tag: &str) -> bool {
    POSITIVE_TAGS.contains(&tag)
}

/// Whether `tag` is a negative tag.
pub fn is_negative(tag: &str) -> bool {
    NEGATIVE_TAGS.contains(&tag)
}

/// Whether `tag` belongs to the vocabulary.
pub fn is_known(tag: &str) -> bool {
    CRITIQUE_TAGS.contains(&tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_is_partitioned() {
        for tag in CRITIQUE_TAGS {
            assert!(is_positive(tag) != is_negative(tag), "{tag}");
        }
        assert!(!is_known("sparkly"));
    }

    #[test]
    fn the_browser_offers_exactly_this_vocabulary() {
        // The WASM app keeps its own copy (it cannot depend on the server); they must agree.
        assert_eq!(app::feedback::CRITIQUE_TAGS, CRITIQUE_TAGS);
        for tag in CRITIQUE_TAGS {
            assert_eq!(
                app::feedback::is_positive_tag(tag),
                is_positive(tag),
                "{tag}"
            );
        }
    }
}
