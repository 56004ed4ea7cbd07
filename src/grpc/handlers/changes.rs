//! The change stream: WatchChanges, and the stream it answers with
//! (`changes/follow.rs`), which catches up from the database a page at a
//! time, then follows the replica's feed of new changes (`crate::changes`):
//! one reader of the log per replica, however many watches are open.
//! Reading the database, the source of truth, rather than listening to
//! Redis keeps the stream exact when Redis is down and needs no second
//! ordering to reconcile with the database's.
//!
//! Every watch is bounded: caps on the watches open on the replica and per
//! caller (`changes/open.rs`), how far one may fall behind the feed, and
//! how long one lives. A watch the server ends on purpose ends with
//! ABORTED and the position to resume from.

mod follow;
mod open;

use std::time::Duration;

use tonic::{Request, Status};

use super::GrpcHandlers;
use crate::changes::ChangeFeed;
use crate::domain::model::{ChangeScope, PlatformActor};
use crate::grpc::convert;
use crate::grpc::middleware::{KeyScope, caller_of, record_subject};
use crate::grpc::pb;
use crate::metrics::WatchMetrics;
pub use follow::ChangeStream;
use open::OpenWatches;

/// The bounds of every watch (the ACCESS_WATCH_* settings).
#[derive(Clone, Copy, Debug)]
pub struct WatchSettings {
    /// Most watches open on the replica.
    pub max_open: usize,
    /// Most watches one caller has open on the replica.
    pub max_open_per_caller: usize,
    /// How many changes a watch may fall behind the feed (the feed's capacity).
    pub buffer: usize,
    /// The longest life of one watch.
    pub max_age: Duration,
    /// Most changes one read of the log returns.
    pub page: usize,
}

/// What every watch of the replica shares: the feed it follows, the counts
/// its caps hold, its bounds.
#[derive(Clone, Debug)]
pub struct Watches {
    feed: ChangeFeed,
    open: OpenWatches,
    settings: WatchSettings,
    metrics: WatchMetrics,
}

impl Watches {
    /// Watches following `feed` (whose capacity is `settings.buffer`),
    /// bounded by `settings`, recorded in `metrics`.
    pub fn new(feed: ChangeFeed, settings: WatchSettings, metrics: WatchMetrics) -> Self {
        Self {
            feed,
            open: OpenWatches::new(settings.max_open, settings.max_open_per_caller, metrics.clone()),
            settings,
            metrics,
        }
    }
}

impl GrpcHandlers {
    pub(super) async fn watch_changes(
        &self,
        mut request: Request<pb::WatchChangesRequest>,
    ) -> Result<ChangeStream, Status> {
        let caller = caller_of(&request)?;
        // Before anything else: a watch past a cap costs no database work.
        let held = self.watches.open.hold(&caller)?;
        let use_cases = self.acting(&mut request).await?;
        let platform = caller
            .scopes()
            .contains(KeyScope::Platform)
            .then(|| PlatformActor::new(caller.name()));
        let watch = convert::watch_request(request.get_ref(), platform)?;
        if let ChangeScope::Account(account) | ChangeScope::Team(account) = &watch.scope {
            record_subject(Some(account), None);
        }
        let watch = use_cases.watch_changes(watch).await?;
        Ok(follow::follow(use_cases, watch, &self.watches, held))
    }
}
