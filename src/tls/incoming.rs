//! The TLS connections the server serves: TCP connections accepted by the
//! same [`TcpIncoming`] as without TLS (so TCP_NODELAY stays set, see
//! `app::incoming`), each handshake run in a task of its own so that a slow
//! or silent client never holds up the others, and at most a configured
//! number of them at once, so a flood of silent clients holds a bounded
//! number of tasks and buffers.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo, TcpIncoming};

use super::identity::{CertificateNames, names_of};

/// Handshakes may be waiting to be served at once before accepting pauses.
const READY_CONNECTIONS: usize = 64;

/// The pause after a failed accept.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// The connections `tcp` accepts, once their TLS handshake with `acceptor`
/// has succeeded within `handshake_timeout`. A failed handshake (a
/// plaintext client, a refused client certificate) closes that connection
/// and is logged; the listener keeps serving. With `max_handshakes` in
/// progress, no connection is accepted until one of them ends: the next
/// clients wait in the kernel's backlog rather than in this process. The
/// accepting task ends, and the listener closes, when the server drops the
/// stream.
pub fn incoming(
    tcp: TcpIncoming,
    acceptor: TlsAcceptor,
    handshake_timeout: Duration,
    max_handshakes: usize,
) -> ReceiverStream<io::Result<TlsConn>> {
    let (ready, connections) = mpsc::channel(READY_CONNECTIONS);
    let handshakes = Arc::new(Semaphore::new(max_handshakes));
    tokio::spawn(async move {
        let mut tcp = tcp;
        loop {
            // Before accepting: the slot is taken while the connection is
            // still in the backlog, not after it holds memory here.
            let slot = tokio::select! {
                () = ready.closed() => break,
                slot = Arc::clone(&handshakes).acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
            };
            let accepted = tokio::select! {
                () = ready.closed() => break,
                accepted = tcp.next() => accepted,
            };
            let stream = match accepted {
                None => break,
                Some(Ok(stream)) => stream,
                Some(Err(err)) => {
                    // A peer that reset before accept, or the process out of
                    // file descriptors: go on, after a pause so that the
                    // latter does not spin (as hyper's and tonic's loops do).
                    tracing::warn!(error = %err, "accepting a TCP connection failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            };
            let acceptor = acceptor.clone();
            let ready = ready.clone();
            tokio::spawn(async move {
                let peer = stream.peer_addr().ok();
                let handshake = tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await;
                // The handshake is over: a connection waiting to be served
                // no longer holds a slot.
                drop(slot);
                match handshake {
                    Ok(Ok(tls)) => {
                        let _ = ready.send(Ok(TlsConn::new(tls))).await;
                    }
                    Ok(Err(err)) => {
                        tracing::info!(?peer, error = %err, "TLS handshake refused");
                    }
                    Err(_) => {
                        tracing::info!(?peer, timeout = ?handshake_timeout, "TLS handshake timed out");
                    }
                }
            });
        }
    });
    ReceiverStream::new(connections)
}

/// A TLS connection and what its handshake established.
pub struct TlsConn {
    stream: TlsStream<TcpStream>,
    info: TlsConnectionInfo,
}

impl TlsConn {
    fn new(stream: TlsStream<TcpStream>) -> Self {
        let (tcp, session) = stream.get_ref();
        // Read once per connection, not per request. The certificate was
        // verified against the client CA by the handshake (rustls presents
        // no peer certificate it has not verified).
        let client_names = session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|cert| names_of(cert))
            .map(Arc::new);
        let info = TlsConnectionInfo {
            tcp: tcp.connect_info(),
            client_names,
        };
        Self { stream, info }
    }
}

impl TlsConn {
    /// The TCP socket under the TLS session (its options, its addresses).
    pub fn tcp(&self) -> &TcpStream {
        self.stream.get_ref().0
    }
}

/// Put by tonic in the extensions of every request of a TLS connection.
#[derive(Clone, Debug)]
pub struct TlsConnectionInfo {
    /// The TCP addresses.
    pub tcp: TcpConnectInfo,
    /// The names of the client's verified certificate (see
    /// [`super::names_of`]), when it presented one that holds any.
    pub client_names: Option<Arc<CertificateNames>>,
}

impl Connected for TlsConn {
    type ConnectInfo = TlsConnectionInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
