//! What a verified token decides: the acting person is its subject (a
//! request naming someone else is refused, an empty actor is filled), calls
//! for a person without a token are refused in the token mode while
//! platform calls stay key-only, two-factor comes from `amr`, sensitive acts
//! need a recent `auth_time`, and accepting or declining an invitation
//! needs the invited address verified by the issuer.

use access_service::grpc::pb;
use serde_json::json;
use tonic::Code;

use super::{as_actor, list_users_as, token_server, with_mfa};
use crate::on_both_databases;
use crate::support::issuer::TestIssuer;
use crate::support::{
    Db, TestApp, assert_refused, assert_refused_for, bad_fields, check, create_account, error_metadata,
    expect_code, list_users, person, remove, transfer,
};

/// Invites `user` to `acme` as `role` for the owner (token with a second
/// factor) and accepts with `user`'s own token; returns nothing, panics on a refusal.
async fn join(app: &TestApp, issuer: &TestIssuer, user: &str, role: &str) {
    let invitation = app
        .client
        .clone()
        .invite(as_actor(
            pb::InviteRequest {
                account_id: "acme".into(),
                email: format!("{user}@example.com"),
                role: role.into(),
                ..Default::default()
            },
            &issuer.token("owner", json!({})),
        ))
        .await
        .unwrap_or_else(|status| panic!("invite {user}: {status:?}"))
        .into_inner();
    app.client
        .clone()
        .accept_invitation(as_actor(
            pb::AcceptInvitationRequest {
                token: invitation.token,
                user: Some(pb::Person {
                    user_id: String::new(),
                    ..person(user)
                }),
            },
            &issuer.token(user, json!({})),
        ))
        .await
        .unwrap_or_else(|status| panic!("{user} accepts: {status:?}"));
}

/// The subject acts: an empty actor is filled with it, the same id passes,
/// another id is refused; in the token mode a call for a person without a
/// token is refused, a platform call is not, and checks never read tokens.
async fn the_actor_is_the_tokens_subject(kind: Db) {
    let issuer = TestIssuer::rsa().await;
    let app = token_server(kind, &issuer).await;
    let owner = issuer.token("owner", json!({}));
    let listed = list_users_as(&app, &owner).await.expect("the actor filled in");
    assert_eq!(listed.users[0].user_id, "owner");
    app.client
        .clone()
        .list_users(as_actor(list_users("owner", "acme"), &owner))
        .await
        .expect("the token's subject named");
    let before = app.table_counts().await;
    let status = assert_refused(
        app.client
            .clone()
            .remove_member(as_actor(remove("someone", "acme", "owner"), &owner))
            .await,
        Code::PermissionDenied,
        "ACTOR_NOT_TOKEN_SUBJECT",
    );
    assert!(status.message().contains("someone"), "{}", status.message());
    let status = assert_refused(
        app.client.clone().list_users(list_users("owner", "acme")).await,
        Code::Unauthenticated,
        "ACTOR_TOKEN_MISSING",
    );
    assert!(status.message().contains("x-actor-token"), "{}", status.message());
    // Acting on one's own membership is a call for a person too.
    assert_refused(
        app.client
            .clone()
            .leave_account(crate::support::leave("owner", "acme"))
            .await,
        Code::Unauthenticated,
        "ACTOR_TOKEN_MISSING",
    );
    // The caller cannot vouch for two-factor beside a token.
    let mut vouched = as_actor(list_users("owner", "acme"), &owner);
    vouched
        .metadata_mut()
        .insert("x-actor-mfa-verified", "true".parse().expect("ascii"));
    let status = expect_code(
        app.client.clone().list_users(vouched).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["x-actor-mfa-verified"]);
    assert_eq!(app.table_counts().await, before, "nothing written");
    // Platform calls act for no one: no token needed.
    app.client
        .clone()
        .create_account(create_account("globex", person("other")))
        .await
        .expect("a top-level account, key-only");
    // A check reads no token, however bad.
    let mut authorize = tonic::Request::new(check("owner", "acme", "campaigns.view", None));
    authorize
        .metadata_mut()
        .insert("x-actor-token", "garbage".parse().expect("ascii"));
    let answer = app
        .client
        .clone()
        .authorize(authorize)
        .await
        .expect("answered")
        .into_inner();
    assert!(answer.allowed);
}

/// In an account requiring two-factor, the token's `amr` decides; the
/// header the caller sets is not read.
async fn two_factor_comes_from_the_token(kind: Db) {
    let issuer = TestIssuer::rsa().await;
    let app = token_server(kind, &issuer).await;
    app.client
        .clone()
        .update_account_policy(as_actor(
            pb::UpdateAccountPolicyRequest {
                account_id: "acme".into(),
                require_two_factor: true,
                ..Default::default()
            },
            &issuer.token("owner", with_mfa()),
        ))
        .await
        .expect("two-factor turned on");
    for (case, claims) in [
        ("no amr", json!({})),
        ("a password only", json!({"amr": ["pwd"]})),
        ("an acr not configured", json!({"acr": "urn:example:loa:3"})),
    ] {
        assert_refused_for(
            list_users_as(&app, &issuer.token("owner", claims)).await,
            Code::PermissionDenied,
            "MFA_REQUIRED",
            case,
        );
    }
    for amr in ["mfa", "otp", "hwk"] {
        list_users_as(&app, &issuer.token("owner", json!({"amr": ["pwd", amr]})))
            .await
            .unwrap_or_else(|status| panic!("{amr}: {status:?}"));
    }
}

/// Transferring ownership, turning two-factor off, removing an admin,
/// deleting a role and closing the account need a sign-in within the
/// configured age; an older one (or none stated) is refused with the
/// reason a UI answers by signing the person in again, and nothing changes.
async fn sensitive_acts_need_a_recent_sign_in(kind: Db) {
    let issuer = TestIssuer::rsa().await;
    let app = token_server(kind, &issuer).await;
    join(&app, &issuer, "ada", "admin").await;
    join(&app, &issuer, "bob", "admin").await;
    let fresh = issuer.token("owner", with_mfa());
    let policy = |require_two_factor: bool| pb::UpdateAccountPolicyRequest {
        account_id: "acme".into(),
        require_two_factor,
        ..Default::default()
    };
    app.client
        .clone()
        .update_account_policy(as_actor(policy(true), &fresh))
        .await
        .expect("turning two-factor on is not sensitive");
    app.client
        .clone()
        .create_role(as_actor(
            pb::CreateRoleRequest {
                account_id: "acme".into(),
                name: "helper".into(),
                permissions: vec!["campaigns.view".into()],
                ..Default::default()
            },
            &fresh,
        ))
        .await
        .expect("a custom role");
    let an_hour_ago = chrono::Utc::now().timestamp() - 3600;
    let old = issuer.token("owner", json!({"auth_time": an_hour_ago, "amr": ["mfa"]}));
    let unstated = issuer.token("owner", json!({"auth_time": null, "amr": ["mfa"]}));
    let before = app.table_counts().await;
    for (case, token) in [("an hour-old sign-in", &old), ("no auth_time", &unstated)] {
        let mut client = app.client.clone();
        let status = assert_refused_for(
            client
                .transfer_ownership(as_actor(transfer("", "acme", "ada"), token))
                .await,
            Code::PermissionDenied,
            "REAUTHENTICATION_REQUIRED",
            case,
        );
        assert!(
            error_metadata(&status).contains(&"max_age_seconds=600".to_owned()),
            "{case}"
        );
        assert_refused_for(
            client.update_account_policy(as_actor(policy(false), token)).await,
            Code::PermissionDenied,
            "REAUTHENTICATION_REQUIRED",
            case,
        );
        assert_refused_for(
            client
                .remove_member(as_actor(remove("", "acme", "bob"), token))
                .await,
            Code::PermissionDenied,
            "REAUTHENTICATION_REQUIRED",
            case,
        );
        assert_refused_for(
            client
                .delete_role(as_actor(
                    pb::DeleteRoleRequest {
                        account_id: "acme".into(),
                        name: "helper".into(),
                        actor_user_id: String::new(),
                    },
                    token,
                ))
                .await,
            Code::PermissionDenied,
            "REAUTHENTICATION_REQUIRED",
            case,
        );
        assert_refused_for(
            client
                .close_account(as_actor(
                    pb::CloseAccountRequest {
                        account_id: "acme".into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await,
            Code::PermissionDenied,
            "REAUTHENTICATION_REQUIRED",
            case,
        );
    }
    let status = assert_refused(
        app.client
            .clone()
            .transfer_ownership(as_actor(transfer("", "acme", "ada"), &old))
            .await,
        Code::PermissionDenied,
        "REAUTHENTICATION_REQUIRED",
    );
    assert!(
        error_metadata(&status)
            .iter()
            .any(|pair| pair.starts_with("signed_in_at=")),
        "{status:?}"
    );
    assert_eq!(app.table_counts().await, before, "nothing changed");
    // An act that is not sensitive goes through on the old sign-in.
    list_users_as(&app, &old)
        .await
        .expect("listing needs no fresh sign-in");
    // A fresh sign-in does each.
    let mut client = app.client.clone();
    client
        .update_account_policy(as_actor(policy(false), &fresh))
        .await
        .expect("two-factor turned off");
    client
        .remove_member(as_actor(remove("", "acme", "bob"), &fresh))
        .await
        .expect("an admin removed");
    client
        .delete_role(as_actor(
            pb::DeleteRoleRequest {
                account_id: "acme".into(),
                name: "helper".into(),
                actor_user_id: String::new(),
            },
            &fresh,
        ))
        .await
        .expect("a role deleted");
    client
        .transfer_ownership(as_actor(transfer("", "acme", "ada"), &fresh))
        .await
        .expect("ownership transferred");
    client
        .close_account(as_actor(
            pb::CloseAccountRequest {
                account_id: "acme".into(),
                ..Default::default()
            },
            &issuer.token("ada", json!({})),
        ))
        .await
        .expect("the new owner closes it");
}

/// Accepting proves the invited address only with the issuer's word:
/// `email_verified` true for exactly that address; the new member's id is
/// the token's subject. Declining needs the same proof.
async fn answering_an_invitation_needs_the_verified_address(kind: Db) {
    let issuer = TestIssuer::rsa().await;
    let app = token_server(kind, &issuer).await;
    let owner = issuer.token("owner", json!({}));
    let invite = |email: &str| pb::InviteRequest {
        account_id: "acme".into(),
        email: email.into(),
        role: "viewer".into(),
        ..Default::default()
    };
    let invitation = app
        .client
        .clone()
        .invite(as_actor(invite("bob@example.com"), &owner))
        .await
        .expect("invited")
        .into_inner();
    let accept = |claims: serde_json::Value| {
        let token = issuer.token("bob", claims);
        let request = pb::AcceptInvitationRequest {
            token: invitation.token.clone(),
            user: Some(pb::Person {
                user_id: String::new(),
                ..person("bob")
            }),
        };
        let mut client = app.client.clone();
        async move { client.accept_invitation(as_actor(request, &token)).await }
    };
    let before = app.table_counts().await;
    for (case, claims) in [
        ("email_verified false", json!({"email_verified": false})),
        ("email_verified missing", json!({"email_verified": null})),
        ("another address, verified", json!({"email": "eve@example.com"})),
        ("no address", json!({"email": null})),
    ] {
        assert_refused_for(
            accept(claims).await,
            Code::PermissionDenied,
            "EMAIL_NOT_VERIFIED",
            case,
        );
    }
    assert_eq!(app.table_counts().await, before, "nothing accepted");
    let accepted = accept(json!({})).await.expect("accepted").into_inner();
    assert_eq!(
        accepted.member.expect("member").user_id,
        "bob",
        "the token's subject joined"
    );

    let second = app
        .client
        .clone()
        .invite(as_actor(invite("carol@example.com"), &owner))
        .await
        .expect("invited")
        .into_inner();
    let decline = |who: &str| {
        let request = as_actor(
            pb::DeclineInvitationRequest {
                token: second.token.clone(),
            },
            &issuer.token(who, json!({})),
        );
        let mut client = app.client.clone();
        async move { client.decline_invitation(request).await }
    };
    assert_refused(
        decline("mallory").await,
        Code::PermissionDenied,
        "EMAIL_NOT_VERIFIED",
    );
    assert_refused(
        app.client
            .clone()
            .decline_invitation(pb::DeclineInvitationRequest {
                token: second.token.clone(),
            })
            .await,
        Code::Unauthenticated,
        "ACTOR_TOKEN_MISSING",
    );
    decline("carol").await.expect("the invitee declines");
}

/// In the caller's-word mode a request without a token acts for the person
/// it names (as before); a token sent is verified and binds the actor all
/// the same. A server that verifies no tokens refuses one.
async fn the_callers_word_mode(kind: Db) {
    let issuer = TestIssuer::rsa().await;
    let app = TestApp::spawn_with(kind, |config| {
        issuer.configure(config);
        config.actors.actor_proof = Some(access_service::config::ActorProofMode::CallersWord);
    })
    .await;
    app.account("acme", "owner").await;
    app.client
        .clone()
        .list_users(list_users("owner", "acme"))
        .await
        .expect("the caller's word");
    assert_refused(
        app.client
            .clone()
            .list_users(as_actor(
                list_users("owner", "acme"),
                &issuer.token("other", json!({})),
            ))
            .await,
        Code::PermissionDenied,
        "ACTOR_NOT_TOKEN_SUBJECT",
    );
    list_users_as(&app, &issuer.token("owner", json!({})))
        .await
        .expect("a token sent is used");

    let plain = TestApp::spawn_with(kind, |_| {}).await;
    plain.account("acme", "owner").await;
    assert_refused(
        list_users_as(&plain, &issuer.token("owner", json!({}))).await,
        Code::Unauthenticated,
        "ACTOR_TOKENS_NOT_ACCEPTED",
    );
}

on_both_databases!(db;
    the_actor_is_the_tokens_subject,
    two_factor_comes_from_the_token,
    sensitive_acts_need_a_recent_sign_in,
    answering_an_invitation_needs_the_verified_address,
    the_callers_word_mode,
);
