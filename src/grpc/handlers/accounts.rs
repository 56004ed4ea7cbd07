//! Accounts: create, read, policy, plan limits, closing, and the accounts a
//! user can switch to.

use tonic::{Request, Status};

use super::GrpcHandlers;
use crate::domain::model::{PlatformActor, Written};
use crate::domain::service::{CreateAccount, ListAccounts};
use crate::grpc::convert::{
    self, AccountLimitsChange, AccountPolicyChange, AccountRead, AccountTarget, PlatformClose,
};
use crate::grpc::middleware::{caller_of, record_subject};
use crate::grpc::pb;

impl GrpcHandlers {
    pub(super) async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<pb::CreateAccountResponse, Status> {
        let use_cases = self.acting(&request)?;
        let cmd = CreateAccount::try_from(request.into_inner())?;
        let Written {
            value: (account, created),
            token,
        } = use_cases.create_account(cmd).await?;
        Ok(pb::CreateAccountResponse {
            account: Some(account.into()),
            created,
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<pb::GetAccountResponse, Status> {
        let use_cases = self.acting(&request)?;
        let AccountRead { actor, account_id } = AccountRead::try_from(request.into_inner())?;
        record_subject(Some(&account_id), actor.as_ref());
        let account = use_cases.get_account(actor.as_ref(), &account_id).await?;
        Ok(pb::GetAccountResponse {
            account: Some(account.into()),
        })
    }

    pub(super) async fn update_account_policy(
        &self,
        request: Request<pb::UpdateAccountPolicyRequest>,
    ) -> Result<pb::UpdateAccountPolicyResponse, Status> {
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
        Ok(pb::UpdateAccountPolicyResponse {
            account: Some(account.into()),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn set_account_limits(
        &self,
        request: Request<pb::SetAccountLimitsRequest>,
    ) -> Result<pb::SetAccountLimitsResponse, Status> {
        // The layer let only a `platform` key through; its name is the actor.
        let platform = PlatformActor::new(caller_of(&request)?.name());
        let use_cases = self.serving(&request)?;
        let AccountLimitsChange { account_id, limits } = AccountLimitsChange::try_from(request.into_inner())?;
        record_subject(Some(&account_id), None);
        let Written {
            value: account,
            token,
        } = use_cases
            .set_account_limits(&platform, &account_id, limits)
            .await?;
        Ok(pb::SetAccountLimitsResponse {
            account: Some(account.into()),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn close_account(
        &self,
        request: Request<pb::CloseAccountRequest>,
    ) -> Result<pb::CloseAccountResponse, Status> {
        let use_cases = self.acting(&request)?;
        let AccountTarget { actor, account_id } = AccountTarget::try_from(request.into_inner())?;
        record_subject(Some(&account_id), None);
        let Written {
            value: account,
            token,
        } = use_cases.close_account(&actor, &account_id).await?;
        Ok(pb::CloseAccountResponse {
            account: Some(account.into()),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn close_account_as_platform(
        &self,
        request: Request<pb::CloseAccountAsPlatformRequest>,
    ) -> Result<pb::CloseAccountAsPlatformResponse, Status> {
        // The layer let only a `platform` key through; its name is the actor.
        let platform = PlatformActor::new(caller_of(&request)?.name());
        let use_cases = self.serving(&request)?;
        let PlatformClose { account_id, reason } = PlatformClose::try_from(request.into_inner())?;
        record_subject(Some(&account_id), None);
        let Written {
            value: account,
            token,
        } = use_cases
            .close_account_as_platform(&platform, &account_id, &reason)
            .await?;
        Ok(pb::CloseAccountAsPlatformResponse {
            account: Some(account.into()),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<pb::ListAccountsResponse, Status> {
        let use_cases = self.serving(&request)?;
        let query = ListAccounts::try_from(request.into_inner())?;
        record_subject(None, Some(&query.user_id));
        let page = use_cases.list_accounts(query).await?;
        Ok(pb::ListAccountsResponse {
            accounts: page.rows.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        })
    }
}
