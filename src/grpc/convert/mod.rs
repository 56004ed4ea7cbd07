//! Conversions at the edge, one file per area, each holding both directions:
//! protobuf requests into validated domain commands (every bad field reported
//! at once), and domain values back into protobuf.
//!
//! Requests that name several ids of the same type (an actor and the member
//! acted on, both `UserId`) parse into structs with named fields, never
//! tuples, so the handler cannot pass them to a use case in the wrong order.
//! The pieces several areas share live in this file.

mod access_requests;
mod accounts;
mod activity;
mod changes;
mod consistency;
mod decisions;
mod invitations;
mod lookups;
mod members;
mod roles;
mod session;
mod sharing;
mod via;

use std::fmt;

use chrono::{DateTime, Utc};

pub use access_requests::AccessRequestDecision;
pub use accounts::{
    AccountLimitsChange, AccountPolicyChange, AccountRead, AccountTarget, PlatformClose, account_id,
};
pub use changes::watch_request;
pub use consistency::{consistency, token_from_pb, token_to_pb};
pub use decisions::{AuthorizeQuery, BatchQuery, EffectiveQuery, batch, batch_results, check};
pub use invitations::{InvitationTarget, invitation_to_pb, preview_to_pb};
pub use lookups::ResourcesQuery;
pub use members::{MemberTarget, OwnershipTransfer, UserInAccount};
pub use roles::RoleTarget;
pub use session::{ACTOR_MFA_HEADER, actor_session};
pub use via::via;

use crate::domain::DomainError;
use crate::domain::error::FieldViolation;
use crate::domain::ids::{Email, ResourceId, UserId, Violations, parse_name};
use crate::domain::model::{Person, Resource, ResourceType, Scopes};
use crate::domain::page::PageRequest;
use crate::domain::permissions::{Permission, PermissionSet};
use crate::grpc::pb;

/// Gives a violation its field path. The path is formatted only when there is
/// a violation, so a valid request builds no field names.
fn named<T>(result: Result<T, FieldViolation>, path: impl FnOnce() -> String) -> Result<T, FieldViolation> {
    result.map_err(|violation| FieldViolation {
        field: path(),
        ..violation
    })
}

fn optional_id<T>(
    v: &mut Violations,
    name: &str,
    raw: &str,
    parse: fn(&str, &str) -> Result<T, FieldViolation>,
) -> Option<T> {
    // Only an unset (empty) field is absent: `"  "` is a bad value, refused
    // by `parse`, not silently read as "none".
    if raw.is_empty() {
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

fn resource_type(field: &str, raw: i32) -> Result<ResourceType, FieldViolation> {
    match pb::ResourceType::try_from(raw) {
        Ok(pb::ResourceType::List) => Ok(ResourceType::List),
        Ok(pb::ResourceType::Campaign) => Ok(ResourceType::Campaign),
        Ok(pb::ResourceType::Automation) => Ok(ResourceType::Automation),
        Ok(pb::ResourceType::Segment) => Ok(ResourceType::Segment),
        Ok(pb::ResourceType::Template) => Ok(ResourceType::Template),
        Ok(pb::ResourceType::SuppressionList) => Ok(ResourceType::SuppressionList),
        Ok(pb::ResourceType::Unspecified) | Err(_) => Err(FieldViolation::new(
            field,
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

/// Parses an optional resource, keeping its id's string; `prefix` locates
/// its message (e.g. `checks[2].`).
fn resource(
    v: &mut Violations,
    prefix: &dyn fmt::Display,
    raw: Option<pb::Resource>,
) -> Option<Option<Resource>> {
    let Some(raw) = raw else {
        return Some(None);
    };
    let resource_type = v.check(named(resource_type("resource.type", raw.r#type), || {
        format!("{prefix}resource.type")
    }));
    let id = v.check(named(ResourceId::parse_owned("resource.id", raw.id), || {
        format!("{prefix}resource.id")
    }));
    Some(Some(Resource {
        resource_type: resource_type?,
        id: id?,
    }))
}

/// Parses a list of scopes named `name` in the request (e.g. `scopes.scopes`).
fn scopes(v: &mut Violations, name: &dyn fmt::Display, raw: &[pb::Scope]) -> Option<Scopes> {
    let mut entries = Vec::with_capacity(raw.len());
    let mut ok = true;
    for (i, scope) in raw.iter().enumerate() {
        let resource_type = v.check(named(resource_type("resource_type", scope.resource_type), || {
            format!("{name}[{i}].resource_type")
        }));
        let mut ids = Vec::with_capacity(scope.resource_ids.len());
        for (j, id) in scope.resource_ids.iter().enumerate() {
            match v.check(named(ResourceId::parse("resource_ids", id), || {
                format!("{name}[{i}].resource_ids[{j}]")
            })) {
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
    v.check(named(Scopes::build("scopes", entries), || name.to_string()))
}

/// Refuses scopes listing more than `max` ids over every type together
/// (ACCESS_MAX_SCOPE_IDS), as the field `field` of the request: each id is
/// stored, cached and listed with its membership or invitation.
pub fn scope_ids_refused(max: usize, field: &str, scopes: Option<&Scopes>) -> Result<(), DomainError> {
    match scopes {
        Some(scopes) if scopes.id_count() > max => Err(DomainError::invalid(
            field,
            format!(
                "lists {} scope ids: at most {max} in total over every resource type (a role without \
                 scopes, or a custom role, may fit better)",
                scopes.id_count()
            ),
        )),
        _ => Ok(()),
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

/// Parses a list of permission names named `field` in the request.
fn permission_set(v: &mut Violations, field: &str, raw: &[String]) -> Option<PermissionSet> {
    let mut set = PermissionSet::EMPTY;
    let mut ok = true;
    for (i, name) in raw.iter().enumerate() {
        match v.check(named(Permission::parse("permissions", name), || {
            format!("{field}[{i}]")
        })) {
            Some(permission) => set.insert(permission),
            None => ok = false,
        }
    }
    ok.then_some(set)
}

/// Parses a required person (an account owner, the user accepting an invitation).
fn person(v: &mut Violations, name: &str, raw: Option<&pb::Person>) -> Option<Person> {
    let Some(raw) = raw else {
        v.push(FieldViolation::new(name, "is required (user_id, email, name)"));
        return None;
    };
    let user_id = v.check(named(UserId::parse("user_id", &raw.user_id), || {
        format!("{name}.user_id")
    }));
    let email = v.check(named(Email::parse("email", &raw.email), || {
        format!("{name}.email")
    }));
    let display = v.check(named(parse_name("name", &raw.name), || format!("{name}.name")));
    Some(Person {
        user_id: user_id?,
        email: email?,
        name: display?,
    })
}

fn person_to_pb(person: &Person) -> pb::Person {
    pb::Person {
        user_id: person.user_id.to_string(),
        email: person.email.to_string(),
        name: person.name.clone(),
    }
}

/// A protobuf timestamp.
pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests;
