//! The end of the shutdown deadline: requests still running when it passes
//! are answered UNAVAILABLE (see `errors.rs`), so clients retry on another
//! replica and the connections can close.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::watch;
use tower::{BoxError, Layer, Service};

/// The refusal of a request cut by the shutdown deadline.
#[derive(Debug)]
pub struct ShuttingDown;

impl std::fmt::Display for ShuttingDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server is shutting down")
    }
}

impl std::error::Error for ShuttingDown {}

/// Turns `true` once, when in-flight requests must stop; see [`DrainLayer`].
pub type CutSignal = watch::Receiver<bool>;

/// Races every request against the cut signal.
#[derive(Clone, Debug)]
pub struct DrainLayer {
    cut: CutSignal,
}

impl DrainLayer {
    /// Cuts requests when `cut` turns `true`.
    pub fn new(cut: CutSignal) -> Self {
        Self { cut }
    }
}

impl<S> Layer<S> for DrainLayer {
    type Service = Drain<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Drain {
            inner,
            cut: self.cut.clone(),
        }
    }
}

/// A service whose calls end with [`ShuttingDown`] when the cut comes first.
#[derive(Clone, Debug)]
pub struct Drain<S> {
    inner: S,
    cut: CutSignal,
}

impl<S, R> Service<R> for Drain<S>
where
    S: Service<R>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let answer = self.inner.call(request);
        let mut cut = self.cut.clone();
        Box::pin(async move {
            let cut = async move {
                // A dropped sender means the server is gone: never cut then.
                if cut.wait_for(|cut| *cut).await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                // The answer wins a tie: a finished request is not thrown away.
                biased;
                answer = answer => answer.map_err(Into::into),
                () = cut => Err(Box::new(ShuttingDown) as BoxError),
            }
        })
    }
}
