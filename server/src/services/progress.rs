//! Live job progress: the reference's milestone text, denoising step i/N, candidate k/K, an ETA
//! and step previews. Progress ticks are not events (they would flood the log); they live here,
//! numbered per job so a Server-Sent-Events client that reconnects with `Last-Event-ID` gets
//! exactly the updates it missed (the last [`RING`] per job are kept).
//!
//! Memory is bounded and small: a running job keeps [`RING`] updates of a few hundred bytes, of
//! which only the newest [`PREVIEWS_KEPT`] carry their preview images; a finished job keeps its
//! last [`FINISHED_RING`] updates without previews; at most `prune`'s count of finished jobs
//! (2,000) are kept. (The first version kept every preview of the last 2,000 jobs.)

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;
use tokio::sync::broadcast;
use uuid::Uuid;

/// Updates kept per job for resuming clients.
pub const RING: usize = 512;
/// Updates of a running job that keep their preview images (older ones drop them).
pub const PREVIEWS_KEPT: usize = 4;
/// Updates kept once a job has ended (its clients need the end, not every step).
pub const FINISHED_RING: usize = 16;

/// One progress update (also the SSE `data`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgressUpdate {
    /// Per-job sequence number (the SSE id).
    pub seq: u64,
    /// The job.
    pub job_id: Uuid,
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    pub state: String,
    /// Milestone text.
    pub message: String,
    /// 0..=100.
    pub progress: u32,
    /// Engine phase (`denoising`, ...), when rendering.
    pub phase: Option<String>,
    /// Denoising steps done.
    pub step: usize,
    /// Denoising steps in all.
    pub total_steps: usize,
    /// Candidates decoded.
    pub candidate: usize,
    /// Candidates in all.
    pub total_candidates: usize,
    /// Estimated seconds left.
    pub eta_seconds: Option<f64>,
    /// Step previews, one `data:image/png;base64,…` per candidate (only on preview updates).
    pub previews: Vec<String>,
    /// Whether this is the last update of the job.
    pub terminal: bool,
    /// Result of a finished job.
    pub result: Option<serde_json::Value>,
    /// Failure reason.
    pub error: Option<String>,
}

struct JobLog {
    ring: VecDeque<ProgressUpdate>,
    next_seq: u64,
    started: Option<Instant>,
    first_step_at: Option<(Instant, usize)>,
}

/// All live progress, with a broadcast of every update.
pub struct ProgressHub {
    jobs: Mutex<HashMap<Uuid, JobLog>>,
    tx: broadcast::Sender<ProgressUpdate>,
}

impl Default for ProgressHub {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(1024);
        ProgressHub {
            jobs: Mutex::new(HashMap::new()),
            tx,
        }
    }
}

/// Fields of an update before it is numbered.
#[derive(Debug, Clone, Default)]
pub struct Tick {
    pub state: &'static str,
    pub message: String,
    pub progress: u32,
    pub phase: Option<String>,
    pub step: usize,
    pub total_steps: usize,
    pub candidate: usize,
    pub total_candidates: usize,
    pub previews: Vec<String>,
    pub terminal: bool,
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
}

impl ProgressHub {
    /// Receives every update of every job.
    pub fn subscribe(&self) -> broadcast::Receiver<ProgressUpdate> {
        self.tx.subscribe()
    }

    /// Records and broadcasts an update; returns it.
    pub fn publish(&self, job_id: Uuid, tick: Tick) -> ProgressUpdate {
        let update = {
            let Ok(mut jobs) = self.jobs.lock() else {
                return empty(job_id);
            };
            let log = jobs.entry(job_id).or_insert_with(|| JobLog {
                ring: VecDeque::new(),
                next_seq: 1,
                started: None,
                first_step_at: None,
            });
            if tick.state == "running" && log.started.is_none() {
                log.started = Some(Instant::now());
            }
            let eta_seconds = eta(log, &tick);
            let update = ProgressUpdate {
                seq: log.next_seq,
                job_id,
                state: tick.state.to_string(),
                message: tick.message,
                progress: tick.progress.min(100),
                phase: tick.phase,
                step: tick.step,
                total_steps: tick.total_steps,
                candidate: tick.candidate,
                total_candidates: tick.total_candidates,
                eta_seconds,
                previews: tick.previews,
                terminal: tick.terminal,
                result: tick.result,
                error: tick.error,
            };
            log.next_seq += 1;
            log.ring.push_back(update.clone());
            while log.ring.len() > RING {
                log.ring.pop_front();
            }
            bound_previews(log, update.terminal);
            update
        };
        let _ = self.tx.send(update.clone());
        update
    }

    /// The latest update of a job.
    pub fn latest(&self, job_id: Uuid) -> Option<ProgressUpdate> {
        let jobs = self.jobs.lock().ok()?;
        jobs.get(&job_id).and_then(|l| l.ring.back().cloned())
    }

    /// Updates after `seq` still kept (all kept ones when the gap is too old; the client then
    /// at least gets the newest state).
    pub fn since(&self, job_id: Uuid, seq: u64) -> Vec<ProgressUpdate> {
        let Ok(jobs) = self.jobs.lock() else {
            return Vec::new();
        };
        match jobs.get(&job_id) {
            Some(log) => log.ring.iter().filter(|u| u.seq > seq).cloned().collect(),
            None => Vec::new(),
        }
    }

    /// Forgets jobs finished long ago (keeps memory bounded).
    pub fn prune(&self, keep: usize) {
        if let Ok(mut jobs) = self.jobs.lock() {
            if jobs.len() <= keep {
                return;
            }
            let mut done: Vec<(Uuid, u64)> = jobs
                .iter()
                .filter(|(_, l)| l.ring.back().is_some_and(|u| u.terminal))
                .map(|(id, l)| (*id, l.next_seq))
                .collect();
            done.sort_by_key(|(id, _)| *id);
            let excess = jobs.len().saturating_sub(keep);
            for (id, _) in done.into_iter().take(excess) {
                jobs.remove(&id);
            }
        }
    }
}

/// Keeps only the newest [`PREVIEWS_KEPT`] previews of a running job, and none (and only
/// [`FINISHED_RING`] updates) of a finished one.
fn bound_previews(log: &mut JobLog, finished: bool) {
    if finished {
        while log.ring.len() > FINISHED_RING {
            log.ring.pop_front();
        }
        for update in &mut log.ring {
            update.previews = Vec::new();
        }
        return;
    }
    let mut kept = 0;
    for update in log.ring.iter_mut().rev() {
        if !update.previews.is_empty() {
            kept += 1;
            if kept > PREVIEWS_KEPT {
                update.previews = Vec::new();
            }
        }
    }
}

fn eta(log: &mut JobLog, tick: &Tick) -> Option<f64> {
    if tick.terminal {
        return Some(0.0);
    }
    if tick.total_steps == 0 || tick.step == 0 {
        return None;
    }
    let (t0, s0) = *log.first_step_at.get_or_insert((Instant::now(), tick.step));
    let done = tick.step.saturating_sub(s0);
    if done == 0 {
        return None;
    }
    let per_step = t0.elapsed().as_secs_f64() / done as f64;
    let left = tick.total_steps.saturating_sub(tick.step) as f64;
    // Decoding costs about one step per candidate on the models we measured.
    Some(per_step * (left + tick.total_candidates.saturating_sub(tick.candidate) as f64 * 0.5))
}

fn empty(job_id: Uuid) -> ProgressUpdate {
    ProgressUpdate {
        seq: 0,
        job_id,
        state: "unknown".into(),
        message: String::new(),
        progress: 0,
        phase: None,
        step: 0,
        total_steps: 0,
        candidate: 0,
        total_candidates: 0,
        eta_seconds: None,
        previews: Vec::new(),
        terminal: false,
        result: None,
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preview_tick(step: usize) -> Tick {
        Tick {
            state: "running",
            step,
            total_steps: 1000,
            previews: vec!["data:image/png;base64,AAAA".repeat(100)],
            ..Tick::default()
        }
    }

    fn kept_previews(hub: &ProgressHub, job: Uuid) -> usize {
        hub.since(job, 0)
            .iter()
            .filter(|u| !u.previews.is_empty())
            .count()
    }

    #[test]
    fn previews_are_bounded_while_running_and_dropped_at_the_end() {
        let hub = ProgressHub::default();
        let job = Uuid::now_v7();
        for step in 1..=1000 {
            hub.publish(job, preview_tick(step));
        }
        assert_eq!(hub.since(job, 0).len(), RING);
        assert_eq!(kept_previews(&hub, job), PREVIEWS_KEPT);
        // The newest preview is the one a client sees.
        assert!(!hub.latest(job).unwrap().previews.is_empty());
        hub.publish(
            job,
            Tick {
                state: "succeeded",
                terminal: true,
                ..Tick::default()
            },
        );
        assert_eq!(hub.since(job, 0).len(), FINISHED_RING);
        assert_eq!(kept_previews(&hub, job), 0);
        assert!(hub.latest(job).unwrap().terminal);
    }
}
