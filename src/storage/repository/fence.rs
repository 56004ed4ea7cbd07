//! The cache fence's statements (the table: migration
//! m20261130_000006_cache_fence; the trait and its use: src/cache/fence.rs
//! and src/cache/coherence.rs): its generation, and the change log's
//! revisions since a position.

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement, Value};

use crate::cache::{Fence, FenceRead};
use crate::domain::ids::AccountId;
use crate::domain::model::AccountRevision;

/// Most changes one read returns; a replica further behind reads again at
/// once. Also how far back a replica's first read looks.
pub const LOG_PAGE: i64 = 10_000;

/// The fence on the service's connection pool.
#[derive(Clone)]
pub struct CacheFence {
    db: DatabaseConnection,
}

impl CacheFence {
    /// The fence of the database behind `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The generation, and how far the database's clock is ahead of this
    /// replica's (ms): read in the same statement, so watching the clock
    /// costs the fence loop no round trip.
    async fn generation(&self) -> anyhow::Result<(i64, i64)> {
        let backend = self.db.get_database_backend();
        let sent = chrono::Utc::now().timestamp_millis();
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                backend,
                format!(
                    "SELECT generation, {} FROM cache_fence WHERE id = 1",
                    crate::storage::clock_sql(backend)
                ),
            ))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("the cache fence row".into()))?;
        let received = chrono::Utc::now().timestamp_millis();
        let skew = row.try_get_by_index::<i64>(1)? - (sent + received) / 2;
        Ok((row.try_get_by_index::<i64>(0)?, skew))
    }

    /// Changes only (revision > 0): they alone are numbered in commit order
    /// (sign-ins skip the change clock), so "after N" misses none of them.
    async fn changes(&self, after: Option<i64>) -> anyhow::Result<Vec<(i64, String, i64)>> {
        let backend = self.db.get_database_backend();
        let statement = match after {
            Some(after) => Statement::from_sql_and_values(
                backend,
                "SELECT id, account_id, revision FROM activity_log \
                 WHERE id > ? AND revision > 0 ORDER BY id LIMIT ?",
                [Value::from(after), Value::from(LOG_PAGE)],
            ),
            None => Statement::from_sql_and_values(
                backend,
                "SELECT id, account_id, revision FROM activity_log \
                 WHERE revision > 0 ORDER BY id DESC LIMIT ?",
                [Value::from(LOG_PAGE)],
            ),
        };
        let mut rows = Vec::new();
        for row in self.db.query_all_raw(statement).await? {
            rows.push((
                row.try_get_by_index::<i64>(0)?,
                row.try_get_by_index::<String>(1)?,
                row.try_get_by_index::<i64>(2)?,
            ));
        }
        if after.is_none() {
            rows.reverse();
        }
        Ok(rows)
    }
}

#[async_trait]
impl Fence for CacheFence {
    async fn read(&self, after: Option<i64>) -> anyhow::Result<FenceRead> {
        let (generation, skew) = self.generation().await?;
        let clock_skew_ms = Some(skew);
        let changes = self.changes(after).await?;
        let complete = after.is_none() || (changes.len() as i64) < LOG_PAGE;
        let through = changes.last().map_or(after.unwrap_or(0), |(id, _, _)| *id);
        let written = changes
            .into_iter()
            .map(|(_, account, revision)| AccountRevision {
                account: AccountId::from_trusted(account),
                revision: u64::try_from(revision).unwrap_or_default(),
            })
            .collect();
        Ok(FenceRead {
            clock_skew_ms,
            generation,
            written,
            through,
            complete,
        })
    }

    async fn bump(&self) -> anyhow::Result<()> {
        let backend = self.db.get_database_backend();
        self.db
            .execute_raw(Statement::from_string(
                backend,
                "UPDATE cache_fence SET generation = generation + 1 WHERE id = 1",
            ))
            .await?;
        Ok(())
    }
}
