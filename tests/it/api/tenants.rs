//! Callers bound to tenants (docs/operations.md, "Keys bound to tenants"):
//! what a key bound to a team or to one account reaches, what ListAccounts
//! shows it, the deprecated `admin` scope, and entries that stop start-up.
//! The refusals of every RPC reaching outside are in the abuse catalogue
//! (`properties/abuse/tenants.rs`).

use access_service::grpc::middleware::ApiKeys;
use access_service::grpc::pb;
use access_service::{App, Config};
use tonic::Code;

use crate::support::{
    CHILD_KEY, OTHER_TENANT_KEY, TEAM_KEY, TestApp, WEB_KEY, assert_refused, check, create_account,
    create_child, list_accounts, list_users, person,
};

/// The refusal of an account outside the caller's tenants.
const OUTSIDE: &str = "OUTSIDE_CALLER_TENANTS";

fn invite(actor: &str, account: &str, user: &str) -> pb::InviteRequest {
    pb::InviteRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        email: crate::support::email(user),
        role: "viewer".into(),
        ..Default::default()
    }
}

/// A key bound to a team serves its root and every child, present and
/// future, for checks, reads and writes; nothing else.
async fn a_team_key_reaches_the_team_and_its_children(app: TestApp) {
    app.team(&["a", "b"]).await;
    app.account("acme", "owner").await;
    let keyed = app.replica_with(crate::support::keys).await;
    let team = keyed.client_with_key(TEAM_KEY);
    for (user, account) in [("boss", "team"), ("owner-a", "child-a"), ("boss", "child-b")] {
        let answer = team
            .clone()
            .authorize(check(user, account, "account.view", None))
            .await
            .unwrap_or_else(|status| panic!("{account}: {status:?}"))
            .into_inner();
        assert!(answer.allowed, "{account}: {answer:?}");
    }
    assert_refused(
        team.clone()
            .authorize(check("owner", "acme", "account.view", None))
            .await,
        Code::PermissionDenied,
        OUTSIDE,
    );
    // A child created later is the team's too.
    team.clone()
        .create_account(create_child("child-new", "owner-new", "team", "boss"))
        .await
        .expect("a child of its team");
    assert!(
        team.clone()
            .authorize(check("owner-new", "child-new", "account.view", None))
            .await
            .expect("the new child is served")
            .into_inner()
            .allowed
    );
    assert_refused(
        team.clone()
            .create_account(create_account("root-new", person("x")))
            .await,
        Code::PermissionDenied,
        OUTSIDE,
    );
    // Writes and reads in a child, the invitation answered through the same key.
    let token = team
        .clone()
        .invite(invite("owner-a", "child-a", "newbie"))
        .await
        .expect("invites in a child of its team")
        .into_inner()
        .token;
    // Another tenant's key cannot use the token, and leaves it as it was.
    let accept = pb::AcceptInvitationRequest {
        token: token.clone(),
        user: Some(person("newbie")),
    };
    assert_refused(
        keyed
            .client_with_key(OTHER_TENANT_KEY)
            .accept_invitation(accept.clone())
            .await,
        Code::NotFound,
        "INVITATION_TOKEN_UNKNOWN",
    );
    team.clone()
        .accept_invitation(accept)
        .await
        .expect("the team's key accepts");
    let users = team
        .clone()
        .list_users(list_users("owner-a", "child-a"))
        .await
        .expect("lists a child's users")
        .into_inner();
    assert!(users.users.iter().any(|u| u.user_id == "newbie"), "{users:?}");
}

/// A key bound to a child serves that child only: not its parent, not a sibling.
async fn a_child_key_reaches_that_child_only(app: TestApp) {
    app.team(&["a", "b"]).await;
    let keyed = app.replica_with(crate::support::keys).await;
    let child = keyed.client_with_key(CHILD_KEY);
    assert!(
        child
            .clone()
            .authorize(check("owner-a", "child-a", "account.view", None))
            .await
            .expect("its child")
            .into_inner()
            .allowed
    );
    for account in ["team", "child-b"] {
        assert_refused(
            child
                .clone()
                .authorize(check("boss", account, "account.view", None))
                .await,
            Code::PermissionDenied,
            OUTSIDE,
        );
    }
    assert_refused(
        child
            .clone()
            .create_account(create_child("child-c", "owner-c", "team", "boss"))
            .await,
        Code::PermissionDenied,
        OUTSIDE,
    );
}

/// ListAccounts for a user shows only the accounts among the caller's
/// tenants; an unbound key shows them all.
async fn list_accounts_shows_only_the_callers_tenants(app: TestApp) {
    app.team(&["a"]).await;
    app.account("acme", "owner").await;
    app.member("owner", "acme", "both", "viewer", vec![]).await;
    app.member("owner-a", "child-a", "both", "viewer", vec![]).await;
    let keyed = app.replica_with(crate::support::keys).await;
    let listed = |key: &'static str| {
        let client = keyed.client_with_key(key);
        async move {
            let mut ids: Vec<String> = client
                .clone()
                .list_accounts(list_accounts("both", 0, ""))
                .await
                .expect("lists")
                .into_inner()
                .accounts
                .into_iter()
                .filter_map(|access| access.account.map(|account| account.id))
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(listed(WEB_KEY).await, ["acme", "child-a"]);
    assert_eq!(listed(TEAM_KEY).await, ["child-a"]);
    assert_eq!(listed(CHILD_KEY).await, ["child-a"]);
    assert!(listed(OTHER_TENANT_KEY).await.is_empty());
}

/// `admin`, deprecated, still stands for `read+write`: not `check`, not `platform`.
async fn the_deprecated_admin_scope_is_read_and_write(app: TestApp) {
    app.account("acme", "owner").await;
    let key = "legacy-secret-long-enough-for-tests";
    let keyed = app
        .replica_with(|config| config.api_keys = Some(crate::support::api_keys(&[("legacy", "admin", key)])))
        .await;
    let legacy = keyed.client_with_key(key);
    legacy
        .clone()
        .list_users(list_users("owner", "acme"))
        .await
        .expect("read");
    legacy
        .clone()
        .invite(invite("owner", "acme", "via-admin"))
        .await
        .expect("write");
    for refused in [
        legacy
            .clone()
            .authorize(check("owner", "acme", "account.view", None))
            .await
            .map(|_| ()),
        legacy
            .clone()
            .create_account(create_account("fresh", person("f")))
            .await
            .map(|_| ()),
    ] {
        assert_refused(refused, Code::PermissionDenied, "SCOPE_MISSING");
    }
}

crate::on_both_databases!(
    a_team_key_reaches_the_team_and_its_children,
    a_child_key_reaches_that_child_only,
    list_accounts_shows_only_the_callers_tenants,
    the_deprecated_admin_scope_is_read_and_write,
);

/// A malformed tenants list stops start-up, saying what is wrong and where,
/// before the server connects to anything.
#[tokio::test]
async fn bad_tenant_lists_stop_start_up() {
    let hash = ApiKeys::hash_of("web-secret-long-enough-for-tests");
    for (keys, words) in [
        (format!("web:read[]:{hash}"), "brackets are empty"),
        (format!("web:read[acme:{hash}"), "no closing ']'"),
        (
            format!("ok:check:{hash}\nweb:read[acme] x:{hash}"),
            "API key entry 2",
        ),
    ] {
        let config = Config {
            listen_addr: "127.0.0.1:0".parse().expect("an address"),
            database_url: "mysql://nobody:nothing@127.0.0.1:1/none".into(),
            api_keys: Some(keys.clone()),
            ..Config::default()
        };
        let err = match App::build(config).await {
            Ok(_) => panic!("{keys}: built"),
            Err(err) => format!("{err:#}"),
        };
        assert!(
            err.contains("bad ACCESS_API_KEYS") && err.contains(words) && !err.contains(&hash[..16]),
            "{keys}: {err}"
        );
    }
}
