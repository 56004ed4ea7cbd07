//! Access requests: a member asks for more, an admin decides, and the list.

use tonic::{Request, Status};

use super::GrpcHandlers;
use crate::domain::model::Written;
use crate::domain::service::{ListAccessRequests, RequestAccess};
use crate::grpc::convert::{self, AccessRequestDecision};
use crate::grpc::middleware::record_subject;
use crate::grpc::pb;

impl GrpcHandlers {
    pub(super) async fn request_access(
        &self,
        mut request: Request<pb::RequestAccessRequest>,
    ) -> Result<pb::RequestAccessResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let cmd = RequestAccess::try_from(request.into_inner())?;
        record_subject(Some(&cmd.account_id), Some(&cmd.user_id));
        let Written {
            value: access_request,
            token,
        } = use_cases.request_access(cmd).await?;
        Ok(pb::RequestAccessResponse {
            access_request: Some(access_request.into()),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn decide_access_request(
        &self,
        mut request: Request<pb::DecideAccessRequestRequest>,
    ) -> Result<pb::DecideAccessRequestResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let AccessRequestDecision {
            actor,
            access_request_id,
            approve,
            grant_end,
        } = AccessRequestDecision::try_from(request.into_inner())?;
        let Written {
            value: access_request,
            token,
        } = use_cases
            .decide_access_request(&actor, &access_request_id, approve, grant_end)
            .await?;
        Ok(pb::DecideAccessRequestResponse {
            access_request: Some(access_request.into()),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn list_access_requests(
        &self,
        mut request: Request<pb::ListAccessRequestsRequest>,
    ) -> Result<pb::ListAccessRequestsResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let query = ListAccessRequests::try_from(request.into_inner())?;
        record_subject(Some(&query.account_id), None);
        let page = use_cases.list_access_requests(query).await?;
        Ok(pb::ListAccessRequestsResponse {
            access_requests: page.rows.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        })
    }
}
