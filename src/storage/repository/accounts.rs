//! Accounts with their owner, and the accounts a user can switch to.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::domain::ids::{AccountId, Email, UserId};
use crate::domain::model::{
    Account, AccountLimits, AccountRevision, AccountState, AccountTie, OwnMembership, Person, WriteReceipt,
};
use crate::domain::{DomainError, DomainResult};
use crate::storage::entity::{accounts, memberships, users};
use crate::storage::error::from_db_err;

use super::codec::{CLOSED, OPEN, account_state, membership_status, millis, time};
use super::expect_one;
use super::roles::role_names;

/// The owner of each of `accounts`, by account id: one joined query whatever
/// the number of accounts.
async fn owners_of<C: ConnectionTrait>(c: &C, accounts: &[&str]) -> DomainResult<HashMap<String, Person>> {
    if accounts.is_empty() {
        return Ok(HashMap::new());
    }
    let query = Query::select()
        .column((memberships::Entity, memberships::Column::AccountId))
        .column((users::Entity, users::Column::Id))
        .column((users::Entity, users::Column::Email))
        .column((users::Entity, users::Column::Name))
        .from(memberships::Entity)
        .join(
            JoinType::InnerJoin,
            users::Entity,
            Expr::col((users::Entity, users::Column::Id))
                .equals((memberships::Entity, memberships::Column::UserId)),
        )
        .and_where(
            Expr::col((memberships::Entity, memberships::Column::AccountId)).is_in(accounts.iter().copied()),
        )
        .and_where(Expr::col((memberships::Entity, memberships::Column::OwnerSlot)).eq(1))
        .to_owned();
    let rows = c
        .query_all_raw(c.get_database_backend().build(&query))
        .await
        .map_err(from_db_err)?;
    let mut owners = HashMap::with_capacity(rows.len());
    for row in rows {
        let get = |column: &str| row.try_get::<String>("", column).map_err(from_db_err);
        let owner = Person {
            user_id: UserId::from_trusted(get("id")?),
            email: Email::from_trusted(get("email")?),
            name: get("name")?,
        };
        owners.insert(get("account_id")?, owner);
    }
    Ok(owners)
}

/// Turns account rows into accounts with their owners: two queries in all
/// (the rows already read, and one for every owner).
async fn to_accounts<C: ConnectionTrait>(c: &C, rows: Vec<accounts::Model>) -> DomainResult<Vec<Account>> {
    let ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
    let mut owners = owners_of(c, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let owner = owners
                .remove(&row.id)
                .ok_or_else(|| DomainError::Internal(format!("account '{}' has no owner", row.id)))?;
            to_account(row, owner)
        })
        .collect()
}

fn to_account(row: accounts::Model, owner: Person) -> DomainResult<Account> {
    Ok(Account {
        state: account_state(&row.state)?,
        created_at: time(row.created_at)?,
        id: AccountId::from_trusted(row.id),
        name: row.name,
        parent_id: row.parent_id.map(AccountId::from_trusted),
        owner,
        require_two_factor: row.require_two_factor,
        limits: AccountLimits {
            max_members: row.max_members.and_then(|n| u32::try_from(n).ok()),
            max_restricted_members: row.max_restricted_members.and_then(|n| u32::try_from(n).ok()),
        },
        closed_at: row.closed_at.map(time).transpose()?,
    })
}

pub(super) async fn find_account<C: ConnectionTrait>(
    c: &C,
    id: &AccountId,
    lock: bool,
) -> DomainResult<Option<Account>> {
    let mut query = accounts::Entity::find_by_id(id.as_str().to_owned());
    if lock {
        // SELECT ... FOR UPDATE on MySQL; SQLite serialises writers itself.
        query = query.lock_exclusive();
    }
    match query.one(c).await.map_err(from_db_err)? {
        Some(row) => Ok(to_accounts(c, vec![row]).await?.pop()),
        None => Ok(None),
    }
}

/// Five queries whatever the number of accounts: the user's memberships,
/// their role names, those accounts, the children of the ones they own, and
/// every owner. Closed accounts and deactivated memberships are returned too:
/// what they give is the domain's call.
pub(super) async fn account_ties<C: ConnectionTrait>(c: &C, user: &UserId) -> DomainResult<Vec<AccountTie>> {
    let memberships = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user.as_str()))
        .all(c)
        .await
        .map_err(from_db_err)?;
    if memberships.is_empty() {
        return Ok(Vec::new());
    }
    let names = role_names(c, memberships.iter().map(|m| m.role_id.clone())).await?;
    let member_rows = accounts::Entity::find()
        .filter(accounts::Column::Id.is_in(memberships.iter().map(|m| m.account_id.as_str())))
        .all(c)
        .await
        .map_err(from_db_err)?;
    let owned: Vec<&str> = memberships
        .iter()
        .filter(|m| m.owner_slot.is_some())
        .map(|m| m.account_id.as_str())
        .collect();
    let child_rows = if owned.is_empty() {
        Vec::new()
    } else {
        accounts::Entity::find()
            .filter(accounts::Column::ParentId.is_in(owned))
            .all(c)
            .await
            .map_err(from_db_err)?
    };
    let mut rows = member_rows;
    let mut seen: HashSet<String> = rows.iter().map(|row| row.id.clone()).collect();
    rows.extend(child_rows.into_iter().filter(|row| seen.insert(row.id.clone())));
    let loaded = to_accounts(c, rows).await?;
    let mut own: HashMap<&str, OwnMembership> = HashMap::new();
    for m in &memberships {
        let role = names.get(&m.role_id).cloned().unwrap_or_default();
        let status = membership_status(&m.status)?;
        let is_owner = m.owner_slot.is_some();
        own.insert(
            m.account_id.as_str(),
            OwnMembership {
                role,
                status,
                is_owner,
                ends_at: m.ends_at.map(super::codec::time).transpose()?,
            },
        );
    }
    let owned_state: HashMap<String, AccountState> = loaded
        .iter()
        .filter(|account| own.get(account.id.as_str()).is_some_and(|m| m.is_owner))
        .map(|account| (account.id.as_str().to_owned(), account.state))
        .collect();
    Ok(loaded
        .into_iter()
        .map(|account| AccountTie {
            membership: own.remove(account.id.as_str()),
            owned_parent_state: account
                .parent_id
                .as_ref()
                .and_then(|parent| owned_state.get(parent.as_str()).copied()),
            account,
        })
        .collect())
}

pub(super) async fn child_account_ids<C: ConnectionTrait>(
    c: &C,
    parent: &AccountId,
) -> DomainResult<Vec<AccountId>> {
    Ok(accounts::Entity::find()
        .filter(accounts::Column::ParentId.eq(parent.as_str()))
        .order_by_asc(accounts::Column::Id)
        .all(c)
        .await
        .map_err(from_db_err)?
        .into_iter()
        .map(|a| AccountId::from_trusted(a.id))
        .collect())
}

pub(super) async fn insert_account(txn: &DatabaseTransaction, account: &Account) -> DomainResult<()> {
    let limits = account.limits;
    accounts::Entity::insert(accounts::ActiveModel {
        id: Set(account.id.as_str().to_owned()),
        name: Set(account.name.clone()),
        parent_id: Set(account.parent_id.as_ref().map(|p| p.as_str().to_owned())),
        state: Set(OPEN.to_owned()),
        require_two_factor: Set(account.require_two_factor),
        max_members: Set(limit_column(limits.max_members)),
        max_restricted_members: Set(limit_column(limits.max_restricted_members)),
        created_at: Set(millis(account.created_at)),
        closed_at: Set(None),
        // The commit that inserts it bumps it to 1 (see `bump_revisions`).
        revision: Set(0),
    })
    .exec_without_returning(txn)
    .await
    .map_err(from_db_err)?;
    Ok(())
}

pub(super) async fn set_require_two_factor(
    txn: &DatabaseTransaction,
    account: &AccountId,
    required: bool,
) -> DomainResult<()> {
    let result = accounts::Entity::update_many()
        .col_expr(accounts::Column::RequireTwoFactor, Expr::value(required))
        .filter(accounts::Column::Id.eq(account.as_str()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    expect_one(result.rows_affected, "update the account policy")
}

/// A quota as its column stores it (a quota past the column's range is as good as none).
fn limit_column(limit: Option<u32>) -> Option<i32> {
    limit.map(|n| i32::try_from(n).unwrap_or(i32::MAX))
}

pub(super) async fn set_limits(
    txn: &DatabaseTransaction,
    account: &AccountId,
    limits: AccountLimits,
) -> DomainResult<()> {
    let result = accounts::Entity::update_many()
        .col_expr(
            accounts::Column::MaxMembers,
            Expr::value(limit_column(limits.max_members)),
        )
        .col_expr(
            accounts::Column::MaxRestrictedMembers,
            Expr::value(limit_column(limits.max_restricted_members)),
        )
        .filter(accounts::Column::Id.eq(account.as_str()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    expect_one(result.rows_affected, "set account limits")
}

pub(super) async fn close_account(
    txn: &DatabaseTransaction,
    account: &AccountId,
    at: DateTime<Utc>,
) -> DomainResult<()> {
    let result = accounts::Entity::update_many()
        .col_expr(accounts::Column::State, Expr::value(CLOSED))
        .col_expr(accounts::Column::ClosedAt, Expr::value(millis(at)))
        .filter(accounts::Column::Id.eq(account.as_str()))
        .filter(accounts::Column::State.eq(OPEN))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    expect_one(result.rows_affected, "close an open account")
}

/// Bumps the revision of each of `ids` (rule 11), in the transaction that
/// wrote them, and reads back the new revisions with the children of those
/// accounts, whose decisions depend on their parent: two statements.
pub(super) async fn bump_revisions(
    txn: &DatabaseTransaction,
    ids: &[AccountId],
) -> DomainResult<WriteReceipt> {
    if ids.is_empty() {
        return Ok(WriteReceipt::default());
    }
    let ids: Vec<&str> = ids.iter().map(AccountId::as_str).collect();
    accounts::Entity::update_many()
        .col_expr(
            accounts::Column::Revision,
            Expr::col(accounts::Column::Revision).add(1),
        )
        .filter(accounts::Column::Id.is_in(ids.iter().copied()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    read_revisions(txn, &ids).await
}

/// The revisions of each of `ids` now, with the children of those accounts:
/// one statement.
pub(super) async fn current_revisions(
    txn: &DatabaseTransaction,
    ids: &[AccountId],
) -> DomainResult<WriteReceipt> {
    if ids.is_empty() {
        return Ok(WriteReceipt::default());
    }
    let ids: Vec<&str> = ids.iter().map(AccountId::as_str).collect();
    read_revisions(txn, &ids).await
}

async fn read_revisions(txn: &DatabaseTransaction, ids: &[&str]) -> DomainResult<WriteReceipt> {
    let rows: Vec<(String, Option<String>, i64)> = accounts::Entity::find()
        .select_only()
        .column(accounts::Column::Id)
        .column(accounts::Column::ParentId)
        .column(accounts::Column::Revision)
        .filter(
            Condition::any()
                .add(accounts::Column::Id.is_in(ids.iter().copied()))
                .add(accounts::Column::ParentId.is_in(ids.iter().copied())),
        )
        .into_tuple()
        .all(txn)
        .await
        .map_err(from_db_err)?;
    let mut receipt = WriteReceipt::default();
    for (id, _, revision) in rows {
        if ids.contains(&id.as_str()) {
            receipt.revisions.push(AccountRevision {
                account: AccountId::from_trusted(id),
                revision: u64::try_from(revision).unwrap_or_default(),
            });
        } else {
            receipt.children.push(AccountId::from_trusted(id));
        }
    }
    receipt.revisions.sort();
    receipt.children.sort();
    Ok(receipt)
}
