//! Sharing: a parent account shares a template or a suppression list with
//! its children. The domain shares every type one way (`Shareable`), so do
//! these handlers: each RPC's request converts into the one command, naming
//! its type, and goes down one path (`share`, `unshare`, `list_shared`); only
//! the response's field names differ by type.

use tonic::{Request, Status};

use super::GrpcHandlers;
use super::acting::ActsFor;
use crate::domain::DomainError;
use crate::domain::model::{ConsistencyToken, SharedResource, Written};
use crate::domain::service::{ListSharedResources, Page, ShareResource, UnshareResource};
use crate::grpc::convert;
use crate::grpc::middleware::record_subject;
use crate::grpc::pb;

impl GrpcHandlers {
    pub(super) async fn share_template(
        &self,
        request: Request<pb::ShareTemplateRequest>,
    ) -> Result<pb::ShareTemplateResponse, Status> {
        let Written { value: shared, token } = self.share(request).await?;
        Ok(pb::ShareTemplateResponse {
            shared_template: Some(shared.into()),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn unshare_template(
        &self,
        request: Request<pb::UnshareTemplateRequest>,
    ) -> Result<pb::UnshareTemplateResponse, Status> {
        let token = self.unshare(request).await?;
        Ok(pb::UnshareTemplateResponse {
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn list_shared_templates(
        &self,
        request: Request<pb::ListSharedTemplatesRequest>,
    ) -> Result<pb::ListSharedTemplatesResponse, Status> {
        let page = self.list_shared(request).await?;
        Ok(pb::ListSharedTemplatesResponse {
            shared_templates: page.rows.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        })
    }

    pub(super) async fn share_suppression_list(
        &self,
        request: Request<pb::ShareSuppressionListRequest>,
    ) -> Result<pb::ShareSuppressionListResponse, Status> {
        let Written { value: shared, token } = self.share(request).await?;
        Ok(pb::ShareSuppressionListResponse {
            shared_suppression_list: Some(shared.into()),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn unshare_suppression_list(
        &self,
        request: Request<pb::UnshareSuppressionListRequest>,
    ) -> Result<pb::UnshareSuppressionListResponse, Status> {
        let token = self.unshare(request).await?;
        Ok(pb::UnshareSuppressionListResponse {
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn list_shared_suppression_lists(
        &self,
        request: Request<pb::ListSharedSuppressionListsRequest>,
    ) -> Result<pb::ListSharedSuppressionListsResponse, Status> {
        let page = self.list_shared(request).await?;
        Ok(pb::ListSharedSuppressionListsResponse {
            shared_suppression_lists: page.rows.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        })
    }

    /// Shares the resource of the type the request names.
    async fn share<R>(&self, mut request: Request<R>) -> Result<Written<SharedResource>, Status>
    where
        R: ActsFor,
        ShareResource: TryFrom<R, Error = DomainError>,
    {
        let use_cases = self.acting(&mut request).await?;
        let cmd = ShareResource::try_from(request.into_inner())?;
        record_subject(Some(&cmd.account_id), None);
        Ok(use_cases.share_resource(cmd).await?)
    }

    /// Stops sharing the resource of the type the request names; the write's token.
    async fn unshare<R>(&self, mut request: Request<R>) -> Result<ConsistencyToken, Status>
    where
        R: ActsFor,
        UnshareResource: TryFrom<R, Error = DomainError>,
    {
        let use_cases = self.acting(&mut request).await?;
        let cmd = UnshareResource::try_from(request.into_inner())?;
        record_subject(Some(&cmd.account_id), None);
        let Written { value: (), token } = use_cases.unshare_resource(cmd).await?;
        Ok(token)
    }

    /// A page of what the account shares of the type the request names.
    async fn list_shared<R>(&self, mut request: Request<R>) -> Result<Page<SharedResource>, Status>
    where
        R: ActsFor,
        ListSharedResources: TryFrom<R, Error = DomainError>,
    {
        let use_cases = self.acting(&mut request).await?;
        let query = ListSharedResources::try_from(request.into_inner())?;
        record_subject(Some(&query.account_id), None);
        Ok(use_cases.list_shared_resources(query).await?)
    }
}
