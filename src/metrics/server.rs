//! The metrics endpoint: `GET /metrics` over plain HTTP/1.1 on its own port
//! (ACCESS_METRICS_ADDR), served by the hyper that tonic already brings.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use super::{CONTENT_TYPE, Metrics};

/// A bound, not yet serving metrics endpoint.
pub struct MetricsListener(TcpListener);

impl MetricsListener {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for metrics (ACCESS_METRICS_ADDR)"))?;
        Ok(Self(listener))
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.0.local_addr()?)
    }

    /// Serves `metrics` until the returned handle is dropped.
    pub fn serve(self, metrics: Arc<Metrics>) -> MetricsServer {
        MetricsServer(tokio::spawn(accept(self.0, metrics)))
    }
}

/// The serving endpoint; dropping it closes the listener and every open
/// scrape connection.
pub struct MetricsServer(JoinHandle<()>);

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn accept(listener: TcpListener, metrics: Arc<Metrics>) {
    // Owned here, so aborting this task aborts the connections too.
    let mut connections = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(err) => {
                // Out of file descriptors and the like: wait, do not spin.
                tracing::warn!(%err, "the metrics endpoint cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Forget connections that have ended.
        while connections.try_join_next().is_some() {}
        let metrics = Arc::clone(&metrics);
        connections.spawn(async move {
            let service = service_fn(move |request| answer(request, Arc::clone(&metrics)));
            // The timer makes hyper enforce its header read timeout.
            if let Err(err) = http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%err, "metrics connection ended with an error");
            }
        });
    }
}

async fn answer(
    request: Request<Incoming>,
    metrics: Arc<Metrics>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => Response::builder()
            .header(header::CONTENT_TYPE, CONTENT_TYPE)
            .body(Full::new(Bytes::from(metrics.render().await))),
        (_, "/metrics") => Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(header::ALLOW, "GET")
            .body(Full::new(Bytes::from_static(b"only GET\n"))),
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Full::new(Bytes::from_static(b"metrics are at /metrics\n"))),
    };
    // The builder fails only on invalid parts, and these are constants.
    Ok(response.unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))))
}
