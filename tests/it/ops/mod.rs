//! Operations: how the process runs (listeners, TLS, API keys, limits on
//! time and load, health, metrics, traces, shutdown, migrations) and how it
//! meets the servers it leans on when they fail (Redis, MySQL, the SMTP
//! relay of the email dispatcher).

mod actor_tokens;
mod auth;
mod cache_faults;
mod coherence_faults;
mod email;
mod email_tokens;
mod grpc_web;
mod health;
mod metrics;
mod migrations;
mod monitoring;
mod nemesis;
mod process_faults;
mod redis_security;
mod shutdown;
pub mod telemetry;
mod timeouts_and_concurrency;
mod tls;
mod transport;
mod write_faults;
