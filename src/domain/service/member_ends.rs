//! UpdateMember's ends (docs/domain.md rule 17): what a caller asks of the
//! ends of a membership, its grants and its scope entries, and the ends the
//! member has after the change.

use chrono::{DateTime, Utc};

use crate::domain::error::{DomainError, DomainResult, echo};
use crate::domain::ids::ResourceId;
use crate::domain::model::{AccessEnds, Ended, Expiry, Membership, ResourceType, Scopes};
use crate::domain::permissions::PermissionSet;
use crate::domain::rules::ends::{EndLimits, check_end};

/// Changes to the ends of a membership and of its grants and scope entries.
#[derive(Clone, Debug, Default)]
pub struct MemberEnds {
    /// The membership's end: None leaves it; `Some(None)` clears it;
    /// `Some(Some(end))` sets, moves or extends it.
    pub membership: Option<Option<EndAt>>,
    /// The ends of extra grants and scope entries, replacing all of theirs:
    /// None leaves them (dropping those of grants and entries that go).
    pub entries: Option<Vec<Expiry>>,
}

/// An end as a caller gives it: an instant, or a number of days from the
/// call (judged against the time of the call, never the caller's clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndAt {
    /// At this instant.
    At(DateTime<Utc>),
    /// This many days after the call.
    DaysFromNow(u32),
}

impl MemberEnds {
    /// Whether the call asks for any end at all.
    pub(super) fn sets_any(&self) -> bool {
        matches!(self.membership, Some(Some(_))) || self.entries.as_ref().is_some_and(|e| !e.is_empty())
    }
}

/// The ends a member has after an UpdateMember (rule 17): the membership's
/// as asked or as it was, and those of the grants and scope entries as asked
/// or, when not asked, those kept of the grants and entries that stay. Every
/// end given must lie within the limits and name a grant or entry the
/// member has after the change.
pub(super) fn new_ends(
    member: &Membership,
    asked: &MemberEnds,
    grants: PermissionSet,
    scopes: &Scopes,
    now: DateTime<Utc>,
    limits: EndLimits,
) -> DomainResult<AccessEnds> {
    let membership = match asked.membership {
        Some(Some(EndAt::At(end))) => {
            check_end("access_end.end_time", end, now, limits)?;
            Some(end)
        }
        Some(Some(EndAt::DaysFromNow(days))) => {
            let end = now + chrono::Duration::days(i64::from(days));
            check_end("access_end.days", end, now, limits)?;
            Some(end)
        }
        Some(None) => None,
        None => member.ends.membership,
    };
    let in_scope = |t: ResourceType, id: &ResourceId| scopes.ids_of(t).is_some_and(|ids| ids.contains(id));
    let mut ends = AccessEnds {
        membership,
        ..AccessEnds::default()
    };
    match &asked.entries {
        None => {
            ends.grants = member
                .ends
                .grants
                .iter()
                .filter(|(p, _)| grants.contains(*p))
                .cloned()
                .collect();
            ends.scopes = member
                .ends
                .scopes
                .iter()
                .filter(|(t, id, _)| in_scope(*t, id))
                .cloned()
                .collect();
        }
        Some(entries) => {
            for (index, expiry) in entries.iter().enumerate() {
                let field = format!("entry_ends.ends[{index}]");
                check_end(&format!("{field}.end_time"), expiry.at, now, limits)?;
                match &expiry.what {
                    Ended::Grant(permission) if grants.contains(*permission) => {
                        ends.grants.push((*permission, expiry.at));
                    }
                    Ended::Scope(t, id) if in_scope(*t, id) => ends.scopes.push((*t, id.clone(), expiry.at)),
                    Ended::Membership => {
                        return Err(DomainError::invalid(
                            format!("{field}.kind"),
                            "the membership's own end goes in access_end",
                        ));
                    }
                    what @ (Ended::Grant(_) | Ended::Scope(..)) => {
                        return Err(DomainError::invalid(
                            format!("{field}.subject"),
                            format!(
                                "the member has no {} '{}' after this change to end",
                                what.kind(),
                                echo(&what.subject())
                            ),
                        ));
                    }
                }
            }
        }
    }
    ends.grants.sort();
    ends.grants.dedup_by_key(|(p, _)| *p);
    ends.scopes.sort();
    ends.scopes.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    Ok(ends)
}
