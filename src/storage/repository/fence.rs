//! The cache fence's two statements (the table: migration
//! m20261130_000006_cache_fence; its use: src/cache/coherence.rs).

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};

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

    /// The fence's generation now.
    pub async fn read(&self) -> Result<i64, DbErr> {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT generation FROM cache_fence WHERE id = 1",
            ))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("the cache fence row".into()))?;
        row.try_get_by_index::<i64>(0)
    }

    /// Moves the fence: every replica drops its cached entries at its next read.
    pub async fn bump(&self) -> Result<(), DbErr> {
        let backend = self.db.get_database_backend();
        self.db
            .execute_raw(Statement::from_string(
                backend,
                "UPDATE cache_fence SET generation = generation + 1 WHERE id = 1",
            ))
            .await
            .map(drop)
    }
}
