//! The outbox's retention: sent and failed emails are deleted, a batch at a
//! time, once older than ACCESS_OUTBOX_RETENTION_DAYS, with their
//! invitation links; queued ones stay however old.

use std::time::Duration;

use access_service::app;
use access_service::domain::ports::Outbox;
use access_service::storage;
use sea_orm::{ConnectionTrait, Statement};

use super::{fast_dispatch, invite};
use crate::support::mail_server::MailServer;
use crate::support::{Db, TestApp};

crate::on_both_databases!(
    db;
    settled_messages_past_the_retention_are_deleted_with_their_links,
    a_sending_dispatcher_deletes_what_the_retention_no_longer_keeps,
);

/// Pruning deletes sent and failed messages written before the cutoff, a
/// batch at a time, with their invitation links; it keeps newer ones and
/// every queued one, however old.
async fn settled_messages_past_the_retention_are_deleted_with_their_links(db: Db) {
    let app = TestApp::spawn_with(db, |_| {}).await;
    app.account("acme", "owner").await;
    invite(&app).await;
    copy_the_queued_message(&app, 700).await;
    settle_copies(&app, (1, 550), "sent", 40).await;
    settle_copies(&app, (551, 600), "failed", 40).await;
    settle_copies(&app, (601, 650), "sent", 0).await;
    settle_copies(&app, (651, 700), "queued", 40).await;
    let outbox = storage::OutboxStore::new(app.db.clone());
    let cutoff = chrono::Utc::now() - chrono::Duration::days(30);
    let mut batches = Vec::new();
    for _ in 0..3 {
        batches.push(outbox.prune_settled(cutoff, 500).await.expect("pruned"));
    }
    assert_eq!(batches, [500, 100, 0]);
    // The original (queued), 50 recent sent and 50 old queued copies.
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM outbox").await, 101);
    let settled_before_cutoff = format!(
        "SELECT COUNT(*) AS n FROM outbox WHERE state IN ('sent', 'failed') AND created_at < {}",
        cutoff.timestamp_millis()
    );
    assert_eq!(app.count(&settled_before_cutoff).await, 0);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM outbox_invitations l \
             WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = l.outbox_id)"
        )
        .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM outbox_invitations").await,
        101
    );
}

/// A dispatcher with a relay prunes when it has nothing to send: messages
/// settled before ACCESS_OUTBOX_RETENTION_DAYS go, the rest stay.
async fn a_sending_dispatcher_deletes_what_the_retention_no_longer_keeps(db: Db) {
    let smtp = MailServer::start().await;
    let app = TestApp::spawn_with(db, |config| config.outbox_dispatch = false).await;
    app.account("acme", "owner").await;
    invite(&app).await;
    // More than one batch (500) past the retention: the backlog goes one
    // batch per idle round, not one batch every ten minutes.
    copy_the_queued_message(&app, 1_203).await;
    settle_copies(&app, (1, 1_201), "sent", 40).await;
    settle_copies(&app, (1_202, 1_202), "failed", 40).await;
    settle_copies(&app, (1_203, 1_203), "sent", 20).await;
    let mut config = app.config.clone();
    fast_dispatch(&mut config, Some(smtp.url()), 5);
    assert_eq!(config.outbox_retention_days, 30, "the default");
    // As the server builds it: on SQLite it shares the requests' pool.
    let dispatcher = app::email_dispatcher(&config, Some(&app.db))
        .await
        .expect("dispatcher")
        .spawn();
    let kept = "SELECT COUNT(*) AS n FROM outbox";
    for _ in 0..200 {
        if app.count(kept).await == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    dispatcher.stop(Duration::from_secs(5)).await;
    // The invitation's own email (sent meanwhile) and the copy of 20 days.
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM outbox WHERE state = 'sent' AND (id = 'copy-1203' OR id NOT LIKE 'copy-%')")
            .await,
        2
    );
    assert_eq!(app.count(kept).await, 2);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM outbox_invitations").await, 2);
}

/// Adds `copies` queued messages `copy-1`, `copy-2`, ..., each a copy of
/// the one message queued (offering its invitation), written a millisecond
/// apart after it.
pub(super) async fn copy_the_queued_message(app: &TestApp, copies: usize) {
    let backend = app.db.get_database_backend();
    let columns = "account_id, kind, recipient, facts, state, next_attempt_at, created_at";
    let original = app
        .db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT {columns} FROM outbox"),
        ))
        .await
        .expect("read")
        .expect("one message queued");
    let text = |name: &str| original.try_get::<String>("", name).expect(name);
    let invitation: String = app
        .db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT invitation_id FROM outbox_invitations",
        ))
        .await
        .expect("read")
        .expect("the message offers an invitation")
        .try_get("", "invitation_id")
        .expect("invitation_id");
    let created: i64 = original.try_get("", "created_at").expect("created_at");
    for chunk in (1..=copies).collect::<Vec<_>>().chunks(500) {
        let rows = vec!["(?, ?, ?, ?, ?, 'queued', ?, ?)"; chunk.len()].join(", ");
        let mut values: Vec<sea_orm::Value> = Vec::new();
        for &i in chunk {
            let at = created + i64::try_from(i).expect("small");
            values.extend([
                format!("copy-{i}").into(),
                text("account_id").into(),
                text("kind").into(),
                text("recipient").into(),
                text("facts").into(),
                at.into(),
                at.into(),
            ]);
        }
        app.db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!("INSERT INTO outbox (id, {columns}) VALUES {rows}"),
                values,
            ))
            .await
            .expect("copies written");
        let links = vec!["(?, ?)"; chunk.len()].join(", ");
        let values: Vec<sea_orm::Value> = chunk
            .iter()
            .flat_map(|i| [invitation.clone().into(), format!("copy-{i}").into()])
            .collect();
        app.db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!("INSERT INTO outbox_invitations (invitation_id, outbox_id) VALUES {links}"),
                values,
            ))
            .await
            .expect("links written");
    }
}

/// Settles copies `first..=last` (see [`copy_the_queued_message`]) as
/// `state`, created `days_ago` days before they were.
async fn settle_copies(app: &TestApp, (first, last): (usize, usize), state: &str, days_ago: i64) {
    let ids: Vec<sea_orm::Value> = (first..=last).map(|i| format!("copy-{i}").into()).collect();
    let marks = vec!["?"; ids.len()].join(", ");
    let mut values: Vec<sea_orm::Value> = vec![state.into(), (days_ago * 86_400_000).into()];
    values.extend(ids);
    app.db
        .execute_raw(Statement::from_sql_and_values(
            app.db.get_database_backend(),
            format!(
                "UPDATE outbox SET state = ?, token = NULL, created_at = created_at - ? WHERE id IN ({marks})"
            ),
            values,
        ))
        .await
        .expect("settled");
}
