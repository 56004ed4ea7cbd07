//! Rule 17 of docs/domain.md for the calls that set an end: how far ahead
//! and how far past an end may be, given the time of the call.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::error::{DomainError, DomainResult, ErrorReason};

/// The bounds an end must keep.
#[derive(Clone, Copy, Debug)]
pub struct EndLimits {
    /// Furthest ahead of now an end may be.
    pub max_ahead: Duration,
    /// How far past now an end may be and still be taken: a caller whose
    /// clock runs behind this replica's by up to this much is not refused.
    pub skew: Duration,
}

/// Refuses an end (given for `field`) already past beyond the tolerated
/// skew, or further ahead than the limit.
pub fn check_end(field: &str, end: DateTime<Utc>, now: DateTime<Utc>, limits: EndLimits) -> DomainResult<()> {
    let skew = chrono::Duration::from_std(limits.skew).unwrap_or(chrono::Duration::MAX);
    let max_ahead = chrono::Duration::from_std(limits.max_ahead).unwrap_or(chrono::Duration::MAX);
    let stamp = |at: DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    if end <= now.checked_sub_signed(skew).unwrap_or(DateTime::<Utc>::MIN_UTC) {
        return Err(DomainError::precondition(
            ErrorReason::EndInPast,
            format!(
                "{field} {} is already past (now is {}): give an end in the future, or none",
                stamp(end),
                stamp(now)
            ),
        )
        .with("field", field)
        .with("end_time", stamp(end))
        .with("now", stamp(now)));
    }
    let latest = now
        .checked_add_signed(max_ahead)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    if end > latest {
        let days = limits.max_ahead.as_secs() / 86_400;
        return Err(DomainError::precondition(
            ErrorReason::EndTooFar,
            format!(
                "{field} {} is more than {days} days ahead (ACCESS_MAX_ACCESS_END_DAYS): give an \
                 end by {}, or none",
                stamp(end),
                stamp(latest)
            ),
        )
        .with("field", field)
        .with("end_time", stamp(end))
        .with("max_days", days));
    }
    Ok(())
}

/// The refusal of an end put on the owner's membership, which never ends.
pub fn owner_never_ends(field: &str) -> DomainError {
    DomainError::precondition(
        ErrorReason::OwnerNeverEnds,
        format!("{field}: the owner's membership never ends; transfer ownership first"),
    )
    .with("field", field)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: EndLimits = EndLimits {
        max_ahead: Duration::from_secs(10 * 86_400),
        skew: Duration::from_secs(2),
    };

    fn reason(result: DomainResult<()>) -> Option<&'static str> {
        match result {
            Ok(()) => None,
            Err(DomainError::FailedPrecondition { reason, .. }) => Some(reason.as_str()),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn an_end_must_lie_between_the_skew_past_and_the_limit_ahead() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let s = chrono::Duration::seconds;
        assert_eq!(
            reason(check_end("e", now - s(2), now, LIMITS)),
            Some("END_IN_PAST")
        );
        assert_eq!(reason(check_end("e", now - s(1), now, LIMITS)), None);
        assert_eq!(
            reason(check_end("e", now + chrono::Duration::days(10), now, LIMITS)),
            None
        );
        assert_eq!(
            reason(check_end(
                "e",
                now + chrono::Duration::days(10) + s(1),
                now,
                LIMITS
            )),
            Some("END_TOO_FAR")
        );
    }
}
