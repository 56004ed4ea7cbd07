//! Settings read from files that operators replace while the service runs
//! (a rotated TLS certificate or client CA, a new API key file): [`Reloading`] holds the
//! value last read and reads the files again when they change.
//!
//! The check is made by the callers of [`Reloading::current`] (a TLS
//! handshake, an authenticated request), at most once per interval: one
//! `stat` of each file, and a read only when a file's modification time, size
//! or inode changed. No background task, so nothing to stop, and a server that
//! gets no traffic reads nothing. A file that no longer parses keeps the
//! previous value in force, the log says why (an error: a rotation or a
//! revocation did not take) and [`Reloading::failures`] counts it; it is not
//! tried again until the files change again.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use prometheus_client::metrics::counter::Counter;

/// What identifies one version of a file: replaced (renamed over, or a
/// Kubernetes Secret's symlink swapped) or rewritten, one of these changes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    // `metadata` follows symlinks: the stamp is the target's.
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        inode,
    })
}

/// The loader of a [`Reloading`] value: reads and parses the files.
type Loader<T> = Box<dyn Fn(&[PathBuf]) -> anyhow::Result<T> + Send + Sync>;

/// The value last read from files, read again when they change.
pub struct Reloading<T> {
    /// What the files are, for the log (e.g. `ACCESS_API_KEYS_FILE`).
    what: &'static str,
    /// Empty: a fixed value (configured inline), never re-read.
    paths: Vec<PathBuf>,
    load: Option<Loader<T>>,
    interval: Duration,
    /// `next_check` counts milliseconds from here.
    epoch: Instant,
    /// When the files may be looked at next: one caller per interval does.
    next_check: AtomicU64,
    state: RwLock<State<T>>,
    /// Versions of the files that could not be used (shared with the metrics).
    failures: Counter,
}

struct State<T> {
    value: Arc<T>,
    /// The files' stamps when last read (successfully or not).
    stamps: Vec<Option<Stamp>>,
}

impl<T> fmt::Debug for Reloading<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reloading")
            .field("what", &self.what)
            .field("paths", &self.paths)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl<T> Reloading<T> {
    /// A value that never changes (configured inline, not from a file).
    pub fn fixed(value: T) -> Self {
        Self {
            what: "fixed",
            paths: Vec::new(),
            load: None,
            interval: Duration::MAX,
            epoch: Instant::now(),
            next_check: AtomicU64::new(u64::MAX),
            state: RwLock::new(State {
                value: Arc::new(value),
                stamps: Vec::new(),
            }),
            failures: Counter::default(),
        }
    }

    /// Reads `paths` with `load` now (an error here is returned: a service
    /// does not start on a bad file), then again whenever they change, checked
    /// at most every `interval`. `what` names the files in the log.
    pub fn watch(
        what: &'static str,
        paths: Vec<PathBuf>,
        interval: Duration,
        load: impl Fn(&[PathBuf]) -> anyhow::Result<T> + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        // Stamps first: a change made while reading is seen at the next check.
        let stamps = paths.iter().map(|path| stamp(path)).collect();
        let value = load(&paths)?;
        let epoch = Instant::now();
        Ok(Self {
            what,
            next_check: AtomicU64::new(millis(interval)),
            paths,
            load: Some(Box::new(load)),
            interval,
            epoch,
            state: RwLock::new(State {
                value: Arc::new(value),
                stamps,
            }),
            failures: Counter::default(),
        })
    }

    /// How many changed versions of the files could not be used, so the
    /// previous value stayed in force: the same counter, shared, for the
    /// metrics to export.
    pub fn failures(&self) -> Counter {
        self.failures.clone()
    }

    /// The value in force, after reading the files again if they changed
    /// (looked at no more than once per interval).
    pub fn current(&self) -> Arc<T> {
        let now = millis(self.epoch.elapsed());
        let next = self.next_check.load(Ordering::Relaxed);
        // One caller per interval wins the exchange and looks at the files.
        if now >= next
            && self
                .next_check
                .compare_exchange(
                    next,
                    now.saturating_add(millis(self.interval)),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            self.reload_if_changed();
        }
        Arc::clone(&self.read().value)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State<T>> {
        // A panic while holding the lock cannot leave State half-written
        // (both fields are replaced in one assignment): keep serving.
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn reload_if_changed(&self) {
        let Some(load) = &self.load else { return };
        let stamps: Vec<Option<Stamp>> = self.paths.iter().map(|path| stamp(path)).collect();
        if self.read().stamps == stamps {
            return;
        }
        let loaded = load(&self.paths);
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        match loaded {
            Ok(value) => {
                *state = State {
                    value: Arc::new(value),
                    stamps,
                };
                tracing::info!(files = ?self.paths, "{} changed: reloaded", self.what);
            }
            Err(err) => {
                // Not tried again until the files change again: one line per bad version.
                state.stamps = stamps;
                self.failures.inc();
                tracing::error!(
                    files = ?self.paths,
                    error = format!("{err:#}"),
                    "{} changed but cannot be used: keeping the previous version in force",
                    self.what
                );
            }
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("access-reload-{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, text).expect("write");
        path
    }

    fn replace(path: &Path, text: &str) {
        // As an operator (or Kubernetes) does: a new file renamed over the old one.
        let next = path.with_extension("next");
        std::fs::write(&next, text).expect("write");
        std::fs::rename(&next, path).expect("rename");
    }

    fn numbers(path: PathBuf, interval: Duration) -> Reloading<u32> {
        Reloading::watch("numbers", vec![path], interval, |paths| {
            Ok(std::fs::read_to_string(&paths[0])?.trim().parse()?)
        })
        .expect("loads")
    }

    #[test]
    fn a_changed_file_is_read_again_and_a_bad_one_keeps_the_old_value() {
        let path = temp_file("1");
        let value = numbers(path.clone(), Duration::ZERO);
        assert_eq!(*value.current(), 1);
        replace(&path, "2");
        assert_eq!(*value.current(), 2);
        assert_eq!(value.failures().get(), 0);
        replace(&path, "not a number");
        assert_eq!(*value.current(), 2, "a bad file keeps the previous value");
        assert_eq!(value.failures().get(), 1, "and is counted");
        assert_eq!(*value.current(), 2);
        assert_eq!(value.failures().get(), 1, "once per version");
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(*value.current(), 2, "a missing file too");
        assert_eq!(value.failures().get(), 2);
        replace(&path, "3");
        assert_eq!(*value.current(), 3);
        assert_eq!(value.failures().get(), 2);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn files_are_looked_at_once_per_interval() {
        let path = temp_file("1");
        let value = numbers(path.clone(), Duration::from_secs(3600));
        replace(&path, "2");
        assert_eq!(*value.current(), 1, "not before the interval has passed");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_bad_file_at_start_up_is_an_error() {
        let path = temp_file("x");
        let err = Reloading::<u32>::watch("numbers", vec![path.clone()], Duration::ZERO, |paths| {
            Ok(std::fs::read_to_string(&paths[0])?.trim().parse()?)
        })
        .expect_err("refused");
        assert!(err.to_string().contains("invalid digit"), "{err}");
        assert_eq!(*Reloading::fixed(7).current(), 7);
        let _ = std::fs::remove_file(&path);
    }
}
