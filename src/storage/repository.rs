//! The only place with queries: implements the domain's store ports on SeaORM.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use crate::domain::ids::{AccountId, Email, InvitationId, ResourceId, UserId};
use crate::domain::model::{
    AccessFacts, Account, AccountFacts, AccountState, ActivityEntry, Invitation, InvitationState,
    MemberAccess, MemberRow, MemberRowStatus, MembershipStatus, Person, ResourceType, Role, Scopes,
    SharedTemplate,
};
use crate::domain::permissions::{BUILTIN_ROLES, CATALOGUE, PermissionSet};
use crate::domain::ports::{NewMembership, Reads, Store, Transaction};
use crate::domain::{DomainError, DomainResult};
use crate::storage::entity::{
    accounts, activity_log, invitation_scopes, invitations, membership_grants, membership_scopes,
    memberships, permissions, role_permissions, roles, shared_template_children, shared_templates, users,
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

async fn to_invitation<C: ConnectionTrait>(c: &C, row: invitations::Model) -> DomainResult<Invitation> {
    let role = role_names(c, [row.role_id.clone()])
        .await?
        .remove(&row.role_id)
        .ok_or_else(|| DomainError::Internal(format!("invitation role '{}' missing", row.role_id)))?;
    let scopes = invitation_scopes_of(c, vec![row.id.clone()])
        .await?
        .remove(&row.id)
        .unwrap_or_default();
    Ok(Invitation {
        state: stored_invitation_state(&row.state)?,
        expires_at: time(row.expires_at)?,
        created_at: time(row.created_at)?,
        send_count: u32::try_from(row.send_count).unwrap_or(0),
        id: InvitationId::from_trusted(row.id),
        account_id: AccountId::from_trusted(row.account_id),
        email: Email::from_trusted(row.email),
        role,
        scopes,
        invited_by: UserId::from_trusted(row.invited_by),
        message: row.message,
    })
}

async fn access_facts<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    user: &UserId,
) -> DomainResult<AccessFacts> {
    let Some(account_row) = accounts::Entity::find_by_id(account.as_str().to_owned())
        .one(c)
        .await
        .map_err(from_db_err)?
    else {
        return Ok(AccessFacts {
            account: None,
            membership: None,
            owns_parent: false,
        });
    };
    let membership_row =
        memberships::Entity::find_by_id((account.as_str().to_owned(), user.as_str().to_owned()))
            .one(c)
            .await
            .map_err(from_db_err)?;
    let membership = match membership_row {
        None => None,
        Some(row) => Some(member_access(c, row).await?),
    };
    let owns_parent = match (&account_row.parent_id, &membership) {
        (Some(parent), None) | (Some(parent), Some(MemberAccess { is_owner: false, .. })) => {
            owns_open_account(c, parent, user).await?
        }
        _ => false,
    };
    Ok(AccessFacts {
        account: Some(AccountFacts {
            state: account_state(&account_row.state)?,
            parent_id: account_row.parent_id.map(AccountId::from_trusted),
            require_two_factor: account_row.require_two_factor,
        }),
        membership,
        owns_parent,
    })
}

async fn member_access<C: ConnectionTrait>(c: &C, row: memberships::Model) -> DomainResult<MemberAccess> {
    let status = membership_status(&row.status)?;
    let role = roles::Entity::find_by_id(row.role_id.clone())
        .one(c)
        .await
        .map_err(from_db_err)?
        .ok_or_else(|| DomainError::Internal(format!("membership role '{}' missing", row.role_id)))?;
    if status == MembershipStatus::Deactivated {
        // A deactivated member is denied before permissions matter: skip the reads.
        return Ok(MemberAccess {
            role: role.name,
            is_owner: row.owner_slot.is_some(),
            status,
            permissions: PermissionSet::EMPTY,
            scopes: Scopes::default(),
        });
    }
    let grants = membership_grants::Entity::find()
        .filter(membership_grants::Column::AccountId.eq(row.account_id.as_str()))
        .filter(membership_grants::Column::UserId.eq(row.user_id.as_str()))
        .all(c)
        .await
        .map_err(from_db_err)?;
    let permissions = role_permission_set(c, &row.role_id)
        .await?
        .union(PermissionSet::from_names(
            grants.iter().map(|g| g.permission.as_str()),
        ));
    let scopes = membership_scopes_of(c, &row.account_id, Some(&row.user_id))
        .await?
        .remove(&row.user_id)
        .unwrap_or_default();
    Ok(MemberAccess {
        role: role.name,
        is_owner: row.owner_slot.is_some(),
        status,
        permissions,
        scopes,
    })
}

async fn owns_open_account<C: ConnectionTrait>(c: &C, account: &str, user: &UserId) -> DomainResult<bool> {
    let owner = memberships::Entity::find()
        .filter(memberships::Column::AccountId.eq(account))
        .filter(memberships::Column::UserId.eq(user.as_str()))
        .filter(memberships::Column::OwnerSlot.eq(1))
        .one(c)
        .await
        .map_err(from_db_err)?;
    if owner.is_none() {
        return Ok(false);
    }
    let open = accounts::Entity::find_by_id(account.to_owned())
        .one(c)
        .await
        .map_err(from_db_err)?
        .is_some_and(|a| a.state == OPEN);
    Ok(open)
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
    let names = role_names(
        c,
        members
            .iter()
            .map(|m| m.role_id.clone())
            .chain(pending.iter().map(|i| i.role_id.clone())),
    )
    .await?;
    let role_name = |id: &str| {
        names
            .get(id)
            .cloned()
            .ok_or_else(|| DomainError::Internal(format!("role '{id}' missing")))
    };
    let mut member_scopes = membership_scopes_of(c, account.as_str(), None).await?;
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
            user_id: Some(UserId::from_trusted(m.user_id)),
        });
    }
    for i in pending {
        let expired = time(i.expires_at)? <= now;
        rows.push(MemberRow {
            user_id: None,
            name: String::new(),
            email: Email::from_trusted(i.email),
            role: role_name(&i.role_id)?,
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
                let row = invitations::Entity::find()
                    .filter(invitations::Column::AccountId.eq(account.as_str()))
                    .filter(invitations::Column::PendingEmail.eq(email.as_str()))
                    .one(&self.$conn)
                    .await
                    .map_err(from_db_err)?;
                match row {
                    Some(row) => to_invitation(&self.$conn, row).await.map(Some),
                    None => Ok(None),
                }
            }

            async fn invitation_by_token_hash(&self, token_hash: &str) -> DomainResult<Option<Invitation>> {
                let row = invitations::Entity::find()
                    .filter(invitations::Column::TokenHash.eq(token_hash))
                    .one(&self.$conn)
                    .await
                    .map_err(from_db_err)?;
                match row {
                    Some(row) => to_invitation(&self.$conn, row).await.map(Some),
                    None => Ok(None),
                }
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
        let txn = self.db.begin().await.map_err(from_db_err)?;
        Ok(Box::new(SeaTransaction { txn }))
    }
}

// === impl SeaTransaction ===

/// One database transaction; rolled back when dropped uncommitted.
pub struct SeaTransaction {
    txn: DatabaseTransaction,
}

impl_reads!(SeaTransaction, txn);

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
        let scopes: Vec<_> = scope_rows(&m.scopes)
            .map(|(t, id)| membership_scopes::ActiveModel {
                account_id: Set(m.account_id.as_str().to_owned()),
                user_id: Set(m.user_id.as_str().to_owned()),
                resource_type: Set(t.as_str().to_owned()),
                resource_id: Set(id),
            })
            .collect();
        if !scopes.is_empty() {
            membership_scopes::Entity::insert_many(scopes)
                .exec_without_returning(&self.txn)
                .await
                .map_err(from_db_err)?;
        }
        Ok(())
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
            role_id: Set(role_id.to_owned()),
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
        let scopes: Vec<_> = scope_rows(&invitation.scopes)
            .map(|(t, id)| invitation_scopes::ActiveModel {
                invitation_id: Set(invitation.id.as_str().to_owned()),
                resource_type: Set(t.as_str().to_owned()),
                resource_id: Set(id),
            })
            .collect();
        if !scopes.is_empty() {
            invitation_scopes::Entity::insert_many(scopes)
                .exec_without_returning(&self.txn)
                .await
                .map_err(from_db_err)?;
        }
        Ok(())
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

    async fn accept_invitation(
        &self,
        id: &InvitationId,
        user: &UserId,
        at: DateTime<Utc>,
    ) -> DomainResult<()> {
        let result = invitations::Entity::update_many()
            .col_expr(
                invitations::Column::State,
                Expr::value(InvitationState::Accepted.as_str()),
            )
            .col_expr(
                invitations::Column::PendingEmail,
                Expr::value(Option::<String>::None),
            )
            .col_expr(invitations::Column::AcceptedBy, Expr::value(user.as_str()))
            .col_expr(invitations::Column::UpdatedAt, Expr::value(millis(at)))
            .filter(invitations::Column::Id.eq(id.as_str()))
            .filter(invitations::Column::State.eq(InvitationState::Pending.as_str()))
            .exec(&self.txn)
            .await
            .map_err(from_db_err)?;
        expect_one(result.rows_affected, "accept a pending invitation")
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
