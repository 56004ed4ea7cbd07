//! The rules of the access domain. Nothing here knows about SeaORM, tonic or Redis.

pub mod decision;
pub mod error;
pub mod ids;
pub mod member_list;
pub mod model;
pub mod page;
pub mod permissions;
pub mod ports;
pub mod reach;
pub mod service;

pub use error::{DomainError, DomainResult, ErrorMetadata, FieldViolation};
pub use service::UseCases;
