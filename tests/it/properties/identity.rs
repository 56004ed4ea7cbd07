//! Rule 9 of docs/domain.md: which pairing of a user id and an email the
//! store keeps, so an unproven claim squats nobody's address and a changed
//! address is not a lock-out.

use access_service::grpc::pb;
use tonic::Code;

use crate::support::{TestApp, assert_refused, assert_refused_for, create_account, email, list_users};

/// Rule 9: a CreateAccount naming someone else's email for a made-up id
/// (a claim nobody proved) does not keep the real person out: accepting an
/// invitation sent to that address proves it, and the address moves to them.
async fn an_unproven_claim_cannot_squat_an_email(app: TestApp) {
    app.account("acme", "owner").await;
    let squatter = pb::Person {
        user_id: "x1".into(),
        email: email("victim"),
        name: "Not the victim".into(),
    };
    app.client
        .clone()
        .create_account(create_account("squat", squatter))
        .await
        .expect("an unproven claim to a free address is taken for now");
    app.member("owner", "acme", "victim", "viewer", vec![]).await;
    assert!(app.check("victim", "acme", "campaigns.view").await.allowed);
    let owner = app
        .client
        .clone()
        .get_account(pb::GetAccountRequest {
            account_id: "squat".into(),
            actor_user_id: "x1".into(),
        })
        .await
        .expect("the squatter reads their account")
        .into_inner()
        .account
        .expect("account")
        .owner
        .expect("owner");
    assert_eq!(owner.user_id, "x1");
    assert_ne!(owner.email, email("victim"), "the squatter lost the address");

    for (id, reason, case) in [
        ("x1", "USER_EMAIL_MISMATCH", "the squatter again"),
        ("x2", "EMAIL_IN_USE", "another made-up id"),
    ] {
        assert_refused_for(
            app.client
                .clone()
                .create_account(create_account(
                    &format!("squat-{id}"),
                    pb::Person {
                        user_id: id.into(),
                        email: email("victim"),
                        name: "Not the victim".into(),
                    },
                ))
                .await,
            Code::FailedPrecondition,
            reason,
            case,
        );
    }
}

/// Rule 9: a user whose address changes at the identity provider keeps their
/// id; accepting an invitation sent to the new address moves them to it
/// everywhere, while a claim nobody proved cannot move them.
async fn a_changed_email_follows_the_latest_proven_claim(app: TestApp) {
    app.account("acme", "owner").await;
    app.account("beta", "beta-owner").await;
    app.member("owner", "acme", "u", "viewer", vec![]).await;
    let new_address = "u.new@example.com";
    let invited = app
        .client
        .clone()
        .invite(pb::InviteRequest {
            actor_user_id: "beta-owner".into(),
            account_id: "beta".into(),
            email: new_address.into(),
            role: "viewer".into(),
            ..Default::default()
        })
        .await
        .expect("invite the new address")
        .into_inner();
    app.client
        .clone()
        .accept_invitation(pb::AcceptInvitationRequest {
            token: invited.token,
            user: Some(pb::Person {
                user_id: "u".into(),
                email: new_address.into(),
                name: "U Renamed".into(),
            }),
        })
        .await
        .expect("the same id with its new address");
    let row = app
        .users(list_users("owner", "acme"))
        .await
        .into_iter()
        .find(|row| row.user_id == "u")
        .expect("u is listed");
    assert_eq!(row.email, new_address, "the old account shows the new address");
    assert_eq!(row.name, "U Renamed");

    assert_refused(
        app.client
            .clone()
            .create_account(create_account(
                "elsewhere",
                pb::Person {
                    user_id: "u".into(),
                    email: "someone.else@example.com".into(),
                    name: "Someone".into(),
                },
            ))
            .await,
        Code::FailedPrecondition,
        "USER_EMAIL_MISMATCH",
    );
}

/// Rule 9: a proven address of a user who is an active member somewhere is
/// theirs; once they are active nowhere, a newer proof (the address was
/// given to someone else) takes it.
async fn a_live_proven_address_is_kept(app: TestApp) {
    app.account("acme", "owner").await;
    app.account("beta", "beta-owner").await;
    app.member("owner", "acme", "v", "viewer", vec![]).await;
    let token = app
        .invite("beta-owner", "beta", "v", "viewer", vec![])
        .await
        .expect("invite v's address to beta")
        .token;
    let as_w = || pb::AcceptInvitationRequest {
        token: token.clone(),
        user: Some(pb::Person {
            user_id: "w".into(),
            email: email("v"),
            name: "W".into(),
        }),
    };
    let before = app.table_counts().await;
    assert_refused(
        app.client.clone().accept_invitation(as_w()).await,
        Code::FailedPrecondition,
        "EMAIL_IN_USE",
    );
    assert_eq!(app.table_counts().await, before, "a refusal writes nothing");

    app.client
        .clone()
        .leave_account(pb::LeaveAccountRequest {
            user_id: "v".into(),
            account_id: "acme".into(),
        })
        .await
        .expect("v leaves");
    app.client
        .clone()
        .accept_invitation(as_w())
        .await
        .expect("v is active nowhere: the newer proof takes the address");
    assert!(app.check("w", "beta", "campaigns.view").await.allowed);
}

crate::on_both_databases!(
    an_unproven_claim_cannot_squat_an_email,
    a_changed_email_follows_the_latest_proven_claim,
    a_live_proven_address_is_kept,
);
