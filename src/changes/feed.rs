//! The feed every WatchChanges of a replica follows: one task reads the
//! changes committed since its last read, in commit order, and hands each
//! to every open watch through one broadcast channel. However many watches
//! are open, the replica reads the log once a poll; a watch reads the
//! database itself only to catch up from an older position, a page at a
//! time, and to check its watcher's right when it has something to send.
//!
//! Nothing is skipped: the feed starts from the newest change when the
//! server starts (read before it serves, so no watch can start before it),
//! and a read that fails is retried from the same position. A watch that
//! falls more than the channel's capacity behind is told so
//! (`RecvError::Lagged`) instead of being buffered for.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::domain::DomainResult;
use crate::domain::model::FedChange;
use crate::domain::ports::Reads;

/// Longest wait between two reads while the database fails.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How the feed reads the log.
#[derive(Clone, Copy, Debug)]
pub struct FeedSettings {
    /// Pause between reads once caught up.
    pub poll: Duration,
    /// Most changes one read returns.
    pub page: usize,
}

/// The replica's feed: where watches subscribe. Clones share the channel.
#[derive(Clone, Debug)]
pub struct ChangeFeed {
    changes: broadcast::Sender<Arc<FedChange>>,
    /// Reads of the log by the feed's task (one statement each).
    reads: Counter,
    /// When a read last reached the newest change, in Unix seconds: how
    /// far behind the feed is, even when nothing is written.
    caught_up_at: Gauge<f64, AtomicU64>,
}

impl ChangeFeed {
    /// A feed whose subscribers may fall `buffer` changes behind.
    pub fn new(buffer: usize) -> Self {
        let (changes, _) = broadcast::channel(buffer);
        Self {
            changes,
            reads: Counter::default(),
            caught_up_at: Gauge::default(),
        }
    }

    /// Every change the feed reads from now on, to a subscriber that may
    /// fall `buffer` changes behind.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<FedChange>> {
        self.changes.subscribe()
    }

    /// The reads of the log the feed has made, for the metrics.
    pub fn reads(&self) -> Counter {
        self.reads.clone()
    }

    /// When a read of the feed last reached the newest change, for the metrics.
    pub fn caught_up_at(&self) -> Gauge<f64, AtomicU64> {
        self.caught_up_at.clone()
    }

    /// Where the feed starts: the newest change now, read from `log`.
    pub async fn head(log: &dyn Reads) -> DomainResult<i64> {
        log.last_change_seq().await
    }

    /// Starts reading `log` after `head` (from [`ChangeFeed::head`]).
    pub fn start(&self, log: Arc<dyn Reads>, head: i64, settings: FeedSettings) -> FeedTask {
        let (stop, stopped) = watch::channel(false);
        let reader = Reader {
            feed: self.clone(),
            log,
            head,
            settings,
        };
        FeedTask {
            stop,
            task: tokio::spawn(reader.run(stopped)),
        }
    }
}

/// The running feed; [`FeedTask::stop`] ends it.
pub struct FeedTask {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl FeedTask {
    /// Stops reading (after the read in flight, if any).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(err) = self.task.await {
            tracing::warn!(error = %err, "the change feed ended abnormally");
        }
    }
}

struct Reader {
    feed: ChangeFeed,
    log: Arc<dyn Reads>,
    head: i64,
    settings: FeedSettings,
}

impl Reader {
    async fn run(mut self, mut stopped: watch::Receiver<bool>) {
        let mut backoff = self.settings.poll;
        let mut failing = false;
        loop {
            let wait = match self.read().await {
                Ok(read) => {
                    if failing {
                        tracing::info!("the change feed reads the log again");
                        failing = false;
                    }
                    backoff = self.settings.poll;
                    // A full page: more are waiting, go on at once.
                    if read >= self.settings.page {
                        Duration::ZERO
                    } else {
                        self.settings.poll
                    }
                }
                Err(err) => {
                    // One warning per outage, not one per attempt.
                    if !failing {
                        tracing::warn!(error = %err, "the change feed cannot read the log; retrying");
                        failing = true;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    backoff
                }
            };
            tokio::select! {
                _ = stopped.wait_for(|stop| *stop) => break,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Reads the next page and hands it on; returns how many changes it read.
    async fn read(&mut self) -> DomainResult<usize> {
        let changes = self.log.fed_changes(self.head, self.settings.page).await;
        self.feed.reads.inc();
        let changes = changes?;
        let read = changes.len();
        for change in changes {
            self.head = change.record.seq;
            // Err only when no watch is open: nobody to hand it to.
            let _ = self.feed.changes.send(Arc::new(change));
        }
        if read < self.settings.page {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            self.feed.caught_up_at.set(now.as_secs_f64());
        }
        Ok(read)
    }
}
