//! Refusals a program can act on: the google.rpc.ErrorInfo metadata keys
//! documented beside each reason (docs/errors.md).

use std::collections::HashMap;
use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::support::{TestApp, assert_refused};

/// The ErrorInfo metadata of a refusal.
#[track_caller]
fn metadata(status: &Status) -> HashMap<String, String> {
    status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo: {status:?}"))
        .metadata
}

/// The value under `key`, which must be there.
#[track_caller]
fn value<'a>(metadata: &'a HashMap<String, String>, key: &str) -> &'a str {
    metadata
        .get(key)
        .unwrap_or_else(|| panic!("no '{key}' in {metadata:?}"))
}

/// A comma-separated list, sorted so order does not matter.
fn ids(list: &str) -> Vec<&str> {
    let mut ids: Vec<&str> = list.split(',').filter(|id| !id.is_empty()).collect();
    ids.sort_unstable();
    ids
}

/// MEMBER_LIMIT_REACHED and RESTRICTED_ROLE_LIMIT_REACHED carry `limit` and `current`.
async fn quota_refusals_carry_limit_and_current(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "des", "designer", vec![]).await;
    app.invited("acme", "vic", "viewer").await;
    app.set_limits("acme", Some(3), Some(1)).await.unwrap();

    let status = assert_refused(
        app.invite("owner", "acme", "new", "viewer", vec![]).await,
        Code::ResourceExhausted,
        "MEMBER_LIMIT_REACHED",
    );
    let info = metadata(&status);
    assert_eq!((value(&info, "limit"), value(&info, "current")), ("3", "3"));

    app.set_limits("acme", Some(10), Some(1)).await.unwrap();
    let status = assert_refused(
        app.invite("owner", "acme", "dev", "developer", vec![]).await,
        Code::ResourceExhausted,
        "RESTRICTED_ROLE_LIMIT_REACHED",
    );
    let info = metadata(&status);
    assert_eq!((value(&info, "limit"), value(&info, "current")), ("1", "1"));
}

/// LIMIT_BELOW_USAGE names the limit, the use, how many must go, and who
/// (members by user id, invitations by id; never the owner).
async fn limit_below_usage_names_whom_to_remove(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "des", "designer", vec![]).await;
    app.member("owner", "acme", "vic", "viewer", vec![]).await;
    let (dev, _) = app.invited("acme", "dev", "developer").await;

    let status = assert_refused(
        app.set_limits("acme", None, Some(1)).await,
        Code::FailedPrecondition,
        "LIMIT_BELOW_USAGE",
    );
    let info = metadata(&status);
    assert_eq!(value(&info, "limit_field"), "max_restricted_members");
    assert_eq!(
        (
            value(&info, "limit"),
            value(&info, "usage"),
            value(&info, "excess")
        ),
        ("1", "2", "1")
    );
    assert_eq!(ids(value(&info, "user_ids")), ["des"], "only restricted members");
    assert_eq!(ids(value(&info, "invitation_ids")), [dev.id.as_str()]);

    let status = assert_refused(
        app.set_limits("acme", Some(2), None).await,
        Code::FailedPrecondition,
        "LIMIT_BELOW_USAGE",
    );
    let info = metadata(&status);
    assert_eq!(value(&info, "limit_field"), "max_members");
    assert_eq!(
        (
            value(&info, "limit"),
            value(&info, "usage"),
            value(&info, "excess")
        ),
        ("2", "4", "2")
    );
    assert_eq!(
        ids(value(&info, "user_ids")),
        ["des", "vic"],
        "every member but the owner"
    );
    assert_eq!(ids(value(&info, "invitation_ids")), [dev.id.as_str()]);
}

/// PRIVILEGE_ESCALATION carries the `permission` the actor lacked (the first
/// by name) and all of them in `permissions`.
async fn escalation_refusals_name_the_permission(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "am", "account_manager", vec![]).await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;

    let status = assert_refused(
        app.invite("am", "acme", "new", "admin", vec![]).await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    let info = metadata(&status);
    let all = ids(value(&info, "permissions"));
    assert!(all.contains(&"account.close"), "{info:?}");
    assert_eq!(value(&info, "permission"), all[0], "the first by name");

    let close = app
        .request_access("viewer", "acme", "account.close", "")
        .await
        .expect("request");
    let status = assert_refused(
        app.decide("am", &close.id, true).await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    let info = metadata(&status);
    assert_eq!(
        (value(&info, "permission"), value(&info, "permissions")),
        ("account.close", "account.close")
    );
}

/// INVITATION_EXPIRED carries `expired_at` (RFC 3339), the invitation's expiry.
async fn an_expired_invitation_says_when(app: TestApp) {
    app.account("acme", "owner").await;
    let (invitation, token) = app.invited("acme", "bob", "viewer").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let status = assert_refused(
        app.accept(&token, "bob").await,
        Code::FailedPrecondition,
        "INVITATION_EXPIRED",
    );
    let info = metadata(&status);
    let expired_at = chrono::DateTime::parse_from_rfc3339(value(&info, "expired_at")).expect("RFC 3339");
    let expire_time = invitation.expire_time.expect("expire_time");
    assert_eq!(expired_at.timestamp(), expire_time.seconds);
}

crate::on_both_databases!(
    quota_refusals_carry_limit_and_current,
    limit_below_usage_names_whom_to_remove,
    escalation_refusals_name_the_permission,
);

crate::on_both_databases!(
    mod short_ttl, |config| config.invitation_ttl_secs = 1;
    an_expired_invitation_says_when,
);
