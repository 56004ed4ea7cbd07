//! Mailigen's User Management, replayed as one story over gRPC.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::{Campaign, List};
use pb::DecisionReason as R;
use pb::MemberStatus as S;
use tonic::Code;

use super::{accounts_of, assert_allowed, assert_not_granted, can, owned, row, switchable};
use crate::support::{TestApp, assert_refused, email, list_users, reason, scope};

/// Mailigen: Account Manager, List Manager (chosen lists), Collaborator, Watcher,
/// Custom; the user list order; access requests; deactivate and activate; names and
/// emails stay the user's own; switching accounts; the activity log.
pub(super) async fn mailigen_user_management(app: TestApp) {
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
        "MEMBERSHIP_INACTIVE",
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
            (false, S::Active | S::Expired) => 1,
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

crate::on_both_databases!(mailigen_user_management);
