//! Settings of how far the service's emails may go (docs/email.md): the
//! development mode without an SMTP relay, and the limits that keep the
//! emails of Invite, ResendInvitation and RequestAccess from being a relay
//! for whoever holds a key.

use std::time::Duration;

use clap::Args;

/// Default most emails one account's invitations and access requests
/// write in a window.
pub const DEFAULT_EMAIL_LIMIT_PER_ACCOUNT: u32 = 200;
/// Default window of the per-account limit: one hour.
pub const DEFAULT_EMAIL_LIMIT_PER_ACCOUNT_WINDOW_SECS: u64 = 3600;
/// Default most such emails one person's acts write in a window.
pub const DEFAULT_EMAIL_LIMIT_PER_ACTOR: u32 = 100;
/// Default window of the per-actor limit: one hour.
pub const DEFAULT_EMAIL_LIMIT_PER_ACTOR_WINDOW_SECS: u64 = 3600;
/// Default most such emails one address receives in a window.
pub const DEFAULT_EMAIL_LIMIT_PER_RECIPIENT: u32 = 10;
/// Default window of the per-recipient limit: one day.
pub const DEFAULT_EMAIL_LIMIT_PER_RECIPIENT_WINDOW_SECS: u64 = 86_400;
/// Default shortest time between two emails of one invitation: five minutes.
pub const DEFAULT_INVITATION_RESEND_COOLDOWN_SECS: u64 = 300;
/// Default time after a rejection during which the same request, filed
/// again, does not email the owner: seven days.
pub const DEFAULT_REJECTED_REQUEST_QUIET_SECS: u64 = 7 * 86_400;
/// Longest window or quiet time accepted: one year.
pub const MAX_EMAIL_WINDOW_SECS: u64 = 366 * 86_400;

/// The email bounds.
#[derive(Clone, Debug, Args)]
pub struct EmailBounds {
    /// A development install without an SMTP relay: emails are written to
    /// the log (their accept links without the token) and never sent.
    /// Needed to run without ACCESS_SMTP_URL off loopback; not with it.
    #[arg(long, env = "ACCESS_DEVELOPMENT_WITHOUT_SMTP", default_value_t = false, action = clap::ArgAction::Set)]
    pub development_without_smtp: bool,
    /// Most emails the invitations, resends and access requests of one
    /// account write in ACCESS_EMAIL_LIMIT_PER_ACCOUNT_WINDOW_SECS; 0: no limit.
    #[arg(long, env = "ACCESS_EMAIL_LIMIT_PER_ACCOUNT", default_value_t = DEFAULT_EMAIL_LIMIT_PER_ACCOUNT)]
    pub email_limit_per_account: u32,
    /// The per-account limit's window, in seconds.
    #[arg(long, env = "ACCESS_EMAIL_LIMIT_PER_ACCOUNT_WINDOW_SECS", default_value_t = DEFAULT_EMAIL_LIMIT_PER_ACCOUNT_WINDOW_SECS)]
    pub email_limit_per_account_window_secs: u64,
    /// Most such emails one person's acts (inviting, resending, requesting
    /// access) write in ACCESS_EMAIL_LIMIT_PER_ACTOR_WINDOW_SECS, over every
    /// account; 0: no limit.
    #[arg(long, env = "ACCESS_EMAIL_LIMIT_PER_ACTOR", default_value_t = DEFAULT_EMAIL_LIMIT_PER_ACTOR)]
    pub email_limit_per_actor: u32,
    /// The per-actor limit's window, in seconds.
    #[arg(long, env = "ACCESS_EMAIL_LIMIT_PER_ACTOR_WINDOW_SECS", default_value_t = DEFAULT_EMAIL_LIMIT_PER_ACTOR_WINDOW_SECS)]
    pub email_limit_per_actor_window_secs: u64,
    /// Most such emails one address receives in
    /// ACCESS_EMAIL_LIMIT_PER_RECIPIENT_WINDOW_SECS, from every account; 0: no limit.
    #[arg(long, env = "ACCESS_EMAIL_LIMIT_PER_RECIPIENT", default_value_t = DEFAULT_EMAIL_LIMIT_PER_RECIPIENT)]
    pub email_limit_per_recipient: u32,
    /// The per-recipient limit's window, in seconds.
    #[arg(long, env = "ACCESS_EMAIL_LIMIT_PER_RECIPIENT_WINDOW_SECS", default_value_t = DEFAULT_EMAIL_LIMIT_PER_RECIPIENT_WINDOW_SECS)]
    pub email_limit_per_recipient_window_secs: u64,
    /// Shortest time between two emails of one invitation (ResendInvitation,
    /// or Invite sending a pending one again), in seconds; 0: none.
    #[arg(long, env = "ACCESS_INVITATION_RESEND_COOLDOWN_SECS", default_value_t = DEFAULT_INVITATION_RESEND_COOLDOWN_SECS)]
    pub invitation_resend_cooldown_secs: u64,
    /// After an access request is rejected, how long the same member's
    /// request for the same permission is filed without emailing the
    /// owner, in seconds; 0: every request emails.
    #[arg(long, env = "ACCESS_REJECTED_REQUEST_QUIET_SECS", default_value_t = DEFAULT_REJECTED_REQUEST_QUIET_SECS)]
    pub rejected_request_quiet_secs: u64,
}

impl Default for EmailBounds {
    fn default() -> Self {
        Self {
            development_without_smtp: false,
            email_limit_per_account: DEFAULT_EMAIL_LIMIT_PER_ACCOUNT,
            email_limit_per_account_window_secs: DEFAULT_EMAIL_LIMIT_PER_ACCOUNT_WINDOW_SECS,
            email_limit_per_actor: DEFAULT_EMAIL_LIMIT_PER_ACTOR,
            email_limit_per_actor_window_secs: DEFAULT_EMAIL_LIMIT_PER_ACTOR_WINDOW_SECS,
            email_limit_per_recipient: DEFAULT_EMAIL_LIMIT_PER_RECIPIENT,
            email_limit_per_recipient_window_secs: DEFAULT_EMAIL_LIMIT_PER_RECIPIENT_WINDOW_SECS,
            invitation_resend_cooldown_secs: DEFAULT_INVITATION_RESEND_COOLDOWN_SECS,
            rejected_request_quiet_secs: DEFAULT_REJECTED_REQUEST_QUIET_SECS,
        }
    }
}

/// What the email bounds are judged with: the settings of Config they depend on.
pub(super) struct Delivery<'a> {
    /// ACCESS_SMTP_URL is set.
    pub relay: bool,
    /// ACCESS_INVITE_URL_BASE.
    pub invite_url_base: &'a str,
    /// ACCESS_INVITATION_TTL_SECS.
    pub invitation_ttl_secs: u64,
    /// The gRPC listener is on a loopback address.
    pub loopback: bool,
    /// How long sent and failed emails are kept (None: forever): every
    /// window counts emails, so none may be longer.
    pub retention: Option<Duration>,
}

impl EmailBounds {
    /// Refuses an install whose emails could leak or run unbounded: off
    /// loopback, no relay without saying it is a development install, and
    /// no accept link over plain http; windows longer than the outbox
    /// keeps what they count.
    pub(super) fn validate(&self, delivery: &Delivery<'_>) -> anyhow::Result<()> {
        anyhow::ensure!(
            !(self.development_without_smtp && delivery.relay),
            "ACCESS_DEVELOPMENT_WITHOUT_SMTP is for an install without a relay, but ACCESS_SMTP_URL is \
             set: unset one of the two"
        );
        anyhow::ensure!(
            delivery.relay || delivery.loopback || self.development_without_smtp,
            "no SMTP relay is configured (ACCESS_SMTP_URL), so no email would be sent: refusing to \
             listen on a non-loopback address without saying so. Set ACCESS_SMTP_URL, or \
             ACCESS_DEVELOPMENT_WITHOUT_SMTP=true for a development install (emails are then only \
             logged, their accept links without the token)"
        );
        anyhow::ensure!(
            delivery.loopback
                || self.development_without_smtp
                || delivery.invite_url_base.starts_with("https://"),
            "ACCESS_INVITE_URL_BASE '{}' must be an https:// URL off loopback: the accept link carries \
             the invitation's secret token",
            delivery.invite_url_base
        );
        for (name, limit, window) in self.windows() {
            anyhow::ensure!(
                limit == 0 || (1..=MAX_EMAIL_WINDOW_SECS).contains(&window),
                "{name} must be between 1 and {MAX_EMAIL_WINDOW_SECS} seconds"
            );
            anyhow::ensure!(
                limit == 0
                    || delivery
                        .retention
                        .is_none_or(|kept| Duration::from_secs(window) <= kept),
                "{name} ({window} s) must be at most ACCESS_OUTBOX_RETENTION_DAYS: the limit counts \
                 the emails the outbox keeps"
            );
        }
        anyhow::ensure!(
            self.invitation_resend_cooldown_secs < delivery.invitation_ttl_secs,
            "ACCESS_INVITATION_RESEND_COOLDOWN_SECS ({} s) must be shorter than an invitation lives \
             (ACCESS_INVITATION_TTL_SECS, {} s): an expired invitation could not be sent again",
            self.invitation_resend_cooldown_secs,
            delivery.invitation_ttl_secs
        );
        anyhow::ensure!(
            self.rejected_request_quiet_secs <= MAX_EMAIL_WINDOW_SECS,
            "ACCESS_REJECTED_REQUEST_QUIET_SECS must be at most {MAX_EMAIL_WINDOW_SECS} seconds"
        );
        Ok(())
    }

    /// Each limit's window setting with its limit and length; the resend
    /// cooldown is one too (it reads the invitation's latest email).
    fn windows(&self) -> [(&'static str, u32, u64); 4] {
        [
            (
                "ACCESS_EMAIL_LIMIT_PER_ACCOUNT_WINDOW_SECS",
                self.email_limit_per_account,
                self.email_limit_per_account_window_secs,
            ),
            (
                "ACCESS_EMAIL_LIMIT_PER_ACTOR_WINDOW_SECS",
                self.email_limit_per_actor,
                self.email_limit_per_actor_window_secs,
            ),
            (
                "ACCESS_EMAIL_LIMIT_PER_RECIPIENT_WINDOW_SECS",
                self.email_limit_per_recipient,
                self.email_limit_per_recipient_window_secs,
            ),
            (
                "ACCESS_INVITATION_RESEND_COOLDOWN_SECS",
                u32::from(self.invitation_resend_cooldown_secs > 0),
                self.invitation_resend_cooldown_secs,
            ),
        ]
    }
}
