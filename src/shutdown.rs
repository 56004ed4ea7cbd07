//! The shutdown sequence on SIGTERM (what Kubernetes sends before it kills
//! a pod), in order:
//! 1. health turns NOT_SERVING, for the whole server and the AccessService,
//!    so probes and load balancers stop sending new work here;
//! 2. the server keeps serving for ACCESS_SHUTDOWN_GRACE_SECS, while they
//!    notice (Kubernetes removes a pod from its endpoints only after that);
//! 3. the listener closes and every connection is told to go away (HTTP/2
//!    GOAWAY): new connections are refused, in-flight requests go on, health
//!    `Watch` streams end (they would never end on their own);
//! 4. requests and streams still running ACCESS_SHUTDOWN_TIMEOUT_SECS later
//!    are answered UNAVAILABLE (clients retry elsewhere); the server stops.
//!
//! The caller then stops the outbox dispatcher (the email in flight may
//! finish within the same timeout; queued ones wait for another replica),
//! gives the cache lease back, stops the change publisher (what it has not
//! published stays in the log for another replica, or for this one's next
//! start) and flushes telemetry.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tonic::server::NamedService;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::grpc::GrpcHandlers;
use crate::grpc::middleware::{Phase, PhaseSignal};
use crate::grpc::pb::access_service_server::AccessServiceServer;

/// How long the connections get, once the deadline has cut their requests
/// and streams, to close before the server stops without them (a client
/// that never answers GOAWAY, say). The Helm chart's termination grace
/// period leaves room for it.
const AFTER_CUT: Duration = Duration::from_secs(2);

/// The sequence's timings.
#[derive(Clone, Copy, Debug)]
pub struct ShutdownSettings {
    /// Between NOT_SERVING and closing the listener.
    pub grace: Duration,
    /// Between closing the listener and cutting what still runs.
    pub timeout: Duration,
}

/// Steps 1 to 3: a future for tonic's `serve_with_incoming_shutdown` that
/// resolves (closing the listener) `grace` after `signal`, with health turned
/// NOT_SERVING in between; the [`Deadline`] that does step 4; and the phase
/// the middleware ends requests by.
pub fn begin(
    settings: ShutdownSettings,
    health: HealthReporter,
    signal: impl Future<Output = ()>,
) -> (impl Future<Output = ()>, Deadline, PhaseSignal) {
    let (closed, closed_rx) = oneshot::channel();
    let (phase, phase_rx) = watch::channel(Phase::Serving);
    let draining = phase.clone();
    let stop_accepting = async move {
        signal.await;
        for service in ["", <AccessServiceServer<GrpcHandlers> as NamedService>::NAME] {
            health
                .set_service_status(service, ServingStatus::NotServing)
                .await;
        }
        tracing::info!(
            grace_secs = settings.grace.as_secs(),
            "health is NOT_SERVING; still serving until the grace period ends"
        );
        tokio::time::sleep(settings.grace).await;
        tracing::info!(
            timeout_secs = settings.timeout.as_secs(),
            "closing the listener; waiting for in-flight requests"
        );
        draining.send_replace(Phase::Draining);
        let _ = closed.send(());
    };
    let deadline = Deadline {
        timeout: settings.timeout,
        closed: closed_rx,
        phase,
    };
    (stop_accepting, deadline, phase_rx)
}

/// Step 4: bounds the drain that starts when the listener closes.
pub struct Deadline {
    timeout: Duration,
    closed: oneshot::Receiver<()>,
    phase: watch::Sender<Phase>,
}

impl Deadline {
    /// Runs `serve` to its end, but once the listener is closed, for no
    /// longer than the timeout (then cutting the requests left) plus
    /// [`AFTER_CUT`].
    pub async fn enforce<E>(self, serve: impl Future<Output = Result<(), E>>) -> Result<(), E> {
        let mut serve = std::pin::pin!(serve);
        tokio::select! {
            result = &mut serve => return result,
            // Dropped unsent only when tonic dropped the signal, which it
            // does when serving ends: then waiting for `serve` is right too.
            _ = self.closed => {}
        }
        if let Ok(result) = tokio::time::timeout(self.timeout, &mut serve).await {
            tracing::info!("every in-flight request finished");
            return result;
        }
        tracing::warn!(
            timeout_secs = self.timeout.as_secs(),
            "shutdown deadline passed: answering the requests still running UNAVAILABLE"
        );
        self.phase.send_replace(Phase::Cut);
        match tokio::time::timeout(AFTER_CUT, &mut serve).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!("connections still open after the deadline; stopping without them");
                Ok(())
            }
        }
    }
}
