//! Images for the A1111-compatible API: a sealed snapshot queued as a `txt2img` / `img2img` job,
//! rendered by the runner, and recorded on the `generations` stream so every such image is in
//! the history and the exports like the steering rounds.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;

use super::jobs::{append_to, Completion, Failure, JobKind, NewJob};
use super::{ServiceResult, Services};
use crate::runner::{RunError, Snapshot};
use crate::store::events::{A1111OptionsSet, CandidateRendered};
use crate::store::projections::jobs::JobView;
use crate::store::{AppendRequest, Event, Id, StreamId};

impl Services {
    /// Queues a generation (`kind` is `Txt2img` or `Img2img`); returns the job id.
    pub async fn queue_generation(
        self: &Arc<Self>,
        kind: JobKind,
        snapshot: &Snapshot,
    ) -> ServiceResult<Uuid> {
        self.check_snapshot(snapshot)?;
        self.enqueue(
            NewJob::for_snapshot(Uuid::now_v7(), kind, None, snapshot),
            Vec::new(),
        )
        .await
    }

    pub(crate) async fn execute_generation(
        self: &Arc<Self>,
        job: &JobView,
        cancel: &Arc<AtomicBool>,
    ) -> Result<Completion, Failure> {
        let snapshot = Snapshot::from_stored(&job.settings_json, &job.settings_hash)
            .map_err(|e| Failure::new(e.to_string()))?;
        let output = self
            .render_job(job.job_id, snapshot.clone(), cancel)
            .await
            .map_err(|e| Failure {
                cancelled: matches!(e, RunError::Cancelled { .. }),
                reason: e.to_string(),
                extra: Vec::new(),
            })?;
        let timings = output.event_timings();
        let events: Vec<Event> = output
            .images
            .iter()
            .map(|image| {
                Event::CandidateRendered(CandidateRendered {
                    round_id: Id(job.job_id),
                    candidate_id: Id::new_v7(),
                    artifact_hash: image.artifact_hash.clone(),
                    width: image.width,
                    height: image.height,
                    timings: timings.clone(),
                    device: output.device.clone(),
                })
            })
            .collect();
        let seeds: Vec<u64> = snapshot
            .settings()
            .candidates
            .iter()
            .map(|c| c.seed)
            .collect();
        Ok(Completion {
            result: json!({
                "artifact_hashes": output.images.iter().map(|i| i.artifact_hash.clone()).collect::<Vec<_>>(),
                "seeds": seeds,
                "settings_hash": snapshot.hash(),
                "timings": output.timings.iter().map(|(n, ms)| json!({"name": n, "ms": ms})).collect::<Vec<_>>(),
            }),
            extra: vec![append_to(StreamId::Generations, events)],
        })
    }

    /// Records options posted to `/sdapi/v1/options` (already checked by the route) as an
    /// `a1111.options_set` event on the generations stream.
    pub async fn record_a1111_options(
        &self,
        options: serde_json::Map<String, serde_json::Value>,
    ) -> ServiceResult<()> {
        let event = Event::A1111OptionsSet(A1111OptionsSet {
            options_json: serde_json::Value::Object(options).to_string(),
        });
        self.store
            .append_async(AppendRequest {
                streams: vec![append_to(StreamId::Generations, vec![event])],
            })
            .await?;
        Ok(())
    }
}
