//! `DELETE /sessions/{id}?purge=true` and `stablesteering store purge`: a deleted session's
//! data removed for real, not only hidden. The log's records that carry it are overwritten
//! with placeholders (`store/purge.rs`), then the images only it referenced and its trace files
//! are deleted, and a `session.purged` event records what was removed.

use std::path::Path;
use std::sync::Arc;

use uuid::Uuid;

use super::{ServiceError, ServiceResult, Services};
use crate::artifacts::ArtifactBackend;
use crate::store::events::SessionPurged;
use crate::store::purge::redact_session;
use crate::store::{
    AppendRequest, Event, ExpectedVersion, LogStore, NewEvent, StreamAppend, StreamId,
};

/// What a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PurgeReport {
    /// Log records overwritten with placeholders.
    pub events_redacted: u64,
    /// Image files deleted.
    pub artifacts_removed: u64,
    /// Their bytes.
    pub bytes_removed: u64,
}

impl Services {
    /// Deletes `session_id` if it is not deleted yet, then purges it.
    pub async fn purge_session(self: &Arc<Self>, session_id: Uuid) -> ServiceResult<PurgeReport> {
        let known = self
            .store
            .session(session_id)
            .filter(|d| super::principal::may_see(d.owner.as_deref()));
        match known {
            None => return Err(ServiceError::not_found("session", session_id)),
            Some(d) if !d.deleted => self.delete_session(session_id).await?,
            Some(_) => {}
        }
        let store = self.store.clone();
        let artifacts = Arc::clone(self.runner.artifacts());
        let data_dir = store.data_dir().to_path_buf();
        tokio::task::spawn_blocking(move || {
            purge_blocking(&store, artifacts.as_ref(), &data_dir, session_id)
        })
        .await
        .map_err(|e| ServiceError::internal(format!("purge task failed: {e}")))?
    }
}

/// The whole purge on a blocking thread (also what the offline `store purge` runs).
pub fn purge_blocking(
    store: &LogStore,
    artifacts: &dyn ArtifactBackend,
    data_dir: &Path,
    session_id: Uuid,
) -> ServiceResult<PurgeReport> {
    let redaction = redact_session(store.require_sled("purging a session")?, session_id)?;
    // Files after the log: a crash in between leaves unreferenced files, which `store gc` and
    // the start-up collection remove; never a log that names a missing image.
    let mut report = PurgeReport {
        events_redacted: redaction.events_redacted,
        ..PurgeReport::default()
    };
    for hash in &redaction.orphaned_artifacts {
        if let Ok(Some(bytes)) = artifacts.remove(hash) {
            report.artifacts_removed += 1;
            report.bytes_removed += bytes;
        }
    }
    crate::traces::frontend::forget_session(data_dir, session_id)
        .map_err(|e| ServiceError::internal(format!("cannot remove the session's traces: {e}")))?;
    let purged = Event::SessionPurged(SessionPurged {
        events_redacted: report.events_redacted,
        artifacts_removed: report.artifacts_removed,
        bytes_removed: report.bytes_removed,
    });
    store.append_blocking(AppendRequest {
        streams: vec![StreamAppend {
            stream: StreamId::Session(session_id),
            expected: ExpectedVersion::Any,
            events: vec![NewEvent::new(purged)],
        }],
    })?;
    Ok(report)
}
