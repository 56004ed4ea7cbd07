//! dotdigital's users and teams, replayed as one story over gRPC.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::Template;
use pb::DecisionReason as R;
use tonic::Code;

use super::{assert_not_granted, owned, row, switchable};
use crate::support::{TestApp, assert_refused, list_users, person, reason, share, template_ids};

/// dotdigital: a parent account with child accounts; the parent owner works in every
/// child, managed users only where they were given access; templates shared down
/// (read-only in the children), never up or sideways; changing a child's owner.
pub(super) async fn dotdigital_users_and_teams(app: TestApp) {
    let mut client = app.client.clone();
    app.account("dd", "dd-owner").await;
    app.member("dd-owner", "dd", "dd-user", "admin", vec![]).await;
    app.member("dd-owner", "dd", "dd-viewer", "viewer", vec![]).await;
    app.child_account("dd-brand-a", "brand-a-owner", "dd", "dd-owner")
        .await;
    app.child_account("dd-brand-b", "brand-b-owner", "dd", "dd-owner")
        .await;
    assert_eq!(app.get_account("dd-brand-a").await.parent_account_id, "dd");
    assert_refused(
        client
            .create_account(pb::CreateAccountRequest {
                account_id: "dd-rogue".into(),
                name: "Rogue".into(),
                owner: Some(person("dd-viewer")),
                parent_account_id: "dd".into(),
                actor_user_id: "dd-viewer".into(),
            })
            .await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    assert_refused(
        client
            .create_account(pb::CreateAccountRequest {
                account_id: "dd-grandchild".into(),
                name: "Too deep".into(),
                owner: Some(person("dd-owner")),
                parent_account_id: "dd-brand-a".into(),
                actor_user_id: "dd-owner".into(),
            })
            .await,
        Code::FailedPrecondition,
        "NESTED_CHILD_ACCOUNT",
    );

    // The parent owner logs into any child as its owner.
    for child in ["dd-brand-a", "dd-brand-b"] {
        let answer = app.check("dd-owner", child, "users.invite").await;
        assert!(answer.allowed, "{child}");
        assert_eq!(
            (answer.role.as_str(), answer.via_parent_account_id.as_str()),
            ("owner", "dd")
        );
    }
    assert_eq!(
        switchable(&app, "dd-owner").await,
        owned(&[
            ("dd", "owner", ""),
            ("dd-brand-a", "owner", "dd"),
            ("dd-brand-b", "owner", "dd"),
        ])
    );
    // A managed user of the parent reaches a child only once given access there.
    let outside = app.check("dd-user", "dd-brand-a", "campaigns.view").await;
    assert_eq!((outside.allowed, reason(&outside)), (false, R::NotAMember));
    app.member("dd-owner", "dd-brand-a", "dd-user", "manager", vec![])
        .await;
    let inside = app.check("dd-user", "dd-brand-a", "campaigns.send").await;
    assert!(inside.allowed);
    assert_eq!(
        (inside.role.as_str(), inside.via_parent_account_id.as_str()),
        ("manager", "")
    );
    assert_not_granted(&app, "dd-user", &["dd-brand-a"], &["users.invite"]).await;
    let still_outside = app.check("dd-user", "dd-brand-b", "campaigns.view").await;
    assert_eq!(reason(&still_outside), R::NotAMember);
    assert_eq!(
        switchable(&app, "dd-user").await,
        owned(&[("dd", "admin", ""), ("dd-brand-a", "manager", "")])
    );

    // Templates: shared from the parent down to every child, usable but read-only there.
    let shared = client
        .share_template(share("dd-owner", "dd", "newsletter", &[]))
        .await
        .expect("share with all children")
        .into_inner()
        .shared_template
        .unwrap();
    assert!(shared.all_children);
    app.child_account("dd-brand-c", "brand-c-owner", "dd", "dd-owner")
        .await;
    let owners_may_not: &[&str] = &["templates.edit", "templates.delete"];
    // A manager holds templates.edit but never templates.delete.
    let manager_may_not: &[&str] = &["templates.edit"];
    for (user, child, read_only) in [
        ("brand-a-owner", "dd-brand-a", owners_may_not),
        ("dd-user", "dd-brand-a", manager_may_not),
        ("brand-b-owner", "dd-brand-b", owners_may_not),
        ("brand-c-owner", "dd-brand-c", owners_may_not),
    ] {
        for permission in ["templates.view", "campaigns.edit"] {
            assert!(
                app.check_on(user, child, permission, (Template, "newsletter"))
                    .await
                    .allowed,
                "{user} may {permission} with the shared template in {child}"
            );
        }
        for permission in read_only {
            let answer = app
                .check_on(user, child, permission, (Template, "newsletter"))
                .await;
            assert_eq!(
                (answer.allowed, reason(&answer)),
                (false, R::SharedTemplateReadOnly),
                "{user} may not {permission} the shared template in {child}"
            );
        }
        assert_eq!(
            template_ids(&app.shared_templates(user, child).await),
            ["newsletter"]
        );
    }
    assert!(
        app.check_on("dd-owner", "dd", "templates.edit", (Template, "newsletter"))
            .await
            .allowed,
        "the parent edits its own template"
    );

    // Never up from a child, never sideways to another team.
    app.account("other", "other-owner").await;
    app.child_account("other-kid", "other-kid-owner", "other", "other-owner")
        .await;
    assert_refused(
        client
            .share_template(share("brand-a-owner", "dd-brand-a", "promo", &[]))
            .await,
        Code::FailedPrecondition,
        "SHARE_NOT_FROM_PARENT",
    );
    assert_refused(
        client
            .share_template(share("dd-owner", "dd", "promo", &["other-kid"]))
            .await,
        Code::FailedPrecondition,
        "NOT_A_CHILD_ACCOUNT",
    );
    assert!(
        app.shared_templates("other-kid-owner", "other-kid")
            .await
            .is_empty()
    );

    // Unsharing removes it from every child.
    client
        .unshare_template(pb::UnshareTemplateRequest {
            actor_user_id: "dd-owner".into(),
            account_id: "dd".into(),
            template_id: "newsletter".into(),
        })
        .await
        .expect("unshare");
    for (user, child) in [("brand-a-owner", "dd-brand-a"), ("brand-c-owner", "dd-brand-c")] {
        assert!(app.shared_templates(user, child).await.is_empty());
        assert!(
            app.check_on(user, child, "templates.edit", (Template, "newsletter"))
                .await
                .allowed,
            "no longer a read-only shared template in {child}"
        );
    }

    // Change the owner of a child account, from the parent's Users and teams area.
    app.member("brand-a-owner", "dd-brand-a", "brand-a-admin", "admin", vec![])
        .await;
    let account = app
        .transfer("dd-owner", "dd-brand-a", "brand-a-admin")
        .await
        .expect("the parent owner changes the child's owner");
    assert_eq!(account.owner.unwrap().user_id, "brand-a-admin");
    assert_eq!(
        app.get_account("dd-brand-a").await.owner.unwrap().user_id,
        "brand-a-admin"
    );
    let rows = app.users(list_users("brand-a-admin", "dd-brand-a")).await;
    assert_eq!(rows[0].user_id, "brand-a-admin");
    assert_eq!(row(&rows, "brand-a-owner").role, "admin");
    assert_not_granted(&app, "brand-a-owner", &["dd-brand-a"], &["account.transfer"]).await;
    let parent = app.check("dd-owner", "dd-brand-a", "account.transfer").await;
    assert!(parent.allowed, "the parent owner still acts as owner");
    assert_eq!(parent.via_parent_account_id, "dd");
}

crate::on_both_databases!(dotdigital_users_and_teams);
