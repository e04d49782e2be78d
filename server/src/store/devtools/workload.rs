//! Realistic, deterministic event workloads for the benchmark, the torture child and tests:
//! sessions with rounds of proposals, renders, feedback and updates, plus job milestones.

use uuid::Uuid;

use crate::store::events::v1::*;
use crate::store::events::v2::FeedbackSubmittedV2;
use crate::store::events::Event;
use crate::store::ids::Id;

/// splitmix64: a tiny deterministic PRNG (no external dependency).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, n) (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in [-1, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    /// A v4-shaped UUID from the stream (deterministic).
    pub fn uuid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(
            ((u128::from(self.next_u64()) << 64) | u128::from(self.next_u64())).to_le_bytes(),
        )
        .into_uuid()
    }
}

/// A representative session config snapshot (canonical JSON text).
pub fn config_json(dims: usize, candidates: usize) -> String {
    format!(
        concat!(
            "{{\"candidate_count\":{c},\"feedback_mode\":\"scalar_rating\",",
            "\"sampler\":\"exploit_orthogonal\",\"seed_policy\":\"fixed-per-round\",",
            "\"steering_dimension\":{d},\"steering_mode\":\"hidden_offset\",",
            "\"trust_radius\":0.55,\"updater\":\"winner_average\",",
            "\"convergence\":{{\"min_delta\":0.04,\"patience\":3}},",
            "\"render\":{{\"guidance_scale\":7.0,\"height\":512,\"num_inference_steps\":20,\"width\":512}}}}"
        ),
        c = candidates,
        d = dims
    )
}

/// Writes a plausible session: creation, then full rounds.
#[derive(Debug, Clone)]
pub struct SessionScript {
    pub session_id: Uuid,
    pub experiment_id: Option<Uuid>,
    pub dims: usize,
    pub candidates: usize,
    pub round: u32,
    pub z: Vec<f64>,
    pub rng: Rng,
}

impl SessionScript {
    pub fn new(
        session_id: Uuid,
        experiment_id: Option<Uuid>,
        dims: usize,
        candidates: usize,
        seed: u64,
    ) -> Self {
        SessionScript {
            session_id,
            experiment_id,
            dims,
            candidates: candidates.max(1),
            round: 0,
            z: vec![0.0; dims],
            rng: Rng::new(seed),
        }
    }

    /// The `session.created` event.
    pub fn created(&self) -> Event {
        Event::SessionCreated(SessionCreatedV1 {
            session_id: Id(self.session_id),
            experiment_id: self.experiment_id.map(Id),
            prompt: "a lighthouse on a cliff at dusk, oil painting".into(),
            negative_prompt: "blurry, low quality".into(),
            config_json: config_json(self.dims, self.candidates),
            model_ref: "stabilityai/sd-turbo@main".into(),
            parent: None,
        })
    }

    /// All events of the next round: requested, proposed, one render per candidate, ready,
    /// feedback, incumbent updated.
    pub fn next_round(&mut self) -> Vec<Event> {
        self.round += 1;
        let round_id = Id(self.rng.uuid());
        let round_index = self.round;
        let mut cands = Vec::with_capacity(self.candidates);
        for i in 0..self.candidates {
            let z: Vec<f64> = self.z.iter().map(|v| v + 0.3 * self.rng.unit()).collect();
            cands.push(CandidateV1 {
                candidate_id: Id(self.rng.uuid()),
                index: i as u32,
                z,
                role: if i == 0 { "incumbent".into() } else { "explore".into() },
                seed: self.rng.next_u64() as u32,
                seed_group: (i % 2) as u32,
                generation_json: format!(
                    "{{\"guidance_scale\":7.0,\"image_size\":512,\"num_inference_steps\":20,\"proposal_role_radius\":{:.4},\"round_seed\":{},\"seed_policy\":\"fixed-per-round\",\"steering_applied\":true}}",
                    0.55 * (1.0 + self.rng.unit().abs()),
                    self.rng.next_u64() as u32
                ),
            });
        }
        let mut out = Vec::with_capacity(self.candidates + 5);
        out.push(Event::RoundRequested(RoundRequestedV1 {
            round_id,
            round_index,
            job_id: Some(Id(self.rng.uuid())),
        }));
        let winner = cands[self.rng.below(cands.len() as u64) as usize].clone();
        let ids: Vec<Id> = cands.iter().map(|c| c.candidate_id).collect();
        out.push(Event::CandidatesProposed(CandidatesProposedV1 {
            round_id,
            round_index,
            incumbent_z: self.z.clone(),
            trust_radius: 0.55,
            seed_policy: "fixed-per-round".into(),
            candidates: cands,
        }));
        for id in &ids {
            out.push(Event::CandidateRendered(CandidateRenderedV1 {
                round_id,
                candidate_id: *id,
                artifact_hash: format!(
                    "{:016x}{:016x}{:016x}{:016x}",
                    self.rng.next_u64(),
                    self.rng.next_u64(),
                    self.rng.next_u64(),
                    self.rng.next_u64()
                ),
                width: 512,
                height: 512,
                timings: vec![
                    TimingV1 {
                        name: "denoise".into(),
                        ms: 800.0 + 100.0 * self.rng.unit(),
                    },
                    TimingV1 {
                        name: "decode".into(),
                        ms: 40.0 + 5.0 * self.rng.unit(),
                    },
                ],
                device: "cuda:0".into(),
            }));
        }
        out.push(Event::RoundReady(RoundReadyV1 { round_id }));
        out.push(Event::FeedbackSubmitted(FeedbackSubmittedV2 {
            round_id,
            feedback_type: "scalar_rating".into(),
            raw_json: format!("{{\"ratings\":{{\"{}\":5}}}}", winner.candidate_id),
            normalized_json: format!("{{\"winner\":\"{}\"}}", winner.candidate_id),
            critique_text: Some("warmer light, keep the composition".into()),
            critique_tags: vec![CandidateTagsV1 {
                candidate_id: winner.candidate_id,
                tags: vec!["warm".into(), "composition".into()],
            }],
            dimension_ratings: vec![CandidateDimensionsV1 {
                candidate_id: winner.candidate_id,
                values: vec![
                    DimensionValueV1 {
                        dimension: "color".into(),
                        value: 4,
                    },
                    DimensionValueV1 {
                        dimension: "style".into(),
                        value: 5,
                    },
                ],
            }],
            dimension_priorities: vec![],
            negative_pins: vec![],
        }));
        let step: f64 = winner
            .z
            .iter()
            .zip(&self.z)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        self.z = winner
            .z
            .iter()
            .zip(&self.z)
            .map(|(a, b)| 0.5 * (a + b))
            .collect();
        out.push(Event::IncumbentUpdated(IncumbentUpdatedV1 {
            round_id,
            next_z: self.z.clone(),
            winner_candidate_id: Some(winner.candidate_id),
            converged: false,
            rounds_to_convergence: None,
            update_summary_json: format!("{{\"method\":\"average\",\"updater\":\"winner_average\",\"winner_candidate_id\":\"{}\"}}", winner.candidate_id),
            convergence_json: format!("{{\"converged\":false,\"latest_step\":{step:.6},\"reason\":\"not_converged\",\"rounds_completed\":{round_index}}}"),
        }));
        out
    }
}

/// The three milestones of a successful job.
pub fn job_events(job_id: Uuid, session_id: Option<Uuid>) -> [Event; 3] {
    [
        Event::JobQueued(JobQueuedV1 {
            job_id: Id(job_id),
            kind: "generate_round".into(),
            session_id: session_id.map(Id),
            settings_hash: "9f2c1e".into(),
            settings_json: "{\"candidate_count\":4}".into(),
        }),
        Event::JobStarted(JobStartedV1 { job_id: Id(job_id) }),
        Event::JobFinished(JobFinishedV1 {
            job_id: Id(job_id),
            result_json: "{\"ok\":true}".into(),
        }),
    ]
}

/// An `experiment.created` event.
pub fn experiment_created(experiment_id: Uuid) -> Event {
    Event::ExperimentCreated(ExperimentCreatedV1 {
        experiment_id: Id(experiment_id),
        name: "lighthouse study".into(),
        description: "benchmark experiment".into(),
        config_json: config_json(8, 4),
    })
}
