//! Built-in and custom roles with their permissions.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, ExprTrait, QueryFilter};

use crate::domain::ids::{AccountId, Email, RoleName};
use crate::domain::model::{InvitationState, Role, RoleHolder};
use crate::domain::permissions::{BUILTIN_ROLES, Permission, PermissionSet};
use crate::domain::{DomainError, DomainResult};
use crate::storage::entity::{invitations, memberships, role_permissions, roles, users};
use crate::storage::error::from_db_err;

use super::codec::millis;
use super::expect_one;
use super::invitations::invitation_scopes_of;
use super::members::{grants_of, membership_scopes_of};

pub(super) async fn role_permission_set<C: ConnectionTrait>(
    c: &C,
    role_id: &str,
) -> DomainResult<PermissionSet> {
    let rows = role_permissions::Entity::find()
        .filter(role_permissions::Column::RoleId.eq(role_id))
        .all(c)
        .await
        .map_err(from_db_err)?;
    Ok(PermissionSet::from_names(
        rows.iter().map(|r| r.permission.as_str()),
    ))
}

pub(super) async fn to_role<C: ConnectionTrait>(c: &C, row: roles::Model) -> DomainResult<Role> {
    let permissions = role_permission_set(c, &row.id).await?;
    Ok(Role {
        id: row.id,
        name: RoleName::from_trusted(row.name),
        description: row.description,
        permissions,
        builtin: row.builtin,
        restricted: row.restricted,
    }
    .with_implicit_permissions())
}

pub(super) async fn role_names<C: ConnectionTrait>(
    c: &C,
    ids: impl IntoIterator<Item = String>,
) -> DomainResult<HashMap<String, String>> {
    let ids: HashSet<String> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(roles::Entity::find()
        .filter(roles::Column::Id.is_in(ids))
        .all(c)
        .await
        .map_err(from_db_err)?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect())
}

pub(super) async fn role_by_name<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    name: &str,
) -> DomainResult<Option<Role>> {
    let builtin = roles::Entity::find()
        .filter(roles::Column::Builtin.eq(true))
        .filter(roles::Column::Name.eq(name))
        .one(c)
        .await
        .map_err(from_db_err)?;
    let row = match builtin {
        Some(row) => Some(row),
        None => roles::Entity::find()
            .filter(roles::Column::AccountId.eq(account.as_str()))
            .filter(roles::Column::Name.eq(name))
            .one(c)
            .await
            .map_err(from_db_err)?,
    };
    match row {
        Some(row) => to_role(c, row).await.map(Some),
        None => Ok(None),
    }
}

pub(super) async fn roles_of<C: ConnectionTrait>(c: &C, account: &AccountId) -> DomainResult<Vec<Role>> {
    let rows = roles::Entity::find()
        .filter(
            roles::Column::Builtin
                .eq(true)
                .or(roles::Column::AccountId.eq(account.as_str())),
        )
        .all(c)
        .await
        .map_err(from_db_err)?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut permissions: HashMap<String, PermissionSet> = HashMap::new();
    for row in role_permissions::Entity::find()
        .filter(role_permissions::Column::RoleId.is_in(ids))
        .all(c)
        .await
        .map_err(from_db_err)?
    {
        if let Some(permission) = Permission::lookup(&row.permission) {
            permissions.entry(row.role_id).or_default().insert(permission);
        }
    }
    // Built-in roles in their documented order, then custom roles by name.
    let builtin_rank = |name: &str| {
        BUILTIN_ROLES
            .iter()
            .position(|r| r.name == name)
            .unwrap_or(usize::MAX)
    };
    let mut roles: Vec<Role> = rows
        .into_iter()
        .map(|row| {
            Role {
                permissions: permissions.remove(&row.id).unwrap_or_default(),
                id: row.id,
                name: RoleName::from_trusted(row.name),
                description: row.description,
                builtin: row.builtin,
                restricted: row.restricted,
            }
            .with_implicit_permissions()
        })
        .collect();
    roles.sort_by(|a, b| {
        (!a.builtin, builtin_rank(a.name.as_str()), &a.name).cmp(&(
            !b.builtin,
            builtin_rank(b.name.as_str()),
            &b.name,
        ))
    });
    Ok(roles)
}

/// The members on a role with their grants and scopes, then the pending
/// invitations offering it with theirs. A custom role belongs to one account,
/// so its holders are read from that account's rows.
pub(super) async fn role_holders<C: ConnectionTrait>(c: &C, role_id: &str) -> DomainResult<Vec<RoleHolder>> {
    let members = memberships::Entity::find()
        .filter(memberships::Column::RoleId.eq(role_id))
        .all(c)
        .await
        .map_err(from_db_err)?;
    let invitations = invitations::Entity::find()
        .filter(invitations::Column::RoleId.eq(role_id))
        .filter(invitations::Column::State.eq(InvitationState::Pending.as_str()))
        .all(c)
        .await
        .map_err(from_db_err)?;
    let mut holders = Vec::with_capacity(members.len() + invitations.len());
    if let Some(account) = members.first().map(|m| m.account_id.clone()) {
        let emails: HashMap<String, String> = users::Entity::find()
            .filter(users::Column::Id.is_in(members.iter().map(|m| m.user_id.clone())))
            .all(c)
            .await
            .map_err(from_db_err)?
            .into_iter()
            .map(|u| (u.id, u.email))
            .collect();
        let mut scopes = membership_scopes_of(c, &account, None).await?;
        let mut grants = grants_of(c, &account, None).await?;
        for member in &members {
            let email = emails.get(&member.user_id).ok_or_else(|| {
                DomainError::Internal(format!("member '{}' has no user row", member.user_id))
            })?;
            holders.push(RoleHolder {
                email: Email::from_trusted(email.clone()),
                grants: grants.remove(&member.user_id).unwrap_or_default(),
                scopes: scopes.remove(&member.user_id).unwrap_or_default(),
            });
        }
    }
    let mut invitation_scopes =
        invitation_scopes_of(c, invitations.iter().map(|i| i.id.clone()).collect()).await?;
    holders.extend(invitations.into_iter().map(|invitation| RoleHolder {
        scopes: invitation_scopes.remove(&invitation.id).unwrap_or_default(),
        email: Email::from_trusted(invitation.email),
        grants: PermissionSet::EMPTY,
    }));
    Ok(holders)
}

pub(super) async fn insert_role(
    txn: &DatabaseTransaction,
    account: &AccountId,
    role: &Role,
    at: DateTime<Utc>,
) -> DomainResult<()> {
    roles::Entity::insert(roles::ActiveModel {
        id: Set(role.id.clone()),
        account_id: Set(Some(account.as_str().to_owned())),
        name: Set(role.name.to_string()),
        description: Set(role.description.clone()),
        builtin: Set(false),
        restricted: Set(role.restricted),
        created_at: Set(millis(at)),
    })
    .exec_without_returning(txn)
    .await
    .map_err(from_db_err)?;
    write_role_permissions(txn, role).await
}

pub(super) async fn update_role(txn: &DatabaseTransaction, role: &Role) -> DomainResult<()> {
    let result = roles::Entity::update_many()
        .col_expr(roles::Column::Description, Expr::value(role.description.as_str()))
        .filter(roles::Column::Id.eq(role.id.as_str()))
        .filter(roles::Column::Builtin.eq(false))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    expect_one(result.rows_affected, "update a custom role")?;
    write_role_permissions(txn, role).await
}

pub(super) async fn delete_role(txn: &DatabaseTransaction, role_id: &str) -> DomainResult<()> {
    let result = roles::Entity::delete_many()
        .filter(roles::Column::Id.eq(role_id))
        .filter(roles::Column::Builtin.eq(false))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    expect_one(result.rows_affected, "delete a custom role")
}

pub(super) async fn write_role_permissions(txn: &DatabaseTransaction, role: &Role) -> DomainResult<()> {
    role_permissions::Entity::delete_many()
        .filter(role_permissions::Column::RoleId.eq(role.id.as_str()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    let rows: Vec<_> = role
        .permissions
        .iter()
        .map(|p| role_permissions::ActiveModel {
            role_id: Set(role.id.clone()),
            permission: Set(p.name().to_owned()),
        })
        .collect();
    if !rows.is_empty() {
        role_permissions::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await
            .map_err(from_db_err)?;
    }
    Ok(())
}
