//! The log lines of one server, captured: a subscriber of the test's own,
//! handed to the App (`TestApp::spawn_traced`), to which its requests and its
//! email dispatcher log, formatted as the service formats them (the text
//! format, every target at `info`), so a test can read what an operator
//! would read. Servers beside it in the process log elsewhere.

use std::io::Write;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{Layer, Registry};

/// What a server logged so far.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<RwLock<Vec<u8>>>);

impl CapturedLogs {
    /// A new capture and the subscriber that writes to it.
    pub fn new() -> (Self, tracing::Dispatch) {
        // As `telemetry::trace_dispatch` does: with a second, silent
        // dispatcher registered for the life of the process, tracing asks
        // every dispatcher whether a callsite is wanted, not only the
        // current thread's, so a line first reached by a server without a
        // capture is not cached as unwanted for this one.
        static SILENT: OnceLock<tracing::Dispatch> = OnceLock::new();
        SILENT.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
        let logs = Self::default();
        let layer = access_service::telemetry::log_layer(
            access_service::config::LogFormat::Text,
            false,
            logs.clone(),
        )
        .with_filter(LevelFilter::INFO);
        (
            logs.clone(),
            tracing::Dispatch::new(Registry::default().with(layer)),
        )
    }

    /// Everything logged so far, as text.
    pub fn text(&self) -> String {
        let bytes = self.0.read().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Waits (up to ten seconds) for a line holding `needle`, then returns
    /// everything logged; panics when none comes.
    pub async fn wait_for(&self, needle: &str) -> String {
        for _ in 0..200 {
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no log line holds {needle:?}; logged:\n{}", self.text());
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // A few instructions under the lock: the std lock, not an async one,
        // since a log layer writes synchronously.
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLogs {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
