//! Authorize, BatchAuthorize and GetEffectivePermissions: the checks in, the
//! decisions out.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};

use super::consistency::{consistency, token_to_pb};
use super::{named, present, scopes_to_pb, time_from_pb, timestamp};
use crate::domain::DomainError;
use crate::domain::error::{FieldViolation, echo};
use crate::domain::ids::{AccountId, ResourceId, UserId, Violations};
use crate::domain::model::{
    BatchDecisions, Check, CheckBatch, Consistency, ConsistencyToken, Decision, EffectivePermissions, Ended,
    Expiry, PairCheck, Reason, Resource, ResourceType,
};
use crate::domain::permissions::Permission;
use crate::grpc::pb;

/// Parses one check; `prefix` locates it inside a batch (e.g. `checks[2].`),
/// and is written out only when a field of the check is refused. Takes the
/// request's strings rather than copying them.
pub fn check(v: &mut Violations, prefix: &dyn fmt::Display, raw: pb::AuthorizeRequest) -> Option<Check> {
    let user_id = v.check(named(UserId::parse_owned("user_id", raw.user_id), || {
        format!("{prefix}user_id")
    }));
    let account_id = v.check(named(
        AccountId::parse_owned("account_id", raw.account_id),
        || format!("{prefix}account_id"),
    ));
    let (permission, resource) = question(v, prefix, &raw.permission, raw.resource)?;
    Some(Check {
        user_id: user_id?,
        account_id: account_id?,
        permission,
        resource,
        mfa_verified: raw.context.as_ref().is_some_and(|c| c.mfa_verified),
    })
}

/// What a check asks: its permission, and the resource it names if any,
/// which must be of a type that permission can be checked on.
pub(super) fn question(
    v: &mut Violations,
    prefix: &dyn fmt::Display,
    permission: &str,
    resource: Option<pb::Resource>,
) -> Option<(Permission, Option<Resource>)> {
    let permission = v.check(named(Permission::parse("permission", permission), || {
        format!("{prefix}permission")
    }));
    let resource = super::resource(v, prefix, resource);
    if let (Some(permission), Some(Some(resource))) = (permission, &resource)
        && !resource.resource_type.admits(permission)
    {
        v.push(type_refused(
            format!("{prefix}resource.type"),
            permission,
            resource.resource_type,
        ));
        return None;
    }
    Some((permission?, resource?))
}

/// The refusal of `permission` on resources of a type it never names
/// (a scope on the type would not narrow it), for the field `field`.
pub(super) fn type_refused(
    field: String,
    permission: Permission,
    resource_type: ResourceType,
) -> FieldViolation {
    FieldViolation::new(
        field,
        format!(
            "{permission} cannot be checked on a {}: only {} permissions name one",
            resource_type.as_str(),
            resource_type
                .areas()
                .iter()
                .map(|area| format!("{area}.*"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    )
}

impl TryFrom<pb::AuthorizeRequest> for Check {
    type Error = DomainError;

    fn try_from(raw: pb::AuthorizeRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let parsed = check(&mut v, &"", raw);
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

    /// Every bad field at once, the requirement's token with the check's ids.
    fn try_from(mut raw: pb::AuthorizeRequest) -> Result<Self, Self::Error> {
        let requirement = raw.consistency.take();
        let mut v = Violations::default();
        let check = check(&mut v, &"", raw);
        let consistency = v.check(consistency("consistency", requirement.as_ref()));
        v.finish()?;
        Ok(Self {
            check: present(check)?,
            consistency: present(consistency)?,
        })
    }
}

/// BatchAuthorize: the checks and how fresh every answer must be.
#[derive(Debug)]
pub struct BatchQuery {
    /// The questions, in order, over their distinct (user, account) pairs.
    pub checks: CheckBatch,
    /// How fresh every answer must be.
    pub consistency: Consistency,
}

/// Parses a batch, naming each bad field by its index (every one at once,
/// the requirement's token with the checks' fields); refuses an empty or
/// oversized batch, and a requirement set on one check rather than the batch.
pub fn batch(raw: pb::BatchAuthorizeRequest, max: usize) -> Result<BatchQuery, DomainError> {
    let mut v = Violations::default();
    let checks = checks(&mut v, raw.checks, max);
    let consistency = v.check(consistency("consistency", raw.consistency.as_ref()));
    v.finish()?;
    Ok(BatchQuery {
        // Without a violation every check parsed; a gap would shift the answers.
        checks: checks.ok_or_else(|| DomainError::Internal("a check of the batch was lost".into()))?,
        consistency: present(consistency)?,
    })
}

/// The checks of a batch, or `None` with the reasons recorded in `v`.
fn checks(v: &mut Violations, raw: Vec<pb::AuthorizeRequest>, max: usize) -> Option<CheckBatch> {
    if raw.is_empty() {
        v.push(FieldViolation::new("checks", "must hold at least one check"));
        return None;
    }
    if raw.len() > max {
        v.push(FieldViolation::new(
            "checks",
            format!("holds {} checks; at most {max} fit in one call", raw.len()),
        ));
        return None;
    }
    let asked = raw.len();
    let mut pairs = Pairs::default();
    let mut checks = Vec::with_capacity(asked);
    for (i, c) in raw.into_iter().enumerate() {
        let prefix = format_args!("checks[{i}].");
        if c.consistency.is_some() {
            v.push(FieldViolation::new(
                format!("checks[{i}].consistency"),
                "one requirement covers the whole batch: set BatchAuthorizeRequest.consistency instead",
            ));
        }
        let pair = pairs.index_of(v, &prefix, c.account_id, c.user_id);
        let question = question(v, &prefix, &c.permission, c.resource);
        if let (Some(pair), Some((permission, resource))) = (pair, question) {
            checks.push(PairCheck {
                pair,
                permission,
                resource,
                mfa_verified: c.context.as_ref().is_some_and(|c| c.mfa_verified),
            });
        }
    }
    (checks.len() == asked).then_some(CheckBatch {
        pairs: pairs.pairs,
        checks,
    })
}

/// The distinct (account, user) pairs of a batch, each parsed once. Most
/// checks name the pair of the check before them (a UI asks several things
/// about one member), which costs a comparison; the others are found by
/// hash. Two pairs whose hashes collide are simply both kept, as if distinct.
#[derive(Default)]
struct Pairs {
    pairs: Vec<(AccountId, UserId)>,
    by_hash: HashMap<u64, usize>,
    hasher: RandomState,
}

impl Pairs {
    /// The index of the pair these ids name, parsed and added when new; `None`
    /// when an id is refused (the violation is recorded).
    fn index_of(
        &mut self,
        v: &mut Violations,
        prefix: &dyn fmt::Display,
        account: String,
        user: String,
    ) -> Option<usize> {
        let same = |i: &usize| {
            self.pairs
                .get(*i)
                .is_some_and(|(a, u)| a.as_str() == account && u.as_str() == user)
        };
        let last = self.pairs.len().checked_sub(1);
        if let Some(last) = last.filter(same) {
            return Some(last);
        }
        let hash = self.hasher.hash_one((account.as_str(), user.as_str()));
        if let Some(&known) = self.by_hash.get(&hash).filter(|i| same(i)) {
            return Some(known);
        }
        let user = v.check(named(UserId::parse_owned("user_id", user), || {
            format!("{prefix}user_id")
        }));
        let account = v.check(named(AccountId::parse_owned("account_id", account), || {
            format!("{prefix}account_id")
        }));
        self.pairs.push((account?, user?));
        let index = self.pairs.len() - 1;
        self.by_hash.entry(hash).or_insert(index);
        Some(index)
    }
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
        let consistency = v.check(consistency("consistency", raw.consistency.as_ref()));
        v.finish()?;
        Ok(Self {
            user_id: present(user_id)?,
            account_id: present(account_id)?,
            mfa_verified: raw.context.as_ref().is_some_and(|c| c.mfa_verified),
            consistency: present(consistency)?,
        })
    }
}

pub(super) fn reason_to_pb(reason: Reason) -> pb::DecisionReason {
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
        Reason::AccessExpired => pb::DecisionReason::AccessExpired,
    }
}

/// One end of a grant or a scope entry as a request gives it (`field`
/// locates it): the membership's own end has its own field.
pub fn end_from_pb(field: &str, raw: &pb::AccessEnd) -> Result<Expiry, FieldViolation> {
    let at = time_from_pb(&format!("{field}.end_time"), raw.end_time.as_ref())?
        .ok_or_else(|| FieldViolation::new(format!("{field}.end_time"), "an end needs its end_time"))?;
    let subject = format!("{field}.subject");
    let what = match pb::EndedKind::try_from(raw.kind) {
        Ok(pb::EndedKind::Grant) => Ended::Grant(Permission::parse(&subject, &raw.subject)?),
        Ok(pb::EndedKind::Scope) => {
            let (kind, id) = raw.subject.split_once(':').unwrap_or((raw.subject.as_str(), ""));
            let resource_type = ResourceType::from_storage(kind).ok_or_else(|| {
                FieldViolation::new(
                    &subject,
                    format!(
                        "'{}' is not type:id of a resource type (list:4)",
                        echo(&raw.subject)
                    ),
                )
            })?;
            Ended::Scope(resource_type, ResourceId::parse(&subject, id)?)
        }
        _ => {
            return Err(FieldViolation::new(
                format!("{field}.kind"),
                "is ENDED_KIND_GRANT or ENDED_KIND_SCOPE here",
            ));
        }
    };
    Ok(Expiry { what, at })
}

/// One end as the API shows it.
pub fn end_to_pb(expiry: &Expiry) -> pb::AccessEnd {
    pb::AccessEnd {
        kind: match expiry.what {
            Ended::Membership => pb::EndedKind::Membership,
            Ended::Grant(_) => pb::EndedKind::Grant,
            Ended::Scope(..) => pb::EndedKind::Scope,
        }
        .into(),
        subject: expiry.what.subject(),
        end_time: Some(timestamp(expiry.at)),
    }
}

impl From<Decision> for pb::AuthorizeResponse {
    fn from(decision: Decision) -> Self {
        Self {
            allowed: decision.allowed,
            reason: reason_to_pb(decision.reason).into(),
            role: decision.role.unwrap_or_default(),
            via_parent_account_id: decision.via_parent.map(|p| p.to_string()).unwrap_or_default(),
            computed_at: token_to_pb(&decision.computed_at),
            expired: decision.expired.as_ref().map(end_to_pb),
        }
    }
}

/// The answers of a batch, in order. The answers judged in one standing
/// share their role, parent and `computed_at`, so each is converted (and the
/// token encoded) once, not once a check; the last answer of a standing takes
/// its strings instead of copying them (with distinct pairs, the only one).
pub fn batch_results(decisions: BatchDecisions) -> Result<Vec<pb::AuthorizeResponse>, DomainError> {
    // Standings in one account (distinct users there) share their token too.
    let tokens: Vec<String> = {
        let mut encoded: HashMap<&ConsistencyToken, String> = HashMap::with_capacity(decisions.grounds.len());
        decisions
            .grounds
            .iter()
            .map(|grounds| {
                encoded
                    .entry(&grounds.computed_at)
                    .or_insert_with(|| token_to_pb(&grounds.computed_at))
                    .clone()
            })
            .collect()
    };
    let mut shared: Vec<(pb::AuthorizeResponse, usize)> = decisions
        .grounds
        .into_iter()
        .zip(tokens)
        .map(|(grounds, computed_at)| {
            let answer = pb::AuthorizeResponse {
                role: grounds.role.unwrap_or_default(),
                via_parent_account_id: grounds.via_parent.map(|p| p.to_string()).unwrap_or_default(),
                computed_at,
                ..Default::default()
            };
            (answer, 0)
        })
        .collect();
    for &(index, ..) in &decisions.answers {
        if let Some((_, uses)) = shared.get_mut(index) {
            *uses += 1;
        }
    }
    decisions
        .answers
        .into_iter()
        .map(|(index, reason, expired)| {
            let (grounds, uses) = shared
                .get_mut(index)
                .ok_or_else(|| DomainError::Internal("an answer names grounds the batch lacks".into()))?;
            *uses -= 1;
            let grounds = if *uses == 0 {
                std::mem::take(grounds)
            } else {
                grounds.clone()
            };
            Ok(pb::AuthorizeResponse {
                allowed: reason == Reason::Allowed,
                reason: reason_to_pb(reason).into(),
                expired: expired.as_ref().map(end_to_pb),
                ..grounds
            })
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
            computed_at: token_to_pb(&effective.computed_at),
            ends: effective.ends.iter().map(end_to_pb).collect(),
        }
    }
}
