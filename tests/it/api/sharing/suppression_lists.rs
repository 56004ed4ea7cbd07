//! ShareSuppressionList, UnshareSuppressionList, ListSharedSuppressionLists:
//! docs/domain.md rule 5, "the same mechanism serves shared suppression
//! lists": viewable in the children, never editable there, shared down only.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::{SuppressionList, Template};
use pb::DecisionReason as R;
use tonic::{Code, Status};

use crate::support::{
    TestApp, assert_refused, bad_fields, expect_code, reason, share_suppression_list,
    unshare_suppression_list,
};

async fn shared_to(app: &TestApp, actor: &str, account: &str) -> Result<Vec<String>, Status> {
    let response = app
        .client
        .clone()
        .list_shared_suppression_lists(pb::ListSharedSuppressionListsRequest {
            actor_user_id: actor.into(),
            account_id: account.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(response
        .shared_suppression_lists
        .into_iter()
        .map(|shared| shared.suppression_list_id)
        .collect())
}

/// Rule 5: a shared suppression list allows suppressions.view and denies
/// suppressions.edit in the chosen child, and only there; a template of the
/// same id is another resource. Every call is answered by the cache where
/// it can be, so each change shows that sharing and unsharing invalidate.
async fn a_shared_suppression_list_is_viewable_not_editable_in_children(app: TestApp) {
    app.team(&["a", "b"]).await;
    let edit = |owner: &'static str, child: &'static str| {
        let app = &app;
        async move {
            app.check_on(owner, child, "suppressions.edit", (SuppressionList, "sup-1"))
                .await
        }
    };
    // Warm the cache: both children may edit their own list "sup-1".
    assert!(edit("owner-a", "child-a").await.allowed);
    assert!(edit("owner-b", "child-b").await.allowed);

    let shared = app
        .client
        .clone()
        .share_suppression_list(share_suppression_list("boss", "team", "sup-1", &["child-a"]))
        .await
        .expect("shared")
        .into_inner();
    let list = shared.shared_suppression_list.expect("the share");
    assert_eq!(
        (
            list.suppression_list_id.as_str(),
            list.all_children,
            list.child_account_ids
        ),
        ("sup-1", false, vec!["child-a".to_owned()])
    );
    assert!(!shared.consistency_token.is_empty());
    assert_eq!(app.activity_count("team", "suppression_list.share").await, 1);

    let denied = edit("owner-a", "child-a").await;
    assert_eq!(
        (denied.allowed, reason(&denied)),
        (false, R::SharedSuppressionListReadOnly)
    );
    assert!(
        app.check_on(
            "owner-a",
            "child-a",
            "suppressions.view",
            (SuppressionList, "sup-1")
        )
        .await
        .allowed
    );
    assert!(
        edit("owner-b", "child-b").await.allowed,
        "not shared with child-b"
    );
    assert!(
        app.check_on("owner-a", "child-a", "templates.edit", (Template, "sup-1"))
            .await
            .allowed,
        "template sup-1 is not the suppression list sup-1"
    );
    assert_eq!(shared_to(&app, "owner-a", "child-a").await.unwrap(), ["sup-1"]);
    assert!(shared_to(&app, "owner-b", "child-b").await.unwrap().is_empty());
    assert_eq!(shared_to(&app, "boss", "team").await.unwrap(), ["sup-1"]);
    assert!(app.shared_templates("owner-a", "child-a").await.is_empty());

    // The same share again changes nothing and logs nothing; all children replaces it.
    app.client
        .clone()
        .share_suppression_list(share_suppression_list("boss", "team", "sup-1", &["child-a"]))
        .await
        .expect("a retry");
    assert_eq!(app.activity_count("team", "suppression_list.share").await, 1);
    app.client
        .clone()
        .share_suppression_list(share_suppression_list("boss", "team", "sup-1", &[]))
        .await
        .expect("shared with every child");
    assert_eq!(
        reason(&edit("owner-b", "child-b").await),
        R::SharedSuppressionListReadOnly
    );

    app.client
        .clone()
        .unshare_suppression_list(unshare_suppression_list("boss", "team", "sup-1"))
        .await
        .expect("unshared");
    assert_eq!(app.activity_count("team", "suppression_list.unshare").await, 1);
    assert!(edit("owner-a", "child-a").await.allowed, "its own again");
    assert!(edit("owner-b", "child-b").await.allowed);
    let counts = app.table_counts().await;
    assert_eq!(
        (counts["shared_resources"], counts["shared_resource_children"]),
        (0, 0)
    );
}

/// Sharing a suppression list needs suppressions.edit in the parent, goes
/// down only, names real children, and refuses bad ids by field; each
/// refusal writes nothing. Listing needs suppressions.view.
async fn sharing_a_suppression_list_is_refused_where_rule_5_says(app: TestApp) {
    app.team(&["a"]).await;
    app.account("other", "stranger").await;
    app.member("boss", "team", "viewer", "viewer", vec![]).await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;
    assert_refused(
        client
            .share_suppression_list(share_suppression_list("viewer", "team", "sup-1", &[]))
            .await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    assert_refused(
        client
            .share_suppression_list(share_suppression_list("owner-a", "child-a", "sup-1", &[]))
            .await,
        Code::FailedPrecondition,
        "SHARE_NOT_FROM_PARENT",
    );
    assert_refused(
        client
            .share_suppression_list(share_suppression_list("boss", "team", "sup-1", &["other"]))
            .await,
        Code::FailedPrecondition,
        "NOT_A_CHILD_ACCOUNT",
    );
    expect_code(
        client
            .unshare_suppression_list(unshare_suppression_list("boss", "team", "never-shared"))
            .await,
        Code::NotFound,
    );
    let status = expect_code(
        client
            .share_suppression_list(share_suppression_list("boss", "team", " sup-1", &["", "child-a"]))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(
        bad_fields(&status),
        ["suppression_list_id", "child_account_ids[0]"]
    );
    assert_refused(
        shared_to(&app, "viewer", "team").await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
}

crate::on_both_databases!(
    a_shared_suppression_list_is_viewable_not_editable_in_children,
    sharing_a_suppression_list_is_refused_where_rule_5_says,
);
