//! The results as a Markdown table (for the README) and as JSON (for tools).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{Value, json};

use crate::scenarios::{Measurement, Op};
use crate::stats::Sample;

/// Facts about the run that the figures depend on.
pub struct RunInfo {
    /// The command line, as typed.
    pub command: String,
    /// `sqlite`, `mysql` or `external server`.
    pub backend: String,
    /// Cores the machine offers (shared by server and load generator when in-process).
    pub cores: usize,
    /// Whether the server ran in this process.
    pub in_process: bool,
    /// The data set sizes and seeding figures, already as JSON.
    pub data: Value,
    /// Warm-up and measured window per cell, in seconds.
    pub warmup_secs: f64,
    /// Measured window per cell, in seconds.
    pub duration_secs: f64,
    /// HTTP/2 connections the requests were spread over.
    pub connections: usize,
}

/// The health-check rate at each concurrency: the denominator of every ratio.
fn health_rates(results: &[Measurement]) -> BTreeMap<usize, f64> {
    results
        .iter()
        .filter(|m| m.op == Op::Health)
        .map(|m| (m.concurrency, m.rate()))
        .collect()
}

fn ratio(floor: &BTreeMap<usize, f64>, m: &Measurement) -> Option<f64> {
    floor
        .get(&m.concurrency)
        .filter(|rate| **rate > 0.0)
        .map(|rate| m.rate() / rate)
}

fn errors_text(sample: &Sample) -> String {
    if sample.errors.is_empty() {
        return "0".to_owned();
    }
    sample
        .errors
        .iter()
        .map(|(code, n)| format!("{code} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn note(m: &Measurement) -> String {
    let mut note = String::new();
    if let Some(unit) = m.op.unit() {
        let _ = write!(note, "{:.0} {unit}/s", m.unit_rate());
    }
    let decided = m.sample.allowed + m.sample.denied;
    if decided > 0 {
        let _ = write!(
            note,
            "{:.0}% allowed",
            100.0 * m.sample.allowed as f64 / decided as f64
        );
    }
    if let Some(checks) = &m.background {
        let _ = write!(
            note,
            "beside {:.0} Authorize/s (p99 {:.2} ms, errors {})",
            checks.ok_count() as f64 / m.seconds,
            checks.quantile_ms(0.99),
            errors_text(checks)
        );
    }
    note
}

/// The Markdown table: one row per scenario and concurrency.
pub fn markdown(results: &[Measurement], titles: &dyn Fn(Op) -> String) -> String {
    let floor = health_rates(results);
    let mut out = String::from(
        "| call | in flight | requests/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | × health | note |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|---|--:|---|\n",
    );
    for m in results {
        let s = &m.sample;
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} |",
            titles(m.op),
            m.concurrency,
            m.rate(),
            s.quantile_ms(0.5),
            s.quantile_ms(0.9),
            s.quantile_ms(0.99),
            s.quantile_ms(0.999),
            s.max_ms(),
            errors_text(s),
            ratio(&floor, m).map_or_else(|| "–".to_owned(), |r| format!("{r:.3}")),
            note(m),
        );
    }
    out
}

fn sample_json(sample: &Sample, seconds: f64) -> Value {
    json!({
        "requests": sample.ok_count(),
        "requests_per_second": sample.ok_count() as f64 / seconds,
        "latency_ms": {
            "p50": sample.quantile_ms(0.5),
            "p90": sample.quantile_ms(0.9),
            "p99": sample.quantile_ms(0.99),
            "p99_9": sample.quantile_ms(0.999),
            "max": sample.max_ms(),
        },
        "error_count": sample.error_count(),
        "errors": sample.errors,
    })
}

/// The whole run as JSON.
pub fn json(info: &RunInfo, results: &[Measurement], titles: &dyn Fn(Op) -> String) -> Value {
    let floor = health_rates(results);
    let rows: Vec<Value> = results
        .iter()
        .map(|m| {
            let mut row = sample_json(&m.sample, m.seconds);
            row["scenario"] = json!(m.op.key());
            row["title"] = json!(titles(m.op));
            row["concurrency"] = json!(m.concurrency);
            row["ratio_to_health"] = json!(ratio(&floor, m));
            if let Some(unit) = m.op.unit() {
                row["unit"] = json!(unit);
                row["units_per_second"] = json!(m.unit_rate());
            }
            if m.sample.allowed + m.sample.denied > 0 {
                row["allowed"] = json!(m.sample.allowed);
                row["denied"] = json!(m.sample.denied);
            }
            if let Some(checks) = &m.background {
                row["background_authorize"] = sample_json(checks, m.seconds);
            }
            row
        })
        .collect();
    json!({
        "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "command": info.command,
        "machine": {
            "cores": info.cores,
            "os": std::env::consts::OS,
            "arch": std::env::consts::ARCH,
            "server_in_process": info.in_process,
        },
        "backend": info.backend,
        "data": info.data,
        "warmup_seconds": info.warmup_secs,
        "duration_seconds": info.duration_secs,
        "connections": info.connections,
        "results": rows,
    })
}
