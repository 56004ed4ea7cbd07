//! The one start-up path, shared by `main`, the tests and the benchmark:
//! `App::build(config)` wires everything and binds; `run_until_stopped` serves.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::Status;
use tonic::transport::Server;
use tower::{BoxError, ServiceBuilder};

use crate::config::{Config, redact_url};
use crate::domain::AccessService;
use crate::domain::service::DomainSettings;
use crate::grpc::AccessApi;
use crate::grpc::pb::FILE_DESCRIPTOR_SET;
use crate::grpc::pb::access_service_server::AccessServiceServer;
use crate::storage::{self, SeaStore};

/// A built, bound, not yet serving instance of the service.
pub struct App {
    config: Config,
    listener: TcpListener,
    service: AccessService,
}

impl App {
    /// Connects to the database (migrating when configured), builds the use
    /// cases and binds the listen address. Port 0 picks a free port.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        let db = storage::connect(
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
        let service = AccessService::new(
            Arc::new(SeaStore::new(db)),
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
            listener,
            service,
        })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let addr = self.local_addr()?;
        let (health_reporter, health_service) = tonic_health::server::health_reporter();
        health_reporter
            .set_serving::<AccessServiceServer<AccessApi>>()
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
        let layers = ServiceBuilder::new()
            // Outermost: turn middleware errors into gRPC statuses, since tonic
            // only answers errors that already are a Status (others reset the stream).
            .map_err(middleware_error_to_status)
            // Refuse at once when the limit below is full, instead of queueing
            // callers until they time out.
            .load_shed()
            // One process-wide cap on requests in flight (the layer is cloned
            // per connection and the clones share the semaphore).
            .concurrency_limit(self.config.max_concurrent_requests)
            // Innermost: bound each request's time, answered DEADLINE_EXCEEDED.
            .timeout(self.config.request_timeout())
            .into_inner();
        tracing::info!(%addr, "serving access.v1.AccessService (gRPC, health, reflection)");
        Server::builder()
            .layer(layers)
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(AccessServiceServer::new(AccessApi::new(self.service)))
            .serve_with_incoming_shutdown(TcpListenerStream::new(self.listener), shutdown)
            .await?;
        Ok(())
    }
}

/// The one place middleware errors become gRPC codes.
fn middleware_error_to_status(err: BoxError) -> BoxError {
    if err.is::<tower::timeout::error::Elapsed>() {
        Box::new(Status::deadline_exceeded(
            "the request took longer than the server's time limit",
        ))
    } else if err.is::<tower::load_shed::error::Overloaded>() {
        Box::new(Status::unavailable(
            "the server is at its concurrent-request limit; retry shortly",
        ))
    } else {
        err
    }
}
