//! The clock a replica's cache trust runs on.
//!
//! A lease is live for a term on Redis's clock and on the writers' waits;
//! the replica holding it must not count that term on a clock that stops
//! while its machine is suspended (a paused VM, a laptop lid), or it would
//! wake up trusting entries every writer has stopped waiting for. std's and
//! tokio's `Instant` are CLOCK_MONOTONIC on Linux, which stops; this is
//! CLOCK_BOOTTIME, which goes on. Elsewhere, `Instant`.

/// Nanoseconds since an arbitrary origin, fixed for the process, counting
/// time suspended where the platform can.
#[cfg(target_os = "linux")]
pub fn now_ns() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    u64::try_from(now.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(now.tv_nsec).unwrap_or(0))
}

/// Nanoseconds since an arbitrary origin, fixed for the process.
#[cfg(not(target_os = "linux"))]
pub fn now_ns() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::now_ns;

    #[test]
    fn it_moves_forward_with_time() {
        let before = now_ns();
        std::thread::sleep(Duration::from_millis(20));
        let elapsed = now_ns() - before;
        assert!(elapsed >= 20_000_000, "{elapsed} ns");
    }
}
