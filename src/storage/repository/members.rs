//! Memberships: member lists, seats, and the writes that change a membership.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, ExprTrait, QueryFilter};

use crate::domain::ids::{AccountId, Email, InvitationId, ResourceId, UserId};
use crate::domain::model::{
    AccessEnds, InvitationState, MemberRow, MemberRowStatus, Membership, MembershipStatus, Scopes, Seat,
};
use crate::domain::permissions::{OWNER_ROLE, Permission, PermissionSet};
use crate::domain::ports::{MembershipChange, NewMembership};
use crate::domain::{DomainError, DomainResult};
use crate::storage::entity::{invitations, membership_grants, membership_scopes, memberships, roles, users};
use crate::storage::error::from_db_err;

use super::codec::{ACTIVE, DEACTIVATED, membership_status, millis, resource_type, scope_rows, time};
use super::expect_one;
use super::invitations::invitation_scopes_of;
use super::people::find_person;
use super::roles::{role_names, roles_of, to_role};

pub(super) async fn membership_scopes_of<C: ConnectionTrait>(
    c: &C,
    account: &str,
    user: Option<&str>,
) -> DomainResult<HashMap<String, Scopes>> {
    let mut query =
        membership_scopes::Entity::find().filter(membership_scopes::Column::AccountId.eq(account));
    if let Some(user) = user {
        query = query.filter(membership_scopes::Column::UserId.eq(user));
    }
    let mut by_user: HashMap<String, Scopes> = HashMap::new();
    for row in query.all(c).await.map_err(from_db_err)? {
        let resource_type = resource_type(&row.resource_type)?;
        by_user
            .entry(row.user_id)
            .or_default()
            .insert(resource_type, ResourceId::from_trusted(row.resource_id));
    }
    Ok(by_user)
}

pub(super) async fn grants_of<C: ConnectionTrait>(
    c: &C,
    account: &str,
    user: Option<&str>,
) -> DomainResult<HashMap<String, PermissionSet>> {
    let mut query =
        membership_grants::Entity::find().filter(membership_grants::Column::AccountId.eq(account));
    if let Some(user) = user {
        query = query.filter(membership_grants::Column::UserId.eq(user));
    }
    let mut by_user: HashMap<String, PermissionSet> = HashMap::new();
    for row in query.all(c).await.map_err(from_db_err)? {
        if let Some(permission) = Permission::lookup(&row.permission) {
            by_user.entry(row.user_id).or_default().insert(permission);
        }
    }
    Ok(by_user)
}

pub(super) async fn membership<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    user: &UserId,
) -> DomainResult<Option<Membership>> {
    let Some(row) = memberships::Entity::find_by_id((account.as_str().to_owned(), user.as_str().to_owned()))
        .one(c)
        .await
        .map_err(from_db_err)?
    else {
        return Ok(None);
    };
    let role_row = roles::Entity::find_by_id(row.role_id.clone())
        .one(c)
        .await
        .map_err(from_db_err)?
        .ok_or_else(|| DomainError::Internal(format!("membership role '{}' missing", row.role_id)))?;
    let person = find_person(c, &row.user_id)
        .await?
        .ok_or_else(|| DomainError::Internal(format!("member '{}' has no user row", row.user_id)))?;
    Ok(Some(Membership {
        person,
        role: to_role(c, role_row).await?,
        status: membership_status(&row.status)?,
        is_owner: row.owner_slot.is_some(),
        scopes: membership_scopes_of(c, &row.account_id, Some(&row.user_id))
            .await?
            .remove(&row.user_id)
            .unwrap_or_default(),
        grants: grants_of(c, &row.account_id, Some(&row.user_id))
            .await?
            .remove(&row.user_id)
            .unwrap_or_default(),
        ends: ends_of(c, &row.account_id, Some(&row.user_id))
            .await?
            .remove(&row.user_id)
            .unwrap_or_default(),
        invited_by: row.invited_by.map(UserId::from_trusted),
        joined_at: time(row.joined_at)?,
        last_sign_in_at: row.last_sign_in_at.map(time).transpose()?,
    }))
}

pub(super) async fn member_rows<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    now: DateTime<Utc>,
) -> DomainResult<Vec<MemberRow>> {
    let members = memberships::Entity::find()
        .filter(memberships::Column::AccountId.eq(account.as_str()))
        .all(c)
        .await
        .map_err(from_db_err)?;
    let pending = invitations::Entity::find()
        .filter(invitations::Column::AccountId.eq(account.as_str()))
        .filter(invitations::Column::State.eq(InvitationState::Pending.as_str()))
        .all(c)
        .await
        .map_err(from_db_err)?;
    let user_ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
    let people: HashMap<String, users::Model> = if user_ids.is_empty() {
        HashMap::new()
    } else {
        users::Entity::find()
            .filter(users::Column::Id.is_in(user_ids))
            .all(c)
            .await
            .map_err(from_db_err)?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect()
    };
    let names = role_names(c, members.iter().map(|m| m.role_id.clone())).await?;
    let role_name = |id: &str| {
        names
            .get(id)
            .cloned()
            .ok_or_else(|| DomainError::Internal(format!("role '{id}' missing")))
    };
    let mut member_scopes = membership_scopes_of(c, account.as_str(), None).await?;
    let mut member_grants = grants_of(c, account.as_str(), None).await?;
    let mut member_ends = ends_of(c, account.as_str(), None).await?;
    let mut invite_scopes = invitation_scopes_of(c, pending.iter().map(|i| i.id.clone()).collect()).await?;
    let mut rows = Vec::with_capacity(members.len() + pending.len());
    for m in members {
        let person = people
            .get(&m.user_id)
            .ok_or_else(|| DomainError::Internal(format!("member '{}' has no user row", m.user_id)))?;
        let is_owner = m.owner_slot.is_some();
        let ends = member_ends.remove(&m.user_id).unwrap_or_default();
        rows.push(MemberRow {
            name: person.name.clone(),
            email: Email::from_trusted(person.email.clone()),
            role: role_name(&m.role_id)?,
            status: match membership_status(&m.status)? {
                MembershipStatus::Active if ends.membership_ended(is_owner, now) => MemberRowStatus::Expired,
                MembershipStatus::Active => MemberRowStatus::Active,
                MembershipStatus::Deactivated => MemberRowStatus::Deactivated,
            },
            is_owner,
            scopes: member_scopes.remove(&m.user_id).unwrap_or_default(),
            invited_by: m.invited_by.map(UserId::from_trusted),
            joined_at: Some(time(m.joined_at)?),
            last_sign_in_at: m.last_sign_in_at.map(time).transpose()?,
            invitation_id: None,
            grants: member_grants.remove(&m.user_id).unwrap_or_default(),
            ends,
            user_id: Some(UserId::from_trusted(m.user_id)),
        });
    }
    for i in pending {
        let expired = time(i.expires_at)? <= now;
        rows.push(MemberRow {
            user_id: None,
            name: String::new(),
            email: Email::from_trusted(i.email),
            role: i.role_name,
            status: if expired {
                MemberRowStatus::InvitationExpired
            } else {
                MemberRowStatus::Pending
            },
            is_owner: false,
            scopes: invite_scopes.remove(&i.id).unwrap_or_default(),
            invited_by: Some(UserId::from_trusted(i.invited_by)),
            joined_at: None,
            last_sign_in_at: None,
            grants: PermissionSet::EMPTY,
            ends: AccessEnds::default(),
            invitation_id: Some(InvitationId::from_trusted(i.id)),
        });
    }
    Ok(rows)
}

pub(super) async fn seats<C: ConnectionTrait>(c: &C, account: &AccountId) -> DomainResult<Vec<Seat>> {
    let restricted: HashMap<String, bool> = roles_of(c, account)
        .await?
        .into_iter()
        .map(|r| (r.name.to_string(), r.restricted))
        .collect();
    // Every row but deactivated members holds a seat; expired invitations
    // too, since they can be resent.
    Ok(member_rows(c, account, Utc::now())
        .await?
        .into_iter()
        .filter(|row| row.status != MemberRowStatus::Deactivated)
        .map(|row| Seat {
            restricted: restricted.get(&row.role).copied().unwrap_or(false),
            email: row.email,
            role: row.role,
            user_id: row.user_id,
            invitation_id: row.invitation_id,
            is_owner: row.is_owner,
        })
        .collect())
}

pub(super) async fn status_of<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    user: &UserId,
) -> DomainResult<Option<MembershipStatus>> {
    memberships::Entity::find_by_id((account.as_str().to_owned(), user.as_str().to_owned()))
        .one(c)
        .await
        .map_err(from_db_err)?
        .map(|m| membership_status(&m.status))
        .transpose()
}

pub(super) async fn insert_membership(txn: &DatabaseTransaction, m: &NewMembership) -> DomainResult<()> {
    use memberships::Column as M;
    // INSERT ... SELECT: the member's email comes from `users` in the same
    // statement, the copy the user list is ordered by (see the
    // `member_list_order` migration).
    let values = Query::select()
        .expr(Expr::val(m.account_id.as_str()))
        .expr(Expr::col((users::Entity, users::Column::Id)))
        .expr(Expr::val(m.role_id.as_str()))
        .expr(Expr::val(m.is_owner.then_some(1i8)))
        .expr(Expr::val(ACTIVE))
        .expr(Expr::val(m.invited_by.as_ref().map(|u| u.as_str().to_owned())))
        .expr(Expr::val(millis(m.joined_at)))
        .expr(Expr::val(None::<i64>))
        .expr(Expr::val(millis(m.joined_at)))
        .expr(Expr::col((users::Entity, users::Column::Email)))
        .expr(Expr::val(m.ends_at.map(millis)))
        .from(users::Entity)
        .and_where(Expr::col((users::Entity, users::Column::Id)).eq(m.user_id.as_str()))
        .to_owned();
    let insert = Query::insert()
        .into_table(memberships::Entity)
        .columns([
            M::AccountId,
            M::UserId,
            M::RoleId,
            M::OwnerSlot,
            M::Status,
            M::InvitedBy,
            M::JoinedAt,
            M::LastSignInAt,
            M::UpdatedAt,
            M::Email,
            M::EndsAt,
        ])
        .select_from(values)
        .map_err(|e| DomainError::Internal(format!("membership insert: {e}")))?
        .to_owned();
    let result = txn
        .execute_raw(txn.get_database_backend().build(&insert))
        .await
        .map_err(from_db_err)?;
    expect_one(
        result.rows_affected(),
        "insert a membership (is the user stored?)",
    )?;
    write_membership_scopes(txn, &m.account_id, &m.user_id, &m.scopes).await
}

pub(super) async fn update_membership(
    txn: &DatabaseTransaction,
    account: &AccountId,
    user: &UserId,
    change: &MembershipChange,
    at: DateTime<Utc>,
) -> DomainResult<()> {
    let mut update = memberships::Entity::update_many()
        .col_expr(memberships::Column::UpdatedAt, Expr::value(millis(at)))
        .filter(memberships::Column::AccountId.eq(account.as_str()))
        .filter(memberships::Column::UserId.eq(user.as_str()));
    if let Some(role_id) = &change.role_id {
        update = update.col_expr(memberships::Column::RoleId, Expr::value(role_id.as_str()));
    }
    if (change.grants.is_some() || change.scopes.is_some()) && change.ends.is_none() {
        return Err(DomainError::Internal(
            "new grants or scopes come with their ends, or a rewrite would drop them".into(),
        ));
    }
    if let Some(ends) = &change.ends {
        update = update.col_expr(
            memberships::Column::EndsAt,
            Expr::value(ends.membership.map(millis)),
        );
    }
    if let Some(status) = change.status {
        let status = match status {
            MembershipStatus::Active => ACTIVE,
            MembershipStatus::Deactivated => DEACTIVATED,
        };
        update = update.col_expr(memberships::Column::Status, Expr::value(status));
    }
    let result = update.exec(txn).await.map_err(from_db_err)?;
    expect_one(result.rows_affected, "update a membership")?;
    if let Some(scopes) = &change.scopes {
        write_membership_scopes(txn, account, user, scopes).await?;
    }
    if let Some(grants) = change.grants {
        membership_grants::Entity::delete_many()
            .filter(membership_grants::Column::AccountId.eq(account.as_str()))
            .filter(membership_grants::Column::UserId.eq(user.as_str()))
            .exec(txn)
            .await
            .map_err(from_db_err)?;
        for permission in grants.iter() {
            add_grant(txn, account, user, permission, None).await?;
        }
    }
    if let Some(ends) = &change.ends {
        write_ends(txn, account, user, ends).await?;
    }
    Ok(())
}

/// Sets the ends of a membership's grants and scope entries: none but those
/// `ends` names. A grant or entry it names and the membership lacks is no
/// row to update, and nothing happens to it.
async fn write_ends(
    txn: &DatabaseTransaction,
    account: &AccountId,
    user: &UserId,
    ends: &AccessEnds,
) -> DomainResult<()> {
    use membership_grants::Column as G;
    use membership_scopes::Column as S;
    membership_grants::Entity::update_many()
        .col_expr(G::EndsAt, Expr::value(None::<i64>))
        .filter(G::AccountId.eq(account.as_str()))
        .filter(G::UserId.eq(user.as_str()))
        .filter(G::EndsAt.is_not_null())
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    for (permission, at) in &ends.grants {
        membership_grants::Entity::update_many()
            .col_expr(G::EndsAt, Expr::value(Some(millis(*at))))
            .filter(G::AccountId.eq(account.as_str()))
            .filter(G::UserId.eq(user.as_str()))
            .filter(G::Permission.eq(permission.name()))
            .exec(txn)
            .await
            .map_err(from_db_err)?;
    }
    membership_scopes::Entity::update_many()
        .col_expr(S::EndsAt, Expr::value(None::<i64>))
        .filter(S::AccountId.eq(account.as_str()))
        .filter(S::UserId.eq(user.as_str()))
        .filter(S::EndsAt.is_not_null())
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    for (resource_type, id, at) in &ends.scopes {
        membership_scopes::Entity::update_many()
            .col_expr(S::EndsAt, Expr::value(Some(millis(*at))))
            .filter(S::AccountId.eq(account.as_str()))
            .filter(S::UserId.eq(user.as_str()))
            .filter(S::ResourceType.eq(resource_type.as_str()))
            .filter(S::ResourceId.eq(id.as_str()))
            .exec(txn)
            .await
            .map_err(from_db_err)?;
    }
    Ok(())
}

/// The ends of an account's memberships (of one user's, if named), by user:
/// the membership's own, and those of its grants and scope entries.
pub(super) async fn ends_of<C: ConnectionTrait>(
    c: &C,
    account: &str,
    user: Option<&str>,
) -> DomainResult<HashMap<String, AccessEnds>> {
    let mut by_user: HashMap<String, AccessEnds> = HashMap::new();
    let mut members = memberships::Entity::find()
        .filter(memberships::Column::AccountId.eq(account))
        .filter(memberships::Column::EndsAt.is_not_null());
    let mut grants = membership_grants::Entity::find()
        .filter(membership_grants::Column::AccountId.eq(account))
        .filter(membership_grants::Column::EndsAt.is_not_null());
    let mut scopes = membership_scopes::Entity::find()
        .filter(membership_scopes::Column::AccountId.eq(account))
        .filter(membership_scopes::Column::EndsAt.is_not_null());
    if let Some(user) = user {
        members = members.filter(memberships::Column::UserId.eq(user));
        grants = grants.filter(membership_grants::Column::UserId.eq(user));
        scopes = scopes.filter(membership_scopes::Column::UserId.eq(user));
    }
    for row in members.all(c).await.map_err(from_db_err)? {
        by_user.entry(row.user_id).or_default().membership = row.ends_at.map(time).transpose()?;
    }
    for row in grants.all(c).await.map_err(from_db_err)? {
        if let (Some(permission), Some(at)) = (Permission::lookup(&row.permission), row.ends_at) {
            by_user
                .entry(row.user_id)
                .or_default()
                .grants
                .push((permission, time(at)?));
        }
    }
    for row in scopes.all(c).await.map_err(from_db_err)? {
        if let Some(at) = row.ends_at {
            let resource_type = resource_type(&row.resource_type)?;
            let id = ResourceId::from_trusted(row.resource_id);
            by_user
                .entry(row.user_id)
                .or_default()
                .scopes
                .push((resource_type, id, time(at)?));
        }
    }
    for ends in by_user.values_mut() {
        ends.grants.sort();
        ends.scopes.sort();
    }
    Ok(by_user)
}

pub(super) async fn delete_membership(
    txn: &DatabaseTransaction,
    account: &AccountId,
    user: &UserId,
) -> DomainResult<()> {
    // Scopes and grants go with it (ON DELETE CASCADE). The owner row is
    // never deleted: the filter makes that a no-op the check below reports.
    let result = memberships::Entity::delete_many()
        .filter(memberships::Column::AccountId.eq(account.as_str()))
        .filter(memberships::Column::UserId.eq(user.as_str()))
        .filter(memberships::Column::OwnerSlot.is_null())
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    expect_one(result.rows_affected, "delete a non-owner membership")
}

pub(super) async fn move_ownership(
    txn: &DatabaseTransaction,
    account: &AccountId,
    from: &UserId,
    to: &UserId,
    admin_role_id: &str,
    at: DateTime<Utc>,
) -> DomainResult<()> {
    // Free the slot first: the unique (account, owner_slot) index allows
    // one owner after every statement, so the order matters.
    let demoted = memberships::Entity::update_many()
        .col_expr(memberships::Column::OwnerSlot, Expr::value(Option::<i8>::None))
        .col_expr(memberships::Column::RoleId, Expr::value(admin_role_id))
        .col_expr(memberships::Column::UpdatedAt, Expr::value(millis(at)))
        .filter(memberships::Column::AccountId.eq(account.as_str()))
        .filter(memberships::Column::UserId.eq(from.as_str()))
        .filter(memberships::Column::OwnerSlot.eq(1))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    expect_one(demoted.rows_affected, "demote the current owner")?;
    let promoted = memberships::Entity::update_many()
        .col_expr(memberships::Column::OwnerSlot, Expr::value(Some(1i8)))
        .col_expr(memberships::Column::RoleId, Expr::value(OWNER_ROLE))
        .col_expr(memberships::Column::UpdatedAt, Expr::value(millis(at)))
        .filter(memberships::Column::AccountId.eq(account.as_str()))
        .filter(memberships::Column::UserId.eq(to.as_str()))
        .filter(memberships::Column::Status.eq(ACTIVE))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    expect_one(promoted.rows_affected, "promote the new owner")?;
    // The owner holds everything: scopes and extra grants no longer apply.
    membership_scopes::Entity::delete_many()
        .filter(membership_scopes::Column::AccountId.eq(account.as_str()))
        .filter(membership_scopes::Column::UserId.eq(to.as_str()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    membership_grants::Entity::delete_many()
        .filter(membership_grants::Column::AccountId.eq(account.as_str()))
        .filter(membership_grants::Column::UserId.eq(to.as_str()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    Ok(())
}

pub(super) async fn record_sign_in(
    txn: &DatabaseTransaction,
    account: &AccountId,
    user: &UserId,
    at: DateTime<Utc>,
) -> DomainResult<()> {
    let result = memberships::Entity::update_many()
        .col_expr(memberships::Column::LastSignInAt, Expr::value(Some(millis(at))))
        .filter(memberships::Column::AccountId.eq(account.as_str()))
        .filter(memberships::Column::UserId.eq(user.as_str()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    expect_one(result.rows_affected, "record a sign-in")
}

pub(super) async fn add_grant(
    txn: &DatabaseTransaction,
    account: &AccountId,
    user: &UserId,
    permission: Permission,
    ends_at: Option<DateTime<Utc>>,
) -> DomainResult<()> {
    membership_grants::Entity::insert(membership_grants::ActiveModel {
        account_id: Set(account.as_str().to_owned()),
        user_id: Set(user.as_str().to_owned()),
        permission: Set(permission.name().to_owned()),
        ends_at: Set(ends_at.map(millis)),
    })
    .on_conflict(
        OnConflict::columns([
            membership_grants::Column::AccountId,
            membership_grants::Column::UserId,
            membership_grants::Column::Permission,
        ])
        // A grant present already takes the new end (none for ever).
        .update_column(membership_grants::Column::EndsAt)
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await
    .map_err(from_db_err)?;
    Ok(())
}

/// Replaces a membership's scopes.
pub(super) async fn write_membership_scopes(
    txn: &DatabaseTransaction,
    account: &AccountId,
    user: &UserId,
    scopes: &Scopes,
) -> DomainResult<()> {
    membership_scopes::Entity::delete_many()
        .filter(membership_scopes::Column::AccountId.eq(account.as_str()))
        .filter(membership_scopes::Column::UserId.eq(user.as_str()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    let rows: Vec<_> = scope_rows(scopes)
        .map(|(t, id)| membership_scopes::ActiveModel {
            account_id: Set(account.as_str().to_owned()),
            user_id: Set(user.as_str().to_owned()),
            resource_type: Set(t.as_str().to_owned()),
            resource_id: Set(id),
            // The use case's ends follow (`write_ends`), in the same transaction.
            ends_at: Set(None),
        })
        .collect();
    if !rows.is_empty() {
        membership_scopes::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await
            .map_err(from_db_err)?;
    }
    Ok(())
}
