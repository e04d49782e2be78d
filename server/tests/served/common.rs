//! Helpers shared by the tests that run the real `stablesteering` binary.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Taken by every test of this binary: each runs a server that renders on the CPU, and the
/// load test's latencies and the shutdown test's timing mean something only alone.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `stablesteering serve` on `data` (the demo model, CPU) and waits for its health.
pub fn start(data: &Path, port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_stablesteering"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--device",
            "cpu",
        ])
        .arg("--data-dir")
        .arg(data)
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_health(child, port)
}

/// Waits (up to 30 s) until the server `child` answers `/api/health` on `port`; kills it and
/// panics if it never does.
pub fn wait_for_health(mut child: Child, port: u16) -> Child {
    for _ in 0..300 {
        std::thread::sleep(Duration::from_millis(100));
        if ureq::get(&format!("http://127.0.0.1:{port}/api/health"))
            .call()
            .is_ok()
        {
            return child;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start");
}

/// Sends SIGTERM and waits for the process to end.
pub fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// Runs `stablesteering store verify` on `data`; panics with its message (and `context`) when
/// it fails.
pub fn assert_store_verifies(data: &Path, context: &str) {
    let verify = Command::new(env!("CARGO_BIN_EXE_stablesteering"))
        .args(["store", "verify", "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "store verify {context}: {}",
        String::from_utf8_lossy(&verify.stderr)
    );
}
