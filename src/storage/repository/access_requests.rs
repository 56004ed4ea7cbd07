//! Requests for one more permission, and their decisions.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};

use crate::domain::ids::{AccessRequestId, AccountId, UserId};
use crate::domain::model::{AccessRequest, AccessRequestState};
use crate::domain::permissions::Permission;
use crate::domain::{DomainError, DomainResult};
use crate::storage::entity::access_requests;
use crate::storage::error::from_db_err;

use super::codec::{millis, time};
use super::expect_one;

pub(super) fn to_access_request(row: access_requests::Model) -> DomainResult<AccessRequest> {
    Ok(AccessRequest {
        permission: Permission::lookup(&row.permission)
            .ok_or_else(|| DomainError::Internal(format!("unknown permission '{}'", row.permission)))?,
        state: AccessRequestState::from_storage(&row.state)
            .ok_or_else(|| DomainError::Internal(format!("unknown request state '{}'", row.state)))?,
        created_at: time(row.created_at)?,
        decided_at: row.decided_at.map(time).transpose()?,
        id: AccessRequestId::from_trusted(row.id),
        account_id: AccountId::from_trusted(row.account_id),
        user_id: UserId::from_trusted(row.user_id),
        note: row.note,
        decided_by: row.decided_by.map(UserId::from_trusted),
    })
}

pub(super) async fn access_request<C: ConnectionTrait>(
    c: &C,
    id: &AccessRequestId,
) -> DomainResult<Option<AccessRequest>> {
    access_requests::Entity::find_by_id(id.as_str().to_owned())
        .one(c)
        .await
        .map_err(from_db_err)?
        .map(to_access_request)
        .transpose()
}

pub(super) async fn access_requests_of<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
) -> DomainResult<Vec<AccessRequest>> {
    access_requests::Entity::find()
        .filter(access_requests::Column::AccountId.eq(account.as_str()))
        .order_by_desc(access_requests::Column::CreatedAt)
        .order_by_desc(access_requests::Column::Id)
        .all(c)
        .await
        .map_err(from_db_err)?
        .into_iter()
        .map(to_access_request)
        .collect()
}

pub(super) async fn insert_access_request(
    txn: &DatabaseTransaction,
    request: &AccessRequest,
) -> DomainResult<()> {
    access_requests::Entity::insert(access_requests::ActiveModel {
        id: Set(request.id.as_str().to_owned()),
        account_id: Set(request.account_id.as_str().to_owned()),
        user_id: Set(request.user_id.as_str().to_owned()),
        permission: Set(request.permission.name().to_owned()),
        note: Set(request.note.clone()),
        state: Set(AccessRequestState::Pending.as_str().to_owned()),
        pending_key: Set(Some(format!("{}/{}", request.user_id, request.permission))),
        decided_by: Set(None),
        created_at: Set(millis(request.created_at)),
        decided_at: Set(None),
    })
    .exec_without_returning(txn)
    .await
    .map_err(from_db_err)?;
    Ok(())
}

pub(super) async fn decide_access_request(
    txn: &DatabaseTransaction,
    id: &AccessRequestId,
    state: AccessRequestState,
    by: &UserId,
    at: DateTime<Utc>,
) -> DomainResult<()> {
    let result = access_requests::Entity::update_many()
        .col_expr(access_requests::Column::State, Expr::value(state.as_str()))
        .col_expr(
            access_requests::Column::PendingKey,
            Expr::value(Option::<String>::None),
        )
        .col_expr(access_requests::Column::DecidedBy, Expr::value(by.as_str()))
        .col_expr(access_requests::Column::DecidedAt, Expr::value(millis(at)))
        .filter(access_requests::Column::Id.eq(id.as_str()))
        .filter(access_requests::Column::State.eq(AccessRequestState::Pending.as_str()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    expect_one(result.rows_affected, "decide a pending access request")
}
