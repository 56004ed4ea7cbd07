//! Roles: list, create, update and delete an account's custom roles.

use super::accounts::AccountTarget;
use super::{optional_id, permission_set, present};
use crate::domain::DomainError;
use crate::domain::ids::{AccountId, RoleName, UserId, Violations, parse_role_description};
use crate::domain::model::Role;
use crate::domain::service::{CreateRole, UpdateRole};
use crate::grpc::pb;

impl TryFrom<pb::ListRolesRequest> for AccountTarget {
    type Error = DomainError;

    fn try_from(raw: pb::ListRolesRequest) -> Result<Self, Self::Error> {
        Self::parse(&raw.actor_user_id, &raw.account_id)
    }
}

/// DeleteRole: who deletes which role of which account.
#[derive(Debug)]
pub struct RoleTarget {
    /// Who asks.
    pub actor: UserId,
    /// The account the role belongs to.
    pub account_id: AccountId,
    /// The role's name.
    pub name: RoleName,
}

impl TryFrom<pb::DeleteRoleRequest> for RoleTarget {
    type Error = DomainError;

    fn try_from(raw: pb::DeleteRoleRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let name = v.check(RoleName::parse("name", &raw.name));
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            name: present(name)?,
        })
    }
}

impl TryFrom<pb::CreateRoleRequest> for CreateRole {
    type Error = DomainError;

    fn try_from(raw: pb::CreateRoleRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let name = v.check(RoleName::parse("name", &raw.name));
        let description = v.check(parse_role_description("description", &raw.description));
        let permissions = permission_set(&mut v, "permissions", &raw.permissions);
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            name: present(name)?,
            description: present(description)?,
            permissions: present(permissions)?,
        })
    }
}

impl TryFrom<pb::UpdateRoleRequest> for UpdateRole {
    type Error = DomainError;

    fn try_from(raw: pb::UpdateRoleRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let name = v.check(RoleName::parse("name", &raw.name));
        let description = optional_id(&mut v, "description", &raw.description, parse_role_description);
        let permissions = match &raw.permissions {
            Some(list) => permission_set(&mut v, "permissions.permissions", &list.permissions).map(Some),
            None => Some(None),
        };
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            name: present(name)?,
            description,
            permissions: present(permissions)?,
        })
    }
}

impl From<Role> for pb::Role {
    fn from(role: Role) -> Self {
        Self {
            permissions: role.permissions.names().into_iter().map(str::to_owned).collect(),
            name: role.name.to_string(),
            description: role.description,
            builtin: role.builtin,
            restricted: role.restricted,
        }
    }
}
