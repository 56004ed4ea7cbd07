//! The change stream: WatchChanges, and the stream it answers with, which
//! reads the log from the database in batches, in commit order, and follows
//! new commits by polling, until the caller hangs up. Polling the source of truth, rather than listening to Redis, keeps
//! the stream exact when Redis is down and needs no second ordering to
//! reconcile with the database's.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Status};

use super::GrpcHandlers;
use crate::domain::UseCases;
use crate::domain::model::{ChangeScope, PlatformActor};
use crate::domain::service::Watch;
use crate::grpc::convert;
use crate::grpc::middleware::{KeyScope, caller_of, record_subject};
use crate::grpc::pb;

impl GrpcHandlers {
    pub(super) async fn watch_changes(
        &self,
        mut request: Request<pb::WatchChangesRequest>,
    ) -> Result<ChangeStream, Status> {
        let use_cases = self.acting(&mut request).await?;
        let caller = caller_of(&request)?;
        let platform = caller
            .scopes()
            .contains(KeyScope::Platform)
            .then(|| PlatformActor::new(caller.name()));
        let watch = convert::watch_request(request.get_ref(), platform)?;
        if let ChangeScope::Account(account) | ChangeScope::Team(account) = &watch.scope {
            record_subject(Some(account), None);
        }
        let watch = use_cases.watch_changes(watch).await?;
        Ok(follow(use_cases, watch, self.watch_poll))
    }
}

/// Most changes read from the database at once.
const BATCH: usize = 200;

/// The stream WatchChanges answers with.
pub type ChangeStream = ReceiverStream<Result<pb::WatchChangesResponse, Status>>;

/// Starts following `watch`, reading again every `poll` once caught up.
/// The task ends when the caller goes away or on the first error (sent as
/// the stream's status: a watcher who lost the right is PERMISSION_DENIED).
fn follow(use_cases: UseCases, mut watch: Watch, poll: Duration) -> ChangeStream {
    // A small buffer: a slow reader slows the reads, never grows the memory.
    let (tx, rx) = mpsc::channel(BATCH);
    tokio::spawn(async move {
        loop {
            let rows = match use_cases.next_changes(&mut watch, BATCH).await {
                Ok(rows) => rows,
                Err(err) => {
                    let _ = tx.send(Err(Status::from(err))).await;
                    return;
                }
            };
            let caught_up = rows.len() < BATCH;
            for row in rows {
                let event = pb::WatchChangesResponse {
                    event: Some(row.into()),
                };
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
            }
            if caught_up {
                tokio::select! {
                    () = tx.closed() => return,
                    () = tokio::time::sleep(poll) => {}
                }
            }
        }
    });
    ReceiverStream::new(rx)
}
