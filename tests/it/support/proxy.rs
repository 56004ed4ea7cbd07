//! A TCP proxy a test puts in front of a server it means to break, one
//! connection at a time if need be.
//!
//! Each connection has a [`Mode`]. The proxy as a whole can be cut, frozen
//! or restored (every connection, open and new, as when a server goes away
//! or packets are lost). A test can also single out connections by what
//! their client has sent: a replica's Redis subscription is the connection
//! that sent `SUBSCRIBE`, its lease renewals the one that sent the renewal
//! script, and a writer's `COMMIT` the MySQL connection that sent it. So a
//! test can silence a replica's invalidations while its renewals go on, or
//! swallow the reply to one `COMMIT` the server has carried out.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockWriteGuard, Weak};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What a connection does with the bytes it is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forwards both ways.
    Open,
    /// Holds every byte, keeping the connection open: the peers hear
    /// nothing until it is open again, then everything held.
    Frozen,
    /// Forwards both ways, each chunk this much later.
    Delayed(Duration),
    /// Throws away what the client sends (the server never hears it), and
    /// forwards what the server sends: the connection stays open.
    DropToServer,
    /// Throws away what the server sends, and forwards what the client
    /// sends: a subscription that stays open but hears nothing.
    DropToClient,
    /// Closed: the peer sees the connection end, as when a server goes away.
    Cut,
}

/// Which way bytes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Toward {
    Server,
    Client,
}

/// The first bytes a client sends that are kept, to single it out later.
const SNIFF_LIMIT: usize = 64 * 1024;

/// One proxied connection.
struct Conn {
    /// The first [`SNIFF_LIMIT`] bytes its client sent.
    sent: RwLock<Vec<u8>>,
    /// Its own mode, in force while the proxy as a whole is open.
    own: RwLock<Mode>,
    /// The mode in force (the proxy's, or its own).
    mode: watch::Sender<Mode>,
    /// Its next reply from the server is thrown away, and the connection cut.
    swallow_next_reply: AtomicBool,
}

/// Held for a few instructions, never across an await.
fn lock<T>(cell: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    cell.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|window| window == needle)
}

/// Connections whose client sends `needle` take `mode`.
struct Rule {
    needle: Vec<u8>,
    mode: Mode,
    once: bool,
}

/// The proxy's settings and its open connections.
struct State {
    /// The mode of every connection, unless [`Mode::Open`]: then each has its own.
    all: Mode,
    /// Connections whose client sends the bytes take the mode, now and
    /// later; a rule marked once applies to one connection, then is dropped.
    rules: Vec<Rule>,
    /// The next connection whose client sends these bytes loses the reply.
    swallow: Option<Vec<u8>>,
    conns: Vec<Weak<Conn>>,
}

impl State {
    fn effective(&self, conn: &Conn) -> Mode {
        if self.all == Mode::Open {
            *lock(&conn.own)
        } else {
            self.all
        }
    }

    fn refresh(&mut self) {
        self.conns.retain(|conn| conn.strong_count() > 0);
        for conn in self.conns.iter().filter_map(Weak::upgrade) {
            conn.mode.send_replace(self.effective(&conn));
        }
    }

    /// What a connection's client has just sent: rules and swallowing apply.
    fn observe(&mut self, conn: &Conn, chunk: &[u8]) {
        let sent = {
            let mut sent = lock(&conn.sent);
            let room = SNIFF_LIMIT.saturating_sub(sent.len());
            sent.extend_from_slice(&chunk[..chunk.len().min(room)]);
            sent.clone()
        };
        self.rules.retain(|rule| {
            if !(contains(chunk, &rule.needle) || contains(&sent, &rule.needle)) {
                return true;
            }
            *lock(&conn.own) = rule.mode;
            !rule.once
        });
        if self
            .swallow
            .as_ref()
            .is_some_and(|needle| contains(chunk, needle))
        {
            self.swallow = None;
            conn.swallow_next_reply.store(true, Ordering::Release);
        }
        conn.mode.send_replace(self.effective(conn));
    }
}

/// A TCP proxy on a free loopback port to `upstream`, whose connections the
/// test can cut, freeze, delay or silence one way, all at once or singled
/// out by what their client sent. Stops (cutting every connection) when dropped.
pub struct TcpProxy {
    addr: SocketAddr,
    state: Arc<RwLock<State>>,
    accepting: JoinHandle<()>,
}

/// Copies `from` to `to` in the connection's mode until either end closes
/// or the connection is cut.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    toward: Toward,
    conn: Arc<Conn>,
    state: Arc<RwLock<State>>,
) {
    let mut mode = conn.mode.subscribe();
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        let chunk = &buffer[..read];
        match toward {
            Toward::Server => lock(&state).observe(&conn, chunk),
            Toward::Client => {
                if conn.swallow_next_reply.swap(false, Ordering::AcqRel) {
                    // The server has answered (it carried the request out):
                    // the client never hears it, and loses the connection.
                    return;
                }
            }
        }
        let now = match mode.wait_for(|mode| *mode != Mode::Frozen).await {
            Ok(mode) => *mode,
            Err(_) => return,
        };
        match (now, toward) {
            (Mode::Cut, _) => return,
            (Mode::DropToServer, Toward::Server) | (Mode::DropToClient, Toward::Client) => continue,
            (Mode::Delayed(delay), _) => tokio::time::sleep(delay).await,
            _ => {}
        }
        if to.write_all(chunk).await.is_err() {
            return;
        }
    }
}

impl TcpProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(RwLock::new(State {
            all: Mode::Open,
            rules: Vec::new(),
            swallow: None,
            conns: Vec::new(),
        }));
        let accepting = tokio::spawn({
            let state = Arc::clone(&state);
            async move {
                while let Ok((inbound, _)) = listener.accept().await {
                    let conn = {
                        let mut state = lock(&state);
                        if state.all == Mode::Cut {
                            drop(inbound);
                            continue;
                        }
                        let conn = Arc::new(Conn {
                            sent: RwLock::new(Vec::new()),
                            own: RwLock::new(Mode::Open),
                            mode: watch::Sender::new(state.all),
                            swallow_next_reply: AtomicBool::new(false),
                        });
                        state.conns.push(Arc::downgrade(&conn));
                        conn
                    };
                    let state = Arc::clone(&state);
                    tokio::spawn(async move {
                        let Ok(outbound) = TcpStream::connect(upstream).await else {
                            return;
                        };
                        let _ = inbound.set_nodelay(true);
                        let _ = outbound.set_nodelay(true);
                        let (in_read, in_write) = inbound.into_split();
                        let (out_read, out_write) = outbound.into_split();
                        let mut mode = conn.mode.subscribe();
                        // Either direction ending ends both (dropping both sockets).
                        tokio::select! {
                            () = pump(in_read, out_write, Toward::Server, Arc::clone(&conn), Arc::clone(&state)) => {}
                            () = pump(out_read, in_write, Toward::Client, Arc::clone(&conn), Arc::clone(&state)) => {}
                            _ = mode.wait_for(|mode| *mode == Mode::Cut) => {}
                        }
                    });
                }
            }
        });
        Self {
            addr,
            state,
            accepting,
        }
    }

    /// `url` with its host and port replaced by the proxy's.
    pub fn route(&self, url: &str) -> String {
        let (start, end) = authority(url);
        format!("{}{}{}", &url[..start], self.addr, &url[end..])
    }

    /// Every connection, open and new, in `mode`; [`Mode::Cut`] also
    /// refuses new connections as soon as they are accepted.
    pub fn set(&self, mode: Mode) {
        let mut state = lock(&self.state);
        state.all = mode;
        state.refresh();
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.set(Mode::Cut);
    }

    /// Keeps connections open but forwards nothing until restored.
    pub fn freeze(&self) {
        self.set(Mode::Frozen);
    }

    /// Forwards again, every connection (held bytes too, if frozen): the
    /// proxy's mode, every connection's own and every rule are dropped.
    pub fn restore(&self) {
        let mut state = lock(&self.state);
        state.all = Mode::Open;
        state.rules.clear();
        state.swallow = None;
        for conn in state.conns.iter().filter_map(Weak::upgrade) {
            *lock(&conn.own) = Mode::Open;
        }
        state.refresh();
    }

    /// Puts the open connections whose client has sent `needle` in `mode`;
    /// returns how many there are. Connections opened later are not affected.
    pub fn affect(&self, needle: &[u8], mode: Mode) -> usize {
        let mut state = lock(&self.state);
        let mut affected = 0;
        for conn in state.conns.iter().filter_map(Weak::upgrade) {
            if contains(&lock(&conn.sent), needle) {
                *lock(&conn.own) = mode;
                affected += 1;
            }
        }
        state.refresh();
        affected
    }

    /// As [`TcpProxy::affect`], and every connection whose client sends
    /// `needle` later takes `mode` too, before those bytes go anywhere.
    pub fn rule(&self, needle: &[u8], mode: Mode) -> usize {
        let affected = self.affect(needle, mode);
        lock(&self.state).rules.push(Rule {
            needle: needle.to_vec(),
            mode,
            once: false,
        });
        affected
    }

    /// The next connection whose client sends `needle` (and only that one)
    /// takes `mode`, before those bytes go anywhere.
    pub fn rule_once(&self, needle: &[u8], mode: Mode) {
        lock(&self.state).rules.push(Rule {
            needle: needle.to_vec(),
            mode,
            once: true,
        });
    }

    /// The next time a client sends `needle`, the server gets it, and its
    /// reply is thrown away and the connection cut: the server did what was
    /// asked, the client cannot know it (a `COMMIT` whose OK is lost).
    pub fn cut_after_reply_to(&self, needle: &[u8]) {
        lock(&self.state).swallow = Some(needle.to_vec());
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.accepting.abort();
    }
}

/// Where the `host:port` of a URL (scheme://[user:password@]host:port/...) starts and ends.
fn authority(url: &str) -> (usize, usize) {
    let start = url
        .rfind('@')
        .map_or_else(|| url.find("://").map_or(0, |i| i + 3), |i| i + 1);
    let end = url[start..].find('/').map_or(url.len(), |i| start + i);
    (start, end)
}

/// The address in a URL whose host is an IP address.
pub fn url_addr(url: &str) -> SocketAddr {
    let (start, end) = authority(url);
    url[start..end]
        .parse()
        .expect("an IP address and port in the URL")
}
