//! One span per RPC, joined to the caller's trace: the request's W3C
//! `traceparent` (and `tracestate`) metadata is its parent, so a check shows
//! up inside the trace of the request that caused it. Health checks and
//! reflection pass untraced: probes every few seconds would bury the traces.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::codegen::http;
use tower::{BoxError, Layer, Service};
use tracing::instrument::{Instrument, WithSubscriber};
use tracing::{Dispatch, Span, dispatcher, field};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::domain::ids::{AccountId, UserId};

/// Wraps every traced RPC in its span (see the module doc).
#[derive(Clone)]
pub struct RpcSpanLayer {
    /// Where the spans go: the App's own subscriber (tests) or the global one.
    dispatch: Dispatch,
}

impl RpcSpanLayer {
    /// Spans go to `dispatch` when given, else to the subscriber in force when
    /// the layer is built (the global one, in the binary).
    pub fn new(dispatch: Option<Dispatch>) -> Self {
        Self {
            dispatch: dispatch.unwrap_or_else(|| dispatcher::get_default(Dispatch::clone)),
        }
    }
}

impl<S> Layer<S> for RpcSpanLayer {
    type Service = RpcSpan<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcSpan {
            inner,
            dispatch: self.dispatch.clone(),
        }
    }
}

/// The service [`RpcSpanLayer`] builds.
#[derive(Clone)]
pub struct RpcSpan<S> {
    inner: S,
    dispatch: Dispatch,
}

impl<S, B, R> Service<http::Request<B>> for RpcSpan<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // No subscriber wants it (tracing and logs off): no span work at all.
        let span = dispatcher::with_default(&self.dispatch, || rpc_span(request.uri().path()))
            .filter(|span| !span.is_disabled());
        let Some(span) = span else {
            let untraced = self.inner.call(request);
            return Box::pin(async move { untraced.await.map_err(Into::into) });
        };
        // Fails only when no OpenTelemetry layer is installed (tracing off):
        // the span then has no parent to take.
        let _ = span.set_parent(TraceContextPropagator::new().extract(&Metadata(request.headers())));
        // Everything under the span, including tasks the handler spawns with
        // the current subscriber, reports to the same dispatch.
        let future = dispatcher::with_default(&self.dispatch, || span.in_scope(|| self.inner.call(request)));
        let outcome = span.clone();
        Box::pin(
            async move {
                let result = future.await.map_err(Into::into);
                record_status(&outcome, &result);
                result
            }
            .instrument(span)
            .with_subscriber(self.dispatch.clone()),
        )
    }
}

/// The span of the RPC at `path` (`/package.Service/Method`), with the
/// OpenTelemetry RPC semantic attributes; `None` for health and reflection.
fn rpc_span(path: &str) -> Option<Span> {
    let full = path.strip_prefix('/')?;
    let (service, method) = full.split_once('/')?;
    if service.starts_with("grpc.health.") || service.starts_with("grpc.reflection.") {
        return None;
    }
    Some(tracing::info_span!(
        "rpc",
        otel.name = full,
        otel.kind = "server",
        otel.status_code = field::Empty,
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
        rpc.grpc.status_code = field::Empty,
        account_id = field::Empty,
        user_id = field::Empty,
    ))
}

/// Records the gRPC status of the answer, and marks the span failed for the
/// codes that are the server's fault (OpenTelemetry's gRPC conventions): a
/// denied or invalid request is the caller's business, not an error here.
fn record_status<R>(span: &Span, result: &Result<http::Response<R>, BoxError>) {
    let code = match result {
        // An error is answered trailers-only, its status in the headers; a
        // success carries it in trailers (these unary RPCs end right after).
        Ok(response) => response
            .headers()
            .get("grpc-status")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<i32>().ok())
            .unwrap_or(tonic::Code::Ok as i32),
        Err(err) => err
            .downcast_ref::<tonic::Status>()
            .map_or(tonic::Code::Unknown, tonic::Status::code) as i32,
    };
    span.record("rpc.grpc.status_code", code);
    let server_fault = matches!(
        tonic::Code::from_i32(code),
        tonic::Code::Unknown
            | tonic::Code::DeadlineExceeded
            | tonic::Code::Unimplemented
            | tonic::Code::Internal
            | tonic::Code::Unavailable
            | tonic::Code::DataLoss
    );
    if server_fault {
        span.record("otel.status_code", "ERROR");
    }
}

/// Puts the ids a request is about on its RPC span (the current span in a
/// handler), so the trace can be found by account or user.
pub fn record_subject(account: Option<&AccountId>, user: Option<&UserId>) {
    let span = Span::current();
    if let Some(account) = account {
        span.record("account_id", field::display(account));
    }
    if let Some(user) = user {
        span.record("user_id", field::display(user));
    }
}

/// gRPC metadata (HTTP/2 headers) as an OpenTelemetry propagation carrier.
struct Metadata<'a>(&'a http::HeaderMap);

impl Extractor for Metadata<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}
