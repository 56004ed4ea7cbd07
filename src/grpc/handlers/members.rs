//! Members: the account's people, changing, deactivating, reactivating and
//! removing a member, leaving, ownership, and recording a sign-in.

use tonic::{Request, Status};

use super::GrpcHandlers;
use crate::domain::model::Written;
use crate::domain::service::{ListUsers, UpdateMember};
use crate::grpc::convert::{self, MemberTarget, OwnershipTransfer, UserInAccount};
use crate::grpc::middleware::record_subject;
use crate::grpc::pb;

impl GrpcHandlers {
    pub(super) async fn list_users(
        &self,
        mut request: Request<pb::ListUsersRequest>,
    ) -> Result<pb::ListUsersResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let query = ListUsers::try_from(request.into_inner())?;
        record_subject(Some(&query.account_id), None);
        let page = use_cases.list_users(query).await?;
        Ok(pb::ListUsersResponse {
            users: page.rows.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        })
    }

    pub(super) async fn update_member(
        &self,
        mut request: Request<pb::UpdateMemberRequest>,
    ) -> Result<pb::UpdateMemberResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let cmd = UpdateMember::try_from(request.into_inner())?;
        convert::scope_ids_refused(self.max_scope_ids, "scopes.scopes", cmd.scopes.as_ref())?;
        record_subject(Some(&cmd.account_id), Some(&cmd.user_id));
        let Written { value: member, token } = use_cases.update_member(cmd).await?;
        Ok(pb::UpdateMemberResponse {
            member: Some(member.into()),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn deactivate_member(
        &self,
        mut request: Request<pb::DeactivateMemberRequest>,
    ) -> Result<pb::DeactivateMemberResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let MemberTarget {
            actor,
            account_id,
            member,
        } = MemberTarget::try_from(request.into_inner())?;
        record_subject(Some(&account_id), Some(&member));
        let Written { value: member, token } =
            use_cases.deactivate_member(&actor, &account_id, &member).await?;
        Ok(pb::DeactivateMemberResponse {
            member: Some(member.into()),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn reactivate_member(
        &self,
        mut request: Request<pb::ReactivateMemberRequest>,
    ) -> Result<pb::ReactivateMemberResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let MemberTarget {
            actor,
            account_id,
            member,
        } = MemberTarget::try_from(request.into_inner())?;
        record_subject(Some(&account_id), Some(&member));
        let Written { value: member, token } =
            use_cases.reactivate_member(&actor, &account_id, &member).await?;
        Ok(pb::ReactivateMemberResponse {
            member: Some(member.into()),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn remove_member(
        &self,
        mut request: Request<pb::RemoveMemberRequest>,
    ) -> Result<pb::RemoveMemberResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let MemberTarget {
            actor,
            account_id,
            member,
        } = MemberTarget::try_from(request.into_inner())?;
        record_subject(Some(&account_id), Some(&member));
        let Written { value: (), token } = use_cases.remove_member(&actor, &account_id, &member).await?;
        Ok(pb::RemoveMemberResponse {
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn leave_account(
        &self,
        mut request: Request<pb::LeaveAccountRequest>,
    ) -> Result<pb::LeaveAccountResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let UserInAccount { user_id, account_id } = UserInAccount::try_from(request.into_inner())?;
        record_subject(Some(&account_id), Some(&user_id));
        let Written { value: (), token } = use_cases.leave_account(&user_id, &account_id).await?;
        Ok(pb::LeaveAccountResponse {
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn transfer_ownership(
        &self,
        mut request: Request<pb::TransferOwnershipRequest>,
    ) -> Result<pb::TransferOwnershipResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
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
        Ok(pb::TransferOwnershipResponse {
            account: Some(account.into()),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn record_sign_in(
        &self,
        mut request: Request<pb::RecordSignInRequest>,
    ) -> Result<pb::RecordSignInResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let UserInAccount { user_id, account_id } = UserInAccount::try_from(request.into_inner())?;
        record_subject(Some(&account_id), Some(&user_id));
        let Written { value: at, token } = use_cases.record_sign_in(&user_id, &account_id).await?;
        Ok(pb::RecordSignInResponse {
            sign_in_time: Some(convert::timestamp(at)),
            consistency_token: convert::token_to_pb(&token),
        })
    }
}
