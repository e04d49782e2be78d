//! The demo model, embedded in the binary so that a copied release binary runs anywhere.
//!
//! `build.rs` embeds every file of `engine/models/<DEMO_MODEL_NAME>/` (a diffusers folder).
//! [`materialize`] writes them back into a content-addressed cache folder,
//! `<cache>/stablesteering/models/<name>-<hash>/<name>/` (`<cache>` is `$XDG_CACHE_HOME`, else
//! `$HOME/.cache`, else the system temp dir), and answers that folder, which is then loaded like
//! any other model folder. The folder keeps the model's own name as its last component, since
//! the model's name is the folder's name.
//!
//! The cache entry is built under a temporary sibling name and renamed into place only when
//! every file is written and synced, so it is never seen half-written; an entry that exists is
//! reused only if every file matches the embedded bytes (a damaged one is replaced the same
//! way). Two processes racing to create it both succeed: the loser of the rename finds the
//! winner's complete entry and removes its own copy.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::EngineError;

include!(concat!(env!("OUT_DIR"), "/demo_model_files.rs"));

/// The demo model's folder name under `engine/models/` (set in `engine/build.rs`), which is
/// also the loaded model's name.
pub const DEMO_MODEL_NAME: &str = env!("STABLESTEERING_DEMO_MODEL_NAME");

/// Temporary siblings older than this are left-overs of a killed process and are removed.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The embedded files: path relative to the model folder (`/`-separated) and bytes.
pub fn files() -> &'static [(&'static str, &'static [u8])] {
    DEMO_MODEL_FILES
}

/// `<name>-<hash of the contents>`: the cache entry holding this build's demo model.
pub fn cache_entry_name() -> String {
    format!("{DEMO_MODEL_NAME}-{DEMO_MODEL_HASH}")
}

/// Where the demo model is unpacked, in order of preference: `$XDG_CACHE_HOME`,
/// `$HOME/.cache`, the system temp dir (each followed by `stablesteering/models`).
pub fn cache_dirs() -> Vec<PathBuf> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let mut roots = Vec::new();
    roots.extend(absolute("XDG_CACHE_HOME"));
    roots.extend(absolute("HOME").map(|home| home.join(".cache")));
    roots.push(std::env::temp_dir());
    roots
        .into_iter()
        .map(|root| root.join("stablesteering").join("models"))
        .collect()
}

/// Writes the embedded demo model into the first usable cache dir (see [`cache_dirs`]) unless
/// an intact copy is there already, and answers its model folder.
pub fn materialize() -> Result<PathBuf, EngineError> {
    let mut first_error = None;
    for dir in cache_dirs() {
        match materialize_in(&dir) {
            Ok(model) => return Ok(model),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot unpack the demo model here");
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.expect("there is always the temp dir"))
}

/// [`materialize`] into `models_dir`: answers `models_dir/<name>-<hash>/<name>`.
pub fn materialize_in(models_dir: &Path) -> Result<PathBuf, EngineError> {
    let entry = models_dir.join(cache_entry_name());
    let model = entry.join(DEMO_MODEL_NAME);
    if is_intact(&model) {
        return Ok(model);
    }
    let fail = |path: &Path, e: std::io::Error| {
        EngineError::io(path, format!("cannot unpack the bundled demo model: {e}"))
    };
    std::fs::create_dir_all(models_dir).map_err(|e| fail(models_dir, e))?;
    remove_stale_siblings(models_dir);
    let staging = models_dir.join(sibling_name("tmp"));
    if let Err(e) = write_files(&staging.join(DEMO_MODEL_NAME)) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(fail(&staging, e));
    }
    tracing::info!(dir = %model.display(), "unpacking the bundled demo model");
    let mut last_error = None;
    for _ in 0..3 {
        match std::fs::rename(&staging, &entry) {
            Ok(()) => return Ok(model),
            Err(e) => last_error = Some(e),
        }
        // Another process put its copy there first, or a damaged entry is in the way.
        if is_intact(&model) {
            let _ = std::fs::remove_dir_all(&staging);
            return Ok(model);
        }
        if entry.exists() {
            let damaged = models_dir.join(sibling_name("damaged"));
            if std::fs::rename(&entry, &damaged).is_ok() {
                tracing::warn!(dir = %entry.display(), "replacing a damaged copy of the demo model");
                let _ = std::fs::remove_dir_all(&damaged);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&staging);
    Err(fail(&entry, last_error.expect("the loop ran")))
}

/// True when every embedded file is in `model` with the same bytes.
fn is_intact(model: &Path) -> bool {
    DEMO_MODEL_FILES.iter().all(|(relative, bytes)| {
        let path = model.join(relative);
        std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
            && std::fs::read(&path).is_ok_and(|on_disk| on_disk == *bytes)
    })
}

/// Writes every embedded file under `model` (created), each synced to disk.
fn write_files(model: &Path) -> std::io::Result<()> {
    for (relative, bytes) in DEMO_MODEL_FILES {
        let path = model.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = std::fs::File::create(&path)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    Ok(())
}

/// `.<name>-<hash>.<what>-<pid>-<nanos>-<n>`: a name no other process or call uses.
fn sibling_name(what: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        ".{}.{what}-{}-{nanos}-{}",
        cache_entry_name(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes this entry's temporary siblings left by killed processes (best effort).
fn remove_stale_siblings(models_dir: &Path) {
    let prefix = format!(".{}.", cache_entry_name());
    let Ok(entries) = std::fs::read_dir(models_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry.file_name().to_string_lossy().starts_with(&prefix)
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE_AFTER));
        if stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the temp dir, removed on drop.
    struct Scratch(PathBuf);
    impl Scratch {
        fn new(name: &str) -> Self {
            Self(std::env::temp_dir().join(sibling_name(&format!("test-{name}"))))
        }
    }
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn embeds_a_diffusers_folder() {
        let names: Vec<&str> = files().iter().map(|(p, _)| *p).collect();
        for needed in [
            "model_index.json",
            "scheduler/scheduler_config.json",
            "tokenizer/vocab.json",
            "unet/config.json",
        ] {
            assert!(names.contains(&needed), "{needed} in {names:?}");
        }
        assert_eq!(DEMO_MODEL_HASH.len(), 16);
    }

    #[test]
    fn unpacks_once_and_reuses_the_copy() {
        let scratch = Scratch::new("reuse");
        let model = materialize_in(&scratch.0).unwrap();
        assert_eq!(
            model,
            scratch.0.join(cache_entry_name()).join(DEMO_MODEL_NAME)
        );
        assert!(is_intact(&model));
        assert!(crate::stable_diffusion::folder::ModelFolder::inspect(&model).is_ok());
        let written = std::fs::metadata(model.join("model_index.json"))
            .unwrap()
            .modified()
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(materialize_in(&scratch.0).unwrap(), model);
        let again = std::fs::metadata(model.join("model_index.json"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(written, again, "an intact copy is not rewritten");
        assert_eq!(
            listing(&scratch.0),
            vec![cache_entry_name()],
            "no temporary left"
        );
    }

    #[test]
    fn a_damaged_copy_is_replaced() {
        let scratch = Scratch::new("damaged");
        let model = materialize_in(&scratch.0).unwrap();
        let (relative, _) = files().iter().max_by_key(|(_, b)| b.len()).unwrap();
        std::fs::write(model.join(relative), b"truncated").unwrap();
        std::fs::remove_file(model.join("model_index.json")).unwrap();
        assert!(!is_intact(&model));
        assert_eq!(materialize_in(&scratch.0).unwrap(), model);
        assert!(is_intact(&model));
        assert_eq!(listing(&scratch.0), vec![cache_entry_name()]);
    }

    #[test]
    fn racing_callers_all_get_an_intact_copy() {
        let scratch = Scratch::new("race");
        let models: Vec<PathBuf> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| materialize_in(&scratch.0).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(models.iter().all(|m| m == &models[0]));
        assert!(is_intact(&models[0]));
        assert_eq!(listing(&scratch.0), vec![cache_entry_name()]);
    }

    #[test]
    fn a_leftover_temporary_is_removed_once_stale() {
        let scratch = Scratch::new("stale");
        std::fs::create_dir_all(&scratch.0).unwrap();
        let left = scratch.0.join(sibling_name("tmp"));
        std::fs::create_dir_all(left.join("x")).unwrap();
        let old = SystemTime::now() - STALE_AFTER - Duration::from_secs(60);
        std::fs::File::open(&left)
            .unwrap()
            .set_modified(old)
            .unwrap();
        materialize_in(&scratch.0).unwrap();
        assert_eq!(listing(&scratch.0), vec![cache_entry_name()]);
    }
}
