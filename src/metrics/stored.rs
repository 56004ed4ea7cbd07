//! Gauges read from the database (invitations by state, the outbox's
//! messages), at most once per [`REFRESH_EVERY`] whatever the number of
//! scrapers, and never waited on for longer than [`QUERY_TIMEOUT`].

use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use chrono::Utc;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sea_orm::DatabaseConnection;
use tokio::sync::Mutex;

use crate::domain::DomainResult;
use crate::domain::model::{DeliveryState, InvitationState};
use crate::storage::{self, OutboxCounts};

/// Shortest time between two counts: the counts move slowly, and each one
/// reads whole indexes.
const REFRESH_EVERY: Duration = Duration::from_secs(30);
/// Longest a scrape waits for the counts before answering with the last ones.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// Every invitation state, so each is exported even while none is in it.
const INVITATION_STATES: [InvitationState; 5] = [
    InvitationState::Pending,
    InvitationState::Accepted,
    InvitationState::Declined,
    InvitationState::Revoked,
    InvitationState::Expired,
];

type StateLabel = [(&'static str, &'static str); 1];

/// The gauges read from the database and what refreshes them.
pub(super) struct StoredGauges {
    db: DatabaseConnection,
    invitations: Family<StateLabel, Gauge>,
    outbox: Family<StateLabel, Gauge>,
    oldest_queued: Gauge<f64, AtomicU64>,
    /// When the counts were last read; held during a refresh, so concurrent
    /// scrapes wait for one query instead of sending one each.
    refreshed: Mutex<Option<Instant>>,
}

impl StoredGauges {
    pub(super) fn register(registry: &mut Registry, db: DatabaseConnection) -> Self {
        let invitations = Family::<StateLabel, Gauge>::default();
        registry.register(
            "access_invitations",
            "Invitations by state (pending ones past their expiry count as expired), refreshed at most every 30 s",
            invitations.clone(),
        );
        let outbox = Family::<StateLabel, Gauge>::default();
        registry.register(
            "access_outbox_messages",
            "Emails in the outbox by delivery state (queued, sent, failed), refreshed at most every 30 s",
            outbox.clone(),
        );
        let oldest_queued = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "access_outbox_oldest_queued_seconds",
            "Age of the oldest email still queued (0 when none is), refreshed at most every 30 s",
            oldest_queued.clone(),
        );
        Self {
            db,
            invitations,
            outbox,
            oldest_queued,
            refreshed: Mutex::new(None),
        }
    }

    /// Reads the counts again unless they are recent; a count that fails
    /// keeps its last values (a scrape never fails because of these gauges),
    /// and does not hold back the other.
    pub(super) async fn refresh(&self) {
        let mut refreshed = self.refreshed.lock().await;
        if refreshed.is_some_and(|at| at.elapsed() < REFRESH_EVERY) {
            return;
        }
        let (invitations, outbox) = tokio::join!(
            tokio::time::timeout(QUERY_TIMEOUT, storage::invitation_counts(&self.db, Utc::now())),
            tokio::time::timeout(QUERY_TIMEOUT, storage::outbox_counts(&self.db)),
        );
        let invitations = finished("invitations", invitations);
        let outbox = finished("emails", outbox);
        let complete = invitations.is_some() && outbox.is_some();
        if let Some(counts) = invitations {
            self.show_invitations(counts);
        }
        if let Some(counts) = outbox {
            self.show_outbox(counts);
        }
        if complete {
            *refreshed = Some(Instant::now());
        }
    }

    fn show_invitations(&self, counts: Vec<(InvitationState, u64)>) {
        for state in INVITATION_STATES {
            set(&self.invitations, state.as_str(), 0);
        }
        for (state, n) in counts {
            set(&self.invitations, state.as_str(), n);
        }
    }

    fn show_outbox(&self, counts: OutboxCounts) {
        for state in DeliveryState::ALL {
            set(&self.outbox, state.as_str(), 0);
        }
        for (state, n) in counts.by_state {
            set(&self.outbox, state.as_str(), n);
        }
        let age = counts
            .oldest_queued
            .map(|at| (Utc::now() - at).as_seconds_f64().max(0.0));
        self.oldest_queued.set(age.unwrap_or(0.0));
    }
}

/// The counts of a read that ended in time and without error; otherwise
/// None, and the log says why.
fn finished<T>(what: &str, read: Result<DomainResult<T>, tokio::time::error::Elapsed>) -> Option<T> {
    match read {
        Ok(Ok(counts)) => Some(counts),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "counting {what} for the metrics failed");
            None
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = QUERY_TIMEOUT.as_millis() as u64,
                "counting {what} for the metrics timed out"
            );
            None
        }
    }
}

fn set(family: &Family<StateLabel, Gauge>, state: &'static str, n: u64) {
    family
        .get_or_create(&[("state", state)])
        .set(i64::try_from(n).unwrap_or(i64::MAX));
}
