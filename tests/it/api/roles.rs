//! ListRoles, CreateRole, UpdateRole, DeleteRole: custom roles, docs/domain.md rule 6 and the role table.

use std::collections::BTreeSet;

use access_service::grpc::pb;
use pb::DecisionReason as R;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::{
    TestApp, assert_refused, assert_refused_for, bad_fields, email, error_metadata, expect_code, reason,
};

/// The built-in roles in their documented order (docs/domain.md "Built-in roles").
const BUILTIN: [&str; 14] = [
    "owner",
    "admin",
    "account_manager",
    "manager",
    "author",
    "viewer",
    "power_user",
    "accountant",
    "developer",
    "marketer",
    "designer",
    "list_manager",
    "collaborator",
    "watcher",
];

fn update(actor: &str, account: &str, name: &str, permissions: &[&str]) -> pb::UpdateRoleRequest {
    pb::UpdateRoleRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        name: name.into(),
        description: String::new(),
        permissions: Some(pb::PermissionList {
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        }),
    }
}

fn delete(actor: &str, account: &str, name: &str) -> pb::DeleteRoleRequest {
    pb::DeleteRoleRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        name: name.into(),
    }
}

async fn roles(app: &TestApp, actor: &str, account: &str) -> Vec<pb::Role> {
    app.client
        .clone()
        .list_roles(pb::ListRolesRequest {
            actor_user_id: actor.into(),
            account_id: account.into(),
        })
        .await
        .expect("list roles")
        .into_inner()
        .roles
}

fn names(roles: &[pb::Role]) -> Vec<&str> {
    roles.iter().map(|role| role.name.as_str()).collect()
}

/// A role's permissions as a set: the order is checked on its own.
fn perms(role: &pb::Role) -> BTreeSet<&str> {
    role.permissions.iter().map(String::as_str).collect()
}

fn set_of<'a>(items: &[&'a str]) -> BTreeSet<&'a str> {
    items.iter().copied().collect()
}

/// ListRoles: the 14 built-ins in order with their permissions, then the account's custom roles.
async fn list_roles_shows_builtins_then_custom_roles(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    let mut client = app.client.clone();
    let listed = roles(&app, "viewer", "acme").await;
    assert_eq!(names(&listed), BUILTIN, "any member may list the roles");
    for role in &listed {
        assert!(role.builtin, "{}", role.name);
        assert_eq!(
            role.restricted,
            ["developer", "marketer", "designer"].contains(&role.name.as_str()),
            "restricted: {}",
            role.name
        );
        assert_eq!(
            perms(role).len(),
            role.permissions.len(),
            "no duplicates: {}",
            role.name
        );
        assert!(
            role.permissions.contains(&"account.view".to_owned()),
            "every role has account.view: {}",
            role.name
        );
    }
    let by_name = |name: &str| listed.iter().find(|role| role.name == name).unwrap();
    assert_eq!(
        perms(by_name("viewer")),
        set_of(&["account.view", "campaigns.view", "reports.view"])
    );
    assert_eq!(
        perms(by_name("accountant")),
        set_of(&["account.view", "billing.edit", "billing.view"])
    );
    assert!(
        by_name("owner")
            .permissions
            .contains(&"account.transfer".to_owned())
    );
    assert!(
        !by_name("admin")
            .permissions
            .contains(&"account.transfer".to_owned())
    );
    assert!(by_name("admin").permissions.contains(&"account.close".to_owned()));
    assert!(
        !by_name("account_manager")
            .permissions
            .contains(&"account.close".to_owned())
    );
    assert_eq!(
        by_name("admin").permissions.len() + 1,
        by_name("owner").permissions.len(),
        "admin: everything but account.transfer"
    );

    for (name, permissions) in [
        ("writer", &["campaigns.edit", "campaigns.view"][..]),
        ("auditor", &["reports.export"][..]),
    ] {
        app.create_role("owner", "acme", name, permissions)
            .await
            .expect("custom role created");
    }
    let listed = roles(&app, "viewer", "acme").await;
    assert_eq!(listed.len(), 16);
    assert_eq!(names(&listed[..14]), BUILTIN, "built-ins first");
    let mut custom: Vec<&pb::Role> = listed[14..].iter().collect();
    custom.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(custom[0].name, "auditor");
    assert_eq!(custom[0].description, "The auditor role");
    assert_eq!(perms(custom[0]), set_of(&["account.view", "reports.export"]));
    assert_eq!(custom[1].name, "writer");
    assert_eq!(
        perms(custom[1]),
        set_of(&["account.view", "campaigns.edit", "campaigns.view"])
    );
    for role in custom {
        assert!(!role.builtin, "{}", role.name);
        assert!(role.restricted, "custom roles are restricted: {}", role.name);
    }

    assert_refused(
        client
            .list_roles(pb::ListRolesRequest {
                actor_user_id: "stranger".into(),
                account_id: "acme".into(),
            })
            .await,
        Code::PermissionDenied,
        "NOT_A_MEMBER",
    );
}

/// A custom role grants exactly its permissions; changing it changes its members at once.
async fn custom_roles_drive_authorize_and_follow_updates(app: TestApp) {
    app.account("acme", "owner").await;
    let mut client = app.client.clone();
    let role = app
        .create_role("owner", "acme", "sender", &["campaigns.view", "campaigns.send"])
        .await
        .expect("created");
    assert_eq!(role.name, "sender");
    assert!(!role.builtin);
    assert!(role.restricted);
    assert_eq!(
        perms(&role),
        set_of(&["account.view", "campaigns.send", "campaigns.view"]),
        "sorted, account.view added"
    );
    assert_eq!(app.activity_count("acme", "role.create").await, 1);

    app.member("owner", "acme", "carl", "sender", vec![]).await;
    let send = app.check("carl", "acme", "campaigns.send").await;
    assert!(send.allowed);
    assert_eq!(send.role, "sender");
    assert!(app.check("carl", "acme", "account.view").await.allowed);
    let edit = app.check("carl", "acme", "campaigns.edit").await;
    assert_eq!((edit.allowed, reason(&edit)), (false, R::PermissionNotGranted));

    let updated = client
        .update_role(update(
            "owner",
            "acme",
            "sender",
            &["campaigns.view", "campaigns.send", "campaigns.edit"],
        ))
        .await
        .expect("updated")
        .into_inner()
        .role
        .unwrap();
    assert_eq!(
        perms(&updated),
        set_of(&[
            "account.view",
            "campaigns.edit",
            "campaigns.send",
            "campaigns.view"
        ])
    );
    assert_eq!(
        updated.description, "The sender role",
        "empty keeps the description"
    );
    assert!(
        app.check("carl", "acme", "campaigns.edit").await.allowed,
        "an added permission applies at once"
    );

    client
        .update_role(update(
            "owner",
            "acme",
            "sender",
            &["campaigns.view", "campaigns.edit"],
        ))
        .await
        .expect("updated again");
    let send = app.check("carl", "acme", "campaigns.send").await;
    assert_eq!(
        (send.allowed, reason(&send)),
        (false, R::PermissionNotGranted),
        "a removed permission is denied at once"
    );
    assert!(app.check("carl", "acme", "campaigns.edit").await.allowed);
    assert_eq!(app.activity_count("acme", "role.update").await, 2);

    let described = client
        .update_role(pb::UpdateRoleRequest {
            description: "Edits campaigns".into(),
            permissions: None,
            ..update("owner", "acme", "sender", &[])
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap();
    assert_eq!(described.description, "Edits campaigns");
    assert_eq!(
        perms(&described),
        set_of(&["account.view", "campaigns.edit", "campaigns.view"]),
        "no permission list keeps the permissions"
    );
}

/// Refusals: owner-only or unknown permissions, taken names, escalation, built-ins, unknown roles.
async fn role_changes_are_refused_when_not_allowed(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "am", "account_manager", vec![]).await;
    app.member("owner", "acme", "manager", "manager", vec![]).await;
    let mut client = app.client.clone();
    app.create_role("owner", "acme", "sender", &["campaigns.send"])
        .await
        .unwrap();
    let before = app.table_counts().await;

    // One condition, one status (docs/errors.md): as RequestAccess answers it.
    let status = assert_refused(
        app.create_role("owner", "acme", "heir", &["campaigns.view", "account.transfer"])
            .await,
        Code::FailedPrecondition,
        "OWNER_ONLY_PERMISSION",
    );
    assert_eq!(
        error_metadata(&status),
        ["field=permissions", "permission=account.transfer"]
    );
    let status = expect_code(
        app.create_role("owner", "acme", "odd", &["campaigns.launch"])
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["permissions[0]"]);
    let status = assert_refused(
        client
            .update_role(update("owner", "acme", "sender", &["account.transfer"]))
            .await,
        Code::FailedPrecondition,
        "OWNER_ONLY_PERMISSION",
    );
    assert_eq!(
        error_metadata(&status),
        ["field=permissions", "permission=account.transfer"]
    );

    for name in ["admin", "sender"] {
        assert_refused_for(
            app.create_role("owner", "acme", name, &["campaigns.view"]).await,
            Code::AlreadyExists,
            "ROLE_EXISTS",
            name,
        );
    }

    let status = assert_refused(
        app.create_role("am", "acme", "closer", &["account.close"]).await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    assert!(status.message().contains("account.close"), "{status:?}");
    assert_refused(
        client
            .update_role(update("am", "acme", "sender", &["account.close"]))
            .await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );

    assert_refused(
        app.create_role("manager", "acme", "mine", &["campaigns.view"])
            .await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    assert_refused(
        client
            .update_role(update("manager", "acme", "sender", &["campaigns.view"]))
            .await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    assert_refused(
        client.delete_role(delete("manager", "acme", "sender")).await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );

    assert_refused(
        client
            .update_role(update("owner", "acme", "admin", &["campaigns.view"]))
            .await,
        Code::FailedPrecondition,
        "BUILTIN_ROLE_IMMUTABLE",
    );
    assert_refused(
        client.delete_role(delete("owner", "acme", "viewer")).await,
        Code::FailedPrecondition,
        "BUILTIN_ROLE_IMMUTABLE",
    );

    expect_code(
        client
            .update_role(update("owner", "acme", "ghost", &["campaigns.view"]))
            .await,
        Code::NotFound,
    );
    expect_code(
        client.delete_role(delete("owner", "acme", "ghost")).await,
        Code::NotFound,
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    let listed = roles(&app, "owner", "acme").await;
    assert_eq!(listed.len(), 15, "only 'sender' was added");
    let sender = listed.iter().find(|role| role.name == "sender").unwrap();
    assert_eq!(perms(sender), set_of(&["account.view", "campaigns.send"]));
    let admin = listed.iter().find(|role| role.name == "admin").unwrap();
    assert!(!admin.permissions.contains(&"account.transfer".to_owned()));
    app.create_role("am", "acme", "helper", &["users.invite"])
        .await
        .expect("an account manager creates a role within their own permissions");
}

/// The API promises "sorted permission names" in every Role (ListRoles, CreateRole, UpdateRole).
async fn role_permissions_are_sorted_as_the_api_documents(app: TestApp) {
    app.account("acme", "owner").await;
    let created = app
        .create_role(
            "owner",
            "acme",
            "sender",
            &["campaigns.view", "campaigns.send", "billing.view"],
        )
        .await
        .unwrap();
    assert_eq!(
        created.permissions,
        ["account.view", "billing.view", "campaigns.send", "campaigns.view"]
    );
    for role in roles(&app, "owner", "acme").await {
        let mut sorted = role.permissions.clone();
        sorted.sort();
        assert_eq!(role.permissions, sorted, "sorted: {}", role.name);
    }
}

/// A custom role nobody ever used is deleted: gone from ListRoles and from invitations.
async fn an_unused_role_is_deleted(app: TestApp) {
    app.account("acme", "owner").await;
    let mut client = app.client.clone();
    app.create_role("owner", "acme", "sender", &["campaigns.send"])
        .await
        .unwrap();
    client
        .delete_role(delete("owner", "acme", "sender"))
        .await
        .expect("an unused custom role is deleted");
    assert_eq!(names(&roles(&app, "owner", "acme").await), BUILTIN);
    assert_eq!(app.activity_count("acme", "role.delete").await, 1);
    let status = expect_code(
        app.invite("owner", "acme", "erin", "sender", vec![]).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["role"]);
    app.create_role("owner", "acme", "sender", &["reports.view"])
        .await
        .expect("the name is free again");
}

/// A role in use by a member or a pending invitation cannot be deleted; the error names them.
async fn roles_in_use_cannot_be_deleted(app: TestApp) {
    app.account("acme", "owner").await;
    let mut client = app.client.clone();
    app.create_role("owner", "acme", "sender", &["campaigns.send"])
        .await
        .unwrap();
    app.member("owner", "acme", "carl", "sender", vec![]).await;
    let dora = app
        .invite("owner", "acme", "dora", "sender", vec![])
        .await
        .unwrap()
        .invitation
        .unwrap();
    let before = app.table_counts().await;

    let status = assert_refused(
        client.delete_role(delete("owner", "acme", "sender")).await,
        Code::FailedPrecondition,
        "ROLE_IN_USE",
    );
    for user in ["carl", "dora"] {
        assert!(
            status.message().contains(&email(user)),
            "names {user}: {status:?}"
        );
    }

    client
        .update_member(pb::UpdateMemberRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            user_id: "carl".into(),
            role: "viewer".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let status = assert_refused(
        client.delete_role(delete("owner", "acme", "sender")).await,
        Code::FailedPrecondition,
        "ROLE_IN_USE",
    );
    assert!(status.message().contains(&email("dora")), "{status:?}");
    assert!(
        !status.message().contains(&email("carl")),
        "carl no longer uses it: {status:?}"
    );
    client
        .revoke_invitation(pb::RevokeInvitationRequest {
            actor_user_id: "owner".into(),
            invitation_id: dora.id,
        })
        .await
        .unwrap();
    let mut expected = before.clone();
    *expected.get_mut("activity_log").unwrap() += 2;
    assert_eq!(
        app.table_counts().await,
        expected,
        "the refused deletions wrote nothing"
    );

    client
        .delete_role(delete("owner", "acme", "sender"))
        .await
        .expect("unused now");
    assert!(!names(&roles(&app, "owner", "acme").await).contains(&"sender"));
    assert_eq!(app.activity_count("acme", "role.delete").await, 1);
    let status = expect_code(
        app.invite("owner", "acme", "erin", "sender", vec![]).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["role"], "the role is gone");
    expect_code(
        client.delete_role(delete("owner", "acme", "sender")).await,
        Code::NotFound,
    );
}

/// Custom roles belong to one account: invisible and unusable in another.
async fn custom_roles_stay_in_their_account(app: TestApp) {
    app.account("acme", "owner").await;
    app.account("other", "other-owner").await;
    let mut client = app.client.clone();
    app.create_role("owner", "acme", "sender", &["campaigns.send"])
        .await
        .unwrap();
    assert!(names(&roles(&app, "owner", "acme").await).contains(&"sender"));
    assert_eq!(
        names(&roles(&app, "other-owner", "other").await),
        BUILTIN,
        "not visible in another account"
    );

    let before = app.table_counts().await;
    let status = expect_code(
        app.invite("other-owner", "other", "bob", "sender", vec![]).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["role"]);
    expect_code(
        client
            .update_role(update("other-owner", "other", "sender", &["campaigns.view"]))
            .await,
        Code::NotFound,
    );
    expect_code(
        client.delete_role(delete("other-owner", "other", "sender")).await,
        Code::NotFound,
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    app.create_role("other-owner", "other", "sender", &["reports.view"])
        .await
        .expect("the same name is free in another account");
    app.member("other-owner", "other", "bob", "sender", vec![]).await;
    assert!(app.check("bob", "other", "reports.view").await.allowed);
    assert!(
        !app.check("bob", "other", "campaigns.send").await.allowed,
        "other's 'sender', not acme's"
    );
}

/// One limit for a role name, one message: a name a little too long and one
/// of 10 KB hear the same limit (the width of the stored name), and a name
/// at the limit fits.
async fn a_role_name_has_one_limit(app: TestApp) {
    app.account("acme", "owner").await;
    let before = app.table_counts().await;
    let mut descriptions = BTreeSet::new();
    for length in [65, 100, 10 * 1024] {
        let status = expect_code(
            app.create_role("owner", "acme", &"r".repeat(length), &["campaigns.view"])
                .await,
            Code::InvalidArgument,
        );
        let bad = status.get_details_bad_request().expect("BadRequest");
        // (The helper derives the description from the name: only `name` matters here.)
        let name = bad.field_violations.iter().find(|v| v.field == "name");
        descriptions.insert(name.expect("name refused").description.clone());
    }
    assert_eq!(
        descriptions.into_iter().collect::<Vec<_>>(),
        ["must be at most 64 characters long"]
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    app.create_role("owner", "acme", &"r".repeat(64), &["campaigns.view"])
        .await
        .expect("64 characters fit");
}

crate::on_both_databases!(
    a_role_name_has_one_limit,
    list_roles_shows_builtins_then_custom_roles,
    custom_roles_drive_authorize_and_follow_updates,
    role_changes_are_refused_when_not_allowed,
    role_permissions_are_sorted_as_the_api_documents,
    an_unused_role_is_deleted,
    roles_in_use_cannot_be_deleted,
    custom_roles_stay_in_their_account,
);
