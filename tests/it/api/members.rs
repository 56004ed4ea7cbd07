//! UpdateMember, Deactivate/Reactivate/RemoveMember, LeaveAccount, TransferOwnership,
//! RecordSignIn, ListAccounts: docs/domain.md rules 6–9 and 13.

mod ends;
mod users;

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::List;
use pb::DecisionReason as R;
use pb::MemberStatus as S;
use tonic::Code;

use crate::support::{
    TestApp, assert_refused, assert_refused_for, bad_fields, email, error_metadata, expect_code, leave,
    list_accounts, list_users, person, reason, scope, sign_in,
};

fn update(actor: &str, account: &str, user: &str) -> pb::UpdateMemberRequest {
    pb::UpdateMemberRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        user_id: user.into(),
        ..Default::default()
    }
}

fn with_role(actor: &str, account: &str, user: &str, role: &str) -> pb::UpdateMemberRequest {
    pb::UpdateMemberRequest {
        role: role.into(),
        ..update(actor, account, user)
    }
}

fn with_extra(actor: &str, account: &str, user: &str, permissions: &[&str]) -> pb::UpdateMemberRequest {
    pb::UpdateMemberRequest {
        extra_permissions: Some(pb::PermissionList {
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        }),
        ..update(actor, account, user)
    }
}

fn with_scopes(actor: &str, account: &str, user: &str, scopes: Vec<pb::Scope>) -> pb::UpdateMemberRequest {
    pb::UpdateMemberRequest {
        scopes: Some(pb::ScopeList { scopes }),
        ..update(actor, account, user)
    }
}

/// The ListUsers row of `user` (by email).
async fn row(app: &TestApp, account: &str, user: &str) -> Option<pb::Member> {
    app.users(list_users("owner", account))
        .await
        .into_iter()
        .find(|row| row.email == email(user))
}

/// Rule 6: an account manager cannot make someone an admin or hand out account.close.
async fn updating_cannot_escalate_privileges(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "am", "account_manager", vec![]).await;
    app.member("owner", "acme", "bob", "viewer", vec![]).await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;

    let status = assert_refused(
        client
            .update_member(with_role("am", "acme", "bob", "admin"))
            .await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    assert!(
        status.message().contains("account.close"),
        "names what the actor lacks: {status:?}"
    );

    assert_refused(
        client
            .update_member(with_extra("am", "acme", "bob", &["account.close"]))
            .await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );

    let status = assert_refused(
        client
            .update_member(with_extra("owner", "acme", "bob", &["account.transfer"]))
            .await,
        Code::FailedPrecondition,
        "OWNER_ONLY_PERMISSION",
    );
    assert_eq!(
        error_metadata(&status),
        ["field=extra_permissions", "permission=account.transfer"]
    );

    let status = expect_code(
        client.update_member(update("owner", "acme", "bob")).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["role"], "nothing to change");

    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    let bob = app.check("bob", "acme", "campaigns.view").await;
    assert_eq!(bob.role, "viewer", "bob's role did not change");
    assert!(!app.check("bob", "acme", "account.close").await.allowed);

    client
        .update_member(with_role("am", "acme", "bob", "manager"))
        .await
        .expect("an account manager may hand out a role within their own permissions");
    client
        .update_member(with_extra("am", "acme", "bob", &["billing.view"]))
        .await
        .expect("and an extra grant they hold");
    assert!(app.check("bob", "acme", "billing.view").await.allowed);
}

/// Rule 6: a change of role takes effect on the very next Authorize, and is logged.
async fn an_admin_changes_a_role_and_authorize_follows(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "admin", "admin", vec![]).await;
    app.member("owner", "acme", "bob", "viewer", vec![]).await;
    let denied = app.check("bob", "acme", "campaigns.send").await;
    assert_eq!(
        (denied.allowed, reason(&denied)),
        (false, R::PermissionNotGranted)
    );

    let member = app
        .client
        .clone()
        .update_member(with_role("admin", "acme", "bob", "manager"))
        .await
        .expect("an admin may make a viewer a manager")
        .into_inner()
        .member
        .unwrap();
    assert_eq!(member.user_id, "bob");
    assert_eq!(member.role, "manager");
    assert_eq!(member.status(), S::Active);

    let allowed = app.check("bob", "acme", "campaigns.send").await;
    assert!(allowed.allowed);
    assert_eq!(allowed.role, "manager");
    assert!(
        !app.check("bob", "acme", "users.invite").await.allowed,
        "a manager still cannot invite"
    );
    assert_eq!(app.activity_count("acme", "member.update").await, 1);
    assert_eq!(row(&app, "acme", "bob").await.unwrap().role, "manager");
}

/// Rule 6 on scopes: an account manager scoped to lists 4 and 9 can narrow a member's
/// scope within theirs, never widen it (to list 5, or to no scope at all).
async fn a_scoped_actor_cannot_widen_scopes(app: TestApp) {
    app.account("acme", "owner").await;
    app.member(
        "owner",
        "acme",
        "scoped-am",
        "account_manager",
        vec![scope(List, &["4", "9"])],
    )
    .await;
    app.member("owner", "acme", "lm", "list_manager", vec![scope(List, &["4"])])
        .await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;
    for scopes in [vec![scope(List, &["4", "5"])], vec![]] {
        assert_refused_for(
            client
                .update_member(with_scopes("scoped-am", "acme", "lm", scopes.clone()))
                .await,
            Code::PermissionDenied,
            "PRIVILEGE_ESCALATION",
            format!("{scopes:?}"),
        );
    }
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    let five = app.check_on("lm", "acme", "lists.edit", (List, "5")).await;
    assert_eq!(reason(&five), R::OutOfScope, "still scoped to list 4");

    let member = client
        .update_member(with_scopes("scoped-am", "acme", "lm", vec![scope(List, &["9"])]))
        .await
        .expect("within the actor's own scope")
        .into_inner()
        .member
        .unwrap();
    assert_eq!(member.scopes, vec![scope(List, &["9"])]);
    assert!(
        app.check_on("lm", "acme", "lists.edit", (List, "9"))
            .await
            .allowed
    );
    let four = app.check_on("lm", "acme", "lists.edit", (List, "4")).await;
    assert_eq!((four.allowed, reason(&four)), (false, R::OutOfScope));
}

/// Rule 6 "only the owner touches the owner"; and nobody touches a member holding
/// permissions they lack.
async fn the_owner_and_higher_ranks_are_protected(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "admin", "admin", vec![]).await;
    app.member("owner", "acme", "am", "account_manager", vec![]).await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;

    assert_refused(
        client
            .update_member(with_role("admin", "acme", "owner", "viewer"))
            .await,
        Code::FailedPrecondition,
        "OWNER_PROTECTED",
    );
    assert_refused(
        app.deactivate("admin", "acme", "owner").await,
        Code::FailedPrecondition,
        "OWNER_PROTECTED",
    );
    assert_refused(
        app.remove("admin", "acme", "owner").await,
        Code::FailedPrecondition,
        "OWNER_PROTECTED",
    );

    let status = assert_refused(
        client
            .update_member(with_role("am", "acme", "admin", "viewer"))
            .await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    assert!(
        status.message().contains("account.close"),
        "names what the admin holds and the actor lacks: {status:?}"
    );
    assert_refused(
        app.deactivate("am", "acme", "admin").await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    assert_refused(
        app.remove("am", "acme", "admin").await,
        Code::PermissionDenied,
        "OUTRANKED",
    );

    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert!(app.check("owner", "acme", "account.transfer").await.allowed);
    assert!(app.check("admin", "acme", "account.close").await.allowed);
}

/// Rule 8: nobody deactivates or removes themselves; the owner cannot leave; anyone else can.
async fn members_leave_rather_than_remove_themselves(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "admin", "admin", vec![]).await;
    app.member("owner", "acme", "bob", "manager", vec![]).await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;

    for actor in ["admin", "owner"] {
        assert_refused_for(
            app.deactivate(actor, "acme", actor).await,
            Code::FailedPrecondition,
            "CANNOT_ACT_ON_SELF",
            actor,
        );
        assert_refused_for(
            app.remove(actor, "acme", actor).await,
            Code::FailedPrecondition,
            "CANNOT_ACT_ON_SELF",
            actor,
        );
    }
    assert_refused(
        client.leave_account(leave("owner", "acme")).await,
        Code::FailedPrecondition,
        "OWNER_CANNOT_LEAVE",
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert!(app.check("admin", "acme", "users.remove").await.allowed);

    client
        .leave_account(leave("bob", "acme"))
        .await
        .expect("a member can leave");
    let gone = app.check("bob", "acme", "campaigns.view").await;
    assert_eq!((gone.allowed, reason(&gone)), (false, R::NotAMember));
    let listed: Vec<String> = app
        .users(list_users("owner", "acme"))
        .await
        .into_iter()
        .map(|row| row.email)
        .collect();
    assert_eq!(listed, [email("owner"), email("admin")]);
    assert_eq!(app.activity_count("acme", "member.leave").await, 1);

    client
        .leave_account(leave("admin", "acme"))
        .await
        .expect("an admin can leave too");
    assert_eq!(
        reason(&app.check("admin", "acme", "account.view").await),
        R::NotAMember
    );
    expect_code(client.leave_account(leave("admin", "acme")).await, Code::NotFound);
    assert!(app.check("owner", "acme", "account.close").await.allowed);
}

/// A manager holds neither users.invite nor users.remove.
async fn a_manager_cannot_invite_or_deactivate(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "manager", "manager", vec![]).await;
    app.member("owner", "acme", "bob", "viewer", vec![]).await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;
    assert_refused(
        app.invite("manager", "acme", "new", "viewer", vec![]).await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    assert_refused(
        app.deactivate("manager", "acme", "bob").await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    assert_refused(
        app.remove("manager", "acme", "bob").await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    assert_refused(
        client
            .update_member(with_role("manager", "acme", "bob", "viewer"))
            .await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert!(app.check("bob", "acme", "campaigns.view").await.allowed);
}

/// Deactivation suspends access and sorts the member last (rule 13); reactivation restores it.
async fn deactivation_suspends_and_reactivation_restores(app: TestApp) {
    // Emails in the reverse of the expected order, so only the status can sort them.
    app.account("acme", "z-owner").await;
    app.member("z-owner", "acme", "y-active", "viewer", vec![]).await;
    app.invite("z-owner", "acme", "x-pending", "viewer", vec![])
        .await
        .unwrap();
    app.member("z-owner", "acme", "a-deactivated", "manager", vec![])
        .await;
    assert!(app.check("a-deactivated", "acme", "campaigns.send").await.allowed);

    let member = app
        .deactivate("z-owner", "acme", "a-deactivated")
        .await
        .expect("deactivated");
    assert_eq!(member.status(), S::Deactivated);
    assert_eq!(member.role, "manager");
    let denied = app.check("a-deactivated", "acme", "campaigns.send").await;
    assert_eq!((denied.allowed, reason(&denied)), (false, R::MembershipInactive));
    assert_eq!(app.activity_count("acme", "member.deactivate").await, 1);

    let rows = app.users(list_users("z-owner", "acme")).await;
    let got: Vec<(&str, S, bool)> = rows
        .iter()
        .map(|row| (row.email.as_str(), row.status(), row.is_owner))
        .collect();
    assert_eq!(
        got,
        [
            ("z-owner@example.com", S::Active, true),
            ("y-active@example.com", S::Active, false),
            ("x-pending@example.com", S::Pending, false),
            ("a-deactivated@example.com", S::Deactivated, false),
        ]
    );
    assert_eq!(rows[3].role, "manager", "the membership is kept");

    let before = app.table_counts().await;
    let again = app
        .deactivate("z-owner", "acme", "a-deactivated")
        .await
        .expect("deactivating twice is not an error");
    assert_eq!(again.status(), S::Deactivated);
    assert_eq!(
        app.table_counts().await,
        before,
        "nothing written the second time"
    );
    assert_eq!(app.activity_count("acme", "member.deactivate").await, 1);

    let member = app
        .reactivate("z-owner", "acme", "a-deactivated")
        .await
        .expect("reactivated");
    assert_eq!(member.status(), S::Active);
    let allowed = app.check("a-deactivated", "acme", "campaigns.send").await;
    assert!(allowed.allowed);
    assert_eq!(allowed.role, "manager");
    assert_eq!(app.activity_count("acme", "member.reactivate").await, 1);
    let rows = app.users(list_users("z-owner", "acme")).await;
    assert_eq!(rows[3].email, email("x-pending"), "back among the active members");
    assert_eq!(rows[1].email, email("a-deactivated"));
    assert_eq!(rows[1].status(), S::Active);
}

/// Removing deletes the membership: not a member afterwards; unknown users are NOT_FOUND.
async fn removing_deletes_the_membership(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "admin", "admin", vec![]).await;
    app.member("owner", "acme", "bob", "manager", vec![]).await;

    app.remove("admin", "acme", "bob")
        .await
        .expect("an admin removes a manager");
    let gone = app.check("bob", "acme", "campaigns.view").await;
    assert_eq!((gone.allowed, reason(&gone)), (false, R::NotAMember));
    assert_eq!(row(&app, "acme", "bob").await, None, "no longer listed");
    assert_eq!(app.activity_count("acme", "member.remove").await, 1);

    let before = app.table_counts().await;
    for user in ["bob", "nobody"] {
        expect_code(app.remove("admin", "acme", user).await, Code::NotFound);
    }
    expect_code(app.deactivate("admin", "acme", "nobody").await, Code::NotFound);
    expect_code(app.remove("admin", "no-such", "bob").await, Code::NotFound);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert_eq!(app.activity_count("acme", "member.remove").await, 1);
}

/// Rule 7: only the owner transfers, to an active admin or account manager.
async fn ownership_goes_only_to_an_active_admin(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "admin", "admin", vec![]).await;
    app.member("owner", "acme", "manager", "manager", vec![]).await;
    app.member("owner", "acme", "sleeper", "admin", vec![]).await;
    let mut client = app.client.clone();
    app.deactivate("owner", "acme", "sleeper").await.unwrap();
    let before = app.table_counts().await;

    assert_refused(
        app.transfer("admin", "acme", "admin").await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    assert_refused(
        app.transfer("admin", "acme", "sleeper").await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    let status = assert_refused(
        app.transfer("owner", "acme", "manager").await,
        Code::FailedPrecondition,
        "TRANSFER_TARGET_NOT_ADMIN",
    );
    assert!(status.message().contains("change their role"), "{status:?}");
    // A deactivated admin has the right role: the message must not send the
    // caller to change it, but to reactivate them.
    let status = assert_refused(
        app.transfer("owner", "acme", "sleeper").await,
        Code::FailedPrecondition,
        "MEMBER_DEACTIVATED",
    );
    assert!(status.message().contains("reactivate them"), "{status:?}");
    assert!(!status.message().contains("change their role"), "{status:?}");
    assert_refused(
        app.transfer("owner", "acme", "owner").await,
        Code::FailedPrecondition,
        "ALREADY_OWNER",
    );
    expect_code(app.transfer("owner", "acme", "nobody").await, Code::NotFound);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    let account = client
        .get_account(pb::GetAccountRequest {
            account_id: "acme".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(account.owner.unwrap().user_id, "owner");
}

/// Rule 7: after a transfer there is exactly one owner, and the old owner is an admin.
async fn transfer_moves_ownership_and_demotes_the_old_owner(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "admin", "admin", vec![]).await;
    let mut client = app.client.clone();

    let account = app
        .transfer("owner", "acme", "admin")
        .await
        .expect("the owner hands over to an active admin");
    assert_eq!(account.owner.unwrap().user_id, "admin");
    let account = client
        .get_account(pb::GetAccountRequest {
            account_id: "acme".into(),
            actor_user_id: "owner".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    let owner = account.owner.unwrap();
    assert_eq!(
        (owner.user_id.as_str(), owner.email.as_str()),
        ("admin", "admin@example.com")
    );

    let rows = app.users(list_users("admin", "acme")).await;
    let owners: Vec<&str> = rows
        .iter()
        .filter(|row| row.is_owner)
        .map(|row| row.user_id.as_str())
        .collect();
    assert_eq!(owners, ["admin"], "exactly one owner");
    assert_eq!(rows[0].user_id, "admin", "the owner is listed first");
    assert_eq!(rows[0].role, "owner");
    let old = rows.iter().find(|row| row.user_id == "owner").unwrap();
    assert_eq!(old.role, "admin");
    assert_eq!(old.status(), S::Active);

    let old_owner = app.check("owner", "acme", "account.transfer").await;
    assert_eq!(
        (old_owner.allowed, reason(&old_owner), old_owner.role.as_str()),
        (false, R::PermissionNotGranted, "admin")
    );
    assert!(
        app.check("owner", "acme", "account.close").await.allowed,
        "still an admin"
    );
    let new_owner = app.check("admin", "acme", "account.transfer").await;
    assert!(new_owner.allowed);
    assert_eq!(new_owner.role, "owner");
    assert_eq!(app.activity_count("acme", "account.transfer").await, 1);

    assert_refused_for(
        client.leave_account(leave("admin", "acme")).await,
        Code::FailedPrecondition,
        "OWNER_CANNOT_LEAVE",
        "the new owner is protected",
    );
    client
        .leave_account(leave("owner", "acme"))
        .await
        .expect("the old owner may leave now");
}

/// An account manager can receive ownership too.
async fn an_account_manager_can_receive_ownership(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "am", "account_manager", vec![]).await;
    app.transfer("owner", "acme", "am")
        .await
        .expect("account managers may receive ownership");
    let am = app.check("am", "acme", "account.close").await;
    assert!(am.allowed, "as owner, the former account manager may close");
    assert_eq!(am.role, "owner");
    assert_eq!(app.check("owner", "acme", "users.edit").await.role, "admin");
}

/// Rule 9: UpdateMember changes only role, scopes and grants; a user's email is fixed.
async fn names_and_emails_cannot_be_changed_by_others(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "bob", "viewer", vec![]).await;
    let mut client = app.client.clone();
    let before_row = row(&app, "acme", "bob").await.unwrap();
    assert_eq!(
        (before_row.name.as_str(), before_row.email.as_str()),
        ("Name of bob", "bob@example.com")
    );
    let updated = client
        .update_member(pb::UpdateMemberRequest {
            extra_permissions: Some(pb::PermissionList {
                permissions: vec!["reports.export".into()],
            }),
            ..with_role("owner", "acme", "bob", "author")
        })
        .await
        .unwrap()
        .into_inner()
        .member
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.email.as_str()),
        ("Name of bob", "bob@example.com")
    );
    let after = row(&app, "acme", "bob").await.unwrap();
    assert_eq!(
        (after.name.as_str(), after.email.as_str(), after.role.as_str()),
        ("Name of bob", "bob@example.com", "author")
    );
    assert_eq!(after.extra_permissions, ["reports.export"]);

    // The same user id claiming another email is refused; only proving it
    // (accepting an invitation sent there) moves them.
    app.account("other", "other-owner").await;
    let token = client
        .invite(pb::InviteRequest {
            actor_user_id: "other-owner".into(),
            account_id: "other".into(),
            email: "bob.new@example.com".into(),
            role: "viewer".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .token;
    let before = app.table_counts().await;
    assert_refused(
        client
            .create_account(pb::CreateAccountRequest {
                account_id: "bobs".into(),
                name: "Bob's own".into(),
                owner: Some(pb::Person {
                    email: "bob.new@example.com".into(),
                    name: "Renamed Bob".into(),
                    ..person("bob")
                }),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        "USER_EMAIL_MISMATCH",
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    let still = row(&app, "acme", "bob").await.unwrap();
    assert_eq!(
        (still.name.as_str(), still.email.as_str()),
        ("Name of bob", "bob@example.com")
    );
    client
        .accept_invitation(pb::AcceptInvitationRequest {
            token,
            user: Some(pb::Person {
                email: "bob.new@example.com".into(),
                ..person("bob")
            }),
        })
        .await
        .expect("bob proves his new address");
    let moved = row_by_id(&app, "acme", "bob").await;
    assert_eq!(moved.email, "bob.new@example.com");
}

/// The ListUsers row of a member by user id.
async fn row_by_id(app: &TestApp, account: &str, user: &str) -> pb::Member {
    app.users(list_users("owner", account))
        .await
        .into_iter()
        .find(|row| row.user_id == user)
        .expect("member listed")
}

/// RecordSignIn shows in ListUsers; only active members sign in.
async fn sign_ins_are_recorded_for_active_members(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "bob", "viewer", vec![]).await;
    app.member("owner", "acme", "carol", "viewer", vec![]).await;
    let mut client = app.client.clone();
    assert_eq!(row(&app, "acme", "bob").await.unwrap().last_sign_in_time, None);

    let at = client
        .record_sign_in(sign_in("bob", "acme"))
        .await
        .expect("sign-in recorded")
        .into_inner()
        .sign_in_time
        .expect("the time is returned");
    let now = chrono::Utc::now().timestamp();
    assert!((now - at.seconds).abs() < 60, "recorded now");
    let bob = row(&app, "acme", "bob").await.unwrap();
    assert_eq!(bob.last_sign_in_time, Some(at), "ListUsers shows the same time");
    assert_eq!(
        row(&app, "acme", "carol").await.unwrap().last_sign_in_time,
        None,
        "only bob signed in"
    );

    app.deactivate("owner", "acme", "carol").await.unwrap();
    let before = app.table_counts().await;
    expect_code(
        client.record_sign_in(sign_in("nobody", "acme")).await,
        Code::NotFound,
    );
    assert_refused(
        client.record_sign_in(sign_in("carol", "acme")).await,
        Code::FailedPrecondition,
        "MEMBER_DEACTIVATED",
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert_eq!(row(&app, "acme", "carol").await.unwrap().last_sign_in_time, None);
}

/// ListAccounts: own accounts, children reached as parent owner (rule 4 of docs/domain.md),
/// not deactivated memberships.
async fn list_accounts_shows_where_a_user_can_switch(app: TestApp) {
    app.account("team", "boss").await;
    app.child_account("team-a", "owner-a", "team", "boss").await;
    app.child_account("team-b", "owner-b", "team", "boss").await;
    // A child boss owns himself: reached through his own ownership, as
    // Authorize decides it, not through the parent.
    app.child_account("team-c", "boss", "team", "boss").await;
    app.account("a-other", "other-owner").await;
    app.member("other-owner", "a-other", "boss", "viewer", vec![])
        .await;
    app.account("gone", "gone-owner").await;
    app.member("gone-owner", "gone", "boss", "admin", vec![]).await;
    let mut client = app.client.clone();
    app.deactivate("gone-owner", "gone", "boss").await.unwrap();

    let response = client
        .list_accounts(list_accounts("boss", 0, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.next_page_token, "");
    let mut got: Vec<(String, String, String)> = response
        .accounts
        .iter()
        .map(|a| {
            (
                a.account.as_ref().unwrap().id.clone(),
                a.role.clone(),
                a.via_parent_account_id.clone(),
            )
        })
        .collect();
    got.sort();
    let expected: Vec<(String, String, String)> = [
        ("a-other", "viewer", ""),
        ("team", "owner", ""),
        ("team-a", "owner", "team"),
        ("team-b", "owner", "team"),
        ("team-c", "owner", ""),
    ]
    .iter()
    .map(|(id, role, via)| ((*id).to_owned(), (*role).to_owned(), (*via).to_owned()))
    .collect();
    assert_eq!(got, expected, "not 'gone', where boss is deactivated");
    let team_a = response
        .accounts
        .iter()
        .find(|a| a.account.as_ref().unwrap().id == "team-a")
        .unwrap();
    let team_a = team_a.account.as_ref().unwrap();
    assert_eq!(team_a.parent_account_id, "team");
    assert_eq!(team_a.owner.as_ref().unwrap().user_id, "owner-a");

    let mut walked = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_accounts(list_accounts("boss", 1, &token))
            .await
            .unwrap()
            .into_inner();
        assert!(page.accounts.len() <= 1, "{page:?}");
        walked.extend(page.accounts.into_iter().map(|a| a.account.unwrap().id));
        if page.next_page_token.is_empty() {
            break;
        }
        assert!(walked.len() <= 5, "pagination must end");
        token = page.next_page_token;
    }
    let one_page: Vec<String> = response
        .accounts
        .iter()
        .map(|a| a.account.as_ref().unwrap().id.clone())
        .collect();
    assert_eq!(walked, one_page, "pages walk every row once, in order");

    let child = client
        .list_accounts(list_accounts("owner-a", 0, ""))
        .await
        .unwrap()
        .into_inner()
        .accounts;
    assert_eq!(child.len(), 1);
    assert_eq!(
        (child[0].role.as_str(), child[0].via_parent_account_id.as_str()),
        ("owner", "")
    );
    let stranger = client
        .list_accounts(list_accounts("nobody", 0, ""))
        .await
        .unwrap()
        .into_inner();
    assert!(stranger.accounts.is_empty());
}

/// Bad input names the bad field and writes nothing.
async fn bad_member_requests_name_their_fields(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "admin", "admin", vec![]).await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;
    let cases = [
        client
            .update_member(with_role("owner", "acme", "", "viewer"))
            .await
            .map(|_| ()),
        client
            .update_member(with_role("owner", "acme", " ", "viewer"))
            .await
            .map(|_| ()),
        app.deactivate("owner", "acme", "").await.map(|_| ()),
        app.reactivate("owner", "acme", "").await.map(|_| ()),
        app.remove("owner", "acme", "").await.map(|_| ()),
        client.leave_account(leave("", "acme")).await.map(|_| ()),
        client.record_sign_in(sign_in("", "acme")).await.map(|_| ()),
        client.list_accounts(list_accounts("", 0, "")).await.map(|_| ()),
    ];
    for (i, result) in cases.into_iter().enumerate() {
        let status = expect_code(result, Code::InvalidArgument);
        assert_eq!(bad_fields(&status), ["user_id"], "case {i}");
    }
    let status = expect_code(app.transfer("owner", "acme", "").await, Code::InvalidArgument);
    assert_eq!(bad_fields(&status), ["new_owner_user_id"]);
    let status = expect_code(app.transfer("", "", "").await, Code::InvalidArgument);
    assert_eq!(
        bad_fields(&status),
        ["actor_user_id", "account_id", "new_owner_user_id"]
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert_eq!(
        app.client
            .clone()
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
            .unwrap()
            .user_id,
        "owner"
    );
}

/// A change answers the member's whole row, as ListUsers shows it afterwards.
async fn changes_answer_the_whole_member_row(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "vera", "viewer", vec![]).await;
    let updated = app
        .update_member_role("owner", "acme", "vera", "manager")
        .await
        .expect("role changed");
    let listed = app.users(list_users("owner", "acme")).await;
    let vera = listed.iter().find(|m| m.user_id == "vera").expect("vera listed");
    assert_eq!(&updated, vera);
    assert_eq!(updated.invited_by, "owner");
    assert!(updated.join_time.is_some());
    let deactivated = app
        .deactivate("owner", "acme", "vera")
        .await
        .expect("deactivated");
    let listed = app.users(list_users("owner", "acme")).await;
    assert_eq!(Some(&deactivated), listed.iter().find(|m| m.user_id == "vera"));
}

crate::on_both_databases!(
    changes_answer_the_whole_member_row,
    updating_cannot_escalate_privileges,
    an_admin_changes_a_role_and_authorize_follows,
    a_scoped_actor_cannot_widen_scopes,
    the_owner_and_higher_ranks_are_protected,
    members_leave_rather_than_remove_themselves,
    a_manager_cannot_invite_or_deactivate,
    deactivation_suspends_and_reactivation_restores,
    removing_deletes_the_membership,
    ownership_goes_only_to_an_active_admin,
    transfer_moves_ownership_and_demotes_the_old_owner,
    an_account_manager_can_receive_ownership,
    names_and_emails_cannot_be_changed_by_others,
    sign_ins_are_recorded_for_active_members,
    list_accounts_shows_where_a_user_can_switch,
    bad_member_requests_name_their_fields,
);
