//! The results as a Markdown table (stdout, and docs/benchmarks.md through
//! `latest`) and as JSON (for tools).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{Value, json};

use crate::rounds;
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
    /// Paired rounds each cell was measured in (see `rounds`).
    pub rounds: usize,
}

/// The rate of `op` at each concurrency (cells where some call succeeded).
fn rates(results: &[Measurement], op: Op) -> BTreeMap<usize, f64> {
    results
        .iter()
        .filter(|m| m.op == op)
        .filter_map(|m| m.rate().map(|rate| (m.concurrency, rate)))
        .collect()
}

/// A ratio column: the median of the rounds' ratios to their own floor
/// (the service's health check, or the bare tonic server's), with the range
/// when there were several rounds.
fn ratio_text(ratios: &[f64]) -> String {
    match rounds::summary(ratios) {
        None => "–".to_owned(),
        Some((median, _, _)) if ratios.len() == 1 => format!("{median:.3}"),
        Some((median, min, max)) => format!("{median:.3} ({min:.2}–{max:.2})"),
    }
}

/// Checks/s of a batch cell over single Authorize calls/s at the same concurrency.
fn batch_gain(authorize: &BTreeMap<usize, f64>, m: &Measurement) -> Option<f64> {
    if m.op != Op::Batch {
        return None;
    }
    let checks = m.unit_rate()?;
    authorize
        .get(&m.concurrency)
        .filter(|single| **single > 0.0)
        .map(|single| checks / single)
}

/// A figure, or "–" when the sample has none.
fn cell(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.decimals$}"))
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

/// The note column: the parts that apply to the cell, separated by "; ".
fn note(m: &Measurement, authorize: &BTreeMap<usize, f64>) -> String {
    let mut parts = Vec::new();
    if let (Some(unit), Some(rate)) = (m.op.unit(), m.unit_rate()) {
        parts.push(format!("{rate:.0} {unit}/s"));
    }
    if let Some(gain) = batch_gain(authorize, m) {
        parts.push(format!("{gain:.1}× the checks/s of single Authorize"));
    }
    if m.sample.resent > 0 {
        parts.push(format!("{} sent again (never sent: GOAWAY)", m.sample.resent));
    }
    let decided = m.sample.allowed + m.sample.denied;
    if decided > 0 {
        parts.push(format!(
            "{:.0}% allowed",
            100.0 * m.sample.allowed as f64 / decided as f64
        ));
    }
    if m.sample.ok_count() + m.sample.error_count() == 0 {
        parts.push("no call finished within the window".to_owned());
    }
    // Every worker's last call ends after the window, so a few late calls
    // are routine; they are worth a word when abandoned or when they weigh
    // against what was recorded (calls as slow as the window).
    let finished = m.sample.ok_count() + m.sample.error_count();
    if m.sample.abandoned > 0 || m.sample.late * 10 > finished {
        parts.push(format!(
            "{} calls ended after the window and {} were abandoned (neither counted)",
            m.sample.late, m.sample.abandoned
        ));
    }
    if let Some(floor) = &m.floor {
        parts.push(format!(
            "its health floors: p50 {} ms, p99 {} ms",
            cell(floor.quantile_ms(0.5), 2),
            cell(floor.quantile_ms(0.99), 2)
        ));
    }
    if let Some(checks) = &m.background {
        parts.push(format!(
            "beside {} Authorize in flight: {} Authorize/s, p99 {} ms, errors {}",
            m.concurrency,
            cell(checks.rate(m.seconds), 0),
            cell(checks.quantile_ms(0.99), 2),
            errors_text(checks)
        ));
    }
    parts.join("; ")
}

/// The Markdown table: one row per scenario and concurrency.
pub fn markdown(results: &[Measurement], titles: &dyn Fn(Op) -> String) -> String {
    let authorize = rates(results, Op::Authorize);
    let mut out = String::from(
        "| call | in flight | requests/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | × health | × bare | CPU µs a call | note |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|---|\n",
    );
    for m in results {
        let s = &m.sample;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            titles(m.op),
            m.concurrency,
            cell(m.rate(), 0),
            cell(s.quantile_ms(0.5), 2),
            cell(s.quantile_ms(0.9), 2),
            cell(s.quantile_ms(0.99), 2),
            cell(s.quantile_ms(0.999), 2),
            cell(s.max_ms(), 2),
            errors_text(s),
            ratio_text(&m.ratios),
            ratio_text(&m.bare_ratios),
            cell(m.cpu_us_per_call(), 0),
            note(m, &authorize),
        );
    }
    out
}

fn sample_json(sample: &Sample, seconds: f64) -> Value {
    json!({
        "requests": sample.ok_count(),
        "requests_per_second": sample.rate(seconds),
        "latency_ms": {
            "p50": sample.quantile_ms(0.5),
            "p90": sample.quantile_ms(0.9),
            "p99": sample.quantile_ms(0.99),
            "p99_9": sample.quantile_ms(0.999),
            "max": sample.max_ms(),
        },
        "error_count": sample.error_count(),
        "late": sample.late,
        "abandoned": sample.abandoned,
        "resent": sample.resent,
        "errors": sample.errors,
    })
}

/// The whole run as JSON.
pub fn json(info: &RunInfo, results: &[Measurement], titles: &dyn Fn(Op) -> String) -> Value {
    let authorize = rates(results, Op::Authorize);
    let rows: Vec<Value> = results
        .iter()
        .map(|m| {
            let mut row = sample_json(&m.sample, m.seconds);
            row["scenario"] = json!(m.op.key());
            row["title"] = json!(titles(m.op));
            row["concurrency"] = json!(m.concurrency);
            // The median over the rounds, each against the health cell
            // measured just before it; every round's ratio beside it.
            row["ratio_to_health"] = json!(rounds::summary(&m.ratios).map(|(median, _, _)| median));
            row["ratio_to_health_rounds"] = json!(m.ratios);
            row["ratio_to_bare_tonic"] = json!(rounds::summary(&m.bare_ratios).map(|(median, _, _)| median));
            row["ratio_to_bare_tonic_rounds"] = json!(m.bare_ratios);
            row["cpu_us_per_call"] = json!(m.cpu_us_per_call());
            if let Some(unit) = m.op.unit() {
                row["unit"] = json!(unit);
                row["units_per_second"] = json!(m.unit_rate());
            }
            if m.op == Op::Batch {
                row["ratio_to_authorize_checks"] = json!(batch_gain(&authorize, m));
            }
            if m.sample.allowed + m.sample.denied > 0 {
                row["allowed"] = json!(m.sample.allowed);
                row["denied"] = json!(m.sample.denied);
            }
            if let Some(checks) = &m.background {
                row["background_authorize"] = sample_json(checks, m.seconds);
            }
            if let Some(floor) = &m.floor {
                // The paired health cells ran as long as this cell's rounds.
                row["health_floor"] = sample_json(floor, m.seconds);
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
        "rounds": info.rounds,
        "results": rows,
    })
}
