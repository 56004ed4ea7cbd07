//! Invitations by state: a gauge read from the database, at most once per
//! [`REFRESH_EVERY`] whatever the number of scrapers, and never waited on
//! for longer than [`QUERY_TIMEOUT`].

use std::time::{Duration, Instant};

use chrono::Utc;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sea_orm::DatabaseConnection;
use tokio::sync::Mutex;

use crate::domain::model::InvitationState;
use crate::storage;

/// Shortest time between two counts: the counts move slowly, and each one
/// reads the whole invitations table.
const REFRESH_EVERY: Duration = Duration::from_secs(30);
/// Longest a scrape waits for the counts before answering with the last ones.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// Every state, so each is exported even while none is in it.
const STATES: [InvitationState; 5] = [
    InvitationState::Pending,
    InvitationState::Accepted,
    InvitationState::Declined,
    InvitationState::Revoked,
    InvitationState::Expired,
];

type StateLabel = [(&'static str, &'static str); 1];

/// The `access_invitations{state}` gauge and what refreshes it.
pub(super) struct InvitationGauge {
    db: DatabaseConnection,
    gauge: Family<StateLabel, Gauge>,
    /// When the counts were last read; held during a refresh, so concurrent
    /// scrapes wait for one query instead of sending one each.
    refreshed: Mutex<Option<Instant>>,
}

impl InvitationGauge {
    pub(super) fn register(registry: &mut Registry, db: DatabaseConnection) -> Self {
        let gauge = Family::<StateLabel, Gauge>::default();
        registry.register(
            "access_invitations",
            "Invitations by state (pending ones past their expiry count as expired), refreshed at most every 30 s",
            gauge.clone(),
        );
        Self {
            db,
            gauge,
            refreshed: Mutex::new(None),
        }
    }

    /// Reads the counts again unless they are recent; on failure the last
    /// counts stay (a scrape never fails because of this gauge).
    pub(super) async fn refresh(&self) {
        let mut refreshed = self.refreshed.lock().await;
        if refreshed.is_some_and(|at| at.elapsed() < REFRESH_EVERY) {
            return;
        }
        match tokio::time::timeout(QUERY_TIMEOUT, storage::invitation_counts(&self.db, Utc::now())).await {
            Ok(Ok(counts)) => {
                for state in STATES {
                    self.set(state, 0);
                }
                for (state, n) in counts {
                    self.set(state, n);
                }
                *refreshed = Some(Instant::now());
            }
            Ok(Err(err)) => tracing::warn!(error = %err, "counting invitations for the metrics failed"),
            Err(_) => tracing::warn!(
                timeout_ms = QUERY_TIMEOUT.as_millis() as u64,
                "counting invitations for the metrics timed out"
            ),
        }
    }

    fn set(&self, state: InvitationState, n: u64) {
        self.gauge
            .get_or_create(&[("state", state.as_str())])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
}
