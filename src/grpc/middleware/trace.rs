//! One span per RPC, joined to the caller's trace: the request's W3C
//! `traceparent` (and `tracestate`) metadata is its parent, so a check shows
//! up inside the trace of the request that caused it. Health checks and
//! reflection pass untraced: probes every few seconds would bury the traces.
//! When spans are exported, the sampler decides before the span is made; a
//! request with no span passes through with nothing added (no allocation).
//!
//! A unary RPC's span ends with its answer. A stream's (WatchChanges) lasts
//! as long as the stream: its response body holds the span, works inside
//! it, and records the status its trailers end with, or CANCELLED when the
//! client goes before that.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use tonic::codegen::http;
use tower::{BoxError, Layer, Service};
use tracing::instrument::{Instrument, WithSubscriber};
use tracing::{Dispatch, Span, dispatcher, field};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::STREAMS;
use crate::domain::ids::{AccountId, UserId};

/// How requests are sampled when their spans are exported: decided before
/// the span is made, so a request passed over costs no span work at all.
#[derive(Clone)]
pub struct Sampled {
    /// Whether a request whose caller sent this context gets a span.
    pub sample: Arc<dyn Fn(&opentelemetry::Context) -> bool + Send + Sync>,
    /// Reads the caller's context (W3C `traceparent`, baggage) from metadata.
    pub propagator: Arc<dyn TextMapPropagator + Send + Sync>,
}

/// The attribute names on request spans (OpenTelemetry's RPC semantic
/// conventions), chosen by OTEL_SEMCONV_STABILITY_OPT_IN as the
/// conventions' migration guide asks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RpcConventions {
    /// The experimental names (v1.37 and before): `rpc.system`,
    /// `rpc.service`, `rpc.method` (the method alone), `rpc.grpc.status_code`
    /// (a number).
    #[default]
    Experimental,
    /// The stable names (`rpc`): `rpc.system.name`, `rpc.method` (the
    /// fully-qualified `package.Service/Method`), `rpc.response.status_code`
    /// (the code's name, `OK`), `error.type` on a server fault.
    Stable,
    /// Both (`rpc/dup`); `rpc.method`, named alike in both, takes the stable
    /// (fully-qualified) value.
    Both,
}

impl RpcConventions {
    /// From the value of OTEL_SEMCONV_STABILITY_OPT_IN (`rpc/dup` wins over `rpc`).
    pub fn from_opt_in(value: &str) -> Self {
        let values: Vec<&str> = value.split(',').map(str::trim).collect();
        if values.contains(&"rpc/dup") {
            Self::Both
        } else if values.contains(&"rpc") {
            Self::Stable
        } else {
            Self::Experimental
        }
    }
}

/// Wraps every traced RPC in its span (see the module doc).
#[derive(Clone)]
pub struct RpcSpanLayer {
    /// Where the spans go: the App's own subscriber (tests), or `None` for
    /// the one in force (the global one, in the binary).
    dispatch: Option<Dispatch>,
    /// Sampling, when spans are exported; `None`: a span only when a log
    /// filter asks for it (ACCESS_LOG at `debug`), with no caller's parent.
    sampled: Option<Sampled>,
    /// The attribute names.
    conventions: RpcConventions,
}

impl RpcSpanLayer {
    /// Spans to `dispatch` (else the subscriber in force), sampled by
    /// `sampled` when they are exported, named by `conventions`.
    pub fn new(dispatch: Option<Dispatch>, sampled: Option<Sampled>, conventions: RpcConventions) -> Self {
        Self {
            dispatch,
            sampled,
            conventions,
        }
    }
}

impl<S> Layer<S> for RpcSpanLayer {
    type Service = RpcSpan<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcSpan {
            inner,
            dispatch: self.dispatch.clone(),
            sampled: self.sampled.clone(),
            conventions: self.conventions,
        }
    }
}

/// The service [`RpcSpanLayer`] builds.
#[derive(Clone)]
pub struct RpcSpan<S> {
    inner: S,
    dispatch: Option<Dispatch>,
    sampled: Option<Sampled>,
    conventions: RpcConventions,
}

/// Runs `f` with `dispatch` as the default subscriber, when given.
fn in_dispatch<T>(dispatch: Option<&Dispatch>, f: impl FnOnce() -> T) -> T {
    match dispatch {
        Some(dispatch) => dispatcher::with_default(dispatch, f),
        None => f(),
    }
}

/// A traced call's future: its span and subscriber go with it.
type TracedFuture<R> = Pin<Box<dyn Future<Output = Result<http::Response<SpanBody<R>>, BoxError>> + Send>>;

pin_project_lite::pin_project! {
    /// The future of [`RpcSpan`]: the inner one as it is when the call has
    /// no span (no allocation, no subscriber), boxed with its span when it has.
    // pin-project-lite takes no documentation on a variant's fields.
    #[allow(missing_docs)]
    #[project = RpcFutureProjection]
    pub enum RpcFuture<F, R> {
        /// No span.
        Untraced {
            #[pin]
            inner: F,
        },
        /// Under its span.
        Traced {
            inner: TracedFuture<R>,
        },
    }
}

impl<F, R, E> Future for RpcFuture<F, R>
where
    F: Future<Output = Result<http::Response<R>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<http::Response<SpanBody<R>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            RpcFutureProjection::Untraced { inner } => inner.poll(cx).map(|result| {
                result
                    .map(|response| response.map(SpanBody::untraced))
                    .map_err(Into::into)
            }),
            RpcFutureProjection::Traced { inner } => inner.as_mut().poll(cx),
        }
    }
}

impl<S, B, R> Service<http::Request<B>> for RpcSpan<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = http::Response<SpanBody<R>>;
    type Error = BoxError;
    type Future = RpcFuture<S::Future, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let Some(method) = RpcMethod::of(request.uri().path()) else {
            return RpcFuture::Untraced {
                inner: self.inner.call(request),
            };
        };
        // Exported: the sampler decides, from the caller's context, before
        // anything is made.
        let parent = match &self.sampled {
            Some(sampled) => {
                let parent = sampled.propagator.extract(&Metadata(request.headers()));
                if !(sampled.sample)(&parent) {
                    return RpcFuture::Untraced {
                        inner: self.inner.call(request),
                    };
                }
                Some(parent)
            }
            None => None,
        };
        // Not exported and no log filter at `debug`: the span is disabled.
        let conventions = self.conventions;
        let span = in_dispatch(self.dispatch.as_ref(), || rpc_span(&method, conventions));
        if span.is_disabled() {
            return RpcFuture::Untraced {
                inner: self.inner.call(request),
            };
        }
        if let Some(parent) = parent {
            // Fails only when no OpenTelemetry layer is installed.
            let _ = span.set_parent(parent);
        }
        let streaming = STREAMS.contains(&request.uri().path());
        // Everything under the span, including tasks the handler spawns with
        // the current subscriber, reports to the same dispatch.
        let inner = &mut self.inner;
        let future = in_dispatch(self.dispatch.as_ref(), || span.in_scope(|| inner.call(request)));
        let outcome = span.clone();
        let dispatch = self
            .dispatch
            .clone()
            .unwrap_or_else(|| dispatcher::get_default(Dispatch::clone));
        let traced = async move {
            let result = future.await.map_err(Into::into);
            match result {
                // A stream under way: its status comes in its trailers,
                // and its span lasts until then.
                Ok(response) if streaming && status_in_headers(&response).is_none() => {
                    Ok(response.map(|body| SpanBody::traced(body, outcome, dispatch)))
                }
                result => {
                    record_status(&outcome, &result);
                    result.map(|response| response.map(SpanBody::untraced))
                }
            }
        }
        .instrument(span);
        RpcFuture::Traced {
            inner: match &self.dispatch {
                Some(dispatch) => Box::pin(traced.with_subscriber(dispatch.clone())),
                None => Box::pin(traced),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body, holding its RPC's span when the RPC is a stream.
    pub struct SpanBody<B> {
        #[pin]
        inner: B,
        // A stream's span and where it reports, until the stream ends:
        // entered around each poll, so the stream's own work (its reads of
        // the database) shows inside it.
        span: Option<(Span, Dispatch)>,
    }

    impl<B> PinnedDrop for SpanBody<B> {
        fn drop(this: Pin<&mut Self>) {
            // Dropped before its trailers: the client went away.
            if let Some((span, _)) = this.project().span.take() {
                record_code(&span, tonic::Code::Cancelled as i32);
            }
        }
    }
}

impl<B> SpanBody<B> {
    /// A body whose span, if any, ended with its answer.
    fn untraced(inner: B) -> Self {
        Self { inner, span: None }
    }

    /// A stream's body, which ends `span` when it ends.
    fn traced(inner: B, span: Span, dispatch: Dispatch) -> Self {
        Self {
            inner,
            span: Some((span, dispatch)),
        }
    }
}

impl<B: Body> Body for SpanBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let Some((span, dispatch)) = this.span.as_ref() else {
            return this.inner.poll_frame(cx);
        };
        let inner = this.inner;
        let polled = dispatcher::with_default(dispatch, || span.in_scope(|| inner.poll_frame(cx)));
        let code = match &polled {
            Poll::Pending => return polled,
            Poll::Ready(Some(Ok(frame))) => match frame.trailers_ref() {
                Some(trailers) => grpc_status(trailers).unwrap_or(tonic::Code::Unknown as i32),
                None => return polled,
            },
            Poll::Ready(Some(Err(_))) => tonic::Code::Unknown as i32,
            Poll::Ready(None) => tonic::Code::Ok as i32,
        };
        if let Some((span, _)) = this.span.take() {
            record_code(&span, code);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The parts of an RPC's path (`/package.Service/Method`); `None` for
/// health and reflection, which are never traced.
struct RpcMethod<'a> {
    full: &'a str,
    service: &'a str,
    method: &'a str,
}

impl<'a> RpcMethod<'a> {
    fn of(path: &'a str) -> Option<Self> {
        let full = path.strip_prefix('/')?;
        let (service, method) = full.split_once('/')?;
        if service.starts_with("grpc.health.") || service.starts_with("grpc.reflection.") {
            return None;
        }
        Some(Self {
            full,
            service,
            method,
        })
    }
}

/// The span of an RPC, with the OpenTelemetry RPC semantic attributes
/// named by `conventions`. At DEBUG: log lines at the default level do not
/// pay for it. (`telemetry::InRequest` knows it by its target and name: a
/// trace starts here.)
fn rpc_span(method: &RpcMethod<'_>, conventions: RpcConventions) -> Span {
    match conventions {
        RpcConventions::Experimental => tracing::debug_span!(
            "rpc",
            otel.name = method.full,
            otel.kind = "server",
            otel.status_code = field::Empty,
            rpc.system = "grpc",
            rpc.service = method.service,
            rpc.method = method.method,
            rpc.grpc.status_code = field::Empty,
            account_id = field::Empty,
            user_id = field::Empty,
        ),
        RpcConventions::Stable => tracing::debug_span!(
            "rpc",
            otel.name = method.full,
            otel.kind = "server",
            otel.status_code = field::Empty,
            rpc.system.name = "grpc",
            rpc.method = method.full,
            rpc.response.status_code = field::Empty,
            error.r#type = field::Empty,
            account_id = field::Empty,
            user_id = field::Empty,
        ),
        RpcConventions::Both => tracing::debug_span!(
            "rpc",
            otel.name = method.full,
            otel.kind = "server",
            otel.status_code = field::Empty,
            rpc.system = "grpc",
            rpc.system.name = "grpc",
            rpc.service = method.service,
            rpc.method = method.full,
            rpc.grpc.status_code = field::Empty,
            rpc.response.status_code = field::Empty,
            error.r#type = field::Empty,
            account_id = field::Empty,
            user_id = field::Empty,
        ),
    }
}

/// The `grpc-status` of headers or trailers, when they carry one.
fn grpc_status(headers: &http::HeaderMap) -> Option<i32> {
    headers
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<i32>().ok())
}

/// The status of an answer given trailers-only (an error, in its headers).
fn status_in_headers<R>(response: &http::Response<R>) -> Option<i32> {
    grpc_status(response.headers())
}

/// Records the gRPC status of the answer.
fn record_status<R>(span: &Span, result: &Result<http::Response<R>, BoxError>) {
    let code = match result {
        // An error is answered trailers-only, its status in the headers; a
        // success carries it in trailers (these unary RPCs end right after).
        Ok(response) => status_in_headers(response).unwrap_or(tonic::Code::Ok as i32),
        Err(err) => err
            .downcast_ref::<tonic::Status>()
            .map_or(tonic::Code::Unknown, tonic::Status::code) as i32,
    };
    record_code(span, code);
}

/// Records `code` on the span, and marks the span failed for the codes that
/// are the server's fault (OpenTelemetry's gRPC conventions): a denied or
/// invalid request is the caller's business, not an error here.
fn record_code(span: &Span, code: i32) {
    // Each convention's field; the one the span does not have is ignored.
    span.record("rpc.grpc.status_code", code);
    let name = code_name(tonic::Code::from_i32(code));
    span.record("rpc.response.status_code", name);
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
        span.record("error.type", name);
    }
}

/// A gRPC code's name, as the stable conventions' `rpc.response.status_code` has it.
fn code_name(code: tonic::Code) -> &'static str {
    match code {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "CANCELLED",
        tonic::Code::Unknown => "UNKNOWN",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::AlreadyExists => "ALREADY_EXISTS",
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
        tonic::Code::Aborted => "ABORTED",
        tonic::Code::OutOfRange => "OUT_OF_RANGE",
        tonic::Code::Unimplemented => "UNIMPLEMENTED",
        tonic::Code::Internal => "INTERNAL",
        tonic::Code::Unavailable => "UNAVAILABLE",
        tonic::Code::DataLoss => "DATA_LOSS",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
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
