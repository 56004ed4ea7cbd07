//! The lookups against Authorize, as a property through the real server on
//! SQLite and MySQL: for random accounts, memberships, roles, scopes,
//! grants, shares, closures and two-factor policies (the scenarios of the
//! reference model), an account, a resource or a person is in a lookup
//! exactly when Authorize allows it.

use std::collections::BTreeSet;

use access_service::grpc::pb;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use tonic::Code;

use super::model::{self, Scenario};
use super::{Cast, STORAGE, block_on, build, config, resource_type};
use crate::support::{Db, TestApp, check, lookup_accounts, lookup_members, lookup_resources};

/// Cases per database: fewer than Authorize's property, as each asks
/// Authorize once per account, resource and person it covers.
const CASES: u32 = 48;

async fn allowed(
    app: &TestApp,
    user: &str,
    account: &str,
    permission: &str,
    resource: Option<(pb::ResourceType, &str)>,
    mfa: bool,
) -> bool {
    let mut request = check(user, account, permission, resource);
    request.context = Some(pb::SessionContext { mfa_verified: mfa });
    app.check_request(request).await.allowed
}

async fn accounts_agree(app: &TestApp, cast: &Cast, s: &Scenario) -> Result<(), TestCaseError> {
    let mut request = lookup_accounts(&cast.user, &s.permission, 1, "");
    request.context = Some(pb::SessionContext {
        mfa_verified: s.mfa_verified,
    });
    let found: BTreeSet<String> = app
        .all_accounts_where(request)
        .await
        .into_iter()
        .map(|entry| entry.account_id)
        .collect();
    let mut expected = BTreeSet::new();
    for account in [&cast.account, &cast.parent] {
        if allowed(app, &cast.user, account, &s.permission, None, s.mfa_verified).await {
            expected.insert(account.clone());
        }
    }
    prop_assert_eq!(found, expected, "LookupAccounts: {:?}", s);
    Ok(())
}

async fn resources_agree(app: &TestApp, cast: &Cast, s: &Scenario) -> Result<(), TestCaseError> {
    let Some((kind, id)) = &s.resource else {
        return Ok(());
    };
    let resource_type = resource_type(kind);
    let mut request = lookup_resources(&cast.user, &cast.account, &s.permission, resource_type);
    request.context = Some(pb::SessionContext {
        mfa_verified: s.mfa_verified,
    });
    let filter = app.resource_filter(request).await.filter.unwrap_or_default();
    let mut ids: BTreeSet<&str> = [id.as_str(), "never-named"].into();
    ids.extend(s.shared_templates.iter().map(String::as_str));
    ids.extend(s.shared_suppression_lists.iter().map(String::as_str));
    if let Some(member) = &s.member {
        ids.extend(member.scopes.values().flatten().map(String::as_str));
    }
    for id in ids {
        let admitted = match filter.kind() {
            pb::ResourceFilterKind::All => !filter.excluded_ids.iter().any(|x| x == id),
            pb::ResourceFilterKind::Only => filter.resource_ids.iter().any(|x| x == id),
            pb::ResourceFilterKind::None | pb::ResourceFilterKind::Unspecified => false,
        };
        let expected = allowed(
            app,
            &cast.user,
            &cast.account,
            &s.permission,
            Some((resource_type, id)),
            s.mfa_verified,
        )
        .await;
        prop_assert_eq!(
            admitted,
            expected,
            "LookupResources on {}: {:?} {:?}",
            id,
            filter,
            s
        );
    }
    Ok(())
}

async fn members_agree(app: &TestApp, cast: &Cast, s: &Scenario) -> Result<(), TestCaseError> {
    let resource = s
        .resource
        .as_ref()
        .map(|(kind, id)| (resource_type(kind), id.as_str()));
    let request = lookup_members(&cast.account, &s.permission, resource, 1, "");
    if !s.exists {
        let refused = app.client.clone().lookup_members(request).await;
        prop_assert_eq!(
            refused.map(|_| ()).map_err(|status| status.code()),
            Err(Code::NotFound)
        );
        return Ok(());
    }
    let found: BTreeSet<String> = app
        .all_members_who(request)
        .await
        .into_iter()
        .map(|entry| entry.user_id)
        .collect();
    let mut expected = BTreeSet::new();
    for user in [&cast.user, &cast.owner, &cast.parent_owner] {
        // Two-factor holds back sessions: the people listed are those
        // allowed once their session has passed it.
        if allowed(app, user, &cast.account, &s.permission, resource, true).await {
            expected.insert(user.clone());
        }
    }
    prop_assert_eq!(found, expected, "LookupMembers: {:?}", s);
    Ok(())
}

async fn lookups_agree_with_authorize(db: Db, file: &'static str) {
    let app = TestApp::spawn_with(db, |_| {}).await;
    let mut runner = TestRunner::new(proptest::test_runner::Config {
        cases: CASES,
        ..config(file)
    });
    let result = runner.run(&model::scenario(STORAGE), |scenario| {
        block_on(async {
            let (cast, s) = build(&app, scenario).await?;
            accounts_agree(&app, &cast, &s).await?;
            resources_agree(&app, &cast, &s).await?;
            members_agree(&app, &cast, &s).await
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_agree_with_authorize_on_sqlite() {
    lookups_agree_with_authorize(Db::Sqlite, "proptest-regressions/it_lookups_sqlite.txt").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_agree_with_authorize_on_mysql() {
    lookups_agree_with_authorize(Db::Mysql, "proptest-regressions/it_lookups_mysql.txt").await;
}
