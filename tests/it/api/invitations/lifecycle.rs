//! The invitation lifecycle after Invite: resend, revoke, decline, update, list, and
//! invitations to several accounts of a team (docs/domain.md rule 10 and the Invitation noun).

use std::time::Duration;

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::List;
use pb::DecisionReason as R;
use pb::InvitationState as S;
use tonic::{Code, Status};

use crate::support::{
    TestApp, assert_refused, assert_refused_for, bad_fields, email, expect_code, instant, person, reason,
    scope,
};

// === Request shortcuts ===

async fn resend(app: &TestApp, actor: &str, id: &str) -> Result<pb::ResendInvitationResponse, Status> {
    app.client
        .clone()
        .resend_invitation(pb::ResendInvitationRequest {
            actor_user_id: actor.into(),
            invitation_id: id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn decline(app: &TestApp, token: &str) -> Result<Vec<pb::Invitation>, Status> {
    app.client
        .clone()
        .decline_invitation(pb::DeclineInvitationRequest { token: token.into() })
        .await
        .map(|response| response.into_inner().invitations)
}

async fn update(
    app: &TestApp,
    actor: &str,
    id: &str,
    role: &str,
    scopes: Option<Vec<pb::Scope>>,
) -> Result<pb::Invitation, Status> {
    app.client
        .clone()
        .update_invitation(pb::UpdateInvitationRequest {
            actor_user_id: actor.into(),
            invitation_id: id.into(),
            role: role.into(),
            scopes: scopes.map(|scopes| pb::ScopeList { scopes }),
        })
        .await
        .map(|response| response.into_inner().invitation.expect("invitation returned"))
}

fn list_request(actor: &str, account: &str, state: S) -> pb::ListInvitationsRequest {
    pb::ListInvitationsRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        state: state.into(),
        ..Default::default()
    }
}

/// The ids of the invitations of one state (all when Unspecified) the owner sees, on one page.
async fn listed_ids(app: &TestApp, account: &str, state: S) -> Vec<String> {
    listed_ids_as(app, "owner", account, state).await
}

/// The ids of the invitations of one state `actor` sees, on one page.
async fn listed_ids_as(app: &TestApp, actor: &str, account: &str, state: S) -> Vec<String> {
    let response = app
        .client
        .clone()
        .list_invitations(list_request(actor, account, state))
        .await
        .expect("list invitations")
        .into_inner();
    assert_eq!(response.next_page_token, "", "one page is enough");
    response.invitations.into_iter().map(|i| i.id).collect()
}

fn target(account: &str, role: &str) -> pb::InviteTarget {
    pb::InviteTarget {
        account_id: account.into(),
        role: role.into(),
        scopes: vec![],
    }
}

/// Invites bob to the team parent as designer, child-1 as designer, child-2 as marketer.
fn team_invite() -> pb::InviteRequest {
    pb::InviteRequest {
        actor_user_id: "boss".into(),
        account_id: "team".into(),
        email: email("bob"),
        role: "designer".into(),
        additional_accounts: vec![target("child-1", "designer"), target("child-2", "marketer")],
        ..Default::default()
    }
}

// === Resend ===

/// Rule 10 / Invitation: resending issues a new token and a later expiry, counts the send, kills the old token.
async fn resending_issues_a_new_token_and_kills_the_old_one(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "manager", "manager", vec![]).await;
    let (first, old_token) = app.invited("acme", "bob", "viewer").await;
    tokio::time::sleep(Duration::from_millis(20)).await;

    let before = app.table_counts().await;
    assert_refused(
        resend(&app, "manager", &first.id).await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    expect_code(resend(&app, "owner", "no-such-invitation").await, Code::NotFound);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    let resent = resend(&app, "owner", &first.id).await.unwrap();
    let new_token = resent.token;
    let resent = resent.invitation.unwrap();
    assert!(!new_token.is_empty(), "a new token is shown");
    assert_ne!(new_token, old_token);
    assert_eq!(resent.id, first.id, "the same invitation");
    assert_eq!(resent.state(), S::Pending);
    assert_eq!(resent.send_count, first.send_count + 1);
    assert_eq!(resent.send_count, 2);
    assert!(
        instant(resent.expire_time) > instant(first.expire_time),
        "a later expiry: {:?} -> {:?}",
        first.expire_time,
        resent.expire_time
    );
    assert_eq!(app.activity_count("acme", "invitation.resend").await, 1);

    assert_refused(
        app.accept(&old_token, "bob").await,
        Code::NotFound,
        "INVITATION_TOKEN_UNKNOWN",
    );
    let accepted = app.accept(&new_token, "bob").await.expect("the new token works");
    assert_eq!(accepted.member.unwrap().role, "viewer");
    assert!(app.check("bob", "acme", "campaigns.view").await.allowed);

    assert_refused(
        resend(&app, "owner", &first.id).await,
        Code::FailedPrecondition,
        "INVITATION_ALREADY_ACCEPTED",
    );
}

/// Invitation (1-second TTL): resending revives an expired invitation; the new token is accepted.
async fn resending_revives_an_expired_invitation(app: TestApp) {
    app.account("acme", "owner").await;
    let (first, old_token) = app.invited("acme", "bob", "manager").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_refused(
        app.accept(&old_token, "bob").await,
        Code::FailedPrecondition,
        "INVITATION_EXPIRED",
    );

    let resent = resend(&app, "owner", &first.id)
        .await
        .expect("an expired invitation can be resent");
    let new_token = resent.token;
    let resent = resent.invitation.unwrap();
    assert_eq!(resent.id, first.id);
    assert_eq!(resent.state(), S::Pending, "revived");
    assert_eq!(resent.send_count, 2);
    assert!(instant(resent.expire_time) > instant(first.expire_time));
    app.accept(&new_token, "bob")
        .await
        .expect("the new token of a revived invitation works");
    assert!(app.check("bob", "acme", "campaigns.send").await.allowed);
}

/// Rule 10: inviting again with resend_if_pending reissues the live invitation's token; without it, no token.
async fn inviting_again_with_resend_if_pending_reissues_the_token(app: TestApp) {
    app.account("acme", "owner").await;
    let (first, old_token) = app.invited("acme", "bob", "viewer").await;
    let mut client = app.client.clone();
    let request = pb::InviteRequest {
        actor_user_id: "owner".into(),
        account_id: "acme".into(),
        email: email("bob"),
        role: "viewer".into(),
        ..Default::default()
    };

    let plain = client.invite(request.clone()).await.unwrap().into_inner();
    assert_eq!(
        plain.token, "",
        "without resend_if_pending the token is not shown again"
    );
    assert_eq!(plain.invitation.unwrap().id, first.id);
    assert_eq!(app.activity_count("acme", "invitation.resend").await, 0);

    let again = client
        .invite(pb::InviteRequest {
            resend_if_pending: true,
            ..request
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!again.token.is_empty(), "a new token");
    assert_ne!(again.token, old_token);
    let invitation = again.invitation.unwrap();
    assert_eq!(invitation.id, first.id, "the same invitation, not a new one");
    assert_eq!(invitation.send_count, 2);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM invitations").await, 1);
    assert_eq!(app.activity_count("acme", "invitation.resend").await, 1);

    assert_refused(
        app.accept(&old_token, "bob").await,
        Code::NotFound,
        "INVITATION_TOKEN_UNKNOWN",
    );
    app.accept(&again.token, "bob")
        .await
        .expect("the reissued token works");
}

// === Revoke ===

/// Invitation: revoking cancels it for good (accepting and revoking again fail); the email can be invited anew.
async fn revoking_cancels_a_pending_invitation(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "manager", "manager", vec![]).await;
    let (first, token) = app.invited("acme", "bob", "viewer").await;

    let before = app.table_counts().await;
    assert_refused(
        app.revoke("manager", &first.id).await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    expect_code(app.revoke("owner", "no-such-invitation").await, Code::NotFound);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    let revoked = app.revoke("owner", &first.id).await.unwrap();
    assert_eq!(revoked.id, first.id);
    assert_eq!(revoked.state(), S::Revoked);
    assert_eq!(app.activity_count("acme", "invitation.revoke").await, 1);
    assert_eq!(listed_ids(&app, "acme", S::Revoked).await, [first.id.as_str()]);

    assert_refused(
        app.accept(&token, "bob").await,
        Code::FailedPrecondition,
        "INVITATION_REVOKED",
    );
    assert_eq!(
        reason(&app.check("bob", "acme", "campaigns.view").await),
        R::NotAMember
    );

    let before = app.table_counts().await;
    assert_refused(
        app.revoke("owner", &first.id).await,
        Code::FailedPrecondition,
        "INVITATION_REVOKED",
    );
    assert_eq!(app.table_counts().await, before);

    let (second, new_token) = app.invited("acme", "bob", "viewer").await;
    assert_ne!(second.id, first.id, "a new invitation");
    assert!(!new_token.is_empty());
    assert_eq!(second.state(), S::Pending);
    app.accept(&new_token, "bob")
        .await
        .expect("the new invitation works");
}

// === Decline ===

/// Invitation: the invitee declines with the token; accepting it afterwards is refused.
async fn declining_turns_the_invitation_down(app: TestApp) {
    app.account("acme", "owner").await;
    let (first, token) = app.invited("acme", "bob", "manager").await;

    // One condition, one status (docs/errors.md): a token that names
    // nothing is NOT_FOUND, on decline and accept alike, never echoed.
    let status = assert_refused(
        decline(&app, "0123456789abcdef").await,
        Code::NotFound,
        "INVITATION_TOKEN_UNKNOWN",
    );
    assert!(!status.message().contains("0123456789abcdef"), "{status:?}");
    assert_refused(
        app.accept("garbage-token", "bob").await,
        Code::NotFound,
        "INVITATION_TOKEN_UNKNOWN",
    );

    let declined = decline(&app, &token).await.unwrap();
    assert_eq!(declined.len(), 1, "{declined:?}");
    assert_eq!(declined[0].id, first.id);
    assert_eq!(declined[0].state(), S::Declined);
    assert_eq!(app.activity_count("acme", "invitation.decline").await, 1);
    assert_eq!(listed_ids(&app, "acme", S::Declined).await, [first.id.as_str()]);
    assert!(listed_ids(&app, "acme", S::Pending).await.is_empty());

    let before = app.table_counts().await;
    assert_refused(
        app.accept(&token, "bob").await,
        Code::FailedPrecondition,
        "INVITATION_DECLINED",
    );
    assert_refused(
        decline(&app, &token).await,
        Code::FailedPrecondition,
        "INVITATION_DECLINED",
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert_eq!(
        reason(&app.check("bob", "acme", "campaigns.view").await),
        R::NotAMember
    );
}

// === Update ===

/// Invitation: a pending invitation's role and scopes can change; accepting grants the new ones.
async fn updating_a_pending_invitation_changes_what_accepting_grants(app: TestApp) {
    app.account("acme", "owner").await;
    let (viewer, viewer_token) = app.invited("acme", "bob", "viewer").await;
    let updated = update(&app, "owner", &viewer.id, "manager", None).await.unwrap();
    assert_eq!(updated.id, viewer.id);
    assert_eq!(updated.role, "manager");
    assert_eq!(updated.state(), S::Pending);
    assert_eq!(app.activity_count("acme", "invitation.update").await, 1);

    let lister = app
        .invite(
            "owner",
            "acme",
            "carol",
            "list_manager",
            vec![scope(List, &["4"])],
        )
        .await
        .unwrap();
    let lister_token = lister.token;
    let lister = lister.invitation.unwrap();
    let rescoped = update(&app, "owner", &lister.id, "", Some(vec![scope(List, &["9"])]))
        .await
        .unwrap();
    assert_eq!(rescoped.role, "list_manager", "an empty role keeps the role");
    assert_eq!(rescoped.scopes, vec![scope(List, &["9"])], "scopes replaced");

    let accepted = app.accept(&viewer_token, "bob").await.unwrap();
    assert_eq!(accepted.member.unwrap().role, "manager");
    let send = app.check("bob", "acme", "campaigns.send").await;
    assert!(send.allowed, "{send:?}");
    assert_eq!(send.role, "manager");

    app.accept(&lister_token, "carol").await.unwrap();
    assert!(
        app.check_on("carol", "acme", "lists.edit", (List, "9"))
            .await
            .allowed
    );
    let old = app.check_on("carol", "acme", "lists.edit", (List, "4")).await;
    assert_eq!((old.allowed, reason(&old)), (false, R::OutOfScope));

    assert_refused(
        update(&app, "owner", &viewer.id, "viewer", None).await,
        Code::FailedPrecondition,
        "INVITATION_ALREADY_ACCEPTED",
    );
}

/// Rule 6 on UpdateInvitation: nothing to change is INVALID_ARGUMENT; no escalation to admin.
async fn updating_an_invitation_is_validated_and_cannot_escalate(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "am", "account_manager", vec![]).await;
    let (invitation, _) = app.invited("acme", "bob", "viewer").await;
    let before = app.table_counts().await;

    let status = expect_code(
        update(&app, "owner", &invitation.id, "", None).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["role"]);

    let status = assert_refused(
        update(&app, "am", &invitation.id, "admin", None).await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    assert!(status.message().contains("account.close"), "{status:?}");

    let status = expect_code(
        update(&app, "owner", &invitation.id, "overlord", None).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["role"]);
    expect_code(
        update(&app, "owner", "no-such-invitation", "manager", None).await,
        Code::NotFound,
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    let updated = update(&app, "am", &invitation.id, "manager", None).await.unwrap();
    assert_eq!(
        updated.role, "manager",
        "within the account manager's own permissions"
    );
}

// === List ===

/// Invitation noun: ListInvitations is newest first, filters by state, pages without gaps, needs users.view.
async fn listing_invitations_newest_first_by_state_and_page(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    tokio::time::sleep(Duration::from_millis(15)).await;
    let mut ids = Vec::new();
    let mut tokens = Vec::new();
    for user in ["a", "b", "c", "d"] {
        let (invitation, token) = app.invited("acme", user, "viewer").await;
        ids.push(invitation.id);
        tokens.push(token);
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    // The viewer's own invitation, accepted before all of these, is listed too.
    let viewer_invitation = {
        let all = listed_ids(&app, "acme", S::Unspecified).await;
        assert_eq!(all.len(), 5, "{all:?}");
        let others: Vec<&String> = all.iter().filter(|id| !ids.contains(id)).collect();
        assert_eq!(others.len(), 1, "{all:?}");
        others[0].clone()
    };
    app.accept(&tokens[1], "b").await.unwrap();
    app.revoke("owner", &ids[2]).await.unwrap();

    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    let mut expected_all = newest_first.clone();
    expected_all.push(viewer_invitation.clone());
    assert_eq!(listed_ids(&app, "acme", S::Unspecified).await, expected_all);
    assert_eq!(
        listed_ids(&app, "acme", S::Pending).await,
        [ids[3].clone(), ids[0].clone()]
    );
    assert_eq!(
        listed_ids(&app, "acme", S::Accepted).await,
        [ids[1].clone(), viewer_invitation]
    );
    assert_eq!(listed_ids(&app, "acme", S::Revoked).await, [ids[2].clone()]);
    assert!(listed_ids(&app, "acme", S::Expired).await.is_empty());

    let mut walked = Vec::new();
    let mut page_token = String::new();
    for _ in 0..10 {
        let page = app
            .client
            .clone()
            .list_invitations(pb::ListInvitationsRequest {
                page_size: 1,
                page_token: page_token.clone(),
                ..list_request("owner", "acme", S::Unspecified)
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.invitations.len() <= 1, "page_size 1: {page:?}");
        walked.extend(page.invitations.into_iter().map(|i| i.id));
        page_token = page.next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    assert_eq!(walked, expected_all, "every row exactly once, in order");

    let mut client = app.client.clone();
    assert_refused(
        client
            .list_invitations(list_request("viewer", "acme", S::Unspecified))
            .await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    expect_code(
        client
            .list_invitations(list_request("owner", "no-such", S::Unspecified))
            .await,
        Code::NotFound,
    );
}

/// Invitation noun (1-second TTL): a pending invitation past its expiry is listed as EXPIRED.
async fn listing_shows_expired_invitations(app: TestApp) {
    app.account("acme", "owner").await;
    let (old, _) = app.invited("acme", "old", "viewer").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (fresh, _) = app.invited("acme", "fresh", "viewer").await;

    assert_eq!(listed_ids(&app, "acme", S::Expired).await, [old.id.as_str()]);
    assert_eq!(listed_ids(&app, "acme", S::Pending).await, [fresh.id.as_str()]);
    let all = app
        .client
        .clone()
        .list_invitations(list_request("owner", "acme", S::Unspecified))
        .await
        .unwrap()
        .into_inner()
        .invitations;
    let states: Vec<(String, S)> = all.iter().map(|i| (i.id.clone(), i.state())).collect();
    assert_eq!(states, [(fresh.id, S::Pending), (old.id, S::Expired)]);
}

// === Several accounts of a team ===

/// Invitation noun ("copy to all below"): one token invites to several team accounts; accepting joins them all.
async fn one_invitation_covers_several_accounts_of_a_team(app: TestApp) {
    app.team(&["1", "2"]).await;
    let response = app
        .client
        .clone()
        .invite(team_invite())
        .await
        .unwrap()
        .into_inner();
    assert!(!response.token.is_empty());
    let primary = response.invitation.unwrap();
    assert_eq!(
        (primary.account_id.as_str(), primary.role.as_str()),
        ("team", "designer")
    );
    let extra: Vec<(&str, &str)> = response
        .additional_invitations
        .iter()
        .map(|i| (i.account_id.as_str(), i.role.as_str()))
        .collect();
    assert_eq!(
        extra,
        [("child-1", "designer"), ("child-2", "marketer")],
        "in request order"
    );
    assert!(
        response
            .additional_invitations
            .iter()
            .all(|i| i.state() == S::Pending && i.email == email("bob") && i.id != primary.id)
    );
    for account in ["team", "child-1", "child-2"] {
        assert_eq!(
            app.activity_count(account, "invitation.create").await,
            1,
            "{account}"
        );
        assert_eq!(
            reason(&app.check("bob", account, "templates.view").await),
            R::NotAMember,
            "nothing before acceptance in {account}"
        );
    }

    let accepted = app.accept(&response.token, "bob").await.unwrap();
    assert_eq!(accepted.additional_invitations.len(), 2, "{accepted:?}");
    assert_eq!(accepted.additional_members.len(), 2, "{accepted:?}");
    let invitations: Vec<&pb::Invitation> = accepted
        .invitation
        .iter()
        .chain(&accepted.additional_invitations)
        .collect();
    let members: Vec<&pb::Member> = accepted
        .member
        .iter()
        .chain(&accepted.additional_members)
        .collect();
    let mut joined: Vec<(String, String)> = invitations
        .iter()
        .zip(&members)
        .map(|(invitation, member)| {
            assert_eq!(invitation.state(), S::Accepted);
            assert_eq!(member.user_id, "bob");
            assert_eq!(member.status(), pb::MemberStatus::Active);
            assert_eq!(
                member.role, invitation.role,
                "each member pairs with its invitation"
            );
            (invitation.account_id.clone(), member.role.clone())
        })
        .collect();
    joined.sort();
    assert_eq!(
        joined,
        [
            ("child-1".to_owned(), "designer".to_owned()),
            ("child-2".to_owned(), "marketer".to_owned()),
            ("team".to_owned(), "designer".to_owned()),
        ]
    );

    for (account, role, permission) in [
        ("team", "designer", "templates.edit"),
        ("child-1", "designer", "templates.edit"),
        ("child-2", "marketer", "campaigns.send"),
    ] {
        let answer = app.check("bob", account, permission).await;
        assert_eq!(
            (answer.allowed, answer.role.as_str()),
            (true, role),
            "{account}: {answer:?}"
        );
        assert_eq!(
            app.activity_count(account, "invitation.accept").await,
            1,
            "{account}"
        );
    }
    let marketer = app.check("bob", "child-2", "templates.edit").await;
    assert_eq!(
        (marketer.allowed, reason(&marketer)),
        (false, R::PermissionNotGranted)
    );
    let designer = app.check("bob", "child-1", "campaigns.send").await;
    assert_eq!(
        (designer.allowed, reason(&designer)),
        (false, R::PermissionNotGranted)
    );
    assert_refused(
        app.accept(&response.token, "bob").await,
        Code::FailedPrecondition,
        "INVITATION_ALREADY_ACCEPTED",
    );
}

/// Invitation noun: accounts of two teams, or one account twice, cannot share an invitation; nothing is written.
async fn a_multi_account_invitation_stays_within_one_team(app: TestApp) {
    app.team(&["1", "2"]).await;
    app.account("other", "someone").await;
    app.member("someone", "other", "boss", "admin", vec![]).await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;

    for (primary, extra) in [("team", "other"), ("child-1", "other"), ("other", "child-2")] {
        assert_refused_for(
            client
                .invite(pb::InviteRequest {
                    account_id: primary.into(),
                    additional_accounts: vec![target(extra, "viewer")],
                    ..team_invite()
                })
                .await,
            Code::FailedPrecondition,
            "NOT_ONE_TEAM",
            format!("{primary} + {extra}"),
        );
    }

    let status = expect_code(
        client
            .invite(pb::InviteRequest {
                additional_accounts: vec![target("team", "viewer")],
                ..team_invite()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["additional_accounts[0].account_id"]);
    let status = expect_code(
        client
            .invite(pb::InviteRequest {
                additional_accounts: vec![target("child-1", "viewer"), target("child-1", "designer")],
                ..team_invite()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["additional_accounts[1].account_id"]);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
}

/// Invitation noun: revoking one account's invitation before acceptance leaves it out of the memberships.
async fn revoking_one_account_of_a_multi_account_invitation(app: TestApp) {
    app.team(&["1", "2"]).await;
    let response = app
        .client
        .clone()
        .invite(team_invite())
        .await
        .unwrap()
        .into_inner();
    let child_2 = &response.additional_invitations[1];
    assert_eq!(child_2.account_id, "child-2");
    let revoked = app.revoke("boss", &child_2.id).await.unwrap();
    assert_eq!(revoked.state(), S::Revoked);

    let accepted = app.accept(&response.token, "bob").await.unwrap();
    let mut accounts: Vec<&str> = accepted
        .invitation
        .iter()
        .chain(&accepted.additional_invitations)
        .map(|i| i.account_id.as_str())
        .collect();
    accounts.sort_unstable();
    assert_eq!(accounts, ["child-1", "team"]);
    assert_eq!(accepted.additional_members.len(), 1);
    assert!(app.check("bob", "team", "templates.edit").await.allowed);
    assert!(app.check("bob", "child-1", "templates.edit").await.allowed);
    assert_eq!(
        reason(&app.check("bob", "child-2", "templates.view").await),
        R::NotAMember
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM memberships WHERE user_id = 'bob'")
            .await,
        2
    );
    assert_eq!(
        listed_ids_as(&app, "owner-2", "child-2", S::Revoked).await,
        [child_2.id.as_str()]
    );
}

// === Accepting ===

/// Rules 1 and 10: a pending invitation grants nothing; accepting needs the invited email, in any case.
async fn a_pending_invitation_grants_nothing_until_accepted(app: TestApp) {
    app.account("acme", "owner").await;
    let (_, token) = app.invited("acme", "bob", "manager").await;
    let pending = app.check("bob", "acme", "campaigns.view").await;
    assert_eq!((pending.allowed, reason(&pending)), (false, R::NotAMember));
    assert_eq!(pending.role, "");
    let effective = app
        .client
        .clone()
        .get_effective_permissions(pb::GetEffectivePermissionsRequest {
            user_id: "bob".into(),
            account_id: "acme".into(),
            context: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(effective.reason(), R::NotAMember);
    assert!(effective.permissions.is_empty());

    assert_refused(
        app.accept(&token, "carol").await,
        Code::PermissionDenied,
        "INVITATION_EMAIL_MISMATCH",
    );
    let mut bob = person("bob");
    bob.email = "  BOB@Example.COM ".into();
    app.client
        .clone()
        .accept_invitation(pb::AcceptInvitationRequest {
            token,
            user: Some(bob),
        })
        .await
        .expect("the invited address in another case is the same address");
    assert!(app.check("bob", "acme", "campaigns.send").await.allowed);
}

crate::on_both_databases!(
    mod short_ttl, |config| config.invitation_ttl_secs = 1;
    resending_revives_an_expired_invitation,
    listing_shows_expired_invitations,
);

crate::on_both_databases!(
    resending_issues_a_new_token_and_kills_the_old_one,
    inviting_again_with_resend_if_pending_reissues_the_token,
    revoking_cancels_a_pending_invitation,
    declining_turns_the_invitation_down,
    updating_a_pending_invitation_changes_what_accepting_grants,
    updating_an_invitation_is_validated_and_cannot_escalate,
    listing_invitations_newest_first_by_state_and_page,
    one_invitation_covers_several_accounts_of_a_team,
    a_multi_account_invitation_stays_within_one_team,
    revoking_one_account_of_a_multi_account_invitation,
    a_pending_invitation_grants_nothing_until_accepted,
);
