//! The one integration-test binary: the real server on port 0, real SQLite
//! and MySQL databases (one fresh database per test), real Redis.

/// What an RPC answers, one module per area of the API, named as the
/// server's handlers, service and repository name it.
mod api;
/// Operations: how the process runs and meets the servers it leans on
/// (TLS, API keys, metrics, traces, shutdown, migrations, faults, email).
mod ops;
/// Guarantees that cut across areas: consistency, no escalation, the abuse
/// catalogue, what a refusal tells, what a call costs, the decision model.
mod properties;
/// The harness: TestApp, the calls and asserts tests use, the servers some
/// tests own.
mod support;
