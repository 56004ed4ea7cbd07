//! The test's own database: a uniquely named one per test, dropped after it.

use std::path::PathBuf;

use sea_orm::{ConnectionTrait, Database};

/// Which database a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Db {
    Sqlite,
    Mysql,
}

/// Where the MySQL test server is; the test script creates this user.
pub fn mysql_admin_url() -> String {
    std::env::var("ACCESS_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://access_test:access_test@127.0.0.1:3306".to_owned())
}

/// A uniquely named database, removed when dropped (even when the test
/// panics). Replicas share it: it is dropped with the last of them.
pub struct TestDb {
    pub url: String,
    kind: Db,
    name: String,
    sqlite_path: Option<PathBuf>,
}

impl TestDb {
    pub(super) async fn create(kind: Db) -> Self {
        let name = format!("access_test_{}", uuid::Uuid::new_v4().simple());
        match kind {
            Db::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                Self {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    kind,
                    name,
                    sqlite_path: Some(path),
                }
            }
            Db::Mysql => {
                let admin = Database::connect(mysql_admin_url())
                    .await
                    .expect("MySQL must be reachable for the tests: run scripts/test, which starts it");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE `{name}`"))
                    .await
                    .expect("create test database");
                Self {
                    url: format!("{}/{name}", mysql_admin_url()),
                    kind,
                    name,
                    sqlite_path: None,
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self.kind {
            Db::Sqlite => {
                if let Some(path) = &self.sqlite_path {
                    let _ = std::fs::remove_file(path);
                }
            }
            Db::Mysql => {
                // Drop runs outside any runtime guarantee: use a private one.
                let name = self.name.clone();
                let _ = std::thread::spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build()
                    else {
                        return;
                    };
                    runtime.block_on(async move {
                        if let Ok(admin) = Database::connect(mysql_admin_url()).await {
                            let _ = admin
                                .execute_unprepared(&format!("DROP DATABASE IF EXISTS `{name}`"))
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}
