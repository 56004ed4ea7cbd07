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
