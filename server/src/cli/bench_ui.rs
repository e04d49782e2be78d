//! `stablesteering bench ui`: the web app's budgets. Builds a session with N rated rounds on the
//! real server (tiny model, CPU), then times full server-side renders of its pages over
//! loopback (the session page is served only once its data is in: async SSR, so the time to the
//! whole HTML is the first paint's server part), and measures the WASM bundle gzipped.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;

use super::bench_api::{session_loop, start_server, summary};
use super::Failure;

/// Options of `bench ui`.
#[derive(Debug, Clone, Args)]
pub struct UiBenchArgs {
    /// Rated rounds in the session whose pages are timed.
    #[arg(long, default_value_t = 50)]
    pub rounds: usize,
    /// Requests per page.
    #[arg(long, default_value_t = 100)]
    pub requests: usize,
    /// The site folder holding `pkg/stablesteering.wasm` (default: found as `serve` finds it).
    #[arg(long)]
    pub site_root: Option<std::path::PathBuf>,
    /// Print the report as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
}

/// GETs `url`; answers (ms to the last byte, bytes).
fn get_page(url: &str) -> Result<(f64, usize), String> {
    let started = Instant::now();
    let response = ureq::get(url)
        .timeout(Duration::from_secs(60))
        .call()
        .map_err(|e| format!("GET {url}: {e}"))?;
    let body = response
        .into_string()
        .map_err(|e| format!("GET {url}: {e}"))?;
    Ok((started.elapsed().as_secs_f64() * 1e3, body.len()))
}

fn gzip_size(path: &Path) -> Result<(usize, usize), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&bytes).map_err(|e| e.to_string())?;
    let gz = encoder.finish().map_err(|e| e.to_string())?;
    Ok((bytes.len(), gz.len()))
}

/// Runs the benchmark.
pub fn run(args: UiBenchArgs) -> Result<(), Failure> {
    let site_root = match &args.site_root {
        Some(dir) => dir.clone(),
        None => crate::serve::find_built_site().unwrap_or_else(|| "target/site".into()),
    };
    let wasm = site_root.join("pkg/stablesteering.wasm");
    let (wasm_raw, wasm_gz) =
        gzip_size(&wasm).map_err(|e| format!("bench ui: {e} (run `make site` first)"))?;
    let served_br = std::fs::metadata(wasm.with_extension("wasm.br"))
        .map(|m| m.len())
        .ok();
    let (base, data) = start_server("ui")?;
    let (sid, _) = session_loop(&base, args.rounds, 0).map_err(|e| format!("bench ui: {e}"))?;
    let pages = [
        ("session", format!("/sessions/{sid}/view")),
        (
            "replay",
            format!("/sessions/{sid}/replay-view?round={}", args.rounds / 2),
        ),
        ("dashboard", "/".to_string()),
    ];
    let mut report = json!({
        "rounds": args.rounds,
        "requests_per_page": args.requests,
        "wasm": {"bytes": wasm_raw, "gzip_bytes": wasm_gz, "served_brotli_bytes": served_br, "budget_gzip_bytes": 350 * 1000},
        "pages": {},
    });
    println!(
        "bench ui: a session with {} rated rounds (tiny model, CPU); {} loopback GETs per page",
        args.rounds, args.requests
    );
    println!(
        "  wasm: {} bytes, {} bytes gzipped (budget 350 KB), served as brotli: {}",
        wasm_raw,
        wasm_gz,
        served_br.map_or_else(|| "not precompressed".to_string(), |b| format!("{b} bytes"))
    );
    for (name, path) in pages {
        let url = format!("{base}{path}");
        get_page(&url).map_err(|e| format!("bench ui: {e}"))?; // warm-up
        let mut times = Vec::with_capacity(args.requests);
        let mut bytes = 0;
        for _ in 0..args.requests {
            let (ms, len) = get_page(&url).map_err(|e| format!("bench ui: {e}"))?;
            times.push(ms);
            bytes = len;
        }
        let stats = summary(times);
        println!(
            "  {name} page SSR: p50 {:.2} ms, p99 {:.2} ms, {} bytes of HTML",
            stats["p50_ms"].as_f64().unwrap_or(0.0),
            stats["p99_ms"].as_f64().unwrap_or(0.0),
            bytes
        );
        report["pages"][name] = json!({"latency": stats, "html_bytes": bytes});
    }
    if args.json {
        println!("{report}");
    }
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}
