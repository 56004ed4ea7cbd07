//! SQL statements per call, counted on the server's own connection pool: the
//! hot paths have budgets that do not grow with the account's size. Counts,
//! not timings: the benchmark (`access-bench`) measures time.

use access_service::grpc::pb;
use pb::ResourceType::List;

use crate::helpers::{TestApp, check, list_users, scope};

/// A list manager scoped to one list, in an account with a few more members.
async fn scoped_member(app: &TestApp) {
    app.account("acme", "olivia").await;
    app.member("olivia", "acme", "lee", "list_manager", vec![scope(List, &["4"])])
        .await;
    for user in ["ann", "bob", "cy"] {
        app.member("olivia", "acme", user, "viewer", vec![]).await;
    }
}

async fn authorize_reads_a_bounded_number_of_statements(app: TestApp) {
    scoped_member(&app).await;
    let mut client = app.client.clone();
    let (answer, statements) = app
        .statements_during(client.authorize(check("lee", "acme", "lists.edit", Some((List, "4")))))
        .await;
    assert!(answer.expect("authorize answers").into_inner().allowed);
    assert!(
        statements <= 2,
        "Authorize sent {statements} SQL statements; budget 2"
    );
    let (answer, statements) = app
        .statements_during(client.authorize(check("nobody", "acme", "lists.edit", None)))
        .await;
    assert!(!answer.expect("authorize answers").into_inner().allowed);
    assert!(
        statements <= 2,
        "a denied Authorize sent {statements} SQL statements; budget 2"
    );
}

async fn batch_authorize_reads_facts_once_per_pair(app: TestApp) {
    scoped_member(&app).await;
    let permissions = ["lists.view", "lists.edit", "campaigns.send", "users.view"];
    let checks: Vec<pb::AuthorizeRequest> = ["lee", "ann"]
        .into_iter()
        .flat_map(|user| permissions.map(|p| check(user, "acme", p, None)))
        .collect();
    let mut client = app.client.clone();
    let (answer, statements) = app
        .statements_during(client.batch_authorize(pb::BatchAuthorizeRequest { checks }))
        .await;
    assert_eq!(answer.expect("batch answers").into_inner().results.len(), 8);
    assert!(
        statements <= 2 * 2,
        "BatchAuthorize of 8 checks over 2 (user, account) pairs sent {statements} SQL statements; budget 2 a pair"
    );
}

async fn list_users_reads_a_bounded_number_of_statements(app: TestApp) {
    scoped_member(&app).await;
    let (rows, statements) = app
        .statements_during(app.users(list_users("olivia", "acme")))
        .await;
    assert_eq!(rows.len(), 5);
    assert!(
        statements <= 8,
        "ListUsers sent {statements} SQL statements; budget 8"
    );
}

crate::on_both_databases!(
    authorize_reads_a_bounded_number_of_statements,
    batch_authorize_reads_facts_once_per_pair,
    list_users_reads_a_bounded_number_of_statements,
);
