//! A model's own steering vocabulary: an optional `stablesteering.json` in the model folder,
//! `{"steering_modifiers": ["purple", "large", …]}`, naming prompt variants the model
//! understands. A model trained on a small vocabulary (the demo model) knows none of the
//! aesthetic words the default semantic basis is built from, so its basis is built from these
//! instead (see `BasisRecipe::for_session`). Read once when the runner starts; a malformed file
//! is a one-line error, a missing one means "use the defaults".

use std::path::Path;

use serde::Deserialize;

use crate::steering::basis::{MAX_MODIFIERS, MAX_MODIFIER_CHARS};

/// File name inside the model folder.
pub const FILE_NAME: &str = "stablesteering.json";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelSteeringFile {
    steering_modifiers: Vec<String>,
}

/// The model folder's steering modifiers; empty when it declares none.
pub fn read(model_dir: &Path) -> Result<Vec<String>, String> {
    let path = model_dir.join(FILE_NAME);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let file: ModelSteeringFile =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out: Vec<String> = Vec::new();
    for m in file.steering_modifiers {
        let m = m.trim().to_string();
        if m.is_empty() || m.chars().count() > MAX_MODIFIER_CHARS {
            return Err(format!(
                "{}: steering_modifiers: each must be 1..={MAX_MODIFIER_CHARS} characters",
                path.display()
            ));
        }
        if !out.contains(&m) {
            out.push(m);
        }
    }
    if out.len() > MAX_MODIFIERS - 8 {
        return Err(format!(
            "{}: steering_modifiers: at most {} (the prompt's own words take the rest)",
            path.display(),
            MAX_MODIFIERS - 8
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_empty_and_bad_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), Vec::<String>::new());
        std::fs::write(
            dir.path().join(FILE_NAME),
            r#"{"steering_modifiers": ["purple", " large ", "purple"]}"#,
        )
        .unwrap();
        assert_eq!(read(dir.path()).unwrap(), vec!["purple", "large"]);
        std::fs::write(
            dir.path().join(FILE_NAME),
            r#"{"steering_modifiers": [""]}"#,
        )
        .unwrap();
        assert!(read(dir.path()).unwrap_err().contains("steering_modifiers"));
        std::fs::write(dir.path().join(FILE_NAME), r#"{"modifiers": []}"#).unwrap();
        assert!(read(dir.path()).is_err());
    }
}
