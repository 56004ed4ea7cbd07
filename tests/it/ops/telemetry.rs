//! Traces: an in-process OTLP collector (the collector's TraceService over
//! tonic) receives what the server exports, and the test checks the span
//! tree of one Authorize against the caller's `traceparent`, and a watch's
//! span against its stream.
//!
//! The tracer provider and the collector are process-wide (statement spans
//! use OpenTelemetry's global tracer, and the exporter's connection belongs
//! to the runtime it was built on): they live on a thread of their own for
//! the whole test binary. Only the traced App sends spans there (its own
//! subscriber, `App::with_trace_dispatch`), and each test looks only at the
//! trace ids it made up, so tests running beside it change nothing.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use access_service::grpc::pb;
use access_service::telemetry;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tokio::sync::Mutex;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::support::cluster::{RedisNamespace, until_trusted};
use crate::support::{Db, TestApp, check};

/// What the collector has received (also the https:// collector of `tls.rs`).
#[derive(Clone, Default)]
pub(crate) struct Received(Arc<Mutex<Vec<Span>>>);

impl Received {
    /// The names of the spans received so far.
    pub(crate) async fn names(&self) -> Vec<String> {
        self.0.lock().await.iter().map(|span| span.name.clone()).collect()
    }
}

#[tonic::async_trait]
impl TraceService for Received {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|resource| resource.scope_spans)
            .flat_map(|scope| scope.spans);
        self.0.lock().await.extend(spans);
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// The process-wide collector and the provider exporting to it.
struct Collector {
    received: Received,
    provider: SdkTracerProvider,
}

fn collector() -> &'static Collector {
    static COLLECTOR: OnceLock<Collector> = OnceLock::new();
    COLLECTOR.get_or_init(|| {
        let (ready, started) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("the collector's runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a port for the collector");
                let addr = listener.local_addr().expect("the collector's address");
                let received = Received::default();
                // What the binary builds from OTEL_EXPORTER_OTLP_ENDPOINT, aimed here.
                let exporter = opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(format!("http://{addr}"))
                    .build()
                    .expect("the OTLP exporter");
                let provider = telemetry::tracer_provider(exporter);
                opentelemetry::global::set_tracer_provider(provider.clone());
                ready
                    .send(Collector {
                        received: received.clone(),
                        provider,
                    })
                    .expect("the test waits for the collector");
                tonic::transport::Server::builder()
                    .add_service(TraceServiceServer::new(received))
                    .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                    .await
                    .expect("the collector serves");
            });
        });
        started.recv().expect("the collector started")
    })
}

/// A made-up caller's trace: its W3C `traceparent` and its ids.
struct CallerTrace {
    trace_id: String,
    span_id: String,
}

impl CallerTrace {
    fn new() -> Self {
        let span_id = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
        Self {
            trace_id: uuid::Uuid::new_v4().simple().to_string(),
            span_id,
        }
    }

    /// Sampled (flags 01): the caller records this trace.
    fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace_id, self.span_id)
    }

    fn with<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert(
            "traceparent",
            self.traceparent().parse().expect("a valid metadata value"),
        );
        request
    }
}

/// The spans of `trace_id` received so far, after flushing what the SDK holds.
async fn spans_of(trace_id: &str) -> Vec<Span> {
    let provider = collector().provider.clone();
    // Flushing blocks until the collector has answered: off the runtime's threads.
    tokio::task::spawn_blocking(move || provider.force_flush())
        .await
        .expect("the flush ran")
        .expect("the spans were exported");
    let received = collector().received.0.lock().await;
    received
        .iter()
        .filter(|span| hex::encode(&span.trace_id) == trace_id)
        .cloned()
        .collect()
}

/// Flushes until a span named `name` of `trace_id` has arrived: a span ends
/// when the server has finished with it, which may be just after the client
/// has its answer.
async fn wait_for(trace_id: &str, name: &str) -> Vec<Span> {
    for _ in 0..100 {
        let spans = spans_of(trace_id).await;
        if spans.iter().any(|span| span.name == name) {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no span {name} in trace {trace_id}: {:?} (of {} received in all)",
        names(&spans_of(trace_id).await),
        collector().received.0.lock().await.len()
    );
}

fn names(spans: &[Span]) -> Vec<&str> {
    spans.iter().map(|span| span.name.as_str()).collect()
}

/// The attribute `key` of `span`, as text.
fn attribute(span: &Span, key: &str) -> Option<String> {
    let value = span
        .attributes
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()?;
    // Only text and integers are asserted on; anything else shows as Debug.
    Some(if let Value::StringValue(text) = value {
        text.clone()
    } else if let Value::IntValue(number) = value {
        number.to_string()
    } else {
        format!("{value:?}")
    })
}

/// Whether `span` lies under `ancestor` in `spans`.
fn descends_from(span: &Span, ancestor: &Span, spans: &[Span]) -> bool {
    let mut parent = span.parent_span_id.clone();
    while !parent.is_empty() {
        if parent == ancestor.span_id {
            return true;
        }
        match spans.iter().find(|candidate| candidate.span_id == parent) {
            Some(next) => parent = next.parent_span_id.clone(),
            None => return false,
        }
    }
    false
}

async fn an_authorize_joins_the_callers_trace(kind: Db) {
    let redis = RedisNamespace::new();
    let app = TestApp::spawn_traced(
        kind,
        |config| redis.configure(config),
        Some(telemetry::trace_dispatch(&collector().provider)),
    )
    .await;
    app.account("acme", "olivia").await;
    // Redis is asked only once this replica holds a lease.
    until_trusted(&[&app]).await;

    // A health probe carrying a trace of its own: it must leave no span.
    let probe = CallerTrace::new();
    HealthClient::new(app.channel.clone())
        .check(probe.with(HealthCheckRequest {
            service: "access.v1.AccessService".into(),
        }))
        .await
        .expect("health answers");

    let caller = CallerTrace::new();
    let answer = app
        .client
        .clone()
        .authorize(caller.with(check("olivia", "acme", "campaigns.send", None)))
        .await
        .expect("authorize answers")
        .into_inner();
    assert!(answer.allowed, "{answer:?}");

    let spans = wait_for(&caller.trace_id, "access.v1.AccessService/Authorize").await;
    let rpc = spans
        .iter()
        .find(|span| span.name == "access.v1.AccessService/Authorize")
        .expect("the RPC's span");
    assert_eq!(
        hex::encode(&rpc.parent_span_id),
        caller.span_id,
        "the caller's span is the parent"
    );
    assert_eq!(rpc.kind, SpanKind::Server as i32);
    for (key, value) in [
        ("rpc.system", "grpc"),
        ("rpc.service", "access.v1.AccessService"),
        ("rpc.method", "Authorize"),
        ("rpc.grpc.status_code", "0"),
        ("account_id", "acme"),
        ("user_id", "olivia"),
    ] {
        assert_eq!(attribute(rpc, key).as_deref(), Some(value), "{key} of {rpc:?}");
    }

    // The statements and Redis round trips of the check, under the RPC.
    let system = match kind {
        Db::Sqlite => "sqlite",
        Db::Mysql => "mysql",
    };
    let statements: Vec<&Span> = spans
        .iter()
        .filter(|span| attribute(span, "db.system.name").as_deref() == Some(system))
        .collect();
    assert!(!statements.is_empty(), "no statement span: {:?}", names(&spans));
    for statement in &statements {
        assert!(
            descends_from(statement, rpc, &spans),
            "{statement:?} is not under the RPC"
        );
        assert_eq!(statement.kind, SpanKind::Client as i32);
        assert!(attribute(statement, "db.query.text").is_some(), "{statement:?}");
    }
    let redis_calls: Vec<&Span> = spans
        .iter()
        .filter(|span| attribute(span, "db.system.name").as_deref() == Some("redis"))
        .collect();
    assert!(
        redis_calls.iter().any(|span| span.name == "redis lookup"),
        "no Redis lookup span: {:?}",
        names(&spans)
    );
    for call in &redis_calls {
        assert!(descends_from(call, rpc, &spans), "{call:?} is not under the RPC");
    }

    // Everything of the check has been flushed by now, the probe long before.
    assert_eq!(
        names(&spans_of(&probe.trace_id).await),
        Vec::<&str>::new(),
        "the health check was traced"
    );
}

/// A failed check is marked with its gRPC code, and an RPC with no
/// `traceparent` starts a trace of its own.
async fn a_refused_rpc_records_its_code(kind: Db) {
    let app = TestApp::spawn_traced(
        kind,
        |_config| {},
        Some(telemetry::trace_dispatch(&collector().provider)),
    )
    .await;
    let caller = CallerTrace::new();
    let refused = app
        .client
        .clone()
        .authorize(caller.with(pb::AuthorizeRequest::default()))
        .await
        .expect_err("an empty check is refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    let spans = wait_for(&caller.trace_id, "access.v1.AccessService/Authorize").await;
    let rpc = &spans[spans
        .iter()
        .position(|span| span.name == "access.v1.AccessService/Authorize")
        .expect("the RPC's span")];
    assert_eq!(
        attribute(rpc, "rpc.grpc.status_code"),
        Some((refused.code() as i32).to_string()),
        "{rpc:?}"
    );
}

/// With OTEL_SEMCONV_STABILITY_OPT_IN=rpc/dup the request's span carries
/// the stable RPC conventions (rpc.system.name, the fully-qualified
/// rpc.method, the code's name in rpc.response.status_code) beside the
/// experimental ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stable_rpc_conventions_are_there_on_opt_in() {
    for (opt_in, stable, experimental) in [("rpc/dup", true, true), ("rpc", true, false), ("", false, true)] {
        let app = TestApp::spawn_traced(
            Db::Sqlite,
            |config| config.semconv_stability_opt_in = opt_in.to_owned(),
            Some(telemetry::trace_dispatch(&collector().provider)),
        )
        .await;
        let caller = CallerTrace::new();
        app.client
            .clone()
            .authorize(caller.with(pb::AuthorizeRequest::default()))
            .await
            .expect_err("an empty check is refused");
        let spans = wait_for(&caller.trace_id, "access.v1.AccessService/Authorize").await;
        let rpc = spans
            .iter()
            .find(|span| span.name == "access.v1.AccessService/Authorize")
            .expect("the RPC's span");
        let expect = |key: &str, value: &str, present: bool| {
            assert_eq!(
                attribute(rpc, key).as_deref(),
                present.then_some(value),
                "{key} with {opt_in:?}: {rpc:?}"
            );
        };
        expect("rpc.system.name", "grpc", stable);
        expect("rpc.response.status_code", "INVALID_ARGUMENT", stable);
        expect("rpc.system", "grpc", experimental);
        expect("rpc.service", "access.v1.AccessService", experimental);
        expect("rpc.grpc.status_code", "3", experimental);
        let method = if stable {
            "access.v1.AccessService/Authorize"
        } else {
            "Authorize"
        };
        expect("rpc.method", method, true);
        // A caller's mistake is not the server's fault.
        assert_eq!(attribute(rpc, "error.type"), None, "{rpc:?}");
    }
}

/// A stream's span lasts as long as the stream: WatchChanges' span is not
/// over while the watch follows the log, holds the statements the watch
/// sends after its first event (the watcher's right, checked again when a
/// change arrives), and ends with the status the stream ended with
/// (ABORTED, at the watch's maximum age: 1 s here).
async fn a_watch_is_traced_until_it_ends(kind: Db) {
    const WATCH: &str = "access.v1.AccessService/WatchChanges";
    let mut app = TestApp::spawn_traced(
        kind,
        |config| config.watch.watch_max_age_secs = 1,
        Some(telemetry::trace_dispatch(&collector().provider)),
    )
    .await;
    app.account("acme", "olivia").await;
    let caller = CallerTrace::new();
    let mut stream = app
        .client
        .clone()
        .watch_changes(caller.with(pb::WatchChangesRequest {
            actor_user_id: "olivia".into(),
            account_id: "acme".into(),
            ..Default::default()
        }))
        .await
        .expect("watch starts")
        .into_inner();
    stream.message().await.expect("the history").expect("an event");
    let following = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    assert!(
        !names(&spans_of(&caller.trace_id).await).contains(&WATCH),
        "the span ended while the watch went on"
    );
    app.member("olivia", "acme", "lee", "viewer", vec![]).await;
    let end = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => {}
                Ok(None) => panic!("the watch ended without a status"),
                Err(status) => return status,
            }
        }
    })
    .await
    .expect("the watch ends at its maximum age");
    assert_eq!(end.code(), tonic::Code::Aborted, "{end:?}");
    // Read once the server has stopped: SQLite's connection threads run
    // outside this App's own subscriber (`App::with_trace_dispatch`), which
    // keeps the spans they entered open until they stop. The status on the
    // span is the stream's last word, recorded when it ended.
    tokio::time::timeout(Duration::from_secs(60), app.shut_down())
        .await
        .expect("the server stops")
        .expect("the server task ends")
        .expect("the server stops cleanly");

    let spans = wait_for(&caller.trace_id, WATCH).await;
    let rpc = spans
        .iter()
        .find(|span| span.name == WATCH)
        .expect("the RPC's span");
    assert_eq!(
        attribute(rpc, "rpc.grpc.status_code"),
        Some((tonic::Code::Aborted as i32).to_string()),
        "{rpc:?}"
    );
    let later: Vec<&Span> = spans
        .iter()
        .filter(|span| attribute(span, "db.system.name").is_some())
        .filter(|span| u128::from(span.start_time_unix_nano) > following)
        .collect();
    assert!(
        !later.is_empty(),
        "no statement after the first event: {:?}",
        names(&spans)
    );
    for statement in later {
        assert!(
            descends_from(statement, rpc, &spans),
            "{statement:?} is not under the watch's span"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_is_traced_until_it_ends_on_sqlite() {
    a_watch_is_traced_until_it_ends(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_is_traced_until_it_ends_on_mysql() {
    a_watch_is_traced_until_it_ends(Db::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorize_joins_the_callers_trace_on_sqlite() {
    an_authorize_joins_the_callers_trace(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorize_joins_the_callers_trace_on_mysql() {
    an_authorize_joins_the_callers_trace(Db::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_rpc_records_its_code_on_sqlite() {
    a_refused_rpc_records_its_code(Db::Sqlite).await;
}
