//! The server's TCP connections. Every accepted socket must have TCP_NODELAY:
//! without it, Nagle's algorithm holds a small response back until the
//! client's delayed ACK arrives, and issue 7 measured 44 ms stalls on
//! Authorize and BatchAuthorize. Checked on the option itself, not on timings.

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
