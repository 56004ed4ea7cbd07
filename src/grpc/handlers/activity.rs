//! Activity: the log read a page at a time (ListActivity). The same log
//! followed as a stream is WatchChanges, in `changes.rs`.

use tonic::{Request, Status};

use super::GrpcHandlers;
use crate::domain::service::ListActivity;
use crate::grpc::middleware::record_subject;
use crate::grpc::pb;

impl GrpcHandlers {
    pub(super) async fn list_activity(
        &self,
        mut request: Request<pb::ListActivityRequest>,
    ) -> Result<pb::ListActivityResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let query = ListActivity::try_from(request.into_inner())?;
        record_subject(Some(&query.account_id), None);
        let page = use_cases.list_activity(query).await?;
        Ok(pb::ListActivityResponse {
            entries: page.rows.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        })
    }
}
