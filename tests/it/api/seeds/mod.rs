//! One end-to-end story per product whose multi-user model the service runs
//! (Mailjet, Mailchimp, Mailigen, dotdigital, Mailpro), replayed over gRPC with
//! each product's roles mapped onto the built-in roles of docs/domain.md; one
//! file per product, and the steps they share here.

mod dotdigital;
mod mailchimp;
mod mailigen;
mod mailjet;
mod mailpro;

use access_service::grpc::pb;
use pb::DecisionReason as R;

use crate::support::{TestApp, email, list_accounts, reason};

/// Whether Authorize allows `permission` to `user` in `account`.
async fn can(app: &TestApp, user: &str, account: &str, permission: &str) -> bool {
    app.check(user, account, permission).await.allowed
}

/// Asserts each permission is allowed for `user` in every one of `accounts`.
async fn assert_allowed(app: &TestApp, user: &str, accounts: &[&str], permissions: &[&str]) {
    for account in accounts {
        for permission in permissions {
            let answer = app.check(user, account, permission).await;
            assert!(answer.allowed, "{user} may {permission} in {account}: {answer:?}");
        }
    }
}

/// Asserts each permission is denied as not granted for `user` in every one of `accounts`.
async fn assert_not_granted(app: &TestApp, user: &str, accounts: &[&str], permissions: &[&str]) {
    for account in accounts {
        for permission in permissions {
            let answer = app.check(user, account, permission).await;
            assert_eq!(
                (answer.allowed, reason(&answer)),
                (false, R::PermissionNotGranted),
                "{user} may not {permission} in {account}"
            );
        }
    }
}

fn row<'a>(rows: &'a [pb::Member], who: &str) -> &'a pb::Member {
    rows.iter()
        .find(|r| r.email == email(who))
        .unwrap_or_else(|| panic!("{who} is listed: {rows:?}"))
}

async fn accounts_of(app: &TestApp, user: &str) -> Vec<pb::AccountAccess> {
    app.client
        .clone()
        .list_accounts(list_accounts(user, 500, ""))
        .await
        .expect("list accounts")
        .into_inner()
        .accounts
}

/// (account id, role, via parent) of every account a user can switch to.
async fn switchable(app: &TestApp, user: &str) -> Vec<(String, String, String)> {
    accounts_of(app, user)
        .await
        .into_iter()
        .map(|a| (a.account.expect("account").id, a.role, a.via_parent_account_id))
        .collect()
}

fn owned(triples: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    triples
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

/// The five stories again, on a server in the token mode: the tests' client
/// sends with each call for a person a token for the person the request
/// names (support/channel.rs), as a web app holding its users' tokens would,
/// and every answer must be the one the caller's word gets.
mod token_mode {
    use std::sync::Arc;

    use crate::support::issuer::TestIssuer;
    use crate::support::{Db, TestApp};

    async fn in_token_mode(kind: Db) -> TestApp {
        let issuer = Arc::new(TestIssuer::rsa().await);
        TestApp::spawn_with(kind, |config| issuer.configure(config))
            .await
            .acting_with_tokens(issuer)
    }

    macro_rules! stories {
        ($($name:ident => $story:path,)*) => {$(
            mod $name {
                use super::in_token_mode;
                use crate::support::Db;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    $story(in_token_mode(Db::Sqlite).await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() {
                    $story(in_token_mode(Db::Mysql).await).await;
                }
            }
        )*};
    }

    stories! {
        dotdigital => crate::api::seeds::dotdigital::dotdigital_users_and_teams,
        mailchimp => crate::api::seeds::mailchimp::mailchimp_user_levels,
        mailigen => crate::api::seeds::mailigen::mailigen_user_management,
        mailjet => crate::api::seeds::mailjet::mailjet_account_sharing,
        mailpro => crate::api::seeds::mailpro::mailpro_multi_user_account,
    }
}
