//! One watch's stream: it catches up from the database a page at a time,
//! then follows the replica's feed, until the watcher loses the right, the
//! client goes, or the server ends it with the position to resume from.
//!
//! The stream is pulled: tonic asks for the next event only when HTTP/2
//! flow control lets it send, so a reader that does not read holds a page
//! at most, never a growing buffer. Meanwhile the feed moves on; a watch
//! more than the feed's capacity behind is ended (WATCH_READER_TOO_SLOW).
//!
//! Why switching from catching up to following misses and repeats
//! nothing, with writers committing all along: the log numbers changes in
//! commit order, and a reader that sees one change sees every change
//! before it. Each page is read after subscribing to the feed; the page
//! that comes back short has every change of the watch's scope committed
//! when it was read, and so everything the feed handed on before the
//! subscription (the feed read it earlier). The feed hands on what it reads
//! after the subscription: a change the page had already is at or before
//! the watch's position, and is skipped.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::Instant;
use tonic::Status;
use tracing::instrument::{Instrument, WithSubscriber};

use super::Watches;
use super::open::Held;
use crate::changes::ChangeFeed;
use crate::domain::model::{ActivityRecord, FedChange};
use crate::domain::service::{Watch, WatchCut};
use crate::domain::{DomainError, DomainResult, UseCases};
use crate::grpc::pb;
use crate::metrics::{WatchEnd, WatchMetrics};

/// The stream WatchChanges answers with.
pub type ChangeStream = Pin<Box<dyn Stream<Item = Result<pb::WatchChangesResponse, Status>> + Send>>;

/// Starts following `watch`: the stream holds the watch's places (`held`)
/// until it is dropped.
pub(super) fn follow(use_cases: UseCases, watch: Watch, watches: &Watches, held: Held) -> ChangeStream {
    let settings = watches.settings;
    let following = Following {
        use_cases,
        watch,
        feed: watches.feed.clone(),
        live: None,
        ready: VecDeque::new(),
        page: settings.page,
        buffer: settings.buffer,
        max_age_secs: settings.max_age.as_secs(),
        ends_at: Instant::now() + settings.max_age,
        metrics: watches.metrics.clone(),
        ended: false,
        _held: held,
    };
    Box::pin(futures_util::stream::unfold(
        following,
        |mut following| async move {
            let next = following.next().await?;
            Some((next, following))
        },
    ))
}

struct Following {
    use_cases: UseCases,
    watch: Watch,
    feed: ChangeFeed,
    /// The feed, once caught up; None while catching up.
    live: Option<Receiver<Arc<FedChange>>>,
    /// Read and passed on, not yet sent: the watch's position is past them.
    ready: VecDeque<ActivityRecord>,
    page: usize,
    buffer: usize,
    max_age_secs: u64,
    ends_at: Instant,
    metrics: WatchMetrics,
    ended: bool,
    _held: Held,
}

impl Following {
    /// The next message, or the status that ends the stream, or nothing
    /// once it has ended.
    async fn next(&mut self) -> Option<Result<pb::WatchChangesResponse, Status>> {
        loop {
            if let Some(record) = self.ready.pop_front() {
                return Some(Ok(pb::WatchChangesResponse {
                    event: Some(record.into()),
                }));
            }
            if self.ended {
                return None;
            }
            // Only with nothing left to send: the position a cut carries is
            // then the last change sent.
            let read = tokio::select! {
                biased;
                () = tokio::time::sleep_until(self.ends_at) => None,
                read = self.read() => Some(read),
            };
            let read = read.unwrap_or_else(|| {
                Err(self.cut(WatchCut::MaxAge {
                    max_age_secs: self.max_age_secs,
                }))
            });
            match read {
                Ok(records) => self.ready.extend(records),
                Err(status) => {
                    self.ended = true;
                    return Some(Err(status));
                }
            }
        }
    }

    /// The next changes owed to the watch (possibly none), passed on: read
    /// from the database while catching up, then from the feed.
    async fn read(&mut self) -> Result<Vec<ActivityRecord>, Status> {
        let Some(live) = self.live.as_mut() else {
            // Subscribed before the read (see the module doc).
            let subscription = self.feed.subscribe();
            let page = self.page;
            let records = self
                .run_to_end(move |use_cases, mut watch| async move {
                    let records = use_cases.next_changes(&mut watch, page).await;
                    (watch, records)
                })
                .await?;
            if records.len() < self.page {
                self.live = Some(subscription);
            }
            return Ok(records);
        };
        let mut fed = match live.recv().await {
            Ok(change) => vec![change],
            Err(RecvError::Lagged(_)) => return Err(self.too_slow()),
            // The feed stopped: the server is stopping.
            Err(RecvError::Closed) => {
                return Err(DomainError::Unavailable(
                    "the server is shutting down: resume on another replica from the last change handled"
                        .into(),
                )
                .into());
            }
        };
        // What else is there already: one check of the watcher's right for all of it.
        while fed.len() < self.page {
            match live.try_recv() {
                Ok(change) => fed.push(change),
                Err(TryRecvError::Lagged(_)) => return Err(self.too_slow()),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        self.run_to_end(move |use_cases, mut watch| async move {
            let records = use_cases.owed_changes(&mut watch, &fed).await;
            (watch, records)
        })
        .await
    }

    /// Runs `work` (a read of the database, with the watch as it stands) in
    /// a task of its own, which the stream being dropped (its client gone)
    /// cannot cut short: a transaction cut in the middle of a statement
    /// would go back to the pool still open. Its span and subscriber go
    /// along, so its statements show in the watch's trace. Takes the watch
    /// as `work` leaves it.
    async fn run_to_end<F, Fut>(&mut self, work: F) -> Result<Vec<ActivityRecord>, Status>
    where
        F: FnOnce(UseCases, Watch) -> Fut,
        Fut: Future<Output = (Watch, DomainResult<Vec<ActivityRecord>>)> + Send + 'static,
    {
        let running = work(self.use_cases.clone(), self.watch.clone());
        let (watch, records) = tokio::spawn(running.in_current_span().with_current_subscriber())
            .await
            .map_err(|err| DomainError::Internal(format!("a watch's read failed: {err}")))?;
        self.watch = watch;
        Ok(records?)
    }

    fn too_slow(&self) -> Status {
        self.cut(WatchCut::TooSlow { buffer: self.buffer })
    }

    /// The end of the watch for `why`, with its position, counted.
    fn cut(&self, why: WatchCut) -> Status {
        self.metrics.ended(match why {
            WatchCut::TooSlow { .. } => WatchEnd::TooSlow,
            WatchCut::MaxAge { .. } => WatchEnd::MaxAge,
        });
        self.watch.cut(why).into()
    }
}
