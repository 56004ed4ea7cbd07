//! Rule 6 of docs/domain.md against a scoped actor (approving, editing a
//! role, acting on a member) and rule 10's resends.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::{Campaign, List};
use pb::DecisionReason as R;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::{
    TestApp, assert_refused, assert_refused_for, email, reason, resend, scope, scoped_lead, update_role,
};

/// Rule 6: approving hands out the permission over the requester's scopes, so
/// an approver scoped to list 4 approves lists.edit only for a requester
/// scoped within list 4. (Watchers see contacts, so a list scope means
/// something on them.)
async fn a_scoped_approver_grants_only_within_their_scope(app: TestApp) {
    app.account("acme", "owner").await;
    scoped_lead(&app).await;
    app.member("owner", "acme", "wide", "watcher", vec![]).await;
    app.member("owner", "acme", "narrow", "watcher", vec![scope(List, &["4"])])
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
        // lists.view: a list scope means something on these roles.
        app.create_role("owner", "acme", name, &["campaigns.view", "lists.view"])
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

/// Rule 6: scopes are compared only on types the other member reaches. An
/// admin scoped to list 4 covers an unscoped viewer (who holds no list or
/// contacts permission, so reaches no list) and may change or deactivate
/// them; it still does not cover an unscoped watcher (contacts.view reaches
/// every list's contacts), nor a viewer it would grant lists.view.
async fn a_list_scope_covers_members_who_reach_no_list(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "scoped", "admin", vec![scope(List, &["4"])])
        .await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    app.member("owner", "acme", "watcher", "watcher", vec![]).await;
    let before = app.table_counts().await;
    assert_refused(
        app.deactivate("scoped", "acme", "watcher").await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    let mut client = app.client.clone();
    assert_refused(
        client
            .update_member(pb::UpdateMemberRequest {
                actor_user_id: "scoped".into(),
                account_id: "acme".into(),
                user_id: "viewer".into(),
                extra_permissions: Some(pb::PermissionList {
                    permissions: vec!["lists.view".into()],
                }),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    app.update_member_role("scoped", "acme", "viewer", "watcher")
        .await
        .expect_err("a watcher reaches every list: not the actor's to give");
    app.deactivate("scoped", "acme", "viewer")
        .await
        .expect("an unscoped viewer reaches no list: covered");
    app.reactivate("scoped", "acme", "viewer")
        .await
        .expect("and back");
    app.invite("scoped", "acme", "newcomer", "viewer", vec![])
        .await
        .expect("inviting an unscoped viewer hands out no list");
}

/// Rule 6: a scope on a type the role (with its extra grants) holds
/// no permission for would mean nothing; Invite, UpdateInvitation and
/// UpdateMember refuse it, INVALID_ARGUMENT naming the field with reason
/// SCOPE_WITHOUT_PERMISSION, and write nothing. A scope the role can use
/// (a viewer's campaigns) is accepted.
async fn a_scope_the_role_cannot_use_is_refused(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "lm", "list_manager", vec![scope(List, &["4"])])
        .await;
    let (pending, _) = app.invited("acme", "pending", "list_manager").await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;
    let refused = |status: tonic::Status, field: &str| {
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        let bad = status.get_details_bad_request().expect("a BadRequest");
        let violation = &bad.field_violations[0];
        assert_eq!(
            (violation.field.as_str(), violation.reason.as_str()),
            (field, "SCOPE_WITHOUT_PERMISSION"),
            "{status:?}"
        );
        assert!(status.message().contains("scope"), "{status:?}");
    };
    refused(
        app.invite("owner", "acme", "x", "viewer", vec![scope(List, &["4"])])
            .await
            .expect_err("a viewer sees no list"),
        "scopes",
    );
    refused(
        client
            .invite(reinvite(
                "owner",
                "y",
                "designer",
                vec![scope(Campaign, &["1"])],
                false,
            ))
            .await
            .expect_err("a designer sees no campaign"),
        "scopes",
    );
    refused(
        app.update_member_role("owner", "acme", "lm", "viewer")
            .await
            .expect_err("the kept list scope would mean nothing"),
        "role",
    );
    refused(
        client
            .update_member(pb::UpdateMemberRequest {
                actor_user_id: "owner".into(),
                account_id: "acme".into(),
                user_id: "lm".into(),
                role: "accountant".into(),
                scopes: Some(pb::ScopeList {
                    scopes: vec![scope(List, &["4"])],
                }),
                ..Default::default()
            })
            .await
            .expect_err("an accountant sees no list"),
        "scopes.scopes",
    );
    refused(
        client
            .update_invitation(pb::UpdateInvitationRequest {
                actor_user_id: "owner".into(),
                invitation_id: pending.id.clone(),
                role: "viewer".into(),
                scopes: Some(pb::ScopeList {
                    scopes: vec![scope(List, &["4"])],
                }),
            })
            .await
            .expect_err("a viewer sees no list"),
        "scopes.scopes",
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    app.invite("owner", "acme", "x", "viewer", vec![scope(Campaign, &["4"])])
        .await
        .expect("a viewer sees campaigns: the scope narrows them");
    client
        .update_member(pb::UpdateMemberRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            user_id: "lm".into(),
            role: "viewer".into(),
            scopes: Some(pb::ScopeList { scopes: vec![] }),
            ..Default::default()
        })
        .await
        .expect("dropping the scope with the role change");

    // One invitation for a team: the refusal names the target that is wrong.
    app.team(&["a"]).await;
    let before = app.table_counts().await;
    refused(
        client
            .invite(pb::InviteRequest {
                actor_user_id: "boss".into(),
                account_id: "team".into(),
                email: email("teamer"),
                role: "list_manager".into(),
                scopes: vec![scope(List, &["4"])],
                additional_accounts: vec![pb::InviteTarget {
                    account_id: "child-a".into(),
                    role: "viewer".into(),
                    scopes: vec![scope(List, &["4"])],
                }],
                ..Default::default()
            })
            .await
            .expect_err("a viewer sees no list in the child either"),
        "additional_accounts[0].scopes",
    );
    assert_eq!(
        app.table_counts().await,
        before,
        "nothing written for either account"
    );
}

fn reinvite(actor: &str, user: &str, role: &str, scopes: Vec<pb::Scope>, resend: bool) -> pb::InviteRequest {
    pb::InviteRequest {
        actor_user_id: actor.into(),
        account_id: "acme".into(),
        email: email(user),
        role: role.into(),
        scopes,
        resend_if_pending: resend,
        ..Default::default()
    }
}

/// Rules 6 and 10: a resend hands out the stored invitation again, with a new
/// token: the actor must be able to grant its role and scopes, whatever the
/// request names.
async fn resending_needs_the_right_to_grant_the_stored_invitation(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "am", "account_manager", vec![]).await;
    app.member(
        "owner",
        "acme",
        "scoped",
        "account_manager",
        vec![scope(List, &["4"])],
    )
    .await;
    let (admin, admin_token) = app.invited("acme", "x", "admin").await;
    let (lm, _) = app.invited("acme", "y", "list_manager").await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;

    assert_refused(
        client.resend_invitation(resend("am", &admin.id)).await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    assert_refused(
        client.resend_invitation(resend("scoped", &lm.id)).await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    // Asking to resend it under another role neither resends it nor hands out its token.
    assert_refused(
        client.invite(reinvite("am", "x", "viewer", vec![], true)).await,
        Code::FailedPrecondition,
        "INVITATION_PENDING_WITH_OTHER_TERMS",
    );
    assert_refused(
        client.invite(reinvite("am", "x", "admin", vec![], true)).await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    // Revoking or editing acts on what the invitation offers: the same rule as for members.
    assert_refused(
        app.revoke("am", &admin.id).await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    assert_refused(
        client
            .update_invitation(pb::UpdateInvitationRequest {
                actor_user_id: "am".into(),
                invitation_id: admin.id.clone(),
                role: "viewer".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    app.accept(&admin_token, "x")
        .await
        .expect("the owner's token still opens the invitation");
    client
        .resend_invitation(resend("owner", &lm.id))
        .await
        .expect("the owner covers every invitation");
}

/// Rule 10: re-inviting a pending address returns the pending invitation only
/// when it offers what is asked; another role or other scopes are refused,
/// naming the role pending, instead of an OK that silently keeps the old one.
async fn reinviting_with_other_terms_is_refused_naming_the_pending_role(app: TestApp) {
    app.account("acme", "owner").await;
    let (pending, _) = app.invited("acme", "x", "viewer").await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;

    for (request, case) in [
        (reinvite("owner", "x", "manager", vec![], false), "another role"),
        (
            reinvite("owner", "x", "manager", vec![], true),
            "another role, resend",
        ),
        (
            reinvite("owner", "x", "viewer", vec![scope(Campaign, &["4"])], false),
            "other scopes",
        ),
    ] {
        let status = assert_refused_for(
            client.invite(request).await,
            Code::FailedPrecondition,
            "INVITATION_PENDING_WITH_OTHER_TERMS",
            case,
        );
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(
            info.metadata.get("pending_role").map(String::as_str),
            Some("viewer"),
            "{case}"
        );
        assert_eq!(
            info.metadata.get("invitation_id").map(String::as_str),
            Some(pending.id.as_str()),
            "{case}"
        );
        assert!(status.message().contains("viewer"), "{case}: {status:?}");
    }
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    let same = client
        .invite(reinvite("owner", "x", "viewer", vec![], false))
        .await
        .expect("the same terms return the pending invitation")
        .into_inner();
    assert_eq!(same.invitation.expect("invitation").id, pending.id);
    assert_eq!(same.token, "", "nothing was issued");
    let resent = client
        .invite(reinvite("owner", "x", "viewer", vec![], true))
        .await
        .expect("the same terms resend")
        .into_inner();
    assert!(!resent.token.is_empty());
}

crate::on_both_databases!(
    a_scoped_approver_grants_only_within_their_scope,
    a_scoped_actor_edits_only_roles_its_scopes_cover,
    a_scoped_admin_cannot_act_on_an_unscoped_admin,
    a_list_scope_covers_members_who_reach_no_list,
    a_scope_the_role_cannot_use_is_refused,
    resending_needs_the_right_to_grant_the_stored_invitation,
    reinviting_with_other_terms_is_refused_naming_the_pending_role,
);
