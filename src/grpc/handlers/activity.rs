//! Activity: the log read a page at a time (ListActivity) and followed as a
//! stream (WatchChanges; the stream itself is `grpc/watch.rs`).

use tonic::{Request, Status};

use super::GrpcHandlers;
use crate::domain::model::{ChangeScope, PlatformActor};
use crate::domain::service::ListActivity;
use crate::grpc::convert;
use crate::grpc::middleware::{Scope, caller_of, record_subject};
use crate::grpc::pb;
use crate::grpc::watch::{ChangeStream, follow};

impl GrpcHandlers {
    pub(super) async fn list_activity(
        &self,
        request: Request<pb::ListActivityRequest>,
    ) -> Result<pb::ListActivityResponse, Status> {
        let use_cases = self.acting(&request)?;
        let query = ListActivity::try_from(request.into_inner())?;
        record_subject(Some(&query.account_id), None);
        let page = use_cases.list_activity(query).await?;
        Ok(pb::ListActivityResponse {
            entries: page.rows.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        })
    }

    pub(super) async fn watch_changes(
        &self,
        request: Request<pb::WatchChangesRequest>,
    ) -> Result<ChangeStream, Status> {
        let use_cases = self.acting(&request)?;
        let caller = caller_of(&request)?;
        let platform = caller
            .scopes()
            .contains(Scope::Platform)
            .then(|| PlatformActor::new(caller.name()));
        let watch = convert::watch_request(request.get_ref(), platform)?;
        if let ChangeScope::Account(account) | ChangeScope::Team(account) = &watch.scope {
            record_subject(Some(account), None);
        }
        let watch = use_cases.watch_changes(watch).await?;
        Ok(follow(use_cases, watch, self.watch_poll))
    }
}
