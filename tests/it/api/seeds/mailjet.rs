//! Mailjet's Account Sharing, replayed as one story over gRPC.

use access_service::grpc::pb;
use pb::DecisionReason as R;
use pb::MemberStatus as S;
use tonic::Code;

use super::{accounts_of, assert_allowed, assert_not_granted, can, row};
use crate::support::{TestApp, assert_refused, assert_refused_for, email, list_users, reason};

/// Mailjet: predefined roles (Manager = power_user, Accountant, Developer, Marketer,
/// Designer), custom roles, one invitation for the master and sub-accounts, deleting
/// access while the invitation is pending, and the plan's number of "accesses".
pub(super) async fn mailjet_account_sharing(app: TestApp) {
    let mut client = app.client.clone();
    app.account("mj", "mj-owner").await;
    app.child_account("mj-sub1", "mj-owner", "mj", "mj-owner").await;
    app.child_account("mj-sub2", "mj-owner", "mj", "mj-owner").await;
    let team = ["mj", "mj-sub1", "mj-sub2"];

    // "Invite a User (You have sub-accounts)": one invitation, three accounts, one token.
    let invited = client
        .invite(pb::InviteRequest {
            actor_user_id: "mj-owner".into(),
            account_id: "mj".into(),
            email: email("designer"),
            role: "designer".into(),
            message: "Please polish our templates".into(),
            additional_accounts: ["mj-sub1", "mj-sub2"]
                .iter()
                .map(|id| pb::InviteTarget {
                    account_id: (*id).into(),
                    role: "designer".into(),
                    scopes: vec![],
                })
                .collect(),
            ..Default::default()
        })
        .await
        .expect("one invitation for the master and both sub-accounts")
        .into_inner();
    assert!(!invited.token.is_empty());
    assert_eq!(invited.invitation.as_ref().unwrap().account_id, "mj");
    let others: Vec<&str> = invited
        .additional_invitations
        .iter()
        .map(|i| i.account_id.as_str())
        .collect();
    assert_eq!(others, ["mj-sub1", "mj-sub2"], "in request order");
    let pending = row(&app.users(list_users("mj-owner", "mj-sub1")).await, "designer").clone();
    assert_eq!(
        (pending.status(), pending.role.as_str()),
        (S::Pending, "designer")
    );
    let accepted = app
        .accept(&invited.token, "designer")
        .await
        .expect("the designer accepts");
    assert_eq!(accepted.additional_members.len(), 2, "all accepted together");
    assert_eq!(
        row(&app.users(list_users("mj-owner", "mj-sub2")).await, "designer").status(),
        S::Active,
        "'Pending' became 'Active'"
    );
    assert_allowed(
        &app,
        "designer",
        &team,
        &["templates.view", "templates.edit", "templates.lock"],
    )
    .await;
    assert_not_granted(
        &app,
        "designer",
        &team,
        &[
            "templates.publish",
            "templates.labels",
            "campaigns.send",
            "billing.view",
        ],
    )
    .await;
    let designer_accounts: Vec<String> = accounts_of(&app, "designer")
        .await
        .into_iter()
        .map(|a| format!("{}:{}", a.account.unwrap().id, a.role))
        .collect();
    assert_eq!(
        designer_accounts,
        ["mj:designer", "mj-sub1:designer", "mj-sub2:designer"]
    );

    // Edit access of a pending invitation, re-send it, then "Delete Access" before it is accepted.
    let second = app
        .invite("mj-owner", "mj", "designer2", "designer", vec![])
        .await
        .expect("invite a second designer");
    let second_id = second.invitation.unwrap().id;
    let edited = client
        .update_invitation(pb::UpdateInvitationRequest {
            actor_user_id: "mj-owner".into(),
            invitation_id: second_id.clone(),
            role: "developer".into(),
            scopes: None,
        })
        .await
        .expect("the role of a pending invitation can change")
        .into_inner()
        .invitation
        .unwrap();
    assert_eq!(edited.role, "developer");
    let resent = client
        .resend_invitation(pb::ResendInvitationRequest {
            actor_user_id: "mj-owner".into(),
            invitation_id: second_id.clone(),
        })
        .await
        .expect("re-send invitation")
        .into_inner();
    assert_eq!(resent.invitation.unwrap().send_count, 2);
    assert_refused_for(
        app.accept(&second.token, "designer2").await,
        Code::NotFound,
        "INVITATION_TOKEN_UNKNOWN",
        "the old link died",
    );
    let revoked = app
        .revoke("mj-owner", &second_id)
        .await
        .expect("delete access while pending");
    assert_eq!(revoked.state(), pb::InvitationState::Revoked);
    assert_refused(
        app.accept(&resent.token, "designer2").await,
        Code::FailedPrecondition,
        "INVITATION_REVOKED",
    );
    let outsider = app.check("designer2", "mj", "templates.view").await;
    assert_eq!((outsider.allowed, reason(&outsider)), (false, R::NotAMember));
    assert!(
        !app.users(list_users("mj-owner", "mj"))
            .await
            .iter()
            .any(|r| r.email == email("designer2")),
        "a revoked invitation leaves the user list"
    );

    // Accountant: billing only. Manager (power_user): everything but account sharing.
    app.member("mj-owner", "mj", "accountant", "accountant", vec![])
        .await;
    assert_allowed(&app, "accountant", &["mj"], &["billing.view", "billing.edit"]).await;
    assert_not_granted(
        &app,
        "accountant",
        &["mj"],
        &["campaigns.view", "campaigns.send", "templates.view", "users.view"],
    )
    .await;
    app.member("mj-owner", "mj", "mj-manager", "power_user", vec![])
        .await;
    assert_allowed(
        &app,
        "mj-manager",
        &["mj"],
        &[
            "campaigns.send",
            "templates.publish",
            "transactional.publish",
            "billing.view",
            "api_keys.manage",
        ],
    )
    .await;
    assert_not_granted(
        &app,
        "mj-manager",
        &["mj"],
        &["users.invite", "users.view", "users.edit", "account.close"],
    )
    .await;
    assert_refused(
        app.invite("mj-manager", "mj", "friend", "viewer", vec![]).await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );

    // Custom role: chosen areas only; it counts as a restricted access.
    let role = app
        .create_role(
            "mj-owner",
            "mj",
            "campaigner",
            &["campaigns.view", "campaigns.edit", "reports.view"],
        )
        .await
        .expect("create a custom role");
    assert!(role.restricted && !role.builtin);
    app.member("mj-owner", "mj", "analyst", "campaigner", vec![])
        .await;
    assert_allowed(&app, "analyst", &["mj"], &["campaigns.edit", "reports.view"]).await;
    assert_not_granted(&app, "analyst", &["mj"], &["campaigns.send", "lists.view"]).await;

    // A plan with 2 accesses (Crystal): designer and analyst use them up.
    let account = app.set_limits("mj", None, Some(2)).await.expect("two accesses");
    assert_eq!(account.max_restricted_members, Some(2));
    for (user, role) in [
        ("marketer", "marketer"),
        ("developer", "developer"),
        ("analyst2", "campaigner"),
    ] {
        assert_refused_for(
            app.invite("mj-owner", "mj", user, role, vec![]).await,
            Code::ResourceExhausted,
            "RESTRICTED_ROLE_LIMIT_REACHED",
            role,
        );
    }
    app.member("mj-owner", "mj", "accountant2", "accountant", vec![])
        .await;
    assert!(
        app.invite("mj-owner", "mj-sub1", "marketer", "marketer", vec![])
            .await
            .is_ok(),
        "the master's plan limit does not apply to a sub-account without a limit"
    );

    // Downgrading to Bronze (0 accesses) names who must change first.
    let status = assert_refused(
        app.set_limits("mj", None, Some(0)).await,
        Code::FailedPrecondition,
        "LIMIT_BELOW_USAGE",
    );
    for user in ["designer", "analyst"] {
        assert!(
            status.message().contains(&email(user)),
            "the refusal names {user}: {}",
            status.message()
        );
    }
    assert_eq!(
        app.get_account("mj").await.max_restricted_members,
        Some(2),
        "the refused downgrade changed nothing"
    );
    app.update_member_role("mj-owner", "mj", "designer", "power_user")
        .await
        .expect("give the designer full access instead");
    app.remove("mj-owner", "mj", "analyst")
        .await
        .expect("remove the custom-role user");
    let account = app
        .set_limits("mj", None, Some(0))
        .await
        .expect("downgrade once the accesses are freed");
    assert_eq!(account.max_restricted_members, Some(0));
    assert_refused(
        app.invite("mj-owner", "mj", "developer", "developer", vec![])
            .await,
        Code::ResourceExhausted,
        "RESTRICTED_ROLE_LIMIT_REACHED",
    );
    assert!(can(&app, "designer", "mj", "templates.publish").await);
    assert!(
        !can(&app, "designer", "mj-sub1", "templates.publish").await,
        "still a designer in the sub-account"
    );
}

crate::on_both_databases!(mailjet_account_sharing);
