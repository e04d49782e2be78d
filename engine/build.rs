//! Embeds the demo model (`models/<DEMO_MODEL_NAME>/`, a diffusers folder) into the engine, so
//! a release binary needs no source checkout: writes `demo_model_files.rs` into `OUT_DIR` with
//! every file as `(relative path, include_bytes!(absolute path))` and a hash of the contents
//! (see `src/demo_model.rs`, which writes them back to disk).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The folder under `engine/models/` that is bundled as the demo model. The one place it is
/// named: the engine reads it back as `engine::demo_model::DEMO_MODEL_NAME`.
const DEMO_MODEL_NAME: &str = "demo-shapes";

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest_dir.join("models").join(DEMO_MODEL_NAME);
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-env=STABLESTEERING_DEMO_MODEL_NAME={DEMO_MODEL_NAME}");
    if !root.join("model_index.json").is_file() {
        panic!(
            "the demo model {} is missing (expected a diffusers folder with model_index.json)",
            root.display()
        );
    }

    // `collect` names every folder (a new file changes its folder) and the loop every file.
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();

    // FNV-1a 64 over (path, length, bytes) of every file: names the cache folder the files are
    // written to, so another model (or another version of it) never reuses a stale copy.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    let mut entries = String::new();
    for (relative, absolute) in &files {
        println!("cargo:rerun-if-changed={}", absolute.display());
        let bytes = std::fs::read(absolute)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", absolute.display()));
        feed(relative.as_bytes());
        feed(&[0]);
        feed(&(bytes.len() as u64).to_le_bytes());
        feed(&bytes);
        let absolute = absolute
            .to_str()
            .unwrap_or_else(|| panic!("{} is not UTF-8", absolute.display()));
        writeln!(entries, "    ({relative:?}, include_bytes!({absolute:?})),").unwrap();
    }

    let generated = format!(
        "/// Hash of the embedded files (FNV-1a 64 over path, length and bytes), 16 hex digits.\n\
         pub(crate) const DEMO_MODEL_HASH: &str = \"{hash:016x}\";\n\
         /// Every file of the demo model: path relative to the folder (`/`-separated), bytes.\n\
         pub(crate) static DEMO_MODEL_FILES: &[(&str, &[u8])] = &[\n{entries}];\n"
    );
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("demo_model_files.rs"), generated).expect("write OUT_DIR file");
}

/// Every regular file under `dir` (dot files skipped), as (`/`-separated path relative to
/// `root`, absolute path).
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let meta = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        if meta.is_dir() {
            collect(root, &path, out);
        } else if meta.is_file() {
            let relative = path
                .strip_prefix(root)
                .expect("under root")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((relative, path));
        }
    }
}
