//! The trace layer's filter: this crate's spans at DEBUG and above, and only
//! inside a request's span (or the request's span itself).

use tracing::subscriber::Interest;
use tracing::{Level, Metadata};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::registry::LookupSpan;

/// Where `grpc::middleware::trace` makes each request's span, and its name:
/// the one span a trace may start at.
const REQUEST_SPAN_TARGET: &str = "access_service::grpc::middleware::trace";
const REQUEST_SPAN_NAME: &str = "rpc";

/// Takes this crate's spans (DEBUG and above) that belong to a request. A
/// request the sampler passed over has no span, so nothing under it is made
/// for the trace layer either: the use cases' spans, Redis round trips.
#[derive(Clone, Debug)]
pub struct InRequest {
    targets: Targets,
}

impl InRequest {
    /// The filter.
    pub fn new() -> Self {
        Self {
            targets: Targets::new().with_target("access_service", Level::DEBUG),
        }
    }
}

impl Default for InRequest {
    fn default() -> Self {
        Self::new()
    }
}

fn is_request_span(meta: &Metadata<'_>) -> bool {
    meta.is_span() && meta.name() == REQUEST_SPAN_NAME && meta.target() == REQUEST_SPAN_TARGET
}

impl<S> Filter<S> for InRequest
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        // `cx` sees only the spans this filter took: a current one means a
        // sampled request is under way on this task.
        self.targets.would_enable(meta.target(), meta.level())
            && (is_request_span(meta) || cx.lookup_current().is_some())
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        // Other crates' call sites and levels: never asked again. This
        // crate's: asked each time, for the current span.
        if self.targets.would_enable(meta.target(), meta.level()) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::DEBUG)
    }
}
