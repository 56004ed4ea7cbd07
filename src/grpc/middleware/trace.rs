//! One span per RPC, joined to the caller's trace: the request's W3C
//! `traceparent` (and `tracestate`) metadata is its parent, so a check shows
//! up inside the trace of the request that caused it. Health checks and
//! reflection pass untraced: probes every few seconds would bury the traces.
//!
//! A unary RPC's span ends with its answer. A stream's (WatchChanges) lasts
//! as long as the stream: its response body holds the span, works inside
//! it, and records the status its trailers end with, or CANCELLED when the
//! client goes before that.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::codegen::http;
use tower::{BoxError, Layer, Service};
use tracing::instrument::{Instrument, WithSubscriber};
use tracing::{Dispatch, Span, dispatcher, field};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::STREAMS;
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
    type Response = http::Response<SpanBody<R>>;
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
            return Box::pin(async move {
                untraced
                    .await
                    .map(|response| response.map(SpanBody::untraced))
                    .map_err(Into::into)
            });
        };
        let streaming = STREAMS.contains(&request.uri().path());
        // Fails only when no OpenTelemetry layer is installed (tracing off):
        // the span then has no parent to take.
        let _ = span.set_parent(TraceContextPropagator::new().extract(&Metadata(request.headers())));
        // Everything under the span, including tasks the handler spawns with
        // the current subscriber, reports to the same dispatch.
        let future = dispatcher::with_default(&self.dispatch, || span.in_scope(|| self.inner.call(request)));
        let outcome = span.clone();
        let dispatch = self.dispatch.clone();
        Box::pin(
            async move {
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
            .instrument(span)
            .with_subscriber(self.dispatch.clone()),
        )
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
