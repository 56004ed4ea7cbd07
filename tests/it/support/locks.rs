//! Holding a request in flight without timing: the test locks the account
//! row from its own connection (every change to an account locks its row),
//! starts a change, and waits until MySQL shows the server's statement
//! waiting for that lock. The request ends exactly when the test lets it.

use std::time::Duration;

use access_service::grpc::pb;
use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement, TransactionTrait};
use tonic::Status;

use super::TestApp;

/// Locks the account row `account` from the test's own connection.
pub async fn lock_account(app: &TestApp, account: &str) -> DatabaseTransaction {
    let lock = app.db.begin().await.expect("begin");
    lock.execute_raw(Statement::from_string(
        lock.get_database_backend(),
        format!("SELECT id FROM accounts WHERE id = '{account}' FOR UPDATE"),
    ))
    .await
    .expect("lock the account row");
    lock
}

/// Waits until `n` statements of the server wait for a row lock.
pub async fn wait_for_blocked_statements(app: &TestApp, n: i64) {
    for _ in 0..1000 {
        // Threads of the same user are visible without the PROCESS privilege;
        // our own connection's query is excluded by its id.
        let waiting = app
            .count(
                "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST \
                 WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND INFO LIKE '%FOR UPDATE%'",
            )
            .await;
        if waiting >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the request never reached the account's row lock");
}

/// Raises the member limit of "acme": a change that locks the account row.
pub fn limit_members(app: &TestApp) -> tokio::task::JoinHandle<Result<pb::SetAccountLimitsResponse, Status>> {
    let mut client = app.client.clone();
    tokio::spawn(async move {
        client
            .set_account_limits(pb::SetAccountLimitsRequest {
                account_id: "acme".into(),
                max_members: Some(10),
                max_restricted_members: None,
            })
            .await
            .map(tonic::Response::into_inner)
    })
}
