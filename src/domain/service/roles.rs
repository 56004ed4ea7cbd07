//! Custom roles: list, create, update, delete.

use super::UseCases;
use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::{AccountId, RoleName, UserId};
use crate::domain::model::{ActivityDetails, RolePermissions};
use crate::domain::model::{Role, Written};
use crate::domain::permissions::{Permission, PermissionSet, builtin_role};
use crate::domain::ports::{Reads, Transaction};
use crate::domain::rules::guards;

/// Creates a custom role.
#[derive(Clone, Debug)]
pub struct CreateRole {
    /// Who creates it.
    pub actor: UserId,
    /// Whose role it is.
    pub account_id: AccountId,
    /// Unique in the account, not a built-in name.
    pub name: RoleName,
    /// One line for role pickers.
    pub description: String,
    /// Its permissions (account.view is added).
    pub permissions: PermissionSet,
}

/// Changes a custom role.
#[derive(Clone, Debug)]
pub struct UpdateRole {
    /// Who changes it.
    pub actor: UserId,
    /// Whose role it is.
    pub account_id: AccountId,
    /// Which role.
    pub name: RoleName,
    /// New description.
    pub description: Option<String>,
    /// New permissions.
    pub permissions: Option<PermissionSet>,
}

/// Why an owner-only permission never goes into a custom role.
const OWNER_ONLY_IN_ROLE: &str =
    "account.transfer belongs to the owner alone and cannot be put into a custom role";

impl UseCases {
    /// The role called `name` in `account`: built-in or custom.
    pub(super) async fn resolve_role(
        reads: &dyn Reads,
        account: &AccountId,
        name: &RoleName,
    ) -> DomainResult<Role> {
        reads.role_by_name(account, name).await?.ok_or_else(|| {
            DomainError::invalid(
                "role",
                format!("'{name}' is neither a built-in role nor a custom role of account '{account}'"),
            )
        })
    }

    /// Built-in roles, then the account's custom roles, each with its permissions.
    #[tracing::instrument(level = "debug", skip(self), fields(actor = %actor, account_id = %account_id))]
    pub async fn list_roles(&self, actor: &UserId, account_id: &AccountId) -> DomainResult<Vec<Role>> {
        let tx = self.store.begin().await?;
        self.require(tx.as_ref(), actor, account_id, Permission::ACCOUNT_VIEW)
            .await?;
        tx.roles(account_id).await
    }

    async fn custom_role(
        &self,
        tx: &dyn Transaction,
        account_id: &AccountId,
        name: &RoleName,
    ) -> DomainResult<Role> {
        if builtin_role(name.as_str()).is_some() {
            return Err(DomainError::precondition(
                ErrorReason::BuiltinRoleImmutable,
                format!(
                    "'{name}' is a built-in role: it cannot be changed or deleted; create a custom role instead"
                ),
            ));
        }
        tx.role_by_name(account_id, name)
            .await?
            .filter(|role| !role.builtin)
            .ok_or_else(|| DomainError::not_found("role", name.as_str()))
    }

    /// Creates a custom role: any subset of what the actor holds, never owner-only permissions.
    #[tracing::instrument(level = "debug", skip(self, cmd), fields(actor = %cmd.actor, account_id = %cmd.account_id, role = %cmd.name))]
    pub async fn create_role(&self, cmd: CreateRole) -> DomainResult<Written<Role>> {
        let now = super::now();
        guards::owner_only_refused(cmd.permissions, "permissions", OWNER_ONLY_IN_ROLE)?;
        let tx = self.store.begin().await?;
        self.lock_open_account(tx.as_ref(), &cmd.account_id).await?;
        let actor = self
            .require(tx.as_ref(), &cmd.actor, &cmd.account_id, Permission::USERS_EDIT)
            .await?;
        if builtin_role(cmd.name.as_str()).is_some() {
            return Err(DomainError::exists(
                ErrorReason::RoleExists,
                format!("'{}' is a built-in role name: choose another name", cmd.name),
            ));
        }
        if tx.role_by_name(&cmd.account_id, &cmd.name).await?.is_some() {
            return Err(DomainError::exists(
                ErrorReason::RoleExists,
                format!(
                    "account '{}' already has a role named '{}'",
                    cmd.account_id, cmd.name
                ),
            ));
        }
        let permissions = cmd.permissions.with_implicit();
        guards::escalation_refused(&actor, permissions)?;
        let role = Role {
            id: uuid::Uuid::new_v4().simple().to_string(),
            name: cmd.name.clone(),
            description: cmd.description.clone(),
            permissions,
            builtin: false,
            // Mailjet counts custom roles among the limited "accesses".
            restricted: true,
        };
        tx.insert_role(&cmd.account_id, &role, now).await?;
        tx.append_activity(&self.activity(
            &cmd.account_id,
            &cmd.actor,
            role.name.as_str(),
            ActivityDetails::RoleCreate(RolePermissions::of(permissions)),
            now,
        ))
        .await?;
        let token = self.commit(tx).await?;
        Ok(Written::new(role, token))
    }

    /// Changes a custom role; its members hold the new permissions as soon as this returns.
    #[tracing::instrument(level = "debug", skip(self, cmd), fields(actor = %cmd.actor, account_id = %cmd.account_id, role = %cmd.name))]
    pub async fn update_role(&self, cmd: UpdateRole) -> DomainResult<Written<Role>> {
        let now = super::now();
        if let Some(permissions) = cmd.permissions {
            guards::owner_only_refused(permissions, "permissions", OWNER_ONLY_IN_ROLE)?;
        }
        let tx = self.store.begin().await?;
        self.lock_open_account(tx.as_ref(), &cmd.account_id).await?;
        let actor = self
            .require(tx.as_ref(), &cmd.actor, &cmd.account_id, Permission::USERS_EDIT)
            .await?;
        let mut role = self.custom_role(tx.as_ref(), &cmd.account_id, &cmd.name).await?;
        // Both sides: no granting what one lacks, no stripping a role that outranks one.
        let before = role.permissions;
        guards::escalation_refused(&actor, before)?;
        if let Some(permissions) = cmd.permissions {
            role.permissions = permissions.with_implicit();
            guards::escalation_refused(&actor, role.permissions)?;
        }
        // Its holders gain or lose the change over their own scopes.
        let holders = tx.role_holders(&role.id).await?;
        guards::role_edit_refused(&actor, before, role.permissions, &holders)?;
        if let Some(description) = &cmd.description {
            role.description.clone_from(description);
        }
        tx.update_role(&role).await?;
        tx.append_activity(&self.activity(
            &cmd.account_id,
            &cmd.actor,
            role.name.as_str(),
            ActivityDetails::RoleUpdate(RolePermissions::of(role.permissions)),
            now,
        ))
        .await?;
        let token = self.commit(tx).await?;
        Ok(Written::new(role, token))
    }

    /// Deletes a custom role; refused while members or invitations use it.
    #[tracing::instrument(level = "debug", skip(self), fields(actor = %actor, account_id = %account_id, role = %name))]
    pub async fn delete_role(
        &self,
        actor: &UserId,
        account_id: &AccountId,
        name: &RoleName,
    ) -> DomainResult<Written<()>> {
        let now = super::now();
        let tx = self.store.begin().await?;
        self.lock_open_account(tx.as_ref(), account_id).await?;
        let actor_access = self
            .require(tx.as_ref(), actor, account_id, Permission::USERS_EDIT)
            .await?;
        let role = self.custom_role(tx.as_ref(), account_id, name).await?;
        guards::escalation_refused(&actor_access, role.permissions)?;
        let holders = tx.role_holders(&role.id).await?;
        if !holders.is_empty() {
            // Who holds it only for an actor who may see people (users.view).
            let who = if actor_access.permissions.contains(Permission::USERS_VIEW) {
                let mut names: Vec<&str> = holders.iter().map(|h| h.email.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                names.join(", ")
            } else {
                format!("{} members or invitations", holders.len())
            };
            return Err(DomainError::precondition(
                ErrorReason::RoleInUse,
                format!(
                    "role '{name}' is used by {who}: give them another role (or revoke their invitations) first"
                ),
            ));
        }
        self.require_recent_sign_in(actor, &format!("delete role '{name}'"))?;
        tx.delete_role(&role.id).await?;
        tx.append_activity(&self.activity(
            account_id,
            actor,
            name.as_str(),
            ActivityDetails::RoleDelete,
            now,
        ))
        .await?;
        let token = self.commit(tx).await?;
        Ok(Written::new((), token))
    }
}
