//! The only place with queries: implements the domain's store ports on SeaORM.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, JoinType, OnConflict, Query, UnionType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    EntityTrait, IsolationLevel, QueryFilter, QueryOrder, QueryResult, QuerySelect, TransactionTrait,
};

use crate::domain::ids::{AccessRequestId, AccountId, Email, InvitationId, ResourceId, UserId};
use crate::domain::model::{
    AccessFacts, AccessRequest, AccessRequestState, Account, AccountAccess, AccountFacts, AccountLimits,
    AccountState, ActivityEntry, ActivityFilter, ActivityRecord, Invitation, InvitationState, MemberAccess,
    MemberRow, MemberRowStatus, Membership, MembershipStatus, Person, ResourceType, Role, Scopes, Seat,
    SharedTemplate, StoredActivity,
};
use crate::domain::permissions::{BUILTIN_ROLES, CATALOGUE, OWNER_ROLE, Permission, PermissionSet};
use crate::domain::ports::{MembershipChange, NewMembership, Reads, Store, Transaction};
use crate::domain::{DomainError, DomainResult};
use crate::storage::entity::{
    access_requests, accounts, activity_log, invitation_scopes, invitations, membership_grants,
    membership_scopes, memberships, permissions, role_permissions, roles, shared_template_children,
    shared_templates, users,
};
use crate::storage::error::from_db_err;

const OPEN: &str = "open";
const CLOSED: &str = "closed";
const ACTIVE: &str = "active";
const DEACTIVATED: &str = "deactivated";

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn time(ms: i64) -> DomainResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| DomainError::Internal(format!("stored time {ms} out of range")))
}

fn account_state(value: &str) -> DomainResult<AccountState> {
    match value {
        OPEN => Ok(AccountState::Open),
        CLOSED => Ok(AccountState::Closed),
        other => Err(DomainError::Internal(format!("unknown account state '{other}'"))),
    }
}

fn membership_status(value: &str) -> DomainResult<MembershipStatus> {
    match value {
        ACTIVE => Ok(MembershipStatus::Active),
        DEACTIVATED => Ok(MembershipStatus::Deactivated),
        other => Err(DomainError::Internal(format!(
            "unknown membership status '{other}'"
        ))),
    }
}

fn resource_type(value: &str) -> DomainResult<ResourceType> {
    ResourceType::from_storage(value)
        .ok_or_else(|| DomainError::Internal(format!("unknown resource type '{value}'")))
}

fn to_person(row: users::Model) -> Person {
    Person {
        user_id: UserId::from_trusted(row.id),
        email: Email::from_trusted(row.email),
        name: row.name,
    }
}

// === Queries shared by the store and its transactions ===

async fn find_person<C: ConnectionTrait>(c: &C, id: &str) -> DomainResult<Option<Person>> {
    Ok(users::Entity::find_by_id(id.to_owned())
        .one(c)
        .await
        .map_err(from_db_err)?
        .map(to_person))
}

async fn owner_of<C: ConnectionTrait>(c: &C, account: &str) -> DomainResult<Person> {
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

async fn to_account<C: ConnectionTrait>(c: &C, row: accounts::Model) -> DomainResult<Account> {
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

async fn find_account<C: ConnectionTrait>(
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

async fn role_permission_set<C: ConnectionTrait>(c: &C, role_id: &str) -> DomainResult<PermissionSet> {
    let rows = role_permissions::Entity::find()
        .filter(role_permissions::Column::RoleId.eq(role_id))
        .all(c)
        .await
        .map_err(from_db_err)?;
    Ok(
        PermissionSet::from_names(rows.iter().map(|r| r.permission.as_str()))
            .union(PermissionSet::implicit()),
    )
}

async fn to_role<C: ConnectionTrait>(c: &C, row: roles::Model) -> DomainResult<Role> {
    let permissions = role_permission_set(c, &row.id).await?;
    Ok(Role {
        id: row.id,
        name: row.name,
        description: row.description,
        permissions,
        builtin: row.builtin,
        restricted: row.restricted,
    })
}

async fn role_names<C: ConnectionTrait>(
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

async fn membership_scopes_of<C: ConnectionTrait>(
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

async fn invitation_scopes_of<C: ConnectionTrait>(
    c: &C,
    ids: Vec<String>,
) -> DomainResult<HashMap<String, Scopes>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut by_invitation: HashMap<String, Scopes> = HashMap::new();
    for row in invitation_scopes::Entity::find()
        .filter(invitation_scopes::Column::InvitationId.is_in(ids))
        .all(c)
        .await
        .map_err(from_db_err)?
    {
        let resource_type = resource_type(&row.resource_type)?;
        by_invitation
            .entry(row.invitation_id)
            .or_default()
            .insert(resource_type, ResourceId::from_trusted(row.resource_id));
    }
    Ok(by_invitation)
}

fn stored_invitation_state(value: &str) -> DomainResult<InvitationState> {
    InvitationState::from_storage(value)
        .ok_or_else(|| DomainError::Internal(format!("unknown invitation state '{value}'")))
}

/// The account and the user's membership in it, with the role name: one
/// joined query, since this runs on every Authorize.
async fn account_and_membership<C: ConnectionTrait>(
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
        .and_where(Expr::col((accounts::Entity, accounts::Column::Id)).eq(account.as_str()))
        .to_owned();
    c.query_one_raw(c.get_database_backend().build(&query))
        .await
        .map_err(from_db_err)
}

/// Role permissions, extra grants and scopes of one membership in one query:
/// rows of (kind, a, b) with kind `p` (permission a), `g` (grant a) or `s`
/// (scope: type a, id b).
async fn grants_and_scopes<C: ConnectionTrait>(
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
    let mut set = PermissionSet::implicit();
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

async fn access_facts<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    user: &UserId,
) -> DomainResult<AccessFacts> {
    let Some(row) = account_and_membership(c, account, user).await? else {
        return Ok(AccessFacts {
            account: None,
            membership: None,
            owns_parent: false,
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
    let owns_parent = match (&parent_id, &membership) {
        (Some(parent), None) | (Some(parent), Some(MemberAccess { is_owner: false, .. })) => {
            owns_open_account(c, parent, user).await?
        }
        _ => false,
    };
    Ok(AccessFacts {
        account: Some(AccountFacts {
            state,
            parent_id,
            require_two_factor,
        }),
        membership,
        owns_parent,
    })
}

/// Whether `user` owns `account` and the account is open: one joined query.
async fn owns_open_account<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    user: &UserId,
) -> DomainResult<bool> {
    let query = Query::select()
        .column((memberships::Entity, memberships::Column::UserId))
        .from(memberships::Entity)
        .join(
            JoinType::InnerJoin,
            accounts::Entity,
            Expr::col((accounts::Entity, accounts::Column::Id))
                .equals((memberships::Entity, memberships::Column::AccountId)),
        )
        .and_where(Expr::col((memberships::Entity, memberships::Column::AccountId)).eq(account.as_str()))
        .and_where(Expr::col((memberships::Entity, memberships::Column::UserId)).eq(user.as_str()))
        .and_where(Expr::col((memberships::Entity, memberships::Column::OwnerSlot)).eq(1))
        .and_where(Expr::col((accounts::Entity, accounts::Column::State)).eq(OPEN))
        .to_owned();
    Ok(c.query_one_raw(c.get_database_backend().build(&query))
        .await
        .map_err(from_db_err)?
        .is_some())
}

async fn member_rows<C: ConnectionTrait>(
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
    let mut invite_scopes = invitation_scopes_of(c, pending.iter().map(|i| i.id.clone()).collect()).await?;
    let mut rows = Vec::with_capacity(members.len() + pending.len());
    for m in members {
        let person = people
            .get(&m.user_id)
            .ok_or_else(|| DomainError::Internal(format!("member '{}' has no user row", m.user_id)))?;
        rows.push(MemberRow {
            name: person.name.clone(),
            email: Email::from_trusted(person.email.clone()),
            role: role_name(&m.role_id)?,
            status: match membership_status(&m.status)? {
                MembershipStatus::Active => MemberRowStatus::Active,
                MembershipStatus::Deactivated => MemberRowStatus::Deactivated,
            },
            is_owner: m.owner_slot.is_some(),
            scopes: member_scopes.remove(&m.user_id).unwrap_or_default(),
            invited_by: m.invited_by.map(UserId::from_trusted),
            joined_at: Some(time(m.joined_at)?),
            last_sign_in_at: m.last_sign_in_at.map(time).transpose()?,
            invitation_id: None,
            grants: member_grants.remove(&m.user_id).unwrap_or_default(),
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
            invitation_id: Some(InvitationId::from_trusted(i.id)),
        });
    }
    Ok(rows)
}

async fn shared_templates_from<C: ConnectionTrait>(
    c: &C,
    parent: &AccountId,
) -> DomainResult<Vec<SharedTemplate>> {
    let shares = shared_templates::Entity::find()
        .filter(shared_templates::Column::ParentAccountId.eq(parent.as_str()))
        .order_by_asc(shared_templates::Column::TemplateId)
        .all(c)
        .await
        .map_err(from_db_err)?;
    let mut children: HashMap<String, Vec<AccountId>> = HashMap::new();
    for row in shared_template_children::Entity::find()
        .filter(shared_template_children::Column::ParentAccountId.eq(parent.as_str()))
        .order_by_asc(shared_template_children::Column::ChildAccountId)
        .all(c)
        .await
        .map_err(from_db_err)?
    {
        children
            .entry(row.template_id)
            .or_default()
            .push(AccountId::from_trusted(row.child_account_id));
    }
    shares
        .into_iter()
        .map(|s| {
            Ok(SharedTemplate {
                created_at: time(s.created_at)?,
                child_account_ids: children.remove(&s.template_id).unwrap_or_default(),
                parent_account_id: AccountId::from_trusted(s.parent_account_id),
                template_id: ResourceId::from_trusted(s.template_id),
                all_children: s.all_children,
                shared_by: UserId::from_trusted(s.shared_by),
            })
        })
        .collect()
}

async fn template_shared_with<C: ConnectionTrait>(
    c: &C,
    child: &AccountId,
    parent: &AccountId,
    template: &ResourceId,
) -> DomainResult<bool> {
    let Some(share) =
        shared_templates::Entity::find_by_id((parent.as_str().to_owned(), template.as_str().to_owned()))
            .one(c)
            .await
            .map_err(from_db_err)?
    else {
        return Ok(false);
    };
    if share.all_children {
        return Ok(true);
    }
    Ok(shared_template_children::Entity::find_by_id((
        parent.as_str().to_owned(),
        template.as_str().to_owned(),
        child.as_str().to_owned(),
    ))
    .one(c)
    .await
    .map_err(from_db_err)?
    .is_some())
}

async fn role_by_name<C: ConnectionTrait>(
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

async fn grants_of<C: ConnectionTrait>(
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

async fn membership<C: ConnectionTrait>(
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
        invited_by: row.invited_by.map(UserId::from_trusted),
        joined_at: time(row.joined_at)?,
        last_sign_in_at: row.last_sign_in_at.map(time).transpose()?,
    }))
}

async fn roles_of<C: ConnectionTrait>(c: &C, account: &AccountId) -> DomainResult<Vec<Role>> {
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
        .map(|row| Role {
            permissions: permissions
                .remove(&row.id)
                .unwrap_or_default()
                .union(PermissionSet::implicit()),
            id: row.id,
            name: row.name,
            description: row.description,
            builtin: row.builtin,
            restricted: row.restricted,
        })
        .collect();
    roles.sort_by(|a, b| {
        (!a.builtin, builtin_rank(&a.name), &a.name).cmp(&(!b.builtin, builtin_rank(&b.name), &b.name))
    });
    Ok(roles)
}

async fn role_users<C: ConnectionTrait>(c: &C, role_id: &str) -> DomainResult<Vec<Email>> {
    let member_ids: Vec<String> = memberships::Entity::find()
        .filter(memberships::Column::RoleId.eq(role_id))
        .all(c)
        .await
        .map_err(from_db_err)?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let mut emails: Vec<Email> = if member_ids.is_empty() {
        Vec::new()
    } else {
        users::Entity::find()
            .filter(users::Column::Id.is_in(member_ids))
            .all(c)
            .await
            .map_err(from_db_err)?
            .into_iter()
            .map(|u| Email::from_trusted(u.email))
            .collect()
    };
    emails.extend(
        invitations::Entity::find()
            .filter(invitations::Column::RoleId.eq(role_id))
            .filter(invitations::Column::State.eq(InvitationState::Pending.as_str()))
            .all(c)
            .await
            .map_err(from_db_err)?
            .into_iter()
            .map(|i| Email::from_trusted(i.email)),
    );
    emails.sort();
    emails.dedup();
    Ok(emails)
}

async fn seats<C: ConnectionTrait>(c: &C, account: &AccountId) -> DomainResult<Vec<Seat>> {
    let restricted: HashMap<String, bool> = roles_of(c, account)
        .await?
        .into_iter()
        .map(|r| (r.name, r.restricted))
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
        })
        .collect())
}

async fn invitations_where<C: ConnectionTrait>(
    c: &C,
    filter: sea_orm::Condition,
) -> DomainResult<Vec<Invitation>> {
    let rows = invitations::Entity::find()
        .filter(filter)
        .order_by_desc(invitations::Column::CreatedAt)
        .order_by_desc(invitations::Column::Id)
        .all(c)
        .await
        .map_err(from_db_err)?;
    let mut scopes = invitation_scopes_of(c, rows.iter().map(|r| r.id.clone()).collect()).await?;
    rows.into_iter()
        .map(|row| {
            Ok(Invitation {
                state: stored_invitation_state(&row.state)?,
                expires_at: time(row.expires_at)?,
                created_at: time(row.created_at)?,
                send_count: u32::try_from(row.send_count).unwrap_or(0),
                role: row.role_name,
                scopes: scopes.remove(&row.id).unwrap_or_default(),
                id: InvitationId::from_trusted(row.id),
                account_id: AccountId::from_trusted(row.account_id),
                email: Email::from_trusted(row.email),
                invited_by: UserId::from_trusted(row.invited_by),
                message: row.message,
            })
        })
        .collect()
}

async fn accounts_of<C: ConnectionTrait>(c: &C, user: &UserId) -> DomainResult<Vec<AccountAccess>> {
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

fn to_access_request(row: access_requests::Model) -> DomainResult<AccessRequest> {
    Ok(AccessRequest {
        permission: Permission::lookup(&row.permission)
            .ok_or_else(|| DomainError::Internal(format!("unknown permission '{}'", row.permission)))?,
        state: AccessRequestState::from_storage(&row.state)
            .ok_or_else(|| DomainError::Internal(format!("unknown request state '{}'", row.state)))?,
        created_at: time(row.created_at)?,
        decided_at: row.decided_at.map(time).transpose()?,
        id: AccessRequestId::from_trusted(row.id),
        account_id: AccountId::from_trusted(row.account_id),
        user_id: UserId::from_trusted(row.user_id),
        note: row.note,
        decided_by: row.decided_by.map(UserId::from_trusted),
    })
}

async fn activity<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    filter: &ActivityFilter,
    limit: usize,
) -> DomainResult<Vec<ActivityRecord>> {
    let mut query = activity_log::Entity::find().filter(activity_log::Column::AccountId.eq(account.as_str()));
    if let Some(actor) = &filter.actor {
        query = query.filter(activity_log::Column::Actor.eq(actor.as_str()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(activity_log::Column::Action.eq(action.as_str()));
    }
    if let Some(start) = filter.start {
        query = query.filter(activity_log::Column::CreatedAt.gte(millis(start)));
    }
    if let Some(end) = filter.end {
        query = query.filter(activity_log::Column::CreatedAt.lt(millis(end)));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(activity_log::Column::Id.lt(before));
    }
    query
        .order_by_desc(activity_log::Column::Id)
        .limit(u64::try_from(limit).unwrap_or(u64::MAX))
        .all(c)
        .await
        .map_err(from_db_err)?
        .into_iter()
        .map(|row| {
            Ok(ActivityRecord {
                id: row.id,
                entry: StoredActivity {
                    at: time(row.created_at)?,
                    account_id: AccountId::from_trusted(row.account_id),
                    actor: UserId::from_trusted(row.actor),
                    action: row.action,
                    target: row.target,
                    details: row.details,
                },
            })
        })
        .collect()
}

/// Implements [`Reads`] by delegating to the shared query functions on `$conn`.
macro_rules! impl_reads {
    ($type:ty, $conn:ident) => {
        #[async_trait]
        impl Reads for $type {
            async fn account(&self, id: &AccountId) -> DomainResult<Option<Account>> {
                find_account(&self.$conn, id, false).await
            }

            async fn access_facts(&self, account: &AccountId, user: &UserId) -> DomainResult<AccessFacts> {
                access_facts(&self.$conn, account, user).await
            }

            async fn template_shared_with(
                &self,
                child: &AccountId,
                parent: &AccountId,
                template: &ResourceId,
            ) -> DomainResult<bool> {
                template_shared_with(&self.$conn, child, parent, template).await
            }

            async fn role_by_name(&self, account: &AccountId, name: &str) -> DomainResult<Option<Role>> {
                role_by_name(&self.$conn, account, name).await
            }

            async fn person(&self, id: &UserId) -> DomainResult<Option<Person>> {
                find_person(&self.$conn, id.as_str()).await
            }

            async fn person_by_email(&self, email: &Email) -> DomainResult<Option<Person>> {
                Ok(users::Entity::find()
                    .filter(users::Column::Email.eq(email.as_str()))
                    .one(&self.$conn)
                    .await
                    .map_err(from_db_err)?
                    .map(to_person))
            }

            async fn membership_status(
                &self,
                account: &AccountId,
                user: &UserId,
            ) -> DomainResult<Option<MembershipStatus>> {
                memberships::Entity::find_by_id((account.as_str().to_owned(), user.as_str().to_owned()))
                    .one(&self.$conn)
                    .await
                    .map_err(from_db_err)?
                    .map(|m| membership_status(&m.status))
                    .transpose()
            }

            async fn member_rows(
                &self,
                account: &AccountId,
                now: DateTime<Utc>,
            ) -> DomainResult<Vec<MemberRow>> {
                member_rows(&self.$conn, account, now).await
            }

            async fn pending_invitation(
                &self,
                account: &AccountId,
                email: &Email,
            ) -> DomainResult<Option<Invitation>> {
                Ok(invitations_where(
                    &self.$conn,
                    sea_orm::Condition::all()
                        .add(invitations::Column::AccountId.eq(account.as_str()))
                        .add(invitations::Column::PendingEmail.eq(email.as_str())),
                )
                .await?
                .pop())
            }

            async fn invitation(&self, id: &InvitationId) -> DomainResult<Option<Invitation>> {
                Ok(invitations_where(
                    &self.$conn,
                    sea_orm::Condition::all().add(invitations::Column::Id.eq(id.as_str())),
                )
                .await?
                .pop())
            }

            async fn invitations_by_token_hash(&self, token_hash: &str) -> DomainResult<Vec<Invitation>> {
                invitations_where(
                    &self.$conn,
                    sea_orm::Condition::all().add(invitations::Column::TokenHash.eq(token_hash)),
                )
                .await
            }

            async fn invitations(&self, account: &AccountId) -> DomainResult<Vec<Invitation>> {
                invitations_where(
                    &self.$conn,
                    sea_orm::Condition::all().add(invitations::Column::AccountId.eq(account.as_str())),
                )
                .await
            }

            async fn roles(&self, account: &AccountId) -> DomainResult<Vec<Role>> {
                roles_of(&self.$conn, account).await
            }

            async fn role_users(&self, role_id: &str) -> DomainResult<Vec<Email>> {
                role_users(&self.$conn, role_id).await
            }

            async fn membership(
                &self,
                account: &AccountId,
                user: &UserId,
            ) -> DomainResult<Option<Membership>> {
                membership(&self.$conn, account, user).await
            }

            async fn seats(&self, account: &AccountId) -> DomainResult<Vec<Seat>> {
                seats(&self.$conn, account).await
            }

            async fn accounts_of(&self, user: &UserId) -> DomainResult<Vec<AccountAccess>> {
                accounts_of(&self.$conn, user).await
            }

            async fn access_request(&self, id: &AccessRequestId) -> DomainResult<Option<AccessRequest>> {
                access_requests::Entity::find_by_id(id.as_str().to_owned())
                    .one(&self.$conn)
                    .await
                    .map_err(from_db_err)?
                    .map(to_access_request)
                    .transpose()
            }

            async fn access_requests(&self, account: &AccountId) -> DomainResult<Vec<AccessRequest>> {
                access_requests::Entity::find()
                    .filter(access_requests::Column::AccountId.eq(account.as_str()))
                    .order_by_desc(access_requests::Column::CreatedAt)
                    .order_by_desc(access_requests::Column::Id)
                    .all(&self.$conn)
                    .await
                    .map_err(from_db_err)?
                    .into_iter()
                    .map(to_access_request)
                    .collect()
            }

            async fn activity(
                &self,
                account: &AccountId,
                filter: &ActivityFilter,
                limit: usize,
            ) -> DomainResult<Vec<ActivityRecord>> {
                activity(&self.$conn, account, filter, limit).await
            }

            async fn child_account_ids(&self, parent: &AccountId) -> DomainResult<Vec<AccountId>> {
                Ok(accounts::Entity::find()
                    .filter(accounts::Column::ParentId.eq(parent.as_str()))
                    .order_by_asc(accounts::Column::Id)
                    .all(&self.$conn)
                    .await
                    .map_err(from_db_err)?
                    .into_iter()
                    .map(|a| AccountId::from_trusted(a.id))
                    .collect())
            }

            async fn shared_templates_from(&self, parent: &AccountId) -> DomainResult<Vec<SharedTemplate>> {
                shared_templates_from(&self.$conn, parent).await
            }
        }
    };
}

// === impl SeaStore ===

/// The store on a SeaORM connection pool (MySQL or SQLite).
pub struct SeaStore {
    db: DatabaseConnection,
}

impl SeaStore {
    /// Wraps a connected pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

impl_reads!(SeaStore, db);

#[async_trait]
impl Store for SeaStore {
    async fn begin(&self) -> DomainResult<Box<dyn Transaction>> {
        // Use cases serialise on the account row lock, then re-read what they
        // decide on. Under InnoDB's default REPEATABLE READ a plain read before
        // the lock would pin an older snapshot (a revoked invitation would
        // still look pending), and locking a missing row takes gap locks that
        // deadlock two identical inserts. READ COMMITTED avoids both. SQLite
        // needs nothing: one connection serialises every transaction.
        let txn = match self.db.get_database_backend() {
            DbBackend::MySql => self
                .db
                .begin_with_config(Some(IsolationLevel::ReadCommitted), None)
                .await
                .map_err(from_db_err)?,
            _ => self.db.begin().await.map_err(from_db_err)?,
        };
        Ok(Box::new(SeaTransaction { txn }))
    }
}

// === impl SeaTransaction ===

/// One database transaction; rolled back when dropped uncommitted.
pub struct SeaTransaction {
    txn: DatabaseTransaction,
}

impl_reads!(SeaTransaction, txn);

impl SeaTransaction {
    /// Replaces a membership's scopes.
    async fn write_membership_scopes(
        &self,
        account: &AccountId,
        user: &UserId,
        scopes: &Scopes,
    ) -> DomainResult<()> {
        membership_scopes::Entity::delete_many()
            .filter(membership_scopes::Column::AccountId.eq(account.as_str()))
            .filter(membership_scopes::Column::UserId.eq(user.as_str()))
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        let rows: Vec<_> = scope_rows(scopes)
            .map(|(t, id)| membership_scopes::ActiveModel {
                account_id: Set(account.as_str().to_owned()),
                user_id: Set(user.as_str().to_owned()),
                resource_type: Set(t.as_str().to_owned()),
                resource_id: Set(id),
            })
            .collect();
        if !rows.is_empty() {
            membership_scopes::Entity::insert_many(rows)
                .exec_without_returning(&self.txn)
                .await
                .map_err(from_db_err)?;
        }
        Ok(())
    }

    /// Replaces an invitation's scopes.
    async fn write_invitation_scopes(&self, id: &InvitationId, scopes: &Scopes) -> DomainResult<()> {
        invitation_scopes::Entity::delete_many()
            .filter(invitation_scopes::Column::InvitationId.eq(id.as_str()))
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        let rows: Vec<_> = scope_rows(scopes)
            .map(|(t, resource)| invitation_scopes::ActiveModel {
                invitation_id: Set(id.as_str().to_owned()),
                resource_type: Set(t.as_str().to_owned()),
                resource_id: Set(resource),
            })
            .collect();
        if !rows.is_empty() {
            invitation_scopes::Entity::insert_many(rows)
                .exec_without_returning(&self.txn)
                .await
                .map_err(from_db_err)?;
        }
        Ok(())
    }

    async fn write_role_permissions(&self, role: &Role) -> DomainResult<()> {
        role_permissions::Entity::delete_many()
            .filter(role_permissions::Column::RoleId.eq(role.id.as_str()))
            .exec(&self.txn)
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
                .exec_without_returning(&self.txn)
                .await
                .map_err(from_db_err)?;
        }
        Ok(())
    }
}

fn scope_rows(scopes: &Scopes) -> impl Iterator<Item = (ResourceType, String)> + '_ {
    scopes
        .iter()
        .flat_map(|(t, ids)| ids.iter().map(move |id| (t, id.as_str().to_owned())))
}

#[async_trait]
impl Transaction for SeaTransaction {
    async fn lock_account(&self, id: &AccountId) -> DomainResult<Option<Account>> {
        find_account(&self.txn, id, true).await
    }

    async fn insert_account(&self, account: &Account) -> DomainResult<()> {
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
        .exec_without_returning(&self.txn)
        .await
        .map_err(from_db_err)?;
        Ok(())
    }

    async fn set_require_two_factor(&self, account: &AccountId, required: bool) -> DomainResult<()> {
        let result = accounts::Entity::update_many()
            .col_expr(accounts::Column::RequireTwoFactor, Expr::value(required))
            .filter(accounts::Column::Id.eq(account.as_str()))
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        expect_one(result.rows_affected, "update the account policy")
    }

    async fn insert_person(&self, person: &Person, at: DateTime<Utc>) -> DomainResult<()> {
        users::Entity::insert(users::ActiveModel {
            id: Set(person.user_id.as_str().to_owned()),
            email: Set(person.email.as_str().to_owned()),
            name: Set(person.name.clone()),
            created_at: Set(millis(at)),
        })
        .exec_without_returning(&self.txn)
        .await
        .map_err(from_db_err)?;
        Ok(())
    }

    async fn insert_membership(&self, m: &NewMembership) -> DomainResult<()> {
        memberships::Entity::insert(memberships::ActiveModel {
            account_id: Set(m.account_id.as_str().to_owned()),
            user_id: Set(m.user_id.as_str().to_owned()),
            role_id: Set(m.role_id.clone()),
            owner_slot: Set(m.is_owner.then_some(1)),
            status: Set(ACTIVE.to_owned()),
            invited_by: Set(m.invited_by.as_ref().map(|u| u.as_str().to_owned())),
            joined_at: Set(millis(m.joined_at)),
            last_sign_in_at: Set(None),
            updated_at: Set(millis(m.joined_at)),
        })
        .exec_without_returning(&self.txn)
        .await
        .map_err(from_db_err)?;
        self.write_membership_scopes(&m.account_id, &m.user_id, &m.scopes)
            .await
    }

    async fn insert_invitation(
        &self,
        invitation: &Invitation,
        role_id: &str,
        token_hash: &str,
    ) -> DomainResult<()> {
        invitations::Entity::insert(invitations::ActiveModel {
            id: Set(invitation.id.as_str().to_owned()),
            account_id: Set(invitation.account_id.as_str().to_owned()),
            email: Set(invitation.email.as_str().to_owned()),
            role_id: Set(Some(role_id.to_owned())),
            role_name: Set(invitation.role.clone()),
            state: Set(InvitationState::Pending.as_str().to_owned()),
            pending_email: Set(Some(invitation.email.as_str().to_owned())),
            token_hash: Set(token_hash.to_owned()),
            invited_by: Set(invitation.invited_by.as_str().to_owned()),
            message: Set(invitation.message.clone()),
            send_count: Set(i32::try_from(invitation.send_count).unwrap_or(i32::MAX)),
            expires_at: Set(millis(invitation.expires_at)),
            created_at: Set(millis(invitation.created_at)),
            updated_at: Set(millis(invitation.created_at)),
            accepted_by: Set(None),
        })
        .exec_without_returning(&self.txn)
        .await
        .map_err(from_db_err)?;
        self.write_invitation_scopes(&invitation.id, &invitation.scopes)
            .await
    }

    async fn reissue_invitation(
        &self,
        id: &InvitationId,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> DomainResult<()> {
        let result = invitations::Entity::update_many()
            .col_expr(invitations::Column::TokenHash, Expr::value(token_hash))
            .col_expr(invitations::Column::ExpiresAt, Expr::value(millis(expires_at)))
            .col_expr(
                invitations::Column::SendCount,
                Expr::col(invitations::Column::SendCount).add(1),
            )
            .col_expr(invitations::Column::UpdatedAt, Expr::value(millis(at)))
            .filter(invitations::Column::Id.eq(id.as_str()))
            .filter(invitations::Column::State.eq(InvitationState::Pending.as_str()))
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        expect_one(result.rows_affected, "reissue a pending invitation")
    }

    async fn update_invitation(
        &self,
        id: &InvitationId,
        role: &Role,
        scopes: &Scopes,
        at: DateTime<Utc>,
    ) -> DomainResult<()> {
        let result = invitations::Entity::update_many()
            .col_expr(invitations::Column::RoleId, Expr::value(role.id.as_str()))
            .col_expr(invitations::Column::RoleName, Expr::value(role.name.as_str()))
            .col_expr(invitations::Column::UpdatedAt, Expr::value(millis(at)))
            .filter(invitations::Column::Id.eq(id.as_str()))
            .filter(invitations::Column::State.eq(InvitationState::Pending.as_str()))
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        expect_one(result.rows_affected, "update a pending invitation")?;
        self.write_invitation_scopes(id, scopes).await
    }

    async fn finish_invitation(
        &self,
        id: &InvitationId,
        state: InvitationState,
        user: Option<&UserId>,
        at: DateTime<Utc>,
    ) -> DomainResult<()> {
        // Clearing pending_email frees the (account, email) slot for a new invitation.
        let result = invitations::Entity::update_many()
            .col_expr(invitations::Column::State, Expr::value(state.as_str()))
            .col_expr(
                invitations::Column::PendingEmail,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                invitations::Column::AcceptedBy,
                Expr::value(user.map(|u| u.as_str().to_owned())),
            )
            .col_expr(invitations::Column::UpdatedAt, Expr::value(millis(at)))
            .filter(invitations::Column::Id.eq(id.as_str()))
            .filter(invitations::Column::State.eq(InvitationState::Pending.as_str()))
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        expect_one(result.rows_affected, "end a pending invitation")
    }

    async fn set_limits(&self, account: &AccountId, limits: AccountLimits) -> DomainResult<()> {
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
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        expect_one(result.rows_affected, "set account limits")
    }

    async fn close_account(&self, account: &AccountId, at: DateTime<Utc>) -> DomainResult<()> {
        let result = accounts::Entity::update_many()
            .col_expr(accounts::Column::State, Expr::value(CLOSED))
            .col_expr(accounts::Column::ClosedAt, Expr::value(millis(at)))
            .filter(accounts::Column::Id.eq(account.as_str()))
            .filter(accounts::Column::State.eq(OPEN))
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        expect_one(result.rows_affected, "close an open account")
    }

    async fn update_membership(
        &self,
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
        if let Some(status) = change.status {
            let status = match status {
                MembershipStatus::Active => ACTIVE,
                MembershipStatus::Deactivated => DEACTIVATED,
            };
            update = update.col_expr(memberships::Column::Status, Expr::value(status));
        }
        let result = update.exec(&self.txn).await.map_err(from_db_err)?;
        expect_one(result.rows_affected, "update a membership")?;
        if let Some(scopes) = &change.scopes {
            self.write_membership_scopes(account, user, scopes).await?;
        }
        if let Some(grants) = change.grants {
            membership_grants::Entity::delete_many()
                .filter(membership_grants::Column::AccountId.eq(account.as_str()))
                .filter(membership_grants::Column::UserId.eq(user.as_str()))
                .exec(&self.txn)
                .await
                .map_err(from_db_err)?;
            for permission in grants.iter() {
                self.add_grant(account, user, permission).await?;
            }
        }
        Ok(())
    }

    async fn delete_membership(&self, account: &AccountId, user: &UserId) -> DomainResult<()> {
        // Scopes and grants go with it (ON DELETE CASCADE). The owner row is
        // never deleted: the filter makes that a no-op the check below reports.
        let result = memberships::Entity::delete_many()
            .filter(memberships::Column::AccountId.eq(account.as_str()))
            .filter(memberships::Column::UserId.eq(user.as_str()))
            .filter(memberships::Column::OwnerSlot.is_null())
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        expect_one(result.rows_affected, "delete a non-owner membership")
    }

    async fn move_ownership(
        &self,
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
            .exec(&self.txn)
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
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        expect_one(promoted.rows_affected, "promote the new owner")?;
        // The owner holds everything: scopes and extra grants no longer apply.
        membership_scopes::Entity::delete_many()
            .filter(membership_scopes::Column::AccountId.eq(account.as_str()))
            .filter(membership_scopes::Column::UserId.eq(to.as_str()))
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        membership_grants::Entity::delete_many()
            .filter(membership_grants::Column::AccountId.eq(account.as_str()))
            .filter(membership_grants::Column::UserId.eq(to.as_str()))
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        Ok(())
    }

    async fn record_sign_in(
        &self,
        account: &AccountId,
        user: &UserId,
        at: DateTime<Utc>,
    ) -> DomainResult<()> {
        let result = memberships::Entity::update_many()
            .col_expr(memberships::Column::LastSignInAt, Expr::value(Some(millis(at))))
            .filter(memberships::Column::AccountId.eq(account.as_str()))
            .filter(memberships::Column::UserId.eq(user.as_str()))
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        expect_one(result.rows_affected, "record a sign-in")
    }

    async fn insert_role(&self, account: &AccountId, role: &Role, at: DateTime<Utc>) -> DomainResult<()> {
        roles::Entity::insert(roles::ActiveModel {
            id: Set(role.id.clone()),
            account_id: Set(Some(account.as_str().to_owned())),
            name: Set(role.name.clone()),
            description: Set(role.description.clone()),
            builtin: Set(false),
            restricted: Set(role.restricted),
            created_at: Set(millis(at)),
        })
        .exec_without_returning(&self.txn)
        .await
        .map_err(from_db_err)?;
        self.write_role_permissions(role).await
    }

    async fn update_role(&self, role: &Role) -> DomainResult<()> {
        let result = roles::Entity::update_many()
            .col_expr(roles::Column::Description, Expr::value(role.description.as_str()))
            .filter(roles::Column::Id.eq(role.id.as_str()))
            .filter(roles::Column::Builtin.eq(false))
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        expect_one(result.rows_affected, "update a custom role")?;
        self.write_role_permissions(role).await
    }

    async fn delete_role(&self, role_id: &str) -> DomainResult<()> {
        let result = roles::Entity::delete_many()
            .filter(roles::Column::Id.eq(role_id))
            .filter(roles::Column::Builtin.eq(false))
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        expect_one(result.rows_affected, "delete a custom role")
    }

    async fn insert_access_request(&self, request: &AccessRequest) -> DomainResult<()> {
        access_requests::Entity::insert(access_requests::ActiveModel {
            id: Set(request.id.as_str().to_owned()),
            account_id: Set(request.account_id.as_str().to_owned()),
            user_id: Set(request.user_id.as_str().to_owned()),
            permission: Set(request.permission.name().to_owned()),
            note: Set(request.note.clone()),
            state: Set(AccessRequestState::Pending.as_str().to_owned()),
            pending_key: Set(Some(format!("{}/{}", request.user_id, request.permission))),
            decided_by: Set(None),
            created_at: Set(millis(request.created_at)),
            decided_at: Set(None),
        })
        .exec_without_returning(&self.txn)
        .await
        .map_err(from_db_err)?;
        Ok(())
    }

    async fn decide_access_request(
        &self,
        id: &AccessRequestId,
        state: AccessRequestState,
        by: &UserId,
        at: DateTime<Utc>,
    ) -> DomainResult<()> {
        let result = access_requests::Entity::update_many()
            .col_expr(access_requests::Column::State, Expr::value(state.as_str()))
            .col_expr(
                access_requests::Column::PendingKey,
                Expr::value(Option::<String>::None),
            )
            .col_expr(access_requests::Column::DecidedBy, Expr::value(by.as_str()))
            .col_expr(access_requests::Column::DecidedAt, Expr::value(millis(at)))
            .filter(access_requests::Column::Id.eq(id.as_str()))
            .filter(access_requests::Column::State.eq(AccessRequestState::Pending.as_str()))
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        expect_one(result.rows_affected, "decide a pending access request")
    }

    async fn add_grant(
        &self,
        account: &AccountId,
        user: &UserId,
        permission: Permission,
    ) -> DomainResult<()> {
        membership_grants::Entity::insert(membership_grants::ActiveModel {
            account_id: Set(account.as_str().to_owned()),
            user_id: Set(user.as_str().to_owned()),
            permission: Set(permission.name().to_owned()),
        })
        .on_conflict(
            OnConflict::columns([
                membership_grants::Column::AccountId,
                membership_grants::Column::UserId,
                membership_grants::Column::Permission,
            ])
            // A no-op update: portable where MySQL has no ON CONFLICT DO NOTHING.
            .update_column(membership_grants::Column::Permission)
            .to_owned(),
        )
        .exec_without_returning(&self.txn)
        .await
        .map_err(from_db_err)?;
        Ok(())
    }

    async fn save_shared_template(&self, shared: &SharedTemplate) -> DomainResult<()> {
        self.delete_shared_template(&shared.parent_account_id, &shared.template_id)
            .await?;
        let parent = shared.parent_account_id.as_str().to_owned();
        let template = shared.template_id.as_str().to_owned();
        shared_templates::Entity::insert(shared_templates::ActiveModel {
            parent_account_id: Set(parent.clone()),
            template_id: Set(template.clone()),
            all_children: Set(shared.all_children),
            shared_by: Set(shared.shared_by.as_str().to_owned()),
            created_at: Set(millis(shared.created_at)),
        })
        .exec_without_returning(&self.txn)
        .await
        .map_err(from_db_err)?;
        let children: Vec<_> = shared
            .child_account_ids
            .iter()
            .map(|child| shared_template_children::ActiveModel {
                parent_account_id: Set(parent.clone()),
                template_id: Set(template.clone()),
                child_account_id: Set(child.as_str().to_owned()),
            })
            .collect();
        if !children.is_empty() {
            shared_template_children::Entity::insert_many(children)
                .exec_without_returning(&self.txn)
                .await
                .map_err(from_db_err)?;
        }
        Ok(())
    }

    async fn delete_shared_template(&self, parent: &AccountId, template: &ResourceId) -> DomainResult<bool> {
        shared_template_children::Entity::delete_many()
            .filter(shared_template_children::Column::ParentAccountId.eq(parent.as_str()))
            .filter(shared_template_children::Column::TemplateId.eq(template.as_str()))
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        let result = shared_templates::Entity::delete_many()
            .filter(shared_templates::Column::ParentAccountId.eq(parent.as_str()))
            .filter(shared_templates::Column::TemplateId.eq(template.as_str()))
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn append_activity(&self, entry: &ActivityEntry) -> DomainResult<()> {
        activity_log::Entity::insert(activity_log::ActiveModel {
            account_id: Set(entry.account_id.as_str().to_owned()),
            actor: Set(entry.actor.as_str().to_owned()),
            action: Set(entry.action.to_owned()),
            target: Set(entry.target.chars().take(255).collect()),
            details: Set(entry.details.to_string()),
            created_at: Set(millis(entry.at)),
            ..Default::default()
        })
        .exec_without_returning(&self.txn)
        .await
        .map_err(from_db_err)?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> DomainResult<()> {
        self.txn.commit().await.map_err(from_db_err)
    }
}

fn expect_one(rows_affected: u64, what: &str) -> DomainResult<()> {
    if rows_affected == 1 {
        Ok(())
    } else {
        Err(DomainError::Internal(format!(
            "expected to {what}, but {rows_affected} rows changed"
        )))
    }
}

/// Writes the permission catalogue and the built-in roles from code into the
/// database, idempotently: code is the single source, the tables mirror it.
pub async fn seed_catalogue(db: &DatabaseConnection, now: DateTime<Utc>) -> DomainResult<()> {
    let txn = db.begin().await.map_err(from_db_err)?;
    for (name, description) in CATALOGUE {
        permissions::Entity::insert(permissions::ActiveModel {
            name: Set((*name).to_owned()),
            description: Set((*description).to_owned()),
        })
        .on_conflict(
            OnConflict::column(permissions::Column::Name)
                .update_column(permissions::Column::Description)
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await
        .map_err(from_db_err)?;
    }
    for role in BUILTIN_ROLES {
        roles::Entity::insert(roles::ActiveModel {
            id: Set(role.name.to_owned()),
            account_id: Set(None),
            name: Set(role.name.to_owned()),
            description: Set(role.description.to_owned()),
            builtin: Set(true),
            restricted: Set(role.restricted),
            created_at: Set(millis(now)),
        })
        .on_conflict(
            OnConflict::column(roles::Column::Id)
                .update_columns([roles::Column::Description, roles::Column::Restricted])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await
        .map_err(from_db_err)?;
        role_permissions::Entity::delete_many()
            .filter(role_permissions::Column::RoleId.eq(role.name))
            .exec(&txn)
            .await
            .map_err(from_db_err)?;
        let rows: Vec<_> = role
            .permissions()
            .iter()
            .map(|p| role_permissions::ActiveModel {
                role_id: Set(role.name.to_owned()),
                permission: Set(p.name().to_owned()),
            })
            .collect();
        role_permissions::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await
            .map_err(from_db_err)?;
    }
    txn.commit().await.map_err(from_db_err)
}
