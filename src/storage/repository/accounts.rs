//! Accounts with their owner, and the accounts a user can switch to.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::domain::ids::{AccountId, UserId};
use crate::domain::model::{Account, AccountAccess, AccountLimits, AccountState, Person};
use crate::domain::permissions::OWNER_ROLE;
use crate::domain::{DomainError, DomainResult};
use crate::storage::entity::{accounts, memberships};
use crate::storage::error::from_db_err;

use super::codec::{ACTIVE, CLOSED, OPEN, account_state, millis, time};
use super::expect_one;
use super::people::find_person;
use super::roles::role_names;

pub(super) async fn owner_of<C: ConnectionTrait>(c: &C, account: &str) -> DomainResult<Person> {
    let owner = memberships::Entity::find()
        .filter(memberships::Column::AccountId.eq(account))
        .filter(memberships::Column::OwnerSlot.eq(1))
        .one(c)
        .await
        .map_err(from_db_err)?
        .ok_or_else(|| DomainError::Internal(format!("account '{account}' has no owner")))?;
    find_person(c, &owner.user_id)
        .await?
        .ok_or_else(|| DomainError::Internal(format!("owner of '{account}' has no user row")))
}

pub(super) async fn to_account<C: ConnectionTrait>(c: &C, row: accounts::Model) -> DomainResult<Account> {
    let owner = owner_of(c, &row.id).await?;
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
        Some(row) => to_account(c, row).await.map(Some),
        None => Ok(None),
    }
}

pub(super) async fn accounts_of<C: ConnectionTrait>(
    c: &C,
    user: &UserId,
) -> DomainResult<Vec<AccountAccess>> {
    let memberships = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user.as_str()))
        .filter(memberships::Column::Status.eq(ACTIVE))
        .all(c)
        .await
        .map_err(from_db_err)?;
    let names = role_names(c, memberships.iter().map(|m| m.role_id.clone())).await?;
    let mut found: HashMap<String, AccountAccess> = HashMap::new();
    for m in &memberships {
        let Some(account) = find_account(c, &AccountId::from_trusted(m.account_id.clone()), false).await?
        else {
            continue;
        };
        if account.state == AccountState::Closed {
            continue;
        }
        if m.owner_slot.is_some() {
            for child in accounts::Entity::find()
                .filter(accounts::Column::ParentId.eq(m.account_id.as_str()))
                .filter(accounts::Column::State.eq(OPEN))
                .all(c)
                .await
                .map_err(from_db_err)?
            {
                let child = to_account(c, child).await?;
                // Parent ownership outranks any own membership in the child.
                found.insert(
                    child.id.as_str().to_owned(),
                    AccountAccess {
                        account: child,
                        role: OWNER_ROLE.to_owned(),
                        via_parent: Some(account.id.clone()),
                    },
                );
            }
        }
        let role = names.get(&m.role_id).cloned().unwrap_or_default();
        found.entry(m.account_id.clone()).or_insert(AccountAccess {
            account,
            role,
            via_parent: None,
        });
    }
    let mut accounts: Vec<AccountAccess> = found.into_values().collect();
    accounts.sort_by(|a, b| a.account.id.cmp(&b.account.id));
    Ok(accounts)
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
    accounts::Entity::insert(accounts::ActiveModel {
        id: Set(account.id.as_str().to_owned()),
        name: Set(account.name.clone()),
        parent_id: Set(account.parent_id.as_ref().map(|p| p.as_str().to_owned())),
        state: Set(OPEN.to_owned()),
        require_two_factor: Set(account.require_two_factor),
        max_members: Set(None),
        max_restricted_members: Set(None),
        created_at: Set(millis(account.created_at)),
        closed_at: Set(None),
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

pub(super) async fn set_limits(
    txn: &DatabaseTransaction,
    account: &AccountId,
    limits: AccountLimits,
) -> DomainResult<()> {
    let to_column = |limit: Option<u32>| limit.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
    let result = accounts::Entity::update_many()
        .col_expr(
            accounts::Column::MaxMembers,
            Expr::value(to_column(limits.max_members)),
        )
        .col_expr(
            accounts::Column::MaxRestrictedMembers,
            Expr::value(to_column(limits.max_restricted_members)),
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
