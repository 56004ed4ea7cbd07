//! The email limits (docs/email.md, "Limits"): the acts a caller can repeat
//! at will (inviting, resending, asking for access) make the service write
//! emails from the platform's domain to addresses the caller chooses, so each
//! email they write passes three rate limits first (per account, per actor,
//! per recipient), and an invitation is not emailed again within a cooldown.
//!
//! Every limit counts emails the outbox holds, in the write's own
//! transaction: replicas share nothing but the database, and a refused
//! request rolls back with the rest of its writes. The counts are read
//! after [`Transaction::lock_email_counters`], so two requests counting the
//! same emails on two replicas take turns and the limit is exact.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::UseCases;
use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::model::{EmailCounter, Invitation, OutboxMessage};
use crate::domain::ports::Transaction;

/// One rate limit: at most `max` emails in any `window`; a `max` of 0 is no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Emails allowed in a window.
    pub max: u32,
    /// How far back the window reaches from now.
    pub window: Duration,
}

/// The email limits in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmailLimits {
    /// The emails of one account.
    pub per_account: RateLimit,
    /// The emails one person's acts write, in every account.
    pub per_actor: RateLimit,
    /// The emails one address receives, from every account.
    pub per_recipient: RateLimit,
    /// Shortest time between two emails of one invitation; zero: none.
    pub resend_cooldown: Duration,
    /// After a rejection, how long the same request filed again does not
    /// email the owner; zero: it always does.
    pub rejected_request_quiet: Duration,
}

/// `at` minus `span`, saturating (a window reaching before the epoch counts everything).
fn before(at: DateTime<Utc>, span: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(span)
        .ok()
        .and_then(|span| at.checked_sub_signed(span))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// How long from `now` until `at` (zero when it has passed), rounded up to
/// whole milliseconds, the store's precision.
fn until(now: DateTime<Utc>, at: DateTime<Utc>) -> Duration {
    (at - now)
        .to_std()
        .unwrap_or(Duration::ZERO)
        .max(Duration::from_millis(1))
}

/// `span` in whole seconds, rounded up, as a message says it.
fn whole_seconds(span: Duration) -> u128 {
    span.as_millis().div_ceil(1000)
}

impl UseCases {
    /// Refuses `message` (an email about to be written: an invitation or an
    /// access request, naming its actor) when one of its three limits is
    /// full, with the time at which every full one has room again. Locks the
    /// counters first (see the module's documentation).
    pub(super) async fn within_email_limits(
        &self,
        tx: &dyn Transaction,
        message: &OutboxMessage,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        let limits = &self.settings.email;
        let actor = message
            .actor
            .as_ref()
            .ok_or_else(|| DomainError::Internal("a limited email names no actor".into()))?;
        let counted: Vec<(EmailCounter<'_>, RateLimit)> = [
            (EmailCounter::Account(&message.account_id), limits.per_account),
            (EmailCounter::Actor(actor), limits.per_actor),
            (EmailCounter::Recipient(&message.recipient), limits.per_recipient),
        ]
        .into_iter()
        .filter(|(_, limit)| limit.max > 0)
        .collect();
        if counted.is_empty() {
            return Ok(());
        }
        let counters: Vec<EmailCounter<'_>> = counted.iter().map(|(counter, _)| *counter).collect();
        tx.lock_email_counters(&counters).await?;
        // The time once the turn came: every email counted below was
        // written before it (its transaction committed before this one could
        // lock), while the request's own time may be older than some of them.
        let now = now.max(super::now());
        // The one that frees last: retrying before it would be refused again.
        let mut full: Option<(EmailCounter<'_>, RateLimit, DateTime<Utc>)> = None;
        for (counter, limit) in counted {
            let since = before(now, limit.window);
            // With `max` emails in the window, one more is refused until the
            // oldest of those `max` leaves it.
            if let Some(oldest) = tx.nth_newest_email(counter, since, limit.max).await? {
                let free_at = oldest + chrono::Duration::from_std(limit.window).unwrap_or_default();
                if full.is_none_or(|(_, _, later)| free_at > later) {
                    full = Some((counter, limit, free_at));
                }
            }
        }
        let Some((counter, limit, free_at)) = full else {
            return Ok(());
        };
        let per = counter.per();
        let whose = match counter {
            EmailCounter::Account(id) => format!("account '{id}'"),
            EmailCounter::Actor(id) => format!("'{id}'"),
            EmailCounter::Recipient(email) => format!("the address '{email}'"),
        };
        let wait = until(now, free_at).min(limit.window);
        Err(DomainError::exhausted(
            ErrorReason::EmailRateLimited,
            format!(
                "{whose} reached this server's limit per {per} of {} invitation and access-request \
                 emails in {} s: nothing was changed; retry in {} s",
                limit.max,
                limit.window.as_secs(),
                whole_seconds(wait)
            ),
        )
        .with("per", per)
        .with("limit", limit.max)
        .with("window_seconds", limit.window.as_secs())
        .retry_after(wait))
    }

    /// Refuses to email `invitation` again within the resend cooldown of its
    /// latest email, saying when it may be.
    pub(super) async fn resend_cooled_down(
        &self,
        tx: &dyn Transaction,
        invitation: &Invitation,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        let cooldown = self.settings.email.resend_cooldown;
        if cooldown.is_zero() {
            return Ok(());
        }
        let Some(last) = tx.latest_invitation_email(&invitation.id).await? else {
            return Ok(());
        };
        // As in `within_email_limits`: the latest email may have been written
        // by a request that started after this one, then held its account.
        let now = now.max(super::now());
        let ready = last + chrono::Duration::from_std(cooldown).unwrap_or_default();
        if now >= ready {
            return Ok(());
        }
        let wait = until(now, ready).min(cooldown);
        Err(DomainError::exhausted(
            ErrorReason::ResendCooldown,
            format!(
                "invitation '{}' was emailed {} s ago; it can be sent again {} s after its last email: \
                 retry in {} s",
                invitation.id,
                (now - last).num_seconds(),
                cooldown.as_secs(),
                whole_seconds(wait)
            ),
        )
        .with("invitation_id", invitation.id.as_str())
        .with("cooldown_seconds", cooldown.as_secs())
        .retry_after(wait))
    }
}
