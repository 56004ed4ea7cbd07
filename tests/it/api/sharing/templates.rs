//! ShareTemplate, UnshareTemplate, ListSharedTemplates: docs/domain.md rule 5 and "never upward or sideways".

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::Template;
use pb::DecisionReason as R;
use tonic::Code;

use crate::support::{
    TestApp, assert_refused, assert_refused_for, bad_fields, expect_code, list_shared_templates, reason,
    share, template_ids,
};

fn unshare(actor: &str, account: &str, template: &str) -> pb::UnshareTemplateRequest {
    pb::UnshareTemplateRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        template_id: template.into(),
    }
}

/// Sharing with no chosen child reaches every child, including one created later.
async fn sharing_with_all_children_reaches_later_children(app: TestApp) {
    app.team(&["a", "b"]).await;
    let shared = app
        .client
        .clone()
        .share_template(share("boss", "team", "tpl-1", &[]))
        .await
        .unwrap()
        .into_inner()
        .shared_template
        .unwrap();
    assert!(shared.all_children);
    assert!(shared.child_account_ids.is_empty());
    assert_eq!(shared.parent_account_id, "team");
    assert_eq!(shared.template_id, "tpl-1");
    assert_eq!(shared.shared_by, "boss");
    assert!(shared.create_time.is_some());
    assert_eq!(app.activity_count("team", "template.share").await, 1);

    app.child_account("child-late", "owner-late", "team", "boss")
        .await;
    for (owner, child) in [("owner-a", "child-a"), ("owner-late", "child-late")] {
        let seen = app.shared_templates(owner, child).await;
        assert_eq!(template_ids(&seen), ["tpl-1"], "{child}");
        assert!(seen[0].all_children);
        let edit = app
            .check_on(owner, child, "templates.edit", (Template, "tpl-1"))
            .await;
        assert_eq!(
            (edit.allowed, reason(&edit)),
            (false, R::SharedTemplateReadOnly),
            "{child}"
        );
        assert!(
            app.check_on(owner, child, "templates.view", (Template, "tpl-1"))
                .await
                .allowed
        );
    }
}

/// Sharing with chosen children: the parent lists them, only they see the template.
async fn sharing_with_chosen_children(app: TestApp) {
    app.team(&["a", "b"]).await;
    app.child_account("child-c", "owner-c", "team", "boss").await;
    let shared = app
        .client
        .clone()
        .share_template(share("boss", "team", "tpl-1", &["child-b", "child-a", "child-b"]))
        .await
        .unwrap()
        .into_inner()
        .shared_template
        .unwrap();
    assert!(!shared.all_children);
    assert_eq!(shared.child_account_ids, ["child-a", "child-b"]);

    let from_parent = app.shared_templates("boss", "team").await;
    assert_eq!(template_ids(&from_parent), ["tpl-1"]);
    assert!(!from_parent[0].all_children);
    assert_eq!(from_parent[0].child_account_ids, ["child-a", "child-b"]);

    assert_eq!(
        template_ids(&app.shared_templates("owner-a", "child-a").await),
        ["tpl-1"]
    );
    assert_eq!(
        template_ids(&app.shared_templates("owner-b", "child-b").await),
        ["tpl-1"]
    );
    assert!(
        app.shared_templates("owner-c", "child-c").await.is_empty(),
        "child-c was not chosen"
    );
    assert!(
        app.check_on("owner-c", "child-c", "templates.edit", (Template, "tpl-1"))
            .await
            .allowed,
        "in child-c the id is child-c's own template"
    );
}

/// Templates go only down from a parent, to its own children, by a holder of templates.share.
async fn sharing_upward_or_sideways_is_refused(app: TestApp) {
    app.team(&["a", "b"]).await;
    app.member("boss", "team", "viewer", "viewer", vec![]).await;
    app.account("rival", "rival-boss").await;
    app.child_account("rival-kid", "rival-kid-owner", "rival", "rival-boss")
        .await;
    app.account("solo", "solo-owner").await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;

    assert_refused(
        client
            .share_template(share("owner-a", "child-a", "tpl-1", &[]))
            .await,
        Code::FailedPrecondition,
        "SHARE_NOT_FROM_PARENT",
    );
    assert_refused_for(
        client
            .share_template(share("boss", "child-a", "tpl-1", &[]))
            .await,
        Code::FailedPrecondition,
        "SHARE_NOT_FROM_PARENT",
        "not even the parent owner",
    );
    for sideways in ["rival-kid", "solo", "team"] {
        assert_refused_for(
            client
                .share_template(share("boss", "team", "tpl-1", &["child-a", sideways]))
                .await,
            Code::FailedPrecondition,
            "NOT_A_CHILD_ACCOUNT",
            sideways,
        );
    }
    let status = expect_code(
        client
            .share_template(share("boss", "team", "tpl-1", &["ghost"]))
            .await,
        Code::NotFound,
    );
    assert!(status.message().contains("ghost"), "{status:?}");
    assert_refused(
        client.share_template(share("viewer", "team", "tpl-1", &[])).await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    expect_code(
        client
            .share_template(share("boss", "no-such", "tpl-1", &[]))
            .await,
        Code::NotFound,
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert!(app.shared_templates("boss", "team").await.is_empty());
}

/// Sharing a template again replaces its selection of children.
async fn resharing_replaces_the_selection(app: TestApp) {
    app.team(&["a", "b"]).await;
    let mut client = app.client.clone();
    client
        .share_template(share("boss", "team", "tpl-1", &["child-a"]))
        .await
        .unwrap();
    client
        .share_template(share("boss", "team", "tpl-1", &["child-b"]))
        .await
        .unwrap();
    let from_parent = app.shared_templates("boss", "team").await;
    assert_eq!(template_ids(&from_parent), ["tpl-1"], "not duplicated");
    assert_eq!(from_parent[0].child_account_ids, ["child-b"]);
    assert!(app.shared_templates("owner-a", "child-a").await.is_empty());
    assert_eq!(
        template_ids(&app.shared_templates("owner-b", "child-b").await),
        ["tpl-1"]
    );
    assert!(
        app.check_on("owner-a", "child-a", "templates.edit", (Template, "tpl-1"))
            .await
            .allowed,
        "no longer shared with child-a"
    );
    let counts = app.table_counts().await;
    assert_eq!(counts["shared_resources"], 1);
    assert_eq!(counts["shared_resource_children"], 1);

    client
        .share_template(share("boss", "team", "tpl-1", &[]))
        .await
        .unwrap();
    let from_parent = app.shared_templates("boss", "team").await;
    assert_eq!(from_parent.len(), 1);
    assert!(from_parent[0].all_children);
    assert!(from_parent[0].child_account_ids.is_empty());
    assert_eq!(
        template_ids(&app.shared_templates("owner-a", "child-a").await),
        ["tpl-1"]
    );
    assert_eq!(app.table_counts().await["shared_resource_children"], 0);
    assert_eq!(app.activity_count("team", "template.share").await, 3);
}

/// Unsharing removes the template from every child; a second unshare is NOT_FOUND.
async fn unsharing_removes_the_template(app: TestApp) {
    app.team(&["a", "b"]).await;
    app.member("boss", "team", "viewer", "viewer", vec![]).await;
    let mut client = app.client.clone();
    client
        .share_template(share("boss", "team", "tpl-1", &["child-a"]))
        .await
        .unwrap();
    let edit = app
        .check_on("owner-a", "child-a", "templates.edit", (Template, "tpl-1"))
        .await;
    assert_eq!(reason(&edit), R::SharedTemplateReadOnly);

    let before = app.table_counts().await;
    assert_refused(
        client.unshare_template(unshare("viewer", "team", "tpl-1")).await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    assert_eq!(app.table_counts().await, before);

    client
        .unshare_template(unshare("boss", "team", "tpl-1"))
        .await
        .unwrap();
    assert!(app.shared_templates("owner-a", "child-a").await.is_empty());
    assert!(app.shared_templates("boss", "team").await.is_empty());
    let edit = app
        .check_on("owner-a", "child-a", "templates.edit", (Template, "tpl-1"))
        .await;
    assert_eq!((edit.allowed, reason(&edit)), (true, R::Allowed));
    let counts = app.table_counts().await;
    assert_eq!(counts["shared_resources"], 0);
    assert_eq!(counts["shared_resource_children"], 0);

    expect_code(
        client.unshare_template(unshare("boss", "team", "tpl-1")).await,
        Code::NotFound,
    );
    assert_eq!(app.activity_count("team", "template.share").await, 1);
    assert_eq!(app.activity_count("team", "template.unshare").await, 1);
}

/// ListSharedTemplates pages walk every template once, in the order of one big page.
async fn shared_template_pages_walk_every_row_once(app: TestApp) {
    app.team(&["a", "b"]).await;
    let mut client = app.client.clone();
    for template in ["tpl-c", "tpl-B", "tpl-a", "TPL-d"] {
        client
            .share_template(share("boss", "team", template, &[]))
            .await
            .unwrap();
    }
    let all = app.shared_templates("boss", "team").await;
    assert_eq!(all.len(), 4);
    for (owner, account) in [("boss", "team"), ("owner-a", "child-a")] {
        let mut walked = Vec::new();
        let mut token = String::new();
        for _ in 0..10 {
            let page = client
                .list_shared_templates(pb::ListSharedTemplatesRequest {
                    page_size: 1,
                    page_token: token.clone(),
                    ..list_shared_templates(owner, account)
                })
                .await
                .unwrap()
                .into_inner();
            walked.extend(page.shared_templates);
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        assert_eq!(
            template_ids(&walked),
            template_ids(&all),
            "walking {account} page by page"
        );
    }
}

/// Bad input names its fields; ListSharedTemplates refuses oversized pages.
async fn bad_shares_name_their_fields(app: TestApp) {
    app.team(&["a", "b"]).await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;
    let status = expect_code(
        client.share_template(share("boss", "team", " ", &[])).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["template_id"]);
    let status = expect_code(
        client.share_template(share("boss", "team", "tpl-1", &[""])).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["child_account_ids[0]"]);
    let status = expect_code(
        client.share_template(share("", "", "", &["child-a", " "])).await,
        Code::InvalidArgument,
    );
    assert_eq!(
        bad_fields(&status),
        [
            "actor_user_id",
            "account_id",
            "template_id",
            "child_account_ids[1]"
        ]
    );
    let status = expect_code(
        client.unshare_template(unshare("boss", "team", "")).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["template_id"]);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    let status = expect_code(
        client
            .list_shared_templates(pb::ListSharedTemplatesRequest {
                page_size: 2000,
                ..list_shared_templates("boss", "team")
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["page_size"]);
}

crate::on_both_databases!(
    sharing_with_all_children_reaches_later_children,
    sharing_with_chosen_children,
    sharing_upward_or_sideways_is_refused,
    resharing_replaces_the_selection,
    unsharing_removes_the_template,
    shared_template_pages_walk_every_row_once,
    bad_shares_name_their_fields,
);
