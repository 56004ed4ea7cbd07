//! The one start-up path, shared by `main`, the tests and the benchmark:
//! `App::build(config)` wires everything and binds; `run_until_stopped` serves.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::cache::{Cache, CacheStats};
use crate::changes::{ChangePublisher, PublisherSettings};
use crate::config::{Config, redact_url};
use crate::domain::UseCases;
use crate::domain::ports::Reads;
use crate::domain::service::DomainSettings;
use crate::grpc::middleware::ApiKeys;
use crate::grpc::pb::FILE_DESCRIPTOR_SET;
use crate::grpc::pb::access_service_server::AccessServiceServer;
use crate::grpc::{GrpcHandlers, middleware};
use crate::metrics::server::MetricsListener;
use crate::metrics::{self, Metrics};
use crate::shutdown;
use crate::storage::{self, CacheFence, SeaStore, StatementCounter};

/// A built, bound, not yet serving instance of the service.
pub struct App {
    config: Config,
    /// The bound listener, already wrapped by [`incoming`]: serving has no
    /// other way to accept connections.
    incoming: TcpIncoming,
    service: UseCases,
    statements: StatementCounter,
    cache: Arc<Cache>,
    /// Telemetry: where this App's request spans go when not to the global
    /// subscriber (see [`App::with_trace_dispatch`]).
    trace_dispatch: Option<tracing::Dispatch>,
    /// The keys callers authenticate with; empty: authentication off (loopback only).
    api_keys: Arc<ApiKeys>,
    metrics: Arc<Metrics>,
    /// Bound in `build` (so port 0 works), served by `run_until_stopped`.
    metrics_listener: Option<MetricsListener>,
    /// The log the change publisher reads (a pool of its own) and its
    /// settings, when changes are published to Redis.
    change_publisher: Option<(Arc<dyn Reads>, PublisherSettings)>,
}

impl App {
    /// Loads the API keys, connects to the database (migrating when
    /// configured), builds the use cases and binds the listen address. Port 0
    /// picks a free port. Fails when no API key is configured and the listen
    /// address is not loopback.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        // Before anything is connected: a server that would be open to anyone fails at once.
        let api_keys = Arc::new(config.api_keys()?);
        if api_keys.is_empty() {
            tracing::warn!(
                listen_addr = %config.listen_addr,
                "authentication is off: no API key is configured, so every caller holds every scope \
                 (allowed on loopback only; set ACCESS_API_KEYS or ACCESS_API_KEYS_FILE)"
            );
        } else {
            // Names and scopes only, never the hashes.
            tracing::info!(keys = ?api_keys, "API keys loaded");
        }
        let (db, statements) = storage::connect(
            &config.database_url,
            config.db_max_connections,
            config.db_acquire_timeout(),
        )
        .await
        .with_context(|| format!("cannot connect to {}", redact_url(&config.database_url)))?;
        if config.auto_migrate {
            storage::migrate(&db)
                .await
                .context("migrating the database failed")?;
        }
        tracing::info!(
            backend = storage::backend_name(&db),
            database = %redact_url(&config.database_url),
            migrated = config.auto_migrate,
            "database ready"
        );
        let cache = Arc::new(match &config.redis_url {
            Some(url) => {
                // A pool of its own, so the fence's background reads are not
                // counted among (nor queue behind) the requests' statements.
                let (fence_db, _) = storage::connect(&config.database_url, 2, config.db_acquire_timeout())
                    .await
                    .context("cannot connect to the database for the cache fence")?;
                Cache::with_redis(url, &config.cache_settings(), CacheFence::new(fence_db))
                    .with_context(|| format!("bad ACCESS_REDIS_URL {}", redact_url(url)))?
            }
            None => Cache::in_process(&config.cache_settings()),
        });
        tracing::info!(
            redis = config
                .redis_url
                .as_deref()
                .map(redact_url)
                .as_deref()
                .unwrap_or("none (one replica)"),
            local_max_bytes = config.cache_max_bytes,
            "cache ready"
        );
        let change_publisher = match config.change_publisher() {
            Some(settings) => {
                // A pool of its own, as the fence's: its polling is neither
                // counted among nor queued behind the requests' statements.
                let (log_db, _) = storage::connect(&config.database_url, 1, config.db_acquire_timeout())
                    .await
                    .context("cannot connect to the database for the change publisher")?;
                Some((Arc::new(SeaStore::new(log_db)) as Arc<dyn Reads>, settings))
            }
            None => None,
        };
        let metrics = Metrics::new(metrics::Sources {
            cache: Arc::clone(&cache),
            redis: config.redis_url.is_some(),
            db: db.clone(),
            statements: statements.clone(),
        });
        let metrics_listener = match config.metrics_addr {
            Some(addr) => Some(MetricsListener::bind(addr).await?),
            None => None,
        };
        let service = UseCases::new(
            Arc::new(SeaStore::new(db)),
            Arc::clone(&cache) as Arc<dyn crate::domain::ports::FactsCache>,
            DomainSettings {
                invitation_ttl: config.invitation_ttl(),
                max_batch_checks: config.max_batch_checks,
            },
        );
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
        Ok(Self {
            config,
            incoming: incoming(listener),
            service,
            statements,
            cache,
            trace_dispatch: None,
            api_keys,
            metrics,
            metrics_listener,
            change_publisher,
        })
    }

    /// Telemetry: sends this App's request spans to `dispatch` instead of the
    /// global subscriber, so a test can trace one App among many in a process.
    pub fn with_trace_dispatch(mut self, dispatch: tracing::Dispatch) -> Self {
        self.trace_dispatch = Some(dispatch);
        self
    }

    /// The address of the metrics endpoint actually bound, when
    /// ACCESS_METRICS_ADDR is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.incoming.local_addr()?)
    }

    /// Counts the SQL statements the server sends, for per-call budgets.
    pub fn statement_counter(&self) -> StatementCounter {
        self.statements.clone()
    }

    /// The cache's counters (hits, misses, invalidations, leases).
    pub fn cache_stats(&self) -> Arc<CacheStats> {
        self.cache.stats()
    }

    /// The cache itself, for tests and the benchmark (sizes, trust).
    pub fn cache(&self) -> Arc<Cache> {
        Arc::clone(&self.cache)
    }

    /// Serves until `shutdown` resolves, then stops as [`shutdown`] describes:
    /// NOT_SERVING, the grace period, in-flight requests drained within the
    /// deadline, the cache lease given back.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let addr = self.local_addr()?;
        let (health_reporter, health_service) = tonic_health::server::health_reporter();
        health_reporter
            .set_serving::<AccessServiceServer<GrpcHandlers>>()
            .await;
        // Both reflection versions: grpcurl 1.8 only speaks v1alpha, newer clients v1.
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // google.rpc error details, so grpcurl can print BadRequest and ErrorInfo.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;
        let (stop_accepting, deadline, phase) =
            shutdown::begin(self.config.shutdown_settings(), health_reporter, shutdown);
        let layers = middleware::layers(
            self.api_keys,
            self.config.max_concurrent_requests,
            self.config.request_timeout(),
            self.metrics.rpc(),
            phase,
        );
        // Serves until this function returns, so the drain can be watched.
        let _metrics_server = self.metrics_listener.map(|listener| {
            tracing::info!(addr = ?listener.local_addr().ok(), "serving metrics at /metrics");
            listener.serve(Arc::clone(&self.metrics))
        });
        tracing::info!(%addr, "serving access.v1.AccessService (gRPC, health, reflection)");
        let publisher = match (self.change_publisher, &self.config.redis_url) {
            (Some((log, settings)), Some(url)) => Some(
                ChangePublisher::start(url, &self.config.redis_namespace, log, settings)
                    .with_context(|| format!("bad ACCESS_REDIS_URL {}", redact_url(url)))?,
            ),
            _ => None,
        };
        let handlers = GrpcHandlers::new(self.service).with_watch_poll(self.config.change_poll());
        let serve = Server::builder()
            // Telemetry: outermost, so the RPC's span covers (and its status
            // code reflects) every refusal of the stack below.
            .layer(middleware::RpcSpanLayer::new(self.trace_dispatch))
            .layer(layers)
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(AccessServiceServer::new(handlers))
            .serve_with_incoming_shutdown(self.incoming, stop_accepting);
        deadline.enforce(serve).await?;
        // Give the lease back: writers on other replicas stop waiting for us.
        self.cache.stop().await;
        // Whatever it has not published stays in the log for another replica.
        if let Some(publisher) = publisher {
            publisher.stop().await;
        }
        Ok(())
    }
}

/// The connections the server serves: those `listener` accepts, each with
/// TCP_NODELAY. We serve our own listener (bound in `build`, so port 0 works),
/// and tonic's `tcp_nodelay` applies only to listeners it binds; without it
/// each small response waits ~40 ms on Nagle's algorithm and the client's
/// delayed ACK. Public so a test can read the option on an accepted socket.
pub fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}
