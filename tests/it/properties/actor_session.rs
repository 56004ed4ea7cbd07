//! Rule 3 on admin calls: an account that requires two-factor holds the
//! actor of every management call to it, as Authorize holds a check. The
//! caller vouches for the actor's session with `x-actor-mfa-verified`.

use access_service::grpc::pb;
use tonic::Code;

use crate::support::{TestApp, assert_refused_for, bad_fields, email, expect_code};

const HEADER: &str = "x-actor-mfa-verified";

/// `message` sent with the actor's session vouched as `mfa` (no header when `None`).
fn session<T>(message: T, mfa: Option<&'static str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(value) = mfa {
        request
            .metadata_mut()
            .insert(HEADER, value.parse().expect("an ASCII value"));
    }
    request
}

fn policy(actor: &str, on: bool) -> pb::UpdateAccountPolicyRequest {
    pb::UpdateAccountPolicyRequest {
        actor_user_id: actor.into(),
        account_id: "acme".into(),
        require_two_factor: on,
    }
}

fn invite(actor: &str, user: &str) -> pb::InviteRequest {
    pb::InviteRequest {
        actor_user_id: actor.into(),
        account_id: "acme".into(),
        email: email(user),
        role: "viewer".into(),
        ..Default::default()
    }
}

fn transfer(actor: &str, new_owner: &str) -> pb::TransferOwnershipRequest {
    pb::TransferOwnershipRequest {
        actor_user_id: actor.into(),
        account_id: "acme".into(),
        new_owner_user_id: new_owner.into(),
    }
}

/// `acme`, owned by `owner` with an admin `adm`, its policy turned on (which
/// needs no header while the policy is still off).
async fn guarded_account(app: &TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "adm", "admin", vec![]).await;
    let account = app
        .client
        .clone()
        .update_account_policy(session(policy("owner", true), None))
        .await
        .expect("turning the policy on needs no two-factor while it is off")
        .into_inner()
        .account
        .expect("account returned");
    assert!(account.require_two_factor);
}

/// With the policy on, a session that has not passed two-factor can neither
/// turn it off, invite nor transfer ownership, and nothing is written.
async fn unverified_actor_is_refused_and_nothing_written(app: TestApp) {
    guarded_account(&app).await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;
    for mfa in [None, Some("false")] {
        let case = |rpc: &str| format!("{rpc} with {HEADER} {mfa:?}");
        assert_refused_for(
            client
                .update_account_policy(session(policy("owner", false), mfa))
                .await,
            Code::PermissionDenied,
            "MFA_REQUIRED",
            case("policy off"),
        );
        assert_refused_for(
            client.invite(session(invite("owner", "newbie"), mfa)).await,
            Code::PermissionDenied,
            "MFA_REQUIRED",
            case("invite"),
        );
        assert_refused_for(
            client
                .transfer_ownership(session(transfer("owner", "adm"), mfa))
                .await,
            Code::PermissionDenied,
            "MFA_REQUIRED",
            case("transfer"),
        );
        assert_refused_for(
            client
                .list_users(session(crate::support::list_users("adm", "acme"), mfa))
                .await,
            Code::PermissionDenied,
            "MFA_REQUIRED",
            case("list users"),
        );
    }
    assert_eq!(app.table_counts().await, before, "a refused actor writes nothing");
    assert!(
        app.get_account("acme").await.require_two_factor,
        "the policy stays on"
    );
}

/// The same calls with the header: invite, transfer, then the new owner
/// turns the policy off.
async fn verified_actor_may_manage(app: TestApp) {
    guarded_account(&app).await;
    let mut client = app.client.clone();
    let verified = Some("true");
    let invited = client
        .invite(session(invite("owner", "newbie"), verified))
        .await
        .expect("a verified actor invites")
        .into_inner();
    assert!(!invited.token.is_empty());
    let account = client
        .transfer_ownership(session(transfer("owner", "adm"), verified))
        .await
        .expect("a verified actor transfers ownership")
        .into_inner()
        .account
        .expect("account returned");
    assert_eq!(account.owner.expect("owner").user_id, "adm");
    let account = client
        .update_account_policy(session(policy("adm", false), verified))
        .await
        .expect("a verified owner turns the policy off")
        .into_inner()
        .account
        .expect("account returned");
    assert!(!account.require_two_factor);
    assert_eq!(app.activity_count("acme", "account.policy").await, 2);
    // Off again, no header is needed any more.
    app.invite("adm", "acme", "later", "viewer", vec![])
        .await
        .expect("no policy, no header needed");
}

/// Without the policy no header is needed: the accounts of every other test.
async fn no_policy_needs_no_header(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "adm", "admin", vec![]).await;
    let mut client = app.client.clone();
    client
        .invite(session(invite("owner", "newbie"), Some("false")))
        .await
        .expect("an unverified session is fine without the policy");
    app.transfer("owner", "acme", "adm")
        .await
        .expect("no header needed without the policy");
}

/// A stranger learns nothing about the policy (NOT_A_MEMBER, not
/// MFA_REQUIRED), and a header that is neither `true` nor `false` is named.
async fn strangers_and_malformed_headers(app: TestApp) {
    guarded_account(&app).await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;
    assert_refused_for(
        client.invite(session(invite("nobody", "newbie"), None)).await,
        Code::PermissionDenied,
        "NOT_A_MEMBER",
        "stranger",
    );
    let status = expect_code(
        client
            .invite(session(invite("owner", "newbie"), Some("yes")))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), vec![HEADER.to_owned()]);
    assert_eq!(app.table_counts().await, before, "nothing written");
}

crate::on_both_databases!(
    unverified_actor_is_refused_and_nothing_written,
    verified_actor_may_manage,
    no_policy_needs_no_header,
    strangers_and_malformed_headers,
);
