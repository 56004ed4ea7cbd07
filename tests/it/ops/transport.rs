//! The server's TCP connections. Every accepted socket must have TCP_NODELAY:
//! without it, Nagle's algorithm holds a small response back until the
//! client's delayed ACK arrives (44 ms stalls on Authorize and
//! BatchAuthorize were measured without it). Checked on the option itself, not on timings.

use tokio::net::{TcpListener, TcpStream};
use tokio_stream::StreamExt;

/// The sockets `access_service::app::incoming` hands to the server (the one
/// accept path `App::run_until_stopped` serves) have TCP_NODELAY set.
#[tokio::test]
async fn accepted_connections_have_tcp_nodelay() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("bound address");
    let incoming = access_service::app::incoming(listener);
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
        access_service::app::incoming(listener),
        tls::acceptor(&settings).expect("TLS settings"),
        std::time::Duration::from_secs(5),
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
