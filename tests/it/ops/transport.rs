//! The server's TCP connections. Every accepted socket must have TCP_NODELAY:
//! without it, Nagle's algorithm holds a small response back until the
//! client's delayed ACK arrives (44 ms stalls on Authorize and
//! BatchAuthorize were measured without it). Checked on the option itself, not on timings.
//! Then the bounds on connections: TCP and HTTP/2 keepalive, streams per
//! connection, maximum age and its grace, TLS handshakes in progress.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_stream::StreamExt;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use crate::support::{Db, TestApp, never_sent};

/// The sockets `access_service::app::incoming` hands to the server (the one
/// accept path `App::run_until_stopped` serves) have TCP_NODELAY set.
#[tokio::test]
async fn accepted_connections_have_tcp_nodelay() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("bound address");
    let incoming = access_service::app::incoming(listener, None);
    tokio::pin!(incoming);
    let _client = TcpStream::connect(addr).await.expect("client connects");
    let accepted = incoming
        .next()
        .await
        .expect("the stream yields the connection")
        .expect("the connection is accepted");
    assert!(
        accepted.nodelay().expect("TCP_NODELAY is readable"),
        "the server must set TCP_NODELAY on accepted connections"
    );
}

/// With TLS on, the connections handed to the server (once their handshake is
/// done) are the same accepted sockets: TCP_NODELAY is still set, and the
/// client's verified identity is read once for the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_connections_keep_tcp_nodelay() {
    use access_service::tls;
    use tonic::transport::server::Connected;

    let (ca, dir) = (
        crate::support::pki::Ca::new("transport CA"),
        crate::support::pki::Files::new(),
    );
    let server = ca.server();
    let settings = tls::TlsSettings {
        cert_file: dir.put("server.pem", &server.cert),
        key_file: dir.put("server.key", &server.key),
        client_ca_file: None,
        client_auth: tls::ClientAuth::Required,
        reload_interval: std::time::Duration::from_secs(60),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("bound address");
    let mut connections = tls::incoming(
        access_service::app::incoming(listener, None),
        tls::acceptor(&settings).expect("TLS settings"),
        std::time::Duration::from_secs(5),
        16,
    );
    // The client's side ends after the TLS handshake (no HTTP/2 answer comes).
    let ca_pem = ca.pem();
    let client = tokio::spawn(async move { crate::support::pki::tls_channel(addr, &ca_pem, None).await });
    let accepted = connections
        .next()
        .await
        .expect("the stream yields the connection")
        .expect("the handshake succeeded");
    assert!(
        accepted.tcp().nodelay().expect("TCP_NODELAY is readable"),
        "TLS connections must keep TCP_NODELAY"
    );
    assert_eq!(
        accepted.connect_info().client_names,
        None,
        "no client certificate"
    );
    client.abort();
}

/// Accepted sockets carry TCP keepalive (ACCESS_TCP_KEEPALIVE_SECS), so a
/// peer that vanished without a FIN or RST is found out by the kernel.
#[tokio::test]
async fn accepted_connections_have_tcp_keepalive() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("bound address");
    let incoming = access_service::app::incoming(listener, Some(Duration::from_secs(42)));
    tokio::pin!(incoming);
    let _client = TcpStream::connect(addr).await.expect("client connects");
    let accepted = incoming
        .next()
        .await
        .expect("the stream yields the connection")
        .expect("the connection is accepted");
    let socket = socket2::SockRef::from(&accepted);
    assert!(socket.keepalive().expect("SO_KEEPALIVE is readable"));
    #[cfg(target_os = "linux")]
    {
        assert_eq!(
            socket.tcp_keepalive_time().expect("TCP_KEEPIDLE"),
            Duration::from_secs(42)
        );
        assert_eq!(
            socket.tcp_keepalive_interval().expect("TCP_KEEPINTVL"),
            Duration::from_secs(42)
        );
    }
}

/// A raw HTTP/2 connection to `addr`, driven until the server's first
/// SETTINGS frame has been read.
async fn h2_connection(
    addr: SocketAddr,
) -> (
    h2::client::SendRequest<bytes::Bytes>,
    h2::client::Connection<TcpStream, bytes::Bytes>,
) {
    let tcp = TcpStream::connect(addr).await.expect("client connects");
    let (send, mut connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    // Until SETTINGS arrive, h2 assumes no limit (usize::MAX).
    tokio::time::timeout(
        Duration::from_secs(10),
        std::future::poll_fn(|cx| {
            if let Poll::Ready(ended) = Pin::new(&mut connection).poll(cx) {
                panic!("the connection ended before its SETTINGS: {ended:?}");
            }
            if connection.max_concurrent_send_streams() == usize::MAX {
                // Polled again when more frames arrive.
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        }),
    )
    .await
    .expect("the server's SETTINGS arrive");
    (send, connection)
}

/// The server announces ACCESS_HTTP2_MAX_CONCURRENT_STREAMS in its SETTINGS
/// (tonic's default announces none: unlimited streams per connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_streams_per_connection_are_capped() {
    let app = TestApp::spawn_with(Db::Sqlite, |config| config.http2_max_concurrent_streams = 7).await;
    let (_send, connection) = h2_connection(app.addr).await;
    assert_eq!(connection.max_concurrent_send_streams(), 7);
}

/// A health Watch (a stream that stays open) on `channel`, with its first
/// answer read.
async fn open_watch(channel: tonic::transport::Channel) -> tonic::Streaming<HealthCheckResponse> {
    let mut watch = HealthClient::new(channel)
        .watch(HealthCheckRequest::default())
        .await
        .expect("the watch opens")
        .into_inner();
    watch
        .message()
        .await
        .expect("the first status")
        .expect("a status");
    watch
}

/// A proxy this test owns between one client and the server: it forwards
/// until told to swallow, then reads and drops both directions, as a client
/// whose host vanished would (no FIN, no RST, no answer to PINGs). It reports
/// when the server closes its side.
struct Blackhole {
    addr: SocketAddr,
    swallow: Arc<tokio::sync::Notify>,
    server_closed: tokio::sync::oneshot::Receiver<()>,
}

impl Blackhole {
    async fn start(upstream: SocketAddr) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let swallow = Arc::new(tokio::sync::Notify::new());
        let (closed, server_closed) = tokio::sync::oneshot::channel();
        let swallowing = Arc::clone(&swallow);
        tokio::spawn(async move {
            let (mut client, _) = listener.accept().await.expect("the client connects");
            let mut server = TcpStream::connect(upstream).await.expect("the server accepts");
            let (mut from_client, mut to_client) = client.split();
            let (mut from_server, mut to_server) = server.split();
            let mut up = vec![0_u8; 16 * 1024];
            let mut down = vec![0_u8; 16 * 1024];
            let swallowed = swallowing.notified();
            tokio::pin!(swallowed);
            let mut forwarding = true;
            loop {
                tokio::select! {
                    () = &mut swallowed, if forwarding => forwarding = false,
                    read = from_client.read(&mut up) => match read {
                        Ok(0) | Err(_) => return,
                        Ok(n) if forwarding => {
                            if to_server.write_all(&up[..n]).await.is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                    },
                    read = from_server.read(&mut down) => match read {
                        Ok(0) | Err(_) => {
                            let _ = closed.send(());
                            return;
                        }
                        Ok(n) if forwarding => {
                            if to_client.write_all(&down[..n]).await.is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                    },
                }
            }
        });
        Self {
            addr,
            swallow,
            server_closed,
        }
    }
}

/// A client that vanishes with a stream open (its watch) stops answering
/// the server's HTTP/2 PINGs; the server closes the connection, and with it
/// the stream, once a PING goes unanswered (ACCESS_HTTP2_KEEPALIVE_*),
/// instead of serving it forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_client_is_closed_by_http2_keepalive() {
    let app = TestApp::spawn_with(Db::Sqlite, |config| {
        config.http2_keepalive_interval_ms = 200;
        config.http2_keepalive_timeout_ms = 200;
    })
    .await;
    let proxy = Blackhole::start(app.addr).await;
    let channel = crate::support::connect(proxy.addr).await;
    let _watch = open_watch(channel).await;
    proxy.swallow.notify_one();
    // The bound is interval + timeout (0.4 s); the margin is for a slow CI.
    tokio::time::timeout(Duration::from_secs(20), proxy.server_closed)
        .await
        .expect("the server closes a connection whose PINGs go unanswered")
        .expect("the proxy reports it");
}

/// At ACCESS_MAX_CONNECTION_AGE_SECS the server sends GOAWAY: an idle
/// connection ends, so the client reconnects (and may land on another replica).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_connection_is_sent_away() {
    let app = TestApp::spawn_with(Db::Sqlite, |config| {
        config.max_connection_age_secs = 1;
        config.max_connection_age_grace_secs = 60;
    })
    .await;
    let (_send, connection) = h2_connection(app.addr).await;
    let ended = tokio::time::timeout(Duration::from_secs(20), connection)
        .await
        .expect("the server ends a connection past its maximum age");
    assert!(ended.is_ok(), "a GOAWAY ends it cleanly: {ended:?}");
}

/// With ACCESS_MAX_CONNECTION_AGE_SECS=0 connections have no maximum age:
/// one outlives the age at which the same server with a 1 s maximum ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_maximum_age_connections_stay() {
    let app = TestApp::spawn_with(Db::Sqlite, |config| config.max_connection_age_secs = 0).await;
    let (_send, connection) = h2_connection(app.addr).await;
    let ended = tokio::time::timeout(Duration::from_secs(3), connection).await;
    assert!(ended.is_err(), "the connection stays open: {ended:?}");
}

/// Calls in flight while their connection reaches its maximum age are
/// answered, or fail without having been sent (and succeed when sent
/// again): nothing is cut mid-call within the grace period. 32 callers
/// share one channel over several GOAWAYs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_across_a_goaway_are_answered_or_never_sent() {
    let app = TestApp::spawn_with(Db::Sqlite, |config| {
        config.max_connection_age_secs = 1;
        config.max_connection_age_grace_secs = 30;
    })
    .await;
    // A channel that counts its connections, to see that they were recycled.
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    let addr = app.addr;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("an endpoint")
        .connect_with_connector(tower::service_fn(move |_: http::Uri| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                let tcp = TcpStream::connect(addr).await?;
                tcp.set_nodelay(true)?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tcp))
            }
        }))
        .await
        .expect("the channel connects");
    let until = tokio::time::Instant::now() + Duration::from_millis(3_500);
    let callers = (0..32).map(|_| {
        let mut client = HealthClient::new(channel.clone());
        tokio::spawn(async move {
            let (mut answered, mut resent, mut failed) = (0u32, 0u32, Vec::new());
            while tokio::time::Instant::now() < until {
                match client.check(HealthCheckRequest::default()).await {
                    Ok(_) => answered += 1,
                    Err(status) if never_sent(&status) => resent += 1,
                    Err(status) => failed.push(status),
                }
            }
            (answered, resent, failed)
        })
    });
    let (mut answered, mut resent, mut failed) = (0, 0, Vec::new());
    for caller in callers {
        let (a, r, f) = caller.await.expect("the caller runs");
        answered += a;
        resent += r;
        failed.extend(f);
    }
    assert!(failed.is_empty(), "only never-sent failures: {failed:?}");
    assert!(answered > 100, "the callers were answered: {answered}");
    let connections = connections.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        connections >= 3,
        "each second's GOAWAY brought a new connection: {connections}"
    );
    // Not asserted: how many were never sent; it depends on the timing of
    // each GOAWAY against the calls queued on the connection.
    let _ = resent;
}

/// A stream that outlives the connection's age and grace period is cut
/// with its connection, and the client's next call, on a new connection,
/// is served. Without the grace period a stream would hold its
/// connection (and the replica) for as long as it stays open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_past_the_grace_period_are_cut() {
    let app = TestApp::spawn_with(Db::Sqlite, |config| {
        config.max_connection_age_secs = 1;
        config.max_connection_age_grace_secs = 1;
        // A watch may live no longer than the grace.
        config.watch.watch_max_age_secs = 1;
    })
    .await;
    let mut watch = open_watch(app.channel.clone()).await;
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match watch.message().await {
                Ok(Some(_)) => continue,
                other => return other.map(|_| ()),
            }
        }
    })
    .await
    .expect("the stream ends once age and grace are over");
    assert!(
        ended.is_err(),
        "cut, not ended by the server's handler: {ended:?}"
    );
    // The next call may be queued on the cut connection before the client
    // sees it closed: never sent, and sent again on a new connection.
    for attempt in 1.. {
        let watch = HealthClient::new(app.channel.clone())
            .watch(HealthCheckRequest::default())
            .await;
        match watch {
            Ok(_) => break,
            Err(status) if never_sent(&status) && attempt < 3 => continue,
            Err(status) => panic!("the watch opens on a new connection: {status:?}"),
        }
    }
}

/// With ACCESS_TLS_MAX_CONCURRENT_HANDSHAKES silent clients in their
/// handshake, no further connection is taken on (it waits in the backlog),
/// and as soon as one of them leaves, the waiting client's handshake is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_handshakes_in_progress_are_capped() {
    use access_service::tls;

    let (ca, dir) = (
        crate::support::pki::Ca::new("transport CA"),
        crate::support::pki::Files::new(),
    );
    let server = ca.server();
    let settings = tls::TlsSettings {
        cert_file: dir.put("server.pem", &server.cert),
        key_file: dir.put("server.key", &server.key),
        client_ca_file: None,
        client_auth: tls::ClientAuth::Required,
        reload_interval: Duration::from_secs(60),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("bound address");
    let mut connections = tls::incoming(
        access_service::app::incoming(listener, None),
        tls::acceptor(&settings).expect("TLS settings"),
        Duration::from_secs(60),
        2,
    );
    let silent_one = TcpStream::connect(addr).await.expect("connects");
    let _silent_two = TcpStream::connect(addr).await.expect("connects");
    let ca_pem = ca.pem();
    let client = tokio::spawn(async move { crate::support::pki::tls_channel(addr, &ca_pem, None).await });
    assert!(
        tokio::time::timeout(Duration::from_millis(500), connections.next())
            .await
            .is_err(),
        "two silent handshakes hold both slots: the third client is not served"
    );
    drop(silent_one);
    let accepted = tokio::time::timeout(Duration::from_secs(20), connections.next())
        .await
        .expect("a freed slot takes the waiting client on")
        .expect("the stream yields it");
    assert!(accepted.is_ok(), "its handshake succeeded");
    client.abort();
}
