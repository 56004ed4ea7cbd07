//! SQL statements per call, counted on the server's own connection pool: the
//! hot paths have budgets that do not grow with the account's size. Counts,
//! not timings: the benchmark (`access-bench`) measures time.

use access_service::grpc::pb;
use pb::ResourceType::{List, Template};

use crate::helpers::{TestApp, check, list_users, scope, share};

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
        statements <= 1,
        "Authorize sent {statements} SQL statements; budget 1"
    );
    let (answer, statements) = app
        .statements_during(client.authorize(check("nobody", "acme", "lists.edit", None)))
        .await;
    assert!(!answer.expect("authorize answers").into_inner().allowed);
    assert!(
        statements <= 1,
        "a denied Authorize sent {statements} SQL statements; budget 1"
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
        statements <= 1,
        "BatchAuthorize of 8 checks over 2 (user, account) pairs sent {statements} SQL statements; budget 1"
    );
}

/// A full batch of distinct pairs (members, strangers, another account)
/// costs what a batch of one pair costs: the facts are read together.
async fn batch_authorize_statements_do_not_grow_with_pairs(app: TestApp) {
    scoped_member(&app).await;
    app.account("globex", "gary").await;
    let members = ["olivia", "lee", "ann", "bob", "cy"];
    let checks: Vec<pb::AuthorizeRequest> = (0..100)
        .map(|i| {
            let account = if i % 2 == 0 { "acme" } else { "globex" };
            let user = members
                .get(i / 2)
                .map_or_else(|| format!("stranger-{i}"), |m| (*m).to_owned());
            check(&user, account, "lists.edit", Some((List, "4")))
        })
        .collect();
    let mut client = app.client.clone();
    let (answer, statements) = app
        .statements_during(client.batch_authorize(pb::BatchAuthorizeRequest { checks }))
        .await;
    let results = answer.expect("batch answers").into_inner().results;
    assert_eq!(results.len(), 100);
    assert!(results[0].allowed && results[2].allowed && !results[1].allowed);
    assert!(
        statements <= 1,
        "BatchAuthorize of 100 distinct (user, account) pairs sent {statements} SQL statements; budget 1"
    );
}

/// Only a check on a template in a child account, with a permission a
/// shared template withholds, asks about sharing: one more statement, for
/// every such template of a batch together.
async fn template_checks_in_children_add_one_statement(app: TestApp) {
    app.team(&["a", "b"]).await;
    app.client
        .clone()
        .share_template(share("boss", "team", "tpl-1", &[]))
        .await
        .expect("shared");
    let mut client = app.client.clone();
    let (answer, statements) = app
        .statements_during(client.authorize(check(
            "owner-a",
            "child-a",
            "templates.edit",
            Some((Template, "tpl-1")),
        )))
        .await;
    assert!(!answer.expect("authorize answers").into_inner().allowed);
    assert!(
        statements <= 2,
        "Authorize on a shared template sent {statements} SQL statements; budget 2"
    );
    let (answer, statements) = app
        .statements_during(client.authorize(check(
            "owner-a",
            "child-a",
            "templates.view",
            Some((Template, "tpl-1")),
        )))
        .await;
    assert!(answer.expect("authorize answers").into_inner().allowed);
    assert!(
        statements <= 1,
        "viewing a shared template sent {statements} SQL statements; budget 1"
    );
    let checks: Vec<pb::AuthorizeRequest> = (0..100)
        .map(|i| {
            let (user, account) = if i % 2 == 0 {
                ("owner-a", "child-a")
            } else {
                ("owner-b", "child-b")
            };
            check(
                user,
                account,
                "templates.edit",
                Some((Template, &format!("tpl-{}", i % 10))),
            )
        })
        .collect();
    let (answer, statements) = app
        .statements_during(client.batch_authorize(pb::BatchAuthorizeRequest { checks }))
        .await;
    let results = answer.expect("batch answers").into_inner().results;
    assert!(!results[1].allowed && results[0].allowed && results[2].allowed);
    assert!(
        statements <= 2,
        "BatchAuthorize on 10 (child, template) pairs sent {statements} SQL statements; budget 2"
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
    batch_authorize_statements_do_not_grow_with_pairs,
    template_checks_in_children_add_one_statement,
    list_users_reads_a_bounded_number_of_statements,
);
