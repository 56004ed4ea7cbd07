//! The cache fence's two statements (the table: migration
//! m20261130_000006_cache_fence; the trait and its use: src/cache/fence.rs
//! and src/cache/coherence.rs).

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};

use crate::cache::Fence;

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
}

#[async_trait]
impl Fence for CacheFence {
    async fn read(&self) -> anyhow::Result<i64> {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT generation FROM cache_fence WHERE id = 1",
            ))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("the cache fence row".into()))?;
        Ok(row.try_get_by_index::<i64>(0)?)
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
