//! One end-to-end story per seed product (/work/shared/seeds), replayed over gRPC
//! with DOMAIN.md's mapping of each product's roles onto the built-in roles.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::{Campaign, List, Template};
use pb::DecisionReason as R;
use pb::MemberStatus as S;
use tonic::Code;

use crate::helpers::{
    TestApp, assert_refused, assert_refused_for, email, expect_code, list_accounts, list_users, person,
    reason, scope, share, template_ids,
};

// === Shared steps ===

async fn can(app: &TestApp, user: &str, account: &str, permission: &str) -> bool {
    app.check(user, account, permission).await.allowed
}

/// Asserts each permission is allowed for `user` in every one of `accounts`.
async fn assert_allowed(app: &TestApp, user: &str, accounts: &[&str], permissions: &[&str]) {
    for account in accounts {
        for permission in permissions {
            let answer = app.check(user, account, permission).await;
            assert!(answer.allowed, "{user} may {permission} in {account}: {answer:?}");
        }
    }
}

/// Asserts each permission is denied as not granted for `user` in every one of `accounts`.
async fn assert_not_granted(app: &TestApp, user: &str, accounts: &[&str], permissions: &[&str]) {
    for account in accounts {
        for permission in permissions {
            let answer = app.check(user, account, permission).await;
            assert_eq!(
                (answer.allowed, reason(&answer)),
                (false, R::PermissionNotGranted),
                "{user} may not {permission} in {account}"
            );
        }
    }
}

fn row<'a>(rows: &'a [pb::Member], who: &str) -> &'a pb::Member {
    rows.iter()
        .find(|r| r.email == email(who))
        .unwrap_or_else(|| panic!("{who} is listed: {rows:?}"))
}

async fn accounts_of(app: &TestApp, user: &str) -> Vec<pb::AccountAccess> {
    app.client
        .clone()
        .list_accounts(list_accounts(user, 500, ""))
        .await
        .expect("list accounts")
        .into_inner()
        .accounts
}

/// (account id, role, via parent) of every account a user can switch to.
async fn switchable(app: &TestApp, user: &str) -> Vec<(String, String, String)> {
    accounts_of(app, user)
        .await
        .into_iter()
        .map(|a| (a.account.expect("account").id, a.role, a.via_parent_account_id))
        .collect()
}

fn owned(triples: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    triples
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

// === Mailjet: Account Sharing ===

/// Mailjet: predefined roles (Manager = power_user, Accountant, Developer, Marketer,
/// Designer), custom roles, one invitation for the master and sub-accounts, deleting
/// access while the invitation is pending, and the plan's number of "accesses".
async fn mailjet_account_sharing(app: TestApp) {
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
        Code::FailedPrecondition,
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
    let account = app
        .set_limits("mj-owner", "mj", None, Some(2))
        .await
        .expect("two accesses");
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
        app.set_limits("mj-owner", "mj", None, Some(0)).await,
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
        .set_limits("mj-owner", "mj", None, Some(0))
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

// === Mailchimp: user levels ===

/// Mailchimp: owner, admin, manager, author, viewer; changing levels; ownership
/// transfer to an admin; leaving an account; admins removed only by someone else.
async fn mailchimp_user_levels(app: TestApp) {
    app.account("mc", "mc-owner").await;
    let mut client = app.client.clone();
    let invitation = client
        .invite(pb::InviteRequest {
            actor_user_id: "mc-owner".into(),
            account_id: "mc".into(),
            email: email("mc-admin"),
            role: "admin".into(),
            message: "You run the newsletter now".into(),
            ..Default::default()
        })
        .await
        .expect("invite an admin with a message")
        .into_inner();
    assert_eq!(
        invitation.invitation.as_ref().unwrap().message,
        "You run the newsletter now"
    );
    app.accept(&invitation.token, "mc-admin")
        .await
        .expect("admin accepts");
    // An admin invites the others.
    for (user, role) in [
        ("mc-admin2", "admin"),
        ("mc-manager", "manager"),
        ("mc-author", "author"),
        ("mc-viewer", "viewer"),
    ] {
        app.member("mc-admin", "mc", user, role, vec![]).await;
    }

    assert_allowed(
        &app,
        "mc-manager",
        &["mc"],
        &[
            "campaigns.edit",
            "campaigns.send",
            "campaigns.pause",
            "lists.import",
            "reports.view",
            "reports.subscriber",
        ],
    )
    .await;
    assert_not_granted(
        &app,
        "mc-manager",
        &["mc"],
        &[
            "lists.export",
            "billing.view",
            "account.close",
            "users.invite",
            "campaigns.delete",
        ],
    )
    .await;
    expect_code(
        app.invite("mc-manager", "mc", "intern", "viewer", vec![]).await,
        Code::PermissionDenied,
    );
    assert_allowed(
        &app,
        "mc-author",
        &["mc"],
        &[
            "campaigns.edit",
            "campaigns.delete",
            "templates.edit",
            "templates.delete",
            "automations.edit",
            "reports.view",
        ],
    )
    .await;
    assert_not_granted(
        &app,
        "mc-author",
        &["mc"],
        &["campaigns.send", "campaigns.pause", "lists.view"],
    )
    .await;
    let viewer = client
        .get_effective_permissions(pb::GetEffectivePermissionsRequest {
            user_id: "mc-viewer".into(),
            account_id: "mc".into(),
            context: None,
        })
        .await
        .expect("effective permissions")
        .into_inner();
    assert_eq!(
        viewer.permissions,
        ["account.view", "campaigns.view", "reports.view"],
        "a viewer views reports (and the campaigns they report on)"
    );
    assert_allowed(
        &app,
        "mc-admin",
        &["mc"],
        &[
            "account.close",
            "users.invite",
            "users.remove",
            "billing.edit",
            "account.security",
            "account.export",
            "lists.export",
        ],
    )
    .await;
    assert_not_granted(&app, "mc-admin", &["mc"], &["account.transfer"]).await;

    // "Change account access": an admin changes a user's level.
    let promoted = app
        .update_member_role("mc-admin", "mc", "mc-author", "manager")
        .await
        .expect("admin changes author to manager");
    assert_eq!(promoted.role, "manager");
    assert!(can(&app, "mc-author", "mc", "campaigns.send").await);
    assert_refused(
        app.update_member_role("mc-manager", "mc", "mc-viewer", "author")
            .await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );

    // Ownership goes only to an admin; the previous owner becomes an admin.
    assert_refused(
        app.transfer("mc-owner", "mc", "mc-manager").await,
        Code::FailedPrecondition,
        "TRANSFER_TARGET_NOT_ADMIN",
    );
    expect_code(
        app.transfer("mc-admin2", "mc", "mc-admin").await,
        Code::PermissionDenied,
    );
    let account = app
        .transfer("mc-owner", "mc", "mc-admin")
        .await
        .expect("owner transfers to an admin");
    assert_eq!(account.owner.unwrap().user_id, "mc-admin");
    let rows = app.users(list_users("mc-admin", "mc")).await;
    assert_eq!(rows[0].user_id, "mc-admin", "the new owner is listed first");
    assert!(rows[0].is_owner);
    assert_eq!(rows[0].role, "owner");
    let old = row(&rows, "mc-owner");
    assert_eq!((old.role.as_str(), old.is_owner), ("admin", false));
    assert!(can(&app, "mc-admin", "mc", "account.transfer").await);
    assert_not_granted(&app, "mc-owner", &["mc"], &["account.transfer"]).await;
    assert!(
        can(&app, "mc-owner", "mc", "account.close").await,
        "admins still close"
    );
    assert_eq!(app.activity_count("mc", "account.transfer").await, 1);

    // "User disables access": a user leaves; the owner cannot.
    client
        .leave_account(pb::LeaveAccountRequest {
            user_id: "mc-viewer".into(),
            account_id: "mc".into(),
        })
        .await
        .expect("the viewer leaves");
    let gone = app.check("mc-viewer", "mc", "reports.view").await;
    assert_eq!((gone.allowed, reason(&gone)), (false, R::NotAMember));
    assert_refused(
        client
            .leave_account(pb::LeaveAccountRequest {
                user_id: "mc-admin".into(),
                account_id: "mc".into(),
            })
            .await,
        Code::FailedPrecondition,
        "OWNER_CANNOT_LEAVE",
    );

    // An admin cannot revoke their own access: another admin does it.
    assert_refused(
        app.remove("mc-admin2", "mc", "mc-admin2").await,
        Code::FailedPrecondition,
        "CANNOT_ACT_ON_SELF",
    );
    app.remove("mc-owner", "mc", "mc-admin2")
        .await
        .expect("another admin revokes their access");
    let removed = app.check("mc-admin2", "mc", "account.view").await;
    assert_eq!(reason(&removed), R::NotAMember);
    assert_refused(
        app.remove("mc-owner", "mc", "mc-admin").await,
        Code::FailedPrecondition,
        "OWNER_PROTECTED",
    );

    // Admins can close the account.
    let closed = app.close("mc-owner", "mc").await.expect("an admin closes");
    assert_eq!(closed.state(), pb::AccountState::Closed);
    let after = app.check("mc-admin", "mc", "reports.view").await;
    assert_eq!((after.allowed, reason(&after)), (false, R::AccountClosed));
}

// === Mailigen: User Management ===

/// Mailigen: Account Manager, List Manager (chosen lists), Collaborator, Watcher,
/// Custom; the user list order; access requests; deactivate and activate; names and
/// emails stay the user's own; switching accounts; the activity log.
async fn mailigen_user_management(app: TestApp) {
    let mut client = app.client.clone();
    app.account("mg", "mg-owner").await;
    app.member("mg-owner", "mg", "mg-am", "account_manager", vec![])
        .await;
    // The account manager runs user management from here on.
    app.member(
        "mg-am",
        "mg",
        "mg-lists",
        "list_manager",
        vec![scope(List, &["4", "9"])],
    )
    .await;
    app.member("mg-am", "mg", "mg-collab", "collaborator", vec![])
        .await;
    app.member("mg-am", "mg", "mg-watcher", "watcher", vec![]).await;
    app.member("mg-am", "mg", "mg-former", "watcher", vec![]).await;
    let pending = app
        .invite("mg-am", "mg", "mg-pending", "collaborator", vec![])
        .await
        .expect("a sub-user who has not accepted yet");

    // Account Manager: full access but cannot close the account.
    assert_allowed(
        &app,
        "mg-am",
        &["mg"],
        &[
            "users.invite",
            "users.edit",
            "users.remove",
            "billing.edit",
            "account.edit",
        ],
    )
    .await;
    assert_not_granted(&app, "mg-am", &["mg"], &["account.close", "account.transfer"]).await;
    assert_refused(
        app.close("mg-am", "mg").await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );

    // List Manager: lists and contacts of the chosen lists only.
    for list in ["4", "9"] {
        for permission in ["lists.edit", "contacts.add", "contacts.edit", "contacts.delete"] {
            assert!(
                app.check_on("mg-lists", "mg", permission, (List, list))
                    .await
                    .allowed,
                "{permission} on list {list}"
            );
        }
    }
    let five = app.check_on("mg-lists", "mg", "lists.view", (List, "5")).await;
    assert_eq!((five.allowed, reason(&five)), (false, R::OutOfScope));
    assert_not_granted(&app, "mg-lists", &["mg"], &["campaigns.view", "reports.view"]).await;

    // Collaborator: campaigns and templates, but cannot send.
    assert_allowed(
        &app,
        "mg-collab",
        &["mg"],
        &[
            "campaigns.edit",
            "templates.edit",
            "templates.delete",
            "reports.view",
        ],
    )
    .await;
    assert_not_granted(&app, "mg-collab", &["mg"], &["campaigns.send"]).await;

    // Watcher: reports and exports of them, subscriber details, no subscriber export.
    assert_allowed(
        &app,
        "mg-watcher",
        &["mg"],
        &["reports.view", "reports.export", "contacts.view"],
    )
    .await;
    assert_not_granted(
        &app,
        "mg-watcher",
        &["mg"],
        &["lists.export", "contacts.edit", "campaigns.edit"],
    )
    .await;

    // Custom: chosen actions on a chosen campaign.
    app.create_role(
        "mg-am",
        "mg",
        "campaign-sender",
        &["campaigns.view", "campaigns.edit", "campaigns.send"],
    )
    .await
    .expect("a custom permission scheme");
    app.member(
        "mg-am",
        "mg",
        "mg-custom",
        "campaign-sender",
        vec![scope(Campaign, &["c-1"])],
    )
    .await;
    assert!(
        app.check_on("mg-custom", "mg", "campaigns.send", (Campaign, "c-1"))
            .await
            .allowed
    );
    let other = app
        .check_on("mg-custom", "mg", "campaigns.send", (Campaign, "c-2"))
        .await;
    assert_eq!(reason(&other), R::OutOfScope);
    assert_not_granted(&app, "mg-custom", &["mg"], &["lists.view", "campaigns.delete"]).await;

    // "Request Access": the collaborator asks to send; the account manager approves.
    let request = app
        .request_access("mg-collab", "mg", "campaigns.send", "launch day")
        .await
        .expect("request access");
    assert_eq!(request.state(), pb::AccessRequestState::Pending);
    let listed = client
        .list_access_requests(pb::ListAccessRequestsRequest {
            actor_user_id: "mg-am".into(),
            account_id: "mg".into(),
            state: pb::AccessRequestState::Pending.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("the account manager sees the request")
        .into_inner()
        .access_requests;
    assert_eq!(
        listed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [request.id.as_str()]
    );
    let decided = app.decide("mg-am", &request.id, true).await;
    match &decided {
        Ok(decided) => {
            assert_eq!(decided.state(), pb::AccessRequestState::Approved);
            assert_eq!(decided.decided_by, "mg-am");
        }
        Err(status) => panic!("the account manager approves the request: {status:?}"),
    }
    assert!(can(&app, "mg-collab", "mg", "campaigns.send").await);
    assert_eq!(
        row(&app.users(list_users("mg-am", "mg")).await, "mg-collab").extra_permissions,
        ["campaigns.send"]
    );

    // Deactivate and activate.
    client
        .deactivate_member(pb::DeactivateMemberRequest {
            actor_user_id: "mg-am".into(),
            account_id: "mg".into(),
            user_id: "mg-former".into(),
        })
        .await
        .expect("deactivate");
    let inactive = app.check("mg-former", "mg", "reports.view").await;
    assert_eq!(
        (inactive.allowed, reason(&inactive)),
        (false, R::MembershipInactive)
    );
    assert!(
        accounts_of(&app, "mg-former").await.is_empty(),
        "a deactivated user cannot switch to the account"
    );
    assert_refused(
        app.request_access("mg-former", "mg", "reports.view", "let me back in")
            .await,
        Code::PermissionDenied,
        "NOT_A_MEMBER",
    );
    client
        .deactivate_member(pb::DeactivateMemberRequest {
            actor_user_id: "mg-am".into(),
            account_id: "mg".into(),
            user_id: "mg-watcher".into(),
        })
        .await
        .expect("deactivate the watcher");
    let reactivated = client
        .reactivate_member(pb::ReactivateMemberRequest {
            actor_user_id: "mg-am".into(),
            account_id: "mg".into(),
            user_id: "mg-watcher".into(),
        })
        .await
        .expect("activate again")
        .into_inner()
        .member
        .unwrap();
    assert_eq!(reactivated.status(), S::Active);
    assert!(can(&app, "mg-watcher", "mg", "reports.export").await);

    // The list: owner first, then active users, then pending, then inactive.
    let rows = app.users(list_users("mg-am", "mg")).await;
    assert_eq!(rows[0].user_id, "mg-owner", "the owner (creator) is first");
    assert!(rows[0].is_owner);
    let ranks: Vec<u8> = rows
        .iter()
        .map(|r| match (r.is_owner, r.status()) {
            (true, _) => 0,
            (false, S::Active) => 1,
            (false, S::Pending | S::InvitationExpired) => 2,
            (false, S::Deactivated) => 3,
            (false, S::Unspecified) => 9,
        })
        .collect();
    assert_eq!(
        ranks,
        [0, 1, 1, 1, 1, 1, 2, 3],
        "owner, five active, one pending, one inactive: {rows:?}"
    );
    assert_eq!(rows[6].email, email("mg-pending"));
    assert_eq!(rows[6].invitation_id, pending.invitation.unwrap().id);
    assert_eq!(rows[7].email, email("mg-former"));
    for r in rows.iter().filter(|r| r.status() != S::Pending) {
        assert!(
            !r.name.is_empty() && !r.email.is_empty() && !r.role.is_empty(),
            "full name, email and permission type: {r:?}"
        );
    }

    // Name and email stay the user's own: an edit changes the permissions only, and
    // nobody can re-register the user under another address.
    let edited = app
        .update_member_role("mg-am", "mg", "mg-watcher", "collaborator")
        .await
        .expect("edit permissions");
    assert_eq!(
        (edited.name.as_str(), edited.email.as_str()),
        ("Name of mg-watcher", email("mg-watcher").as_str())
    );
    assert_refused(
        client
            .create_account(pb::CreateAccountRequest {
                account_id: "hijack".into(),
                name: "Hijack".into(),
                owner: Some(pb::Person {
                    user_id: "mg-watcher".into(),
                    email: "attacker@example.com".into(),
                    name: "Someone Else".into(),
                }),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        "USER_EMAIL_MISMATCH",
    );
    let watcher = row(&app.users(list_users("mg-owner", "mg")).await, "mg-watcher").clone();
    assert_eq!(watcher.name, "Name of mg-watcher");
    assert_eq!(watcher.role, "collaborator");

    // A sub-user with an account of their own switches between both.
    app.account("watcher-co", "mg-watcher").await;
    assert_eq!(
        switchable(&app, "mg-watcher").await,
        owned(&[("mg", "collaborator", ""), ("watcher-co", "owner", "")])
    );
    assert!(can(&app, "mg-watcher", "watcher-co", "account.close").await);

    // The activity log: who did what to whom, newest first, filterable.
    let log = client
        .list_activity(pb::ListActivityRequest {
            actor_user_id: "mg-owner".into(),
            account_id: "mg".into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("the owner reads the activity log")
        .into_inner()
        .entries;
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "account.create",
        "invitation.create",
        "invitation.accept",
        "role.create",
        "access_request.create",
        "access_request.approve",
        "member.deactivate",
        "member.reactivate",
        "member.update",
    ] {
        assert!(actions.contains(&action), "{action} is logged: {actions:?}");
    }
    assert_eq!(log[0].action, "member.update", "newest first");
    assert_eq!(
        (log[0].actor_user_id.as_str(), log[0].target.as_str()),
        ("mg-am", "mg-watcher")
    );
    assert!(
        log.windows(2)
            .all(|w| w[0].create_time.as_ref().unwrap().seconds >= w[1].create_time.as_ref().unwrap().seconds),
        "ordered newest first"
    );
    let by_collab = client
        .list_activity(pb::ListActivityRequest {
            actor_user_id: "mg-am".into(),
            account_id: "mg".into(),
            filter_actor_user_id: "mg-collab".into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("filter by user")
        .into_inner()
        .entries;
    assert!(!by_collab.is_empty());
    assert!(by_collab.iter().all(|e| e.actor_user_id == "mg-collab"));
    assert!(by_collab.iter().any(|e| e.action == "access_request.create"));
    assert_refused(
        client
            .list_activity(pb::ListActivityRequest {
                actor_user_id: "mg-lists".into(),
                account_id: "mg".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
}

// === dotdigital: Users and teams ===

/// dotdigital: a parent account with child accounts; the parent owner works in every
/// child, managed users only where they were given access; templates shared down
/// (read-only in the children), never up or sideways; changing a child's owner.
async fn dotdigital_users_and_teams(app: TestApp) {
    let mut client = app.client.clone();
    app.account("dd", "dd-owner").await;
    app.member("dd-owner", "dd", "dd-user", "admin", vec![]).await;
    app.member("dd-owner", "dd", "dd-viewer", "viewer", vec![]).await;
    app.child_account("dd-brand-a", "brand-a-owner", "dd", "dd-owner")
        .await;
    app.child_account("dd-brand-b", "brand-b-owner", "dd", "dd-owner")
        .await;
    assert_eq!(app.get_account("dd-brand-a").await.parent_account_id, "dd");
    assert_refused(
        client
            .create_account(pb::CreateAccountRequest {
                account_id: "dd-rogue".into(),
                name: "Rogue".into(),
                owner: Some(person("dd-viewer")),
                parent_account_id: "dd".into(),
                actor_user_id: "dd-viewer".into(),
            })
            .await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    assert_refused(
        client
            .create_account(pb::CreateAccountRequest {
                account_id: "dd-grandchild".into(),
                name: "Too deep".into(),
                owner: Some(person("dd-owner")),
                parent_account_id: "dd-brand-a".into(),
                actor_user_id: "dd-owner".into(),
            })
            .await,
        Code::FailedPrecondition,
        "NESTED_CHILD_ACCOUNT",
    );

    // The parent owner logs into any child as its owner.
    for child in ["dd-brand-a", "dd-brand-b"] {
        let answer = app.check("dd-owner", child, "users.invite").await;
        assert!(answer.allowed, "{child}");
        assert_eq!(
            (answer.role.as_str(), answer.via_parent_account_id.as_str()),
            ("owner", "dd")
        );
    }
    assert_eq!(
        switchable(&app, "dd-owner").await,
        owned(&[
            ("dd", "owner", ""),
            ("dd-brand-a", "owner", "dd"),
            ("dd-brand-b", "owner", "dd"),
        ])
    );
    // A managed user of the parent reaches a child only once given access there.
    let outside = app.check("dd-user", "dd-brand-a", "campaigns.view").await;
    assert_eq!((outside.allowed, reason(&outside)), (false, R::NotAMember));
    app.member("dd-owner", "dd-brand-a", "dd-user", "manager", vec![])
        .await;
    let inside = app.check("dd-user", "dd-brand-a", "campaigns.send").await;
    assert!(inside.allowed);
    assert_eq!(
        (inside.role.as_str(), inside.via_parent_account_id.as_str()),
        ("manager", "")
    );
    assert_not_granted(&app, "dd-user", &["dd-brand-a"], &["users.invite"]).await;
    let still_outside = app.check("dd-user", "dd-brand-b", "campaigns.view").await;
    assert_eq!(reason(&still_outside), R::NotAMember);
    assert_eq!(
        switchable(&app, "dd-user").await,
        owned(&[("dd", "admin", ""), ("dd-brand-a", "manager", "")])
    );

    // Templates: shared from the parent down to every child, usable but read-only there.
    let shared = client
        .share_template(share("dd-owner", "dd", "newsletter", &[]))
        .await
        .expect("share with all children")
        .into_inner()
        .shared_template
        .unwrap();
    assert!(shared.all_children);
    app.child_account("dd-brand-c", "brand-c-owner", "dd", "dd-owner")
        .await;
    let owners_may_not: &[&str] = &["templates.edit", "templates.delete"];
    // A manager holds templates.edit but never templates.delete.
    let manager_may_not: &[&str] = &["templates.edit"];
    for (user, child, read_only) in [
        ("brand-a-owner", "dd-brand-a", owners_may_not),
        ("dd-user", "dd-brand-a", manager_may_not),
        ("brand-b-owner", "dd-brand-b", owners_may_not),
        ("brand-c-owner", "dd-brand-c", owners_may_not),
    ] {
        for permission in ["templates.view", "campaigns.edit"] {
            assert!(
                app.check_on(user, child, permission, (Template, "newsletter"))
                    .await
                    .allowed,
                "{user} may {permission} with the shared template in {child}"
            );
        }
        for permission in read_only {
            let answer = app
                .check_on(user, child, permission, (Template, "newsletter"))
                .await;
            assert_eq!(
                (answer.allowed, reason(&answer)),
                (false, R::SharedTemplateReadOnly),
                "{user} may not {permission} the shared template in {child}"
            );
        }
        assert_eq!(
            template_ids(&app.shared_templates(user, child).await),
            ["newsletter"]
        );
    }
    assert!(
        app.check_on("dd-owner", "dd", "templates.edit", (Template, "newsletter"))
            .await
            .allowed,
        "the parent edits its own template"
    );

    // Never up from a child, never sideways to another team.
    app.account("other", "other-owner").await;
    app.child_account("other-kid", "other-kid-owner", "other", "other-owner")
        .await;
    assert_refused(
        client
            .share_template(share("brand-a-owner", "dd-brand-a", "promo", &[]))
            .await,
        Code::FailedPrecondition,
        "SHARE_NOT_FROM_PARENT",
    );
    assert_refused(
        client
            .share_template(share("dd-owner", "dd", "promo", &["other-kid"]))
            .await,
        Code::FailedPrecondition,
        "NOT_A_CHILD_ACCOUNT",
    );
    assert!(
        app.shared_templates("other-kid-owner", "other-kid")
            .await
            .is_empty()
    );

    // Unsharing removes it from every child.
    client
        .unshare_template(pb::UnshareTemplateRequest {
            actor_user_id: "dd-owner".into(),
            account_id: "dd".into(),
            template_id: "newsletter".into(),
        })
        .await
        .expect("unshare");
    for (user, child) in [("brand-a-owner", "dd-brand-a"), ("brand-c-owner", "dd-brand-c")] {
        assert!(app.shared_templates(user, child).await.is_empty());
        assert!(
            app.check_on(user, child, "templates.edit", (Template, "newsletter"))
                .await
                .allowed,
            "no longer a read-only shared template in {child}"
        );
    }

    // Change the owner of a child account, from the parent's Users and teams area.
    app.member("brand-a-owner", "dd-brand-a", "brand-a-admin", "admin", vec![])
        .await;
    let account = app
        .transfer("dd-owner", "dd-brand-a", "brand-a-admin")
        .await
        .expect("the parent owner changes the child's owner");
    assert_eq!(account.owner.unwrap().user_id, "brand-a-admin");
    assert_eq!(
        app.get_account("dd-brand-a").await.owner.unwrap().user_id,
        "brand-a-admin"
    );
    let rows = app.users(list_users("brand-a-admin", "dd-brand-a")).await;
    assert_eq!(rows[0].user_id, "brand-a-admin");
    assert_eq!(row(&rows, "brand-a-owner").role, "admin");
    assert_not_granted(&app, "brand-a-owner", &["dd-brand-a"], &["account.transfer"]).await;
    let parent = app.check("dd-owner", "dd-brand-a", "account.transfer").await;
    assert!(parent.allowed, "the parent owner still acts as owner");
    assert_eq!(parent.via_parent_account_id, "dd");
}

// === Mailpro: multi-user account ===

/// Mailpro: the master account (owner) and an account manager; sub-users with limited
/// access; extra permissions approved or rejected; staff turnover; only the master
/// account closes the account.
async fn mailpro_multi_user_account(app: TestApp) {
    app.account("mp", "mp-owner").await;
    app.member("mp-owner", "mp", "mp-am", "account_manager", vec![])
        .await;
    app.member("mp-am", "mp", "mp-stats", "watcher", vec![]).await;
    app.member("mp-am", "mp", "mp-writer", "collaborator", vec![])
        .await;
    let rows = app.users(list_users("mp-am", "mp")).await;
    assert_eq!(rows[0].user_id, "mp-owner", "the owner is always the first user");
    assert_eq!(row(&rows, "mp-stats").invited_by, "mp-am");

    // Statistics only, no administration, no billing, no settings.
    assert_allowed(&app, "mp-stats", &["mp"], &["reports.view", "reports.export"]).await;
    assert_not_granted(
        &app,
        "mp-stats",
        &["mp"],
        &["billing.view", "account.edit", "users.view", "campaigns.edit"],
    )
    .await;
    assert_not_granted(&app, "mp-writer", &["mp"], &["billing.view", "account.edit"]).await;

    // A sub-user asks for an extra permission; the account manager approves one, rejects another.
    let edit = app
        .request_access("mp-stats", "mp", "campaigns.edit", "fix a typo")
        .await
        .expect("ask for campaigns.edit");
    let again = app
        .request_access("mp-stats", "mp", "campaigns.edit", "please")
        .await
        .expect("asking twice returns the pending request");
    assert_eq!(again.id, edit.id);
    let export = app
        .request_access("mp-stats", "mp", "lists.export", "")
        .await
        .expect("ask for lists.export");
    assert_refused(
        app.request_access("mp-stats", "mp", "reports.view", "").await,
        Code::FailedPrecondition,
        "ALREADY_GRANTED",
    );
    assert_refused_for(
        app.decide("mp-writer", &edit.id, true).await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
        "only a manager decides",
    );
    let rejected = app.decide("mp-am", &export.id, false).await.expect("reject");
    assert_eq!(rejected.state(), pb::AccessRequestState::Rejected);
    assert_not_granted(&app, "mp-stats", &["mp"], &["lists.export"]).await;
    let approved = app.decide("mp-am", &edit.id, true).await;
    match &approved {
        Ok(approved) => assert_eq!(approved.state(), pb::AccessRequestState::Approved),
        Err(status) => panic!("the account manager approves: {status:?}"),
    }
    assert!(can(&app, "mp-stats", "mp", "campaigns.edit").await);
    assert_refused(
        app.decide("mp-am", &edit.id, false).await,
        Code::FailedPrecondition,
        "ALREADY_DECIDED",
    );

    // The account manager demotes a user's permission level at any time.
    app.update_member_role("mp-am", "mp", "mp-writer", "viewer")
        .await
        .expect("demote");
    assert_not_granted(&app, "mp-writer", &["mp"], &["campaigns.edit"]).await;

    // Staff turnover: terminate the previous user, add a new one.
    app.remove("mp-am", "mp", "mp-stats")
        .await
        .expect("terminate the leaver");
    let gone = app.check("mp-stats", "mp", "reports.view").await;
    assert_eq!((gone.allowed, reason(&gone)), (false, R::NotAMember));
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM membership_grants WHERE user_id = 'mp-stats'")
            .await,
        0,
        "the leaver's extra grants went with the membership"
    );
    app.member("mp-am", "mp", "mp-stats-new", "watcher", vec![]).await;
    assert!(can(&app, "mp-stats-new", "mp", "reports.view").await);
    assert_not_granted(&app, "mp-stats-new", &["mp"], &["campaigns.edit"]).await;

    // Only the master account closes the account.
    assert_refused(
        app.close("mp-am", "mp").await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    assert_eq!(app.get_account("mp").await.state(), pb::AccountState::Open);
    let members_before = app
        .count("SELECT COUNT(*) AS n FROM memberships WHERE account_id = 'mp'")
        .await;
    let closed = app.close("mp-owner", "mp").await.expect("the owner closes");
    assert_eq!(closed.state(), pb::AccountState::Closed);
    assert!(closed.close_time.is_some());
    for user in ["mp-owner", "mp-am", "mp-stats-new", "mp-writer"] {
        for permission in ["account.view", "reports.view", "campaigns.send"] {
            let answer = app.check(user, "mp", permission).await;
            assert_eq!(
                (answer.allowed, reason(&answer)),
                (false, R::AccountClosed),
                "{user} × {permission}"
            );
        }
    }
    assert_refused(
        app.invite("mp-owner", "mp", "latecomer", "viewer", vec![]).await,
        Code::FailedPrecondition,
        "ACCOUNT_CLOSED",
    );
    assert_eq!(app.get_account("mp").await.state(), pb::AccountState::Closed);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM memberships WHERE account_id = 'mp'")
            .await,
        members_before,
        "the data is kept"
    );
    assert!(
        accounts_of(&app, "mp-am").await.is_empty(),
        "a closed account is no longer offered to switch to"
    );
}

crate::on_both_databases!(
    mailjet_account_sharing,
    mailchimp_user_levels,
    mailigen_user_management,
    dotdigital_users_and_teams,
    mailpro_multi_user_account,
);
