//! Migrations: every one has a working `down`, and `up` is repeatable, on both databases.

use access_service::grpc::pb;
use access_service::storage;
use access_service::storage::migration::Migrator;
use sea_orm::{ConnectionTrait, Database};
use sea_orm_migration::MigratorTrait;

use access_service::{App, Config};

use crate::support::{Db, TestApp};

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

/// "Exactly one owner" is a database rule, not only code: a second owner, an
/// inactive owner and a deleted owner are all refused by the schema itself.
async fn the_schema_keeps_exactly_one_owner(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "second", "admin", vec![]).await;
    let db = Database::connect(app.database_url()).await.expect("connect");
    let refused = [
        "DELETE FROM memberships WHERE account_id = 'acme' AND user_id = 'owner'",
        "UPDATE memberships SET owner_slot = 1, role_id = 'owner' WHERE account_id = 'acme' AND user_id = 'second'",
        "UPDATE memberships SET status = 'deactivated' WHERE account_id = 'acme' AND user_id = 'owner'",
        "UPDATE memberships SET role_id = 'admin' WHERE account_id = 'acme' AND user_id = 'owner'",
        "UPDATE memberships SET role_id = 'owner' WHERE account_id = 'acme' AND user_id = 'second'",
    ];
    for sql in refused {
        assert!(
            db.execute_unprepared(sql).await.is_err(),
            "the schema let this through: {sql}"
        );
    }
    let owners = app
        .count("SELECT COUNT(*) AS n FROM memberships WHERE account_id = 'acme' AND owner_slot = 1 AND role_id = 'owner' AND status = 'active'")
        .await;
    assert_eq!(owners, 1);
}

/// During a rolling upgrade, replicas of the previous version still read
/// template shares under the old table names (migration 12 keeps them as
/// views): the previous version's own share query finds the share.
async fn the_previous_version_still_reads_template_shares(app: TestApp) {
    app.team(&["1", "2"]).await;
    let mut client = app.client.clone();
    client
        .share_template(pb::ShareTemplateRequest {
            actor_user_id: "boss".into(),
            account_id: "team".into(),
            template_id: "t-1".into(),
            child_account_ids: vec!["child-2".into()],
        })
        .await
        .expect("shared to one child");
    // The shared-template part of the previous version's facts statement.
    let previous = "SELECT COUNT(*) AS n \
         FROM accounts c JOIN shared_templates st ON st.parent_account_id = c.parent_id \
         LEFT JOIN shared_template_children stc ON stc.parent_account_id = st.parent_account_id \
         AND stc.template_id = st.template_id AND stc.child_account_id = c.id \
         WHERE c.id = '{child}' AND st.template_id = 't-1' \
         AND (st.all_children <> 0 OR stc.child_account_id IS NOT NULL)";
    assert_eq!(app.count(&previous.replace("{child}", "child-2")).await, 1);
    assert_eq!(app.count(&previous.replace("{child}", "child-1")).await, 0);
}

crate::on_both_databases!(
    migrations_go_down_and_up_again,
    the_schema_keeps_exactly_one_owner,
    the_previous_version_still_reads_template_shares
);

/// Replicas that start together on an empty MySQL database all come up: the
/// migrations and the catalogue seeding run under one advisory lock, so no
/// replica trips over a table another one is creating. (SQLite is the
/// embedded, single-process default: there is no second replica to race.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_migrate_once() {
    let app = TestApp::spawn_with(Db::Mysql, |_| {}).await;
    let db = Database::connect(app.database_url()).await.expect("connect");
    Migrator::down(&db, None).await.expect("down to an empty schema");
    let config = Config {
        listen_addr: "127.0.0.1:0".parse().expect("loopback address"),
        database_url: app.database_url().to_owned(),
        db_max_connections: 4,
        auto_migrate: true,
        ..Config::default()
    };
    // Spawned tasks on several worker threads, like replicas scheduled together.
    let starts: Vec<_> = (0..6).map(|_| tokio::spawn(App::build(config.clone()))).collect();
    for (replica, start) in starts.into_iter().enumerate() {
        let result = start.await.expect("start-up task");
        assert!(
            result.is_ok(),
            "replica {replica} failed to start: {:?}",
            result.err()
        );
    }
    assert_eq!(app.table_counts().await["roles"], 14, "seeded once, completely");
}
