//! AccessService: decides who may do what in a multi-user email-marketing
//! account, and manages the accounts, members, invitations and shared
//! templates those decisions come from.

#![forbid(unsafe_code)]

pub mod actor_tokens;
pub mod app;
pub mod cache;
pub mod changes;
pub mod config;
pub mod domain;
pub mod email;
pub mod grpc;
pub mod metrics;
pub mod redis_client;
pub mod redis_keys;
pub mod reload;
pub mod shutdown;
pub mod storage;
pub mod telemetry;
pub mod tls;

pub use app::App;
pub use config::Config;
