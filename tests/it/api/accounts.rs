//! CreateAccount and GetAccount: generated ids, idempotent retries, teams one level deep, bad input.

mod children;
mod plan_quotas;

use access_service::grpc::pb;
use tonic::Code;

use crate::support::{
    TestApp, assert_refused, bad_fields, create_account, create_child, expect_code, person,
};

/// The account without its create_time, to compare the rest on its own.
fn without_time(account: &pb::Account) -> pb::Account {
    pb::Account {
        create_time: None,
        ..account.clone()
    }
}

/// A missing account id is generated; GetAccount returns the account with its canonical owner.
async fn create_without_id_generates_one(app: TestApp) {
    let mut client = app.client.clone();
    let owner = pb::Person {
        user_id: "alice".into(),
        email: "  Alice.Smith@Example.COM ".into(),
        name: "Alice".into(),
    };
    let response = client
        .create_account(pb::CreateAccountRequest {
            name: "Alice's shop".into(),
            ..create_account("", owner)
        })
        .await
        .unwrap()
        .into_inner();
    assert!(response.created);
    let created = response.account.unwrap();
    assert!(!created.id.is_empty(), "an id is generated");
    let fetched = client
        .get_account(pb::GetAccountRequest {
            account_id: created.id.clone(),
            actor_user_id: "alice".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(without_time(&fetched), without_time(&created));
    assert_eq!(fetched.name, "Alice's shop");
    assert_eq!(
        fetched.owner,
        Some(pb::Person {
            user_id: "alice".into(),
            email: "alice.smith@example.com".into(),
            name: "Alice".into(),
        }),
        "the email is stored canonical: trimmed and lower-cased"
    );
    assert_eq!(fetched.state(), pb::AccountState::Open);
    assert!(fetched.parent_account_id.is_empty());
    assert!(!fetched.require_two_factor);
    let created_at = fetched.create_time.expect("create_time is set");
    let now = chrono::Utc::now().timestamp();
    assert!(
        (now - created_at.seconds).abs() < 60,
        "create_time is now, got {created_at:?}"
    );
    assert_eq!(app.activity_count(&created.id, "account.create").await, 1);
    assert_eq!(
        fetched.create_time, created.create_time,
        "CreateAccount and GetAccount report the same create_time"
    );
}

/// A retry with the same id and owner is idempotent; another owner is ALREADY_EXISTS.
async fn retried_creation_is_idempotent(app: TestApp) {
    let mut client = app.client.clone();
    let first = client
        .create_account(create_account("acme", person("owner")))
        .await
        .unwrap()
        .into_inner();
    assert!(first.created);
    let before = app.table_counts().await;
    let retry = client
        .create_account(create_account("acme", person("owner")))
        .await
        .unwrap()
        .into_inner();
    assert!(!retry.created, "a retry creates nothing");
    let (retried, first) = (retry.account.unwrap(), first.account.unwrap());
    assert_eq!(without_time(&retried), without_time(&first));
    assert_eq!(app.table_counts().await, before);
    assert_eq!(app.activity_count("acme", "account.create").await, 1);
    assert_refused(
        client
            .create_account(create_account("acme", person("mallory")))
            .await,
        Code::AlreadyExists,
        "ACCOUNT_EXISTS",
    );
    assert_eq!(app.table_counts().await, before);
    let owner = client
        .get_account(pb::GetAccountRequest {
            account_id: "acme".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap()
        .owner
        .unwrap();
    assert_eq!(owner.user_id, "owner", "the first owner stays");
    assert_eq!(
        retried.create_time, first.create_time,
        "a retry answers the same account as the first call"
    );
}

/// Teams: a child needs an actor holding subaccounts.manage in an existing top-level parent.
async fn child_accounts_need_a_manager_of_a_top_level_parent(app: TestApp) {
    app.account("team", "boss").await;
    app.member("boss", "team", "viewer", "viewer", vec![]).await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;

    let status = expect_code(
        client
            .create_account(create_child("kid", "kid-owner", "team", ""))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["actor_user_id"]);

    assert_refused(
        client
            .create_account(create_child("kid", "kid-owner", "team", "viewer"))
            .await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );

    let status = expect_code(
        client
            .create_account(create_child("kid", "kid-owner", "stranger", "stranger"))
            .await,
        Code::NotFound,
    );
    assert!(status.message().contains("stranger"), "{status:?}");
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    let child = client
        .create_account(create_child("kid", "kid-owner", "team", "boss"))
        .await
        .unwrap()
        .into_inner();
    assert!(child.created);
    let child = child.account.unwrap();
    assert_eq!(child.parent_account_id, "team");
    assert_eq!(child.owner.unwrap().user_id, "kid-owner");
    let fetched = client
        .get_account(pb::GetAccountRequest {
            account_id: "kid".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(fetched.parent_account_id, "team");

    let before = app.table_counts().await;
    assert_refused(
        client
            .create_account(create_child("grandkid", "gk-owner", "kid", "boss"))
            .await,
        Code::FailedPrecondition,
        "NESTED_CHILD_ACCOUNT",
    );
    assert_eq!(app.table_counts().await, before);
}

/// GetAccount: unknown id is NOT_FOUND, an empty id names the field.
async fn get_account_refuses_unknown_and_empty_ids(app: TestApp) {
    let mut client = app.client.clone();
    let status = expect_code(
        client
            .get_account(pb::GetAccountRequest {
                account_id: "nope".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
    );
    assert!(status.message().contains("nope"), "{status:?}");
    let status = expect_code(
        client
            .get_account(pb::GetAccountRequest {
                account_id: "  ".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["account_id"]);
}

/// Bad input names every bad field at once and writes nothing.
async fn bad_creations_name_their_fields(app: TestApp) {
    let mut client = app.client.clone();
    let before = app.table_counts().await;
    let mut owner = person("owner");
    owner.email = "not-an-email".into();
    let status = expect_code(
        client
            .create_account(pb::CreateAccountRequest {
                name: "  ".into(),
                ..create_account("acme", owner)
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["name", "owner.email"]);

    let status = expect_code(
        client
            .create_account(pb::CreateAccountRequest {
                owner: None,
                ..create_account("acme", person("owner"))
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["owner"]);

    let status = expect_code(
        client
            .create_account(pb::CreateAccountRequest {
                owner: Some(pb::Person::default()),
                ..create_account("acme", person("owner"))
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(
        bad_fields(&status),
        ["owner.user_id", "owner.email", "owner.name"]
    );

    let status = expect_code(
        client
            .create_account(create_child("acme", "owner", "acme", "owner"))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["parent_account_id"]);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
}

/// A user id is bound to one email, and an email to one user id.
async fn owner_identity_must_match_the_known_user(app: TestApp) {
    app.account("first", "alice").await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;
    let mut other_email = person("alice");
    other_email.email = "alice@elsewhere.example".into();
    assert_refused(
        client.create_account(create_account("second", other_email)).await,
        Code::FailedPrecondition,
        "USER_EMAIL_MISMATCH",
    );

    let mut other_id = person("alice");
    other_id.user_id = "alice-2".into();
    assert_refused(
        client.create_account(create_account("second", other_id)).await,
        Code::FailedPrecondition,
        "EMAIL_IN_USE",
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    let mut same_in_upper_case = person("alice");
    same_in_upper_case.email = "ALICE@EXAMPLE.COM".into();
    let second = client
        .create_account(create_account("second", same_in_upper_case))
        .await
        .unwrap()
        .into_inner();
    assert!(second.created, "the same person may own another account");
}

crate::on_both_databases!(
    create_without_id_generates_one,
    retried_creation_is_idempotent,
    child_accounts_need_a_manager_of_a_top_level_parent,
    get_account_refuses_unknown_and_empty_ids,
    bad_creations_name_their_fields,
    owner_identity_must_match_the_known_user,
);
