//! The connections the server serves and how long each may live: TCP
//! options on accepted sockets, HTTP/2 limits and keepalive, and the
//! maximum connection age with its grace period.
//!
//! tonic sends the GOAWAY at the maximum age (`Server::max_connection_age`);
//! the grace period is enforced here, on the connection itself, because
//! tonic 0.14's own `max_connection_age_grace` replaces the GOAWAY by a cut
//! at age plus grace instead of following it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::time::{Instant, Sleep};
use tonic::transport::Server;
use tonic::transport::server::{Connected, TcpIncoming};

/// How connections are kept and bounded (the ACCESS_HTTP2_*, ACCESS_TCP_*
/// and ACCESS_MAX_CONNECTION_AGE* settings).
#[derive(Clone, Copy, Debug)]
pub struct TransportSettings {
    /// Most HTTP/2 streams open at once on one connection.
    pub max_concurrent_streams: u32,
    /// Pause between the server's HTTP/2 PINGs.
    pub http2_keepalive_interval: Duration,
    /// How long a PING may go unacknowledged before the connection is closed.
    pub http2_keepalive_timeout: Duration,
    /// Idle time before TCP keepalive probes, and between them.
    pub tcp_keepalive: Duration,
    /// Age at which a connection is sent GOAWAY; `None` keeps connections
    /// for as long as the client does.
    pub max_connection_age: Option<Duration>,
    /// Time after the GOAWAY before the connection is closed, streams or not.
    pub max_connection_age_grace: Duration,
    /// Serve HTTP/1.1 as well as HTTP/2: gRPC-Web from browsers needs it.
    pub accept_http1: bool,
}

impl TransportSettings {
    /// The longest a connection lives: its age, then its grace; `None`
    /// without a maximum age.
    pub fn lifetime(&self) -> Option<Duration> {
        self.max_connection_age
            .map(|age| age.saturating_add(self.max_connection_age_grace))
    }

    /// A server builder with these HTTP/2 settings.
    pub fn server(&self) -> Server {
        let server = Server::builder()
            .max_concurrent_streams(self.max_concurrent_streams)
            .http2_keepalive_interval(Some(self.http2_keepalive_interval))
            .http2_keepalive_timeout(Some(self.http2_keepalive_timeout))
            .accept_http1(self.accept_http1);
        match self.max_connection_age {
            // GOAWAY at this age; the cut after the grace is `Aged`'s.
            Some(age) => server.max_connection_age(age),
            None => server,
        }
    }
}

/// The connections the server serves: those `listener` accepts, each with
/// TCP_NODELAY and TCP keepalive. We serve our own listener (bound in
/// `build`, so port 0 works), and tonic's `tcp_nodelay` and `tcp_keepalive`
/// apply only to listeners it binds; without TCP_NODELAY each small response
/// waits ~40 ms on Nagle's algorithm and the client's delayed ACK. Public so
/// a test can read the options on an accepted socket.
pub fn incoming(listener: TcpListener, tcp_keepalive: Option<Duration>) -> TcpIncoming {
    TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(tcp_keepalive)
        .with_keepalive_interval(tcp_keepalive)
}

/// A connection that fails every read and write once its lifetime is over,
/// so hyper drops it with whatever streams it still carries.
pub struct Aged<IO> {
    io: IO,
    end: Option<Pin<Box<Sleep>>>,
}

impl<IO> Aged<IO> {
    /// `io`, ending `lifetime` from now; never ending without one.
    pub fn new(io: IO, lifetime: Option<Duration>) -> Self {
        let end = lifetime.map(|lifetime| {
            // Far in the future rather than an overflow when a setting is huge.
            let end = Instant::now()
                .checked_add(lifetime)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(100 * 365 * 86_400));
            Box::pin(tokio::time::sleep_until(end))
        });
        Self { io, end }
    }

    /// The connection under the age limit (its socket options, its addresses).
    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    /// Ready with an error once the lifetime is over; registers the waker
    /// otherwise, so a connection waiting on a silent peer is woken to end.
    fn poll_over(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let Some(end) = self.end.as_mut() else {
            return Poll::Pending;
        };
        end.as_mut().poll(cx).map(|()| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                "the connection outlived its maximum age and grace period",
            )
        })
    }
}

impl<IO: Connected> Connected for Aged<IO> {
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Aged<IO> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Poll::Ready(err) = this.poll_over(cx) {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Aged<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Poll::Ready(err) = this.poll_over(cx) {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Poll::Ready(err) = this.poll_over(cx) {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
