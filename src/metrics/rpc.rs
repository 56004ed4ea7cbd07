//! Requests by gRPC method and status code: a counter and a latency
//! histogram, named as grpc-ecosystem's go-grpc-prometheus names them, so
//! the usual dashboards and alerts work unchanged.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use prost::Message;
use tonic::Code;

/// `grpc_service`, `grpc_method`, `grpc_code`: every value comes from a
/// fixed set, so a client sending made-up paths cannot grow the series.
type RpcLabels = [(&'static str, &'static str); 3];

/// Latency buckets, in seconds: a warm Authorize answers in well under a
/// millisecond, a cold write in milliseconds, the time limit is 5 s.
const BUCKETS: [f64; 14] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// What the request-metrics layer records into.
#[derive(Clone, Debug)]
pub struct RpcMetrics {
    handled: Family<RpcLabels, Counter>,
    seconds: Family<RpcLabels, Histogram, fn() -> Histogram>,
    routes: Routes,
}

impl RpcMetrics {
    /// Registers the request metrics in `registry`, labelled by `routes`.
    pub(super) fn register(registry: &mut Registry, routes: Routes) -> Self {
        let metrics = Self {
            routes,
            handled: Family::default(),
            seconds: Family::new_with_constructor(histogram as fn() -> Histogram),
        };
        registry.register(
            "grpc_server_handled",
            "RPCs completed on the server, by method and gRPC status code",
            metrics.handled.clone(),
        );
        registry.register(
            "grpc_server_handling_seconds",
            "Time from a request's arrival to its status (the end of the response), by method and gRPC status code",
            metrics.seconds.clone(),
        );
        metrics
    }

    /// Counts one finished RPC to `route` that ended with `code` after `elapsed`.
    pub fn observe(&self, route: Route, code: Code, elapsed: Duration) {
        let labels = [
            ("grpc_service", route.service),
            ("grpc_method", route.method),
            ("grpc_code", code_name(code)),
        ];
        self.handled.get_or_create(&labels).inc();
        self.seconds.get_or_create(&labels).observe(elapsed.as_secs_f64());
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
}

impl Route {
    /// The service and the method, as the labels name them.
    pub fn names(&self) -> (&'static str, &'static str) {
        (self.service, self.method)
    }
}

/// Every method the server serves, by path, read from the encoded
/// descriptor sets it registers for reflection (app.rs builds it, once per
/// process, and hands it over).
#[derive(Clone, Debug, Default)]
pub struct Routes(Arc<HashMap<String, Route>>);

impl Routes {
    /// The methods of every service in `descriptor_sets`.
    pub fn from_descriptor_sets(descriptor_sets: &[&[u8]]) -> Self {
        let mut routes = HashMap::new();
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
                        let name: &'static str = String::leak(method.name().to_owned());
                        routes.insert(
                            format!("/{full}/{name}"),
                            Route {
                                service: full,
                                method: name,
                            },
                        );
                    }
                }
            }
        }
        Self(Arc::new(routes))
    }

    /// The route of `path`; `unknown/unknown` for a path not served.
    pub fn of(&self, path: &str) -> Route {
        self.0.get(path).copied().unwrap_or(Route {
            service: "unknown",
            method: "unknown",
        })
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
    }
}
