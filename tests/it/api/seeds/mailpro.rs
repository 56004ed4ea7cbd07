//! Mailpro's multi-user account, replayed as one story over gRPC.

use access_service::grpc::pb;
use pb::DecisionReason as R;
use tonic::Code;

use super::{accounts_of, assert_allowed, assert_not_granted, can, row};
use crate::support::{TestApp, assert_refused, assert_refused_for, list_users, reason};

/// Mailpro: the master account (owner) and an account manager; sub-users with limited
/// access; extra permissions approved or rejected; staff turnover; only the master
/// account closes the account.
pub(super) async fn mailpro_multi_user_account(app: TestApp) {
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

crate::on_both_databases!(mailpro_multi_user_account);
