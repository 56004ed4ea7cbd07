//! Rule 3 on admin calls: an account that requires two-factor holds the
//! actor of every management call to it, as Authorize holds a check. The
//! caller vouches for the actor's session with `x-actor-mfa-verified`. A
//! person acting on their own membership (LeaveAccount, RecordSignIn,
//! RequestAccess) is held the same way.

use access_service::grpc::pb;
use tonic::Code;

use crate::support::{TestApp, assert_refused_for, bad_fields, email, expect_code, leave, sign_in};

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

fn ask(user: &str, permission: &str) -> pb::RequestAccessRequest {
    pb::RequestAccessRequest {
        user_id: user.into(),
        account_id: "acme".into(),
        permission: permission.into(),
        note: String::new(),
    }
}

/// `acme`, owned by `owner` with an admin `adm` and a viewer `vee`, its
/// policy turned on (which needs no header while the policy is still off).
async fn guarded_account(app: &TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "adm", "admin", vec![]).await;
    app.member("owner", "acme", "vee", "viewer", vec![]).await;
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

/// A member acting on their own membership is held as every actor is:
/// without a verified session they can neither ask for access, record a
/// sign-in nor leave, refused as the other actor calls are, and nothing is
/// written (no activity entry, no sign-in time, no membership change).
async fn unverified_member_cannot_act_on_own_membership(app: TestApp) {
    guarded_account(&app).await;
    let mut client = app.client.clone();
    let digest = app.table_digests().await;
    let before = digest.read(&app).await;
    for mfa in [None, Some("false")] {
        let case = |rpc: &str| format!("{rpc} with {HEADER} {mfa:?}");
        assert_refused_for(
            client
                .request_access(session(ask("vee", "lists.edit"), mfa))
                .await,
            Code::PermissionDenied,
            "MFA_REQUIRED",
            case("request access"),
        );
        assert_refused_for(
            client.record_sign_in(session(sign_in("vee", "acme"), mfa)).await,
            Code::PermissionDenied,
            "MFA_REQUIRED",
            case("record sign-in"),
        );
        assert_refused_for(
            client.leave_account(session(leave("vee", "acme"), mfa)).await,
            Code::PermissionDenied,
            "MFA_REQUIRED",
            case("leave"),
        );
    }
    assert_eq!(digest.read(&app).await, before, "a refused member writes nothing");
}

/// The same three calls in a verified session: each works and logs its entry.
async fn verified_member_acts_on_own_membership(app: TestApp) {
    guarded_account(&app).await;
    let mut client = app.client.clone();
    let verified = Some("true");
    let asked = client
        .request_access(session(ask("vee", "lists.edit"), verified))
        .await
        .expect("a verified member asks for access")
        .into_inner()
        .access_request
        .expect("access request returned");
    assert_eq!(asked.user_id, "vee");
    client
        .record_sign_in(session(sign_in("vee", "acme"), verified))
        .await
        .expect("a verified member's sign-in is recorded");
    client
        .leave_account(session(leave("vee", "acme"), verified))
        .await
        .expect("a verified member leaves");
    for action in ["access_request.create", "member.sign_in", "member.leave"] {
        assert_eq!(app.activity_count("acme", action).await, 1, "{action}");
    }
    expect_code(
        client
            .record_sign_in(session(sign_in("vee", "acme"), verified))
            .await,
        Code::NotFound,
    );
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
    // Nor on one's own membership: the former owner, now an admin, signs
    // in and leaves; a viewer asks for access.
    client
        .record_sign_in(sign_in("owner", "acme"))
        .await
        .expect("a sign-in without the policy");
    client
        .leave_account(leave("owner", "acme"))
        .await
        .expect("leaving without the policy");
    app.member("adm", "acme", "vee", "viewer", vec![]).await;
    app.request_access("vee", "acme", "lists.edit", "")
        .await
        .expect("asking for access without the policy");
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
    // So too on one's own membership: a stranger is not a member (or no
    // member found), whatever their session; a malformed header is named.
    assert_refused_for(
        client
            .request_access(session(ask("nobody", "lists.edit"), None))
            .await,
        Code::PermissionDenied,
        "NOT_A_MEMBER",
        "stranger asks",
    );
    expect_code(
        client
            .record_sign_in(session(sign_in("nobody", "acme"), None))
            .await,
        Code::NotFound,
    );
    expect_code(
        client.leave_account(session(leave("nobody", "acme"), None)).await,
        Code::NotFound,
    );
    let malformed = [
        client
            .request_access(session(ask("vee", "lists.edit"), Some("yes")))
            .await
            .map(drop),
        client
            .record_sign_in(session(sign_in("vee", "acme"), Some("yes")))
            .await
            .map(drop),
        client
            .leave_account(session(leave("vee", "acme"), Some("yes")))
            .await
            .map(drop),
    ];
    for outcome in malformed {
        let status = expect_code(outcome, Code::InvalidArgument);
        assert_eq!(bad_fields(&status), vec![HEADER.to_owned()]);
    }
    assert_eq!(app.table_counts().await, before, "nothing written");
}

crate::on_both_databases!(
    unverified_actor_is_refused_and_nothing_written,
    verified_actor_may_manage,
    unverified_member_cannot_act_on_own_membership,
    verified_member_acts_on_own_membership,
    no_policy_needs_no_header,
    strangers_and_malformed_headers,
);
