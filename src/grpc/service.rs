//! The handlers. Each one does the same four steps: validate and convert the
//! request, call the domain, convert the answer back.

use chrono::Utc;
use tonic::{Request, Response, Status};

use crate::domain::AccessService;
use crate::domain::model::Check;
use crate::domain::service::{
    AcceptInvitation, CreateAccount, Invite, ListSharedTemplates, ListUsers, ShareTemplate, UnshareTemplate,
};
use crate::grpc::convert::{self, invitation_to_pb};
use crate::grpc::pb;
use crate::grpc::pb::access_service_server::AccessService as AccessServiceRpc;

/// Serves `access.v1.AccessService` on top of the domain use cases.
#[derive(Clone)]
pub struct AccessApi {
    service: AccessService,
}

impl AccessApi {
    /// Wraps the use cases.
    pub fn new(service: AccessService) -> Self {
        Self { service }
    }
}

#[tonic::async_trait]
impl AccessServiceRpc for AccessApi {
    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<Response<pb::CreateAccountResponse>, Status> {
        let cmd = CreateAccount::try_from(request.into_inner())?;
        let (account, created) = self.service.create_account(cmd).await?;
        Ok(Response::new(pb::CreateAccountResponse {
            account: Some(account.into()),
            created,
        }))
    }

    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::GetAccountResponse>, Status> {
        let id = convert::account_id(&request.into_inner().account_id)?;
        let account = self.service.get_account(&id).await?;
        Ok(Response::new(pb::GetAccountResponse {
            account: Some(account.into()),
        }))
    }

    async fn update_account_policy(
        &self,
        request: Request<pb::UpdateAccountPolicyRequest>,
    ) -> Result<Response<pb::UpdateAccountPolicyResponse>, Status> {
        let raw = request.into_inner();
        let (actor, account_id) = convert::actor_and_account(&raw.actor_user_id, &raw.account_id)?;
        let account = self
            .service
            .update_account_policy(&actor, &account_id, raw.require_two_factor)
            .await?;
        Ok(Response::new(pb::UpdateAccountPolicyResponse {
            account: Some(account.into()),
        }))
    }

    async fn authorize(
        &self,
        request: Request<pb::AuthorizeRequest>,
    ) -> Result<Response<pb::AuthorizeResponse>, Status> {
        let check = Check::try_from(request.into_inner())?;
        let decision = self.service.authorize(&check).await?;
        Ok(Response::new(decision.into()))
    }

    async fn batch_authorize(
        &self,
        request: Request<pb::BatchAuthorizeRequest>,
    ) -> Result<Response<pb::BatchAuthorizeResponse>, Status> {
        let checks = convert::checks(&request.into_inner(), self.service.settings().max_batch_checks)?;
        let decisions = self.service.batch_authorize(&checks).await?;
        Ok(Response::new(pb::BatchAuthorizeResponse {
            results: decisions.into_iter().map(Into::into).collect(),
        }))
    }

    async fn get_effective_permissions(
        &self,
        request: Request<pb::GetEffectivePermissionsRequest>,
    ) -> Result<Response<pb::GetEffectivePermissionsResponse>, Status> {
        let (user, account, mfa_verified) = convert::effective_query(&request.into_inner())?;
        let effective = self
            .service
            .effective_permissions(&user, &account, mfa_verified)
            .await?;
        Ok(Response::new(effective.into()))
    }

    async fn invite(
        &self,
        request: Request<pb::InviteRequest>,
    ) -> Result<Response<pb::InviteResponse>, Status> {
        let cmd = Invite::try_from(request.into_inner())?;
        let issued = self.service.invite(cmd).await?;
        Ok(Response::new(pb::InviteResponse {
            invitation: Some(invitation_to_pb(issued.invitation, Utc::now())),
            token: issued.token.unwrap_or_default(),
        }))
    }

    async fn accept_invitation(
        &self,
        request: Request<pb::AcceptInvitationRequest>,
    ) -> Result<Response<pb::AcceptInvitationResponse>, Status> {
        let cmd = AcceptInvitation::try_from(request.into_inner())?;
        let (invitation, member) = self.service.accept_invitation(cmd).await?;
        Ok(Response::new(pb::AcceptInvitationResponse {
            invitation: Some(invitation_to_pb(invitation, Utc::now())),
            member: Some(member.into()),
        }))
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let query = ListUsers::try_from(request.into_inner())?;
        let page = self.service.list_users(query).await?;
        Ok(Response::new(pb::ListUsersResponse {
            users: page.rows.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn share_template(
        &self,
        request: Request<pb::ShareTemplateRequest>,
    ) -> Result<Response<pb::ShareTemplateResponse>, Status> {
        let cmd = ShareTemplate::try_from(request.into_inner())?;
        let shared = self.service.share_template(cmd).await?;
        Ok(Response::new(pb::ShareTemplateResponse {
            shared_template: Some(shared.into()),
        }))
    }

    async fn unshare_template(
        &self,
        request: Request<pb::UnshareTemplateRequest>,
    ) -> Result<Response<pb::UnshareTemplateResponse>, Status> {
        let cmd = UnshareTemplate::try_from(request.into_inner())?;
        self.service.unshare_template(cmd).await?;
        Ok(Response::new(pb::UnshareTemplateResponse {}))
    }

    async fn list_shared_templates(
        &self,
        request: Request<pb::ListSharedTemplatesRequest>,
    ) -> Result<Response<pb::ListSharedTemplatesResponse>, Status> {
        let query = ListSharedTemplates::try_from(request.into_inner())?;
        let page = self.service.list_shared_templates(query).await?;
        Ok(Response::new(pb::ListSharedTemplatesResponse {
            shared_templates: page.rows.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }
}
