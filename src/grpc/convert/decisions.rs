//! Authorize, BatchAuthorize and GetEffectivePermissions: the checks in, the
//! decisions out.

use std::collections::HashMap;
use std::fmt;

use super::consistency::{consistency, token_to_pb};
use super::{named, present, resource, scopes_to_pb};
use crate::domain::DomainError;
use crate::domain::error::FieldViolation;
use crate::domain::ids::{AccountId, UserId, Violations};
use crate::domain::model::{Check, Consistency, ConsistencyToken, Decision, EffectivePermissions, Reason};
use crate::domain::permissions::Permission;
use crate::grpc::pb;

/// Parses one check; `prefix` locates it inside a batch (e.g. `checks[2].`),
/// and is written out only when a field of the check is refused.
pub fn check(v: &mut Violations, prefix: &dyn fmt::Display, raw: &pb::AuthorizeRequest) -> Option<Check> {
    let user_id = v.check(named(UserId::parse("user_id", &raw.user_id), || {
        format!("{prefix}user_id")
    }));
    let account_id = v.check(named(AccountId::parse("account_id", &raw.account_id), || {
        format!("{prefix}account_id")
    }));
    let permission = v.check(named(Permission::parse("permission", &raw.permission), || {
        format!("{prefix}permission")
    }));
    let resource = resource(v, prefix, raw.resource.as_ref());
    if let (Some(permission), Some(Some(resource))) = (permission, &resource)
        && !resource.resource_type.admits(permission)
    {
        v.push(FieldViolation::new(
            format!("{prefix}resource.type"),
            format!(
                "{permission} cannot be checked on a {}: only {} permissions name one",
                resource.resource_type.as_str(),
                resource
                    .resource_type
                    .areas()
                    .iter()
                    .map(|area| format!("{area}.*"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        ));
        return None;
    }
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
        let parsed = check(&mut v, &"", &raw);
        v.finish()?;
        present(parsed)
    }
}

/// Authorize: the check and how fresh its answer must be.
#[derive(Debug)]
pub struct AuthorizeQuery {
    /// The question.
    pub check: Check,
    /// How fresh the answer must be.
    pub consistency: Consistency,
}

impl TryFrom<pb::AuthorizeRequest> for AuthorizeQuery {
    type Error = DomainError;

    fn try_from(raw: pb::AuthorizeRequest) -> Result<Self, Self::Error> {
        let consistency = consistency("consistency", raw.consistency.as_ref())?;
        Ok(Self {
            check: Check::try_from(raw)?,
            consistency,
        })
    }
}

/// BatchAuthorize: the checks and how fresh every answer must be.
#[derive(Debug)]
pub struct BatchQuery {
    /// The questions, in order.
    pub checks: Vec<Check>,
    /// How fresh every answer must be.
    pub consistency: Consistency,
}

/// Parses a batch, naming each bad field by its index; refuses an empty or
/// oversized batch, and a requirement set on one check rather than the batch.
pub fn batch(raw: &pb::BatchAuthorizeRequest, max: usize) -> Result<BatchQuery, DomainError> {
    let consistency = consistency("consistency", raw.consistency.as_ref())?;
    Ok(BatchQuery {
        checks: checks(raw, max)?,
        consistency,
    })
}

fn checks(raw: &pb::BatchAuthorizeRequest, max: usize) -> Result<Vec<Check>, DomainError> {
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
        .map(|(i, c)| {
            if c.consistency.is_some() {
                v.push(FieldViolation::new(
                    format!("checks[{i}].consistency"),
                    "one requirement covers the whole batch: set BatchAuthorizeRequest.consistency instead",
                ));
            }
            check(&mut v, &format_args!("checks[{i}]."), c)
        })
        .collect();
    v.finish()?;
    parsed.into_iter().map(present).collect()
}

/// GetEffectivePermissions: whose permissions, in which account.
#[derive(Debug)]
pub struct EffectiveQuery {
    /// The user whose permissions are asked for.
    pub user_id: UserId,
    /// The account they would act in.
    pub account_id: AccountId,
    /// Whether the user signed in with a second factor.
    pub mfa_verified: bool,
    /// How fresh the answer must be.
    pub consistency: Consistency,
}

impl TryFrom<pb::GetEffectivePermissionsRequest> for EffectiveQuery {
    type Error = DomainError;

    fn try_from(raw: pb::GetEffectivePermissionsRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let user_id = v.check(UserId::parse("user_id", &raw.user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        v.finish()?;
        Ok(Self {
            user_id: present(user_id)?,
            account_id: present(account_id)?,
            mfa_verified: raw.context.as_ref().is_some_and(|c| c.mfa_verified),
            consistency: consistency("consistency", raw.consistency.as_ref())?,
        })
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
        Reason::SharedSuppressionListReadOnly => pb::DecisionReason::SharedSuppressionListReadOnly,
        Reason::AccountNotFound => pb::DecisionReason::AccountNotFound,
    }
}

impl From<Decision> for pb::AuthorizeResponse {
    fn from(decision: Decision) -> Self {
        let computed_at = token_to_pb(&decision.computed_at);
        authorize_response(decision, computed_at)
    }
}

/// The answers of a batch, in order. The checks of one (user, account) pair
/// share their `computed_at`, so each distinct token is encoded once rather
/// than once a check (up to 128 protobuf encodings and base64 strings).
pub fn batch_results(decisions: Vec<Decision>) -> Vec<pb::AuthorizeResponse> {
    let mut encoded: HashMap<ConsistencyToken, String> = HashMap::new();
    decisions
        .into_iter()
        .map(|decision| {
            let computed_at = match encoded.get(&decision.computed_at) {
                Some(text) => text.clone(),
                None => {
                    let text = token_to_pb(&decision.computed_at);
                    encoded.insert(decision.computed_at.clone(), text.clone());
                    text
                }
            };
            authorize_response(decision, computed_at)
        })
        .collect()
}

fn authorize_response(decision: Decision, computed_at: String) -> pb::AuthorizeResponse {
    pb::AuthorizeResponse {
        allowed: decision.allowed,
        reason: reason_to_pb(decision.reason).into(),
        role: decision.role.unwrap_or_default(),
        via_parent_account_id: decision.via_parent.map(|p| p.to_string()).unwrap_or_default(),
        computed_at,
    }
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
            computed_at: token_to_pb(&effective.computed_at),
        }
    }
}
