//! Snapshots of the whole schema (row counts, row digests): what a refused
//! request must leave exactly as it was.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::TestApp;

impl TestApp {
    /// The tables of the schema, read from the database's own catalogue so a
    /// table added by a migration is included.
    async fn tables(&self) -> Vec<String> {
        let backend = self.db.get_database_backend();
        let tables = if backend == DbBackend::Sqlite {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        } else {
            "SELECT TABLE_NAME AS name FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'"
        };
        let names: Vec<String> = self
            .db
            .query_all_raw(Statement::from_string(backend, tables.to_owned()))
            .await
            .expect("the schema's tables are listed")
            .iter()
            .map(|row| row.try_get::<String>("", "name").expect("a table name"))
            .collect();
        assert!(!names.is_empty(), "the schema has tables");
        names
    }

    /// Row counts of every table of the schema: equal before and after a
    /// refused request.
    pub async fn table_counts(&self) -> BTreeMap<String, i64> {
        let backend = self.db.get_database_backend();
        // One statement for them all: the abuse catalogue counts after every case.
        let sql = self
            .tables()
            .await
            .iter()
            .map(|name| format!("SELECT '{name}' AS t, COUNT(*) AS n FROM {name}"))
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        self.db
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .expect("count query runs")
            .iter()
            .map(|row| {
                (
                    row.try_get::<String>("", "t").expect("a table name"),
                    row.try_get::<i64>("", "n").expect("count is an integer"),
                )
            })
            .collect()
    }

    /// What [`TableDigests::read`] sends: every row of every table, each as
    /// its columns' SQL literals, in one statement. Counters a commit bumps
    /// even when it changes nothing (`accounts.revision`,
    /// `cache_fence.generation`: an idempotent retry still reaches every
    /// replica) are left out.
    pub async fn table_digests(&self) -> TableDigests {
        const BUMPED: [(&str, &str); 2] = [("accounts", "revision"), ("cache_fence", "generation")];
        let backend = self.db.get_database_backend();
        let mut selects = Vec::new();
        for table in self.tables().await {
            let columns_sql = if backend == DbBackend::Sqlite {
                format!("SELECT name FROM pragma_table_info('{table}')")
            } else {
                format!(
                    "SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS \
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}'"
                )
            };
            let quoted: Vec<String> = self
                .db
                .query_all_raw(Statement::from_string(backend, columns_sql))
                .await
                .expect("the table's columns are listed")
                .iter()
                .map(|row| row.try_get::<String>("", "name").expect("a column name"))
                .filter(|column| !BUMPED.contains(&(table.as_str(), column.as_str())))
                .map(|column| format!("QUOTE(`{column}`)"))
                .collect();
            let row = if backend == DbBackend::Sqlite {
                quoted.join(" || '|' || ")
            } else {
                format!("CONCAT_WS('|', {})", quoted.join(", "))
            };
            selects.push(format!("SELECT '{table}' AS t, {row} AS r FROM `{table}`"));
        }
        TableDigests {
            statement: Statement::from_string(backend, selects.join(" UNION ALL ")),
        }
    }
}

/// A digest of every table's rows (see [`TestApp::table_digests`]): equal
/// before and after a request that changed nothing, whatever it touched.
pub struct TableDigests {
    statement: Statement,
}

impl TableDigests {
    /// Each table's digest now (a table without rows has none).
    pub async fn read(&self, app: &TestApp) -> BTreeMap<String, u64> {
        use std::hash::{Hash, Hasher};
        let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in app
            .db
            .query_all_raw(self.statement.clone())
            .await
            .expect("every table's rows are read")
        {
            rows.entry(row.try_get::<String>("", "t").expect("a table name"))
                .or_default()
                .push(row.try_get::<String>("", "r").expect("a row as text"));
        }
        rows.into_iter()
            .map(|(table, mut rows)| {
                rows.sort();
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                rows.hash(&mut hasher);
                (table, hasher.finish())
            })
            .collect()
    }
}
