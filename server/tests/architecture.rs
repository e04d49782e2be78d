//! The single execution boundary, checked on the sources: only the runner renders, and the engine
//! handle is created only where it is handed straight to a runner (`serve`, the `render` CLI,
//! test harnesses) or measured on its own (`bench engine`, which benchmarks the engine itself and
//! is not a product path). A new route that reached for the engine would fail here.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn relative(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root).unwrap().display().to_string()
}

#[test]
fn only_the_runner_calls_the_engine() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 50);
    let mut offenders = Vec::new();
    for file in &files {
        let name = relative(file);
        let text = std::fs::read_to_string(file).unwrap();
        let in_runner = name.starts_with("src/runner/");
        let engine_bench = name == "src/cli/bench_engine.rs";
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let renders = code.contains(".render(&")
                || code.contains("render_with_noise(")
                || code.contains(".unet_forward(")
                || code.contains(".vae_decode(")
                || code.contains(".encode_text(")
                || code.contains(".encode_prompts(");
            if renders && !in_runner && !engine_bench {
                offenders.push(format!("{name}:{}: {}", number + 1, line.trim()));
            }
            let loads = code.contains("Engine::load(") || code.contains("Engine::random_sd15(");
            let may_load = in_runner
                || engine_bench
                || name == "src/serve/mod.rs"
                || name == "src/cli/render.rs";
            if loads && !may_load {
                offenders.push(format!("{name}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "engine used outside the runner:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_engine_handle_is_not_in_shared_state() {
    let state = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/state.rs"))
        .unwrap();
    assert!(
        !state.contains("Engine"),
        "AppState must not hold the engine; the runner owns it"
    );
    let runner =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/runner/mod.rs"))
            .unwrap();
    assert!(
        runner.contains("    engine: Engine,"),
        "the runner's engine field stays private"
    );
    assert!(
        !runner.contains("pub engine"),
        "the runner never exposes its engine"
    );
    assert!(
        !runner.contains("-> &Engine"),
        "the runner never lends its engine"
    );
}
