//! Helpers shared by the integration tests: deterministic samples of every event type, store
//! population covering the whole catalogue, and small utilities.
#![allow(dead_code)]

use std::path::Path;

use stablesteering::store::devtools::workload;
use stablesteering::store::devtools::workload::{job_events, SessionScript};
use stablesteering::store::events::v1::*;
use stablesteering::store::events::v2::FeedbackSubmittedV2;
use stablesteering::store::*;
use uuid::Uuid;

pub fn u(n: u128) -> Id {
    Id(Uuid::from_u128(n))
}

pub fn cand(n: u128) -> CandidateV1 {
    CandidateV1 {
        candidate_id: u(0xC000 + n),
        index: n as u32,
        z: vec![0.25, -1.5, 3.0e-7, n as f64],
        role: "explore".into(),
        seed: 4_000_000_000,
        seed_group: 2,
        generation_json: "{\"guidance_scale\":7.5,\"seed_policy\":\"fixed\"}".into(),
    }
}

pub fn feedback_v1() -> FeedbackSubmittedV1 {
    FeedbackSubmittedV1 {
        round_id: u(0xB001),
        feedback_type: "scalar_rating".into(),
        raw_json: "{\"ratings\":{\"a\":5}}".into(),
        normalized_json: "{\"winner\":\"a\"}".into(),
        critique_text: Some("more contrast, ünïcödé ✓".into()),
        critique_tags: vec![CandidateTagsV1 {
            candidate_id: u(0xC001),
            tags: vec!["contrast".into(), "warm".into()],
        }],
        dimension_ratings: vec![CandidateDimensionsV1 {
            candidate_id: u(0xC001),
            values: vec![DimensionValueV1 {
                dimension: "color".into(),
                value: -3,
            }],
        }],
        dimension_priorities: vec![CandidateDimensionsV1 {
            candidate_id: u(0xC002),
            values: vec![DimensionValueV1 {
                dimension: "style".into(),
                value: 2,
            }],
        }],
    }
}

/// One deterministic sample of every event type (current schema versions).
pub fn sample_events() -> Vec<(StreamId, Event)> {
    let session = StreamId::Session(Uuid::from_u128(0x5E55));
    let f1 = feedback_v1();
    vec![
        (
            StreamId::Experiment(Uuid::from_u128(0xE1)),
            Event::ExperimentCreated(ExperimentCreatedV1 {
                experiment_id: u(0xE1),
                name: "study".into(),
                description: "golden".into(),
                config_json: "{\"a\":1}".into(),
            }),
        ),
        (
            session,
            Event::SessionCreated(SessionCreatedV1 {
                session_id: u(0x5E55),
                experiment_id: Some(u(0xE1)),
                prompt: "a cat".into(),
                negative_prompt: "".into(),
                config_json: "{\"candidate_count\":4}".into(),
                model_ref: "sd-turbo".into(),
                parent: Some(ForkOriginV1 {
                    parent_session_id: u(0x9A),
                    parent_round: 3,
                    parent_version: 40,
                    current_round: 3,
                    current_z: vec![0.5, -0.5],
                    incumbent: Some(cand(1)),
                    incumbent_artifact_hash: Some("ab12".into()),
                    converged: true,
                    rounds_to_convergence: Some(3),
                    trajectory: vec![TrajectoryPointV1 {
                        round_index: 1,
                        z: vec![0.1],
                        winner_candidate_id: None,
                    }],
                }),
            }),
        ),
        (
            session,
            Event::SessionForked(SessionForkedV1 {
                child_session_id: u(0xC41D),
                round: 2,
                parent_version: 17,
            }),
        ),
        (
            session,
            Event::CalibrationGenerated(CalibrationGeneratedV1 {
                round_id: u(0xB000),
                candidates: vec![cand(1), cand(2)],
            }),
        ),
        (
            session,
            Event::CalibrationSubmitted(CalibrationSubmittedV1 {
                round_id: u(0xB000),
                selected_candidate_ids: vec![u(0xC001)],
                resulting_z: vec![1.0, f64::MIN_POSITIVE],
            }),
        ),
        (
            session,
            Event::RoundRequested(RoundRequestedV1 {
                round_id: u(0xB001),
                round_index: 1,
                job_id: Some(u(0x10B)),
            }),
        ),
        (
            session,
            Event::CandidatesProposed(CandidatesProposedV1 {
                round_id: u(0xB001),
                round_index: 1,
                incumbent_z: vec![0.0, 0.0],
                trust_radius: 0.55,
                seed_policy: "fixed-per-round".into(),
                candidates: vec![cand(1), cand(2), cand(3)],
            }),
        ),
        (
            session,
            Event::CandidateRendered(CandidateRenderedV1 {
                round_id: u(0xB001),
                candidate_id: u(0xC001),
                artifact_hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                    .into(),
                width: 512,
                height: 768,
                timings: vec![TimingV1 {
                    name: "denoise".into(),
                    ms: 812.25,
                }],
                device: "cuda:0".into(),
            }),
        ),
        (
            session,
            Event::RoundReady(RoundReadyV1 {
                round_id: u(0xB001),
            }),
        ),
        (
            session,
            Event::RoundFailed(RoundFailedV1 {
                round_id: u(0xB002),
                reason: "CUDA out of memory".into(),
            }),
        ),
        (
            session,
            Event::FeedbackSubmitted(FeedbackSubmittedV2 {
                round_id: f1.round_id,
                feedback_type: f1.feedback_type,
                raw_json: f1.raw_json,
                normalized_json: f1.normalized_json,
                critique_text: f1.critique_text,
                critique_tags: f1.critique_tags,
                dimension_ratings: f1.dimension_ratings,
                dimension_priorities: f1.dimension_priorities,
                negative_pins: vec![CandidateTagsV1 {
                    candidate_id: u(0xC003),
                    tags: vec!["text".into()],
                }],
            }),
        ),
        (
            session,
            Event::IncumbentUpdated(IncumbentUpdatedV1 {
                round_id: u(0xB001),
                next_z: vec![0.125, -0.25],
                winner_candidate_id: Some(u(0xC001)),
                converged: false,
                rounds_to_convergence: None,
                update_summary_json: "{\"updater\":\"winner_average\"}".into(),
                convergence_json: "{\"converged\":false}".into(),
            }),
        ),
        (
            session,
            Event::SessionDeleted(SessionDeletedV1 {
                reason: "user request".into(),
            }),
        ),
        (
            StreamId::Jobs,
            Event::JobQueued(JobQueuedV1 {
                job_id: u(0x10B),
                kind: "generate_round".into(),
                session_id: Some(u(0x5E55)),
                settings_hash: "deadbeef".into(),
                settings_json: "{}".into(),
            }),
        ),
        (
            StreamId::Jobs,
            Event::JobStarted(JobStartedV1 { job_id: u(0x10B) }),
        ),
        (
            StreamId::Jobs,
            Event::JobFinished(JobFinishedV1 {
                job_id: u(0x10B),
                result_json: "{\"round\":1}".into(),
            }),
        ),
        (
            StreamId::Jobs,
            Event::JobFailed(JobFailedV1 {
                job_id: u(0x10C),
                reason: "boom".into(),
            }),
        ),
        (
            StreamId::Jobs,
            Event::JobCancelled(JobCancelledV1 {
                job_id: u(0x10D),
                reason: "user".into(),
            }),
        ),
        (
            session,
            Event::BasisComputed(BasisComputedV1 {
                recipe_hash: "ab".repeat(32),
                recipe_json: r#"{"kind":"semantic","dimension":2}"#.into(),
                summary_json: r#"{"labels":["vivid colors","dark"],"scale":1.5}"#.into(),
                device: "cpu".into(),
            }),
        ),
        (
            session,
            Event::SeedRenewed(SeedRenewedV1 {
                epoch: 1,
                seed: 123_456_789,
                after_round: 4,
            }),
        ),
        (
            StreamId::Requests,
            Event::RequestCompleted(RequestCompletedV1 {
                key: "retry-1".into(),
                method: "POST".into(),
                path: "/setup/session".into(),
                status: 200,
                body_json: r#"{"session":{"id":"x"}}"#.into(),
            }),
        ),
        (
            StreamId::Generations,
            Event::A1111OptionsSet(A1111OptionsSetV1 {
                options_json: r#"{"CLIP_stop_at_last_layers":2,"samples_format":"png"}"#.into(),
            }),
        ),
        (
            session,
            Event::EventRedacted(EventRedactedV1 {
                original_type: 11,
                purged_session: Id(Uuid::from_u128(0x5E55)),
            }),
        ),
        (
            session,
            Event::SessionPurged(SessionPurgedV1 {
                events_redacted: 12,
                artifacts_removed: 4,
                bytes_removed: 40_960,
            }),
        ),
        (
            StreamId::Access,
            Event::TokenCreated(TokenCreatedV1 {
                token_id: Id(Uuid::from_u128(0x70CE)),
                user: "alice".into(),
                admin: false,
                label: "lab laptop".into(),
                secret_hash: "5e".repeat(32),
            }),
        ),
        (
            StreamId::Access,
            Event::TokenRevoked(TokenRevokedV1 {
                token_id: Id(Uuid::from_u128(0x70CE)),
            }),
        ),
        (
            session,
            Event::SessionOwned(SessionOwnedV1 {
                user: "alice".into(),
            }),
        ),
        (
            StreamId::Access,
            Event::PasswordSet(PasswordSetV1 {
                user: "alice".into(),
                admin: true,
                password_phc: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA".into(),
            }),
        ),
    ]
}

/// Sample envelopes with fixed positions and timestamps.
pub fn sample_envelopes() -> Vec<Envelope> {
    sample_events()
        .into_iter()
        .enumerate()
        .map(|(i, (stream, event))| Envelope {
            event_id: Uuid::from_u128(0xEE00 + i as u128),
            stream,
            stream_version: 1 + i as u64,
            seq: 100 + i as u64,
            recorded_at_us: 1_735_689_600_000_000 + i as i64,
            schema_version: event.event_type().current_version(),
            event,
        })
        .collect()
}

pub fn options() -> StoreOptions {
    StoreOptions {
        manifest_interval: std::time::Duration::ZERO,
        ..StoreOptions::default()
    }
}

pub fn open(dir: &Path) -> SledStore {
    SledStore::open(dir, options()).expect("open store")
}

pub fn append(store: &SledStore, stream: StreamId, events: Vec<Event>) -> AppendOutcome {
    store
        .append_blocking(AppendRequest::single(
            stream,
            ExpectedVersion::Any,
            events.into_iter().map(NewEvent::new).collect(),
        ))
        .expect("append")
}

/// What `populate` created.
pub struct Populated {
    pub experiment: Uuid,
    pub sessions: Vec<Uuid>,
    pub forked: Uuid,
}

/// Fill a store with every kind of event: an experiment, sessions with calibration, full
/// rounds, a failed round, jobs, a generation, a fork and a deleted session.
pub fn populate(store: &SledStore, sessions: usize, rounds: u32) -> Populated {
    let experiment = Uuid::now_v7();
    append(
        store,
        StreamId::Experiment(experiment),
        vec![workload::experiment_created(experiment)],
    );
    let mut ids = Vec::new();
    for i in 0..sessions {
        let sid = Uuid::now_v7();
        let mut script = SessionScript::new(sid, Some(experiment), 4, 3, i as u64 + 1);
        let stream = StreamId::Session(sid);
        append(store, stream, vec![script.created()]);
        let cal_round = Id(Uuid::now_v7());
        append(
            store,
            stream,
            vec![
                Event::CalibrationGenerated(CalibrationGeneratedV1 {
                    round_id: cal_round,
                    candidates: vec![cand(1), cand(2)],
                }),
                Event::CalibrationSubmitted(CalibrationSubmittedV1 {
                    round_id: cal_round,
                    selected_candidate_ids: vec![u(0xC001)],
                    resulting_z: vec![0.1, 0.2, 0.3, 0.4],
                }),
            ],
        );
        script.z = vec![0.1, 0.2, 0.3, 0.4];
        for r in 0..rounds {
            let job = Uuid::now_v7();
            append(store, StreamId::Jobs, job_events(job, Some(sid)).to_vec());
            let events = script.next_round();
            if r == 1 && i == 0 {
                // A failed attempt before the real round 2.
                let failed = Id(Uuid::now_v7());
                append(
                    store,
                    stream,
                    vec![
                        Event::RoundRequested(RoundRequestedV1 {
                            round_id: failed,
                            round_index: 2,
                            job_id: None,
                        }),
                        Event::RoundFailed(RoundFailedV1 {
                            round_id: failed,
                            reason: "render failed".into(),
                        }),
                    ],
                );
            }
            for chunk in events.chunks(3) {
                append(store, stream, chunk.to_vec());
            }
        }
        ids.push(sid);
    }
    append(
        store,
        StreamId::Generations,
        vec![Event::CandidateRendered(CandidateRenderedV1 {
            round_id: u(1),
            candidate_id: u(2),
            artifact_hash: "ff00".into(),
            width: 64,
            height: 64,
            timings: vec![],
            device: "cpu".into(),
        })],
    );
    let jq = Uuid::now_v7();
    append(
        store,
        StreamId::Jobs,
        vec![
            job_events(jq, None)[0].clone(),
            Event::JobFailed(JobFailedV1 {
                job_id: Id(jq),
                reason: "x".into(),
            }),
        ],
    );
    let jc = Uuid::now_v7();
    append(
        store,
        StreamId::Jobs,
        vec![
            job_events(jc, None)[0].clone(),
            Event::JobCancelled(JobCancelledV1 {
                job_id: Id(jc),
                reason: "y".into(),
            }),
        ],
    );
    let fork = store
        .fork_session(ForkRequest::new(ids[0], 1.min(rounds)))
        .expect("fork");
    if ids.len() > 1 {
        append(
            store,
            StreamId::Session(ids[ids.len() - 1]),
            vec![Event::SessionDeleted(SessionDeletedV1 {
                reason: "test".into(),
            })],
        );
    }
    Populated {
        experiment,
        sessions: ids,
        forked: fork.child_session_id,
    }
}

/// Recursively copy a directory.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

/// Every durable record of a store as decoded envelopes.
pub fn all_events(store: &SledStore) -> Vec<Envelope> {
    store.log_events(0, usize::MAX).unwrap()
}
