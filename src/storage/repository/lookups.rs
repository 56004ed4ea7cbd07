//! The facts the lookups judge, each in one statement: every account a
//! user may reach, or every person who may act in an account, read with the
//! statement Authorize reads one pair with (`access_facts`), its pairs
//! selected by the database instead of named by the caller.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use sea_orm::{ConnectionTrait, Statement, Value};

use crate::domain::DomainResult;
use crate::domain::ids::{AccountId, UserId};
use crate::domain::model::AccessFacts;
use crate::storage::error::from_db_err;

use super::access_facts::{AccountsRead, Found, Slots, built, facts_sql_from, gather};
use super::codec::ACTIVE;

/// Slots made for every pair the rows name, ordered by (account, user).
#[derive(Default)]
struct Named(BTreeMap<(String, String), Found>);

impl Slots for Named {
    fn slot(&mut self, account: &str, user: &str) -> Option<&mut Found> {
        Some(self.0.entry((account.to_owned(), user.to_owned())).or_default())
    }
}

/// The pairs of one user, the first `limit` by account id after the key:
/// each account they are a member of (any status), and each child of an
/// account they own. Parameters: user, after, user, after, limit.
static ACCOUNTS_SQL: LazyLock<String> = LazyLock::new(|| {
    facts_sql_from(
        "SELECT account_id, user_id FROM (\
         SELECT m.account_id AS account_id, m.user_id AS user_id FROM memberships m \
         WHERE m.user_id = ? AND m.account_id > ? \
         UNION SELECT c.id, po.user_id FROM memberships po \
         JOIN accounts c ON c.parent_id = po.account_id \
         WHERE po.user_id = ? AND po.owner_slot = 1 AND c.id > ? \
         ORDER BY account_id LIMIT ?) w",
    )
});

/// The pairs of one account, the first `limit` by user id after the key:
/// its active members and its parent's owner; and a pair of no user (ids
/// are never empty) so that the account's own facts are read even when
/// nobody is left after the key. Parameters: account, after, account,
/// after, limit, account.
static MEMBERS_SQL: LazyLock<String> = LazyLock::new(|| {
    facts_sql_from(&format!(
        "SELECT account_id, user_id FROM (\
         SELECT m.account_id AS account_id, m.user_id AS user_id FROM memberships m \
         WHERE m.account_id = ? AND m.status = '{ACTIVE}' AND m.user_id > ? \
         UNION SELECT c.id, po.user_id FROM accounts c \
         JOIN memberships po ON po.account_id = c.parent_id AND po.owner_slot = 1 \
         WHERE c.id = ? AND po.user_id > ? \
         ORDER BY user_id LIMIT ?) w \
         UNION ALL SELECT ?, ''"
    ))
});

/// A LIMIT parameter: a window never nears `i64::MAX`.
fn limit_value(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Runs a lookup statement and builds the facts of every pair it selected.
async fn pairs_facts<C: ConnectionTrait>(
    c: &C,
    sql: &str,
    values: Vec<Value>,
) -> DomainResult<(AccountsRead, Named)> {
    let statement = Statement::from_sql_and_values(c.get_database_backend(), sql, values);
    let rows = c.query_all_raw(statement).await.map_err(from_db_err)?;
    let mut accounts = AccountsRead::new();
    let mut named = Named::default();
    gather(rows, &mut accounts, &mut named)?;
    Ok((accounts, named))
}

/// The facts of `user` in the first `limit` accounts they may reach with
/// an id after `after`, ordered by account id: one statement.
pub(super) async fn account_facts_of_user<C: ConnectionTrait>(
    c: &C,
    user: &UserId,
    after: Option<&AccountId>,
    limit: usize,
) -> DomainResult<Vec<(AccountId, AccessFacts)>> {
    let after = after.map_or("", AccountId::as_str);
    let values = vec![
        Value::from(user.as_str()),
        Value::from(after),
        Value::from(user.as_str()),
        Value::from(after),
        Value::from(limit_value(limit)),
    ];
    let (accounts, named) = pairs_facts(c, &ACCOUNTS_SQL, values).await?;
    let mut rows: Vec<(AccountId, AccessFacts)> = named
        .0
        .into_iter()
        .filter(|((_, pair_user), _)| pair_user == user.as_str())
        .map(|((account, _), slot)| {
            let facts = built(&accounts, &account, slot);
            (AccountId::from_trusted(account), facts)
        })
        .collect();
    rows.dedup_by(|a, b| a.0 == b.0);
    Ok(rows)
}

/// The facts of the first `limit` of the active members of `account` and
/// its parent's owner with a user id after `after`, ordered by user id; and
/// the facts of the account itself (no membership): one statement.
pub(super) async fn member_facts<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    after: Option<&UserId>,
    limit: usize,
) -> DomainResult<(AccessFacts, Vec<(UserId, AccessFacts)>)> {
    let after = after.map_or("", UserId::as_str);
    let values = vec![
        Value::from(account.as_str()),
        Value::from(after),
        Value::from(account.as_str()),
        Value::from(after),
        Value::from(limit_value(limit)),
        Value::from(account.as_str()),
    ];
    let (accounts, named) = pairs_facts(c, &MEMBERS_SQL, values).await?;
    let own = built(&accounts, account.as_str(), Found::default());
    let members = named
        .0
        .into_iter()
        .filter(|((pair_account, user), _)| pair_account == account.as_str() && !user.is_empty())
        .map(|((pair_account, user), slot)| {
            let facts = built(&accounts, &pair_account, slot);
            (UserId::from_trusted(user), facts)
        })
        .collect();
    Ok((own, members))
}
