//! The change stream's Redis side (docs/change-stream.md): a background task that
//! copies committed changes from the activity log to a capped Redis Stream,
//! which other services read with consumer groups. WatchChanges reads the
//! same log straight from the database (`grpc::handlers::changes`).

mod publisher;

pub use publisher::{ChangePublisher, PublisherSettings};
