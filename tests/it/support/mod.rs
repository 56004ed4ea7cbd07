//! The harness every test stands on: the real server on port 0 over a fresh
//! database ([`TestApp`]), the calls and requests tests send, the asserts
//! they read answers with, and the servers some tests own (replicas and
//! proxies, a Redis, an SMTP server, a PKI).

mod app;
mod asserts;
mod calls;
mod channel;
mod database;
mod lookups;
mod on_both_databases;
mod plans;
mod proxy;
mod requests;
mod tables;

pub mod cluster;
pub mod issuer;
pub mod locks;
pub mod logs;
pub mod mail_server;
pub mod pki;
pub mod process;
pub mod scrape;

pub use access_service::grpc::never_sent;
pub use app::*;
pub use asserts::*;
pub use calls::scoped_lead;
pub use channel::{Client, NAMING_A_PERSON};
pub use database::*;
pub use lookups::*;
pub use requests::*;
