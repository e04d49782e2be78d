//! The hidden `stablesteering store torture-append --data-dir D` child used by the kill -9
//! test: opens the store (running recovery), then several producers append forever (or up to
//! `--max-events`) and print one line per acknowledged event, flushed:
//!
//! ```text
//! ready <head>
//! ack <seq> <event-id>
//! ```
//!
//! Producers write sessions with expected versions (one session stream each), job milestones
//! on the shared `jobs` stream with `Any`, and multi-event atomic appends, so a crash can hit
//! any of the writer's paths.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::store::backend::{AppendRequest, ExpectedVersion, NewEvent};
use crate::store::devtools::workload::{job_events, SessionScript};
use crate::store::error::StoreError;
use crate::store::ids::StreamId;
use crate::store::sled::open::StoreOptions;
use crate::store::sled::store::SledStore;

/// Run the child; returns the process exit code.
pub fn run_append_child(data_dir: &Path, producers: usize, max_events: Option<u64>) -> i32 {
    let store = match SledStore::open(data_dir, StoreOptions::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let out = Arc::new(Mutex::new(std::io::stdout()));
    {
        let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(o, "ready {}", store.head_seq());
        let _ = o.flush();
    }
    let budget = Arc::new(AtomicU64::new(max_events.unwrap_or(u64::MAX)));
    let handles: Vec<_> = (0..producers.max(1))
        .map(|p| {
            let store = store.clone();
            let out = out.clone();
            let budget = budget.clone();
            std::thread::spawn(move || producer(store, out, budget, p as u64))
        })
        .collect();
    let mut code = 0;
    for h in handles {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("producer failed: {e}");
                code = 1;
            }
            Err(_) => code = 1,
        }
    }
    store.close();
    code
}

fn producer(
    store: SledStore,
    out: Arc<Mutex<std::io::Stdout>>,
    budget: Arc<AtomicU64>,
    p: u64,
) -> Result<(), StoreError> {
    let seed = p ^ (crate::store::util::now_us() as u64);
    let mut script = SessionScript::new(Uuid::now_v7(), None, 4, 3, seed);
    let stream = StreamId::Session(script.session_id);
    let mut pending = vec![script.created()];
    let mut n = 0u64;
    loop {
        if budget
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| b.checked_sub(1))
            .is_err()
        {
            return Ok(());
        }
        n += 1;
        let req = if n.is_multiple_of(5) {
            let job = Uuid::now_v7();
            AppendRequest::single(
                StreamId::Jobs,
                ExpectedVersion::Any,
                job_events(job, Some(script.session_id))
                    .into_iter()
                    .map(NewEvent::new)
                    .collect(),
            )
        } else {
            if pending.is_empty() {
                pending = script.next_round();
                pending.reverse();
            }
            // Every third session append carries two events atomically.
            let take = if n.is_multiple_of(3) { 2 } else { 1 };
            let mut events = Vec::new();
            for _ in 0..take {
                if let Some(e) = pending.pop() {
                    events.push(NewEvent::new(e));
                }
            }
            let expected = ExpectedVersion::Exact(store.version_of(&stream));
            AppendRequest::single(stream, expected, events)
        };
        let ids: Vec<Uuid> = req
            .streams
            .iter()
            .flat_map(|s| s.events.iter().map(|e| e.event_id))
            .collect();
        let outcome = loop {
            match store.append_blocking(req.clone()) {
                Ok(o) => break o,
                Err(StoreError::Busy { .. }) => {
                    std::thread::sleep(std::time::Duration::from_millis(1))
                }
                Err(e) => return Err(e),
            }
        };
        let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
        for (i, id) in ids.iter().enumerate() {
            let _ = writeln!(o, "ack {} {id}", outcome.first_seq + i as u64);
        }
        let _ = o.flush();
    }
}
