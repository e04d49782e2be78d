//! The binary is relocatable: copied into an empty folder (with the built site beside it, when
//! the checkout has one) and run from another empty working directory, it renders and serves
//! with the demo model unpacked from the binary into the user's cache, and finds the site beside
//! itself. Missing files named on the command line are one line and a non-zero exit.
//!
//! The checkout cannot be hidden from the copy, so the tests check where the model was loaded
//! from: the model folder the PNG's settings and `/api/health` name is inside the cache dir the
//! test set, not in the checkout.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A copy of the binary in `<tmp>/app/`, a working directory `<tmp>/work/` and a home
/// `<tmp>/home/` with its own cache dir.
struct Relocated {
    tmp: tempfile::TempDir,
    bin: PathBuf,
    site_copied: bool,
}

impl Relocated {
    /// Copies the binary, and the built site beside it when `with_site` and one was built.
    fn new(with_site: bool) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let app = tmp.path().join("app");
        for dir in ["app", "work", "home", "cache", "tmp"] {
            std::fs::create_dir_all(tmp.path().join(dir)).unwrap();
        }
        let bin = app.join("stablesteering");
        std::fs::copy(env!("CARGO_BIN_EXE_stablesteering"), &bin).expect("copy the binary");
        let site_copied = with_site
            && {
                match built_site() {
                    Some(site) => {
                        copy_dir(&site, &app.join("site"));
                        true
                    }
                    None => {
                        eprintln!("no built site beside the binary (run `make site`): skipping the site checks");
                        false
                    }
                }
            };
        Relocated {
            tmp,
            bin,
            site_copied,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// The cache dir the binary is told to use (`XDG_CACHE_HOME`).
    fn cache(&self) -> PathBuf {
        self.path("cache")
    }

    /// The copied binary, run in `<tmp>/work` with a home, cache and temp dir of its own and
    /// none of the variables that could point it back at the checkout.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .args(args)
            .current_dir(self.path("work"))
            .env("HOME", self.path("home"))
            .env("XDG_CACHE_HOME", self.cache())
            .env("TMPDIR", self.path("tmp"))
            .env_remove("STABLESTEERING_MODEL")
            .env_remove("STABLESTEERING_DATA_DIR")
            .env_remove("STABLESTEERING_ADDR")
            .env_remove("LEPTOS_SITE_ROOT")
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1");
        command
    }

    fn output(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("binary runs")
    }
}

/// `target/site` as the binary itself finds it (`../site` beside `target/release/`).
fn built_site() -> Option<PathBuf> {
    let bin = Path::new(env!("CARGO_BIN_EXE_stablesteering"));
    let site = bin.parent()?.join("..").join("site");
    site.join("pkg/stablesteering.wasm")
        .is_file()
        .then_some(site)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The checkout this test was built from.
fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .canonicalize()
        .unwrap()
}

fn assert_in_cache(model_dir: &Path, cache: &Path) {
    assert!(
        model_dir.starts_with(cache),
        "the demo model was loaded from {model_dir:?}, not from the cache {cache:?}"
    );
    assert!(
        !model_dir.starts_with(checkout()),
        "the demo model was loaded from the checkout: {model_dir:?}"
    );
    assert!(model_dir.join("model_index.json").is_file());
    assert_eq!(
        model_dir.file_name().unwrap().to_str().unwrap(),
        engine::demo_model::DEMO_MODEL_NAME
    );
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// The text chunk `keyword` of a PNG.
fn png_text(bytes: &[u8], keyword: &str) -> Option<String> {
    let mut i = 8;
    while i + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
        if &bytes[i + 4..i + 8] == b"tEXt" {
            let data = &bytes[i + 8..i + 8 + len];
            let nul = data.iter().position(|&b| b == 0)?;
            if &data[..nul] == keyword.as_bytes() {
                return Some(String::from_utf8_lossy(&data[nul + 1..]).into_owned());
            }
        }
        i += 12 + len;
    }
    None
}

#[test]
fn a_copied_binary_renders_with_the_embedded_demo_model() {
    let r = Relocated::new(false);
    let out = r.output(&[
        "render",
        "--prompt",
        "a red fox",
        "--steps",
        "1",
        "--seed",
        "7",
        "--device",
        "cpu",
        "--out",
        "fox.png",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(r.path("work/fox.png")).expect("the PNG is in the working dir");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let ours: serde_json::Value =
        serde_json::from_str(&png_text(&png, "stablesteering").expect("our chunk")).unwrap();
    let snapshot = &ours["snapshot"];
    assert_eq!(
        snapshot["model"]["name"],
        engine::demo_model::DEMO_MODEL_NAME
    );
    let model_dir = PathBuf::from(snapshot["model"]["dir"].as_str().unwrap());
    assert_in_cache(&model_dir, &r.cache());
    // The second run reuses the unpacked copy, and nothing else was left in the cache.
    let again = r.output(&[
        "render",
        "--prompt",
        "a fox",
        "--steps",
        "1",
        "--seed",
        "7",
        "--device",
        "cpu",
        "--out",
        "again.png",
    ]);
    assert!(again.status.success());
    let entries: Vec<_> = std::fs::read_dir(r.cache().join("stablesteering/models"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
}

/// A running server started from the copy; killed on drop.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `serve` on 127.0.0.1:0; the port is read from the line it prints once it serves.
    fn start(r: &Relocated, data: &str) -> Server {
        let log = r.path(&format!("{data}.log"));
        let mut child = r
            .command(&[
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--data-dir",
                data,
                "--device",
                "cpu",
            ])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("serve starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                    let _ = tx.send(rest.trim_end_matches('/').parse::<u16>().ok());
                    return;
                }
            }
            let _ = tx.send(None);
        });
        let port = rx.recv_timeout(Duration::from_secs(120)).ok().flatten();
        let mut server = Server {
            child,
            port: 0,
            log,
        };
        match port {
            Some(port) => server.port = port,
            None => panic!("the server did not start: {}", server.log_text()),
        }
        server
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET over HTTP/1.0: (status, body).
    fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        let head_end = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a response head");
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let status = head
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        (status, buf[head_end + 4..].to_vec())
    }
}

#[test]
fn a_copied_binary_serves_with_its_site_and_the_embedded_demo_model() {
    let r = Relocated::new(true);
    let server = Server::start(&r, "data");
    let (status, body) = server.get("/api/health");
    assert_eq!(status, 200, "{}", server.log_text());
    let health: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(health["engine"]["model"]["demo"], true);
    let model_dir = PathBuf::from(health["engine"]["model"]["dir"].as_str().unwrap());
    assert_in_cache(&model_dir, &r.cache());
    // A relative data dir is in the working directory.
    assert!(r.path("work/data").is_dir());

    let (status, body) = server.get("/");
    assert_eq!(status, 200, "{}", server.log_text());
    assert!(String::from_utf8_lossy(&body).contains("<html"));
    if r.site_copied {
        let (status, wasm) = server.get("/pkg/stablesteering.wasm");
        assert_eq!(status, 200, "the site beside the binary is served");
        assert_eq!(&wasm[..4], b"\0asm");
        assert!(
            !server.log_text().contains("the built site is missing"),
            "{}",
            server.log_text()
        );
    }
}

#[test]
fn a_copied_binary_without_a_site_still_serves_pages() {
    let r = Relocated::new(false);
    let server = Server::start(&r, "data");
    let (status, body) = server.get("/");
    assert_eq!(status, 200, "{}", server.log_text());
    assert!(String::from_utf8_lossy(&body).contains("<html"));
    let (status, _) = server.get("/pkg/stablesteering.wasm");
    assert_eq!(status, 404);
    assert!(
        server.log_text().contains("the built site is missing"),
        "{}",
        server.log_text()
    );
}

#[test]
fn a_missing_model_or_site_root_is_one_line_and_creates_no_data_dir() {
    let r = Relocated::new(false);
    std::fs::create_dir_all(r.path("work/empty")).unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["serve", "--model", "no-such-model"],
            "no-such-model is not a Stable Diffusion model folder: no such folder",
        ),
        (
            &["serve", "--model", "empty"],
            "model_index.json is missing",
        ),
        (
            &["serve", "--site-root", "no-such-site"],
            "--site-root no-such-site: no such folder",
        ),
        (
            &[
                "render",
                "--model",
                "no-such-model",
                "--prompt",
                "x",
                "--out",
                "x.png",
            ],
            "no-such-model is not a Stable Diffusion model folder",
        ),
        (
            &["bench", "ui", "--site-root", "no-such-site"],
            "no-such-site",
        ),
    ];
    for (args, needle) in cases {
        let mut full: Vec<&str> = args.to_vec();
        if args[0] == "serve" {
            full.extend([
                "--addr",
                "127.0.0.1:0",
                "--data-dir",
                "data",
                "--device",
                "cpu",
            ]);
        }
        let out = r
            .command(&full)
            .env("RUST_LOG", "off")
            .output()
            .expect("binary runs");
        assert_eq!(out.status.code(), Some(1), "{full:?}");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{full:?}: {lines:?}");
        assert!(lines[0].starts_with("error: "), "{lines:?}");
        assert!(lines[0].contains(needle), "{full:?}: {lines:?}");
        assert!(!r.path("work/data").exists(), "{full:?} created a data dir");
        assert!(!r.path("work/x.png").exists());
    }
}
