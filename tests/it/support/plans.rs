//! The database's own plan of a statement, for tests that a hot or
//! polling query reads an index range rather than the table.

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::TestApp;

impl TestApp {
    /// Every step of the database's plan for `statement`, one line each:
    /// SQLite's `EXPLAIN QUERY PLAN` details (a sort is a step of its own,
    /// "USE TEMP B-TREE FOR ORDER BY"), or MySQL's `EXPLAIN` rows as
    /// `table=… type=… key=… extra=…` (a sort is "Using filesort" in extra).
    pub async fn plan(&self, statement: Statement) -> Vec<String> {
        let explain = |prefix: &str| Statement {
            sql: format!("{prefix} {}", statement.sql),
            ..statement.clone()
        };
        if statement.db_backend == DbBackend::Sqlite {
            let rows = self
                .db
                .query_all_raw(explain("EXPLAIN QUERY PLAN"))
                .await
                .expect("explained");
            rows.iter()
                .map(|row| row.try_get::<String>("", "detail").expect("detail"))
                .collect()
        } else {
            let rows = self
                .db
                .query_all_raw(explain("EXPLAIN"))
                .await
                .expect("explained");
            rows.iter()
                .map(|row| {
                    let column = |name: &str| {
                        row.try_get::<Option<String>>("", name)
                            .ok()
                            .flatten()
                            .unwrap_or_default()
                    };
                    format!(
                        "table={} type={} key={} extra={}",
                        column("table"),
                        column("type"),
                        column("key"),
                        column("Extra")
                    )
                })
                .collect()
        }
    }
}
