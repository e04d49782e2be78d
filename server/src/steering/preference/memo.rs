//! A bounded in-memory memo of fitted posteriors, keyed by a digest of the evidence.
//!
//! The posterior is a pure function of the evidence, so remembering it changes no number: it
//! only avoids refitting what was fitted moments ago. Applying round r's feedback fits the
//! posterior of rounds 1..r; composing round r + 1 needs exactly that one again, and the
//! predictive check needs those of the three previous prefixes, all fitted earlier. Kept in
//! memory only, at most [`CAPACITY`] entries (least recently used evicted; ~30 KB each at
//! d = 16), and rebuilt on demand after a restart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};

use super::choices::Term;
use super::evidence::RoundEvidence;
use super::posterior::{fit_posterior, Posterior};

/// Most posteriors remembered.
pub const CAPACITY: usize = 256;

type Key = [u8; 32];

#[derive(Default)]
struct Memo {
    entries: HashMap<Key, (u64, Arc<Posterior>)>,
    tick: u64,
}

fn memo() -> &'static Mutex<Memo> {
    static MEMO: OnceLock<Mutex<Memo>> = OnceLock::new();
    MEMO.get_or_init(Default::default)
}

/// Digest of everything the fit reads: dimension, prior width and every round's z and terms.
fn key(rounds: &[RoundEvidence], d: usize, prior_width: f64) -> Key {
    let mut h = Blake2b::<U32>::new();
    h.update((d as u64).to_le_bytes());
    h.update(prior_width.to_bits().to_le_bytes());
    for round in rounds {
        h.update((round.z.len() as u64).to_le_bytes());
        for v in &round.z {
            h.update(v.to_bits().to_le_bytes());
        }
        h.update((round.terms.len() as u64).to_le_bytes());
        for term in &round.terms {
            match term {
                Term::Choice {
                    chosen,
                    among,
                    worst,
                    weight,
                } => {
                    h.update([0u8, u8::from(*worst)]);
                    h.update((*chosen as u64).to_le_bytes());
                    h.update((among.len() as u64).to_le_bytes());
                    for s in among {
                        h.update((*s as u64).to_le_bytes());
                    }
                    h.update(weight.to_bits().to_le_bytes());
                }
                Term::Sign {
                    slot,
                    direction,
                    weight,
                } => {
                    h.update([1u8]);
                    h.update((*slot as u64).to_le_bytes());
                    for v in direction {
                        h.update(v.to_bits().to_le_bytes());
                    }
                    h.update(weight.to_bits().to_le_bytes());
                }
            }
        }
    }
    h.finalize().into()
}

/// The posterior of `rounds`: remembered, or fitted now and remembered.
pub fn posterior(rounds: &[RoundEvidence], d: usize, prior_width: f64) -> Arc<Posterior> {
    let k = key(rounds, d, prior_width);
    if let Ok(mut m) = memo().lock() {
        m.tick += 1;
        let tick = m.tick;
        if let Some(entry) = m.entries.get_mut(&k) {
            entry.0 = tick;
            return Arc::clone(&entry.1);
        }
    }
    let fitted = Arc::new(fit_posterior(rounds, d, prior_width));
    if let Ok(mut m) = memo().lock() {
        if m.entries.len() >= CAPACITY {
            if let Some(oldest) = m
                .entries
                .iter()
                .min_by_key(|(_, (t, _))| *t)
                .map(|(k, _)| *k)
            {
                m.entries.remove(&oldest);
            }
        }
        let tick = m.tick;
        m.entries.insert(k, (tick, Arc::clone(&fitted)));
    }
    fitted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_posteriors_equal_fresh_fits() {
        let rounds = vec![RoundEvidence::new(
            &[vec![0.0, 0.1], vec![0.3, -0.2], vec![-0.1, 0.4]],
            vec![Term::Choice {
                chosen: 1,
                among: vec![0, 1, 2],
                worst: false,
                weight: 1.0,
            }],
        )];
        let first = posterior(&rounds, 2, 0.4);
        let again = posterior(&rounds, 2, 0.4);
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(*first, fit_posterior(&rounds, 2, 0.4));
        let other = posterior(&rounds, 2, 0.5);
        assert_ne!(*other, *first);
    }
}
