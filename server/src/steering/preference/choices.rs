//! Feedback as choice events: every mode becomes multinomial-logit / Plackett–Luce choices over
//! the shown set (the pinned incumbent included), plus sign constraints for directional critique
//! tags. The model's likelihood is a sum of these terms, so each mode says exactly what it says:
//! a winner is one first choice among all shown (not K − 1 independent pairs), a ranking is a
//! Plackett–Luce sequence, a pairwise answer is MaxDiff (best, then worst).

use crate::steering::feedback::NormalizedFeedback;

/// Weight of the winner-among-approved choice in `approve_reject` (the split already says most).
const APPROVED_WINNER_WEIGHT: f64 = 1.0;
/// Weight of one directional tag's sign constraint.
const TAG_WEIGHT: f64 = 1.0;

/// One piece of evidence from one round, by slot index into the round's candidates.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// `chosen` was picked out of `among` (which contains it). `worst` = it was picked as the
    /// worst (MaxDiff), i.e. the choice follows −u.
    Choice {
        /// Slot of the picked candidate.
        chosen: usize,
        /// Slots of the set it was picked from.
        among: Vec<usize>,
        /// Picked as the worst of the set.
        worst: bool,
        /// Multiplier of the log-likelihood.
        weight: f64,
    },
    /// The user wants more of `direction` than candidate `slot` has: `(t − z_slot)·direction > 0`.
    Sign {
        /// Slot of the tagged candidate.
        slot: usize,
        /// Unit direction in z.
        direction: Vec<f64>,
        /// Multiplier of the log-likelihood.
        weight: f64,
    },
}

/// The z-direction that fixes a directional critique tag (e.g. `too_dark` → "brighter"), when
/// the session's basis has one.
pub trait TagDirections {
    /// Unit direction in z for `tag`, or `None` (the tag then adds no sign constraint).
    fn direction(&self, tag: &str) -> Option<&[f64]>;
}

/// No directional tags (sinusoidal and random bases, the CLI without a basis).
pub struct NoTagDirections;

impl TagDirections for NoTagDirections {
    fn direction(&self, _tag: &str) -> Option<&[f64]> {
        None
    }
}

/// Tag directions as a list of `(tag, unit direction)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagDirectionList(pub Vec<(String, Vec<f64>)>);

impl TagDirections for TagDirectionList {
    fn direction(&self, tag: &str) -> Option<&[f64]> {
        self.0
            .iter()
            .find(|(t, _)| t == tag)
            .map(|(_, d)| d.as_slice())
    }
}

/// The choice terms of one round's feedback. `ids` are the round's candidate ids by slot;
/// references to unknown ids are skipped (feedback is validated against the round before).
pub fn choice_terms(
    feedback: &NormalizedFeedback,
    ids: &[&str],
    tags: &dyn TagDirections,
) -> Vec<Term> {
    let slot = |id: &str| ids.iter().position(|c| *c == id);
    let all: Vec<usize> = (0..ids.len()).collect();
    let mut terms = Vec::new();
    if let Some(ranking) = &feedback.ranking {
        ranking_terms(ranking, &slot, &all, &mut terms);
    } else if let Some(ratings) = &feedback.ratings {
        rating_terms(ratings, &slot, &mut terms);
    } else if let Some(approved) = &feedback.approved_candidate_ids {
        let rejected = feedback.rejected_candidate_ids.clone().unwrap_or_default();
        approval_terms(
            approved,
            &rejected,
            &feedback.winner_candidate_id,
            &slot,
            &mut terms,
        );
    } else if let Some(chosen) = slot(&feedback.winner_candidate_id) {
        terms.push(Term::Choice {
            chosen,
            among: all.clone(),
            worst: false,
            weight: 1.0,
        });
        if let Some(loser) = feedback.loser_candidate_id.as_deref().and_then(slot) {
            let rest: Vec<usize> = all.iter().copied().filter(|s| *s != chosen).collect();
            if rest.len() >= 2 {
                terms.push(Term::Choice {
                    chosen: loser,
                    among: rest,
                    worst: true,
                    weight: 1.0,
                });
            }
        }
    }
    for (id, tag_list) in feedback.critique_tags.iter().flatten() {
        let Some(s) = slot(id) else { continue };
        for tag in tag_list {
            if let Some(direction) = tags.direction(tag) {
                terms.push(Term::Sign {
                    slot: s,
                    direction: direction.to_vec(),
                    weight: TAG_WEIGHT,
                });
            }
        }
    }
    terms.retain(|t| match t {
        Term::Choice { among, .. } => among.len() >= 2,
        Term::Sign { .. } => true,
    });
    terms
}

/// Plackett–Luce over the ranked prefix: the first is chosen from all shown, the second from
/// the rest, … The unranked tail only ever loses.
fn ranking_terms(
    ranking: &[String],
    slot: &dyn Fn(&str) -> Option<usize>,
    all: &[usize],
    terms: &mut Vec<Term>,
) {
    let mut remaining: Vec<usize> = all.to_vec();
    for id in ranking {
        let Some(chosen) = slot(id) else { continue };
        if !remaining.contains(&chosen) {
            continue;
        }
        terms.push(Term::Choice {
            chosen,
            among: remaining.clone(),
            worst: false,
            weight: 1.0,
        });
        remaining.retain(|s| *s != chosen);
        if remaining.len() < 2 {
            break;
        }
    }
}

/// Rank-ordered logit with ties: each rated candidate is chosen over itself and every candidate
/// rated strictly lower (equal ratings say nothing about each other), weighted by how far its
/// stars sit above the mean of those it beats (a 5 over 1s says more than a 3 over 2s).
fn rating_terms(
    ratings: &[(String, i64)],
    slot: &dyn Fn(&str) -> Option<usize>,
    terms: &mut Vec<Term>,
) {
    let rated: Vec<(usize, i64)> = ratings
        .iter()
        .filter_map(|(id, r)| Some((slot(id)?, *r)))
        .collect();
    for (chosen, stars) in &rated {
        let lower: Vec<(usize, i64)> = rated.iter().copied().filter(|(_, r)| r < stars).collect();
        if lower.is_empty() {
            continue;
        }
        let mean_lower = lower.iter().map(|(_, r)| *r as f64).sum::<f64>() / lower.len() as f64;
        let gap = *stars as f64 - mean_lower;
        let mut among: Vec<usize> = lower.iter().map(|(s, _)| *s).collect();
        among.push(*chosen);
        among.sort_unstable();
        terms.push(Term::Choice {
            chosen: *chosen,
            among,
            worst: false,
            weight: (gap / 2.0).clamp(0.5, 1.5),
        });
    }
}

/// Approved ≻ rejected as a tie group (each approved candidate chosen over the rejected ones),
/// plus the winner chosen among the approved.
fn approval_terms(
    approved: &[String],
    rejected: &[String],
    winner: &str,
    slot: &dyn Fn(&str) -> Option<usize>,
    terms: &mut Vec<Term>,
) {
    let approved: Vec<usize> = approved.iter().filter_map(|id| slot(id)).collect();
    let rejected: Vec<usize> = rejected.iter().filter_map(|id| slot(id)).collect();
    if !rejected.is_empty() {
        for chosen in &approved {
            let mut among = rejected.clone();
            among.push(*chosen);
            among.sort_unstable();
            terms.push(Term::Choice {
                chosen: *chosen,
                among,
                worst: false,
                weight: 1.0,
            });
        }
    }
    if let Some(chosen) = slot(winner) {
        if approved.len() >= 2 && approved.contains(&chosen) {
            terms.push(Term::Choice {
                chosen,
                among: approved,
                worst: false,
                weight: APPROVED_WINNER_WEIGHT,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steering::kinds::FeedbackMode;

    const IDS: [&str; 4] = ["a", "b", "c", "d"];

    fn choice(chosen: usize, among: &[usize], worst: bool) -> (usize, Vec<usize>, bool) {
        (chosen, among.to_vec(), worst)
    }

    fn choices(terms: &[Term]) -> Vec<(usize, Vec<usize>, bool)> {
        terms
            .iter()
            .filter_map(|t| match t {
                Term::Choice {
                    chosen,
                    among,
                    worst,
                    ..
                } => Some((*chosen, among.clone(), *worst)),
                Term::Sign { .. } => None,
            })
            .collect()
    }

    #[test]
    fn winner_only_is_one_first_choice_over_all_shown() {
        let fb = NormalizedFeedback::winner_only("c");
        let terms = choice_terms(&fb, &IDS, &NoTagDirections);
        assert_eq!(choices(&terms), vec![choice(2, &[0, 1, 2, 3], false)]);
    }

    #[test]
    fn pairwise_is_best_then_worst_of_the_rest() {
        let mut fb = NormalizedFeedback::winner_only("b");
        fb.mode = FeedbackMode::Pairwise;
        fb.loser_candidate_id = Some("d".into());
        let terms = choice_terms(&fb, &IDS, &NoTagDirections);
        assert_eq!(
            choices(&terms),
            vec![choice(1, &[0, 1, 2, 3], false), choice(3, &[0, 2, 3], true)]
        );
    }

    #[test]
    fn top_k_is_plackett_luce_over_the_prefix() {
        let mut fb = NormalizedFeedback::winner_only("d");
        fb.mode = FeedbackMode::TopK;
        fb.ranking = Some(vec!["d".into(), "a".into()]);
        let terms = choice_terms(&fb, &IDS, &NoTagDirections);
        assert_eq!(
            choices(&terms),
            vec![
                choice(3, &[0, 1, 2, 3], false),
                choice(0, &[0, 1, 2], false)
            ]
        );
    }

    #[test]
    fn ratings_are_rank_ordered_with_ties_and_gap_weights() {
        let mut fb = NormalizedFeedback::winner_only("a");
        fb.mode = FeedbackMode::ScalarRating;
        fb.ratings = Some(vec![
            ("a".into(), 5),
            ("b".into(), 5),
            ("c".into(), 4),
            ("d".into(), 1),
        ]);
        let terms = choice_terms(&fb, &IDS, &NoTagDirections);
        assert_eq!(
            choices(&terms),
            vec![
                choice(0, &[0, 2, 3], false),
                choice(1, &[1, 2, 3], false),
                choice(2, &[2, 3], false)
            ]
        );
        let weights: Vec<f64> = terms
            .iter()
            .map(|t| match t {
                Term::Choice { weight, .. } | Term::Sign { weight, .. } => *weight,
            })
            .collect();
        assert_eq!(weights, vec![1.25, 1.25, 1.5]);
    }

    #[test]
    fn approvals_are_a_tie_group_plus_the_winner_among_approved() {
        let mut fb = NormalizedFeedback::winner_only("b");
        fb.mode = FeedbackMode::ApproveReject;
        fb.approved_candidate_ids = Some(vec!["a".into(), "b".into()]);
        fb.rejected_candidate_ids = Some(vec!["c".into(), "d".into()]);
        let terms = choice_terms(&fb, &IDS, &NoTagDirections);
        assert_eq!(
            choices(&terms),
            vec![
                choice(0, &[0, 2, 3], false),
                choice(1, &[1, 2, 3], false),
                choice(1, &[0, 1], false)
            ]
        );
    }

    #[test]
    fn directional_tags_become_sign_constraints_only_with_a_direction() {
        let mut fb = NormalizedFeedback::winner_only("a");
        fb.mode = FeedbackMode::CritiqueRating;
        fb.ratings = Some(vec![("a".into(), 4), ("b".into(), 2)]);
        fb.critique_tags = Some(vec![(
            "b".into(),
            vec!["too_dark".into(), "wrong_style".into()],
        )]);
        let none = choice_terms(&fb, &IDS, &NoTagDirections);
        assert!(none.iter().all(|t| matches!(t, Term::Choice { .. })));
        let dirs = TagDirectionList(vec![("too_dark".into(), vec![1.0, 0.0])]);
        let with = choice_terms(&fb, &IDS, &dirs);
        assert!(with.contains(&Term::Sign {
            slot: 1,
            direction: vec![1.0, 0.0],
            weight: 1.0
        }));
    }
}
