//! Sharing by a scoped member, docs/domain.md rule 5 with rules 2 and 6: a
//! member scoped on templates or suppression lists shares, unshares and
//! lists the shares of only the ids in their scope.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::{SuppressionList, Template};
use tonic::{Code, Status};

use crate::support::{
    TestApp, assert_refused_for, list_shared_templates, scope, share, share_suppression_list, template_ids,
    unshare_suppression_list,
};

fn unshare_template(actor: &str, account: &str, template: &str) -> pb::UnshareTemplateRequest {
    pb::UnshareTemplateRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        template_id: template.into(),
    }
}

/// The suppression lists `actor` sees shared by or to `account`.
async fn shared_lists(app: &TestApp, actor: &str, account: &str) -> Vec<String> {
    app.client
        .clone()
        .list_shared_suppression_lists(pb::ListSharedSuppressionListsRequest {
            actor_user_id: actor.into(),
            account_id: account.into(),
            ..Default::default()
        })
        .await
        .expect("list shared suppression lists")
        .into_inner()
        .shared_suppression_lists
        .into_iter()
        .map(|shared| shared.suppression_list_id)
        .collect()
}

/// The templates `actor` sees shared by or to `account`.
async fn shared_templates(app: &TestApp, actor: &str, account: &str) -> Vec<String> {
    let response = app
        .client
        .clone()
        .list_shared_templates(list_shared_templates(actor, account))
        .await
        .expect("list shared templates")
        .into_inner();
    template_ids(&response.shared_templates)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// "team" with the child "child-a"; "scoped", a power user of the team
/// (templates.share, suppressions.edit) scoped to template "t-in" and
/// suppression list "s-in"; and the boss's shares of "t-out" and "s-out".
async fn team_with_a_scoped_sharer(app: &TestApp) {
    app.team(&["a"]).await;
    app.member(
        "boss",
        "team",
        "scoped",
        "power_user",
        vec![scope(SuppressionList, &["s-in"]), scope(Template, &["t-in"])],
    )
    .await;
    let mut client = app.client.clone();
    client
        .share_template(share("boss", "team", "t-out", &[]))
        .await
        .expect("t-out shared");
    client
        .share_suppression_list(share_suppression_list("boss", "team", "s-out", &[]))
        .await
        .expect("s-out shared");
}

/// Rule 5 with rule 2: a member scoped to suppression list s-in cannot
/// share or unshare s-out (the children would then mail the addresses it
/// suppresses), nor a template outside their scope; each refusal is
/// OUT_OF_SCOPE, as Authorize would answer, and writes nothing. Within
/// their scope they share and unshare.
async fn a_scoped_member_shares_and_unshares_only_within_their_scope(app: TestApp) {
    team_with_a_scoped_sharer(&app).await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;
    let refusals: Vec<(&str, Result<(), Status>)> = vec![
        (
            "unshare suppression list s-out",
            client
                .unshare_suppression_list(unshare_suppression_list("scoped", "team", "s-out"))
                .await
                .map(drop),
        ),
        (
            "share suppression list s-out to child-a",
            client
                .share_suppression_list(share_suppression_list("scoped", "team", "s-out", &["child-a"]))
                .await
                .map(drop),
        ),
        (
            "share suppression list s-new",
            client
                .share_suppression_list(share_suppression_list("scoped", "team", "s-new", &[]))
                .await
                .map(drop),
        ),
        (
            "unshare template t-out",
            client
                .unshare_template(unshare_template("scoped", "team", "t-out"))
                .await
                .map(drop),
        ),
        (
            "share template t-out to child-a",
            client
                .share_template(share("scoped", "team", "t-out", &["child-a"]))
                .await
                .map(drop),
        ),
        (
            "share template t-new",
            client
                .share_template(share("scoped", "team", "t-new", &[]))
                .await
                .map(drop),
        ),
    ];
    for (case, result) in refusals {
        assert_refused_for(result, Code::PermissionDenied, "OUT_OF_SCOPE", case);
    }
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    for action in [
        "suppression_list.share",
        "suppression_list.unshare",
        "template.share",
        "template.unshare",
    ] {
        let by_boss = i64::from(action.ends_with(".share"));
        assert_eq!(app.activity_count("team", action).await, by_boss, "{action}");
    }
    assert_eq!(shared_lists(&app, "owner-a", "child-a").await, ["s-out"]);
    assert_eq!(shared_templates(&app, "owner-a", "child-a").await, ["t-out"]);
    let still = app.shared_templates("boss", "team").await;
    assert!(still[0].all_children, "the share still reaches every child");

    // Within their scope, the same member shares and unshares as any
    // holder of the permission does.
    client
        .share_suppression_list(share_suppression_list("scoped", "team", "s-in", &["child-a"]))
        .await
        .expect("s-in is in scope");
    client
        .share_template(share("scoped", "team", "t-in", &[]))
        .await
        .expect("t-in is in scope");
    assert_eq!(shared_lists(&app, "owner-a", "child-a").await, ["s-in", "s-out"]);
    assert_eq!(
        shared_templates(&app, "owner-a", "child-a").await,
        ["t-in", "t-out"]
    );
    assert_eq!(app.activity_count("team", "suppression_list.share").await, 2);
    assert_eq!(app.activity_count("team", "template.share").await, 2);

    client
        .unshare_suppression_list(unshare_suppression_list("scoped", "team", "s-in"))
        .await
        .expect("s-in unshared");
    client
        .unshare_template(unshare_template("scoped", "team", "t-in"))
        .await
        .expect("t-in unshared");
    assert_eq!(shared_lists(&app, "owner-a", "child-a").await, ["s-out"]);
    assert_eq!(shared_templates(&app, "owner-a", "child-a").await, ["t-out"]);
    assert_eq!(app.activity_count("team", "suppression_list.unshare").await, 1);
    assert_eq!(app.activity_count("team", "template.unshare").await, 1);
}

/// ListSharedTemplates and ListSharedSuppressionLists show a scoped member
/// only the shares of the ids in their scope, in the parent and in a
/// child; an unscoped member sees them all.
async fn a_scoped_member_lists_only_the_shares_in_their_scope(app: TestApp) {
    team_with_a_scoped_sharer(&app).await;
    app.member("boss", "team", "unscoped", "power_user", vec![]).await;
    app.member(
        "owner-a",
        "child-a",
        "kid",
        "power_user",
        vec![scope(SuppressionList, &["s-in"]), scope(Template, &["t-in"])],
    )
    .await;
    let mut client = app.client.clone();
    client
        .share_suppression_list(share_suppression_list("boss", "team", "s-in", &[]))
        .await
        .expect("s-in shared");
    client
        .share_template(share("boss", "team", "t-in", &[]))
        .await
        .expect("t-in shared");

    for (actor, account) in [("scoped", "team"), ("kid", "child-a")] {
        assert_eq!(shared_lists(&app, actor, account).await, ["s-in"], "{actor}");
        assert_eq!(shared_templates(&app, actor, account).await, ["t-in"], "{actor}");
    }
    for (actor, account) in [("unscoped", "team"), ("boss", "team"), ("owner-a", "child-a")] {
        assert_eq!(
            shared_lists(&app, actor, account).await,
            ["s-in", "s-out"],
            "{actor}"
        );
        assert_eq!(
            shared_templates(&app, actor, account).await,
            ["t-in", "t-out"],
            "{actor}"
        );
    }
}

crate::on_both_databases!(
    a_scoped_member_shares_and_unshares_only_within_their_scope,
    a_scoped_member_lists_only_the_shares_in_their_scope,
);
