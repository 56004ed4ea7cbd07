//! Ends what the shutdown sequence must end (see `crate::shutdown`):
//! - once the server drains, the health `Watch` streams and WatchChanges,
//!   which never end on their own (health told NOT_SERVING already; clients
//!   that health-check through them would otherwise hold every drain to its
//!   deadline; a change watcher resumes on another replica after the last
//!   change it got);
//! - at the deadline, every request still running, and every response still
//!   streaming: answered UNAVAILABLE (see `errors.rs`), so clients retry on
//!   another replica and the connections can close.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use tokio::sync::watch;
use tonic::Status;
use tower::{BoxError, Layer, Service};

use super::STREAMS;

/// Where the server is in its life, as the shutdown sequence moves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Serving normally (also during the grace period).
    Serving,
    /// The listener is closed and in-flight requests are finishing.
    Draining,
    /// The deadline passed: whatever still runs ends now.
    Cut,
}

/// The phase, as the shutdown sequence publishes it.
pub type PhaseSignal = watch::Receiver<Phase>;

/// The refusal of a request cut by the shutdown deadline.
#[derive(Debug)]
pub struct ShuttingDown;

impl std::fmt::Display for ShuttingDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server is shutting down")
    }
}

impl std::error::Error for ShuttingDown {}

/// Adds [`Drain`] around a service.
#[derive(Clone, Debug)]
pub struct DrainLayer {
    phase: PhaseSignal,
}

impl DrainLayer {
    /// Ends requests as `phase` moves.
    pub fn new(phase: PhaseSignal) -> Self {
        Self { phase }
    }
}

impl<S> Layer<S> for DrainLayer {
    type Service = Drain<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Drain {
            inner,
            phase: self.phase.clone(),
        }
    }
}

/// A service whose calls, and response bodies, end when their phase comes.
#[derive(Clone, Debug)]
pub struct Drain<S> {
    inner: S,
    phase: PhaseSignal,
}

/// Resolves once `phase` reaches `end`; never if the sender is gone (the
/// server is gone: nothing is left to cut).
async fn reached(mut phase: PhaseSignal, end: Phase) {
    if phase.wait_for(|now| *now >= end).await.is_err() {
        std::future::pending::<()>().await;
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Drain<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<DrainBody<ResBody>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The streams end as soon as the server drains.
        let end = if STREAMS.contains(&request.uri().path()) {
            Phase::Draining
        } else {
            Phase::Cut
        };
        let answer = self.inner.call(request);
        let phase = self.phase.clone();
        Box::pin(async move {
            tokio::select! {
                // The answer wins a tie: a finished request is not thrown away.
                biased;
                answer = answer => {
                    let response = answer.map_err(Into::into)?;
                    Ok(response.map(|inner| DrainBody { inner, phase: Some(phase), end, ending: None, ended: false }))
                }
                () = reached(phase.clone(), Phase::Cut) => Err(Box::new(ShuttingDown) as BoxError),
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// A response body that ends with UNAVAILABLE when its phase comes.
    pub struct DrainBody<B> {
        #[pin]
        inner: B,
        // Taken when the body first waits: a body that never waits (every
        // unary answer) costs no watcher.
        phase: Option<PhaseSignal>,
        end: Phase,
        ending: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
        ended: bool,
    }
}

impl<B: Body> Body for DrainBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        match this.inner.poll_frame(cx) {
            Poll::Pending => {}
            ready @ Poll::Ready(_) => return ready,
        }
        if let Some(phase) = this.phase.take() {
            *this.ending = Some(Box::pin(reached(phase, *this.end)));
        }
        let Some(ending) = this.ending.as_mut() else {
            return Poll::Pending;
        };
        match ending.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                *this.ended = true;
                let mut trailers = HeaderMap::new();
                let status = Status::unavailable("the server is shutting down; retry");
                // Only a message that cannot be a header fails, and this one can.
                let _ = status.add_header(&mut trailers);
                Poll::Ready(Some(Ok(Frame::trailers(trailers))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
