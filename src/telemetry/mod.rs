//! Logs and traces. [`init`] installs the process-wide subscriber: log lines
//! (text or JSON, filtered by ACCESS_LOG) and, when the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set,
//! OpenTelemetry spans exported over OTLP/gRPC, sampled per request before
//! the request's span is made (`sampling`). It returns a guard that flushes
//! the exporter when dropped. With no exporter there is no OpenTelemetry
//! layer, and the request spans (at DEBUG) are made only for a log filter
//! that asks for them.
//!
//! The spans: one per RPC (`grpc::middleware::RpcSpanLayer`, joined to the
//! caller's W3C `traceparent`), the use cases' `#[instrument]` spans under it,
//! one client span per SQL statement ([`finished_client_span`], fed by the
//! statement counter in `storage::connect`) and one per Redis round trip.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer as _, TracerProvider as _};
use opentelemetry::{KeyValue, global};
use opentelemetry_otlp::WithTonicConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider, SpanExporter};
use tonic::transport::{Certificate, ClientTlsConfig, Identity};
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::config::LogFormat;

mod in_request;
mod pool_wait;
mod sampling;

pub use in_request::InRequest;
pub use pool_wait::pool_wait_layer;
pub use sampling::{Sampling, propagator, propagator_from_env};

/// The service name on exported spans when neither `OTEL_SERVICE_NAME` nor
/// `OTEL_RESOURCE_ATTRIBUTES` names one.
pub const SERVICE_NAME: &str = "access-service";

/// Keeps telemetry alive; dropping it flushes the spans still buffered.
#[must_use = "hold the guard until the process exits"]
pub struct TelemetryGuard {
    /// The exporting provider, when OTLP export is on.
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            // Blocks until the batch is sent (or the SDK's timeout): main runs
            // on a multi-thread runtime, so the exporter's connection, driven
            // by the worker threads, makes progress meanwhile.
            if let Err(err) = provider.shutdown() {
                tracing::warn!(error = %err, "flushing the last spans failed");
            }
        }
    }
}

/// Installs the global subscriber: logs in `format`, filtered by `filter`
/// (EnvFilter syntax; `RUST_LOG` wins when set), and OTLP trace export when
/// the standard OTEL_* variables ask for it, sampling requests by
/// `sample_ratio` (ACCESS_TRACE_SAMPLE_RATIO) or the standard sampler
/// variables. Must run inside a Tokio runtime (the exporter's connection is a
/// task of it). A second call (tests starting several apps) keeps the first
/// subscriber.
pub fn init(filter: &str, format: LogFormat, sample_ratio: Option<f64>) -> TelemetryGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let (exporting, export_error) = match otlp_from_env(sample_ratio) {
        Ok(exporting) => (exporting, None),
        Err(err) => (None, Some(err)),
    };
    // Colours only for a person at a terminal who has not asked for none
    // (NO_COLOR): a log file or collector gets plain text.
    let ansi = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let logs = log_layer(format, ansi, std::io::stdout).with_filter(filter);
    // Every layer has a filter of its own, so a call site none of them wants
    // is never asked about again (an unfiltered layer in the stack, even an
    // empty `Option`, would make every span of every crate, h2's per-poll
    // ones included, and hand it to the registry). With no exporter there is
    // no OpenTelemetry layer: JSON lines then carry no trace ids.
    let base = tracing_subscriber::registry().with(logs).with(pool_wait_layer());
    let installed = match &exporting {
        Some(otlp) => base
            .with(trace_layer(otlp.provider.tracer(SERVICE_NAME)))
            .try_init()
            .is_ok(),
        None => base.try_init().is_ok(),
    };
    if let Some(otlp) = exporting.as_ref().filter(|_| installed) {
        // The statement spans (see `finished_client_span`) use the global tracer.
        global::set_tracer_provider(otlp.provider.clone());
        let _ = REQUESTS.set(RequestTracing {
            sampling: otlp.sampling,
            propagator: Arc::clone(&otlp.propagator),
        });
        tracing::info!(
            parent_based = otlp.sampling.parent_based,
            ratio = otlp.sampling.ratio,
            "exporting traces over OTLP (TLS when the endpoint is https://)"
        );
    }
    if let Some(err) = export_error {
        tracing::error!(error = %err, "OTLP trace export is configured but cannot start; serving without it");
    }
    TelemetryGuard {
        provider: exporting.filter(|_| installed).map(|otlp| otlp.provider),
    }
}

/// How the requests of this process are traced, once [`init`] has started
/// OTLP export: which are sampled and how a caller's context is read.
#[derive(Clone)]
pub struct RequestTracing {
    /// Which requests get a span.
    pub sampling: Sampling,
    /// Reads the caller's trace context (OTEL_PROPAGATORS).
    pub propagator: Arc<TextMapCompositePropagator>,
}

static REQUESTS: OnceLock<RequestTracing> = OnceLock::new();

/// The process's request tracing; `None` when nothing exports spans (then a
/// request makes no span unless a log filter asks for its spans).
pub fn request_tracing() -> Option<RequestTracing> {
    REQUESTS.get().cloned()
}

/// What [`init`] exports with.
struct Otlp {
    provider: SdkTracerProvider,
    sampling: Sampling,
    propagator: Arc<TextMapCompositePropagator>,
}

/// The exporter, sampling and propagators the OTEL_* variables ask for.
fn otlp_from_env(sample_ratio: Option<f64>) -> anyhow::Result<Option<Otlp>> {
    let sampling = Sampling::from_env(sample_ratio)?;
    let propagator = Arc::new(propagator_from_env()?);
    Ok(otlp_provider_from_env()?.map(|provider| Otlp {
        provider,
        sampling,
        propagator,
    }))
}

/// The OTLP/gRPC exporting provider when `OTEL_EXPORTER_OTLP_ENDPOINT` or
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and `OTEL_SDK_DISABLED` is not
/// `true`); `None` otherwise. The SDK reads the rest itself: the endpoint,
/// `OTEL_EXPORTER_OTLP_TIMEOUT`/`_HEADERS`, `OTEL_TRACES_SAMPLER`(`_ARG`),
/// `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_*`.
pub fn otlp_provider_from_env() -> anyhow::Result<Option<SdkTracerProvider>> {
    let set = |name: &str| std::env::var(name).is_ok_and(|value| !value.trim().is_empty());
    let disabled =
        std::env::var("OTEL_SDK_DISABLED").is_ok_and(|value| value.trim().eq_ignore_ascii_case("true"));
    if disabled || !(set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
        return Ok(None);
    }
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .ok()
        .filter(|value| !value.trim().is_empty())
        .or_else(|| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok())
        .unwrap_or_default();
    let mut exporter = opentelemetry_otlp::SpanExporter::builder().with_tonic();
    // The SDK would give an https:// endpoint a TLS configuration trusting no
    // root at all: ours trusts the configured CA, or the public web roots.
    if endpoint.trim().to_ascii_lowercase().starts_with("https://") {
        exporter = exporter.with_tls_config(otlp_tls_config(&OtlpTlsFiles::from_env())?);
    }
    Ok(Some(tracer_provider(exporter.build()?)))
}

/// The PEM files of an https:// OTLP endpoint, by the standard variables
/// (the `_TRACES_` one wins): `OTEL_EXPORTER_OTLP_CERTIFICATE` (the CA to
/// trust), `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and `..._CLIENT_KEY` (for
/// a collector that asks for client certificates).
#[derive(Clone, Debug, Default)]
pub struct OtlpTlsFiles {
    /// The CA certificate(s) to trust; none: the public web roots (Mozilla's, compiled in).
    pub ca: Option<PathBuf>,
    /// This service's client certificate chain.
    pub client_cert: Option<PathBuf>,
    /// Its private key.
    pub client_key: Option<PathBuf>,
}

impl OtlpTlsFiles {
    /// Reads the standard variables.
    pub fn from_env() -> Self {
        let var = |name: &str| {
            [
                format!("OTEL_EXPORTER_OTLP_TRACES_{name}"),
                format!("OTEL_EXPORTER_OTLP_{name}"),
            ]
            .into_iter()
            .find_map(|key| std::env::var_os(key).filter(|value| !value.is_empty()))
            .map(PathBuf::from)
        };
        Self {
            ca: var("CERTIFICATE"),
            client_cert: var("CLIENT_CERTIFICATE"),
            client_key: var("CLIENT_KEY"),
        }
    }
}

/// The exporter's TLS configuration from `files` (rustls with ring; the
/// server name checked is the endpoint's host).
pub fn otlp_tls_config(files: &OtlpTlsFiles) -> anyhow::Result<ClientTlsConfig> {
    let read = |path: &Path, what: &str| {
        std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))
    };
    let config = match &files.ca {
        Some(ca) => ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read(ca, "OTEL_EXPORTER_OTLP_CERTIFICATE")?)),
        None => ClientTlsConfig::new().with_webpki_roots(),
    };
    match (&files.client_cert, &files.client_key) {
        (Some(cert), Some(key)) => Ok(config.identity(Identity::from_pem(
            read(cert, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE")?,
            read(key, "OTEL_EXPORTER_OTLP_CLIENT_KEY")?,
        ))),
        (None, None) => Ok(config),
        (Some(_), None) | (None, Some(_)) => anyhow::bail!(
            "set both OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY, or neither"
        ),
    }
}

/// A provider sending spans through `exporter` in batches (from a thread of
/// the SDK's own), with this service's resource. Tests pass an exporter
/// aimed at their in-process collector.
pub fn tracer_provider(exporter: impl SpanExporter + 'static) -> SdkTracerProvider {
    let named = std::env::var_os("OTEL_SERVICE_NAME").is_some()
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|attrs| attrs.contains("service.name="));
    let resource = if named {
        Resource::builder().build()
    } else {
        Resource::builder().with_service_name(SERVICE_NAME).build()
    };
    SdkTracerProvider::builder()
        // Sampling is decided per request, before its span is made (see
        // `Sampling`): whatever reaches the SDK is to be kept.
        .with_sampler(Sampler::AlwaysOn)
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build()
}

/// The layer turning this crate's spans into OpenTelemetry spans of `tracer`.
/// Its own filter ([`InRequest`]): traces do not depend on the log level,
/// the libraries' internal spans (SeaORM's, h2's) stay out, and every trace
/// starts at a request's span, so a request not sampled makes none.
pub fn trace_layer<S>(tracer: SdkTracer) -> impl Layer<S> + Send + Sync
where
    S: Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(InRequest::new())
}

/// The log-line layer writing to `writer`: text (ANSI colours only when
/// `ansi`, i.e. on a terminal) or JSON lines with the event's message and
/// fields at the top level, the current span's fields under `span`, and the
/// OpenTelemetry `trace_id` and `span_id` of a traced request's span, as log
/// pipelines (Loki, Datadog, GCP, ECS) look for them.
pub fn log_layer<S, W>(format: LogFormat, ansi: bool, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(writer)
            .boxed(),
        LogFormat::Json => {
            // The ids are read through the subscriber the layer is part of
            // (the current one cannot be asked while it handles the event),
            // of the current span whatever the log filter (a request's span
            // is at DEBUG, so a warning inside it at `info` still has them).
            let capture = DispatchCapture::default();
            let ids = Arc::clone(&capture.0);
            let span_ids = Arc::clone(&capture.0);
            let mut layer = json_subscriber::JsonLayer::new(writer);
            layer
                .with_timer("timestamp", tracing_subscriber::fmt::time::SystemTime)
                .with_level("level")
                .with_target("target")
                .with_flattened_event()
                .with_current_span("span");
            layer.add_dynamic_field("trace_id", move |_event, context| {
                otel_ids(&ids, context.current_span().id()?.clone()).map(|(trace, _)| trace)
            });
            layer.add_dynamic_field("span_id", move |_event, context| {
                otel_ids(&span_ids, context.current_span().id()?.clone()).map(|(_, span)| span)
            });
            layer.and_then(capture).boxed()
        }
    }
}

/// The subscriber a layer was registered with.
type Registered = Arc<OnceLock<tracing::dispatcher::WeakDispatch>>;

/// A layer that only keeps (weakly) the subscriber it is part of.
#[derive(Default)]
struct DispatchCapture(Registered);

impl<S: Subscriber> Layer<S> for DispatchCapture {
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.0.set(subscriber.downgrade());
    }
}

/// The OpenTelemetry trace and span ids (hex) of the span `id`, when it has them.
fn otel_ids(registered: &Registered, id: tracing::span::Id) -> Option<(String, String)> {
    let dispatch = registered.get()?.upgrade()?;
    let context = tracing_opentelemetry::get_otel_context(&id, &dispatch)?;
    let span = context.span();
    let ids = span.span_context();
    ids.is_valid()
        .then(|| (ids.trace_id().to_string(), ids.span_id().to_string()))
}

/// Records an already finished client call as a child of the current span:
/// SeaORM reports a statement only once it is done, with its duration, so
/// the span is started back-dated. Does nothing unless the current span is
/// sampled, so it costs one lookup when tracing is off. `describe` gives the
/// span's name and attributes.
pub fn finished_client_span(
    elapsed: Duration,
    failed: bool,
    describe: impl FnOnce() -> (String, Vec<KeyValue>),
) {
    let parent = tracing::Span::current().context();
    if !parent.span().span_context().is_sampled() {
        return;
    }
    let end = SystemTime::now();
    let start = end.checked_sub(elapsed).unwrap_or(end);
    let (name, attributes) = describe();
    let tracer = global::tracer_provider().tracer(SERVICE_NAME);
    let mut span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Client)
        .with_start_time(start)
        .with_attributes(attributes)
        .start_with_context(&tracer, &parent);
    if failed {
        span.set_status(Status::error("the statement failed"));
    }
    span.end_with_timestamp(end);
}

/// A subscriber for one App's requests only (see `App::with_trace_dispatch`):
/// this crate's spans exported through `provider`, and the pool's waits, no
/// log lines.
pub fn trace_dispatch(provider: &SdkTracerProvider) -> tracing::Dispatch {
    // tracing caches whether each callsite is wanted, process-wide. While a
    // single dispatcher is registered it asks only the *current thread's*
    // default, so a span first reached by another App (no subscriber) would
    // be cached as never wanted, for this dispatcher too: the RPC span went
    // missing when other tests ran beside the traced one. A second, silent
    // dispatcher, kept for the life of the process, makes tracing ask every
    // registered dispatcher instead.
    static SILENT: OnceLock<tracing::Dispatch> = OnceLock::new();
    SILENT.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
    tracing::Dispatch::new(
        Registry::default()
            .with(trace_layer(provider.tracer(SERVICE_NAME)))
            .with(pool_wait_layer()),
    )
}

#[cfg(test)]
mod tests;
