//! Counts every RPC when it arrives, and when it ends by its final gRPC
//! status code, with its latency.
//!
//! Where the status is depends on how the RPC ended, and all three are read:
//! - a refusal of an inner layer (load shedding, time limit, shutdown) is an
//!   error carrying a `Status`, which tonic turns into a response outside
//!   this layer;
//! - a handler's error is a trailers-only response: `grpc-status` is in the
//!   headers and the body is empty;
//! - anything else sends its messages, then `grpc-status` in the trailers at
//!   the end of the body, so the RPC is counted when the trailers go out
//!   (for a stream, its whole life). A body dropped before its trailers (the
//!   client went away, the connection broke) counts as CANCELLED.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use tonic::{Code, Status};
use tower::{BoxError, Layer, Service};

use crate::metrics::{Route, RpcMetrics};

/// Adds [`Metered`] around a service.
#[derive(Clone, Debug)]
pub struct RpcMetricsLayer {
    // Behind one Arc: each request's `Outcome` holds a handle, and one
    // reference count is cheaper than cloning the families and the routes.
    metrics: Arc<RpcMetrics>,
}

impl RpcMetricsLayer {
    /// Records into `metrics`.
    pub fn new(metrics: RpcMetrics) -> Self {
        Self {
            metrics: Arc::new(metrics),
        }
    }
}

impl<S> Layer<S> for RpcMetricsLayer {
    type Service = Metered<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Metered {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// A service whose every call is counted once, when its status is known.
#[derive(Clone, Debug)]
pub struct Metered<S> {
    inner: S,
    metrics: Arc<RpcMetrics>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Metered<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<MeteredBody<ResBody>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // Counted as CANCELLED if this future is dropped before an answer.
        let route = self.metrics.route(request.uri().path());
        self.metrics.start(route);
        let mut outcome = Outcome {
            metrics: self.metrics.clone(),
            route,
            started: Instant::now(),
            recorded: false,
        };
        let answer = self.inner.call(request);
        Box::pin(async move {
            match answer.await {
                Ok(response) => {
                    if let Some(code) = grpc_status(response.headers()) {
                        outcome.record(code);
                    }
                    Ok(response.map(|inner| MeteredBody { inner, outcome }))
                }
                Err(err) => {
                    let err = err.into();
                    // A layer's refusal, already a Status (see `to_status`);
                    // tonic resets the stream for anything else.
                    outcome.record(err.downcast_ref::<Status>().map_or(Code::Unknown, Status::code));
                    Err(err)
                }
            }
        })
    }
}

/// The `grpc-status` of a header or trailer map, if it has one.
fn grpc_status(map: &HeaderMap) -> Option<Code> {
    map.get("grpc-status")
        .map(|value| Code::from_bytes(value.as_bytes()))
}

/// One RPC, recorded exactly once.
struct Outcome {
    metrics: Arc<RpcMetrics>,
    route: Route,
    started: Instant,
    recorded: bool,
}

impl Outcome {
    fn record(&mut self, code: Code) {
        if !self.recorded {
            self.recorded = true;
            self.metrics.observe(self.route, code, self.started.elapsed());
        }
    }
}

impl Drop for Outcome {
    fn drop(&mut self) {
        self.record(Code::Cancelled);
    }
}

pin_project_lite::pin_project! {
    /// A response body that records its RPC when the trailers pass.
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        outcome: Outcome,
    }
}

impl<B: Body> Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    this.outcome
                        .record(grpc_status(trailers).unwrap_or(Code::Unknown));
                }
            }
            // The stream is reset: the client sees no status of ours.
            Poll::Ready(Some(Err(_))) => this.outcome.record(Code::Unknown),
            // The end: the status came in the headers (already recorded),
            // or never came at all.
            Poll::Ready(None) => this.outcome.record(Code::Unknown),
            Poll::Pending => {}
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
