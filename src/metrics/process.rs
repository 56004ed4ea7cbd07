//! The process itself: the `process_*` series every Prometheus client
//! library exports (client_golang's names and meanings: CPU, memory, file
//! descriptors, threads, start time), read from /proc at scrape time, and
//! `access_build_info`, which version and revision is running.
//!
//! Off Linux there is no /proc: the process series are left out (a scrape
//! still succeeds), the build info stays.

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// The crate's version, from Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The source revision built (build.rs: ACCESS_BUILD_REVISION, else git's
/// HEAD, else `unknown`).
pub const REVISION: &str = env!("ACCESS_BUILD_REVISION");

/// Encodes the process series and the build info on each scrape.
#[derive(Debug)]
pub(super) struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let mut info = encoder.encode_descriptor(
            "access_build_info",
            "Always 1: the version and the source revision of the running build",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(1_i64)
            .encode(info.encode_family(&[("version", VERSION), ("revision", REVISION)])?)?;
        // A /proc that cannot be read (not Linux, or hidden) leaves the
        // process series out rather than failing the whole scrape.
        if let Some(sample) = sample() {
            sample.encode(&mut encoder)?;
        }
        Ok(())
    }
}

/// One reading of /proc/self.
#[derive(Debug, PartialEq)]
struct Sample {
    cpu_seconds: f64,
    resident_bytes: u64,
    virtual_bytes: u64,
    open_fds: u64,
    max_fds: Option<u64>,
    threads: u64,
    start_time_seconds: f64,
}

impl Sample {
    fn encode(&self, e: &mut DescriptorEncoder) -> Result<(), fmt::Error> {
        let cpu = e.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(self.cpu_seconds).encode(cpu)?;
        gauge(
            e,
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            self.resident_bytes,
        )?;
        gauge(
            e,
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes",
            self.virtual_bytes,
        )?;
        gauge(
            e,
            "process_open_fds",
            "Number of open file descriptors",
            self.open_fds,
        )?;
        if let Some(max) = self.max_fds {
            gauge(
                e,
                "process_max_fds",
                "Maximum number of open file descriptors",
                max,
            )?;
        }
        gauge(
            e,
            "process_threads",
            "Number of OS threads in the process",
            self.threads,
        )?;
        let start = e.encode_descriptor(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(self.start_time_seconds).encode(start)
    }
}

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> Result<(), fmt::Error> {
    let metric = e.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX)).encode(metric)
}

#[cfg(target_os = "linux")]
fn sample() -> Option<Sample> {
    use procfs::process::{LimitValue, Process};

    let me = Process::myself().ok()?;
    let stat = me.stat().ok()?;
    // Clock ticks are a per-system constant, 100 nearly everywhere.
    let ticks = procfs::ticks_per_second().max(1) as f64;
    let max_fds = match me.limits().ok()?.max_open_files.soft_limit {
        LimitValue::Value(max) => Some(max),
        LimitValue::Unlimited => None,
    };
    Some(Sample {
        cpu_seconds: (stat.utime + stat.stime) as f64 / ticks,
        resident_bytes: stat.rss.saturating_mul(procfs::page_size()),
        virtual_bytes: stat.vsize,
        open_fds: me.fd_count().ok()? as u64,
        max_fds,
        threads: u64::try_from(stat.num_threads).unwrap_or(0),
        start_time_seconds: procfs::boot_time_secs().ok()? as f64 + stat.starttime as f64 / ticks,
    })
}

#[cfg(not(target_os = "linux"))]
fn sample() -> Option<Sample> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_process_reads_itself() {
        let sample = sample().expect("/proc/self is readable on Linux");
        assert!(sample.cpu_seconds > 0.0, "{sample:?}");
        assert!(sample.resident_bytes > 1 << 20, "{sample:?}");
        assert!(sample.threads >= 1 && sample.open_fds >= 3, "{sample:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        // Started within the last day, not in the future (clock ticks are coarse).
        assert!(
            sample.start_time_seconds <= now + 1.0 && sample.start_time_seconds > now - 86_400.0,
            "{sample:?}"
        );
    }
}
