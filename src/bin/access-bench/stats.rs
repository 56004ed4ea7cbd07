//! What one measurement records: a latency histogram, the errors by gRPC
//! code, and the live counters the progress line reads.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::watch;

/// Highest latency the histograms hold, in microseconds (a minute): slower
/// answers are clamped, never dropped, so `max` still shows them.
const MAX_RECORDABLE_US: u64 = 60_000_000;

/// The results of one worker (merged into one `Sample` per measurement).
pub struct Sample {
    /// Latencies of successful calls, in microseconds.
    pub latency: Histogram<u64>,
    /// Failed calls by gRPC code name.
    pub errors: BTreeMap<String, u64>,
    /// Work units per successful call beyond one request (checks in a batch, writes in a pair).
    pub units: u64,
    /// Authorize answers that allowed, to show the allowed/denied mix is real.
    pub allowed: u64,
    /// Authorize answers that denied.
    pub denied: u64,
    /// Calls that finished after the measured window (while the run drained):
    /// neither their latency nor their status is recorded.
    pub late: u64,
    /// Calls still unanswered when the drain limit after the window ran out;
    /// abandoned, and not recorded either.
    pub abandoned: u64,
    /// Calls sent again because the server never saw them (a GOAWAY at the
    /// connection's maximum age, see `access_service::grpc::never_sent`): each counts once,
    /// with the time of all its attempts.
    pub resent: u64,
}

impl Sample {
    /// An empty sample.
    pub fn new() -> Self {
        Self {
            // Three significant digits: 0.1% resolution at every magnitude.
            latency: Histogram::new_with_bounds(1, MAX_RECORDABLE_US, 3)
                .unwrap_or_else(|_| unreachable!("constant histogram bounds are valid")),
            errors: BTreeMap::new(),
            units: 0,
            allowed: 0,
            denied: 0,
            late: 0,
            abandoned: 0,
            resent: 0,
        }
    }

    /// Records one successful call.
    pub fn ok(&mut self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency.saturating_record(micros.clamp(1, MAX_RECORDABLE_US));
    }

    /// Records one failed call.
    pub fn error(&mut self, code: tonic::Code) {
        *self.errors.entry(format!("{code:?}")).or_default() += 1;
    }

    /// Adds another worker's sample to this one.
    pub fn merge(&mut self, other: &Sample) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        for (code, count) in &other.errors {
            *self.errors.entry(code.clone()).or_default() += count;
        }
        self.units += other.units;
        self.allowed += other.allowed;
        self.denied += other.denied;
        self.late += other.late;
        self.abandoned += other.abandoned;
        self.resent += other.resent;
    }

    /// Successful calls.
    pub fn ok_count(&self) -> u64 {
        self.latency.len()
    }

    /// Failed calls.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// A latency quantile in milliseconds; `None` when no call succeeded in
    /// the window (an empty histogram has no quantiles, and 0 would read as fast).
    pub fn quantile_ms(&self, quantile: f64) -> Option<f64> {
        if self.latency.is_empty() {
            return None;
        }
        Some(self.latency.value_at_quantile(quantile) as f64 / 1000.0)
    }

    /// The slowest successful call in milliseconds; `None` when none succeeded.
    pub fn max_ms(&self) -> Option<f64> {
        if self.latency.is_empty() {
            return None;
        }
        Some(self.latency.max() as f64 / 1000.0)
    }

    /// Successful calls per second over `seconds`; `None` when none succeeded.
    pub fn rate(&self, seconds: f64) -> Option<f64> {
        (self.ok_count() > 0 && seconds > 0.0).then(|| self.ok_count() as f64 / seconds)
    }
}

/// Counters shared by the workers and the progress line.
pub struct Progress {
    /// Calls finished in the current measurement (warm-up included).
    pub done: AtomicU64,
    /// Calls failed in the current measurement.
    pub failed: AtomicU64,
    label: watch::Sender<(String, Instant)>,
    stop: AtomicBool,
}

impl Progress {
    /// Starts the progress line on stderr, redrawn every half second.
    pub fn start() -> Arc<Self> {
        let (label, mut seen) = watch::channel((String::new(), Instant::now()));
        let progress = Arc::new(Self {
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            label,
            stop: AtomicBool::new(false),
        });
        let shared = Arc::clone(&progress);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            while !shared.stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let (label, started) = seen.borrow_and_update().clone();
                if label.is_empty() {
                    continue;
                }
                let secs = started.elapsed().as_secs_f64();
                let done = shared.done.load(Ordering::Relaxed);
                let failed = shared.failed.load(Ordering::Relaxed);
                let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
                // \r and a clear-to-end keep it one line that rewrites itself.
                eprint!("\r\x1b[K{label}: {secs:5.1} s, {done} calls ({rate:.0}/s), {failed} errors");
                let _ = std::io::stderr().flush();
            }
        });
        progress
    }

    /// Names the measurement now running and zeroes the counters.
    pub fn begin(&self, label: String) {
        self.done.store(0, Ordering::Relaxed);
        self.failed.store(0, Ordering::Relaxed);
        self.label.send_replace((label, Instant::now()));
    }

    /// Ends the line so the next output starts on a fresh one.
    pub fn end(&self) {
        self.label.send_replace((String::new(), Instant::now()));
        eprint!("\r\x1b[K");
        let _ = std::io::stderr().flush();
    }

    /// Stops the redraw task.
    pub fn stop(&self) {
        self.end();
        self.stop.store(true, Ordering::Relaxed);
    }
}
