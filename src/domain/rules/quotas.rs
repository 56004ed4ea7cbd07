//! Rule 14 of docs/domain.md, plan quotas: whether a change fits an
//! account's caps, and whether new caps fit its current use. The use cases
//! read the seats (`service::accounts`); the rule judges them.

use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::{AccountId, InvitationId, UserId};
use crate::domain::model::{Account, AccountLimits, Seat};

/// Seats a change adds: to every seat, and to restricted-role seats.
#[derive(Clone, Copy, Debug, Default)]
pub struct SeatChange {
    /// Seats of any role (a member or a pending invitation).
    pub seats: usize,
    /// Seats on restricted or custom roles.
    pub restricted: usize,
}

/// Refuses a change that would take `account`, whose current `seats` these
/// are, over a quota.
pub fn seats_refused(account: &Account, seats: &[Seat], change: SeatChange) -> DomainResult<()> {
    let limits = account.limits;
    let restricted = seats.iter().filter(|s| s.restricted).count();
    if let Some(max) = limits.max_members
        && change.seats > 0
        && seats.len() + change.seats > max as usize
    {
        return Err(DomainError::exhausted(ErrorReason::MemberLimitReached, format!(
                "account '{}' allows {max} members (active members and pending invitations) and has {}: remove a member, revoke an invitation or raise the plan",
                account.id,
                seats.len()
            ))
            .with("limit", max)
            .with("current", seats.len()));
    }
    if let Some(max) = limits.max_restricted_members
        && change.restricted > 0
        && restricted + change.restricted > max as usize
    {
        return Err(DomainError::exhausted(ErrorReason::RestrictedRoleLimitReached, format!(
                "account '{}' allows {max} members on restricted or custom roles and has {restricted}: free one or raise the plan",
                account.id
            ))
            .with("limit", max)
            .with("current", restricted));
    }
    Ok(())
}

/// Refuses caps below the current use of `account_id`, whose `seats` these are.
pub fn limits_refused(account_id: &AccountId, limits: AccountLimits, seats: &[Seat]) -> DomainResult<()> {
    if let Some(max) = limits.max_members
        && seats.len() > max as usize
    {
        let removable: Vec<&Seat> = seats.iter().filter(|s| !s.is_owner).collect();
        return Err(below_usage(
            format!(
                "account '{account_id}' has {} members (active members and pending invitations); remove or revoke {} of them before lowering the limit to {max}",
                seats.len(),
                seats.len() - max as usize
            ),
            "max_members",
            max,
            seats.len(),
            &removable,
        ));
    }
    let restricted: Vec<&Seat> = seats.iter().filter(|s| s.restricted).collect();
    if let Some(max) = limits.max_restricted_members
        && restricted.len() > max as usize
    {
        let named: Vec<String> = restricted
            .iter()
            .map(|s| format!("{} ({})", s.email, s.role))
            .collect();
        return Err(below_usage(
            format!(
                "{} members use restricted or custom roles: {}; change the role of, or remove, {} of them before lowering the limit to {max}",
                restricted.len(),
                named.join(", "),
                restricted.len() - max as usize
            ),
            "max_restricted_members",
            max,
            restricted.len(),
            &restricted,
        ));
    }
    Ok(())
}

/// How many ids of each kind LIMIT_BELOW_USAGE lists: enough for a program to
/// act on, small enough to fit a gRPC trailer (ids are 32 characters).
const LIMIT_BELOW_USAGE_IDS: usize = 20;

/// Rule 14: a limit below current use, with the facts a program needs to
/// pick whom to remove (the keys are documented in docs/errors.md).
fn below_usage(
    message: String,
    limit_field: &str,
    limit: u32,
    usage: usize,
    candidates: &[&Seat],
) -> DomainError {
    let users: Vec<&str> = candidates
        .iter()
        .filter_map(|s| s.user_id.as_ref().map(UserId::as_str))
        .take(LIMIT_BELOW_USAGE_IDS)
        .collect();
    let invitations: Vec<&str> = candidates
        .iter()
        .filter_map(|s| s.invitation_id.as_ref().map(InvitationId::as_str))
        .take(LIMIT_BELOW_USAGE_IDS)
        .collect();
    DomainError::precondition(ErrorReason::LimitBelowUsage, message)
        .with("limit_field", limit_field)
        .with("limit", limit)
        .with("usage", usage)
        .with("excess", usage.saturating_sub(limit as usize))
        .with("user_ids", users.join(","))
        .with("invitation_ids", invitations.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::Email;

    fn member(n: usize) -> Seat {
        Seat {
            email: Email::from_trusted(format!("m{n}@example.com")),
            role: "designer".to_owned(),
            restricted: true,
            user_id: Some(UserId::from_trusted(format!("{n:032x}"))),
            invitation_id: None,
            is_owner: false,
        }
    }

    /// The id lists stay bounded whatever the use, so the trailer stays small;
    /// `usage` and `excess` still say the whole truth.
    #[test]
    fn limit_below_usage_lists_a_bounded_number_of_ids() {
        let seats: Vec<Seat> = (0..LIMIT_BELOW_USAGE_IDS * 3).map(member).collect();
        let candidates: Vec<&Seat> = seats.iter().collect();
        let err = below_usage(String::new(), "max_members", 1, seats.len(), &candidates);
        let metadata = err.metadata().expect("a precondition carries metadata");
        let listed = metadata.get("user_ids").expect("user_ids").split(',').count();
        assert_eq!(listed, LIMIT_BELOW_USAGE_IDS);
        assert_eq!(metadata.get("usage"), Some("60"));
        assert_eq!(metadata.get("excess"), Some("59"));
        assert_eq!(metadata.get("invitation_ids"), Some(""));
    }
}
