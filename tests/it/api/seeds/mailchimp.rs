//! Mailchimp's user levels, replayed as one story over gRPC.

use access_service::grpc::pb;
use pb::DecisionReason as R;
use tonic::Code;

use super::{assert_allowed, assert_not_granted, can, row};
use crate::support::{TestApp, assert_refused, email, expect_code, list_users, reason};

/// Mailchimp: owner, admin, manager, author, viewer; changing levels; ownership
/// transfer to an admin; leaving an account; admins removed only by someone else.
pub(super) async fn mailchimp_user_levels(app: TestApp) {
    app.account("mc", "mc-owner").await;
    let mut client = app.client.clone();
    let invitation = client
        .invite(pb::InviteRequest {
            actor_user_id: "mc-owner".into(),
            account_id: "mc".into(),
            email: email("mc-admin"),
            role: "admin".into(),
            message: "You run the newsletter now".into(),
            ..Default::default()
        })
        .await
        .expect("invite an admin with a message")
        .into_inner();
    assert_eq!(
        invitation.invitation.as_ref().unwrap().message,
        "You run the newsletter now"
    );
    app.accept(&invitation.token, "mc-admin")
        .await
        .expect("admin accepts");
    // An admin invites the others.
    for (user, role) in [
        ("mc-admin2", "admin"),
        ("mc-manager", "manager"),
        ("mc-author", "author"),
        ("mc-viewer", "viewer"),
    ] {
        app.member("mc-admin", "mc", user, role, vec![]).await;
    }

    assert_allowed(
        &app,
        "mc-manager",
        &["mc"],
        &[
            "campaigns.edit",
            "campaigns.send",
            "campaigns.pause",
            "lists.import",
            "reports.view",
            "reports.subscriber",
        ],
    )
    .await;
    assert_not_granted(
        &app,
        "mc-manager",
        &["mc"],
        &[
            "lists.export",
            "billing.view",
            "account.close",
            "users.invite",
            "campaigns.delete",
        ],
    )
    .await;
    expect_code(
        app.invite("mc-manager", "mc", "intern", "viewer", vec![]).await,
        Code::PermissionDenied,
    );
    assert_allowed(
        &app,
        "mc-author",
        &["mc"],
        &[
            "campaigns.edit",
            "campaigns.delete",
            "templates.edit",
            "templates.delete",
            "automations.edit",
            "reports.view",
        ],
    )
    .await;
    assert_not_granted(
        &app,
        "mc-author",
        &["mc"],
        &["campaigns.send", "campaigns.pause", "lists.view"],
    )
    .await;
    let viewer = client
        .get_effective_permissions(pb::GetEffectivePermissionsRequest {
            user_id: "mc-viewer".into(),
            account_id: "mc".into(),
            context: None,
            ..Default::default()
        })
        .await
        .expect("effective permissions")
        .into_inner();
    assert_eq!(
        viewer.permissions,
        ["account.view", "campaigns.view", "reports.view"],
        "a viewer views reports (and the campaigns they report on)"
    );
    assert_allowed(
        &app,
        "mc-admin",
        &["mc"],
        &[
            "account.close",
            "users.invite",
            "users.remove",
            "billing.edit",
            "account.security",
            "account.export",
            "lists.export",
        ],
    )
    .await;
    assert_not_granted(&app, "mc-admin", &["mc"], &["account.transfer"]).await;

    // "Change account access": an admin changes a user's level.
    let promoted = app
        .update_member_role("mc-admin", "mc", "mc-author", "manager")
        .await
        .expect("admin changes author to manager");
    assert_eq!(promoted.role, "manager");
    assert!(can(&app, "mc-author", "mc", "campaigns.send").await);
    assert_refused(
        app.update_member_role("mc-manager", "mc", "mc-viewer", "author")
            .await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );

    // Ownership goes only to an admin; the previous owner becomes an admin.
    assert_refused(
        app.transfer("mc-owner", "mc", "mc-manager").await,
        Code::FailedPrecondition,
        "TRANSFER_TARGET_NOT_ADMIN",
    );
    expect_code(
        app.transfer("mc-admin2", "mc", "mc-admin").await,
        Code::PermissionDenied,
    );
    let account = app
        .transfer("mc-owner", "mc", "mc-admin")
        .await
        .expect("owner transfers to an admin");
    assert_eq!(account.owner.unwrap().user_id, "mc-admin");
    let rows = app.users(list_users("mc-admin", "mc")).await;
    assert_eq!(rows[0].user_id, "mc-admin", "the new owner is listed first");
    assert!(rows[0].is_owner);
    assert_eq!(rows[0].role, "owner");
    let old = row(&rows, "mc-owner");
    assert_eq!((old.role.as_str(), old.is_owner), ("admin", false));
    assert!(can(&app, "mc-admin", "mc", "account.transfer").await);
    assert_not_granted(&app, "mc-owner", &["mc"], &["account.transfer"]).await;
    assert!(
        can(&app, "mc-owner", "mc", "account.close").await,
        "admins still close"
    );
    assert_eq!(app.activity_count("mc", "account.transfer").await, 1);

    // "User disables access": a user leaves; the owner cannot.
    client
        .leave_account(pb::LeaveAccountRequest {
            user_id: "mc-viewer".into(),
            account_id: "mc".into(),
        })
        .await
        .expect("the viewer leaves");
    let gone = app.check("mc-viewer", "mc", "reports.view").await;
    assert_eq!((gone.allowed, reason(&gone)), (false, R::NotAMember));
    assert_refused(
        client
            .leave_account(pb::LeaveAccountRequest {
                user_id: "mc-admin".into(),
                account_id: "mc".into(),
            })
            .await,
        Code::FailedPrecondition,
        "OWNER_CANNOT_LEAVE",
    );

    // An admin cannot revoke their own access: another admin does it.
    assert_refused(
        app.remove("mc-admin2", "mc", "mc-admin2").await,
        Code::FailedPrecondition,
        "CANNOT_ACT_ON_SELF",
    );
    app.remove("mc-owner", "mc", "mc-admin2")
        .await
        .expect("another admin revokes their access");
    let removed = app.check("mc-admin2", "mc", "account.view").await;
    assert_eq!(reason(&removed), R::NotAMember);
    assert_refused(
        app.remove("mc-owner", "mc", "mc-admin").await,
        Code::FailedPrecondition,
        "OWNER_PROTECTED",
    );

    // Admins can close the account.
    let closed = app.close("mc-owner", "mc").await.expect("an admin closes");
    assert_eq!(closed.state(), pb::AccountState::Closed);
    let after = app.check("mc-admin", "mc", "reports.view").await;
    assert_eq!((after.allowed, reason(&after)), (false, R::AccountClosed));
}

crate::on_both_databases!(mailchimp_user_levels);
