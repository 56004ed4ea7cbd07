//! Settings of WatchChanges streams (docs/change-stream.md): how many may
//! be open, how far one may fall behind, how long one lives, how much one
//! reads at once.

use std::time::Duration;

use clap::Args;

/// Default most watches open at once on one replica.
pub const DEFAULT_WATCH_MAX_OPEN: usize = 1000;
/// Default most watches one caller (API key or client identity) has open
/// on one replica: a quarter of the replica's.
pub const DEFAULT_WATCH_MAX_OPEN_PER_CALLER: usize = 250;
/// Default number of changes a watch may fall behind the replica's feed.
pub const DEFAULT_WATCH_BUFFER: usize = 1024;
/// Default longest life of one watch: the default grace a connection asked
/// to go away has, so a watch ends itself before its connection is closed.
pub const DEFAULT_WATCH_MAX_AGE_SECS: u64 = 10;
/// Default most changes one read of the log returns.
pub const DEFAULT_WATCH_PAGE_SIZE: usize = 100;
/// Largest ACCESS_WATCH_PAGE_SIZE: a page is held in memory per watch.
pub const MAX_WATCH_PAGE_SIZE: usize = 1000;

/// The watch settings.
#[derive(Clone, Debug, Args)]
pub struct WatchConfig {
    /// Most WatchChanges streams open at once on this replica; more are
    /// refused with RESOURCE_EXHAUSTED (WATCH_LIMIT_REACHED).
    #[arg(long, env = "ACCESS_WATCH_MAX_OPEN", default_value_t = DEFAULT_WATCH_MAX_OPEN)]
    pub watch_max_open: usize,
    /// Most WatchChanges streams one caller (API key or client certificate
    /// identity) has open at once on this replica, at most
    /// ACCESS_WATCH_MAX_OPEN; more are refused with RESOURCE_EXHAUSTED
    /// (CALLER_WATCH_LIMIT).
    #[arg(long, env = "ACCESS_WATCH_MAX_OPEN_PER_CALLER", default_value_t = DEFAULT_WATCH_MAX_OPEN_PER_CALLER)]
    pub watch_max_open_per_caller: usize,
    /// How many changes, of any account, a watch may fall behind this
    /// replica's feed of new changes before it is ended (ABORTED,
    /// WATCH_READER_TOO_SLOW) with the position to resume from; at least
    /// twice ACCESS_WATCH_PAGE_SIZE.
    #[arg(long, env = "ACCESS_WATCH_BUFFER", default_value_t = DEFAULT_WATCH_BUFFER)]
    pub watch_buffer: usize,
    /// Seconds after which a watch ends (ABORTED, WATCH_MAX_AGE) with the
    /// position to resume from; at most ACCESS_MAX_CONNECTION_AGE_GRACE_SECS
    /// while connections have a maximum age, so a watch always ends itself
    /// before its connection is closed.
    #[arg(long, env = "ACCESS_WATCH_MAX_AGE_SECS", default_value_t = DEFAULT_WATCH_MAX_AGE_SECS)]
    pub watch_max_age_secs: u64,
    /// Most changes one read of the log returns: a watch catching up reads
    /// pages of this size, and so does the replica's feed.
    #[arg(long, env = "ACCESS_WATCH_PAGE_SIZE", default_value_t = DEFAULT_WATCH_PAGE_SIZE)]
    pub watch_page_size: usize,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            watch_max_open: DEFAULT_WATCH_MAX_OPEN,
            watch_max_open_per_caller: DEFAULT_WATCH_MAX_OPEN_PER_CALLER,
            watch_buffer: DEFAULT_WATCH_BUFFER,
            watch_max_age_secs: DEFAULT_WATCH_MAX_AGE_SECS,
            watch_page_size: DEFAULT_WATCH_PAGE_SIZE,
        }
    }
}

impl WatchConfig {
    /// Refuses settings a watch could not keep; `connection_grace_secs` is
    /// ACCESS_MAX_CONNECTION_AGE_GRACE_SECS when connections have a maximum
    /// age (None when they live on).
    pub fn validate(&self, connection_grace_secs: Option<u64>) -> anyhow::Result<()> {
        for (name, value) in [
            ("ACCESS_WATCH_MAX_OPEN", self.watch_max_open as u64),
            (
                "ACCESS_WATCH_MAX_OPEN_PER_CALLER",
                self.watch_max_open_per_caller as u64,
            ),
            ("ACCESS_WATCH_BUFFER", self.watch_buffer as u64),
            ("ACCESS_WATCH_MAX_AGE_SECS", self.watch_max_age_secs),
            ("ACCESS_WATCH_PAGE_SIZE", self.watch_page_size as u64),
        ] {
            anyhow::ensure!(value > 0, "{name} must be greater than 0");
        }
        anyhow::ensure!(
            self.watch_page_size <= MAX_WATCH_PAGE_SIZE,
            "ACCESS_WATCH_PAGE_SIZE must be at most {MAX_WATCH_PAGE_SIZE}"
        );
        // One read of the feed must not, by itself, put a watch that keeps
        // up behind by more than it may fall.
        anyhow::ensure!(
            self.watch_buffer >= 2 * self.watch_page_size,
            "ACCESS_WATCH_BUFFER ({}) must be at least twice ACCESS_WATCH_PAGE_SIZE ({})",
            self.watch_buffer,
            self.watch_page_size
        );
        // A stream opens before its connection's GOAWAY at the latest, and
        // the connection is closed a grace later: a watch no older than the
        // grace ends, with its resume position, before that.
        anyhow::ensure!(
            connection_grace_secs.is_none_or(|grace| self.watch_max_age_secs <= grace),
            "ACCESS_WATCH_MAX_AGE_SECS ({}) must be at most ACCESS_MAX_CONNECTION_AGE_GRACE_SECS ({}): \
             a watch must end, with the position to resume from, before its connection is closed",
            self.watch_max_age_secs,
            connection_grace_secs.unwrap_or_default()
        );
        Ok(())
    }

    /// Watches one caller may have open: its own limit, never more than the
    /// replica's.
    pub fn max_open_per_caller(&self) -> usize {
        self.watch_max_open_per_caller.min(self.watch_max_open)
    }

    /// The longest life of one watch.
    pub fn max_age(&self) -> Duration {
        Duration::from_secs(self.watch_max_age_secs)
    }
}
