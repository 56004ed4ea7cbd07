//! What a caller learns without proving who they are: reads without an
//! actor, and refusals to strangers (docs/domain.md, "What a caller learns").

use access_service::grpc::pb;
use tonic::Code;

use crate::support::{TestApp, assert_refused, email, expect_code};

fn get_account_as(actor: &str, account: &str) -> pb::GetAccountRequest {
    pb::GetAccountRequest {
        account_id: account.into(),
        actor_user_id: actor.into(),
    }
}

/// Reads without an actor: an account's owner is named by id only, to
/// GetAccount without an actor and in ListAccounts (whose user is not
/// proven to be the caller); a member asking as themselves sees the owner.
async fn reads_without_an_actor_show_no_personal_data(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "bob", "viewer", vec![]).await;
    app.account("other", "stranger").await;
    let mut client = app.client.clone();

    let anonymous = app.get_account("acme").await.owner.expect("owner");
    assert_eq!(
        (
            anonymous.user_id.as_str(),
            anonymous.email.as_str(),
            anonymous.name.as_str()
        ),
        ("owner", "", "")
    );
    let seen = client
        .get_account(get_account_as("bob", "acme"))
        .await
        .expect("a member reads the account")
        .into_inner()
        .account
        .expect("account")
        .owner
        .expect("owner");
    assert_eq!(seen.email, email("owner"));
    assert_refused(
        client.get_account(get_account_as("stranger", "acme")).await,
        Code::PermissionDenied,
        "NOT_A_MEMBER",
    );

    let listed = client
        .list_accounts(crate::support::list_accounts("bob", 0, ""))
        .await
        .expect("list accounts")
        .into_inner()
        .accounts;
    assert_eq!(listed.len(), 1);
    let owner = listed[0]
        .account
        .as_ref()
        .expect("account")
        .owner
        .as_ref()
        .expect("owner");
    assert_eq!((owner.user_id.as_str(), owner.email.as_str()), ("owner", ""));
}

/// Refusals do not tell a caller about people they may not see: a stranger
/// resending, revoking or changing an invitation, or deciding an access
/// request, by id learns neither that it exists nor its account; a member
/// without users.view is told they are outranked, not what the target holds.
async fn refusals_do_not_tell_strangers_about_people(app: TestApp) {
    app.account("acme", "owner").await;
    app.account("other", "stranger").await;
    app.member("owner", "acme", "admin", "admin", vec![]).await;
    app.member("owner", "acme", "asker", "viewer", vec![]).await;
    app.create_role("owner", "acme", "remover", &["users.remove"])
        .await
        .expect("role created");
    app.member("owner", "acme", "remover", "remover", vec![]).await;
    let (invitation, _) = app.invited("acme", "x", "viewer").await;
    let request = app
        .request_access("asker", "acme", "lists.view", "")
        .await
        .expect("request filed");
    let mut client = app.client.clone();
    let before = app.table_counts().await;

    let refusals = [
        (
            "resend",
            client
                .resend_invitation(crate::support::resend("stranger", &invitation.id))
                .await
                .map(|_| ()),
        ),
        ("revoke", app.revoke("stranger", &invitation.id).await.map(|_| ())),
        (
            "update",
            client
                .update_invitation(pb::UpdateInvitationRequest {
                    actor_user_id: "stranger".into(),
                    invitation_id: invitation.id.clone(),
                    role: "viewer".into(),
                    ..Default::default()
                })
                .await
                .map(|_| ()),
        ),
        (
            "decide",
            app.decide("stranger", &request.id, true).await.map(|_| ()),
        ),
    ];
    for (case, result) in refusals {
        let status = expect_code(result, Code::NotFound);
        assert!(!status.message().contains("acme"), "{case}: {status:?}");
    }

    let status = assert_refused(
        app.deactivate("remover", "acme", "admin").await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    assert!(
        !status.message().contains("account.close") && !status.message().contains("billing"),
        "names nothing the target holds: {status:?}"
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
}

crate::on_both_databases!(
    reads_without_an_actor_show_no_personal_data,
    refusals_do_not_tell_strangers_about_people,
);
