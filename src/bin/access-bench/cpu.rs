//! The CPU time the benchmark's process spends in a measured window.
//!
//! Requests per second depend on how much of the machine the run gets,
//! which drifts with whatever else runs there; the CPU time a call costs
//! does not. With the server in-process, it is the cost of the whole call:
//! the load generator's side and the server's. (Against `--addr`, only the
//! load generator's side.)

use std::time::Instant;

use crate::driver::Window;

/// Clock ticks per second of /proc's CPU times: USER_HZ, 100 on every
/// Linux architecture the service is built for.
const TICKS_PER_SECOND: f64 = 100.0;

/// User plus system CPU seconds of this process so far; `None` where
/// /proc/self/stat does not exist (not Linux).
pub fn process_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat(&stat)
}

/// utime + stime from a /proc/<pid>/stat line. The command name (field 2)
/// is in parentheses and may hold spaces, so fields are counted after the
/// last ')': state is the first there, utime the 12th, stime the 13th.
fn parse_stat(stat: &str) -> Option<f64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / TICKS_PER_SECOND)
}

/// The CPU seconds the process spends between the window's start and end.
pub async fn during(window: Window) -> Option<f64> {
    tokio::time::sleep_until(tokio::time::Instant::from_std(window.start)).await;
    let start = process_seconds()?;
    let wait = window.end.saturating_duration_since(Instant::now());
    tokio::time::sleep(wait).await;
    Some(process_seconds()? - start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utime_and_stime_are_read_after_a_name_with_spaces() {
        let line = "4242 (access bench) R 1 4242 4242 0 -1 4194304 1000 0 0 0 250 50 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_stat(line), Some(3.0));
    }

    #[test]
    fn a_line_without_its_fields_gives_nothing() {
        assert_eq!(parse_stat("4242 (bench) R 1"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_has_spent_some_cpu() {
        if cfg!(target_os = "linux") {
            let spent = process_seconds().expect("/proc/self/stat is readable on Linux");
            assert!(spent >= 0.0);
        }
    }
}
