//! Projections: rebuilding from seq 1 equals the live state (hashes), start-up rebuild equals
//! the state before shutdown, time travel (end of round / before feedback / version), forks
//! with lineage in both sessions, and the list/experiment/job read models.

use stablesteering::store::devtools::workload;
use stablesteering::store::projections::{JobState, RoundStatus, SessionStatus};
use stablesteering::store::*;
use uuid::Uuid;

#[test]
fn rebuild_from_seq_1_equals_live_state() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::common::open(tmp.path());
    crate::common::populate(&store, 5, 6);
    let live = store.projections_snapshot();
    assert_eq!(
        live.anomalies, 0,
        "the sample workload should fit the read models"
    );
    let rebuilt = store.rebuild_projections().unwrap();
    assert_eq!(rebuilt.fingerprint(), live.fingerprint());
    assert_eq!(rebuilt, live);
    store.close();
    let store = crate::common::open(tmp.path());
    assert_eq!(
        store.projections_snapshot().fingerprint(),
        live.fingerprint(),
        "start-up rebuild differs"
    );
}

#[test]
fn time_travel_end_of_round_and_before_feedback() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::common::open(tmp.path());
    let p = crate::common::populate(&store, 3, 6);
    let sid = p.sessions[1];
    let live = store.session(sid).unwrap();
    let real_rounds: Vec<_> = live.rounds.iter().filter(|r| !r.calibration).collect();
    assert_eq!(real_rounds.len(), 6);
    for r in 1..=6u32 {
        let end = store.session_at(sid, AsOf::EndOfRound(r)).unwrap();
        assert_eq!(end.current_round, r);
        assert!(end.rounds.iter().all(|x| x.index <= r));
        let round = end.round(r).unwrap();
        assert_eq!(round.status, RoundStatus::Completed);
        let update = round.update.as_ref().unwrap();
        assert_eq!(end.current_z, update.update.next_z);
        assert_eq!(end.trajectory.len(), r as usize);
        assert_eq!(end.status, SessionStatus::Ready);

        let before = store.session_at(sid, AsOf::BeforeFeedback(r)).unwrap();
        let round = before.round(r).unwrap();
        assert!(round.feedback.is_none() && round.update.is_none());
        assert_eq!(round.status, RoundStatus::AwaitingFeedback);
        assert!(round.candidates.iter().all(|c| c.render.is_some()));
        assert_eq!(before.status, SessionStatus::AwaitingFeedback);
        assert_eq!(
            before.current_z, round.incumbent_z,
            "before feedback, z is the round's incumbent"
        );
        assert_eq!(before.trajectory.len(), r as usize - 1);

        // Cached and uncached replays agree.
        assert_eq!(
            store.session_at_uncached(sid, AsOf::EndOfRound(r)).unwrap(),
            end
        );
    }
    assert_eq!(store.session_at(sid, AsOf::EndOfRound(6)).unwrap(), live);
    assert_eq!(store.session_at(sid, AsOf::Latest).unwrap(), live);
    // Calibration is round 0.
    let cal = store.session_at(sid, AsOf::BeforeFeedback(0)).unwrap();
    assert!(cal.round(0).unwrap().calibration && cal.current_z.is_empty());
    assert_eq!(
        store
            .session_at(sid, AsOf::EndOfRound(0))
            .unwrap()
            .current_z,
        vec![0.1, 0.2, 0.3, 0.4]
    );
    // Version-based replay matches the prefix.
    let v5 = store.session_at(sid, AsOf::Version(5)).unwrap();
    assert_eq!(v5.version, 5);
    assert!(matches!(
        store.session_at(sid, AsOf::EndOfRound(99)),
        Err(StoreError::RoundNotFound { round: 99, .. })
    ));
    assert!(matches!(
        store.session_at(Uuid::now_v7(), AsOf::Latest),
        Err(StoreError::UnknownSession(_))
    ));
    // A failed attempt is part of the history of session 0.
    let s0 = store.session(p.sessions[0]).unwrap();
    assert!(s0
        .rounds
        .iter()
        .any(|r| matches!(r.status, RoundStatus::Failed(_))));
}

#[test]
fn fork_starts_from_the_parent_state_with_lineage_in_both() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::common::open(tmp.path());
    let p = crate::common::populate(&store, 1, 5);
    let parent = p.sessions[0];
    let at3 = store.session_at(parent, AsOf::EndOfRound(3)).unwrap();
    let req = ForkRequest::new(parent, 3);
    let out = store.fork_session(req.clone()).unwrap();
    let child = store.session(out.child_session_id).unwrap();
    let lineage = child.lineage.parent.clone().unwrap();
    assert_eq!(
        (lineage.session_id, lineage.round, lineage.parent_version),
        (parent, 3, at3.version)
    );
    assert_eq!(child.current_z, at3.current_z);
    assert_eq!(child.current_round, 3);
    assert_eq!(child.trajectory, at3.trajectory);
    assert_eq!(child.incumbent_candidate_id, at3.incumbent_candidate_id);
    assert_eq!(
        child.inherited_incumbent.as_ref().map(|c| c.candidate_id.0),
        at3.incumbent_candidate_id
    );
    assert_eq!(
        (child.prompt.clone(), child.config_json.clone()),
        (at3.prompt.clone(), at3.config_json.clone())
    );
    let parent_now = store.session(parent).unwrap();
    assert!(parent_now
        .lineage
        .children
        .iter()
        .any(|c| c.session_id == out.child_session_id && c.round == 3));
    // Idempotent retry.
    let again = store.fork_session(req).unwrap();
    assert!(again.append.is_none());
    assert_eq!(again.parent_version, out.parent_version);
    // The child evolves independently.
    let mut script = workload::SessionScript::new(out.child_session_id, None, 4, 3, 9);
    script.round = 3;
    script.z = child.current_z.clone();
    let before_parent = store.session(parent).unwrap();
    crate::common::append(
        &store,
        StreamId::Session(out.child_session_id),
        script.next_round(),
    );
    let child = store.session(out.child_session_id).unwrap();
    assert_eq!(child.current_round, 4);
    assert_eq!(child.trajectory.len(), at3.trajectory.len() + 1);
    assert_eq!(store.session(parent).unwrap(), before_parent);
    // Time travel on the child: the fork round is its starting state.
    let start = store
        .session_at(out.child_session_id, AsOf::EndOfRound(3))
        .unwrap();
    assert_eq!(start.current_z, at3.current_z);
    assert!(start.rounds.is_empty());
    // Forking a missing round is a typed error.
    assert!(matches!(
        store.fork_session(ForkRequest::new(parent, 42)),
        Err(StoreError::RoundNotFound { .. })
    ));
    assert_eq!(
        store.rebuild_projections().unwrap(),
        store.projections_snapshot()
    );
}

#[test]
fn lists_experiments_jobs_and_generations() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::common::open(tmp.path());
    let p = crate::common::populate(&store, 3, 2);
    let visible = store.sessions(false);
    let all = store.sessions(true);
    assert_eq!(all.len(), 4, "3 sessions + 1 fork");
    assert_eq!(visible.len(), 3, "the deleted session is hidden");
    assert!(visible
        .windows(2)
        .all(|w| w[0].updated_at_us >= w[1].updated_at_us));
    assert!(all
        .iter()
        .any(|s| s.session_id == p.forked && s.parent.is_some()));
    store.with_projections(|pr| {
        let x = &pr.experiments[&p.experiment];
        assert_eq!(x.session_ids.len(), 4);
        let states: Vec<JobState> = pr.jobs.values().map(|j| j.state).collect();
        assert!(states.contains(&JobState::Succeeded));
        assert!(states.contains(&JobState::Failed));
        assert!(states.contains(&JobState::Cancelled));
        assert_eq!(pr.generations.renders, 1);
        assert_eq!(pr.anomalies, 0);
    });
}

#[test]
fn subscription_resumes_across_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::common::open(tmp.path());
    crate::common::populate(&store, 1, 2);
    let mut sub = store.subscribe_after(0);
    let first = sub
        .next_blocking(10, std::time::Duration::from_secs(5))
        .unwrap();
    assert_eq!(
        first.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    let pos = sub.position_seq();
    drop(sub);
    store.close();
    let store = crate::common::open(tmp.path());
    crate::common::populate(&store, 1, 1);
    let mut sub = store.subscribe_after(pos);
    let mut got = Vec::new();
    while (got.len() as u64) < store.head_seq() - pos {
        got.extend(
            sub.next_blocking(64, std::time::Duration::from_secs(5))
                .unwrap()
                .into_iter()
                .map(|e| e.seq),
        );
    }
    assert_eq!(got, (pos + 1..=store.head_seq()).collect::<Vec<_>>());
}
