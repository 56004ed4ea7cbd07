//! The server the benchmark measures when no `--addr` is given: one or two
//! replicas started in-process through `App::build`, on 127.0.0.1:0, over
//! the chosen database; and the channels the load goes over.

use std::path::PathBuf;
use std::time::Duration;

use access_service::config::EmailBounds;
use access_service::{App, Config};
use anyhow::Context;
use sea_orm::{ConnectionTrait, Database};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// The server started in-process, and what to clean up after it.
pub struct LocalServer {
    stops: Vec<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<anyhow::Result<()>>>,
    temp_dir: Option<PathBuf>,
    /// The second replica (Redis only), with `--redis-url`.
    pub replica_addr: Option<String>,
}

/// Builds and starts the server on 127.0.0.1:0 over the chosen database.
pub async fn start(
    database_url: Option<&str>,
    redis_url: Option<&str>,
    db_max_connections: u32,
) -> anyhow::Result<(String, String, LocalServer)> {
    let (database_url, temp_dir) = match database_url {
        Some(url) => (url.to_owned(), None),
        None => {
            let dir = std::env::temp_dir().join(format!("access-bench-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
            (url, Some(dir))
        }
    };
    let backend = if database_url.starts_with("mysql:") {
        create_mysql_database(&database_url).await?;
        "mysql"
    } else {
        "sqlite"
    };
    let config = Config {
        listen_addr: "127.0.0.1:0".parse()?,
        database_url,
        db_max_connections,
        redis_url: redis_url.map(str::to_owned),
        // A namespace per run: runs sharing a Redis never meet.
        redis_namespace: format!("bench-{}", uuid::Uuid::new_v4().simple()),
        // The seed invites thousands of people as one owner, far past the
        // email limits meant for callers; nothing leaves loopback.
        email: EmailBounds {
            email_limit_per_account: 0,
            email_limit_per_actor: 0,
            email_limit_per_recipient: 0,
            invitation_resend_cooldown_secs: 0,
            ..EmailBounds::default()
        },
        ..Config::default()
    };
    let mut server = LocalServer {
        stops: Vec::new(),
        tasks: Vec::new(),
        temp_dir,
        replica_addr: None,
    };
    let addr = serve(&mut server, config.clone()).await?;
    let backend = match redis_url {
        Some(_) => {
            let replica = Config {
                cache_max_bytes: 0,
                ..config
            };
            server.replica_addr = Some(serve(&mut server, replica).await?);
            format!("{backend} + Redis, 2 replicas")
        }
        None => backend.to_owned(),
    };
    Ok((addr, backend, server))
}

/// Builds and starts one App; returns its address.
async fn serve(server: &mut LocalServer, config: Config) -> anyhow::Result<String> {
    let app = App::build(config).await?;
    let addr = app.local_addr()?.to_string();
    let (stop, stopped) = oneshot::channel::<()>();
    server.tasks.push(tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    })));
    server.stops.push(stop);
    Ok(addr)
}

/// `CREATE DATABASE IF NOT EXISTS` for the URL's database, so a fresh name just works.
async fn create_mysql_database(url: &str) -> anyhow::Result<()> {
    let without_query = url.split('?').next().unwrap_or(url);
    let Some((server, name)) = without_query.rsplit_once('/') else {
        anyhow::bail!("the MySQL URL names no database");
    };
    anyhow::ensure!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "the MySQL database name must be letters, digits and underscores"
    );
    let admin = Database::connect(server)
        .await
        .with_context(|| format!("cannot connect to {}", access_service::config::redact_url(server)))?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE IF NOT EXISTS `{name}`"))
        .await
        .with_context(|| format!("cannot create database {name}"))?;
    admin.close().await?;
    Ok(())
}

/// Stops every replica and removes the temporary database, if any.
pub async fn stop(server: LocalServer) {
    for stop in server.stops {
        let _ = stop.send(());
    }
    for task in server.tasks {
        match tokio::time::timeout(Duration::from_secs(10), task).await {
            Ok(Ok(Err(err))) => eprintln!("the server stopped with an error: {err:#}"),
            Err(_) => eprintln!("the server did not stop within 10 s"),
            _ => {}
        }
    }
    if let Some(dir) = server.temp_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// One channel per HTTP/2 connection, once the server answers SERVING.
pub async fn connect(addr: &str, connections: usize) -> anyhow::Result<Vec<Channel>> {
    let uri = if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    };
    let endpoint = Endpoint::from_shared(uri.clone())
        .with_context(|| format!("bad address {addr}"))?
        // Nagle on the client would add its own stalls to the server's.
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5));
    let mut channels = Vec::with_capacity(connections);
    for _ in 0..connections {
        // Each connect() opens its own connection (a clone would share one).
        channels.push(
            endpoint
                .connect()
                .await
                .with_context(|| format!("cannot connect to {uri}"))?,
        );
    }
    let status = HealthClient::new(channels[0].clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .context("the server does not answer grpc.health.v1.Health/Check")?
        .into_inner()
        .status;
    anyhow::ensure!(status == 1, "the server is not SERVING (health status {status})");
    Ok(channels)
}

/// A tonic server serving only grpc.health.v1 (SERVING), on 127.0.0.1:0 in
/// this process: the floor the benchmark compares every call with. Its
/// transport is the service's (TCP_NODELAY, tonic's HTTP/2 defaults) without
/// anything above it. Stops when dropped.
pub struct BareHealth {
    /// Where it listens.
    pub addr: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for BareHealth {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the [`BareHealth`] server.
pub async fn start_bare_health() -> anyhow::Result<BareHealth> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot bind the bare health server")?;
    let addr = listener.local_addr()?.to_string();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let task = tokio::spawn(async move {
        if let Err(err) = tonic::transport::Server::builder()
            .add_service(health)
            .serve_with_incoming(incoming)
            .await
        {
            eprintln!("\nthe bare health server stopped: {err}");
        }
    });
    Ok(BareHealth { addr, task })
}
