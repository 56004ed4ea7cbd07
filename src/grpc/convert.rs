//! Conversions at the edge: protobuf requests into validated domain commands
//! (every bad field reported at once), domain values back into protobuf.

use chrono::{DateTime, Utc};

use crate::domain::DomainError;
use crate::domain::error::FieldViolation;
use crate::domain::ids::{
    AccessRequestId, AccountId, Email, InvitationId, ResourceId, UserId, Violations, parse_name, parse_note,
};
use crate::domain::model::{
    AccessRequest, AccessRequestState, Account, AccountAccess, AccountLimits, AccountState, ActivityFilter,
    ActivityRecord, Check, Decision, EffectivePermissions, Invitation, InvitationState, MemberRow,
    MemberRowStatus, Person, Reason, Resource, ResourceType, Role, Scopes, SharedTemplate,
};
use crate::domain::page::PageRequest;
use crate::domain::permissions::{Permission, PermissionSet};
use crate::domain::service::{
    AcceptInvitation, CreateAccount, CreateRole, Invite, InviteTarget, ListAccessRequests, ListAccounts,
    ListActivity, ListInvitations, ListSharedTemplates, ListUsers, RequestAccess, ShareTemplate,
    UnshareTemplate, UpdateInvitation, UpdateMember, UpdateRole,
};
use crate::grpc::pb;

fn field(prefix: &str, name: &str) -> String {
    format!("{prefix}{name}")
}

fn optional_id<T>(
    v: &mut Violations,
    name: &str,
    raw: &str,
    parse: fn(&str, &str) -> Result<T, FieldViolation>,
) -> Option<T> {
    if raw.trim().is_empty() {
        None
    } else {
        v.check(parse(name, raw))
    }
}

fn page(v: &mut Violations, page_size: i32, page_token: &str) -> Option<PageRequest> {
    match PageRequest::parse(page_size, page_token) {
        Ok(page) => Some(page),
        Err(violations) => {
            for violation in violations {
                v.push(violation);
            }
            None
        }
    }
}

/// Reads a value that was certainly produced when the violations are empty.
fn present<T>(value: Option<T>) -> Result<T, DomainError> {
    value.ok_or_else(|| DomainError::Internal("validated field missing".into()))
}

fn resource_type(prefix: &str, raw: i32) -> Result<ResourceType, FieldViolation> {
    match pb::ResourceType::try_from(raw) {
        Ok(pb::ResourceType::List) => Ok(ResourceType::List),
        Ok(pb::ResourceType::Campaign) => Ok(ResourceType::Campaign),
        Ok(pb::ResourceType::Automation) => Ok(ResourceType::Automation),
        Ok(pb::ResourceType::Segment) => Ok(ResourceType::Segment),
        Ok(pb::ResourceType::Template) => Ok(ResourceType::Template),
        Ok(pb::ResourceType::SuppressionList) => Ok(ResourceType::SuppressionList),
        Ok(pb::ResourceType::Unspecified) | Err(_) => Err(FieldViolation::new(
            prefix,
            "must name a resource type (RESOURCE_TYPE_LIST, RESOURCE_TYPE_TEMPLATE, ...)",
        )),
    }
}

fn resource_type_to_pb(resource_type: ResourceType) -> pb::ResourceType {
    match resource_type {
        ResourceType::List => pb::ResourceType::List,
        ResourceType::Campaign => pb::ResourceType::Campaign,
        ResourceType::Automation => pb::ResourceType::Automation,
        ResourceType::Segment => pb::ResourceType::Segment,
        ResourceType::Template => pb::ResourceType::Template,
        ResourceType::SuppressionList => pb::ResourceType::SuppressionList,
    }
}

fn resource(v: &mut Violations, prefix: &str, raw: Option<&pb::Resource>) -> Option<Option<Resource>> {
    let Some(raw) = raw else {
        return Some(None);
    };
    let resource_type = v.check(resource_type(&field(prefix, "resource.type"), raw.r#type));
    let id = v.check(ResourceId::parse(&field(prefix, "resource.id"), &raw.id));
    Some(Some(Resource {
        resource_type: resource_type?,
        id: id?,
    }))
}

fn scopes(v: &mut Violations, name: &str, raw: &[pb::Scope]) -> Option<Scopes> {
    let mut entries = Vec::with_capacity(raw.len());
    let mut ok = true;
    for (i, scope) in raw.iter().enumerate() {
        let prefix = format!("{name}[{i}]");
        let resource_type = v.check(resource_type(
            &format!("{prefix}.resource_type"),
            scope.resource_type,
        ));
        let mut ids = Vec::with_capacity(scope.resource_ids.len());
        for (j, id) in scope.resource_ids.iter().enumerate() {
            match v.check(ResourceId::parse(&format!("{prefix}.resource_ids[{j}]"), id)) {
                Some(id) => ids.push(id),
                None => ok = false,
            }
        }
        match resource_type {
            Some(resource_type) => entries.push((resource_type, ids)),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    v.check(Scopes::build(name, entries))
}

fn person(v: &mut Violations, name: &str, raw: Option<&pb::Person>) -> Option<Person> {
    let Some(raw) = raw else {
        v.push(FieldViolation::new(name, "is required (user_id, email, name)"));
        return None;
    };
    let user_id = v.check(UserId::parse(&format!("{name}.user_id"), &raw.user_id));
    let email = v.check(Email::parse(&format!("{name}.email"), &raw.email));
    let display = v.check(parse_name(&format!("{name}.name"), &raw.name));
    Some(Person {
        user_id: user_id?,
        email: email?,
        name: display?,
    })
}

/// Parses one check; `prefix` locates it inside a batch (e.g. `checks[2].`).
pub fn check(v: &mut Violations, prefix: &str, raw: &pb::AuthorizeRequest) -> Option<Check> {
    let user_id = v.check(UserId::parse(&field(prefix, "user_id"), &raw.user_id));
    let account_id = v.check(AccountId::parse(&field(prefix, "account_id"), &raw.account_id));
    let permission = v.check(Permission::parse(&field(prefix, "permission"), &raw.permission));
    let resource = resource(v, prefix, raw.resource.as_ref());
    Some(Check {
        user_id: user_id?,
        account_id: account_id?,
        permission: permission?,
        resource: resource?,
        mfa_verified: raw.context.as_ref().is_some_and(|c| c.mfa_verified),
    })
}

impl TryFrom<pb::AuthorizeRequest> for Check {
    type Error = DomainError;

    fn try_from(raw: pb::AuthorizeRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let parsed = check(&mut v, "", &raw);
        v.finish()?;
        present(parsed)
    }
}

/// Parses a batch, naming each bad field by its index; refuses an empty or oversized batch.
pub fn checks(raw: &pb::BatchAuthorizeRequest, max: usize) -> Result<Vec<Check>, DomainError> {
    if raw.checks.is_empty() {
        return Err(DomainError::invalid("checks", "must hold at least one check"));
    }
    if raw.checks.len() > max {
        return Err(DomainError::invalid(
            "checks",
            format!("holds {} checks; at most {max} fit in one call", raw.checks.len()),
        ));
    }
    let mut v = Violations::default();
    let parsed: Vec<Option<Check>> = raw
        .checks
        .iter()
        .enumerate()
        .map(|(i, c)| check(&mut v, &format!("checks[{i}]."), c))
        .collect();
    v.finish()?;
    parsed.into_iter().map(present).collect()
}

/// Parses the (user, account, two-factor) of GetEffectivePermissions.
pub fn effective_query(
    raw: &pb::GetEffectivePermissionsRequest,
) -> Result<(UserId, AccountId, bool), DomainError> {
    let mut v = Violations::default();
    let user = v.check(UserId::parse("user_id", &raw.user_id));
    let account = v.check(AccountId::parse("account_id", &raw.account_id));
    v.finish()?;
    Ok((
        present(user)?,
        present(account)?,
        raw.context.as_ref().is_some_and(|c| c.mfa_verified),
    ))
}

/// Parses the actor and account every account-level change names.
pub fn actor_and_account(actor: &str, account: &str) -> Result<(UserId, AccountId), DomainError> {
    let mut v = Violations::default();
    let actor = v.check(UserId::parse("actor_user_id", actor));
    let account = v.check(AccountId::parse("account_id", account));
    v.finish()?;
    Ok((present(actor)?, present(account)?))
}

/// Parses an actor, an account and the member acted on, named `user_field` in the request.
pub fn member_target(
    actor: &str,
    account: &str,
    user_field: &str,
    user: &str,
) -> Result<(UserId, AccountId, UserId), DomainError> {
    let mut v = Violations::default();
    let actor = v.check(UserId::parse("actor_user_id", actor));
    let account = v.check(AccountId::parse("account_id", account));
    let user = v.check(UserId::parse(user_field, user));
    v.finish()?;
    Ok((present(actor)?, present(account)?, present(user)?))
}

/// Parses a (user, account) pair named `user_id` and `account_id`.
pub fn user_and_account(user: &str, account: &str) -> Result<(UserId, AccountId), DomainError> {
    let mut v = Violations::default();
    let user = v.check(UserId::parse("user_id", user));
    let account = v.check(AccountId::parse("account_id", account));
    v.finish()?;
    Ok((present(user)?, present(account)?))
}

/// Parses an actor and an invitation id.
pub fn invitation_target(actor: &str, invitation: &str) -> Result<(UserId, InvitationId), DomainError> {
    let mut v = Violations::default();
    let actor = v.check(UserId::parse("actor_user_id", actor));
    let invitation = v.check(InvitationId::parse("invitation_id", invitation));
    v.finish()?;
    Ok((present(actor)?, present(invitation)?))
}

/// Parses a non-empty token.
pub fn token(raw: &str) -> Result<String, DomainError> {
    let token = raw.trim();
    if token.is_empty() {
        return Err(DomainError::invalid(
            "token",
            "must not be empty: pass the token from the invitation link",
        ));
    }
    Ok(token.to_owned())
}

/// Longest role name.
const MAX_ROLE_NAME: usize = 64;

fn role_name(field: &str, raw: &str) -> Result<String, FieldViolation> {
    let name = parse_name(field, raw)?;
    if name.chars().count() > MAX_ROLE_NAME {
        return Err(FieldViolation::new(
            field,
            format!("must be at most {MAX_ROLE_NAME} characters long"),
        ));
    }
    Ok(name)
}

/// Parses an actor, an account and a role name.
pub fn role_target(
    actor: &str,
    account: &str,
    name: &str,
) -> Result<(UserId, AccountId, String), DomainError> {
    let mut v = Violations::default();
    let actor = v.check(UserId::parse("actor_user_id", actor));
    let account = v.check(AccountId::parse("account_id", account));
    let name = v.check(role_name("name", name));
    v.finish()?;
    Ok((present(actor)?, present(account)?, present(name)?))
}

fn permission_set(v: &mut Violations, field: &str, raw: &[String]) -> Option<PermissionSet> {
    let mut set = PermissionSet::EMPTY;
    let mut ok = true;
    for (i, name) in raw.iter().enumerate() {
        match v.check(Permission::parse(&format!("{field}[{i}]"), name)) {
            Some(permission) => set.insert(permission),
            None => ok = false,
        }
    }
    ok.then_some(set)
}

fn limit(v: &mut Violations, field: &str, raw: Option<i32>) -> Option<Option<u32>> {
    match raw {
        None => Some(None),
        Some(n) => match u32::try_from(n) {
            Ok(n) => Some(Some(n)),
            Err(_) => {
                v.push(FieldViolation::new(
                    field,
                    format!("must be 0 or more (or unset for no limit), got {n}"),
                ));
                None
            }
        },
    }
}

/// Parses SetAccountLimits.
pub fn account_limits(
    raw: &pb::SetAccountLimitsRequest,
) -> Result<(UserId, AccountId, AccountLimits), DomainError> {
    let mut v = Violations::default();
    let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
    let account = v.check(AccountId::parse("account_id", &raw.account_id));
    let max_members = limit(&mut v, "max_members", raw.max_members);
    let max_restricted_members = limit(&mut v, "max_restricted_members", raw.max_restricted_members);
    v.finish()?;
    Ok((
        present(actor)?,
        present(account)?,
        AccountLimits {
            max_members: present(max_members)?,
            max_restricted_members: present(max_restricted_members)?,
        },
    ))
}

/// Parses a required access-request id.
pub fn access_request_target(actor: &str, id: &str) -> Result<(UserId, AccessRequestId), DomainError> {
    let mut v = Violations::default();
    let actor = v.check(UserId::parse("actor_user_id", actor));
    let id = v.check(AccessRequestId::parse("access_request_id", id));
    v.finish()?;
    Ok((present(actor)?, present(id)?))
}

impl TryFrom<pb::ListAccountsRequest> for ListAccounts {
    type Error = DomainError;

    fn try_from(raw: pb::ListAccountsRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let user_id = v.check(UserId::parse("user_id", &raw.user_id));
        let page = page(&mut v, raw.page_size, &raw.page_token);
        v.finish()?;
        Ok(Self {
            user_id: present(user_id)?,
            page: present(page)?,
        })
    }
}

impl TryFrom<pb::UpdateInvitationRequest> for UpdateInvitation {
    type Error = DomainError;

    fn try_from(raw: pb::UpdateInvitationRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let invitation_id = v.check(InvitationId::parse("invitation_id", &raw.invitation_id));
        let role = optional_id(&mut v, "role", &raw.role, role_name);
        let scopes = match &raw.scopes {
            Some(list) => scopes(&mut v, "scopes.scopes", &list.scopes).map(Some),
            None => Some(None),
        };
        if raw.role.trim().is_empty() && raw.scopes.is_none() {
            v.push(FieldViolation::new(
                "role",
                "name a new role or new scopes: there is nothing to change",
            ));
        }
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            invitation_id: present(invitation_id)?,
            role,
            scopes: present(scopes)?,
        })
    }
}

fn invitation_state_filter(raw: i32) -> Result<Option<InvitationState>, FieldViolation> {
    match pb::InvitationState::try_from(raw) {
        Ok(pb::InvitationState::Unspecified) => Ok(None),
        Ok(pb::InvitationState::Pending) => Ok(Some(InvitationState::Pending)),
        Ok(pb::InvitationState::Accepted) => Ok(Some(InvitationState::Accepted)),
        Ok(pb::InvitationState::Revoked) => Ok(Some(InvitationState::Revoked)),
        Ok(pb::InvitationState::Expired) => Ok(Some(InvitationState::Expired)),
        Ok(pb::InvitationState::Declined) => Ok(Some(InvitationState::Declined)),
        Err(_) => Err(FieldViolation::new(
            "state",
            format!("{raw} is not an InvitationState value"),
        )),
    }
}

impl TryFrom<pb::ListInvitationsRequest> for ListInvitations {
    type Error = DomainError;

    fn try_from(raw: pb::ListInvitationsRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let state = v.check(invitation_state_filter(raw.state));
        let page = page(&mut v, raw.page_size, &raw.page_token);
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            state: present(state)?,
            page: present(page)?,
        })
    }
}

impl TryFrom<pb::UpdateMemberRequest> for UpdateMember {
    type Error = DomainError;

    fn try_from(raw: pb::UpdateMemberRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let user_id = v.check(UserId::parse("user_id", &raw.user_id));
        let role = optional_id(&mut v, "role", &raw.role, role_name);
        let scopes = match &raw.scopes {
            Some(list) => scopes(&mut v, "scopes.scopes", &list.scopes).map(Some),
            None => Some(None),
        };
        let grants = match &raw.extra_permissions {
            Some(list) => {
                permission_set(&mut v, "extra_permissions.permissions", &list.permissions).map(Some)
            }
            None => Some(None),
        };
        if raw.role.trim().is_empty() && raw.scopes.is_none() && raw.extra_permissions.is_none() {
            v.push(FieldViolation::new(
                "role",
                "name a new role, scopes or extra permissions: there is nothing to change",
            ));
        }
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            user_id: present(user_id)?,
            role,
            scopes: present(scopes)?,
            grants: present(grants)?,
        })
    }
}

impl TryFrom<pb::CreateRoleRequest> for CreateRole {
    type Error = DomainError;

    fn try_from(raw: pb::CreateRoleRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let name = v.check(role_name("name", &raw.name));
        let description = v.check(parse_note("description", &raw.description));
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
        let name = v.check(role_name("name", &raw.name));
        let description = optional_id(&mut v, "description", &raw.description, parse_note);
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

impl TryFrom<pb::RequestAccessRequest> for RequestAccess {
    type Error = DomainError;

    fn try_from(raw: pb::RequestAccessRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let user_id = v.check(UserId::parse("user_id", &raw.user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let permission = v.check(Permission::parse("permission", &raw.permission));
        let note = v.check(parse_note("note", &raw.note));
        v.finish()?;
        Ok(Self {
            user_id: present(user_id)?,
            account_id: present(account_id)?,
            permission: present(permission)?,
            note: present(note)?,
        })
    }
}

fn access_request_state_filter(raw: i32) -> Result<Option<AccessRequestState>, FieldViolation> {
    match pb::AccessRequestState::try_from(raw) {
        Ok(pb::AccessRequestState::Unspecified) => Ok(None),
        Ok(pb::AccessRequestState::Pending) => Ok(Some(AccessRequestState::Pending)),
        Ok(pb::AccessRequestState::Approved) => Ok(Some(AccessRequestState::Approved)),
        Ok(pb::AccessRequestState::Rejected) => Ok(Some(AccessRequestState::Rejected)),
        Err(_) => Err(FieldViolation::new(
            "state",
            format!("{raw} is not an AccessRequestState value"),
        )),
    }
}

impl TryFrom<pb::ListAccessRequestsRequest> for ListAccessRequests {
    type Error = DomainError;

    fn try_from(raw: pb::ListAccessRequestsRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let state = v.check(access_request_state_filter(raw.state));
        let page = page(&mut v, raw.page_size, &raw.page_token);
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            state: present(state)?,
            page: present(page)?,
        })
    }
}

fn time_from_pb(
    field: &str,
    raw: Option<&prost_types::Timestamp>,
) -> Result<Option<DateTime<Utc>>, FieldViolation> {
    match raw {
        None => Ok(None),
        Some(ts) => u32::try_from(ts.nanos)
            .ok()
            .and_then(|nanos| DateTime::from_timestamp(ts.seconds, nanos))
            .map(Some)
            .ok_or_else(|| FieldViolation::new(field, "is not a valid timestamp")),
    }
}

impl TryFrom<pb::ListActivityRequest> for ListActivity {
    type Error = DomainError;

    fn try_from(raw: pb::ListActivityRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let filter_actor = optional_id(
            &mut v,
            "filter_actor_user_id",
            &raw.filter_actor_user_id,
            UserId::parse,
        );
        let start = v.check(time_from_pb("start_time", raw.start_time.as_ref()));
        let end = v.check(time_from_pb("end_time", raw.end_time.as_ref()));
        let page = page(&mut v, raw.page_size, &raw.page_token);
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            filter: ActivityFilter {
                actor: filter_actor,
                action: (!raw.filter_action.trim().is_empty()).then(|| raw.filter_action.trim().to_owned()),
                start: present(start)?,
                end: present(end)?,
                before_id: None,
            },
            page: present(page)?,
        })
    }
}

/// Parses a required account id.
pub fn account_id(raw: &str) -> Result<AccountId, DomainError> {
    Ok(AccountId::parse("account_id", raw)?)
}

impl TryFrom<pb::CreateAccountRequest> for CreateAccount {
    type Error = DomainError;

    fn try_from(raw: pb::CreateAccountRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let account_id = optional_id(&mut v, "account_id", &raw.account_id, AccountId::parse);
        let name = v.check(parse_name("name", &raw.name));
        let owner = person(&mut v, "owner", raw.owner.as_ref());
        let parent_id = optional_id(
            &mut v,
            "parent_account_id",
            &raw.parent_account_id,
            AccountId::parse,
        );
        let actor = optional_id(&mut v, "actor_user_id", &raw.actor_user_id, UserId::parse);
        if !raw.parent_account_id.trim().is_empty() && raw.actor_user_id.trim().is_empty() {
            v.push(FieldViolation::new(
                "actor_user_id",
                "is required when parent_account_id is set: name who creates the child account",
            ));
        }
        if !raw.account_id.trim().is_empty() && raw.account_id.trim() == raw.parent_account_id.trim() {
            v.push(FieldViolation::new(
                "parent_account_id",
                "cannot be the account itself",
            ));
        }
        v.finish()?;
        Ok(Self {
            account_id,
            name: present(name)?,
            owner: present(owner)?,
            parent_id,
            actor,
        })
    }
}

impl TryFrom<pb::InviteRequest> for Invite {
    type Error = DomainError;

    fn try_from(raw: pb::InviteRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let email = v.check(Email::parse("email", &raw.email));
        let role = v.check(role_name("role", &raw.role));
        let primary_scopes = scopes(&mut v, "scopes", &raw.scopes);
        let message = v.check(parse_note("message", &raw.message));
        let mut targets = vec![(account_id, role, primary_scopes)];
        for (i, extra) in raw.additional_accounts.iter().enumerate() {
            let prefix = format!("additional_accounts[{i}]");
            targets.push((
                v.check(AccountId::parse(
                    &format!("{prefix}.account_id"),
                    &extra.account_id,
                )),
                v.check(role_name(&format!("{prefix}.role"), &extra.role)),
                scopes(&mut v, &format!("{prefix}.scopes"), &extra.scopes),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, (account, _, _)) in targets.iter().enumerate() {
            if let Some(account) = account
                && !seen.insert(account.clone())
            {
                v.push(FieldViolation::new(
                    format!("additional_accounts[{}].account_id", i.saturating_sub(1)),
                    format!("account '{account}' is named twice"),
                ));
            }
        }
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            email: present(email)?,
            targets: targets
                .into_iter()
                .map(|(account_id, role, scopes)| {
                    Ok(InviteTarget {
                        account_id: present(account_id)?,
                        role: present(role)?,
                        scopes: present(scopes)?,
                    })
                })
                .collect::<Result<_, DomainError>>()?,
            message: present(message)?,
            resend_if_pending: raw.resend_if_pending,
        })
    }
}

impl TryFrom<pb::AcceptInvitationRequest> for AcceptInvitation {
    type Error = DomainError;

    fn try_from(raw: pb::AcceptInvitationRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let token = raw.token.trim().to_owned();
        if token.is_empty() {
            v.push(FieldViolation::new(
                "token",
                "must not be empty: pass the token from the invitation link",
            ));
        }
        let person = person(&mut v, "user", raw.user.as_ref());
        v.finish()?;
        Ok(Self {
            token,
            person: present(person)?,
        })
    }
}

fn status_filter(raw: i32) -> Result<Option<MemberRowStatus>, FieldViolation> {
    match pb::MemberStatus::try_from(raw) {
        Ok(pb::MemberStatus::Unspecified) => Ok(None),
        Ok(pb::MemberStatus::Active) => Ok(Some(MemberRowStatus::Active)),
        Ok(pb::MemberStatus::Pending) => Ok(Some(MemberRowStatus::Pending)),
        Ok(pb::MemberStatus::Deactivated) => Ok(Some(MemberRowStatus::Deactivated)),
        Ok(pb::MemberStatus::InvitationExpired) => Ok(Some(MemberRowStatus::InvitationExpired)),
        Err(_) => Err(FieldViolation::new(
            "status",
            format!("{raw} is not a MemberStatus value"),
        )),
    }
}

impl TryFrom<pb::ListUsersRequest> for ListUsers {
    type Error = DomainError;

    fn try_from(raw: pb::ListUsersRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let page = page(&mut v, raw.page_size, &raw.page_token);
        let status = v.check(status_filter(raw.status));
        let role = (!raw.role.trim().is_empty()).then(|| raw.role.trim().to_owned());
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            page: present(page)?,
            status: present(status)?,
            role,
        })
    }
}

impl TryFrom<pb::ShareTemplateRequest> for ShareTemplate {
    type Error = DomainError;

    fn try_from(raw: pb::ShareTemplateRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let template_id = v.check(ResourceId::parse("template_id", &raw.template_id));
        let children: Vec<Option<AccountId>> = raw
            .child_account_ids
            .iter()
            .enumerate()
            .map(|(i, id)| v.check(AccountId::parse(&format!("child_account_ids[{i}]"), id)))
            .collect();
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            template_id: present(template_id)?,
            children: children.into_iter().map(present).collect::<Result<_, _>>()?,
        })
    }
}

impl TryFrom<pb::UnshareTemplateRequest> for UnshareTemplate {
    type Error = DomainError;

    fn try_from(raw: pb::UnshareTemplateRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let template_id = v.check(ResourceId::parse("template_id", &raw.template_id));
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            template_id: present(template_id)?,
        })
    }
}

impl TryFrom<pb::ListSharedTemplatesRequest> for ListSharedTemplates {
    type Error = DomainError;

    fn try_from(raw: pb::ListSharedTemplatesRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let page = page(&mut v, raw.page_size, &raw.page_token);
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            page: present(page)?,
        })
    }
}

// === Domain → protobuf ===

/// A protobuf timestamp.
pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn person_to_pb(person: &Person) -> pb::Person {
    pb::Person {
        user_id: person.user_id.to_string(),
        email: person.email.to_string(),
        name: person.name.clone(),
    }
}

impl From<Account> for pb::Account {
    fn from(account: Account) -> Self {
        Self {
            owner: Some(person_to_pb(&account.owner)),
            id: account.id.to_string(),
            name: account.name,
            parent_account_id: account.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            state: match account.state {
                AccountState::Open => pb::AccountState::Open,
                AccountState::Closed => pb::AccountState::Closed,
            }
            .into(),
            require_two_factor: account.require_two_factor,
            create_time: Some(timestamp(account.created_at)),
            max_members: account
                .limits
                .max_members
                .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            max_restricted_members: account
                .limits
                .max_restricted_members
                .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            close_time: account.closed_at.map(timestamp),
        }
    }
}

fn reason_to_pb(reason: Reason) -> pb::DecisionReason {
    match reason {
        Reason::Allowed => pb::DecisionReason::Allowed,
        Reason::NotAMember => pb::DecisionReason::NotAMember,
        Reason::MembershipInactive => pb::DecisionReason::MembershipInactive,
        Reason::PermissionNotGranted => pb::DecisionReason::PermissionNotGranted,
        Reason::OutOfScope => pb::DecisionReason::OutOfScope,
        Reason::AccountClosed => pb::DecisionReason::AccountClosed,
        Reason::MfaRequired => pb::DecisionReason::MfaRequired,
        Reason::SharedTemplateReadOnly => pb::DecisionReason::SharedTemplateReadOnly,
        Reason::AccountNotFound => pb::DecisionReason::AccountNotFound,
    }
}

impl From<Decision> for pb::AuthorizeResponse {
    fn from(decision: Decision) -> Self {
        Self {
            allowed: decision.allowed,
            reason: reason_to_pb(decision.reason).into(),
            role: decision.role.unwrap_or_default(),
            via_parent_account_id: decision.via_parent.map(|p| p.to_string()).unwrap_or_default(),
        }
    }
}

fn scopes_to_pb(scopes: &Scopes) -> Vec<pb::Scope> {
    scopes
        .iter()
        .map(|(resource_type, ids)| pb::Scope {
            resource_type: resource_type_to_pb(resource_type).into(),
            resource_ids: ids.iter().map(ToString::to_string).collect(),
        })
        .collect()
}

impl From<EffectivePermissions> for pb::GetEffectivePermissionsResponse {
    fn from(effective: EffectivePermissions) -> Self {
        Self {
            reason: reason_to_pb(effective.reason).into(),
            role: effective.role.unwrap_or_default(),
            permissions: effective
                .permissions
                .names()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            scopes: scopes_to_pb(&effective.scopes),
            via_parent_account_id: effective.via_parent.map(|p| p.to_string()).unwrap_or_default(),
        }
    }
}

/// An invitation as the caller sees it at `now` (expiry applied).
pub fn invitation_to_pb(invitation: Invitation, now: DateTime<Utc>) -> pb::Invitation {
    let state = match invitation.effective_state(now) {
        InvitationState::Pending => pb::InvitationState::Pending,
        InvitationState::Accepted => pb::InvitationState::Accepted,
        InvitationState::Revoked => pb::InvitationState::Revoked,
        InvitationState::Expired => pb::InvitationState::Expired,
        InvitationState::Declined => pb::InvitationState::Declined,
    };
    pb::Invitation {
        scopes: scopes_to_pb(&invitation.scopes),
        id: invitation.id.to_string(),
        account_id: invitation.account_id.to_string(),
        email: invitation.email.to_string(),
        role: invitation.role,
        state: state.into(),
        invited_by: invitation.invited_by.to_string(),
        message: invitation.message,
        send_count: i32::try_from(invitation.send_count).unwrap_or(i32::MAX),
        expire_time: Some(timestamp(invitation.expires_at)),
        create_time: Some(timestamp(invitation.created_at)),
    }
}

impl From<MemberRow> for pb::Member {
    fn from(row: MemberRow) -> Self {
        let status = match row.status {
            MemberRowStatus::Active => pb::MemberStatus::Active,
            MemberRowStatus::Pending => pb::MemberStatus::Pending,
            MemberRowStatus::InvitationExpired => pb::MemberStatus::InvitationExpired,
            MemberRowStatus::Deactivated => pb::MemberStatus::Deactivated,
        };
        Self {
            scopes: scopes_to_pb(&row.scopes),
            user_id: row.user_id.map(|u| u.to_string()).unwrap_or_default(),
            name: row.name,
            email: row.email.to_string(),
            role: row.role,
            status: status.into(),
            is_owner: row.is_owner,
            invited_by: row.invited_by.map(|u| u.to_string()).unwrap_or_default(),
            join_time: row.joined_at.map(timestamp),
            last_sign_in_time: row.last_sign_in_at.map(timestamp),
            invitation_id: row.invitation_id.map(|i| i.to_string()).unwrap_or_default(),
            extra_permissions: row.grants.names().into_iter().map(str::to_owned).collect(),
        }
    }
}

impl From<SharedTemplate> for pb::SharedTemplate {
    fn from(shared: SharedTemplate) -> Self {
        Self {
            parent_account_id: shared.parent_account_id.to_string(),
            template_id: shared.template_id.to_string(),
            all_children: shared.all_children,
            child_account_ids: shared.child_account_ids.iter().map(ToString::to_string).collect(),
            shared_by: shared.shared_by.to_string(),
            create_time: Some(timestamp(shared.created_at)),
        }
    }
}

impl From<Role> for pb::Role {
    fn from(role: Role) -> Self {
        Self {
            permissions: role.permissions.names().into_iter().map(str::to_owned).collect(),
            name: role.name,
            description: role.description,
            builtin: role.builtin,
            restricted: role.restricted,
        }
    }
}

impl From<AccessRequest> for pb::AccessRequest {
    fn from(request: AccessRequest) -> Self {
        let state = match request.state {
            AccessRequestState::Pending => pb::AccessRequestState::Pending,
            AccessRequestState::Approved => pb::AccessRequestState::Approved,
            AccessRequestState::Rejected => pb::AccessRequestState::Rejected,
        };
        Self {
            id: request.id.to_string(),
            account_id: request.account_id.to_string(),
            user_id: request.user_id.to_string(),
            permission: request.permission.name().to_owned(),
            note: request.note,
            state: state.into(),
            decided_by: request.decided_by.map(|u| u.to_string()).unwrap_or_default(),
            create_time: Some(timestamp(request.created_at)),
            decide_time: request.decided_at.map(timestamp),
        }
    }
}

impl From<ActivityRecord> for pb::ActivityEntry {
    fn from(record: ActivityRecord) -> Self {
        Self {
            id: record.id.to_string(),
            account_id: record.entry.account_id.to_string(),
            actor_user_id: record.entry.actor.to_string(),
            action: record.entry.action,
            target: record.entry.target,
            details_json: record.entry.details,
            create_time: Some(timestamp(record.entry.at)),
        }
    }
}

impl From<AccountAccess> for pb::AccountAccess {
    fn from(access: AccountAccess) -> Self {
        Self {
            account: Some(access.account.into()),
            role: access.role,
            via_parent_account_id: access.via_parent.map(|p| p.to_string()).unwrap_or_default(),
        }
    }
}
