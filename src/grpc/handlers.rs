//! The gRPC handlers of `access.v1.AccessService` (the proto service), one
//! per RPC. They hold no rules: each does the same four steps, validate and
//! convert the request, call the domain use case (`domain::UseCases`),
//! convert the answer back. A write's use case returns a `Written`: its
//! token goes out as the response's `consistency_token` (rule 11).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tonic::{Request, Response, Status};

use crate::domain::DomainError;
use crate::email::EmailRenderer;

use crate::domain::UseCases;
use crate::domain::ids::InvitationToken;
use crate::domain::model::{ChangeScope, PlatformActor, Written};
use crate::domain::service::{
    AcceptInvitation, CreateAccount, CreateRole, Invite, ListAccessRequests, ListAccounts, ListActivity,
    ListInvitations, ListSharedResources, ListUsers, RequestAccess, ShareResource, UnshareResource,
    UpdateInvitation, UpdateMember, UpdateRole,
};
use crate::grpc::convert::{
    self, AccessRequestDecision, AccountLimitsChange, AccountPolicyChange, AccountRead, AccountTarget,
    AuthorizeQuery, BatchQuery, EffectiveQuery, InvitationTarget, MemberTarget, OwnershipTransfer,
    PlatformClose, RoleTarget, UserInAccount, invitation_to_pb,
};
use crate::grpc::middleware::record_subject;
use crate::grpc::middleware::{Scope, caller_of};
use crate::grpc::pb;
use crate::grpc::pb::access_service_server::AccessService as AccessServiceRpc;
use crate::grpc::watch::{ChangeStream, follow};

/// How often a caught-up WatchChanges reads the log again, unless configured.
pub const DEFAULT_WATCH_POLL: Duration = Duration::from_millis(200);

/// The handlers: serve the proto's `access.v1.AccessService` by calling the
/// domain's [`UseCases`].
#[derive(Clone)]
pub struct GrpcHandlers {
    /// The domain's use cases (`domain::UseCases`), which hold the rules.
    use_cases: UseCases,
    /// The email templates, for PreviewInvitationEmail (the dispatcher
    /// renders what it sends with the same ones).
    renderer: Arc<EmailRenderer>,
    /// How often a caught-up WatchChanges reads the log again.
    watch_poll: Duration,
}

impl GrpcHandlers {
    /// Wraps the use cases and the email templates.
    pub fn new(use_cases: UseCases, renderer: Arc<EmailRenderer>) -> Self {
        Self {
            use_cases,
            renderer,
            watch_poll: DEFAULT_WATCH_POLL,
        }
    }

    /// Sets how often a caught-up WatchChanges reads the log again.
    pub fn with_watch_poll(mut self, poll: Duration) -> Self {
        self.watch_poll = poll;
        self
    }

    /// The use cases for an admin call, acting in the actor's session as the
    /// request's metadata vouches for it (rule 3; absent means two-factor not
    /// passed). Every RPC that names an `actor_user_id` starts here.
    fn acting<T>(&self, request: &Request<T>) -> Result<UseCases, Status> {
        Ok(self
            .use_cases
            .in_session(convert::actor_session(request.metadata())?))
    }
}

#[tonic::async_trait]
impl AccessServiceRpc for GrpcHandlers {
    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<Response<pb::CreateAccountResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let cmd = CreateAccount::try_from(request.into_inner())?;
        let Written {
            value: (account, created),
            token,
        } = use_cases.create_account(cmd).await?;
        Ok(Response::new(pb::CreateAccountResponse {
            account: Some(account.into()),
            created,
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::GetAccountResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let AccountRead { actor, account_id } = AccountRead::try_from(request.into_inner())?;
        record_subject(Some(&account_id), actor.as_ref());
        let account = use_cases.get_account(actor.as_ref(), &account_id).await?;
        Ok(Response::new(pb::GetAccountResponse {
            account: Some(account.into()),
        }))
    }

    async fn update_account_policy(
        &self,
        request: Request<pb::UpdateAccountPolicyRequest>,
    ) -> Result<Response<pb::UpdateAccountPolicyResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let AccountPolicyChange {
            actor,
            account_id,
            require_two_factor,
        } = AccountPolicyChange::try_from(request.into_inner())?;
        record_subject(Some(&account_id), None);
        let Written {
            value: account,
            token,
        } = use_cases
            .update_account_policy(&actor, &account_id, require_two_factor)
            .await?;
        Ok(Response::new(pb::UpdateAccountPolicyResponse {
            account: Some(account.into()),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn authorize(
        &self,
        request: Request<pb::AuthorizeRequest>,
    ) -> Result<Response<pb::AuthorizeResponse>, Status> {
        let AuthorizeQuery { check, consistency } = AuthorizeQuery::try_from(request.into_inner())?;
        record_subject(Some(&check.account_id), Some(&check.user_id));
        let decision = self.use_cases.authorize(&check, &consistency).await?;
        Ok(Response::new(decision.into()))
    }

    async fn batch_authorize(
        &self,
        request: Request<pb::BatchAuthorizeRequest>,
    ) -> Result<Response<pb::BatchAuthorizeResponse>, Status> {
        let BatchQuery { checks, consistency } =
            convert::batch(request.into_inner(), self.use_cases.settings().max_batch_checks)?;
        let decisions = self.use_cases.batch_authorize(&checks, &consistency).await?;
        Ok(Response::new(pb::BatchAuthorizeResponse {
            results: convert::batch_results(decisions)?,
        }))
    }

    async fn get_effective_permissions(
        &self,
        request: Request<pb::GetEffectivePermissionsRequest>,
    ) -> Result<Response<pb::GetEffectivePermissionsResponse>, Status> {
        let EffectiveQuery {
            user_id,
            account_id,
            mfa_verified,
            consistency,
        } = EffectiveQuery::try_from(request.into_inner())?;
        record_subject(Some(&account_id), Some(&user_id));
        let effective = self
            .use_cases
            .effective_permissions(&user_id, &account_id, mfa_verified, &consistency)
            .await?;
        Ok(Response::new(effective.into()))
    }

    async fn invite(
        &self,
        request: Request<pb::InviteRequest>,
    ) -> Result<Response<pb::InviteResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let cmd = Invite::try_from(request.into_inner())?;
        let Written { value: issued, token } = use_cases.invite(cmd).await?;
        let now = Utc::now();
        let mut invitations = issued.invitations.into_iter().map(|i| invitation_to_pb(i, now));
        Ok(Response::new(pb::InviteResponse {
            invitation: invitations.next(),
            token: issued.token.map(InvitationToken::into_secret).unwrap_or_default(),
            additional_invitations: invitations.collect(),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn preview_invitation_email(
        &self,
        request: Request<pb::PreviewInvitationEmailRequest>,
    ) -> Result<Response<pb::PreviewInvitationEmailResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let within = |err: DomainError| err.nested_in("invite");
        let cmd = Invite::try_from(request.into_inner().invite.unwrap_or_default()).map_err(within)?;
        let message = use_cases.preview_invitation(cmd).await.map_err(within)?;
        let email = self
            .renderer
            .render(&message)
            .map_err(|err| DomainError::Internal(format!("cannot render the invitation email: {err:#}")))?;
        Ok(Response::new(convert::preview_to_pb(email)))
    }

    async fn accept_invitation(
        &self,
        request: Request<pb::AcceptInvitationRequest>,
    ) -> Result<Response<pb::AcceptInvitationResponse>, Status> {
        let cmd = AcceptInvitation::try_from(request.into_inner())?;
        let Written {
            value: accepted,
            token,
        } = self.use_cases.accept_invitation(cmd).await?;
        let now = Utc::now();
        let (invitations, members): (Vec<_>, Vec<_>) = accepted
            .into_iter()
            .map(|(invitation, member)| (invitation_to_pb(invitation, now), pb::Member::from(member)))
            .unzip();
        let mut invitations = invitations.into_iter();
        let mut members = members.into_iter();
        Ok(Response::new(pb::AcceptInvitationResponse {
            invitation: invitations.next(),
            member: members.next(),
            additional_invitations: invitations.collect(),
            additional_members: members.collect(),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn decline_invitation(
        &self,
        request: Request<pb::DeclineInvitationRequest>,
    ) -> Result<Response<pb::DeclineInvitationResponse>, Status> {
        let invitation_token = InvitationToken::try_from(request.into_inner())?;
        let Written {
            value: declined,
            token,
        } = self.use_cases.decline_invitation(&invitation_token).await?;
        let now = Utc::now();
        Ok(Response::new(pb::DeclineInvitationResponse {
            invitations: declined.into_iter().map(|i| invitation_to_pb(i, now)).collect(),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn resend_invitation(
        &self,
        request: Request<pb::ResendInvitationRequest>,
    ) -> Result<Response<pb::ResendInvitationResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let InvitationTarget { actor, invitation_id } = InvitationTarget::try_from(request.into_inner())?;
        let Written {
            value: (invitation, secret),
            token,
        } = use_cases.resend_invitation(&actor, &invitation_id).await?;
        Ok(Response::new(pb::ResendInvitationResponse {
            invitation: Some(invitation_to_pb(invitation, Utc::now())),
            token: secret.into_secret(),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn revoke_invitation(
        &self,
        request: Request<pb::RevokeInvitationRequest>,
    ) -> Result<Response<pb::RevokeInvitationResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let InvitationTarget { actor, invitation_id } = InvitationTarget::try_from(request.into_inner())?;
        let Written {
            value: invitation,
            token,
        } = use_cases.revoke_invitation(&actor, &invitation_id).await?;
        Ok(Response::new(pb::RevokeInvitationResponse {
            invitation: Some(invitation_to_pb(invitation, Utc::now())),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn update_invitation(
        &self,
        request: Request<pb::UpdateInvitationRequest>,
    ) -> Result<Response<pb::UpdateInvitationResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let cmd = UpdateInvitation::try_from(request.into_inner())?;
        let Written {
            value: invitation,
            token,
        } = use_cases.update_invitation(cmd).await?;
        Ok(Response::new(pb::UpdateInvitationResponse {
            invitation: Some(invitation_to_pb(invitation, Utc::now())),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn list_invitations(
        &self,
        request: Request<pb::ListInvitationsRequest>,
    ) -> Result<Response<pb::ListInvitationsResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let query = ListInvitations::try_from(request.into_inner())?;
        record_subject(Some(&query.account_id), None);
        let page = use_cases.list_invitations(query).await?;
        let now = Utc::now();
        Ok(Response::new(pb::ListInvitationsResponse {
            invitations: page.rows.into_iter().map(|i| invitation_to_pb(i, now)).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let query = ListUsers::try_from(request.into_inner())?;
        record_subject(Some(&query.account_id), None);
        let page = use_cases.list_users(query).await?;
        Ok(Response::new(pb::ListUsersResponse {
            users: page.rows.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_member(
        &self,
        request: Request<pb::UpdateMemberRequest>,
    ) -> Result<Response<pb::UpdateMemberResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let cmd = UpdateMember::try_from(request.into_inner())?;
        record_subject(Some(&cmd.account_id), Some(&cmd.user_id));
        let Written { value: member, token } = use_cases.update_member(cmd).await?;
        Ok(Response::new(pb::UpdateMemberResponse {
            member: Some(member.into()),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn deactivate_member(
        &self,
        request: Request<pb::DeactivateMemberRequest>,
    ) -> Result<Response<pb::DeactivateMemberResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let MemberTarget {
            actor,
            account_id,
            member,
        } = MemberTarget::try_from(request.into_inner())?;
        record_subject(Some(&account_id), Some(&member));
        let Written { value: member, token } =
            use_cases.deactivate_member(&actor, &account_id, &member).await?;
        Ok(Response::new(pb::DeactivateMemberResponse {
            member: Some(member.into()),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn reactivate_member(
        &self,
        request: Request<pb::ReactivateMemberRequest>,
    ) -> Result<Response<pb::ReactivateMemberResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let MemberTarget {
            actor,
            account_id,
            member,
        } = MemberTarget::try_from(request.into_inner())?;
        record_subject(Some(&account_id), Some(&member));
        let Written { value: member, token } =
            use_cases.reactivate_member(&actor, &account_id, &member).await?;
        Ok(Response::new(pb::ReactivateMemberResponse {
            member: Some(member.into()),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn remove_member(
        &self,
        request: Request<pb::RemoveMemberRequest>,
    ) -> Result<Response<pb::RemoveMemberResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let MemberTarget {
            actor,
            account_id,
            member,
        } = MemberTarget::try_from(request.into_inner())?;
        record_subject(Some(&account_id), Some(&member));
        let Written { value: (), token } = use_cases.remove_member(&actor, &account_id, &member).await?;
        Ok(Response::new(pb::RemoveMemberResponse {
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn leave_account(
        &self,
        request: Request<pb::LeaveAccountRequest>,
    ) -> Result<Response<pb::LeaveAccountResponse>, Status> {
        let UserInAccount { user_id, account_id } = UserInAccount::try_from(request.into_inner())?;
        record_subject(Some(&account_id), Some(&user_id));
        let Written { value: (), token } = self.use_cases.leave_account(&user_id, &account_id).await?;
        Ok(Response::new(pb::LeaveAccountResponse {
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn transfer_ownership(
        &self,
        request: Request<pb::TransferOwnershipRequest>,
    ) -> Result<Response<pb::TransferOwnershipResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let OwnershipTransfer {
            actor,
            account_id,
            new_owner,
        } = OwnershipTransfer::try_from(request.into_inner())?;
        record_subject(Some(&account_id), None);
        let Written {
            value: account,
            token,
        } = use_cases
            .transfer_ownership(&actor, &account_id, &new_owner)
            .await?;
        Ok(Response::new(pb::TransferOwnershipResponse {
            account: Some(account.into()),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn record_sign_in(
        &self,
        request: Request<pb::RecordSignInRequest>,
    ) -> Result<Response<pb::RecordSignInResponse>, Status> {
        let UserInAccount { user_id, account_id } = UserInAccount::try_from(request.into_inner())?;
        record_subject(Some(&account_id), Some(&user_id));
        let Written { value: at, token } = self.use_cases.record_sign_in(&user_id, &account_id).await?;
        Ok(Response::new(pb::RecordSignInResponse {
            sign_in_time: Some(convert::timestamp(at)),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn list_roles(
        &self,
        request: Request<pb::ListRolesRequest>,
    ) -> Result<Response<pb::ListRolesResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let AccountTarget { actor, account_id } = AccountTarget::try_from(request.into_inner())?;
        record_subject(Some(&account_id), None);
        let roles = use_cases.list_roles(&actor, &account_id).await?;
        Ok(Response::new(pb::ListRolesResponse {
            roles: roles.into_iter().map(Into::into).collect(),
        }))
    }

    async fn create_role(
        &self,
        request: Request<pb::CreateRoleRequest>,
    ) -> Result<Response<pb::CreateRoleResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let cmd = CreateRole::try_from(request.into_inner())?;
        record_subject(Some(&cmd.account_id), None);
        let Written { value: role, token } = use_cases.create_role(cmd).await?;
        Ok(Response::new(pb::CreateRoleResponse {
            role: Some(role.into()),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn update_role(
        &self,
        request: Request<pb::UpdateRoleRequest>,
    ) -> Result<Response<pb::UpdateRoleResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let cmd = UpdateRole::try_from(request.into_inner())?;
        record_subject(Some(&cmd.account_id), None);
        let Written { value: role, token } = use_cases.update_role(cmd).await?;
        Ok(Response::new(pb::UpdateRoleResponse {
            role: Some(role.into()),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn delete_role(
        &self,
        request: Request<pb::DeleteRoleRequest>,
    ) -> Result<Response<pb::DeleteRoleResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let RoleTarget {
            actor,
            account_id,
            name,
        } = RoleTarget::try_from(request.into_inner())?;
        record_subject(Some(&account_id), None);
        let Written { value: (), token } = use_cases.delete_role(&actor, &account_id, &name).await?;
        Ok(Response::new(pb::DeleteRoleResponse {
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn request_access(
        &self,
        request: Request<pb::RequestAccessRequest>,
    ) -> Result<Response<pb::RequestAccessResponse>, Status> {
        let cmd = RequestAccess::try_from(request.into_inner())?;
        record_subject(Some(&cmd.account_id), Some(&cmd.user_id));
        let Written {
            value: access_request,
            token,
        } = self.use_cases.request_access(cmd).await?;
        Ok(Response::new(pb::RequestAccessResponse {
            access_request: Some(access_request.into()),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn decide_access_request(
        &self,
        request: Request<pb::DecideAccessRequestRequest>,
    ) -> Result<Response<pb::DecideAccessRequestResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let AccessRequestDecision {
            actor,
            access_request_id,
            approve,
        } = AccessRequestDecision::try_from(request.into_inner())?;
        let Written {
            value: access_request,
            token,
        } = use_cases
            .decide_access_request(&actor, &access_request_id, approve)
            .await?;
        Ok(Response::new(pb::DecideAccessRequestResponse {
            access_request: Some(access_request.into()),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn list_access_requests(
        &self,
        request: Request<pb::ListAccessRequestsRequest>,
    ) -> Result<Response<pb::ListAccessRequestsResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let query = ListAccessRequests::try_from(request.into_inner())?;
        record_subject(Some(&query.account_id), None);
        let page = use_cases.list_access_requests(query).await?;
        Ok(Response::new(pb::ListAccessRequestsResponse {
            access_requests: page.rows.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn list_activity(
        &self,
        request: Request<pb::ListActivityRequest>,
    ) -> Result<Response<pb::ListActivityResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let query = ListActivity::try_from(request.into_inner())?;
        record_subject(Some(&query.account_id), None);
        let page = use_cases.list_activity(query).await?;
        Ok(Response::new(pb::ListActivityResponse {
            entries: page.rows.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    type WatchChangesStream = ChangeStream;

    async fn watch_changes(
        &self,
        request: Request<pb::WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
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
        Ok(Response::new(follow(use_cases, watch, self.watch_poll)))
    }

    async fn set_account_limits(
        &self,
        request: Request<pb::SetAccountLimitsRequest>,
    ) -> Result<Response<pb::SetAccountLimitsResponse>, Status> {
        // The layer let only a `platform` key through; its name is the actor.
        let platform = PlatformActor::new(caller_of(&request)?.name());
        let AccountLimitsChange { account_id, limits } = AccountLimitsChange::try_from(request.into_inner())?;
        record_subject(Some(&account_id), None);
        let Written {
            value: account,
            token,
        } = self
            .use_cases
            .set_account_limits(&platform, &account_id, limits)
            .await?;
        Ok(Response::new(pb::SetAccountLimitsResponse {
            account: Some(account.into()),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn close_account(
        &self,
        request: Request<pb::CloseAccountRequest>,
    ) -> Result<Response<pb::CloseAccountResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let AccountTarget { actor, account_id } = AccountTarget::try_from(request.into_inner())?;
        record_subject(Some(&account_id), None);
        let Written {
            value: account,
            token,
        } = use_cases.close_account(&actor, &account_id).await?;
        Ok(Response::new(pb::CloseAccountResponse {
            account: Some(account.into()),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn close_account_as_platform(
        &self,
        request: Request<pb::CloseAccountAsPlatformRequest>,
    ) -> Result<Response<pb::CloseAccountAsPlatformResponse>, Status> {
        // The layer let only a `platform` key through; its name is the actor.
        let platform = PlatformActor::new(caller_of(&request)?.name());
        let PlatformClose { account_id, reason } = PlatformClose::try_from(request.into_inner())?;
        record_subject(Some(&account_id), None);
        let Written {
            value: account,
            token,
        } = self
            .use_cases
            .close_account_as_platform(&platform, &account_id, &reason)
            .await?;
        Ok(Response::new(pb::CloseAccountAsPlatformResponse {
            account: Some(account.into()),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        let query = ListAccounts::try_from(request.into_inner())?;
        record_subject(None, Some(&query.user_id));
        let page = self.use_cases.list_accounts(query).await?;
        Ok(Response::new(pb::ListAccountsResponse {
            accounts: page.rows.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn share_template(
        &self,
        request: Request<pb::ShareTemplateRequest>,
    ) -> Result<Response<pb::ShareTemplateResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let cmd = ShareResource::try_from(request.into_inner())?;
        record_subject(Some(&cmd.account_id), None);
        let Written { value: shared, token } = use_cases.share_resource(cmd).await?;
        Ok(Response::new(pb::ShareTemplateResponse {
            shared_template: Some(shared.into()),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn unshare_template(
        &self,
        request: Request<pb::UnshareTemplateRequest>,
    ) -> Result<Response<pb::UnshareTemplateResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let cmd = UnshareResource::try_from(request.into_inner())?;
        record_subject(Some(&cmd.account_id), None);
        let Written { value: (), token } = use_cases.unshare_resource(cmd).await?;
        Ok(Response::new(pb::UnshareTemplateResponse {
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn list_shared_templates(
        &self,
        request: Request<pb::ListSharedTemplatesRequest>,
    ) -> Result<Response<pb::ListSharedTemplatesResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let query = ListSharedResources::try_from(request.into_inner())?;
        record_subject(Some(&query.account_id), None);
        let page = use_cases.list_shared_resources(query).await?;
        Ok(Response::new(pb::ListSharedTemplatesResponse {
            shared_templates: page.rows.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn share_suppression_list(
        &self,
        request: Request<pb::ShareSuppressionListRequest>,
    ) -> Result<Response<pb::ShareSuppressionListResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let cmd = ShareResource::try_from(request.into_inner())?;
        record_subject(Some(&cmd.account_id), None);
        let Written { value: shared, token } = use_cases.share_resource(cmd).await?;
        Ok(Response::new(pb::ShareSuppressionListResponse {
            shared_suppression_list: Some(shared.into()),
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn unshare_suppression_list(
        &self,
        request: Request<pb::UnshareSuppressionListRequest>,
    ) -> Result<Response<pb::UnshareSuppressionListResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let cmd = UnshareResource::try_from(request.into_inner())?;
        record_subject(Some(&cmd.account_id), None);
        let Written { value: (), token } = use_cases.unshare_resource(cmd).await?;
        Ok(Response::new(pb::UnshareSuppressionListResponse {
            consistency_token: convert::token_to_pb(&token),
        }))
    }

    async fn list_shared_suppression_lists(
        &self,
        request: Request<pb::ListSharedSuppressionListsRequest>,
    ) -> Result<Response<pb::ListSharedSuppressionListsResponse>, Status> {
        let use_cases = self.acting(&request)?;
        let query = ListSharedResources::try_from(request.into_inner())?;
        record_subject(Some(&query.account_id), None);
        let page = use_cases.list_shared_resources(query).await?;
        Ok(Response::new(pb::ListSharedSuppressionListsResponse {
            shared_suppression_lists: page.rows.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }
}
