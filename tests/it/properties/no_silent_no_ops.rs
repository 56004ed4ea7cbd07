//! No silent no-ops: a request that cannot mean what it
//! says is refused, naming the field, instead of answering OK with nothing;
//! a repeated request that changes nothing says so and writes nothing.

use access_service::grpc::pb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::{
    TestApp, assert_refused, bad_fields, check, create_account, expect_code, list_users, person, share,
};

/// ListActivity with a window that holds no instant ([start, end) with
/// start at or after end) is INVALID_ARGUMENT on `start_time`.
async fn an_empty_activity_window_is_refused(app: TestApp) {
    app.account("acme", "owner").await;
    let at = |seconds| prost_types::Timestamp { seconds, nanos: 0 };
    let now = chrono::Utc::now().timestamp();
    for (start, end) in [(now, now - 60), (now, now)] {
        let status = expect_code(
            app.client
                .clone()
                .list_activity(pb::ListActivityRequest {
                    actor_user_id: "owner".into(),
                    account_id: "acme".into(),
                    start_time: Some(at(start)),
                    end_time: Some(at(end)),
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["start_time"], "{start}..{end}");
    }
    let listed = app
        .client
        .clone()
        .list_activity(pb::ListActivityRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            start_time: Some(at(now - 60)),
            end_time: Some(at(now + 60)),
            ..Default::default()
        })
        .await
        .expect("a window with room in it is fine")
        .into_inner();
    assert_eq!(listed.entries.len(), 1, "account.create");
}

/// ListUsers filtered by a role the account does not have is
/// INVALID_ARGUMENT on `role` (as everywhere a role is named); a built-in
/// role nobody holds and a custom role answer their (possibly empty) rows.
async fn listing_users_by_an_unknown_role_is_refused(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "vic", "viewer", vec![]).await;
    app.create_role("owner", "acme", "copywriter", &["campaigns.view"])
        .await
        .expect("custom role");
    let by_role = |role: &str| pb::ListUsersRequest {
        role: role.into(),
        ..list_users("owner", "acme")
    };

    let status = expect_code(
        app.client.clone().list_users(by_role("no-such-role")).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["role"]);
    assert!(status.message().contains("no-such-role"), "{status:?}");

    let viewers = app.users(by_role("viewer")).await;
    assert_eq!(viewers.len(), 1);
    assert!(
        app.users(by_role("designer")).await.is_empty(),
        "built-in, unused"
    );
    assert!(
        app.users(by_role("copywriter")).await.is_empty(),
        "custom, unused"
    );
}

/// A CreateAccount retry must repeat the request: the same id and owner
/// under another name is ALREADY_EXISTS, and the first name stays.
async fn a_create_account_retry_with_another_name_is_refused(app: TestApp) {
    let mut client = app.client.clone();
    client
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("first creation");
    let before = app.table_counts().await;
    let status = assert_refused(
        client
            .create_account(pb::CreateAccountRequest {
                name: "Another name".into(),
                ..create_account("acme", person("owner"))
            })
            .await,
        Code::AlreadyExists,
        "ACCOUNT_EXISTS",
    );
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.metadata.get("differs").map(String::as_str), Some("name"));
    assert!(status.message().contains("name"), "{status:?}");
    assert_eq!(app.table_counts().await, before, "nothing written");
    assert_eq!(app.get_account("acme").await.name, "Account acme");

    let retry = client
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("an identical retry is idempotent")
        .into_inner();
    assert!(!retry.created);
}

/// Sharing a template again to the same children changes nothing: the same
/// create time, no second log entry, no row written. Another selection
/// still replaces the share.
async fn sharing_a_template_again_is_idempotent(app: TestApp) {
    app.team(&["a", "b"]).await;
    let mut client = app.client.clone();
    let first = client
        .share_template(share("boss", "team", "tpl-1", &["child-a", "child-b"]))
        .await
        .expect("share")
        .into_inner();
    let before = app.table_counts().await;

    let again = client
        .share_template(share("boss", "team", "tpl-1", &["child-b", "child-a", "child-a"]))
        .await
        .expect("sharing again is fine")
        .into_inner();
    let (first_shared, again_shared) = (first.shared_template.unwrap(), again.shared_template.unwrap());
    assert_eq!(
        again_shared.create_time, first_shared.create_time,
        "not re-created"
    );
    assert_eq!(again_shared.child_account_ids, first_shared.child_account_ids);
    assert_eq!(app.table_counts().await, before, "nothing written");
    assert_eq!(app.activity_count("team", "template.share").await, 1);

    let replaced = client
        .share_template(share("boss", "team", "tpl-1", &[]))
        .await
        .expect("another selection replaces the share")
        .into_inner();
    assert!(replaced.shared_template.unwrap().all_children);
    assert_eq!(app.activity_count("team", "template.share").await, 2);
}

/// Ids are never trimmed: `" u-lee"` is not `u-lee`, so
/// a check, a read or a write naming an id with spaces around it is
/// INVALID_ARGUMENT naming the field, never answered for the trimmed id.
async fn ids_with_spaces_around_them_are_refused(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "u-lee", "viewer", vec![]).await;
    let mut client = app.client.clone();
    assert!(
        app.check("u-lee", "acme", "campaigns.view").await.allowed,
        "the exact id"
    );
    for (user, account, field) in [
        (" u-lee", "acme", "user_id"),
        ("u-lee ", "acme", "user_id"),
        ("u-lee", "\tacme", "account_id"),
    ] {
        let status = expect_code(
            client
                .authorize(check(user, account, "campaigns.view", None))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), [field], "{user:?} in {account:?}");
        assert!(status.message().contains("spaces"), "{status:?}");
    }
    let status = expect_code(
        client.list_users(list_users(" owner", "acme")).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["actor_user_id"]);
    let before = app.table_counts().await;
    let status = expect_code(
        client
            .invite(pb::InviteRequest {
                actor_user_id: "owner".into(),
                account_id: "acme ".into(),
                email: "new@example.com".into(),
                role: "viewer".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["account_id"]);
    // An optional id of spaces is a bad id, not an absent one.
    let status = expect_code(
        client
            .list_activity(pb::ListActivityRequest {
                actor_user_id: "owner".into(),
                account_id: "acme".into(),
                filter_actor_user_id: "  ".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["filter_actor_user_id"]);
    assert_eq!(app.table_counts().await, before, "nothing written");
}

crate::on_both_databases!(
    ids_with_spaces_around_them_are_refused,
    an_empty_activity_window_is_refused,
    listing_users_by_an_unknown_role_is_refused,
    a_create_account_retry_with_another_name_is_refused,
    sharing_a_template_again_is_idempotent,
);
