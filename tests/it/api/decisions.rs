//! Authorize, BatchAuthorize, GetEffectivePermissions: docs/domain.md rules 1–5 and the role table.

mod batch_authorize;

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::{List, Segment, Template};
use pb::DecisionReason as R;
use tonic::Code;

use crate::support::{TestApp, bad_fields, check, expect_code, reason, scope};

/// The whole permission catalogue of docs/domain.md, typed out again on purpose:
/// the test is the specification, independent of the code's own table.
const CATALOGUE: &[&str] = &[
    "account.view",
    "account.edit",
    "account.security",
    "account.export",
    "account.close",
    "account.transfer",
    "users.view",
    "users.invite",
    "users.edit",
    "users.remove",
    "billing.view",
    "billing.edit",
    "api_keys.manage",
    "integrations.manage",
    "monitoring.manage",
    "lists.view",
    "lists.edit",
    "lists.import",
    "lists.export",
    "contacts.view",
    "contacts.add",
    "contacts.edit",
    "contacts.delete",
    "segments.view",
    "segments.edit",
    "templates.view",
    "templates.edit",
    "templates.delete",
    "templates.publish",
    "templates.lock",
    "templates.labels",
    "templates.share",
    "campaigns.view",
    "campaigns.edit",
    "campaigns.send",
    "campaigns.pause",
    "campaigns.delete",
    "automations.view",
    "automations.edit",
    "transactional.view",
    "transactional.edit",
    "transactional.publish",
    "reports.view",
    "reports.subscriber",
    "reports.export",
    "conversations.view",
    "subaccounts.view",
    "subaccounts.manage",
    "suppressions.view",
    "suppressions.edit",
];

enum Expect {
    /// Everything except these.
    AllBut(&'static [&'static str]),
    /// Exactly these (account.view is added: every role has it).
    Only(&'static [&'static str]),
}

/// docs/domain.md "Built-in roles", one row per role.
const ROLE_TABLE: &[(&str, Expect)] = &[
    ("admin", Expect::AllBut(&["account.transfer"])),
    (
        "account_manager",
        Expect::AllBut(&["account.transfer", "account.close"]),
    ),
    (
        "manager",
        Expect::Only(&[
            "campaigns.view",
            "campaigns.edit",
            "campaigns.send",
            "campaigns.pause",
            "templates.view",
            "templates.edit",
            "lists.view",
            "lists.import",
            "contacts.view",
            "contacts.add",
            "contacts.edit",
            "segments.view",
            "segments.edit",
            "reports.view",
            "reports.subscriber",
            "automations.view",
        ]),
    ),
    (
        "author",
        Expect::Only(&[
            "campaigns.view",
            "campaigns.edit",
            "campaigns.delete",
            "templates.view",
            "templates.edit",
            "templates.delete",
            "automations.view",
            "automations.edit",
            "reports.view",
        ]),
    ),
    ("viewer", Expect::Only(&["reports.view", "campaigns.view"])),
    (
        "power_user",
        Expect::AllBut(&[
            "users.view",
            "users.invite",
            "users.edit",
            "users.remove",
            "account.close",
            "account.transfer",
        ]),
    ),
    ("accountant", Expect::Only(&["billing.view", "billing.edit"])),
    (
        "developer",
        Expect::Only(&[
            "api_keys.manage",
            "monitoring.manage",
            "transactional.view",
            "transactional.edit",
            "transactional.publish",
            "templates.lock",
        ]),
    ),
    (
        "marketer",
        Expect::Only(&[
            "lists.view",
            "lists.edit",
            "lists.import",
            "lists.export",
            "contacts.view",
            "contacts.add",
            "contacts.edit",
            "contacts.delete",
            "segments.view",
            "segments.edit",
            "campaigns.view",
            "campaigns.edit",
            "campaigns.send",
            "campaigns.pause",
            "campaigns.delete",
            "automations.view",
            "automations.edit",
            "transactional.view",
            "transactional.edit",
            "reports.view",
        ]),
    ),
    (
        "designer",
        Expect::Only(&[
            "templates.view",
            "templates.edit",
            "templates.lock",
            "transactional.view",
            "transactional.edit",
        ]),
    ),
    (
        "list_manager",
        Expect::Only(&[
            "lists.view",
            "lists.edit",
            "lists.import",
            "lists.export",
            "contacts.view",
            "contacts.add",
            "contacts.edit",
            "contacts.delete",
            "segments.view",
            "segments.edit",
        ]),
    ),
    (
        "collaborator",
        Expect::Only(&[
            "campaigns.view",
            "campaigns.edit",
            "templates.view",
            "templates.edit",
            "templates.delete",
            "reports.view",
        ]),
    ),
    (
        "watcher",
        Expect::Only(&[
            "reports.view",
            "reports.export",
            "contacts.view",
            "campaigns.view",
        ]),
    ),
];

fn expected(expect: &Expect, permission: &str) -> bool {
    match expect {
        Expect::AllBut(excluded) => !excluded.contains(&permission),
        Expect::Only(granted) => permission == "account.view" || granted.contains(&permission),
    }
}

/// Every built-in role × every permission, through BatchAuthorize on the real database.
async fn every_role_answers_every_permission_as_the_domain_table_says(app: TestApp) {
    app.account("acme", "owner").await;
    let mut client = app.client.clone();
    let ask_all = |user: &str| pb::BatchAuthorizeRequest {
        checks: CATALOGUE.iter().map(|p| check(user, "acme", p, None)).collect(),
        ..Default::default()
    };
    let owner = client
        .batch_authorize(ask_all("owner"))
        .await
        .unwrap()
        .into_inner();
    assert!(
        owner.results.iter().all(|r| r.allowed),
        "the owner may do everything"
    );
    for (role, expect) in ROLE_TABLE {
        let user = format!("user-{role}");
        app.member("owner", "acme", &user, role, vec![]).await;
        let answers = client
            .batch_authorize(ask_all(&user))
            .await
            .unwrap()
            .into_inner()
            .results;
        assert_eq!(answers.len(), CATALOGUE.len());
        for (permission, answer) in CATALOGUE.iter().zip(&answers) {
            assert_eq!(
                answer.allowed,
                expected(expect, permission),
                "{role} × {permission}"
            );
            let want = if answer.allowed {
                R::Allowed
            } else {
                R::PermissionNotGranted
            };
            assert_eq!(reason(answer), want, "{role} × {permission}");
            assert_eq!(answer.role, *role);
        }
    }
}

/// Rule 1: deny by default, with a reason, for strangers, unknown accounts and pending invitees.
async fn deny_by_default_with_a_reason(app: TestApp) {
    app.account("acme", "owner").await;
    let stranger = app.check("nobody", "acme", "account.view").await;
    assert_eq!((stranger.allowed, reason(&stranger)), (false, R::NotAMember));
    let unknown = app.check("owner", "no-such-account", "account.view").await;
    assert_eq!((unknown.allowed, reason(&unknown)), (false, R::AccountNotFound));
    app.invite("owner", "acme", "invitee", "admin", vec![])
        .await
        .unwrap();
    let pending = app.check("invitee", "acme", "account.view").await;
    assert_eq!(
        (pending.allowed, reason(&pending)),
        (false, R::NotAMember),
        "a pending invitation grants nothing"
    );
}

/// Rule 2: scoped list manager.
async fn scopes_restrict_only_the_scoped_type(app: TestApp) {
    app.account("acme", "owner").await;
    app.member(
        "owner",
        "acme",
        "lm",
        "list_manager",
        vec![scope(List, &["4", "9"])],
    )
    .await;
    assert!(
        app.check_on("lm", "acme", "lists.edit", (List, "4"))
            .await
            .allowed
    );
    assert!(
        app.check_on("lm", "acme", "lists.edit", (List, "9"))
            .await
            .allowed
    );
    let five = app.check_on("lm", "acme", "lists.edit", (List, "5")).await;
    assert_eq!((five.allowed, reason(&five)), (false, R::OutOfScope));
    assert!(
        app.check("lm", "acme", "lists.view").await.allowed,
        "list-level UI check without a resource"
    );
    assert!(
        app.check_on("lm", "acme", "segments.edit", (Segment, "5"))
            .await
            .allowed,
        "segments are not scoped"
    );
    let not_granted = app.check("lm", "acme", "campaigns.send").await;
    assert_eq!(reason(&not_granted), R::PermissionNotGranted);
}

/// Rule 3: two-factor policy.
async fn two_factor_policy_needs_a_verified_session(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    let mut client = app.client.clone();
    let denied = client
        .update_account_policy(pb::UpdateAccountPolicyRequest {
            actor_user_id: "viewer".into(),
            account_id: "acme".into(),
            require_two_factor: true,
        })
        .await;
    expect_code(denied, Code::PermissionDenied);
    let account = client
        .update_account_policy(pb::UpdateAccountPolicyRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            require_two_factor: true,
        })
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert!(account.require_two_factor);
    assert_eq!(app.activity_count("acme", "account.policy").await, 1);
    let without = app.check("viewer", "acme", "reports.view").await;
    assert_eq!((without.allowed, reason(&without)), (false, R::MfaRequired));
    let mut verified = check("viewer", "acme", "reports.view", None);
    verified.context = Some(pb::SessionContext { mfa_verified: true });
    assert!(app.check_request(verified).await.allowed);
    let stranger = app.check("nobody", "acme", "reports.view").await;
    assert_eq!(
        reason(&stranger),
        R::NotAMember,
        "strangers learn nothing about the policy"
    );
}

/// Rule 4: parent owners act as owners in children; other parent members do not.
async fn parent_owner_acts_as_owner_in_children(app: TestApp) {
    app.account("team", "boss").await;
    app.member("boss", "team", "parent-admin", "admin", vec![]).await;
    app.child_account("child", "child-owner", "team", "boss").await;
    let boss = app.check("boss", "child", "account.close").await;
    assert!(boss.allowed);
    assert_eq!(
        (boss.role.as_str(), boss.via_parent_account_id.as_str()),
        ("owner", "team")
    );
    let admin = app.check("parent-admin", "child", "campaigns.view").await;
    assert_eq!((admin.allowed, reason(&admin)), (false, R::NotAMember));
    app.member("child-owner", "child", "parent-admin", "viewer", vec![])
        .await;
    let as_viewer = app.check("parent-admin", "child", "campaigns.view").await;
    assert!(as_viewer.allowed);
    assert_eq!(
        as_viewer.role, "viewer",
        "through their own membership, not the parent's"
    );
    assert!(!app.check("parent-admin", "child", "campaigns.send").await.allowed);
}

/// Rule 5: shared templates are usable but read-only in children.
async fn shared_templates_are_read_only_in_children(app: TestApp) {
    app.account("team", "boss").await;
    app.child_account("child-a", "owner-a", "team", "boss").await;
    app.child_account("child-b", "owner-b", "team", "boss").await;
    let mut client = app.client.clone();
    client
        .share_template(pb::ShareTemplateRequest {
            actor_user_id: "boss".into(),
            account_id: "team".into(),
            template_id: "tpl-1".into(),
            child_account_ids: vec!["child-a".into()],
        })
        .await
        .unwrap();
    for permission in ["templates.view", "campaigns.edit"] {
        assert!(
            app.check_on("owner-a", "child-a", permission, (Template, "tpl-1"))
                .await
                .allowed,
            "{permission}"
        );
    }
    for permission in [
        "templates.edit",
        "templates.delete",
        "templates.publish",
        "templates.lock",
        "templates.labels",
    ] {
        let answer = app
            .check_on("owner-a", "child-a", permission, (Template, "tpl-1"))
            .await;
        assert_eq!(
            (answer.allowed, reason(&answer)),
            (false, R::SharedTemplateReadOnly),
            "{permission}"
        );
        let parent_owner = app
            .check_on("boss", "child-a", permission, (Template, "tpl-1"))
            .await;
        assert_eq!(
            reason(&parent_owner),
            R::SharedTemplateReadOnly,
            "even the parent owner, inside the child"
        );
    }
    assert!(
        app.check_on("boss", "team", "templates.edit", (Template, "tpl-1"))
            .await
            .allowed,
        "editable in the parent"
    );
    assert!(
        app.check_on("owner-b", "child-b", "templates.edit", (Template, "tpl-1"))
            .await
            .allowed,
        "not shared with child-b: the id is child-b's own template"
    );
    assert!(
        app.check_on("owner-a", "child-a", "templates.edit", (Template, "tpl-2"))
            .await
            .allowed
    );
}

async fn batch_answers_in_order_and_refuses_bad_batches(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    let mut client = app.client.clone();
    let answers = client
        .batch_authorize(pb::BatchAuthorizeRequest {
            checks: vec![
                check("viewer", "acme", "reports.view", None),
                check("viewer", "acme", "campaigns.send", None),
                check("owner", "acme", "campaigns.send", None),
                check("viewer", "other", "reports.view", None),
            ],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .results;
    let got: Vec<_> = answers.iter().map(|a| (a.allowed, reason(a))).collect();
    assert_eq!(
        got,
        [
            (true, R::Allowed),
            (false, R::PermissionNotGranted),
            (true, R::Allowed),
            (false, R::AccountNotFound)
        ]
    );
    let oversized = pb::BatchAuthorizeRequest {
        checks: (0..101)
            .map(|_| check("viewer", "acme", "reports.view", None))
            .collect(),
        ..Default::default()
    };
    let status = expect_code(client.batch_authorize(oversized).await, Code::InvalidArgument);
    assert_eq!(bad_fields(&status), ["checks"]);
    let empty = expect_code(
        client
            .batch_authorize(pb::BatchAuthorizeRequest {
                checks: vec![],
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&empty), ["checks"]);
    let bad_item = pb::BatchAuthorizeRequest {
        checks: vec![
            check("viewer", "acme", "reports.view", None),
            check("viewer", "acme", "reports.fly", None),
        ],
        ..Default::default()
    };
    let status = expect_code(client.batch_authorize(bad_item).await, Code::InvalidArgument);
    assert_eq!(bad_fields(&status), ["checks[1].permission"]);
}

async fn effective_permissions_list_grants_and_scopes(app: TestApp) {
    app.account("acme", "owner").await;
    app.member(
        "owner",
        "acme",
        "lm",
        "list_manager",
        vec![scope(List, &["9", "4"])],
    )
    .await;
    let mut client = app.client.clone();
    let effective = client
        .get_effective_permissions(pb::GetEffectivePermissionsRequest {
            user_id: "lm".into(),
            account_id: "acme".into(),
            context: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        pb::DecisionReason::try_from(effective.reason).unwrap(),
        R::Allowed
    );
    assert_eq!(effective.role, "list_manager");
    assert!(effective.permissions.contains(&"lists.export".to_owned()));
    assert!(!effective.permissions.contains(&"campaigns.view".to_owned()));
    assert_eq!(effective.scopes, vec![scope(List, &["4", "9"])]);
    let stranger = client
        .get_effective_permissions(pb::GetEffectivePermissionsRequest {
            user_id: "nobody".into(),
            account_id: "acme".into(),
            context: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        pb::DecisionReason::try_from(stranger.reason).unwrap(),
        R::NotAMember
    );
    assert!(stranger.permissions.is_empty());
}

async fn bad_checks_name_their_fields(app: TestApp) {
    let mut client = app.client.clone();
    let status = expect_code(
        client.authorize(check("", " ", "lists.fly", None)).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["user_id", "account_id", "permission"]);
    let mut no_type = check("u", "a", "lists.view", None);
    no_type.resource = Some(pb::Resource {
        r#type: 0,
        id: String::new(),
    });
    let status = expect_code(client.authorize(no_type).await, Code::InvalidArgument);
    assert_eq!(bad_fields(&status), ["resource.type", "resource.id"]);
    let status = expect_code(
        client
            .get_effective_permissions(pb::GetEffectivePermissionsRequest::default())
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["user_id", "account_id"]);
}

crate::on_both_databases!(
    every_role_answers_every_permission_as_the_domain_table_says,
    deny_by_default_with_a_reason,
    scopes_restrict_only_the_scoped_type,
    two_factor_policy_needs_a_verified_session,
    parent_owner_acts_as_owner_in_children,
    shared_templates_are_read_only_in_children,
    batch_answers_in_order_and_refuses_bad_batches,
    effective_permissions_list_grants_and_scopes,
    bad_checks_name_their_fields,
);
