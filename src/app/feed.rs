//! The change feed every watch of the replica follows, as the App builds
//! it: the log it reads and where it starts, read before serving, so no
//! watch can begin before the feed's first change.

use std::sync::Arc;

use anyhow::Context;
use sea_orm::DatabaseConnection;

use super::connect;
use crate::changes::{ChangeFeed, FeedTask};
use crate::config::Config;
use crate::domain::ports::Reads;
use crate::storage::{self, SeaStore};

/// A feed built, not yet reading.
pub(super) struct Feed {
    /// Where watches subscribe.
    pub(super) feed: ChangeFeed,
    log: Arc<dyn Reads>,
    head: i64,
}

impl Feed {
    /// The feed of `config`, reading the log on a pool of its own (as the
    /// publisher does), but for an in-memory database, which only the
    /// requests' pool, `requests_db`, holds.
    pub(super) async fn build(config: &Config, requests_db: &DatabaseConnection) -> anyhow::Result<Self> {
        let log_db = if storage::in_memory(&config.database_url) {
            requests_db.clone()
        } else {
            connect(config, 1)
                .await
                .context("cannot connect to the database for the change feed")?
                .0
        };
        let log = Arc::new(SeaStore::new(log_db)) as Arc<dyn Reads>;
        let head = ChangeFeed::head(log.as_ref())
            .await
            .context("cannot read where the change feed starts")?;
        Ok(Self {
            feed: ChangeFeed::new(config.watch.watch_buffer),
            log,
            head,
        })
    }

    /// Starts reading: the feed, for the watches, and its task, to stop.
    pub(super) fn start(self, config: &Config) -> (ChangeFeed, FeedTask) {
        let task = self
            .feed
            .start(self.log, self.head, super::settings::feed_settings(config));
        (self.feed, task)
    }
}
