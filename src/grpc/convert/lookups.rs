//! LookupAccounts, LookupResources and LookupMembers: the questions in, the
//! lookups out.

use super::consistency::{consistency, token_to_pb};
use super::decisions::{question, reason_to_pb, type_refused};
use super::{page, present, resource_type};
use crate::domain::DomainError;
use crate::domain::ids::{AccountId, ResourceId, UserId, Violations};
use crate::domain::model::{
    AccountLookup, Consistency, MemberLookup, ResourceFilter, ResourceLookup, ResourceType,
};
use crate::domain::permissions::Permission;
use crate::domain::service::{LookupAccounts, LookupMembers, MemberPage, Page};
use crate::grpc::pb;

/// The permission a lookup names, with a resource type it must reach.
fn permission_on(
    v: &mut Violations,
    permission: &str,
    raw_type: i32,
    type_required: bool,
) -> Option<(Permission, Option<ResourceType>)> {
    let permission = v.check(Permission::parse("permission", permission));
    let resource_type = if type_required || raw_type != pb::ResourceType::Unspecified as i32 {
        Some(v.check(resource_type("resource_type", raw_type))?)
    } else {
        None
    };
    let permission = permission?;
    if let Some(resource_type) = resource_type
        && !resource_type.admits(permission)
    {
        v.push(type_refused(
            "resource_type".to_owned(),
            permission,
            resource_type,
        ));
        return None;
    }
    Some((permission, resource_type))
}

impl TryFrom<pb::LookupAccountsRequest> for LookupAccounts {
    type Error = DomainError;

    fn try_from(raw: pb::LookupAccountsRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let user_id = v.check(UserId::parse_owned("user_id", raw.user_id));
        let asked = permission_on(&mut v, &raw.permission, raw.resource_type, false);
        let consistency = v.check(consistency("consistency", raw.consistency.as_ref()));
        let page = page(&mut v, raw.page_size, &raw.page_token);
        v.finish()?;
        let (permission, resource_type) = present(asked)?;
        Ok(Self {
            user_id: present(user_id)?,
            permission,
            resource_type,
            mfa_verified: raw.context.as_ref().is_some_and(|c| c.mfa_verified),
            consistency: present(consistency)?,
            page: present(page)?,
        })
    }
}

/// LookupResources: whose, where, what, on which type, and how fresh.
#[derive(Debug)]
pub struct ResourcesQuery {
    /// Whose.
    pub user_id: UserId,
    /// Where.
    pub account_id: AccountId,
    /// What.
    pub permission: Permission,
    /// On resources of this type.
    pub resource_type: ResourceType,
    /// The session passed two-factor.
    pub mfa_verified: bool,
    /// How fresh the answer must be.
    pub consistency: Consistency,
}

impl TryFrom<pb::LookupResourcesRequest> for ResourcesQuery {
    type Error = DomainError;

    fn try_from(raw: pb::LookupResourcesRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let user_id = v.check(UserId::parse_owned("user_id", raw.user_id));
        let account_id = v.check(AccountId::parse_owned("account_id", raw.account_id));
        let asked = permission_on(&mut v, &raw.permission, raw.resource_type, true);
        let consistency = v.check(consistency("consistency", raw.consistency.as_ref()));
        v.finish()?;
        let (permission, resource_type) = present(asked)?;
        Ok(Self {
            user_id: present(user_id)?,
            account_id: present(account_id)?,
            permission,
            resource_type: present(resource_type)?,
            mfa_verified: raw.context.as_ref().is_some_and(|c| c.mfa_verified),
            consistency: present(consistency)?,
        })
    }
}

impl TryFrom<pb::LookupMembersRequest> for LookupMembers {
    type Error = DomainError;

    fn try_from(raw: pb::LookupMembersRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let account_id = v.check(AccountId::parse_owned("account_id", raw.account_id));
        let asked = question(&mut v, &"", &raw.permission, raw.resource);
        let consistency = v.check(consistency("consistency", raw.consistency.as_ref()));
        let page = page(&mut v, raw.page_size, &raw.page_token);
        v.finish()?;
        let (permission, resource) = present(asked)?;
        Ok(Self {
            account_id: present(account_id)?,
            permission,
            resource,
            consistency: present(consistency)?,
            page: present(page)?,
        })
    }
}

fn ids(ids: Vec<ResourceId>) -> Vec<String> {
    ids.into_iter().map(|id| id.as_str().to_owned()).collect()
}

impl From<ResourceFilter> for pb::ResourceFilter {
    fn from(filter: ResourceFilter) -> Self {
        match filter {
            ResourceFilter::All { excluded, shared } => Self {
                kind: pb::ResourceFilterKind::All.into(),
                excluded_ids: ids(excluded),
                shared_ids: ids(shared),
                ..Self::default()
            },
            ResourceFilter::Only { ids: only, shared } => Self {
                kind: pb::ResourceFilterKind::Only.into(),
                resource_ids: ids(only),
                shared_ids: ids(shared),
                ..Self::default()
            },
            ResourceFilter::None => Self {
                kind: pb::ResourceFilterKind::None.into(),
                ..Self::default()
            },
        }
    }
}

impl From<ResourceLookup> for pb::LookupResourcesResponse {
    fn from(lookup: ResourceLookup) -> Self {
        Self {
            filter: Some(lookup.filter.into()),
            reason: reason_to_pb(lookup.reason).into(),
            role: lookup.role.unwrap_or_default(),
            via_parent_account_id: lookup.via_parent.map(|p| p.to_string()).unwrap_or_default(),
            computed_at: token_to_pb(&lookup.computed_at),
        }
    }
}

impl From<Page<AccountLookup>> for pb::LookupAccountsResponse {
    fn from(page: Page<AccountLookup>) -> Self {
        Self {
            accounts: page
                .rows
                .into_iter()
                .map(|row| pb::AccountLookup {
                    account_id: row.account.to_string(),
                    role: row.role,
                    via_parent_account_id: row.via_parent.map(|p| p.to_string()).unwrap_or_default(),
                    computed_at: token_to_pb(&row.computed_at),
                    resources: row.resources.map(Into::into),
                })
                .collect(),
            next_page_token: page.next_page_token,
        }
    }
}

impl From<MemberPage> for pb::LookupMembersResponse {
    fn from(members: MemberPage) -> Self {
        Self {
            members: members
                .page
                .rows
                .into_iter()
                .map(|row: MemberLookup| pb::MemberLookup {
                    user_id: row.user.to_string(),
                    role: row.role,
                    via_parent_account_id: row.via_parent.map(|p| p.to_string()).unwrap_or_default(),
                })
                .collect(),
            next_page_token: members.page.next_page_token,
            computed_at: token_to_pb(&members.computed_at),
        }
    }
}
