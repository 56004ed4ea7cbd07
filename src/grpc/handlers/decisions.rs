//! Decisions: Authorize, its batch, and a user's effective permissions.
//! They act for no admin, so none starts from `acting`; each starts from
//! `serving`, which holds them to the caller's tenants.

use tonic::{Request, Status};

use super::GrpcHandlers;
use crate::grpc::convert::{self, AuthorizeQuery, BatchQuery, EffectiveQuery};
use crate::grpc::middleware::record_subject;
use crate::grpc::pb;

impl GrpcHandlers {
    pub(super) async fn authorize(
        &self,
        request: Request<pb::AuthorizeRequest>,
    ) -> Result<pb::AuthorizeResponse, Status> {
        let use_cases = self.serving(&request)?;
        let AuthorizeQuery { check, consistency } = AuthorizeQuery::try_from(request.into_inner())?;
        record_subject(Some(&check.account_id), Some(&check.user_id));
        let decision = use_cases.authorize(&check, &consistency).await?;
        self.decisions.record(decision.reason, 1);
        Ok(decision.into())
    }

    pub(super) async fn batch_authorize(
        &self,
        request: Request<pb::BatchAuthorizeRequest>,
    ) -> Result<pb::BatchAuthorizeResponse, Status> {
        let use_cases = self.serving(&request)?;
        let BatchQuery { checks, consistency } =
            convert::batch(request.into_inner(), self.use_cases.settings().max_batch_checks)?;
        let decisions = use_cases.batch_authorize(&checks, &consistency).await?;
        self.decisions
            .record_all(decisions.answers.iter().map(|(_, reason, _)| *reason));
        Ok(pb::BatchAuthorizeResponse {
            results: convert::batch_results(decisions)?,
        })
    }

    pub(super) async fn get_effective_permissions(
        &self,
        request: Request<pb::GetEffectivePermissionsRequest>,
    ) -> Result<pb::GetEffectivePermissionsResponse, Status> {
        let use_cases = self.serving(&request)?;
        let EffectiveQuery {
            user_id,
            account_id,
            mfa_verified,
            consistency,
        } = EffectiveQuery::try_from(request.into_inner())?;
        record_subject(Some(&account_id), Some(&user_id));
        let effective = use_cases
            .effective_permissions(&user_id, &account_id, mfa_verified, &consistency)
            .await?;
        Ok(effective.into())
    }
}
