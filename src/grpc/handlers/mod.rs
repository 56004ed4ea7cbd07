//! The gRPC handlers of `access.v1.AccessService` (the proto service), one
//! per RPC. They hold no rules: each does the same four steps, validate and
//! convert the request, call the domain use case (`domain::UseCases`),
//! convert the answer back. A write's use case returns a `Written`: its
//! token goes out as the response's `consistency_token` (rule 11).
//!
//! This file holds the struct and tonic's trait; each RPC's handler is an
//! inherent method of the same name in the file of its area, grouped as the
//! proto's service is (and as `grpc/convert/`). The area method answers the
//! message and the trait method wraps it in a `Response`: the two return
//! types differ, so a delegation whose area method went missing fails to
//! compile instead of calling itself.

use std::borrow::Cow;
use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::domain::UseCases;
use crate::domain::model::MAX_SCOPE_IDS;
use crate::email::EmailRenderer;
use crate::grpc::convert;
use crate::grpc::middleware::{Caller, caller_of};
use crate::grpc::pb;
use crate::grpc::pb::access_service_server::AccessService as AccessServiceRpc;
use crate::metrics::DecisionMetrics;
pub use acting::{ACTOR_TOKEN_HEADER, Acting, ActorTrust, ActsFor};
use changes::ChangeStream;
pub use changes::{WatchSettings, Watches};

mod access_requests;
mod accounts;
mod acting;
mod activity;
mod changes;
mod decisions;
mod invitations;
mod lookups;
mod members;
mod roles;
mod sharing;

/// The use cases before a request's caller is known, behind a private field:
/// a handler can reach them only through [`GrpcHandlers::serving`], which
/// limits them to the tenants of the request's caller, so no RPC can forget to.
mod unbound {
    use std::borrow::Cow;

    use crate::domain::UseCases;
    use crate::domain::model::Tenants;
    use crate::domain::service::DomainSettings;

    /// The use cases serving every tenant, until a caller's are known.
    #[derive(Clone)]
    pub(super) struct EveryTenant(UseCases);

    impl EveryTenant {
        pub(super) fn new(use_cases: UseCases) -> Self {
            Self(use_cases)
        }

        /// The use cases for a caller serving `tenants`: these very ones for
        /// a caller serving every tenant (a check copies nothing).
        pub(super) fn serving(&self, tenants: &Tenants) -> Cow<'_, UseCases> {
            if tenants.is_every() {
                Cow::Borrowed(&self.0)
            } else {
                Cow::Owned(self.0.for_tenants(tenants.clone()))
            }
        }

        /// The domain's settings (batch bounds, for validation before any call).
        pub(super) fn settings(&self) -> &DomainSettings {
            self.0.settings()
        }
    }
}

/// The handlers: serve the proto's `access.v1.AccessService` by calling the
/// domain's [`UseCases`].
#[derive(Clone)]
pub struct GrpcHandlers {
    /// The domain's use cases (`domain::UseCases`), which hold the rules;
    /// reached through [`GrpcHandlers::serving`] only.
    use_cases: unbound::EveryTenant,
    /// The email templates, for PreviewInvitationEmail (the dispatcher
    /// renders what it sends with the same ones).
    renderer: Arc<EmailRenderer>,
    /// What every WatchChanges shares: the replica's feed, the caps, the bounds.
    watches: Watches,
    /// How the acting person is known: actor tokens, or the caller's word.
    actors: ActorTrust,
    /// Most scope ids one membership, or one account of an invitation,
    /// lists over every type (ACCESS_MAX_SCOPE_IDS).
    max_scope_ids: usize,
    /// Where Authorize and BatchAuthorize count their answers by reason.
    decisions: DecisionMetrics,
}

impl GrpcHandlers {
    /// Wraps the use cases, the email templates and what the watches share.
    pub fn new(use_cases: UseCases, renderer: Arc<EmailRenderer>, watches: Watches) -> Self {
        Self {
            use_cases: unbound::EveryTenant::new(use_cases),
            renderer,
            watches,
            actors: ActorTrust::default(),
            max_scope_ids: MAX_SCOPE_IDS,
            decisions: DecisionMetrics::unregistered(),
        }
    }

    /// Counts Authorize's answers into `decisions` (the server's metrics).
    pub fn with_decisions(mut self, decisions: DecisionMetrics) -> Self {
        self.decisions = decisions;
        self
    }

    /// Sets the most scope ids one membership, or one account of an
    /// invitation, may list over every type.
    pub fn with_max_scope_ids(mut self, max: usize) -> Self {
        self.max_scope_ids = max;
        self
    }

    /// Sets how this server knows who is acting (rule 15).
    pub fn with_actors(mut self, actors: ActorTrust) -> Self {
        self.actors = actors;
        self
    }

    /// The use cases serving the request's caller, limited to its tenants
    /// ([`serving`](Self::serving)), that record it on every activity entry
    /// they write beside the actor. Every RPC that writes starts here
    /// (through [`Self::acting`] when it acts for a person).
    fn calling<T>(&self, request: &Request<T>) -> Result<UseCases, Status> {
        Ok(self.serving(request)?.via(convert::via(&caller_of(request)?)))
    }

    /// The use cases for the request's caller: limited to the tenants its
    /// API key or certificate identity serves (the domain refuses every
    /// account outside them, `domain/service/tenants.rs`). Every handler
    /// starts here, or at [`calling`](Self::calling) or [`acting`](Self::acting), which do.
    fn serving<T>(&self, request: &Request<T>) -> Result<Cow<'_, UseCases>, Status> {
        let caller = request
            .extensions()
            .get::<Caller>()
            .ok_or_else(|| Status::from(crate::grpc::middleware::AuthRefusal::NoCaller))?;
        Ok(self.use_cases.serving(caller.tenants()))
    }
}

#[tonic::async_trait]
impl AccessServiceRpc for GrpcHandlers {
    // In accounts.rs.
    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<Response<pb::CreateAccountResponse>, Status> {
        self.create_account(request).await.map(Response::new)
    }

    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::GetAccountResponse>, Status> {
        self.get_account(request).await.map(Response::new)
    }

    async fn update_account_policy(
        &self,
        request: Request<pb::UpdateAccountPolicyRequest>,
    ) -> Result<Response<pb::UpdateAccountPolicyResponse>, Status> {
        self.update_account_policy(request).await.map(Response::new)
    }

    async fn set_account_limits(
        &self,
        request: Request<pb::SetAccountLimitsRequest>,
    ) -> Result<Response<pb::SetAccountLimitsResponse>, Status> {
        self.set_account_limits(request).await.map(Response::new)
    }

    async fn close_account(
        &self,
        request: Request<pb::CloseAccountRequest>,
    ) -> Result<Response<pb::CloseAccountResponse>, Status> {
        self.close_account(request).await.map(Response::new)
    }

    async fn close_account_as_platform(
        &self,
        request: Request<pb::CloseAccountAsPlatformRequest>,
    ) -> Result<Response<pb::CloseAccountAsPlatformResponse>, Status> {
        self.close_account_as_platform(request).await.map(Response::new)
    }

    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        self.list_accounts(request).await.map(Response::new)
    }

    // In decisions.rs.
    async fn authorize(
        &self,
        request: Request<pb::AuthorizeRequest>,
    ) -> Result<Response<pb::AuthorizeResponse>, Status> {
        self.authorize(request).await.map(Response::new)
    }

    async fn batch_authorize(
        &self,
        request: Request<pb::BatchAuthorizeRequest>,
    ) -> Result<Response<pb::BatchAuthorizeResponse>, Status> {
        self.batch_authorize(request).await.map(Response::new)
    }

    async fn get_effective_permissions(
        &self,
        request: Request<pb::GetEffectivePermissionsRequest>,
    ) -> Result<Response<pb::GetEffectivePermissionsResponse>, Status> {
        self.get_effective_permissions(request).await.map(Response::new)
    }

    // In lookups.rs.
    async fn lookup_accounts(
        &self,
        request: Request<pb::LookupAccountsRequest>,
    ) -> Result<Response<pb::LookupAccountsResponse>, Status> {
        self.lookup_accounts(request).await.map(Response::new)
    }

    async fn lookup_resources(
        &self,
        request: Request<pb::LookupResourcesRequest>,
    ) -> Result<Response<pb::LookupResourcesResponse>, Status> {
        self.lookup_resources(request).await.map(Response::new)
    }

    async fn lookup_members(
        &self,
        request: Request<pb::LookupMembersRequest>,
    ) -> Result<Response<pb::LookupMembersResponse>, Status> {
        self.lookup_members(request).await.map(Response::new)
    }

    // In invitations.rs.
    async fn invite(
        &self,
        request: Request<pb::InviteRequest>,
    ) -> Result<Response<pb::InviteResponse>, Status> {
        self.invite(request).await.map(Response::new)
    }

    async fn preview_invitation_email(
        &self,
        request: Request<pb::PreviewInvitationEmailRequest>,
    ) -> Result<Response<pb::PreviewInvitationEmailResponse>, Status> {
        self.preview_invitation_email(request).await.map(Response::new)
    }

    async fn accept_invitation(
        &self,
        request: Request<pb::AcceptInvitationRequest>,
    ) -> Result<Response<pb::AcceptInvitationResponse>, Status> {
        self.accept_invitation(request).await.map(Response::new)
    }

    async fn decline_invitation(
        &self,
        request: Request<pb::DeclineInvitationRequest>,
    ) -> Result<Response<pb::DeclineInvitationResponse>, Status> {
        self.decline_invitation(request).await.map(Response::new)
    }

    async fn resend_invitation(
        &self,
        request: Request<pb::ResendInvitationRequest>,
    ) -> Result<Response<pb::ResendInvitationResponse>, Status> {
        self.resend_invitation(request).await.map(Response::new)
    }

    async fn revoke_invitation(
        &self,
        request: Request<pb::RevokeInvitationRequest>,
    ) -> Result<Response<pb::RevokeInvitationResponse>, Status> {
        self.revoke_invitation(request).await.map(Response::new)
    }

    async fn update_invitation(
        &self,
        request: Request<pb::UpdateInvitationRequest>,
    ) -> Result<Response<pb::UpdateInvitationResponse>, Status> {
        self.update_invitation(request).await.map(Response::new)
    }

    async fn list_invitations(
        &self,
        request: Request<pb::ListInvitationsRequest>,
    ) -> Result<Response<pb::ListInvitationsResponse>, Status> {
        self.list_invitations(request).await.map(Response::new)
    }

    // In members.rs.
    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        self.list_users(request).await.map(Response::new)
    }

    async fn update_member(
        &self,
        request: Request<pb::UpdateMemberRequest>,
    ) -> Result<Response<pb::UpdateMemberResponse>, Status> {
        self.update_member(request).await.map(Response::new)
    }

    async fn deactivate_member(
        &self,
        request: Request<pb::DeactivateMemberRequest>,
    ) -> Result<Response<pb::DeactivateMemberResponse>, Status> {
        self.deactivate_member(request).await.map(Response::new)
    }

    async fn reactivate_member(
        &self,
        request: Request<pb::ReactivateMemberRequest>,
    ) -> Result<Response<pb::ReactivateMemberResponse>, Status> {
        self.reactivate_member(request).await.map(Response::new)
    }

    async fn remove_member(
        &self,
        request: Request<pb::RemoveMemberRequest>,
    ) -> Result<Response<pb::RemoveMemberResponse>, Status> {
        self.remove_member(request).await.map(Response::new)
    }

    async fn leave_account(
        &self,
        request: Request<pb::LeaveAccountRequest>,
    ) -> Result<Response<pb::LeaveAccountResponse>, Status> {
        self.leave_account(request).await.map(Response::new)
    }

    async fn transfer_ownership(
        &self,
        request: Request<pb::TransferOwnershipRequest>,
    ) -> Result<Response<pb::TransferOwnershipResponse>, Status> {
        self.transfer_ownership(request).await.map(Response::new)
    }

    async fn record_sign_in(
        &self,
        request: Request<pb::RecordSignInRequest>,
    ) -> Result<Response<pb::RecordSignInResponse>, Status> {
        self.record_sign_in(request).await.map(Response::new)
    }

    // In roles.rs.
    async fn list_roles(
        &self,
        request: Request<pb::ListRolesRequest>,
    ) -> Result<Response<pb::ListRolesResponse>, Status> {
        self.list_roles(request).await.map(Response::new)
    }

    async fn create_role(
        &self,
        request: Request<pb::CreateRoleRequest>,
    ) -> Result<Response<pb::CreateRoleResponse>, Status> {
        self.create_role(request).await.map(Response::new)
    }

    async fn update_role(
        &self,
        request: Request<pb::UpdateRoleRequest>,
    ) -> Result<Response<pb::UpdateRoleResponse>, Status> {
        self.update_role(request).await.map(Response::new)
    }

    async fn delete_role(
        &self,
        request: Request<pb::DeleteRoleRequest>,
    ) -> Result<Response<pb::DeleteRoleResponse>, Status> {
        self.delete_role(request).await.map(Response::new)
    }

    // In access_requests.rs.
    async fn request_access(
        &self,
        request: Request<pb::RequestAccessRequest>,
    ) -> Result<Response<pb::RequestAccessResponse>, Status> {
        self.request_access(request).await.map(Response::new)
    }

    async fn decide_access_request(
        &self,
        request: Request<pb::DecideAccessRequestRequest>,
    ) -> Result<Response<pb::DecideAccessRequestResponse>, Status> {
        self.decide_access_request(request).await.map(Response::new)
    }

    async fn list_access_requests(
        &self,
        request: Request<pb::ListAccessRequestsRequest>,
    ) -> Result<Response<pb::ListAccessRequestsResponse>, Status> {
        self.list_access_requests(request).await.map(Response::new)
    }

    // In activity.rs.
    async fn list_activity(
        &self,
        request: Request<pb::ListActivityRequest>,
    ) -> Result<Response<pb::ListActivityResponse>, Status> {
        self.list_activity(request).await.map(Response::new)
    }

    // In changes.rs.
    type WatchChangesStream = ChangeStream;

    async fn watch_changes(
        &self,
        request: Request<pb::WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        self.watch_changes(request).await.map(Response::new)
    }

    // In sharing.rs.
    async fn share_template(
        &self,
        request: Request<pb::ShareTemplateRequest>,
    ) -> Result<Response<pb::ShareTemplateResponse>, Status> {
        self.share_template(request).await.map(Response::new)
    }

    async fn unshare_template(
        &self,
        request: Request<pb::UnshareTemplateRequest>,
    ) -> Result<Response<pb::UnshareTemplateResponse>, Status> {
        self.unshare_template(request).await.map(Response::new)
    }

    async fn list_shared_templates(
        &self,
        request: Request<pb::ListSharedTemplatesRequest>,
    ) -> Result<Response<pb::ListSharedTemplatesResponse>, Status> {
        self.list_shared_templates(request).await.map(Response::new)
    }

    async fn share_suppression_list(
        &self,
        request: Request<pb::ShareSuppressionListRequest>,
    ) -> Result<Response<pb::ShareSuppressionListResponse>, Status> {
        self.share_suppression_list(request).await.map(Response::new)
    }

    async fn unshare_suppression_list(
        &self,
        request: Request<pb::UnshareSuppressionListRequest>,
    ) -> Result<Response<pb::UnshareSuppressionListResponse>, Status> {
        self.unshare_suppression_list(request).await.map(Response::new)
    }

    async fn list_shared_suppression_lists(
        &self,
        request: Request<pb::ListSharedSuppressionListsRequest>,
    ) -> Result<Response<pb::ListSharedSuppressionListsResponse>, Status> {
        self.list_shared_suppression_lists(request)
            .await
            .map(Response::new)
    }
}
