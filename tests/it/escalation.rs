//! The escalation holes of issue 10 item 4, each closed by a rule of
//! docs/domain.md: what a scoped actor may grant, approve, edit or act on
//! (rule 6), resends (rule 10), identity claims (rule 9), reads without an
//! actor, and the limits the API, the code and the schema share.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::List;
use pb::DecisionReason as R;
use tonic::Code;

use crate::helpers::{TestApp, assert_refused, reason, scope};

/// A custom role "list_lead" that manages users and lists, and "lead" holding it
/// scoped to list 4: the scoped actor of the tests below.
async fn scoped_lead(app: &TestApp) {
    app.create_role(
        "owner",
        "acme",
        "list_lead",
        &[
            "users.view",
            "users.invite",
            "users.edit",
            "users.remove",
            "lists.view",
            "lists.edit",
            "campaigns.view",
        ],
    )
    .await
    .expect("owner creates the lead role");
    app.member("owner", "acme", "lead", "list_lead", vec![scope(List, &["4"])])
        .await;
}

fn update_role(actor: &str, account: &str, name: &str, permissions: &[&str]) -> pb::UpdateRoleRequest {
    pb::UpdateRoleRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        name: name.into(),
        description: String::new(),
        permissions: Some(pb::PermissionList {
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        }),
    }
}

/// Rule 6: approving hands out the permission over the requester's scopes, so
/// an approver scoped to list 4 approves lists.edit only for a requester
/// scoped within list 4.
async fn a_scoped_approver_grants_only_within_their_scope(app: TestApp) {
    app.account("acme", "owner").await;
    scoped_lead(&app).await;
    app.member("owner", "acme", "wide", "viewer", vec![]).await;
    app.member("owner", "acme", "narrow", "viewer", vec![scope(List, &["4"])])
        .await;
    let wide = app
        .request_access("wide", "acme", "lists.edit", "")
        .await
        .expect("request filed");
    let narrow = app
        .request_access("narrow", "acme", "lists.edit", "")
        .await
        .expect("request filed");
    let before = app.table_counts().await;

    assert_refused(
        app.decide("lead", &wide.id, true).await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    assert_eq!(app.table_counts().await, before, "a refusal writes nothing");
    let five = app.check_on("wide", "acme", "lists.edit", (List, "5")).await;
    assert_eq!(reason(&five), R::PermissionNotGranted);

    app.decide("lead", &narrow.id, true)
        .await
        .expect("within the approver's scope");
    assert!(
        app.check_on("narrow", "acme", "lists.edit", (List, "4"))
            .await
            .allowed
    );
    let five = app.check_on("narrow", "acme", "lists.edit", (List, "5")).await;
    assert_eq!(reason(&five), R::OutOfScope);
    app.decide("lead", &wide.id, false)
        .await
        .expect("rejecting gives nothing: always allowed");
}

/// Rule 6: editing a role changes what each of its holders may do, so a
/// scoped actor edits only roles whose holders stay within the actor's scopes.
async fn a_scoped_actor_edits_only_roles_its_scopes_cover(app: TestApp) {
    app.account("acme", "owner").await;
    scoped_lead(&app).await;
    for name in ["helper", "narrow_helper"] {
        app.create_role("owner", "acme", name, &["campaigns.view"])
            .await
            .expect("role created");
    }
    app.member("owner", "acme", "h", "helper", vec![]).await;
    app.member("owner", "acme", "nh", "narrow_helper", vec![scope(List, &["4"])])
        .await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;

    assert_refused(
        client
            .update_role(update_role(
                "lead",
                "acme",
                "helper",
                &["campaigns.view", "lists.edit"],
            ))
            .await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    assert_eq!(app.table_counts().await, before, "a refusal writes nothing");
    let five = app.check_on("h", "acme", "lists.edit", (List, "5")).await;
    assert_eq!(reason(&five), R::PermissionNotGranted);

    client
        .update_role(update_role(
            "lead",
            "acme",
            "narrow_helper",
            &["campaigns.view", "lists.edit"],
        ))
        .await
        .expect("every holder stays within the actor's scope");
    assert!(
        app.check_on("nh", "acme", "lists.edit", (List, "4"))
            .await
            .allowed
    );
    assert_eq!(
        reason(&app.check_on("nh", "acme", "lists.edit", (List, "5")).await),
        R::OutOfScope
    );
}

/// Rules 6 and 8: an admin scoped to list 4 does not cover an unscoped admin,
/// so it can neither change, deactivate, reactivate nor remove them.
async fn a_scoped_admin_cannot_act_on_an_unscoped_admin(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "scoped", "admin", vec![scope(List, &["4"])])
        .await;
    app.member("owner", "acme", "wide", "admin", vec![]).await;
    app.member("owner", "acme", "gone", "admin", vec![]).await;
    app.deactivate("owner", "acme", "gone")
        .await
        .expect("the owner deactivates");
    app.member("owner", "acme", "lm", "list_manager", vec![scope(List, &["4"])])
        .await;
    let before = app.table_counts().await;

    assert_refused(
        app.update_member_role("scoped", "acme", "wide", "viewer").await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    assert_refused(
        app.deactivate("scoped", "acme", "wide").await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    assert_refused(
        app.remove("scoped", "acme", "wide").await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    assert_refused(
        app.reactivate("scoped", "acme", "gone").await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert!(app.check("wide", "acme", "account.close").await.allowed);

    app.deactivate("scoped", "acme", "lm")
        .await
        .expect("a member within the actor's scope");
}

crate::on_both_databases!(
    a_scoped_approver_grants_only_within_their_scope,
    a_scoped_actor_edits_only_roles_its_scopes_cover,
    a_scoped_admin_cannot_act_on_an_unscoped_admin,
);
