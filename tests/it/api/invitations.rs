//! Invite and AcceptInvitation: docs/domain.md rules 6 (no escalation) and 10 (one live invitation per email).

mod email_limits;
mod inviter_reach;
mod lifecycle;

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::List;
use pb::DecisionReason as R;
use tonic::Code;

use crate::support::{
    TestApp, assert_refused, assert_refused_for, bad_fields, email, expect_code, reason, scope,
};

fn invite_request(actor: &str, account: &str, address: &str, role: &str) -> pb::InviteRequest {
    pb::InviteRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        email: address.into(),
        role: role.into(),
        ..Default::default()
    }
}

fn accept_request(token: &str, user_id: &str, address: &str) -> pb::AcceptInvitationRequest {
    pb::AcceptInvitationRequest {
        token: token.into(),
        user: Some(pb::Person {
            user_id: user_id.into(),
            email: address.into(),
            name: format!("Name of {user_id}"),
        }),
    }
}

async fn invitation_count(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) AS n FROM invitations").await
}

/// Invite answers a pending invitation, its one-time token and a 72-hour expiry, and logs it.
async fn invite_returns_a_pending_invitation_and_its_token(app: TestApp) {
    app.account("acme", "owner").await;
    let mut client = app.client.clone();
    let response = client
        .invite(pb::InviteRequest {
            scopes: vec![scope(List, &["9", "4"])],
            message: "Welcome aboard".into(),
            ..invite_request("owner", "acme", " Bob@Example.com ", "list_manager")
        })
        .await
        .unwrap()
        .into_inner();
    assert!(response.token.len() >= 32, "a long secret: {:?}", response.token);
    let invitation = response.invitation.unwrap();
    assert!(!invitation.id.is_empty());
    assert_eq!(invitation.account_id, "acme");
    assert_eq!(invitation.email, "bob@example.com", "canonical email");
    assert_eq!(invitation.role, "list_manager");
    assert_eq!(invitation.scopes, vec![scope(List, &["4", "9"])]);
    assert_eq!(invitation.state(), pb::InvitationState::Pending);
    assert_eq!(invitation.invited_by, "owner");
    assert_eq!(invitation.message, "Welcome aboard");
    assert_eq!(invitation.send_count, 1);
    let now = chrono::Utc::now().timestamp();
    let created = invitation.create_time.unwrap().seconds;
    let expires = invitation.expire_time.unwrap().seconds;
    assert!((now - created).abs() < 60, "created now");
    assert!(
        (expires - created - 72 * 3600).abs() <= 1,
        "expires 72 hours after creation by default, got {}s",
        expires - created
    );
    assert_eq!(invitation_count(&app).await, 1);
    assert_eq!(app.activity_count("acme", "invitation.create").await, 1);
    assert!(
        !response.token.contains(&invitation.id),
        "the token is not derived from the id"
    );
}

/// Only holders of users.invite may invite: not a manager, a viewer or a stranger.
async fn inviting_needs_users_invite(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "manager", "manager", vec![]).await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;
    for actor in ["manager", "viewer"] {
        assert_refused_for(
            client
                .invite(invite_request(actor, "acme", &email("new"), "viewer"))
                .await,
            Code::PermissionDenied,
            "PERMISSION_NOT_GRANTED",
            actor,
        );
    }
    assert_refused(
        client
            .invite(invite_request("stranger", "acme", &email("new"), "viewer"))
            .await,
        Code::PermissionDenied,
        "NOT_A_MEMBER",
    );
    expect_code(
        client
            .invite(invite_request("owner", "no-such", &email("new"), "viewer"))
            .await,
        Code::NotFound,
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
}

/// Rule 6: an actor hands out only permissions and scopes they hold, never the owner role.
async fn inviting_cannot_escalate_privileges(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "am", "account_manager", vec![]).await;
    app.member(
        "owner",
        "acme",
        "scoped-am",
        "account_manager",
        vec![scope(List, &["4", "9"])],
    )
    .await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;

    let status = assert_refused(
        client
            .invite(invite_request("am", "acme", &email("new"), "admin"))
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
            .invite(invite_request("owner", "acme", &email("new"), "owner"))
            .await,
        Code::FailedPrecondition,
        "OWNER_ROLE_NOT_ASSIGNABLE",
    );

    for scopes in [vec![], vec![scope(List, &["4", "5"])]] {
        assert_refused_for(
            client
                .invite(pb::InviteRequest {
                    scopes: scopes.clone(),
                    ..invite_request("scoped-am", "acme", &email("new"), "list_manager")
                })
                .await,
            Code::PermissionDenied,
            "PRIVILEGE_ESCALATION",
            format!("{scopes:?}"),
        );
    }
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    app.invite("am", "acme", "new", "manager", vec![])
        .await
        .expect("an account manager may invite a manager");
    app.invite(
        "scoped-am",
        "acme",
        "other",
        "list_manager",
        vec![scope(List, &["9"])],
    )
    .await
    .expect("within the actor's own scope");
}

/// Rule 10: an active member is ALREADY_EXISTS; a live pending invitation is returned without a token.
async fn inviting_twice_returns_the_pending_invitation(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "bob", "viewer", vec![]).await;
    let mut client = app.client.clone();
    assert_refused(
        client
            .invite(invite_request("owner", "acme", "BOB@example.com", "manager"))
            .await,
        Code::AlreadyExists,
        "ALREADY_A_MEMBER",
    );

    let first = app
        .invite("owner", "acme", "carol", "viewer", vec![])
        .await
        .unwrap();
    let before = app.table_counts().await;
    let again = client
        .invite(invite_request("owner", "acme", "Carol@Example.COM", "viewer"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.token, "", "the token is shown only once");
    let (first, again) = (first.invitation.unwrap(), again.invitation.unwrap());
    assert_eq!(again.id, first.id);
    assert_eq!(again.send_count, 1);
    assert_eq!(again.state(), pb::InvitationState::Pending);
    assert_eq!(app.table_counts().await, before, "no new row, no activity");
    assert_eq!(invitation_count(&app).await, 2);
}

/// Accepting needs the token and the invited email (any case); a token works once.
async fn accepting_checks_token_and_email(app: TestApp) {
    app.account("acme", "owner").await;
    let token = app
        .invite("owner", "acme", "bob", "manager", vec![])
        .await
        .unwrap()
        .token;
    let mut client = app.client.clone();
    let before = app.table_counts().await;

    assert_refused(
        app.accept(&token, "carol").await,
        Code::PermissionDenied,
        "INVITATION_EMAIL_MISMATCH",
    );

    assert_refused(
        app.accept("0123456789abcdef", "bob").await,
        Code::NotFound,
        "INVITATION_TOKEN_UNKNOWN",
    );

    let status = expect_code(app.accept("  ", "bob").await, Code::InvalidArgument);
    assert_eq!(bad_fields(&status), ["token"]);

    let status = expect_code(
        client
            .accept_invitation(pb::AcceptInvitationRequest {
                token: token.clone(),
                user: None,
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["user"]);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    let accepted = client
        .accept_invitation(accept_request(&token, "bob", "BOB@EXAMPLE.COM"))
        .await
        .expect("the invited address in another case is the same address")
        .into_inner();
    let invitation = accepted.invitation.unwrap();
    assert_eq!(invitation.state(), pb::InvitationState::Accepted);
    let member = accepted.member.unwrap();
    assert_eq!(member.user_id, "bob");
    assert_eq!(member.email, "bob@example.com");
    assert_eq!(member.role, "manager");
    assert_eq!(member.status(), pb::MemberStatus::Active);
    assert_eq!(member.invited_by, "owner");
    assert!(!member.is_owner);
    assert!(member.join_time.is_some());

    assert_refused(
        app.accept(&token, "bob").await,
        Code::FailedPrecondition,
        "INVITATION_ALREADY_ACCEPTED",
    );
}

/// Accepting logs it, and Authorize then answers with the invited role and scopes.
async fn accepting_grants_the_role(app: TestApp) {
    app.account("acme", "owner").await;
    let manager = app
        .invite("owner", "acme", "bob", "manager", vec![])
        .await
        .unwrap();
    let lister = app
        .invite("owner", "acme", "lm", "list_manager", vec![scope(List, &["4"])])
        .await
        .unwrap();
    assert_eq!(
        reason(&app.check("bob", "acme", "campaigns.send").await),
        R::NotAMember
    );
    app.accept(&manager.token, "bob").await.unwrap();
    app.accept(&lister.token, "lm").await.unwrap();
    assert_eq!(app.activity_count("acme", "invitation.accept").await, 2);

    let send = app.check("bob", "acme", "campaigns.send").await;
    assert!(send.allowed);
    assert_eq!(send.role, "manager");
    let delete = app.check("bob", "acme", "campaigns.delete").await;
    assert_eq!(
        (delete.allowed, reason(&delete)),
        (false, R::PermissionNotGranted)
    );
    assert!(
        app.check_on("lm", "acme", "lists.edit", (List, "4"))
            .await
            .allowed
    );
    let outside = app.check_on("lm", "acme", "lists.edit", (List, "5")).await;
    assert_eq!((outside.allowed, reason(&outside)), (false, R::OutOfScope));
}

/// Bad input names the bad field and writes nothing.
async fn bad_invitations_name_their_fields(app: TestApp) {
    app.account("acme", "owner").await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;
    let cases: Vec<(pb::InviteRequest, Vec<&str>)> = vec![
        (
            invite_request("owner", "acme", "bob.example.com", "viewer"),
            vec!["email"],
        ),
        (invite_request("owner", "acme", "bob@", "viewer"), vec!["email"]),
        (
            invite_request("owner", "acme", &email("bob"), "overlord"),
            vec!["role"],
        ),
        (
            pb::InviteRequest {
                scopes: vec![pb::Scope {
                    resource_type: pb::ResourceType::Unspecified.into(),
                    resource_ids: vec!["4".into()],
                }],
                ..invite_request("owner", "acme", &email("bob"), "viewer")
            },
            vec!["scopes[0].resource_type"],
        ),
        (
            pb::InviteRequest {
                scopes: vec![scope(List, &[])],
                ..invite_request("owner", "acme", &email("bob"), "viewer")
            },
            vec!["scopes"],
        ),
        (
            invite_request("", "", "", ""),
            vec!["actor_user_id", "account_id", "email", "role"],
        ),
    ];
    for (request, fields) in cases {
        let status = expect_code(client.invite(request.clone()).await, Code::InvalidArgument);
        assert_eq!(bad_fields(&status), fields, "{request:?}");
    }
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
}

/// Rule 10 with a 1-second TTL: an expired invitation cannot be accepted, shows as
/// expired, and inviting again revives it with a new token that replaces the old one.
async fn expired_invitations_are_revived_by_inviting_again(app: TestApp) {
    app.account("acme", "owner").await;
    let first = app
        .invite("owner", "acme", "bob", "viewer", vec![])
        .await
        .unwrap();
    let old_token = first.token;
    let first = first.invitation.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;

    let before = app.table_counts().await;
    let status = assert_refused(
        app.accept(&old_token, "bob").await,
        Code::FailedPrecondition,
        "INVITATION_EXPIRED",
    );
    assert!(
        status.message().contains("resend"),
        "tells what to do: {status:?}"
    );
    assert_eq!(app.table_counts().await, before);

    let users = app
        .client
        .clone()
        .list_users(pb::ListUsersRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            status: pb::MemberStatus::InvitationExpired.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0].email, email("bob"));
    assert_eq!(users[0].invitation_id, first.id);
    assert_eq!(users[0].status(), pb::MemberStatus::InvitationExpired);

    let revived = app
        .invite("owner", "acme", "bob", "viewer", vec![])
        .await
        .unwrap();
    let new_token = revived.token;
    let revived = revived.invitation.unwrap();
    assert_eq!(revived.id, first.id, "the same invitation, not a new one");
    assert!(!new_token.is_empty());
    assert_ne!(new_token, old_token);
    assert_eq!(revived.send_count, 2);
    assert_eq!(revived.state(), pb::InvitationState::Pending);
    let (old_expiry, new_expiry) = (first.expire_time.unwrap(), revived.expire_time.unwrap());
    assert!(
        (new_expiry.seconds, new_expiry.nanos) > (old_expiry.seconds, old_expiry.nanos),
        "a new expiry: {old_expiry:?} -> {new_expiry:?}"
    );
    assert_eq!(invitation_count(&app).await, 1);
    assert_eq!(app.activity_count("acme", "invitation.resend").await, 1);

    assert_refused(
        app.accept(&old_token, "bob").await,
        Code::NotFound,
        "INVITATION_TOKEN_UNKNOWN",
    );
    app.accept(&new_token, "bob").await.expect("the new token works");
    assert!(app.check("bob", "acme", "campaigns.view").await.allowed);
}

crate::on_both_databases!(
    mod short_ttl, |config| config.invitation_ttl_secs = 1;
    expired_invitations_are_revived_by_inviting_again,
);

crate::on_both_databases!(
    invite_returns_a_pending_invitation_and_its_token,
    inviting_needs_users_invite,
    inviting_cannot_escalate_privileges,
    inviting_twice_returns_the_pending_invitation,
    accepting_checks_token_and_email,
    accepting_grants_the_role,
    bad_invitations_name_their_fields,
);
