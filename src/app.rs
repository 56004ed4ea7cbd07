//! The one start-up path, shared by `main`, the tests and the benchmark:
//! `App::build(config)` wires everything and binds; `run_until_stopped` serves.
//!
//! The assembler: the only module that knows every part. Each part is
//! built from its own settings type (made from the [`Config`] in
//! src/app/settings.rs) and handed what it needs: the cache its store and
//! the storage's fence, the metrics the routes the server serves, the email
//! dispatcher its outbox on the pool chosen here, the storage the
//! telemetry's statement spans.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use anyhow::Context;
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_stream::StreamExt;
use tonic::transport::server::TcpIncoming;

use crate::cache::{Cache, CacheStats, EntryKeys};
use crate::changes::{ChangePublisher, PublisherSettings};
use crate::config::{Config, MAX_BATCH_CHECKS_LIMIT, MAX_SCOPE_IDS_LIMIT, redact_url};
use crate::domain::UseCases;
use crate::domain::model::{MAX_SCOPE_IDS, ResourceType};
use crate::domain::ports::{FactsCache, Reads, Store};
use crate::domain::service::{DomainSettings, EndLimits};
use crate::email::{Dispatcher, EmailRenderer};
use crate::grpc::middleware::Credentials;
use crate::grpc::pb::FILE_DESCRIPTOR_SET;
use crate::grpc::pb::access_service_server::AccessServiceServer;
use crate::grpc::{ActorTrust, GrpcHandlers, Watches, middleware};
use crate::metrics::server::MetricsListener;
use crate::metrics::{self, Metrics, Routes};
use crate::storage::{self, CacheFence, OutboxStore, SeaStore, StatementCounter};
use crate::{shutdown, telemetry, tls};

mod commands;
mod feed;
mod settings;
#[cfg(test)]
mod tests;
mod transport;

pub use commands::{dev_token, hash_key, health};
pub use transport::{Aged, TransportSettings, incoming};

// The facts of the largest BatchAuthorize are read in one statement, so
// they are one consistent snapshot.
const _: () = assert!(storage::MAX_PAIRS >= MAX_BATCH_CHECKS_LIMIT);

// The most scope ids in total is every type at its own most.
const _: () = assert!(MAX_SCOPE_IDS_LIMIT == ResourceType::ALL.len() * MAX_SCOPE_IDS);

/// How long the email dispatcher gets to finish the email in flight once
/// serving has ended: part of the 10 s the Helm chart's termination grace
/// period leaves after the drain.
const DISPATCHER_STOP: std::time::Duration = std::time::Duration::from_secs(5);

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
    /// Telemetry: how requests are sampled when spans go to `trace_dispatch`.
    trace_sampling: telemetry::Sampling,
    /// What callers authenticate with; none: authentication off (loopback only).
    credentials: Credentials,
    /// How the acting person is known (actor tokens or the caller's word).
    actors: ActorTrust,
    /// TLS on the listener, when configured.
    tls: Option<TlsAcceptor>,
    /// The plaintext health-only listener (ACCESS_HEALTH_ADDR), for probes
    /// that cannot speak TLS.
    health_incoming: Option<TcpIncoming>,
    metrics: Arc<Metrics>,
    /// Bound in `build` (so port 0 works), served by `run_until_stopped`.
    metrics_listener: Option<MetricsListener>,
    /// The email templates, shared by the dispatcher and PreviewInvitationEmail.
    renderer: Arc<EmailRenderer>,
    /// Built in `build` (a bad ACCESS_SMTP_URL fails there), run by
    /// `run_until_stopped`; None when ACCESS_OUTBOX_DISPATCH is off.
    dispatcher: Option<Dispatcher>,
    /// The log the change publisher reads (a pool of its own) and its
    /// settings, when changes are published to Redis.
    change_publisher: Option<(Arc<dyn Reads>, PublisherSettings)>,
    /// The feed every watch follows, built (its start read), not yet reading.
    change_feed: feed::Feed,
}

impl App {
    /// Loads the API keys, client identities and TLS certificates, connects
    /// to the database (migrating when configured), builds the use cases and
    /// binds the listen address. Port 0 picks a free port. Fails when no API
    /// key or client identity is configured and the listen address is not
    /// loopback.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        // The email templates with the configured sender and link, shared
        // by the dispatcher and PreviewInvitationEmail: a bad sender fails here.
        let renderer = Arc::new(settings::email_renderer(&config)?);
        // Before anything is connected: a server that would be open to anyone fails at once.
        let credentials = settings::credentials(&config)?;
        let actors = settings::actor_trust(&config).await?;
        tracing::info!(
            mode = ?config.actors.mode(),
            issuers = ?config.actors.actor_token_issuers,
            "who is acting: {}",
            if actors.require_token { "actor tokens" } else { "the caller's word (tokens verified when sent)" }
        );
        if credentials.is_open() {
            tracing::warn!(
                listen_addr = %config.listen_addr,
                "authentication is off: no API key and no client certificate identity is configured, so \
                 every caller holds every scope (allowed on loopback only; set ACCESS_API_KEYS, \
                 ACCESS_API_KEYS_FILE or ACCESS_TLS_CLIENT_IDENTITIES)"
            );
        } else {
            // Names and scopes only, never the hashes.
            tracing::info!(
                keys = ?credentials.keys.current(),
                client_identities = ?credentials.identities,
                "callers are authenticated"
            );
        }
        let tls = match settings::tls(&config)? {
            Some(settings) => {
                let acceptor = tls::acceptor(&settings)?;
                tracing::info!(
                    cert = %settings.cert_file.display(),
                    client_ca = ?settings.client_ca_file,
                    client_auth = ?settings.client_ca_file.as_ref().map(|_| settings.client_auth),
                    "TLS on (HTTP/2 over ALPN h2; the certificate is read again when its files change)"
                );
                Some(acceptor)
            }
            None => None,
        };
        let (db, statements) = connect(&config, config.db_max_connections)
            .await
            .with_context(|| format!("cannot connect to {}", redact_url(&config.database_url)))?;
        // Ends are judged on this replica's clock: refuse to serve on one
        // that is off the database's by more than the stated bound.
        let skew = storage::check_clock(&db, config.max_clock_skew_ms).await?;
        tracing::info!(
            skew_ms = skew,
            max_ms = config.max_clock_skew_ms,
            "clock checked against the database"
        );
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
        let store = Arc::new(SeaStore::new(db.clone()));
        let cache_settings = settings::cache_settings(&config);
        let cache = Arc::new(match &config.redis_url {
            Some(url) => {
                // A pool of its own, so the fence's background reads are not
                // counted among (nor queue behind) the requests' statements.
                let (fence_db, _) = connect(&config, 2)
                    .await
                    .context("cannot connect to the database for the cache fence")?;
                let fence = Arc::new(CacheFence::new(fence_db));
                let client = crate::redis_client::client(url, &config.redis_security)
                    .with_context(|| format!("bad ACCESS_REDIS_URL {}", redact_url(url)))?;
                let signatures = match &config.redis_security.redis_entry_keys_file {
                    Some(path) => EntryKeys::from_file(path)?,
                    None => {
                        if !config.listen_addr.ip().is_loopback() {
                            tracing::warn!(
                                "cache entries in Redis are not signed: whoever can write to that Redis can \
                                 plant an allow; set ACCESS_REDIS_ENTRY_KEYS_FILE"
                            );
                        }
                        EntryKeys::unsigned()
                    }
                };
                Cache::with_redis(
                    Arc::clone(&store) as Arc<dyn Reads>,
                    client,
                    &cache_settings,
                    fence,
                    signatures,
                )?
            }
            None => Cache::in_process(Arc::clone(&store) as Arc<dyn Reads>, &cache_settings),
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
        let change_publisher = match settings::change_publisher(&config) {
            Some(settings) => {
                // A pool of its own, as the fence's: its polling is neither
                // counted among nor queued behind the requests' statements.
                let (log_db, _) = connect(&config, 1)
                    .await
                    .context("cannot connect to the database for the change publisher")?;
                Some((Arc::new(SeaStore::new(log_db)) as Arc<dyn Reads>, settings))
            }
            None => None,
        };
        let change_feed = feed::Feed::build(&config, &db).await?;
        let metrics = Metrics::new(metrics::Sources {
            cache: Arc::clone(&cache),
            redis: config.redis_url.is_some(),
            db: db.clone(),
            statements: statements.clone(),
            routes: routes(),
            api_key_reload_failures: credentials.keys.failures(),
            change_feed_reads: change_feed.feed.reads(),
            change_feed_caught_up_at: change_feed.feed.caught_up_at(),
        });
        let metrics_listener = match config.metrics_addr {
            Some(addr) => Some(MetricsListener::bind(addr).await?),
            None => None,
        };
        let dispatcher = if config.outbox_dispatch {
            Some(dispatcher(&config, Some(&db), Arc::clone(&renderer)).await?)
        } else {
            None
        };
        tracing::info!(
            smtp = config
                .smtp_url
                .as_deref()
                .map(redact_url)
                .as_deref()
                .unwrap_or("none: a development install, emails are only logged (accept links without their token) and stay queued"),
            dispatch = config.outbox_dispatch,
            "email ready"
        );
        let service = UseCases::new(
            store as Arc<dyn Store>,
            Arc::clone(&cache) as Arc<dyn FactsCache>,
            DomainSettings {
                invitation_ttl: config.invitation_ttl(),
                max_batch_checks: config.max_batch_checks,
                reauthentication_max_age: config.actors.reauthentication_max_age(),
                max_pending_invitations: config.max_pending_invitations,
                max_page_bytes: config.max_page_bytes,
                email: settings::email_limits(&config),
                outbox_keeps_tokens: settings::outbox_keeps_tokens(&config),
                access_ends: EndLimits {
                    max_ahead: std::time::Duration::from_secs(
                        config.max_access_end_days.saturating_mul(86_400),
                    ),
                    skew: std::time::Duration::from_millis(config.max_clock_skew_ms),
                },
            },
        );
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
        let health_incoming = match config.health_addr {
            Some(addr) => Some(incoming(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on ACCESS_HEALTH_ADDR {addr}"))?,
                Some(config.tcp_keepalive()),
            )),
            None => None,
        };
        Ok(Self {
            incoming: incoming(listener, Some(config.tcp_keepalive())),
            config,
            credentials,
            actors,
            tls,
            health_incoming,
            service,
            statements,
            cache,
            trace_dispatch: None,
            trace_sampling: telemetry::Sampling::default(),
            metrics,
            metrics_listener,
            renderer,
            dispatcher,
            change_publisher,
            change_feed,
        })
    }

    /// Telemetry: sends this App's request spans to `dispatch` instead of the
    /// global subscriber, so a test can trace one App among many in a process.
    pub fn with_trace_dispatch(mut self, dispatch: tracing::Dispatch) -> Self {
        self.trace_dispatch = Some(dispatch);
        self
    }

    /// Telemetry: samples the requests traced to [`App::with_trace_dispatch`]'s
    /// subscriber by `sampling` (default: every request a caller does not
    /// say is unsampled).
    pub fn with_trace_sampling(mut self, sampling: telemetry::Sampling) -> Self {
        self.trace_sampling = sampling;
        self
    }

    /// How this App samples its requests: its own when its spans go to its
    /// own subscriber, the process's when OTLP export is on, else none.
    fn request_sampling(&self) -> Option<middleware::Sampled> {
        let tracing = match &self.trace_dispatch {
            Some(_) => telemetry::RequestTracing {
                sampling: self.trace_sampling,
                propagator: Arc::new(telemetry::propagator(None).ok()?),
            },
            None => telemetry::request_tracing()?,
        };
        let sampling = tracing.sampling;
        Some(middleware::Sampled {
            sample: Arc::new(move |parent| sampling.sample(parent)),
            propagator: tracing.propagator,
        })
    }

    /// The address of the metrics endpoint actually bound, when
    /// ACCESS_METRICS_ADDR is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// The address of the plaintext health-only listener, when
    /// ACCESS_HEALTH_ADDR is set.
    pub fn health_addr(&self) -> Option<SocketAddr> {
        self.health_incoming
            .as_ref()
            .and_then(|incoming| incoming.local_addr().ok())
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
        let transport = settings::transport(&self.config);
        let limits = settings::message_limits(&self.config);
        let (health_reporter, health_service) = tonic_health::server::health_reporter();
        // Open to anyone (probes carry no key): bounded like the API.
        let health_service = health_service
            .max_decoding_message_size(limits.request)
            .max_encoding_message_size(limits.response);
        health_reporter
            .set_serving::<AccessServiceServer<GrpcHandlers>>()
            .await;
        // Both reflection versions: grpcurl 1.8 only speaks v1alpha, newer clients v1.
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?
            .max_decoding_message_size(limits.request)
            .max_encoding_message_size(limits.response);
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // google.rpc error details, so grpcurl can print BadRequest and ErrorInfo.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?
            .max_decoding_message_size(limits.request)
            .max_encoding_message_size(limits.response);
        let (stop_accepting, deadline, phase) = shutdown::begin(
            settings::shutdown_settings(&self.config),
            health_reporter,
            shutdown,
        );
        let sampled = self.request_sampling();
        let layers = middleware::layers(
            self.credentials,
            middleware::Concurrency {
                process: self.config.max_concurrent_requests,
                per_caller: self.config.max_concurrent_requests_per_caller(),
            },
            self.config.request_timeout(),
            self.metrics.rpc(),
            phase,
        );
        // Serves until this function returns, so the drain can be watched.
        let _metrics_server = self.metrics_listener.map(|listener| {
            tracing::info!(addr = ?listener.local_addr().ok(), "serving metrics at /metrics");
            listener.serve(Arc::clone(&self.metrics))
        });
        // The same health service (one status map), plaintext, nothing else:
        // stopped once the main server has drained.
        let health_server = self.health_incoming.map(|health_incoming| {
            tracing::info!(addr = ?health_incoming.local_addr().ok(), "serving grpc.health.v1.Health (plaintext)");
            let health = transport
                .server()
                .add_service(health_service.clone())
                .serve_with_incoming(health_incoming);
            AbortOnDrop(tokio::spawn(health))
        });
        let dispatch = self.trace_dispatch.clone();
        let dispatcher = self
            .dispatcher
            .map(|dispatcher| dispatcher.spawn_logging_to(dispatch));
        let tls_state = if self.tls.is_some() { "TLS" } else { "plaintext" };
        tracing::info!(%addr, transport = tls_state, "serving access.v1.AccessService (gRPC, health, reflection)");
        let publisher = match (self.change_publisher, &self.config.redis_url) {
            (Some((log, settings)), Some(url)) => Some(ChangePublisher::start(
                crate::redis_client::client(url, &self.config.redis_security)
                    .with_context(|| format!("bad ACCESS_REDIS_URL {}", redact_url(url)))?,
                &self.config.redis_namespace,
                log,
                settings,
            )?),
            _ => None,
        };
        let (feed, feed_task) = self.change_feed.start(&self.config);
        let watches = Watches::new(
            feed,
            settings::watch_settings(&self.config),
            self.metrics.watches(),
        );
        let handlers = GrpcHandlers::new(self.service, self.renderer, watches)
            .with_actors(self.actors)
            .with_max_scope_ids(self.config.max_scope_ids)
            .with_decisions(self.metrics.decisions());
        let router = transport
            .server()
            // gRPC-Web translated first, so everything below sees gRPC.
            .layer(settings::browser_calls(&self.config)?)
            // Telemetry: outermost but for that, so the RPC's span covers
            // (and its status code reflects) every refusal of the stack below.
            .layer(middleware::RpcSpanLayer::new(
                self.trace_dispatch,
                sampled,
                middleware::RpcConventions::from_opt_in(&self.config.semconv_stability_opt_in),
            ))
            .layer(layers)
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(
                AccessServiceServer::new(handlers)
                    // tonic's default is 4 MiB per message, times every request in flight.
                    .max_decoding_message_size(limits.request)
                    .max_encoding_message_size(limits.response),
            );
        let lifetime = transport.lifetime();
        let served = match self.tls {
            Some(acceptor) => {
                let connections = tls::incoming(
                    self.incoming,
                    acceptor,
                    self.config.tls_handshake_timeout(),
                    self.config.tls_max_concurrent_handshakes,
                )
                .map(move |accepted| accepted.map(|conn| Aged::new(conn, lifetime)));
                deadline
                    .enforce(router.serve_with_incoming_shutdown(connections, stop_accepting))
                    .await
            }
            None => {
                deadline
                    .enforce(
                        router.serve_with_incoming_shutdown(
                            self.incoming
                                .map(move |accepted| accepted.map(|conn| Aged::new(conn, lifetime))),
                            stop_accepting,
                        ),
                    )
                    .await
            }
        };
        drop(health_server);
        // The email in flight gets a few seconds to finish; past that it is
        // cut and another replica sends it once its lease expires. What is
        // still queued waits in the outbox for the next replica or start.
        if let Some(dispatcher) = dispatcher {
            dispatcher.stop(DISPATCHER_STOP).await;
        }
        // Every watch has ended with the server.
        feed_task.stop().await;
        served?;
        // Give the lease back: writers on other replicas stop waiting for us.
        self.cache.stop().await;
        // Whatever it has not published stays in the log for another replica.
        if let Some(publisher) = publisher {
            publisher.stop().await;
        }
        Ok(())
    }
}

/// `access-service migrate`: applies the migrations (and seeds the
/// built-in roles) on the configured database.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let (db, _statements) = connect(config, config.db_max_connections).await?;
    storage::migrate(&db).await?;
    tracing::info!(database = %redact_url(&config.database_url), "migrations applied");
    Ok(())
}

/// The outbox dispatcher `config` describes, with templates of its own.
/// `requests_db` is the pool of the App's requests: on SQLite with a relay
/// configured the dispatcher writes through it, since SQLite has one writer,
/// and a write committed from another connection between a request
/// transaction's first read and its first write would fail that request
/// (SQLITE_BUSY_SNAPSHOT); the one connection serialises them. Otherwise
/// (MySQL, the log-only mode, which only reads, or no `requests_db`) it has
/// a pool of its own, so its polls are not counted among the requests'.
pub async fn email_dispatcher(
    config: &Config,
    requests_db: Option<&DatabaseConnection>,
) -> anyhow::Result<Dispatcher> {
    let renderer = Arc::new(settings::email_renderer(config)?);
    dispatcher(config, requests_db, renderer).await
}

async fn dispatcher(
    config: &Config,
    requests_db: Option<&DatabaseConnection>,
    renderer: Arc<EmailRenderer>,
) -> anyhow::Result<Dispatcher> {
    let relay = settings::relay(config);
    let shared = requests_db
        .filter(|db| relay.is_some() && db.get_database_backend() == DbBackend::Sqlite)
        .cloned();
    let db = match shared {
        Some(db) => db,
        None => {
            connect(config, 2)
                .await
                .context("cannot connect to the database for the outbox dispatcher")?
                .0
        }
    };
    Dispatcher::new(
        Arc::new(OutboxStore::new(db)),
        renderer,
        relay.as_ref(),
        settings::dispatch_settings(config),
    )
    .with_context(|| {
        format!(
            "bad ACCESS_SMTP_URL {}",
            redact_url(config.smtp_url.as_deref().unwrap_or_default())
        )
    })
}

/// A connection pool of at most `max_connections` on the configured
/// database, each statement traced as a client span.
async fn connect(
    config: &Config,
    max_connections: u32,
) -> anyhow::Result<(DatabaseConnection, StatementCounter)> {
    storage::connect(
        &config.database_url,
        max_connections,
        config.db_acquire_timeout(),
        statement_span,
    )
    .await
}

/// What storage tells of each statement, recorded as telemetry's client span.
fn statement_span(
    elapsed: std::time::Duration,
    failed: bool,
    describe: &dyn Fn() -> (String, Vec<opentelemetry::KeyValue>),
) {
    telemetry::finished_client_span(elapsed, failed, describe);
}

/// Every method the server serves, from the descriptor sets it registers for
/// reflection (the API, health and both reflection versions): the labels of
/// the request metrics.
/// Built once per process: the names are leaked for the labels to borrow.
fn routes() -> Routes {
    static ROUTES: OnceLock<Routes> = OnceLock::new();
    ROUTES
        .get_or_init(|| {
            Routes::from_descriptor_sets(&[
                FILE_DESCRIPTOR_SET,
                tonic_health::pb::FILE_DESCRIPTOR_SET,
                tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            ])
        })
        .clone()
}

/// Aborts a spawned task when dropped (the health-only server ends with the main one).
struct AbortOnDrop(tokio::task::JoinHandle<Result<(), tonic::transport::Error>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
