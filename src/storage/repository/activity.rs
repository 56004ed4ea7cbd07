//! The activity log: appended by every write, read newest first.

use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::domain::ids::{AccountId, UserId};
use crate::domain::model::{ActivityAction, ActivityEntry, ActivityFilter, ActivityRecord};
use crate::domain::{DomainError, DomainResult};
use crate::storage::entity::activity_log;
use crate::storage::error::from_db_err;

use super::codec::{millis, time};

pub(super) async fn activity<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    filter: &ActivityFilter,
    limit: usize,
) -> DomainResult<Vec<ActivityRecord>> {
    let mut query = activity_log::Entity::find().filter(activity_log::Column::AccountId.eq(account.as_str()));
    if let Some(actor) = &filter.actor {
        query = query.filter(activity_log::Column::Actor.eq(actor.as_str()));
    }
    if !filter.include_sign_ins {
        query = query.filter(activity_log::Column::Action.ne(ActivityAction::MemberSignIn.as_str()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(activity_log::Column::Action.eq(action.as_str()));
    }
    if let Some(start) = filter.start {
        query = query.filter(activity_log::Column::CreatedAt.gte(millis(start)));
    }
    if let Some(end) = filter.end {
        query = query.filter(activity_log::Column::CreatedAt.lt(millis(end)));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(activity_log::Column::Id.lt(before));
    }
    query
        .order_by_desc(activity_log::Column::Id)
        .limit(u64::try_from(limit).unwrap_or(u64::MAX))
        .all(c)
        .await
        .map_err(from_db_err)?
        .into_iter()
        .map(|row| {
            // Only the use cases write the log, so an unknown action or
            // unreadable details mean the store was changed behind our back.
            let action = ActivityAction::from_storage(&row.action).ok_or_else(|| {
                DomainError::Internal(format!(
                    "activity entry {} has an unknown action '{}'",
                    row.id, row.action
                ))
            })?;
            let details = serde_json::from_str(&row.details).map_err(|err| {
                DomainError::Internal(format!("activity entry {} has unreadable details: {err}", row.id))
            })?;
            Ok(ActivityRecord {
                id: row.id,
                entry: ActivityEntry {
                    at: time(row.created_at)?,
                    account_id: AccountId::from_trusted(row.account_id),
                    actor: UserId::from_trusted(row.actor),
                    action,
                    target: row.target,
                    details,
                },
            })
        })
        .collect()
}

pub(super) async fn append_activity(txn: &DatabaseTransaction, entry: &ActivityEntry) -> DomainResult<()> {
    activity_log::Entity::insert(activity_log::ActiveModel {
        account_id: Set(entry.account_id.as_str().to_owned()),
        actor: Set(entry.actor.as_str().to_owned()),
        action: Set(entry.action.as_str().to_owned()),
        target: Set(entry.target.chars().take(255).collect()),
        details: Set(entry.details.to_string()),
        created_at: Set(millis(entry.at)),
        ..Default::default()
    })
    .exec_without_returning(txn)
    .await
    .map_err(from_db_err)?;
    Ok(())
}
