//! The test macro that runs each scenario on both databases.

/// Runs each named scenario, `async fn scenario(app: TestApp)`, on SQLite and on MySQL as the
/// tests `sqlite::scenario` and `mysql::scenario`:
/// - `on_both_databases!(a, b)`: on a default server, with two worker threads;
/// - `on_both_databases!(workers = 4; a, b)`: with more worker threads;
/// - `on_both_databases!(mod short_ttl, |config| config.invitation_ttl_secs = 1; a, b)`: on a
///   server with that configuration, as `short_ttl::sqlite::a` and so on;
/// - `on_both_databases!(db; a, b)`: for a scenario that starts its own servers,
///   `async fn scenario(kind: Db)`, given the kind of database only.
#[macro_export]
macro_rules! on_both_databases {
    (mod $module:ident, |$config:ident| $adjust:expr; $($name:ident),* $(,)?) => {
        mod $module {
            use super::{$($name),*};
            $crate::on_both_databases!(@tests 2, |$config| $adjust; $($name),*);
        }
    };
    (workers = $workers:tt; $($name:ident),* $(,)?) => {
        $crate::on_both_databases!(@tests $workers, |_config| {}; $($name),*);
    };
    (@tests $workers:tt, |$config:ident| $adjust:expr; $($name:ident),*) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
                async fn $name() {
                    let app = $crate::support::TestApp::spawn_with($crate::support::Db::Sqlite, |$config| $adjust).await;
                    super::$name(app).await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
                async fn $name() {
                    let app = $crate::support::TestApp::spawn_with($crate::support::Db::Mysql, |$config| $adjust).await;
                    super::$name(app).await;
                }
            )*
        }
    };
    (db; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Db::Sqlite).await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Db::Mysql).await;
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_both_databases!(@tests 2, |_config| {}; $($name),*);
    };
}
