//! Without an SMTP relay (a development install): emails stay queued and
//! are only logged, and the dispatcher's log-only poll stays an index range
//! however long the queue grows.

use std::time::Duration;

use access_service::grpc::pb;
use access_service::storage;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::retention::copy_the_queued_message;
use super::{delivery_when, invite, state, tables_holding};
use crate::support::{Db, TestApp};

crate::on_both_databases!(
    db;
    without_a_relay_messages_stay_queued,
    the_log_only_poll_reads_an_index_range_not_the_queue,
);

/// With no relay configured (the default on loopback), emails are logged,
/// not sent: they stay queued, attempts 0, and the outbox keeps no token
/// (nothing would send it): the token is only in the Invite answer.
async fn without_a_relay_messages_stay_queued(db: Db) {
    let app = TestApp::spawn_with(db, |config| config.outbox_poll_ms = 50).await;
    app.account("acme", "owner").await;
    let token = invite(&app).await.token;
    assert_eq!(token.len(), 64, "the local caller holds every scope");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let delivery = delivery_when(&app, |_| true).await;
    assert_eq!(
        (state(&delivery), delivery.attempts),
        (pb::DeliveryState::Queued, 0)
    );
    assert_eq!(tables_holding(&app, &token).await, Vec::<String>::new());
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'invitation' AND token IS NULL")
            .await,
        1
    );
}

/// The log-only dispatcher polls for queued messages after the last one it
/// showed, every second, for as long as the service runs: the database must
/// answer from a range of `idx_outbox_queued_order` (migration 14), in
/// order, never by sorting the whole queue (which cost a quarter of a second
/// a poll at 100,000 queued messages).
async fn the_log_only_poll_reads_an_index_range_not_the_queue(db: Db) {
    let app = TestApp::spawn_with(db, |_| {}).await;
    app.account("acme", "owner").await;
    invite(&app).await;
    // A queue of a size where the plan matters: on a table of a few rows a
    // scan is as good as any plan, and MySQL rightly picks it.
    let backend = app.db.get_database_backend();
    copy_the_queued_message(&app, 2_000).await;
    if backend == DbBackend::MySql {
        app.db
            .execute_unprepared("ANALYZE TABLE outbox, outbox_invitations")
            .await
            .expect("analyzed");
    }
    // A batch's invitations are read by message id (`with_links`): an
    // index on both databases (MySQL's is the foreign key's).
    let links = Statement::from_sql_and_values(
        backend,
        "SELECT invitation_id, outbox_id FROM outbox_invitations WHERE outbox_id IN (?, ?)",
        ["copy-7".into(), "copy-8".into()],
    );
    let plan = app.plan(links).await;
    assert!(
        plan.iter()
            .all(|step| !step.starts_with("SCAN") && !step.contains("type=ALL")),
        "{plan:?}"
    );
    // The dispatcher reads on from the last message it showed: near the
    // queue's end, so the range is short (a position before most of the
    // queue may rightly be read by its state alone).
    let newest = app.count("SELECT MAX(created_at) AS n FROM outbox").await;
    for after in [None, Some((newest, "m".to_owned()))] {
        let statement = storage::queued_after_statement(backend, after.clone(), 100);
        let sql = statement.sql.clone();
        let plan = app.plan(statement).await;
        // After a message, the range starts there: the rows shown before
        // are not read again (SQLite names the bound, MySQL says "range").
        let ranged = |step: &String| match (&after, backend) {
            (None, _) => true,
            (Some(_), DbBackend::Sqlite) => step.contains("created_at>"),
            (Some(_), _) => step.contains("type=range"),
        };
        assert!(
            plan.iter()
                .any(|step| step.contains("idx_outbox_queued_order") && ranged(step)),
            "{sql}: {plan:?}"
        );
        for step in &plan {
            assert!(
                !step.contains("TEMP B-TREE") && !step.contains("filesort") && !step.contains("type=ALL"),
                "{sql}: {step}"
            );
        }
    }
}
