//! LookupAccounts, LookupResources and LookupMembers: each lists exactly
//! what Authorize allows (docs/domain.md rules 1–5), paged and complete.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::{Campaign, List, Template};
use pb::ResourceFilterKind as Kind;
use tonic::Code;

use crate::support::{
    TestApp, check, expect_code, lookup_accounts, lookup_members, lookup_resources, scope, share,
};

/// Turns on the two-factor policy of `account`, as its owner.
async fn require_two_factor(app: &TestApp, owner: &str, account: &str) {
    app.client
        .clone()
        .update_account_policy(pb::UpdateAccountPolicyRequest {
            actor_user_id: owner.into(),
            account_id: account.into(),
            require_two_factor: true,
        })
        .await
        .expect("policy set");
}

/// "lee" in accounts of every kind: a marketer of acme, a viewer of child-a,
/// a deactivated admin of globex, an admin of shut (closed), an admin of
/// secure (two-factor), a list manager of lists-co scoped to lists 4 and 9.
/// "boss" owns team, with children child-a and child-b.
async fn lee_everywhere(app: &TestApp) {
    app.team(&["a", "b"]).await;
    for (account, owner) in [
        ("acme", "olivia"),
        ("globex", "gary"),
        ("shut", "sam"),
        ("secure", "sue"),
        ("lists-co", "lou"),
    ] {
        app.account(account, owner).await;
    }
    app.member("olivia", "acme", "lee", "marketer", vec![]).await;
    app.member("owner-a", "child-a", "lee", "viewer", vec![]).await;
    app.member("gary", "globex", "lee", "admin", vec![]).await;
    app.deactivate("gary", "globex", "lee")
        .await
        .expect("deactivated");
    app.member("sam", "shut", "lee", "admin", vec![]).await;
    app.close("sam", "shut").await.expect("closed");
    app.member("sue", "secure", "lee", "admin", vec![]).await;
    require_two_factor(app, "sue", "secure").await;
    app.member(
        "lou",
        "lists-co",
        "lee",
        "list_manager",
        vec![scope(List, &["4", "9"])],
    )
    .await;
}

const ACCOUNTS: [&str; 8] = [
    "acme", "child-a", "child-b", "globex", "lists-co", "secure", "shut", "team",
];

fn ids(accounts: &[pb::AccountLookup]) -> Vec<&str> {
    accounts.iter().map(|a| a.account_id.as_str()).collect()
}

/// The accounts where Authorize allows `user` `permission`, in id order.
async fn allowed_accounts(app: &TestApp, user: &str, permission: &str, mfa: bool) -> Vec<String> {
    let mut allowed = Vec::new();
    for account in ACCOUNTS {
        let mut request = check(user, account, permission, None);
        request.context = Some(pb::SessionContext { mfa_verified: mfa });
        if app.check_request(request).await.allowed {
            allowed.push(account.to_owned());
        }
    }
    allowed
}

async fn accounts_are_those_authorize_allows(app: TestApp) {
    lee_everywhere(&app).await;
    for (user, permission) in [
        ("lee", "campaigns.send"),
        ("lee", "account.view"),
        ("lee", "lists.edit"),
        ("boss", "campaigns.send"),
        ("owner-a", "billing.view"),
        ("nobody", "account.view"),
    ] {
        for mfa in [false, true] {
            let mut request = lookup_accounts(user, permission, 1, "");
            request.context = Some(pb::SessionContext { mfa_verified: mfa });
            let found = app.all_accounts_where(request).await;
            assert_eq!(
                ids(&found),
                allowed_accounts(&app, user, permission, mfa).await,
                "{user} {permission} mfa={mfa}"
            );
            assert!(
                found
                    .iter()
                    .all(|a| !a.computed_at.is_empty() && !a.role.is_empty())
            );
        }
    }
    // Deactivated, closed and two-factor-gated accounts are left out, as
    // Authorize denies them; the session's two-factor is SessionContext.
    let found = app
        .all_accounts_where(lookup_accounts("lee", "account.view", 0, ""))
        .await;
    assert_eq!(ids(&found), ["acme", "child-a", "lists-co"]);
    let mut verified = lookup_accounts("lee", "account.view", 0, "");
    verified.context = Some(pb::SessionContext { mfa_verified: true });
    let found = app.all_accounts_where(verified).await;
    assert_eq!(ids(&found), ["acme", "child-a", "lists-co", "secure"]);
    // Children reached through owning their parent.
    let found = app
        .all_accounts_where(lookup_accounts("boss", "campaigns.send", 0, ""))
        .await;
    assert_eq!(ids(&found), ["child-a", "child-b", "team"]);
    assert_eq!(found[0].via_parent_account_id, "team");
    assert_eq!(found[0].role, "owner");
    assert_eq!(found[2].via_parent_account_id, "");
}

async fn accounts_carry_the_filter_of_the_type_asked(app: TestApp) {
    lee_everywhere(&app).await;
    let mut request = lookup_accounts("lee", "lists.edit", 0, "");
    request.resource_type = List.into();
    let found = app.all_accounts_where(request).await;
    assert_eq!(ids(&found), ["acme", "lists-co"]);
    let acme = found[0].resources.clone().expect("a filter");
    assert_eq!((acme.kind(), acme.resource_ids.len()), (Kind::All, 0));
    let scoped = found[1].resources.clone().expect("a filter");
    assert_eq!(scoped.kind(), Kind::Only);
    assert_eq!(scoped.resource_ids, ["4", "9"]);
    assert_eq!(found[1].role, "list_manager");
    // A type the permission never names is refused, as Authorize refuses it.
    let mut request = lookup_accounts("lee", "lists.edit", 0, "");
    request.resource_type = Campaign.into();
    let refused = app.client.clone().lookup_accounts(request).await;
    expect_code(refused, Code::InvalidArgument);
}

async fn resources_filter_as_authorize_judges_each(app: TestApp) {
    lee_everywhere(&app).await;
    let scoped = app
        .resource_filter(lookup_resources("lee", "lists-co", "lists.edit", List))
        .await;
    let filter = scoped.filter.clone().expect("a filter");
    assert_eq!(
        (filter.kind(), filter.resource_ids.clone()),
        (Kind::Only, vec!["4".into(), "9".into()])
    );
    assert_eq!(
        (scoped.reason(), scoped.role.as_str()),
        (pb::DecisionReason::Allowed, "list_manager")
    );
    assert!(!scoped.computed_at.is_empty());
    for id in ["4", "5", "9"] {
        let allowed = app
            .check_on("lee", "lists-co", "lists.edit", (List, id))
            .await
            .allowed;
        assert_eq!(allowed, filter.resource_ids.iter().any(|r| r == id), "list {id}");
    }
    let owner = app
        .resource_filter(lookup_resources("lou", "lists-co", "lists.edit", List))
        .await;
    assert_eq!(owner.filter.expect("a filter").kind(), Kind::All);
    let refused = app
        .resource_filter(lookup_resources("lee", "child-a", "campaigns.edit", Campaign))
        .await;
    assert_eq!(refused.filter.clone().expect("a filter").kind(), Kind::None);
    assert_eq!(refused.reason(), pb::DecisionReason::PermissionNotGranted);
    let gated = app
        .resource_filter(lookup_resources("lee", "secure", "lists.edit", List))
        .await;
    assert_eq!(gated.reason(), pb::DecisionReason::MfaRequired);
    assert_eq!(gated.filter.clone().expect("a filter").kind(), Kind::None);
}

/// Rule 5: a template shared from the parent is usable, not changeable.
async fn shared_templates_are_usable_not_changeable(app: TestApp) {
    app.team(&["a"]).await;
    app.client
        .clone()
        .share_template(share("boss", "team", "tpl-1", &[]))
        .await
        .expect("shared");
    for permission in ["templates.view", "campaigns.edit"] {
        let answer = app
            .resource_filter(lookup_resources("owner-a", "child-a", permission, Template))
            .await;
        let filter = answer.filter.expect("a filter");
        assert_eq!(filter.kind(), Kind::All, "{permission}");
        assert_eq!(filter.shared_ids, ["tpl-1"], "{permission}");
        assert!(filter.excluded_ids.is_empty(), "{permission}");
        assert!(
            app.check_on("owner-a", "child-a", permission, (Template, "tpl-1"))
                .await
                .allowed
        );
    }
    let answer = app
        .resource_filter(lookup_resources("owner-a", "child-a", "templates.edit", Template))
        .await;
    let filter = answer.filter.expect("a filter");
    assert_eq!(filter.kind(), Kind::All);
    assert_eq!(filter.excluded_ids, ["tpl-1"]);
    assert!(filter.shared_ids.is_empty());
    assert!(
        !app.check_on("owner-a", "child-a", "templates.edit", (Template, "tpl-1"))
            .await
            .allowed
    );
    assert!(
        app.check_on("owner-a", "child-a", "templates.edit", (Template, "own"))
            .await
            .allowed
    );
}

fn users(members: &[pb::MemberLookup]) -> Vec<&str> {
    members.iter().map(|m| m.user_id.as_str()).collect()
}

/// child-a of team (boss): its owner owner-a, admin ada, accountant acc,
/// viewer vic, a deactivated admin dee, a list manager lee scoped to list 4.
async fn child_people(app: &TestApp) {
    app.team(&["a"]).await;
    for (user, role, scopes) in [
        ("ada", "admin", vec![]),
        ("acc", "accountant", vec![]),
        ("vic", "viewer", vec![]),
        ("dee", "admin", vec![]),
        ("lee", "list_manager", vec![scope(List, &["4"])]),
    ] {
        app.member("owner-a", "child-a", user, role, scopes).await;
    }
    app.deactivate("owner-a", "child-a", "dee")
        .await
        .expect("deactivated");
}

async fn members_are_those_authorize_allows(app: TestApp) {
    child_people(&app).await;
    let everyone = ["acc", "ada", "boss", "dee", "lee", "nobody", "owner-a", "vic"];
    for (permission, resource) in [
        ("billing.view", None),
        ("lists.edit", Some((List, "4"))),
        ("lists.edit", Some((List, "5"))),
        ("lists.edit", None),
        ("account.transfer", None),
    ] {
        let found = app
            .all_members_who(lookup_members("child-a", permission, resource, 1, ""))
            .await;
        let mut allowed = Vec::new();
        for user in everyone {
            let mut request = check(user, "child-a", permission, resource);
            request.context = Some(pb::SessionContext { mfa_verified: true });
            if app.check_request(request).await.allowed {
                allowed.push(user);
            }
        }
        assert_eq!(users(&found), allowed, "{permission} on {resource:?}");
    }
    let found = app
        .all_members_who(lookup_members("child-a", "billing.view", None, 0, ""))
        .await;
    assert_eq!(users(&found), ["acc", "ada", "boss", "owner-a"]);
    let boss = &found[2];
    assert_eq!(
        (boss.role.as_str(), boss.via_parent_account_id.as_str()),
        ("owner", "team")
    );
    assert_eq!(found[0].role, "accountant");
    let page = app
        .client
        .clone()
        .lookup_members(lookup_members("child-a", "billing.view", None, 2, ""))
        .await
        .expect("answers")
        .into_inner();
    assert_eq!(users(&page.members), ["acc", "ada"]);
    assert!(!page.next_page_token.is_empty() && !page.computed_at.is_empty());
}

async fn members_of_closed_or_unknown_accounts(app: TestApp) {
    child_people(&app).await;
    app.close("owner-a", "child-a").await.expect("closed");
    let found = app
        .all_members_who(lookup_members("child-a", "account.view", None, 0, ""))
        .await;
    assert!(found.is_empty(), "a closed account lists no one: {found:?}");
    let unknown = app
        .client
        .clone()
        .lookup_members(lookup_members("nope", "account.view", None, 0, ""))
        .await;
    expect_code(unknown, Code::NotFound);
}

/// A page judges a bounded window of candidates: where the window allows
/// none, the page is empty and still not the last, and the walk goes on.
async fn a_short_page_is_not_the_last(app: TestApp) {
    app.team(&["a"]).await;
    for i in 0..10 {
        app.member("owner-a", "child-a", &format!("a{i}"), "viewer", vec![])
            .await;
    }
    let first = app
        .client
        .clone()
        .lookup_members(lookup_members("child-a", "account.transfer", None, 1, ""))
        .await
        .expect("answers")
        .into_inner();
    assert!(first.members.is_empty(), "{first:?}");
    assert!(!first.next_page_token.is_empty(), "an empty page is not the last");
    let all = app
        .all_members_who(lookup_members("child-a", "account.transfer", None, 1, ""))
        .await;
    assert_eq!(users(&all), ["boss", "owner-a"]);
}

crate::on_both_databases!(
    a_short_page_is_not_the_last,
    accounts_are_those_authorize_allows,
    accounts_carry_the_filter_of_the_type_asked,
    resources_filter_as_authorize_judges_each,
    shared_templates_are_usable_not_changeable,
    members_are_those_authorize_allows,
    members_of_closed_or_unknown_accounts,
);
