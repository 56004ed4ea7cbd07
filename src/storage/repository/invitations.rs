//! Invitations and the scopes they offer.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, ExprTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Statement, UpdateMany,
};

use crate::domain::DomainResult;
use crate::domain::ids::{AccountId, Email, InvitationId, ResourceId, RoleName, UserId};
use crate::domain::model::{Invitation, InvitationPageQuery, InvitationState, Role, Scopes};
use crate::storage::entity::{invitation_scopes, invitations};
use crate::storage::error::from_db_err;

use super::codec::{millis, resource_type, scope_rows, stored_invitation_state, time};
use super::expect_one;

pub(super) async fn invitation_scopes_of<C: ConnectionTrait>(
    c: &C,
    ids: Vec<String>,
) -> DomainResult<HashMap<String, Scopes>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut by_invitation: HashMap<String, Scopes> = HashMap::new();
    for row in invitation_scopes::Entity::find()
        .filter(invitation_scopes::Column::InvitationId.is_in(ids))
        .all(c)
        .await
        .map_err(from_db_err)?
    {
        let resource_type = resource_type(&row.resource_type)?;
        by_invitation
            .entry(row.invitation_id)
            .or_default()
            .insert(resource_type, ResourceId::from_trusted(row.resource_id));
    }
    Ok(by_invitation)
}

pub(super) async fn invitations_where<C: ConnectionTrait>(
    c: &C,
    filter: sea_orm::Condition,
) -> DomainResult<Vec<Invitation>> {
    load(
        c,
        invitations::Entity::find()
            .filter(filter)
            .order_by_desc(invitations::Column::CreatedAt)
            .order_by_desc(invitations::Column::Id),
    )
    .await
}

/// The invitations `select` reads, in its order, with their scopes (one
/// more statement, for all of them together).
async fn load<C: ConnectionTrait>(
    c: &C,
    select: Select<invitations::Entity>,
) -> DomainResult<Vec<Invitation>> {
    let rows = select.all(c).await.map_err(from_db_err)?;
    let mut scopes = invitation_scopes_of(c, rows.iter().map(|r| r.id.clone()).collect()).await?;
    rows.into_iter()
        .map(|row| {
            Ok(Invitation {
                state: stored_invitation_state(&row.state)?,
                expires_at: time(row.expires_at)?,
                created_at: time(row.created_at)?,
                send_count: u32::try_from(row.send_count).unwrap_or(0),
                role: RoleName::from_trusted(row.role_name),
                scopes: scopes.remove(&row.id).unwrap_or_default(),
                id: InvitationId::from_trusted(row.id),
                account_id: AccountId::from_trusted(row.account_id),
                email: Email::from_trusted(row.email),
                invited_by: UserId::from_trusted(row.invited_by),
                message: row.message,
                invitee_name: row.invitee_name,
                member_ends_at: row.member_ends_at.map(time).transpose()?,
                delivery: None,
            })
        })
        .collect()
}

/// One page of an account's invitations, newest first (ties by id,
/// descending), after the key: a range of `idx_invitations_account_created`,
/// or of `idx_invitations_account_state` when a state is asked for, read
/// backwards from the key and stopped after `limit` rows (migration 13).
pub(super) async fn page<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    query: &InvitationPageQuery,
) -> DomainResult<Vec<Invitation>> {
    use invitations::Column as I;
    let now = millis(query.now);
    let pending = InvitationState::Pending.as_str();
    let mut filter = Condition::all().add(I::AccountId.eq(account.as_str()));
    filter = match query.state {
        None => filter,
        Some(InvitationState::Pending) => filter.add(I::State.eq(pending)).add(I::ExpiresAt.gt(now)),
        // Expiry is derived, never stored: the expired are pending ones past their time.
        Some(InvitationState::Expired) => filter.add(I::State.eq(pending)).add(I::ExpiresAt.lte(now)),
        Some(state @ (InvitationState::Accepted | InvitationState::Declined | InvitationState::Revoked)) => {
            filter.add(I::State.eq(state.as_str()))
        }
    };
    if let Some(after) = &query.after {
        // `created_at <= t AND (created_at < t OR id < i)` rather than the
        // OR alone: the first half bounds the index range on both databases.
        let at = millis(after.created_at);
        filter = filter.add(I::CreatedAt.lte(at)).add(
            Condition::any()
                .add(I::CreatedAt.lt(at))
                .add(I::Id.lt(after.id.as_str())),
        );
    }
    load(
        c,
        invitations::Entity::find()
            .filter(filter)
            .order_by_desc(I::CreatedAt)
            .order_by_desc(I::Id)
            .limit(u64::try_from(query.limit).unwrap_or(u64::MAX)),
    )
    .await
}

/// Counted on the pending-email unique index: the column is set exactly
/// while an invitation is pending.
pub(super) async fn pending_count<C: ConnectionTrait>(c: &C, account: &AccountId) -> DomainResult<usize> {
    let count = invitations::Entity::find()
        .filter(invitations::Column::AccountId.eq(account.as_str()))
        .filter(invitations::Column::PendingEmail.is_not_null())
        .count(c)
        .await
        .map_err(from_db_err)?;
    Ok(usize::try_from(count).unwrap_or(usize::MAX))
}

pub(super) async fn pending_invitation<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    email: &Email,
) -> DomainResult<Option<Invitation>> {
    Ok(invitations_where(
        c,
        Condition::all()
            .add(invitations::Column::AccountId.eq(account.as_str()))
            .add(invitations::Column::PendingEmail.eq(email.as_str())),
    )
    .await?
    .pop())
}

pub(super) async fn invitation<C: ConnectionTrait>(
    c: &C,
    id: &InvitationId,
) -> DomainResult<Option<Invitation>> {
    Ok(
        invitations_where(c, Condition::all().add(invitations::Column::Id.eq(id.as_str())))
            .await?
            .pop(),
    )
}

pub(super) async fn by_token_hash<C: ConnectionTrait>(
    c: &C,
    token_hash: &str,
) -> DomainResult<Vec<Invitation>> {
    invitations_where(
        c,
        Condition::all().add(invitations::Column::TokenHash.eq(token_hash)),
    )
    .await
}

pub(super) async fn insert_invitation(
    txn: &DatabaseTransaction,
    invitation: &Invitation,
    role_id: &str,
    token_hash: &str,
) -> DomainResult<()> {
    invitations::Entity::insert(invitations::ActiveModel {
        id: Set(invitation.id.as_str().to_owned()),
        account_id: Set(invitation.account_id.as_str().to_owned()),
        email: Set(invitation.email.as_str().to_owned()),
        role_id: Set(Some(role_id.to_owned())),
        role_name: Set(invitation.role.to_string()),
        state: Set(InvitationState::Pending.as_str().to_owned()),
        pending_email: Set(Some(invitation.email.as_str().to_owned())),
        token_hash: Set(token_hash.to_owned()),
        invited_by: Set(invitation.invited_by.as_str().to_owned()),
        message: Set(invitation.message.clone()),
        send_count: Set(i32::try_from(invitation.send_count).unwrap_or(i32::MAX)),
        expires_at: Set(millis(invitation.expires_at)),
        created_at: Set(millis(invitation.created_at)),
        updated_at: Set(millis(invitation.created_at)),
        accepted_by: Set(None),
        invitee_name: Set(invitation.invitee_name.clone()),
        member_ends_at: Set(invitation.member_ends_at.map(millis)),
    })
    .exec_without_returning(txn)
    .await
    .map_err(from_db_err)?;
    write_invitation_scopes(txn, &invitation.id, &invitation.scopes).await
}

pub(super) async fn reissue_invitation(
    txn: &DatabaseTransaction,
    id: &InvitationId,
    token_hash: &str,
    expires_at: DateTime<Utc>,
    invited_by: &UserId,
    at: DateTime<Utc>,
) -> DomainResult<()> {
    let update = invitations::Entity::update_many()
        .col_expr(invitations::Column::TokenHash, Expr::value(token_hash))
        .col_expr(invitations::Column::InvitedBy, Expr::value(invited_by.as_str()))
        .col_expr(invitations::Column::ExpiresAt, Expr::value(millis(expires_at)))
        .col_expr(
            invitations::Column::SendCount,
            Expr::col(invitations::Column::SendCount).add(1),
        );
    update_pending(txn, id, at, update, "reissue a pending invitation").await
}

pub(super) async fn update_invitation(
    txn: &DatabaseTransaction,
    id: &InvitationId,
    role: &Role,
    scopes: &Scopes,
    invited_by: &UserId,
    at: DateTime<Utc>,
) -> DomainResult<()> {
    let update = invitations::Entity::update_many()
        .col_expr(invitations::Column::InvitedBy, Expr::value(invited_by.as_str()))
        .col_expr(invitations::Column::RoleId, Expr::value(role.id.as_str()))
        .col_expr(invitations::Column::RoleName, Expr::value(role.name.as_str()));
    update_pending(txn, id, at, update, "update a pending invitation").await?;
    write_invitation_scopes(txn, id, scopes).await
}

pub(super) async fn finish_invitation(
    txn: &DatabaseTransaction,
    id: &InvitationId,
    state: InvitationState,
    user: Option<&UserId>,
    at: DateTime<Utc>,
) -> DomainResult<()> {
    // Clearing pending_email frees the (account, email) slot for a new invitation.
    let update = invitations::Entity::update_many()
        .col_expr(invitations::Column::State, Expr::value(state.as_str()))
        .col_expr(
            invitations::Column::PendingEmail,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            invitations::Column::AcceptedBy,
            Expr::value(user.map(|u| u.as_str().to_owned())),
        );
    update_pending(txn, id, at, update, "end a pending invitation").await
}

/// Applies `update` to one invitation while it is still pending, stamping its
/// update time. The use case locked the account and saw it pending, so
/// anything but exactly one changed row is an internal error.
async fn update_pending(
    txn: &DatabaseTransaction,
    id: &InvitationId,
    at: DateTime<Utc>,
    update: UpdateMany<invitations::Entity>,
    what: &str,
) -> DomainResult<()> {
    let result = update
        .col_expr(invitations::Column::UpdatedAt, Expr::value(millis(at)))
        .filter(invitations::Column::Id.eq(id.as_str()))
        .filter(invitations::Column::State.eq(InvitationState::Pending.as_str()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    expect_one(result.rows_affected, what)
}

/// Replaces an invitation's scopes.
pub(super) async fn write_invitation_scopes(
    txn: &DatabaseTransaction,
    id: &InvitationId,
    scopes: &Scopes,
) -> DomainResult<()> {
    invitation_scopes::Entity::delete_many()
        .filter(invitation_scopes::Column::InvitationId.eq(id.as_str()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    let rows: Vec<_> = scope_rows(scopes)
        .map(|(t, resource)| invitation_scopes::ActiveModel {
            invitation_id: Set(id.as_str().to_owned()),
            resource_type: Set(t.as_str().to_owned()),
            resource_id: Set(resource),
        })
        .collect();
    if !rows.is_empty() {
        invitation_scopes::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await
            .map_err(from_db_err)?;
    }
    Ok(())
}

/// Stored invitations by state: `(state, n)` rows. COUNT(*), not
/// COUNT(id): SQLite would read the table for the id.
fn count_by_state() -> Select<invitations::Entity> {
    invitations::Entity::find()
        .select_only()
        .column(invitations::Column::State)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(invitations::Column::State)
}

/// Pending invitations past their expiry at `now`: one `n` row.
fn count_expired(now: DateTime<Utc>) -> Select<invitations::Entity> {
    invitations::Entity::find()
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(invitations::Column::State.eq(InvitationState::Pending.as_str()))
        .filter(invitations::Column::ExpiresAt.lte(millis(now)))
}

/// The statements [`invitation_counts`] sends, as `backend` spells them:
/// what a test asks the database to explain.
pub fn invitation_count_statements(backend: DbBackend, now: DateTime<Utc>) -> [Statement; 2] {
    [count_by_state().build(backend), count_expired(now).build(backend)]
}

/// How many invitations are in each state now (pending ones past their
/// expiry counted as expired), for the metrics endpoint: two aggregate
/// statements, whatever the table's size, each answered from
/// `idx_invitations_state_expiry` alone (migration 13): the grouped count
/// reads the index rather than the table, the expired count one range of it.
pub async fn invitation_counts<C: ConnectionTrait>(
    c: &C,
    now: DateTime<Utc>,
) -> DomainResult<Vec<(InvitationState, u64)>> {
    let stored: Vec<(String, i64)> = count_by_state().into_tuple().all(c).await.map_err(from_db_err)?;
    let expired: Option<i64> = count_expired(now)
        .into_tuple()
        .one(c)
        .await
        .map_err(from_db_err)?;
    let expired = expired.and_then(|n| u64::try_from(n).ok()).unwrap_or_default();
    let mut counts = vec![(InvitationState::Expired, expired)];
    for (state, n) in stored {
        let state = stored_invitation_state(&state)?;
        let n = u64::try_from(n).unwrap_or_default();
        // Expiry is derived, never stored: the expired ones are among the pending.
        let n = if state == InvitationState::Pending {
            n.saturating_sub(expired)
        } else {
            n
        };
        counts.push((state, n));
    }
    Ok(counts)
}
