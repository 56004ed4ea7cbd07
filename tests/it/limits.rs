//! SetAccountLimits and CloseAccount: DOMAIN rule 14 (plan quotas) and closing an account.

use access_service::grpc::pb;
use pb::DecisionReason as R;
use tonic::{Code, Status};

use crate::helpers::{TestApp, bad_fields, error_reason, expect_code, person, reason};

// === Request shortcuts ===

async fn set_limits(
    app: &TestApp,
    actor: &str,
    account: &str,
    max_members: Option<i32>,
    max_restricted_members: Option<i32>,
) -> Result<pb::Account, Status> {
    app.client
        .clone()
        .set_account_limits(pb::SetAccountLimitsRequest {
            actor_user_id: actor.into(),
            account_id: account.into(),
            max_members,
            max_restricted_members,
        })
        .await
        .map(|response| response.into_inner().account.expect("account returned"))
}

async fn get_account(app: &TestApp, account: &str) -> pb::Account {
    app.client
        .clone()
        .get_account(pb::GetAccountRequest {
            account_id: account.into(),
        })
        .await
        .expect("get account")
        .into_inner()
        .account
        .expect("account returned")
}

async fn close(app: &TestApp, actor: &str, account: &str) -> Result<pb::Account, Status> {
    app.client
        .clone()
        .close_account(pb::CloseAccountRequest {
            actor_user_id: actor.into(),
            account_id: account.into(),
        })
        .await
        .map(|response| response.into_inner().account.expect("account returned"))
}

async fn update_role(
    app: &TestApp,
    actor: &str,
    account: &str,
    user: &str,
    role: &str,
) -> Result<pb::Member, Status> {
    app.client
        .clone()
        .update_member(pb::UpdateMemberRequest {
            actor_user_id: actor.into(),
            account_id: account.into(),
            user_id: user.into(),
            role: role.into(),
            ..Default::default()
        })
        .await
        .map(|response| response.into_inner().member.expect("member returned"))
}

async fn deactivate(app: &TestApp, account: &str, user: &str) -> Result<pb::Member, Status> {
    app.client
        .clone()
        .deactivate_member(pb::DeactivateMemberRequest {
            actor_user_id: "owner".into(),
            account_id: account.into(),
            user_id: user.into(),
        })
        .await
        .map(|response| response.into_inner().member.expect("member returned"))
}

async fn reactivate(app: &TestApp, account: &str, user: &str) -> Result<pb::Member, Status> {
    app.client
        .clone()
        .reactivate_member(pb::ReactivateMemberRequest {
            actor_user_id: "owner".into(),
            account_id: account.into(),
            user_id: user.into(),
        })
        .await
        .map(|response| response.into_inner().member.expect("member returned"))
}

async fn revoke(app: &TestApp, id: &str) -> Result<pb::RevokeInvitationResponse, Status> {
    app.client
        .clone()
        .revoke_invitation(pb::RevokeInvitationRequest {
            actor_user_id: "owner".into(),
            invitation_id: id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Invites `user` as the owner and returns (invitation id, token).
async fn invited(app: &TestApp, account: &str, user: &str, role: &str) -> (String, String) {
    let response = app
        .invite("owner", account, user, role, vec![])
        .await
        .unwrap_or_else(|status| panic!("invite {user} as {role}: {status:?}"));
    (response.invitation.expect("invitation").id, response.token)
}

/// Asserts that a change is refused by a full quota, with reason `why`.
#[track_caller]
fn exhausted<T: std::fmt::Debug>(result: Result<T, Status>, why: &str) {
    let status = expect_code(result, Code::ResourceExhausted);
    assert_eq!(error_reason(&status), why, "{status:?}");
}

/// Asserts FAILED_PRECONDITION with reason ACCOUNT_CLOSED.
#[track_caller]
fn refused_as_closed<T: std::fmt::Debug>(result: Result<T, Status>, what: &str) {
    let status = expect_code(result, Code::FailedPrecondition);
    assert_eq!(error_reason(&status), "ACCOUNT_CLOSED", "{what}: {status:?}");
}

// === SetAccountLimits ===

/// Rule 14: only billing.edit sets the quotas (an accountant may, a viewer may not); bad values name their field.
async fn setting_limits_needs_billing_edit(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    app.member("owner", "acme", "accountant", "accountant", vec![])
        .await;
    assert_eq!(
        get_account(&app, "acme").await.max_members,
        None,
        "no limit by default"
    );
    let before = app.table_counts().await;

    let status = expect_code(
        set_limits(&app, "viewer", "acme", Some(10), None).await,
        Code::PermissionDenied,
    );
    assert_eq!(error_reason(&status), "PERMISSION_NOT_GRANTED");
    let status = expect_code(
        set_limits(&app, "stranger", "acme", Some(10), None).await,
        Code::PermissionDenied,
    );
    assert_eq!(error_reason(&status), "NOT_A_MEMBER");
    expect_code(
        set_limits(&app, "owner", "no-such", Some(10), None).await,
        Code::NotFound,
    );
    let status = expect_code(
        set_limits(&app, "owner", "acme", Some(-1), None).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["max_members"]);
    let status = expect_code(
        set_limits(&app, "owner", "acme", Some(-3), Some(-1)).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["max_members", "max_restricted_members"]);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert_eq!(get_account(&app, "acme").await.max_members, None);

    let account = set_limits(&app, "accountant", "acme", Some(10), Some(2))
        .await
        .expect("an accountant holds billing.edit");
    assert_eq!(
        (account.max_members, account.max_restricted_members),
        (Some(10), Some(2))
    );
    let stored = get_account(&app, "acme").await;
    assert_eq!(
        (stored.max_members, stored.max_restricted_members),
        (Some(10), Some(2))
    );
    assert_eq!(app.activity_count("acme", "account.limits").await, 1);

    let account = set_limits(&app, "owner", "acme", None, None).await.unwrap();
    assert_eq!(
        (account.max_members, account.max_restricted_members),
        (None, None)
    );
    let stored = get_account(&app, "acme").await;
    assert_eq!(
        (stored.max_members, stored.max_restricted_members),
        (None, None),
        "unset fields remove the limits"
    );
    assert_eq!(app.activity_count("acme", "account.limits").await, 2);
}

/// Rule 14: max_members counts active members and pending invitations, not deactivated members.
async fn member_limit_counts_members_and_pending_invitations(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "bob", "viewer", vec![]).await;
    let (carol, _) = invited(&app, "acme", "carol", "viewer").await;
    set_limits(&app, "owner", "acme", Some(3), None)
        .await
        .expect("owner + bob + carol's invitation fit exactly");

    let before = app.table_counts().await;
    exhausted(
        app.invite("owner", "acme", "dave", "viewer", vec![]).await,
        "MEMBER_LIMIT_REACHED",
    );
    assert_eq!(app.table_counts().await, before, "nothing written");
    let again = app
        .invite("owner", "acme", "carol", "viewer", vec![])
        .await
        .expect("re-inviting a pending address takes no new seat");
    assert_eq!(again.invitation.unwrap().id, carol);

    revoke(&app, &carol).await.unwrap();
    let (_, dave_token) = invited(&app, "acme", "dave", "viewer").await;
    exhausted(
        app.invite("owner", "acme", "erin", "viewer", vec![]).await,
        "MEMBER_LIMIT_REACHED",
    );
    app.accept(&dave_token, "dave")
        .await
        .expect("accepting uses the seat its invitation holds");

    deactivate(&app, "acme", "bob").await.unwrap();
    let (_, erin_token) = invited(&app, "acme", "erin", "viewer").await;
    app.accept(&erin_token, "erin").await.unwrap();

    let before = app.table_counts().await;
    exhausted(reactivate(&app, "acme", "bob").await, "MEMBER_LIMIT_REACHED");
    assert_eq!(app.table_counts().await, before, "nothing written");
    assert_eq!(
        reason(&app.check("bob", "acme", "campaigns.view").await),
        R::MembershipInactive,
        "still deactivated"
    );

    set_limits(&app, "owner", "acme", Some(4), None).await.unwrap();
    let bob = reactivate(&app, "acme", "bob")
        .await
        .expect("a seat is free again");
    assert_eq!(bob.status(), pb::MemberStatus::Active);
    assert!(app.check("bob", "acme", "campaigns.view").await.allowed);
}

/// Rule 14: max_restricted_members counts developer, marketer, designer and custom roles (Mailjet's accesses).
async fn restricted_role_limit_counts_mailjet_accesses(app: TestApp) {
    app.account("acme", "owner").await;
    set_limits(&app, "owner", "acme", None, Some(1)).await.unwrap();
    app.member("owner", "acme", "des", "designer", vec![]).await;

    let before = app.table_counts().await;
    exhausted(
        app.invite("owner", "acme", "dev", "developer", vec![]).await,
        "RESTRICTED_ROLE_LIMIT_REACHED",
    );
    assert_eq!(app.table_counts().await, before, "nothing written");

    let (_, vic_token) = invited(&app, "acme", "vic", "viewer").await;
    let (pat_invitation, _) = invited(&app, "acme", "pat", "collaborator").await;
    app.accept(&vic_token, "vic").await.unwrap();

    let before = app.table_counts().await;
    exhausted(
        update_role(&app, "owner", "acme", "vic", "marketer").await,
        "RESTRICTED_ROLE_LIMIT_REACHED",
    );
    exhausted(
        app.client
            .clone()
            .update_invitation(pb::UpdateInvitationRequest {
                actor_user_id: "owner".into(),
                invitation_id: pat_invitation,
                role: "developer".into(),
                scopes: None,
            })
            .await,
        "RESTRICTED_ROLE_LIMIT_REACHED",
    );
    assert_eq!(app.table_counts().await, before, "nothing written");
    assert_eq!(app.check("vic", "acme", "campaigns.view").await.role, "viewer");

    let role = app
        .client
        .clone()
        .create_role(pb::CreateRoleRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            name: "copywriter".into(),
            description: "Writes campaign copy".into(),
            permissions: vec!["campaigns.view".into(), "campaigns.edit".into()],
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap();
    assert!(role.restricted, "custom roles are restricted");
    exhausted(
        app.invite("owner", "acme", "cw", "copywriter", vec![]).await,
        "RESTRICTED_ROLE_LIMIT_REACHED",
    );
    exhausted(
        update_role(&app, "owner", "acme", "vic", "copywriter").await,
        "RESTRICTED_ROLE_LIMIT_REACHED",
    );

    deactivate(&app, "acme", "des").await.unwrap();
    let (_, cw_token) = invited(&app, "acme", "cw", "copywriter").await;
    app.accept(&cw_token, "cw").await.unwrap();
    assert_eq!(app.check("cw", "acme", "campaigns.edit").await.role, "copywriter");
    exhausted(
        reactivate(&app, "acme", "des").await,
        "RESTRICTED_ROLE_LIMIT_REACHED",
    );

    app.account("zero", "owner").await;
    set_limits(&app, "owner", "zero", None, Some(0)).await.unwrap();
    exhausted(
        app.invite("owner", "zero", "des", "designer", vec![]).await,
        "RESTRICTED_ROLE_LIMIT_REACHED",
    );
    app.invite("owner", "zero", "vic", "viewer", vec![])
        .await
        .expect("0 restricted seats still allows unrestricted roles");
}

/// Rule 14: lowering a limit below current use is FAILED_PRECONDITION naming the members to remove.
async fn lowering_a_limit_below_use_names_what_to_remove(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "des", "designer", vec![]).await;
    app.member("owner", "acme", "vic", "viewer", vec![]).await;
    invited(&app, "acme", "dev", "developer").await;
    let before = app.table_counts().await;

    let status = expect_code(
        set_limits(&app, "owner", "acme", None, Some(1)).await,
        Code::FailedPrecondition,
    );
    assert_eq!(error_reason(&status), "LIMIT_BELOW_USAGE");
    for restricted in ["des@example.com", "dev@example.com"] {
        assert!(
            status.message().contains(restricted),
            "names {restricted}: {status:?}"
        );
    }
    assert!(!status.message().contains("vic@example.com"), "{status:?}");

    let status = expect_code(
        set_limits(&app, "owner", "acme", Some(3), None).await,
        Code::FailedPrecondition,
    );
    assert_eq!(error_reason(&status), "LIMIT_BELOW_USAGE");
    assert!(
        status.message().contains('4'),
        "says how many there are: {status:?}"
    );
    assert_eq!(app.table_counts().await, before, "nothing written");
    let stored = get_account(&app, "acme").await;
    assert_eq!((stored.max_members, stored.max_restricted_members), (None, None));

    let account = set_limits(&app, "owner", "acme", Some(4), Some(2))
        .await
        .expect("a limit equal to use is fine");
    assert_eq!(
        (account.max_members, account.max_restricted_members),
        (Some(4), Some(2))
    );
    exhausted(
        app.invite("owner", "acme", "new", "viewer", vec![]).await,
        "MEMBER_LIMIT_REACHED",
    );

    set_limits(&app, "owner", "acme", None, None).await.unwrap();
    assert_eq!(get_account(&app, "acme").await.max_members, None);
    app.invite("owner", "acme", "new", "marketer", vec![])
        .await
        .expect("no limit any more");
}

// === CloseAccount ===

/// Closing needs account.close: a Mailchimp admin may, an account manager may not.
async fn closing_needs_account_close(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "am", "account_manager", vec![]).await;
    app.member("owner", "acme", "adm", "admin", vec![]).await;
    let before = app.table_counts().await;
    for (actor, why) in [("am", "PERMISSION_NOT_GRANTED"), ("stranger", "NOT_A_MEMBER")] {
        let status = expect_code(close(&app, actor, "acme").await, Code::PermissionDenied);
        assert_eq!(error_reason(&status), why, "{actor}: {status:?}");
    }
    expect_code(close(&app, "owner", "no-such").await, Code::NotFound);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert_eq!(get_account(&app, "acme").await.state(), pb::AccountState::Open);

    let closed = close(&app, "adm", "acme")
        .await
        .expect("an admin holds account.close");
    assert_eq!(closed.state(), pb::AccountState::Closed);
    let closed_at = closed.close_time.expect("close_time set");
    assert!((closed_at.seconds - chrono::Utc::now().timestamp()).abs() < 60);
    assert_eq!(app.activity_count("acme", "account.close").await, 1);
    let stored = get_account(&app, "acme").await;
    assert_eq!(stored.state(), pb::AccountState::Closed);
    assert_eq!(stored.close_time, Some(closed_at));
}

/// Closed account: every check is denied (even the owner's), every change and read is refused, data stays.
async fn a_closed_account_denies_everything_and_keeps_its_data(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "manager", "manager", vec![]).await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    let (_, bob_token) = invited(&app, "acme", "bob", "viewer").await;
    close(&app, "owner", "acme").await.unwrap();

    for user in ["owner", "manager", "stranger"] {
        let answer = app.check(user, "acme", "account.view").await;
        assert_eq!(
            (answer.allowed, reason(&answer)),
            (false, R::AccountClosed),
            "{user}"
        );
    }
    let effective = app
        .client
        .clone()
        .get_effective_permissions(pb::GetEffectivePermissionsRequest {
            user_id: "owner".into(),
            account_id: "acme".into(),
            context: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(effective.reason(), R::AccountClosed);
    assert!(effective.permissions.is_empty());

    let account = get_account(&app, "acme").await;
    assert_eq!(account.state(), pb::AccountState::Closed);
    assert!(account.close_time.is_some());
    assert_eq!(account.owner.unwrap().user_id, "owner", "data stays");

    let before = app.table_counts().await;
    let mut client = app.client.clone();
    refused_as_closed(close(&app, "owner", "acme").await, "closing twice");
    refused_as_closed(
        app.invite("owner", "acme", "carol", "viewer", vec![]).await,
        "invite",
    );
    refused_as_closed(app.accept(&bob_token, "bob").await, "accept");
    refused_as_closed(
        update_role(&app, "owner", "acme", "viewer", "manager").await,
        "update member",
    );
    refused_as_closed(deactivate(&app, "acme", "viewer").await, "deactivate");
    refused_as_closed(
        set_limits(&app, "owner", "acme", Some(10), None).await,
        "set limits",
    );
    refused_as_closed(
        client
            .update_account_policy(pb::UpdateAccountPolicyRequest {
                actor_user_id: "owner".into(),
                account_id: "acme".into(),
                require_two_factor: true,
            })
            .await,
        "update policy",
    );
    refused_as_closed(
        client
            .remove_member(pb::RemoveMemberRequest {
                actor_user_id: "owner".into(),
                account_id: "acme".into(),
                user_id: "viewer".into(),
            })
            .await,
        "remove member",
    );
    refused_as_closed(
        client
            .create_role(pb::CreateRoleRequest {
                actor_user_id: "owner".into(),
                account_id: "acme".into(),
                name: "copywriter".into(),
                description: String::new(),
                permissions: vec!["campaigns.view".into()],
            })
            .await,
        "create role",
    );
    refused_as_closed(
        client
            .record_sign_in(pb::RecordSignInRequest {
                user_id: "manager".into(),
                account_id: "acme".into(),
            })
            .await,
        "record sign-in",
    );
    refused_as_closed(
        client
            .list_activity(pb::ListActivityRequest {
                actor_user_id: "owner".into(),
                account_id: "acme".into(),
                ..Default::default()
            })
            .await,
        "list activity",
    );
    refused_as_closed(
        client
            .list_users(pb::ListUsersRequest {
                actor_user_id: "owner".into(),
                account_id: "acme".into(),
                ..Default::default()
            })
            .await,
        "list users",
    );
    assert_eq!(
        app.table_counts().await,
        before,
        "a closed account is not changed"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM memberships WHERE account_id = 'acme'")
            .await,
        3,
        "the memberships are kept"
    );

    let accounts = client
        .list_accounts(pb::ListAccountsRequest {
            user_id: "manager".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .accounts;
    assert!(
        accounts.is_empty(),
        "a closed account cannot be switched to: {accounts:?}"
    );
}

/// Closed account: its data stays, so a member cannot leave it either (LeaveAccount deletes a membership).
async fn leaving_a_closed_account_is_refused(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    close(&app, "owner", "acme").await.unwrap();
    let before = app.table_counts().await;
    refused_as_closed(
        app.client
            .clone()
            .leave_account(pb::LeaveAccountRequest {
                user_id: "viewer".into(),
                account_id: "acme".into(),
            })
            .await,
        "leave",
    );
    assert_eq!(
        app.table_counts().await,
        before,
        "a closed account is not changed"
    );
}

/// Rule 4 with a closed parent: the parent owner no longer reaches the children; a child's own owner still works.
async fn closing_a_parent_ends_the_parent_owners_reach(app: TestApp) {
    app.account("team", "boss").await;
    app.child_account("child", "kid", "team", "boss").await;
    let before = app.check("boss", "child", "campaigns.send").await;
    assert!(before.allowed);
    assert_eq!(before.via_parent_account_id, "team");

    close(&app, "boss", "team").await.unwrap();
    let after = app.check("boss", "child", "campaigns.send").await;
    assert_eq!(
        (after.allowed, reason(&after)),
        (false, R::NotAMember),
        "{after:?}"
    );
    assert_eq!(
        reason(&app.check("boss", "team", "account.view").await),
        R::AccountClosed
    );
    let own = app.check("kid", "child", "campaigns.send").await;
    assert!(own.allowed, "{own:?}");
    assert_eq!(own.role, "owner");
    assert_eq!(get_account(&app, "child").await.state(), pb::AccountState::Open);
    app.invite("kid", "child", "bob", "viewer", vec![])
        .await
        .expect("the child account still works");

    let status = expect_code(
        app.client
            .clone()
            .create_account(pb::CreateAccountRequest {
                account_id: "child-2".into(),
                name: "Child 2".into(),
                owner: Some(person("kid2")),
                parent_account_id: "team".into(),
                actor_user_id: "boss".into(),
            })
            .await,
        Code::FailedPrecondition,
    );
    assert_eq!(error_reason(&status), "ACCOUNT_CLOSED");
}

crate::on_both_databases!(
    setting_limits_needs_billing_edit,
    member_limit_counts_members_and_pending_invitations,
    restricted_role_limit_counts_mailjet_accesses,
    lowering_a_limit_below_use_names_what_to_remove,
    closing_needs_account_close,
    a_closed_account_denies_everything_and_keeps_its_data,
    leaving_a_closed_account_is_refused,
    closing_a_parent_ends_the_parent_owners_reach,
);
