//! The rules of the access domain. Nothing here knows about SeaORM, tonic or Redis.

pub mod error;
pub mod ids;
pub mod model;
pub mod page;
pub mod permissions;
pub mod ports;
pub mod rules;
pub mod service;

pub use error::{DomainError, DomainResult, ErrorMetadata, ErrorReason, FieldViolation};
pub use service::UseCases;
