//! The change stream's readers of the log (docs/change-stream.md), each a
//! background task on a pool of its own: the publisher copies committed
//! changes to a capped Redis Stream, which other services read with
//! consumer groups; the feed hands them to every WatchChanges stream of
//! the replica (`grpc::handlers::changes`).

mod feed;
mod publisher;

pub use feed::{ChangeFeed, FeedSettings, FeedTask};
pub use publisher::{ChangePublisher, PublisherSettings};
