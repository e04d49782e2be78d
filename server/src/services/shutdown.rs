//! Graceful shutdown of the job machinery (Ctrl-C / SIGTERM, `serve.rs`): nothing new starts,
//! queued jobs stay queued in the log for the next start, and running renders stop at their
//! next step and are recorded as interrupted (retryable), so the process exits within seconds
//! and releases the store instead of rendering on for minutes.

use std::sync::atomic::Ordering;

use super::Services;

impl Services {
    /// Stops taking work: no queued job starts, every running render's cancel flag is set.
    pub fn shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Ok(control) = self.control.lock() {
            for flag in control.cancels.values() {
                flag.store(true, Ordering::SeqCst);
            }
        }
    }

    /// Whether [`Services::shutdown`] was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}
