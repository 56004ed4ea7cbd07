//! Lookups: the accounts where a user may do a permission, the resources
//! they may act on, and the people who may do it. Questions about a
//! person, asked by a system as Authorize is: none acts for a person, so
//! none starts from `acting`; each starts from `serving`, which holds them
//! to the caller's tenants.

use tonic::{Request, Status};

use super::GrpcHandlers;
use crate::domain::service::{LookupAccounts, LookupMembers};
use crate::grpc::convert::ResourcesQuery;
use crate::grpc::middleware::record_subject;
use crate::grpc::pb;

impl GrpcHandlers {
    pub(super) async fn lookup_accounts(
        &self,
        request: Request<pb::LookupAccountsRequest>,
    ) -> Result<pb::LookupAccountsResponse, Status> {
        let use_cases = self.serving(&request)?;
        let query = LookupAccounts::try_from(request.into_inner())?;
        record_subject(None, Some(&query.user_id));
        Ok(use_cases.lookup_accounts(&query).await?.into())
    }

    pub(super) async fn lookup_resources(
        &self,
        request: Request<pb::LookupResourcesRequest>,
    ) -> Result<pb::LookupResourcesResponse, Status> {
        let use_cases = self.serving(&request)?;
        let query = ResourcesQuery::try_from(request.into_inner())?;
        record_subject(Some(&query.account_id), Some(&query.user_id));
        let lookup = use_cases
            .lookup_resources(
                &query.user_id,
                &query.account_id,
                query.permission,
                query.resource_type,
                query.mfa_verified,
                &query.consistency,
            )
            .await?;
        Ok(lookup.into())
    }

    pub(super) async fn lookup_members(
        &self,
        request: Request<pb::LookupMembersRequest>,
    ) -> Result<pb::LookupMembersResponse, Status> {
        let use_cases = self.serving(&request)?;
        let query = LookupMembers::try_from(request.into_inner())?;
        record_subject(Some(&query.account_id), None);
        Ok(use_cases.lookup_members(&query).await?.into())
    }
}
