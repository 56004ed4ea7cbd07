//! SetAccountLimits and CloseAccount: docs/domain.md rule 14 (plan quotas) and closing an account.

use access_service::grpc::pb;
use pb::DecisionReason as R;
use tonic::{Code, Status};

use tonic_types::StatusExt;

use crate::support::{
    TestApp, assert_refused, assert_refused_for, bad_fields, create_account, expect_code, person, reason,
};

// === Assertions ===

/// Asserts that a change is refused by a full quota, with reason `why`.
#[track_caller]
fn exhausted<T: std::fmt::Debug>(result: Result<T, Status>, why: &str) {
    assert_refused(result, Code::ResourceExhausted, why);
}

/// Asserts FAILED_PRECONDITION with reason ACCOUNT_CLOSED.
#[track_caller]
fn refused_as_closed<T: std::fmt::Debug>(result: Result<T, Status>, what: &str) {
    assert_refused_for(result, Code::FailedPrecondition, "ACCOUNT_CLOSED", what);
}

// === SetAccountLimits ===

/// Rule 14: quotas come from the plan, so only the platform sets them: a key
/// with the `platform` scope (the billing system's). The web app's `read+write`
/// key is refused whoever it acts for (the owner, an accountant holding
/// billing.edit); bad values name their field; the log names the key.
async fn only_the_platform_sets_limits(app: TestApp) {
    let web = app.client_with_key("web-secret-long-enough-for-tests");
    let billing = app.client_with_key("billing-secret-long-enough-for-tests");
    let limits = |account: &str, max_members, max_restricted_members| pb::SetAccountLimitsRequest {
        account_id: account.into(),
        max_members,
        max_restricted_members,
    };
    app.client_with_key("billing-secret-long-enough-for-tests")
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("the platform creates the account");
    let before = app.table_counts().await;

    let status = assert_refused(
        web.clone()
            .set_account_limits(limits("acme", Some(1000), None))
            .await,
        Code::PermissionDenied,
        "SCOPE_MISSING",
    );
    let info = status.get_details_error_info().expect("error info");
    assert_eq!(info.metadata.get("scope").map(String::as_str), Some("platform"));
    assert!(
        status.message().contains("'platform' scope"),
        "{}",
        status.message()
    );
    expect_code(
        billing
            .clone()
            .set_account_limits(limits("no-such", Some(10), None))
            .await,
        Code::NotFound,
    );
    let status = expect_code(
        billing
            .clone()
            .set_account_limits(limits("acme", Some(-1), None))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["max_members"]);
    let status = expect_code(
        billing
            .clone()
            .set_account_limits(limits("acme", Some(-3), Some(-1)))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["max_members", "max_restricted_members"]);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    let account = billing
        .clone()
        .set_account_limits(limits("acme", Some(10), Some(2)))
        .await
        .expect("the billing system sets the plan's quotas")
        .into_inner()
        .account
        .expect("account returned");
    assert_eq!(
        (account.max_members, account.max_restricted_members),
        (Some(10), Some(2))
    );
    let stored = app
        .client_with_key("web-secret-long-enough-for-tests")
        .get_account(pb::GetAccountRequest {
            account_id: "acme".into(),
            ..Default::default()
        })
        .await
        .expect("get account")
        .into_inner()
        .account
        .expect("account returned");
    assert_eq!(
        (stored.max_members, stored.max_restricted_members),
        (Some(10), Some(2))
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM activity_log WHERE action = 'account.limits' AND actor = 'platform: billing'")
            .await,
        1,
        "the activity log names the platform's key as the actor"
    );

    billing
        .clone()
        .set_account_limits(limits("acme", None, None))
        .await
        .expect("unset fields remove the limits");
    assert_eq!(app.activity_count("acme", "account.limits").await, 2);
}

/// Rule 14 on the default server (loopback, no API key): every caller holds
/// every scope, `platform` included, and the log names it `platform: local`.
async fn without_keys_the_local_caller_sets_limits(app: TestApp) {
    app.account("acme", "owner").await;
    assert_eq!(
        app.get_account("acme").await.max_members,
        None,
        "no limit by default"
    );
    let account = app
        .set_limits("acme", Some(10), Some(2))
        .await
        .expect("limits set");
    assert_eq!(
        (account.max_members, account.max_restricted_members),
        (Some(10), Some(2))
    );
    let account = app.set_limits("acme", None, None).await.expect("limits cleared");
    assert_eq!(
        (account.max_members, account.max_restricted_members),
        (None, None)
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM activity_log WHERE action = 'account.limits' AND actor = 'platform: local'")
            .await,
        2
    );
}

/// Rule 14: max_members counts active members and pending invitations, not deactivated members.
async fn member_limit_counts_members_and_pending_invitations(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "bob", "viewer", vec![]).await;
    let (carol, _) = app.invited("acme", "carol", "viewer").await;
    app.set_limits("acme", Some(3), None)
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
    assert_eq!(again.invitation.unwrap().id, carol.id);

    app.revoke("owner", &carol.id).await.unwrap();
    let (_, dave_token) = app.invited("acme", "dave", "viewer").await;
    exhausted(
        app.invite("owner", "acme", "erin", "viewer", vec![]).await,
        "MEMBER_LIMIT_REACHED",
    );
    app.accept(&dave_token, "dave")
        .await
        .expect("accepting uses the seat its invitation holds");

    app.deactivate("owner", "acme", "bob").await.unwrap();
    let (_, erin_token) = app.invited("acme", "erin", "viewer").await;
    app.accept(&erin_token, "erin").await.unwrap();

    let before = app.table_counts().await;
    exhausted(
        app.reactivate("owner", "acme", "bob").await,
        "MEMBER_LIMIT_REACHED",
    );
    assert_eq!(app.table_counts().await, before, "nothing written");
    assert_eq!(
        reason(&app.check("bob", "acme", "campaigns.view").await),
        R::MembershipInactive,
        "still deactivated"
    );

    app.set_limits("acme", Some(4), None).await.unwrap();
    let bob = app
        .reactivate("owner", "acme", "bob")
        .await
        .expect("a seat is free again");
    assert_eq!(bob.status(), pb::MemberStatus::Active);
    assert!(app.check("bob", "acme", "campaigns.view").await.allowed);
}

/// Rule 14: max_restricted_members counts developer, marketer, designer and custom roles (Mailjet's accesses).
async fn restricted_role_limit_counts_mailjet_accesses(app: TestApp) {
    app.account("acme", "owner").await;
    app.set_limits("acme", None, Some(1)).await.unwrap();
    app.member("owner", "acme", "des", "designer", vec![]).await;

    let before = app.table_counts().await;
    exhausted(
        app.invite("owner", "acme", "dev", "developer", vec![]).await,
        "RESTRICTED_ROLE_LIMIT_REACHED",
    );
    assert_eq!(app.table_counts().await, before, "nothing written");

    let (_, vic_token) = app.invited("acme", "vic", "viewer").await;
    let (pat_invitation, _) = app.invited("acme", "pat", "collaborator").await;
    app.accept(&vic_token, "vic").await.unwrap();

    let before = app.table_counts().await;
    exhausted(
        app.update_member_role("owner", "acme", "vic", "marketer").await,
        "RESTRICTED_ROLE_LIMIT_REACHED",
    );
    exhausted(
        app.client
            .clone()
            .update_invitation(pb::UpdateInvitationRequest {
                actor_user_id: "owner".into(),
                invitation_id: pat_invitation.id,
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
        app.update_member_role("owner", "acme", "vic", "copywriter").await,
        "RESTRICTED_ROLE_LIMIT_REACHED",
    );

    app.deactivate("owner", "acme", "des").await.unwrap();
    let (_, cw_token) = app.invited("acme", "cw", "copywriter").await;
    app.accept(&cw_token, "cw").await.unwrap();
    assert_eq!(app.check("cw", "acme", "campaigns.edit").await.role, "copywriter");
    exhausted(
        app.reactivate("owner", "acme", "des").await,
        "RESTRICTED_ROLE_LIMIT_REACHED",
    );

    app.account("zero", "owner").await;
    app.set_limits("zero", None, Some(0)).await.unwrap();
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
    app.invited("acme", "dev", "developer").await;
    let before = app.table_counts().await;

    let status = assert_refused(
        app.set_limits("acme", None, Some(1)).await,
        Code::FailedPrecondition,
        "LIMIT_BELOW_USAGE",
    );
    for restricted in ["des@example.com", "dev@example.com"] {
        assert!(
            status.message().contains(restricted),
            "names {restricted}: {status:?}"
        );
    }
    assert!(!status.message().contains("vic@example.com"), "{status:?}");

    let status = assert_refused(
        app.set_limits("acme", Some(3), None).await,
        Code::FailedPrecondition,
        "LIMIT_BELOW_USAGE",
    );
    assert!(
        status.message().contains('4'),
        "says how many there are: {status:?}"
    );
    assert_eq!(app.table_counts().await, before, "nothing written");
    let stored = app.get_account("acme").await;
    assert_eq!((stored.max_members, stored.max_restricted_members), (None, None));

    let account = app
        .set_limits("acme", Some(4), Some(2))
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

    app.set_limits("acme", None, None).await.unwrap();
    assert_eq!(app.get_account("acme").await.max_members, None);
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
        assert_refused_for(app.close(actor, "acme").await, Code::PermissionDenied, why, actor);
    }
    expect_code(app.close("owner", "no-such").await, Code::NotFound);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert_eq!(app.get_account("acme").await.state(), pb::AccountState::Open);

    let closed = app
        .close("adm", "acme")
        .await
        .expect("an admin holds account.close");
    assert_eq!(closed.state(), pb::AccountState::Closed);
    let closed_at = closed.close_time.expect("close_time set");
    assert!((closed_at.seconds - chrono::Utc::now().timestamp()).abs() < 60);
    assert_eq!(app.activity_count("acme", "account.close").await, 1);
    let stored = app.get_account("acme").await;
    assert_eq!(stored.state(), pb::AccountState::Closed);
    assert_eq!(stored.close_time, Some(closed_at));
}

/// Closed account: every check is denied (even the owner's), every change and read is refused, data stays.
async fn a_closed_account_denies_everything_and_keeps_its_data(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "manager", "manager", vec![]).await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    let (_, bob_token) = app.invited("acme", "bob", "viewer").await;
    app.close("owner", "acme").await.unwrap();

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
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(effective.reason(), R::AccountClosed);
    assert!(effective.permissions.is_empty());

    let account = app.get_account("acme").await;
    assert_eq!(account.state(), pb::AccountState::Closed);
    assert!(account.close_time.is_some());
    assert_eq!(account.owner.unwrap().user_id, "owner", "data stays");

    let before = app.table_counts().await;
    let mut client = app.client.clone();
    refused_as_closed(app.close("owner", "acme").await, "closing twice");
    refused_as_closed(
        app.invite("owner", "acme", "carol", "viewer", vec![]).await,
        "invite",
    );
    refused_as_closed(app.accept(&bob_token, "bob").await, "accept");
    refused_as_closed(
        app.update_member_role("owner", "acme", "viewer", "manager").await,
        "update member",
    );
    refused_as_closed(app.deactivate("owner", "acme", "viewer").await, "deactivate");
    refused_as_closed(app.set_limits("acme", Some(10), None).await, "set limits");
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
    app.close("owner", "acme").await.unwrap();
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

    app.close("boss", "team").await.unwrap();
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
    assert_eq!(app.get_account("child").await.state(), pb::AccountState::Open);
    app.invite("kid", "child", "bob", "viewer", vec![])
        .await
        .expect("the child account still works");

    assert_refused(
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
        "ACCOUNT_CLOSED",
    );
}

/// The platform closes an account with no member acting: a platform key
/// only, the reason and the key's name in the log, then as closed as
/// CloseAccount leaves it; refusals write nothing.
async fn the_platform_closes_an_account_itself(app: TestApp) {
    let web = app.client_with_key("web-secret-long-enough-for-tests");
    let billing = app.client_with_key("billing-secret-long-enough-for-tests");
    let close = |account: &str, reason: &str| pb::CloseAccountAsPlatformRequest {
        account_id: account.into(),
        reason: reason.into(),
    };
    billing
        .clone()
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("the platform creates the account");
    let before = app.table_counts().await;
    let status = assert_refused(
        web.clone().close_account_as_platform(close("acme", "")).await,
        Code::PermissionDenied,
        "SCOPE_MISSING",
    );
    let info = status.get_details_error_info().expect("error info");
    assert_eq!(info.metadata.get("scope").map(String::as_str), Some("platform"));
    expect_code(
        billing
            .clone()
            .close_account_as_platform(close("no-such", ""))
            .await,
        Code::NotFound,
    );
    let status = expect_code(
        billing
            .clone()
            .close_account_as_platform(close("acme", &"x".repeat(2_001)))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["reason"]);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    let response = billing
        .clone()
        .close_account_as_platform(close("acme", "unpaid invoice 2026-11"))
        .await
        .expect("the platform closes the account")
        .into_inner();
    assert_eq!(
        response.account.expect("account returned").state(),
        pb::AccountState::Closed
    );
    assert!(!response.consistency_token.is_empty());
    let answer = app
        .client_with_key("web-secret-long-enough-for-tests")
        .authorize(crate::support::check("owner", "acme", "account.view", None))
        .await
        .expect("a decision")
        .into_inner();
    assert_eq!((answer.allowed, reason(&answer)), (false, R::AccountClosed));
    let entry: (String, String) = {
        use sea_orm::{ConnectionTrait, Statement};
        let row = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                "SELECT actor, details FROM activity_log WHERE action = 'account.close'".to_owned(),
            ))
            .await
            .expect("query")
            .expect("one close logged");
        (
            row.try_get_by_index(0).expect("actor"),
            row.try_get_by_index(1).expect("details"),
        )
    };
    assert_eq!(entry.0, "platform: billing");
    assert!(entry.1.contains("unpaid invoice 2026-11"), "{}", entry.1);
    refused_as_closed(
        billing.clone().close_account_as_platform(close("acme", "")).await,
        "closing twice",
    );
}

crate::on_both_databases!(
    mod keyed, |config| config.api_keys = Some(crate::support::api_keys(&[
        ("web", "read+write+check", "web-secret-long-enough-for-tests"),
        ("billing", "platform", "billing-secret-long-enough-for-tests"),
    ]));
    only_the_platform_sets_limits,
    the_platform_closes_an_account_itself
);

crate::on_both_databases!(
    without_keys_the_local_caller_sets_limits,
    member_limit_counts_members_and_pending_invitations,
    restricted_role_limit_counts_mailjet_accesses,
    lowering_a_limit_below_use_names_what_to_remove,
    closing_needs_account_close,
    a_closed_account_denies_everything_and_keeps_its_data,
    leaving_a_closed_account_is_refused,
    closing_a_parent_ends_the_parent_owners_reach,
);
