//! Migrations: every one has a working `down`, and `up` is repeatable, on both databases.

use access_service::storage;
use access_service::storage::migration::Migrator;
use sea_orm::Database;
use sea_orm_migration::MigratorTrait;

use crate::helpers::TestApp;

/// Down to nothing and up again leaves a working, re-seeded schema.
async fn migrations_go_down_and_up_again(app: TestApp) {
    let before = app.table_counts().await;
    assert_eq!(before["roles"], 14, "the built-in roles are seeded");
    let url = app.database_url().to_owned();
    let db = Database::connect(url.as_str()).await.expect("connect");
    Migrator::down(&db, None)
        .await
        .expect("every migration has a down");
    let schema = sea_orm_migration::SchemaManager::new(&db);
    for table in ["accounts", "memberships", "access_requests", "activity_log"] {
        assert!(
            !schema.has_table(table).await.expect("schema query"),
            "down removed {table}"
        );
    }
    storage::migrate(&db).await.expect("up again");
    storage::migrate(&db).await.expect("up is idempotent");
    let after = app.table_counts().await;
    assert_eq!(after["roles"], 14);
    assert_eq!(after["role_permissions"], before["role_permissions"]);
    assert_eq!(after["accounts"], 0, "a fresh schema holds no accounts");
}

crate::on_both_databases!(migrations_go_down_and_up_again);
