//! The facts one Authorize decision needs, in as few queries as possible.

use sea_orm::sea_query::{Condition, Expr, JoinType, Query, UnionType};
use sea_orm::{ConnectionTrait, ExprTrait, QueryResult};

use crate::domain::DomainResult;
use crate::domain::ids::{AccountId, ResourceId, UserId};
use crate::domain::model::{AccessFacts, AccountFacts, MemberAccess, MembershipStatus, Scopes};
use crate::domain::permissions::{Permission, PermissionSet};
use crate::storage::entity::{
    accounts, membership_grants, membership_scopes, memberships, role_permissions, roles,
};
use crate::storage::error::from_db_err;

use super::codec::{account_state, membership_status, resource_type};

// Table aliases: the parent account, joined only when the user owns it.
const PARENT: &str = "parent";
const PARENT_OWNER: &str = "parent_owner";

/// The account, the user's membership in it with the role name, and the
/// parent's state when the user owns the parent: one joined query, since this
/// runs on every Authorize.
pub(super) async fn account_and_membership<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    user: &UserId,
) -> DomainResult<Option<QueryResult>> {
    let query = Query::select()
        .column((accounts::Entity, accounts::Column::ParentId))
        .column((accounts::Entity, accounts::Column::State))
        .column((accounts::Entity, accounts::Column::RequireTwoFactor))
        .expr_as(
            Expr::col((memberships::Entity, memberships::Column::Status)),
            "member_status",
        )
        .column((memberships::Entity, memberships::Column::OwnerSlot))
        .column((memberships::Entity, memberships::Column::RoleId))
        .expr_as(Expr::col((roles::Entity, roles::Column::Name)), "role_name")
        .expr_as(Expr::col((PARENT, accounts::Column::State)), "parent_state")
        .from(accounts::Entity)
        .join(
            JoinType::LeftJoin,
            memberships::Entity,
            Condition::all()
                .add(
                    Expr::col((memberships::Entity, memberships::Column::AccountId))
                        .equals((accounts::Entity, accounts::Column::Id)),
                )
                .add(Expr::col((memberships::Entity, memberships::Column::UserId)).eq(user.as_str())),
        )
        .join(
            JoinType::LeftJoin,
            roles::Entity,
            Expr::col((roles::Entity, roles::Column::Id))
                .equals((memberships::Entity, memberships::Column::RoleId)),
        )
        .join_as(
            JoinType::LeftJoin,
            memberships::Entity,
            PARENT_OWNER,
            Condition::all()
                .add(
                    Expr::col((PARENT_OWNER, memberships::Column::AccountId))
                        .equals((accounts::Entity, accounts::Column::ParentId)),
                )
                .add(Expr::col((PARENT_OWNER, memberships::Column::UserId)).eq(user.as_str()))
                .add(Expr::col((PARENT_OWNER, memberships::Column::OwnerSlot)).eq(1)),
        )
        .join_as(
            JoinType::LeftJoin,
            accounts::Entity,
            PARENT,
            Expr::col((PARENT, accounts::Column::Id)).equals((PARENT_OWNER, memberships::Column::AccountId)),
        )
        .and_where(Expr::col((accounts::Entity, accounts::Column::Id)).eq(account.as_str()))
        .to_owned();
    c.query_one_raw(c.get_database_backend().build(&query))
        .await
        .map_err(from_db_err)
}

/// Role permissions, extra grants and scopes of one membership in one query:
/// rows of (kind, a, b) with kind `p` (permission a), `g` (grant a) or `s`
/// (scope: type a, id b).
pub(super) async fn grants_and_scopes<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    user: &UserId,
    role_id: &str,
) -> DomainResult<(PermissionSet, Scopes)> {
    let permissions = Query::select()
        .expr_as(Expr::val("p"), "kind")
        .expr_as(Expr::col(role_permissions::Column::Permission), "a")
        .expr_as(Expr::val(""), "b")
        .from(role_permissions::Entity)
        .and_where(Expr::col(role_permissions::Column::RoleId).eq(role_id))
        .to_owned();
    let grants = Query::select()
        .expr_as(Expr::val("g"), "kind")
        .expr_as(Expr::col(membership_grants::Column::Permission), "a")
        .expr_as(Expr::val(""), "b")
        .from(membership_grants::Entity)
        .and_where(Expr::col(membership_grants::Column::AccountId).eq(account.as_str()))
        .and_where(Expr::col(membership_grants::Column::UserId).eq(user.as_str()))
        .to_owned();
    let scopes = Query::select()
        .expr_as(Expr::val("s"), "kind")
        .expr_as(Expr::col(membership_scopes::Column::ResourceType), "a")
        .expr_as(Expr::col(membership_scopes::Column::ResourceId), "b")
        .from(membership_scopes::Entity)
        .and_where(Expr::col(membership_scopes::Column::AccountId).eq(account.as_str()))
        .and_where(Expr::col(membership_scopes::Column::UserId).eq(user.as_str()))
        .to_owned();
    let query = permissions
        .clone()
        .union(UnionType::All, grants)
        .union(UnionType::All, scopes)
        .to_owned();
    let rows = c
        .query_all_raw(c.get_database_backend().build(&query))
        .await
        .map_err(from_db_err)?;
    let mut set = PermissionSet::EMPTY;
    let mut found = Scopes::default();
    for row in rows {
        let kind: String = row.try_get("", "kind").map_err(from_db_err)?;
        let a: String = row.try_get("", "a").map_err(from_db_err)?;
        if kind == "s" {
            let b: String = row.try_get("", "b").map_err(from_db_err)?;
            found.insert(resource_type(&a)?, ResourceId::from_trusted(b));
        } else if let Some(permission) = Permission::lookup(&a) {
            set.insert(permission);
        }
    }
    Ok((set, found))
}

pub(super) async fn access_facts<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    user: &UserId,
) -> DomainResult<AccessFacts> {
    let Some(row) = account_and_membership(c, account, user).await? else {
        return Ok(AccessFacts {
            account: None,
            membership: None,
            owned_parent_state: None,
        });
    };
    let get_str = |column: &str| row.try_get::<Option<String>>("", column).map_err(from_db_err);
    let parent_id = get_str("parent_id")?.map(AccountId::from_trusted);
    let state = account_state(&get_str("state")?.unwrap_or_default())?;
    let require_two_factor: bool = row.try_get("", "require_two_factor").map_err(from_db_err)?;
    let membership = match (
        get_str("member_status")?,
        get_str("role_id")?,
        get_str("role_name")?,
    ) {
        (Some(status), Some(role_id), Some(role)) => {
            let status = membership_status(&status)?;
            let is_owner = row
                .try_get::<Option<i8>>("", "owner_slot")
                .map_err(from_db_err)?
                .is_some();
            // A deactivated member is denied before permissions matter: skip the read.
            let (permissions, scopes) = match status {
                MembershipStatus::Active => grants_and_scopes(c, account, user, &role_id).await?,
                MembershipStatus::Deactivated => (PermissionSet::EMPTY, Scopes::default()),
            };
            Some(MemberAccess {
                role,
                is_owner,
                status,
                permissions,
                scopes,
            })
        }
        _ => None,
    };
    let owned_parent_state = get_str("parent_state")?
        .map(|state| account_state(&state))
        .transpose()?;
    Ok(AccessFacts {
        account: Some(AccountFacts {
            state,
            parent_id,
            require_two_factor,
        }),
        membership,
        owned_parent_state,
    })
}
