//! The outbox dispatcher: a background task that sends what the use cases
//! wrote to the outbox, once their transactions committed.
//!
//! - One message at a time: it takes the message's lease (the row's
//!   `lease_owner`/`lease_until`, see src/storage/repository/outbox.rs), so
//!   exactly one attempt is in flight per message across every replica; a
//!   dispatcher that dies mid-send leaves the lease to expire, and another
//!   one then sends the message again with the same Message-ID.
//! - A failed attempt is retried after an exponential backoff
//!   (ACCESS_OUTBOX_BACKOFF_MS doubled per attempt, at most
//!   ACCESS_OUTBOX_BACKOFF_MAX_MS); after ACCESS_OUTBOX_MAX_ATTEMPTS (or a
//!   permanent 5xx refusal) the message is `failed`.
//! - Sent or failed for good, the row's raw invitation token is erased. An
//!   invitation written without its token (by a process that had no relay,
//!   so kept none) cannot be sent: it fails at once, saying to resend it.
//! - Without ACCESS_SMTP_URL nothing is sent: each queued message is
//!   written to the log (once per process), its accept link without the
//!   token (the log names the invitations instead), and stays queued.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::templates::{EmailRenderer, UNLOGGED_TOKEN};
use crate::domain::model::{MessageKind, OutboxMessage, StoredFacts};
use crate::domain::ports::{ClaimedMessage, Outbox};

/// Longest error text kept on a row (and shown by ListInvitations).
const MAX_ERROR_LEN: usize = 500;
/// Messages the log-only mode reads at once.
const LOG_BATCH: u64 = 50;
/// How often a sending dispatcher deletes the messages past the retention
/// (while a backlog lasts, one batch each time it finds nothing to send).
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// Messages deleted in one transaction.
const PRUNE_BATCH: u64 = 500;

/// How the dispatcher paces itself.
#[derive(Clone, Copy, Debug)]
pub struct DispatchSettings {
    /// Pause between polls when nothing is due.
    pub poll: Duration,
    /// How long a claimed message is ours: longer than an SMTP attempt can take.
    pub lease: Duration,
    /// Attempts before a message is `failed`.
    pub max_attempts: u32,
    /// The first retry's delay, doubled for each further attempt.
    pub backoff: Duration,
    /// The longest delay between attempts.
    pub backoff_max: Duration,
    /// How long a sent or failed message is kept; None: forever.
    pub retention: Option<Duration>,
}

/// The SMTP relay the dispatcher sends through (ACCESS_SMTP_URL).
#[derive(Clone)]
pub struct RelaySettings {
    /// smtp://host:25, smtp://host:587?tls=required or smtps://host:465,
    /// with user:password@ when it needs a login.
    pub url: String,
    /// The longest attempt (connect, dialogue, data).
    pub timeout: Duration,
}

impl DispatchSettings {
    /// The delay before the attempt after `attempts` failed ones.
    pub fn delay_after(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        self.backoff
            .saturating_mul(1u32 << doublings)
            .min(self.backoff_max)
    }
}

/// Sends the outbox's messages.
pub struct Dispatcher {
    outbox: Arc<dyn Outbox>,
    renderer: Arc<EmailRenderer>,
    /// None: no relay configured, messages go to the log.
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    settings: DispatchSettings,
    /// This dispatcher's name on the leases it takes.
    owner: String,
}

/// A running dispatcher.
pub struct DispatcherHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl DispatcherHandle {
    /// Asks the dispatcher to stop after the message in flight, waiting at
    /// most `within` for it; past that the task is cut (its lease expires
    /// and another replica sends the message).
    pub async fn stop(self, within: Duration) {
        self.stop.send_replace(true);
        let abort = self.task.abort_handle();
        if tokio::time::timeout(within, self.task).await.is_err() {
            tracing::warn!("the outbox dispatcher did not stop in time: its message is left to its lease");
            abort.abort();
        }
    }

    /// Ends the task at once, wherever it is, as a crash would (tests).
    pub fn abort(self) {
        self.task.abort();
    }
}

impl Dispatcher {
    /// A dispatcher settling the messages of `outbox` (app.rs hands it the
    /// storage's, on the pool it chooses), rendered by `renderer`, sent through
    /// `relay` (none: written to the log and kept queued). Fails on a relay
    /// URL lettre cannot use.
    pub fn new(
        outbox: Arc<dyn Outbox>,
        renderer: Arc<EmailRenderer>,
        relay: Option<&RelaySettings>,
        settings: DispatchSettings,
    ) -> anyhow::Result<Self> {
        let transport = match relay {
            Some(relay) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(&relay.url)?
                    .timeout(Some(relay.timeout))
                    .build(),
            ),
            None => None,
        };
        Ok(Self {
            outbox,
            renderer,
            transport,
            settings,
            owner: uuid::Uuid::new_v4().simple().to_string(),
        })
    }

    /// Runs until stopped.
    pub fn spawn(self) -> DispatcherHandle {
        self.spawn_logging_to(None)
    }

    /// Runs until stopped, its log events going to `dispatch` when given
    /// (the App's own subscriber, see `App::with_trace_dispatch`), else to
    /// the subscriber in force.
    pub fn spawn_logging_to(self, dispatch: Option<tracing::Dispatch>) -> DispatcherHandle {
        use tracing::instrument::WithSubscriber;
        let (stop, stopped) = watch::channel(false);
        let task = match dispatch {
            Some(dispatch) => tokio::spawn(self.run(stopped).with_subscriber(dispatch)),
            None => tokio::spawn(self.run(stopped)),
        };
        DispatcherHandle { stop, task }
    }

    async fn run(self, mut stopped: watch::Receiver<bool>) {
        tracing::info!(
            relay = self.transport.is_some(),
            owner = %self.owner,
            "outbox dispatcher started{}",
            if self.transport.is_some() {
                ""
            } else {
                " (no ACCESS_SMTP_URL: messages are written to the log and stay queued)"
            }
        );
        let mut logged_up_to = None;
        let mut pruned_at: Option<Instant> = None;
        while !*stopped.borrow() {
            let busy = match &self.transport {
                Some(transport) => self.send_next(transport).await,
                None => self.log_new(&mut logged_up_to).await,
            };
            if busy {
                continue;
            }
            // Only a sending dispatcher settles messages, so only it prunes
            // them (the log-only one keeps to reads: see `app::email_dispatcher`). One
            // batch per idle round: on SQLite the dispatcher shares the
            // requests' one connection, so a backlog (after an upgrade) is
            // worked off between sends and requests, never in one go.
            if self.transport.is_some() && pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                let backlog = self.prune_batch().await;
                if !backlog {
                    pruned_at = Some(Instant::now());
                }
            }
            tokio::select! {
                _ = stopped.changed() => {}
                () = tokio::time::sleep(self.settings.poll) => {}
            }
        }
        tracing::info!("outbox dispatcher stopped");
    }

    /// Deletes one batch of the messages settled longer ago than the
    /// retention; true when the batch was full (more may be left).
    async fn prune_batch(&self) -> bool {
        let Some(cutoff) = self
            .settings
            .retention
            .and_then(|kept| chrono::Duration::from_std(kept).ok())
            .and_then(|kept| Utc::now().checked_sub_signed(kept))
        else {
            return false;
        };
        match self.outbox.prune_settled(cutoff, PRUNE_BATCH).await {
            Ok(0) => false,
            Ok(deleted) => {
                tracing::info!(deleted, before = %cutoff, "outbox: deleted messages settled before the retention");
                deleted == PRUNE_BATCH
            }
            Err(err) => {
                tracing::warn!(error = %err, "outbox: cannot delete old messages; trying again later");
                false
            }
        }
    }

    /// Claims and sends one due message; true when there was one (so the
    /// next may be due too).
    async fn send_next(&self, transport: &AsyncSmtpTransport<Tokio1Executor>) -> bool {
        let now = Utc::now();
        let lease_until = now + chrono::Duration::from_std(self.settings.lease).unwrap_or_default();
        let claimed = match self.outbox.claim(&self.owner, now, lease_until).await {
            Ok(Some(claimed)) => claimed,
            Ok(None) => return false,
            Err(err) => {
                tracing::warn!(error = %err, "outbox: cannot claim a message; retrying at the next poll");
                return false;
            }
        };
        let id = claimed.message.id.clone();
        let outcome = self.attempt(transport, &claimed).await;
        let settled = match outcome {
            Ok(()) => {
                tracing::info!(message = %id, kind = claimed.message.kind().as_str(), attempts = claimed.attempts, "outbox: sent");
                self.outbox.mark_sent(&id, &self.owner, Utc::now()).await
            }
            Err((error, permanent)) => {
                let error: String = error.chars().take(MAX_ERROR_LEN).collect();
                let last = permanent || claimed.attempts >= self.settings.max_attempts;
                let next = (!last).then(|| {
                    Utc::now()
                        + chrono::Duration::from_std(self.settings.delay_after(claimed.attempts))
                            .unwrap_or_default()
                });
                if last {
                    tracing::warn!(message = %id, attempts = claimed.attempts, %error, "outbox: failed for good");
                } else {
                    tracing::info!(message = %id, attempts = claimed.attempts, %error, retry_at = ?next, "outbox: attempt failed");
                }
                self.outbox.mark_failed(&id, &self.owner, &error, next).await
            }
        };
        match settled {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(message = %id, "outbox: the lease expired before the attempt ended; another dispatcher owns the message")
            }
            Err(err) => {
                tracing::warn!(message = %id, error = %err, "outbox: cannot record the attempt; the lease will expire and the message be retried")
            }
        }
        true
    }

    /// One SMTP attempt: Err with the reason and whether it is permanent.
    async fn attempt(
        &self,
        transport: &AsyncSmtpTransport<Tokio1Executor>,
        claimed: &ClaimedMessage,
    ) -> Result<(), (String, bool)> {
        if claimed.message.kind() == MessageKind::Invitation && claimed.message.token.is_none() {
            return Err((
                "written while no SMTP relay was configured, so its accept link's token was not kept: \
                 resend the invitation"
                    .to_owned(),
                true,
            ));
        }
        let email = self
            .renderer
            .render(&claimed.message)
            .map_err(|err| (format!("cannot render the message: {err:#}"), true))?;
        let mime = self
            .renderer
            .mime(&email)
            .map_err(|err| (format!("cannot build the message: {err:#}"), true))?;
        match transport.send(mime).await {
            Ok(_) => Ok(()),
            Err(err) => Err((err.to_string(), err.is_permanent())),
        }
    }

    /// The log-only mode: writes the queued messages it has not shown yet to
    /// the log. True when it found some.
    async fn log_new(&self, up_to: &mut Option<(i64, String)>) -> bool {
        let messages = match self.outbox.queued_after(up_to.clone(), LOG_BATCH).await {
            Ok(messages) => messages,
            Err(err) => {
                tracing::warn!(error = %err, "outbox: cannot read queued messages");
                return false;
            }
        };
        // Rendering is the cost of this mode: skipped when nobody would read
        // it (a message that cannot render fails for good when it is sent).
        if tracing::enabled!(tracing::Level::INFO) {
            for claimed in &messages {
                self.show(&claimed.message);
            }
        }
        if let Some(last) = messages.last() {
            *up_to = Some((last.created_ms, last.message.id.clone()));
        }
        !messages.is_empty()
    }

    /// Writes one queued message to the log, as it would be sent but for
    /// the accept link's token, which no log line carries (the line names
    /// the invitations instead): logs are read by more people, and kept
    /// longer, than the invitee's inbox.
    fn show(&self, message: &OutboxMessage<StoredFacts>) {
        let shown = OutboxMessage {
            token: Some(UNLOGGED_TOKEN.to_owned()),
            ..message.clone()
        };
        let invitations: Vec<&str> = message.invitation_ids.iter().map(|id| id.as_str()).collect();
        match self.renderer.render(&shown) {
            Ok(email) => tracing::info!(
                message = %message.id,
                kind = message.kind().as_str(),
                invitations = ?invitations,
                to = %email.to,
                subject = %email.subject,
                text = %email.text,
                "outbox message (no ACCESS_SMTP_URL: not sent, kept queued; the accept link's token is not logged)"
            ),
            Err(err) => {
                tracing::warn!(message = %message.id, error = %err, "outbox: cannot render a message")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relay_url_says_plain_starttls_or_tls() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://relay.example:587?tls=required",
            "smtp://relay.example:587?tls=opportunistic",
            "smtps://user:secret@relay.example:465",
        ] {
            assert!(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url).is_ok(),
                "{url}"
            );
        }
        for url in ["http://relay.example", "relay.example:25"] {
            assert!(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url).is_err(),
                "{url}"
            );
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let settings = DispatchSettings {
            poll: Duration::from_millis(100),
            lease: Duration::from_secs(60),
            max_attempts: 8,
            backoff: Duration::from_secs(5),
            backoff_max: Duration::from_secs(60),
            retention: None,
        };
        let delays: Vec<u64> = (1..=6).map(|n| settings.delay_after(n).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 60, 60]);
        assert_eq!(settings.delay_after(1000).as_secs(), 60);
    }
}
