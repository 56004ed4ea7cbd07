//! Requests by gRPC method: started and handled counters and a latency
//! histogram, with go-grpc-prometheus's names, labels and buckets' meaning
//! (`grpc_type`, `grpc_service`, `grpc_method`, and `grpc_code` on the
//! handled counter only), so its dashboards and alerts apply unchanged.
//!
//! Every series a call touches is resolved once: the started counter and
//! the histogram of every served method when the metrics are registered
//! (so a method never called shows 0, as go-grpc-prometheus's
//! `InitializeMetrics` does), the handled counter of a (method, code) pair
//! the first time it ends that way. A call then costs a map lookup of its
//! path and atomic increments, no label hashing.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use prost::Message;
use tonic::Code;

/// `grpc_type`, `grpc_service`, `grpc_method`: every value comes from a
/// fixed set, so a client sending made-up paths cannot grow the series.
type MethodLabels = [(&'static str, &'static str); 3];
/// The same and `grpc_code`.
type HandledLabels = [(&'static str, &'static str); 4];

/// Latency buckets, in seconds: a warm Authorize answers in well under a
/// millisecond, a cold write in milliseconds, the time limit is 5 s.
const BUCKETS: [f64; 14] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// gRPC's status codes, 0 to 16.
const CODES: usize = 17;

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// What the request-metrics layer records into.
#[derive(Clone, Debug)]
pub struct RpcMetrics {
    routes: Routes,
    series: Arc<[MethodSeries]>,
}

/// One method's series, resolved.
#[derive(Debug)]
struct MethodSeries {
    started: Counter,
    seconds: Histogram,
    labels: MethodLabels,
    handled_family: Family<HandledLabels, Counter>,
    handled: [OnceLock<Counter>; CODES],
}

impl MethodSeries {
    fn handled(&self, code: Code) -> &Counter {
        let index = usize::try_from(i32::from(code)).unwrap_or(CODES).min(CODES - 1);
        self.handled[index].get_or_init(|| {
            let [kind, service, method] = self.labels;
            self.handled_family
                .get_or_create(&[kind, service, method, ("grpc_code", code_name(code))])
                .clone()
        })
    }
}

impl RpcMetrics {
    /// Registers the request metrics in `registry`, labelled by `routes`.
    pub(super) fn register(registry: &mut Registry, routes: Routes) -> Self {
        let started = Family::<MethodLabels, Counter>::default();
        let handled = Family::<HandledLabels, Counter>::default();
        let seconds = Family::<MethodLabels, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        registry.register(
            "grpc_server_started",
            "RPCs started on the server, by method",
            started.clone(),
        );
        registry.register(
            "grpc_server_handled",
            "RPCs completed on the server, by method and gRPC status code",
            handled.clone(),
        );
        registry.register(
            "grpc_server_handling_seconds",
            "Time from a request's arrival to its status (the end of the response), by method",
            seconds.clone(),
        );
        let series = routes
            .all()
            .map(|route| {
                let labels = route.labels();
                MethodSeries {
                    started: started.get_or_create(&labels).clone(),
                    seconds: seconds.get_or_create(&labels).clone(),
                    labels,
                    handled_family: handled.clone(),
                    handled: std::array::from_fn(|_| OnceLock::new()),
                }
            })
            .collect();
        Self { routes, series }
    }

    /// Counts one RPC to `route` arriving.
    pub fn start(&self, route: Route) {
        self.series[route.index].started.inc();
    }

    /// Counts one finished RPC to `route` that ended with `code` after `elapsed`.
    pub fn observe(&self, route: Route, code: Code, elapsed: Duration) {
        let series = &self.series[route.index];
        series.handled(code).inc();
        series.seconds.observe(elapsed.as_secs_f64());
    }

    /// The route of a request to `path` (`/package.Service/Method`); paths
    /// the server does not serve all share the route `unknown/unknown`.
    pub fn route(&self, path: &str) -> Route {
        self.routes.of(path)
    }
}

/// The service and method of a request, when the server knows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    service: &'static str,
    method: &'static str,
    /// go-grpc-prometheus's `grpc_type`: `unary`, `server_stream`,
    /// `client_stream` or `bidi_stream`.
    kind: &'static str,
    /// Where its series are in [`RpcMetrics`].
    index: usize,
}

impl Route {
    /// The service and the method, as the labels name them.
    pub fn names(&self) -> (&'static str, &'static str) {
        (self.service, self.method)
    }

    fn labels(&self) -> MethodLabels {
        [
            ("grpc_type", self.kind),
            ("grpc_service", self.service),
            ("grpc_method", self.method),
        ]
    }
}

/// The route paths the server does not serve share: always the first.
const UNKNOWN: Route = Route {
    service: "unknown",
    method: "unknown",
    kind: "unary",
    index: 0,
};

/// Every method the server serves, by path, read from the encoded
/// descriptor sets it registers for reflection (app.rs builds it, once per
/// process, and hands it over).
#[derive(Clone, Debug)]
pub struct Routes {
    by_path: Arc<HashMap<String, Route>>,
    /// Every route, [`UNKNOWN`] first, each at its index.
    all: Arc<[Route]>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::from_descriptor_sets(&[])
    }
}

impl Routes {
    /// The methods of every service in `descriptor_sets`.
    pub fn from_descriptor_sets(descriptor_sets: &[&[u8]]) -> Self {
        let mut by_path = HashMap::new();
        let mut all = vec![UNKNOWN];
        for encoded in descriptor_sets {
            // Compiled-in descriptors: one that does not decode only costs
            // its methods their names in the metrics.
            let Ok(set) = prost_types::FileDescriptorSet::decode(*encoded) else {
                continue;
            };
            for file in set.file {
                for service in &file.service {
                    // Leaked, a few dozen short names that label values
                    // borrow for the life of the process: build this once.
                    let full: &'static str = String::leak(format!("{}.{}", file.package(), service.name()));
                    for method in &service.method {
                        let path = format!("/{full}/{}", method.name());
                        if by_path.contains_key(&path) {
                            continue;
                        }
                        let route = Route {
                            service: full,
                            method: String::leak(method.name().to_owned()),
                            kind: match (method.client_streaming(), method.server_streaming()) {
                                (false, false) => "unary",
                                (false, true) => "server_stream",
                                (true, false) => "client_stream",
                                (true, true) => "bidi_stream",
                            },
                            index: all.len(),
                        };
                        all.push(route);
                        by_path.insert(path, route);
                    }
                }
            }
        }
        Self {
            by_path: Arc::new(by_path),
            all: all.into(),
        }
    }

    /// The route of `path`; `unknown/unknown` for a path not served.
    pub fn of(&self, path: &str) -> Route {
        self.by_path.get(path).copied().unwrap_or(UNKNOWN)
    }

    fn all(&self) -> impl Iterator<Item = Route> + '_ {
        self.all.iter().copied()
    }
}

/// The canonical name of a status code, as the gRPC specification spells it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_methods_are_known_and_made_up_paths_share_one_route() {
        let routes = Routes::from_descriptor_sets(&[tonic_health::pb::FILE_DESCRIPTOR_SET]);
        let check = routes.of("/grpc.health.v1.Health/Check");
        assert_eq!((check.service, check.method), ("grpc.health.v1.Health", "Check"));
        assert_eq!(routes.of("/made.Up/Path"), routes.of("/another/one"));
        assert_eq!(routes.of("/made.Up/Path").method, "unknown");
        assert_eq!(check.kind, "unary");
        assert_eq!(routes.of("/grpc.health.v1.Health/Watch").kind, "server_stream");
    }

    #[test]
    fn each_code_has_its_own_handled_series() {
        let mut registry = Registry::default();
        let routes = Routes::from_descriptor_sets(&[tonic_health::pb::FILE_DESCRIPTOR_SET]);
        let metrics = RpcMetrics::register(&mut registry, routes);
        let check = metrics.route("/grpc.health.v1.Health/Check");
        let series = &metrics.series[check.index];
        for code in [Code::Ok, Code::Unauthenticated, Code::Ok] {
            metrics.observe(check, code, Duration::ZERO);
        }
        assert_eq!(series.handled(Code::Ok).get(), 2);
        assert_eq!(series.handled(Code::Unauthenticated).get(), 1);
        assert_eq!(series.handled(Code::Cancelled).get(), 0);
        assert_eq!(
            metrics.series[0].handled(Code::Ok).get(),
            0,
            "the unknown route is apart"
        );
    }
}
