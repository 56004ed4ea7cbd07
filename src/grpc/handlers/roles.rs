//! Roles: the account's custom roles, listed, created, changed and deleted.

use tonic::{Request, Status};

use super::GrpcHandlers;
use crate::domain::model::Written;
use crate::domain::service::{CreateRole, UpdateRole};
use crate::grpc::convert::{self, AccountTarget, RoleTarget};
use crate::grpc::middleware::record_subject;
use crate::grpc::pb;

impl GrpcHandlers {
    pub(super) async fn list_roles(
        &self,
        mut request: Request<pb::ListRolesRequest>,
    ) -> Result<pb::ListRolesResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let AccountTarget { actor, account_id } = AccountTarget::try_from(request.into_inner())?;
        record_subject(Some(&account_id), None);
        let roles = use_cases.list_roles(&actor, &account_id).await?;
        Ok(pb::ListRolesResponse {
            roles: roles.into_iter().map(Into::into).collect(),
        })
    }

    pub(super) async fn create_role(
        &self,
        mut request: Request<pb::CreateRoleRequest>,
    ) -> Result<pb::CreateRoleResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let cmd = CreateRole::try_from(request.into_inner())?;
        record_subject(Some(&cmd.account_id), None);
        let Written { value: role, token } = use_cases.create_role(cmd).await?;
        Ok(pb::CreateRoleResponse {
            role: Some(role.into()),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn update_role(
        &self,
        mut request: Request<pb::UpdateRoleRequest>,
    ) -> Result<pb::UpdateRoleResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let cmd = UpdateRole::try_from(request.into_inner())?;
        record_subject(Some(&cmd.account_id), None);
        let Written { value: role, token } = use_cases.update_role(cmd).await?;
        Ok(pb::UpdateRoleResponse {
            role: Some(role.into()),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn delete_role(
        &self,
        mut request: Request<pb::DeleteRoleRequest>,
    ) -> Result<pb::DeleteRoleResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let RoleTarget {
            actor,
            account_id,
            name,
        } = RoleTarget::try_from(request.into_inner())?;
        record_subject(Some(&account_id), None);
        let Written { value: (), token } = use_cases.delete_role(&actor, &account_id, &name).await?;
        Ok(pb::DeleteRoleResponse {
            consistency_token: convert::token_to_pb(&token),
        })
    }
}
