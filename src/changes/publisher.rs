//! Copies committed changes, in commit order, from the activity log to a
//! capped Redis Stream (`XADD ... MAXLEN ~ N`), at least once, surviving
//! Redis outages and safe with any number of replicas.
//!
//! How:
//! - The log numbers changes in commit order (`change_clock`, migration
//!   000011), so "every change after N" misses nothing that committed.
//! - The cursor (the last change published) lives in Redis next to the
//!   stream, and one script appends a batch and moves the cursor together,
//!   only if the cursor is still where this replica read it
//!   (compare-and-set). Every replica runs a publisher; when two read the
//!   same batch, one script wins and the other's finds the cursor moved
//!   and appends nothing. So the positions are idempotent: no lease, no
//!   duplicate from racing replicas, and a replica that dies mid-batch
//!   leaves either the whole batch published or none of it.
//! - While Redis is down nothing moves; the cursor stays where it was and
//!   the publisher catches up from it when Redis is back (backing off up to
//!   `MAX_BACKOFF` meanwhile). If Redis loses the cursor (a flushed or new
//!   Redis), publishing starts again from the first recorded change; the
//!   cap bounds the stream, and consumers drop ids they have seen.

use std::sync::Arc;
use std::time::Duration;

use chrono::SecondsFormat;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::domain::DomainError;
use crate::domain::model::{ActivityRecord, ChangeQuery, ChangeScope};
use crate::domain::ports::Reads;
use crate::redis_keys::Keys;

/// Longest wait between two attempts while Redis or the database fails.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Appends a batch and moves the cursor, if the cursor is still ARGV[1]
/// (empty: never set). KEYS: stream, cursor. ARGV: expected cursor, the
/// cap, the new cursor, the field count of one event, then every event's
/// field/value pairs. Returns 1 when appended, 0 when another publisher
/// moved the cursor first.
const PUBLISH: &str = include_str!("publish.lua");

/// The names and sizes of the stream.
#[derive(Clone, Debug)]
pub struct PublisherSettings {
    /// The stream's name (the key is `<namespace>:{<name>}`).
    pub stream: String,
    /// The cap: about this many newest entries are kept (`MAXLEN ~`).
    pub max_len: u64,
    /// How often a caught-up publisher looks for new changes.
    pub poll: Duration,
    /// Most changes published by one script.
    pub batch: usize,
}

/// The running publisher; [`ChangePublisher::stop`] ends it.
pub struct ChangePublisher {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ChangePublisher {
    /// Starts publishing the changes `log` reads to the Redis `client`
    /// reaches. Starts even when Redis is down: it publishes once it is up.
    pub fn start(
        client: redis::Client,
        namespace: &str,
        log: Arc<dyn Reads>,
        settings: PublisherSettings,
    ) -> anyhow::Result<Self> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;
        let keys = Keys::new(namespace);
        let (stop, stopped) = watch::channel(false);
        let publisher = Publisher {
            conn,
            stream: keys.change_stream(&settings.stream),
            cursor: keys.change_cursor(&settings.stream),
            log,
            settings,
        };
        let task = tokio::spawn(publisher.run(stopped));
        Ok(Self { stop, task })
    }

    /// Stops publishing (after the batch in flight, if any). What is not
    /// published yet stays in the log for the next publisher.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(err) = self.task.await {
            tracing::warn!(error = %err, "the change publisher ended abnormally");
        }
    }
}

struct Publisher {
    conn: ConnectionManager,
    stream: String,
    cursor: String,
    log: Arc<dyn Reads>,
    settings: PublisherSettings,
}

/// Why a round failed.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("database: {0}")]
    Log(#[from] DomainError),
}

impl Publisher {
    async fn run(mut self, mut stopped: watch::Receiver<bool>) {
        tracing::info!(stream = %self.stream, max_len = self.settings.max_len, "publishing changes");
        let mut backoff = self.settings.poll;
        let mut failing = false;
        loop {
            let wait = match self.round().await {
                Ok(published) => {
                    if failing {
                        tracing::info!(stream = %self.stream, "publishing changes again");
                        failing = false;
                    }
                    backoff = self.settings.poll;
                    // A full batch: more are waiting, go on at once.
                    if published >= self.settings.batch {
                        Duration::ZERO
                    } else {
                        self.settings.poll
                    }
                }
                Err(err) => {
                    // One warning per outage, not one per attempt.
                    if !failing {
                        tracing::warn!(stream = %self.stream, error = %err, "cannot publish changes; retrying");
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
        tracing::info!(stream = %self.stream, "stopped publishing changes");
    }

    /// Publishes the next batch; returns how many changes it read.
    async fn round(&mut self) -> Result<usize, RoundError> {
        let cursor: Option<String> = redis::cmd("GET")
            .arg(&self.cursor)
            .query_async(&mut self.conn)
            .await?;
        // A cursor we cannot read is not "start again": refuse to guess.
        let after_seq = match cursor.as_deref() {
            None => None,
            Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
                DomainError::Internal(format!("the change cursor {} holds '{raw}'", self.cursor))
            })?),
        };
        let query = ChangeQuery {
            scope: ChangeScope::All,
            after_revision: None,
            after_seq,
        };
        let rows = self.log.changes(&query, self.settings.batch).await?;
        let Some(last) = rows.last() else {
            return Ok(0);
        };
        let mut script = redis::cmd("EVAL");
        script
            .arg(PUBLISH)
            .arg(2)
            .arg(&self.stream)
            .arg(&self.cursor)
            .arg(cursor.unwrap_or_default())
            .arg(self.settings.max_len)
            .arg(last.seq)
            .arg(EVENT_FIELDS);
        for row in &rows {
            for (field, value) in event_fields(row) {
                script.arg(field).arg(value);
            }
        }
        let appended: i64 = script.query_async(&mut self.conn).await?;
        if appended == 1 {
            tracing::debug!(stream = %self.stream, changes = rows.len(), "published changes");
        }
        Ok(rows.len())
    }
}

/// How many fields one stream entry has.
const EVENT_FIELDS: usize = 10;

/// One change as a stream entry: the fields of `access.v1.ChangeEvent`,
/// every value a string.
fn event_fields(row: &ActivityRecord) -> [(&'static str, String); EVENT_FIELDS] {
    [
        ("id", row.id.as_str().to_owned()),
        ("account_id", row.entry.account_id.as_str().to_owned()),
        ("revision", row.revision.to_string()),
        ("kind", row.entry.action().as_str().to_owned()),
        ("target", row.entry.target.clone()),
        ("actor_user_id", row.entry.actor.as_str().to_owned()),
        ("via_name", row.entry.via.name().to_owned()),
        ("via_kind", row.entry.via.kind().as_str().to_owned()),
        (
            "create_time",
            row.entry.at.to_rfc3339_opts(SecondsFormat::Millis, true),
        ),
        ("details_json", row.entry.details.json().to_string()),
    ]
}
