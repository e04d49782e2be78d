//! Which image artifacts the log references, so `store verify` can check that every one is
//! present and intact, and a backup can carry exactly those.
//!
//! An event references an artifact when it records a render (`candidate.rendered`) or queues
//! an img2img job whose sealed settings name an init image (`job.queued`). Artifacts nothing
//! references are garbage: they are neither checked nor backed up.

use std::collections::BTreeMap;

use crate::store::events::Event;

/// Referenced artifact hashes, each with the first seq that references it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArtifactRefs(pub BTreeMap<String, u64>);

impl ArtifactRefs {
    /// Records the artifacts `event` (at `seq`) references.
    pub fn note(&mut self, seq: u64, event: &Event) {
        for hash in referenced_by(event) {
            self.0.entry(hash).or_insert(seq);
        }
    }

    /// How many distinct artifacts are referenced.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The artifact hashes one event references.
pub fn referenced_by(event: &Event) -> Vec<String> {
    match event {
        Event::CandidateRendered(rendered) => vec![rendered.artifact_hash.clone()],
        Event::JobQueued(queued) => init_image_of(&queued.settings_json).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// The init image a stored settings snapshot names (`init_image.artifact_hash`). Read as plain
/// JSON: the store does not depend on the runner's snapshot type.
fn init_image_of(settings_json: &str) -> Option<String> {
    if !settings_json.contains("\"init_image\"") {
        return None;
    }
    let settings: serde_json::Value = serde_json::from_str(settings_json).ok()?;
    settings
        .get("init_image")?
        .get("artifact_hash")?
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::events::{CandidateRendered, JobQueued};
    use crate::store::ids::Id;

    #[test]
    fn renders_and_init_images_are_references() {
        let rendered = Event::CandidateRendered(CandidateRendered {
            round_id: Id(uuid::Uuid::now_v7()),
            candidate_id: Id(uuid::Uuid::now_v7()),
            artifact_hash: "a".repeat(64),
            width: 64,
            height: 64,
            timings: Vec::new(),
            device: "cpu".into(),
        });
        let queued = |settings: &str| {
            Event::JobQueued(JobQueued {
                job_id: Id(uuid::Uuid::now_v7()),
                kind: "img2img".into(),
                session_id: None,
                settings_hash: String::new(),
                settings_json: settings.into(),
            })
        };
        let mut refs = ArtifactRefs::default();
        refs.note(3, &rendered);
        refs.note(5, &rendered);
        let init = format!(
            "{{\"init_image\":{{\"artifact_hash\":\"{}\",\"strength\":0.5}}}}",
            "b".repeat(64)
        );
        refs.note(7, &queued(&init));
        refs.note(8, &queued("{\"init_image\":null}"));
        refs.note(9, &queued("{\"prompt\":\"x\"}"));
        assert_eq!(refs.len(), 2);
        assert_eq!(refs.0.get(&"a".repeat(64)), Some(&3));
        assert_eq!(refs.0.get(&"b".repeat(64)), Some(&7));
    }
}
