//! Conversions at the edge: protobuf requests into validated domain commands
//! (every bad field reported at once), domain values back into protobuf.

use chrono::{DateTime, Utc};

use crate::domain::DomainError;
use crate::domain::error::FieldViolation;
use crate::domain::ids::{AccountId, Email, ResourceId, UserId, Violations, parse_name, parse_note};
use crate::domain::model::{
    Account, AccountState, Check, Decision, EffectivePermissions, Invitation, InvitationState, MemberRow,
    MemberRowStatus, Person, Reason, Resource, ResourceType, Scopes, SharedTemplate,
};
use crate::domain::page::PageRequest;
use crate::domain::permissions::Permission;
use crate::domain::service::{
    AcceptInvitation, CreateAccount, Invite, ListSharedTemplates, ListUsers, ShareTemplate, UnshareTemplate,
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
        let role = v.check(parse_name("role", &raw.role));
        let scopes = scopes(&mut v, "scopes", &raw.scopes);
        let message = v.check(parse_note("message", &raw.message));
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            email: present(email)?,
            role: present(role)?,
            scopes: present(scopes)?,
            message: present(message)?,
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
