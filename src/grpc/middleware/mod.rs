//! The middleware every request passes through, as one `ServiceBuilder`
//! (outermost layer first), and the one place its refusals become gRPC codes.

mod api_keys;
mod auth;
mod caller_limit;
mod client_identities;
mod drain;
mod errors;
mod key_scopes;
mod metrics;
mod trace;
mod web;

use std::time::Duration;

use tower::filter::FilterLayer;
use tower::layer::util::{Identity, Stack};
use tower::limit::ConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::timeout::TimeoutLayer;
use tower::util::MapErrLayer;
use tower::{BoxError, ServiceBuilder};

pub use api_keys::{ApiKeys, Caller, Credential, MAX_KEY_NAME_LEN};
pub use auth::{AuthRefusal, Authenticate, Credentials, caller_of};
pub use caller_limit::{CallerBusy, CallerLimitLayer, InFlight, Slot};
pub use client_identities::{ClientIdentities, MAX_IDENTITY_LEN};
pub use drain::{DrainBody, DrainLayer, Phase, PhaseSignal, ShuttingDown};
pub use errors::to_status;
pub use key_scopes::{KeyScope, KeyScopes, METHOD_SCOPES, SERVICE, scope_of};
pub use metrics::{MeteredBody, RpcMetricsLayer};
pub use trace::{RpcConventions, RpcFuture, RpcSpan, RpcSpanLayer, Sampled, SpanBody, record_subject};
pub use web::{BrowserCalls, BrowserCallsLayer};

use crate::metrics::RpcMetrics;

/// The server-streaming methods: they end only when their caller or the
/// server ends them, not when a handler returns.
const STREAMS: &[&str] = &[
    "/grpc.health.v1.Health/Watch",
    "/access.v1.AccessService/WatchChanges",
];

/// The type of the stack [`layers`] builds, named so `App` can hand it to tonic.
pub type Layers = Stack<
    TimeoutLayer,
    Stack<
        ConcurrencyLimitLayer,
        Stack<
            LoadShedLayer,
            Stack<
                DrainLayer,
                Stack<
                    CallerLimitLayer,
                    Stack<
                        FilterLayer<Authenticate>,
                        Stack<MapErrLayer<fn(BoxError) -> BoxError>, Stack<RpcMetricsLayer, Identity>>,
                    >,
                >,
            >,
        >,
    >,
>;

/// How many requests may be in flight: in the whole process, and per caller.
#[derive(Clone, Copy, Debug)]
pub struct Concurrency {
    /// Process-wide (ACCESS_MAX_CONCURRENT_REQUESTS).
    pub process: usize,
    /// Per caller (ACCESS_MAX_CONCURRENT_REQUESTS_PER_CALLER).
    pub per_caller: usize,
}

/// Builds the stack: every request counted in `metrics`, callers
/// authenticated by `credentials` (none: every caller holds every scope), at
/// most `concurrency.per_caller` in flight per caller and
/// `concurrency.process` in the whole process, each bounded to
/// `request_timeout`, and ended as the shutdown sequence moves `phase`.
pub fn layers(
    credentials: Credentials,
    concurrency: Concurrency,
    request_timeout: Duration,
    metrics: RpcMetrics,
    phase: PhaseSignal,
) -> Layers {
    // Off when every request is the one local caller (authentication off),
    // or when the process-wide limit would refuse first anyway: a refusal
    // then says UNAVAILABLE, as the process-wide limit's does.
    let per_caller = if credentials.is_open() || concurrency.per_caller >= concurrency.process {
        usize::MAX
    } else {
        concurrency.per_caller
    };
    ServiceBuilder::new()
        // Outermost, so it sees every request, even those refused below.
        .layer(RpcMetricsLayer::new(metrics))
        // Above every layer that refuses, to turn each refusal into a status.
        .map_err(to_status as fn(BoxError) -> BoxError)
        // Before the limit: a caller without a valid key never takes a slot
        // (one SHA-256 per request is cheaper than queueing it).
        .layer(auth::layer(credentials))
        // Right below authentication, which names the caller, and above the
        // process-wide limit: a caller at its own limit is refused without
        // waiting for (or taking) a slot the other callers need.
        .layer(CallerLimitLayer::new(per_caller))
        // Above the limit, so requests waiting for a slot are cut too.
        .layer(DrainLayer::new(phase))
        // Directly above the limit: refuse at once when it is full, instead of
        // queueing callers until they time out.
        .load_shed()
        // One process-wide cap: tonic wraps the services in this stack once and
        // clones the result per connection; the clones share one semaphore.
        .concurrency_limit(concurrency.process)
        // Innermost: bound each request's own time (answered DEADLINE_EXCEEDED
        // by `to_status`; tonic's built-in timeout would answer CANCELLED).
        .timeout(request_timeout)
        .into_inner()
}
