//! The activity log: appended by every write at its commit, read newest
//! first (ListActivity) or oldest first as changes (the change stream).

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QueryResult, QuerySelect, Select, Statement,
};

use crate::domain::ids::{AccountId, ActivityId, UserId};
use crate::domain::model::{
    ActivityAction, ActivityEntry, ActivityFilter, ActivityRecord, ChangeQuery, ChangeScope, FedChange,
    StoredDetails, Via, ViaKind, WriteReceipt,
};
use crate::domain::{DomainError, DomainResult};
use crate::storage::entity::{accounts, activity_log};
use crate::storage::error::from_db_err;

use super::codec::{millis, time};

/// At most `limit` rows of an ordered query, as records.
async fn records<C: ConnectionTrait>(
    c: &C,
    query: Select<activity_log::Entity>,
    limit: usize,
) -> DomainResult<Vec<ActivityRecord>> {
    query
        .limit(u64::try_from(limit).unwrap_or(u64::MAX))
        .all(c)
        .await
        .map_err(from_db_err)?
        .into_iter()
        .map(to_record)
        .collect()
}

/// A stored row as the domain reads it.
fn to_record(row: activity_log::Model) -> DomainResult<ActivityRecord> {
    // Only the use cases write the log, so an unknown action or details that
    // are not JSON mean the store was changed behind our back. The details
    // are read as any JSON: their shape is the one of the version that
    // wrote them, which may not be today's.
    let action = ActivityAction::from_storage(&row.action).ok_or_else(|| {
        DomainError::Internal(format!(
            "activity entry {} has an unknown action '{}'",
            row.public_id, row.action
        ))
    })?;
    let json = serde_json::from_str(&row.details).map_err(|err| {
        DomainError::Internal(format!(
            "activity entry {} has unreadable details: {err}",
            row.public_id
        ))
    })?;
    Ok(ActivityRecord {
        id: ActivityId::from_trusted(row.public_id),
        seq: row.id,
        revision: u64::try_from(row.revision).unwrap_or_default(),
        entry: ActivityEntry {
            at: time(row.created_at)?,
            account_id: AccountId::from_trusted(row.account_id),
            actor: UserId::from_trusted(row.actor),
            // NULL on entries logged before callers were recorded: unknown.
            via: Via::new(
                ViaKind::from_storage(row.via_kind.as_deref()),
                row.via_name.as_deref().unwrap_or_default(),
            ),
            target: row.target,
            details: StoredDetails::new(action, json),
        },
    })
}

pub(super) async fn activity<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    filter: &ActivityFilter,
    limit: usize,
) -> DomainResult<Vec<ActivityRecord>> {
    let mut query = activity_log::Entity::find().filter(activity_log::Column::AccountId.eq(account.as_str()));
    if let Some(before) = &filter.before {
        // The token is the last entry's opaque id; its place in the order is
        // looked up, so the token says nothing about the history's size.
        let seq: Option<i64> = activity_log::Entity::find()
            .select_only()
            .column(activity_log::Column::Id)
            .filter(activity_log::Column::AccountId.eq(account.as_str()))
            .filter(activity_log::Column::PublicId.eq(before.as_str()))
            .into_tuple()
            .one(c)
            .await
            .map_err(from_db_err)?;
        let seq = seq.ok_or_else(|| {
            DomainError::invalid(
                "page_token",
                "is not a token this service issued for this account's activity",
            )
        })?;
        query = query.filter(activity_log::Column::Id.lt(seq));
    }
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
    records(c, query.order_by_desc(activity_log::Column::Id), limit).await
}

/// Changes of a scope after a point, oldest first: entries with a revision
/// (sign-ins and entries older than the change stream have none).
pub(super) async fn changes<C: ConnectionTrait>(
    c: &C,
    query: &ChangeQuery,
    limit: usize,
) -> DomainResult<Vec<ActivityRecord>> {
    let mut select = activity_log::Entity::find().filter(activity_log::Column::Revision.gt(0));
    select = match &query.scope {
        ChangeScope::Account(account) => select.filter(activity_log::Column::AccountId.eq(account.as_str())),
        // Read at each query, so a child created while a watch runs joins it.
        ChangeScope::Team(parent) => select.filter(
            activity_log::Column::AccountId.in_subquery(
                Query::select()
                    .column(accounts::Column::Id)
                    .from(accounts::Entity)
                    .cond_where(
                        Condition::any()
                            .add(Expr::col(accounts::Column::Id).eq(parent.as_str()))
                            .add(Expr::col(accounts::Column::ParentId).eq(parent.as_str())),
                    )
                    .to_owned(),
            ),
        ),
        ChangeScope::All => select,
    };
    if let Some(revision) = query.after_revision {
        select =
            select.filter(activity_log::Column::Revision.gt(i64::try_from(revision).unwrap_or(i64::MAX)));
    }
    if let Some(seq) = query.after_seq {
        select = select.filter(activity_log::Column::Id.gt(seq));
    }
    records(c, select.order_by_asc(activity_log::Column::Id), limit).await
}

/// A change with its account's team parent, as one row.
struct FedRow {
    row: activity_log::Model,
    parent_id: Option<String>,
}

impl FromQueryResult for FedRow {
    fn from_query_result(result: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        Ok(Self {
            row: activity_log::Model::from_query_result(result, pre)?,
            parent_id: result.try_get(pre, "parent_id")?,
        })
    }
}

/// Changes of every account after `after_seq`, oldest first, each with its
/// account's parent read in the same statement (accounts never change
/// parent, so the parent read now is the one the change was made under).
pub(super) async fn fed_changes<C: ConnectionTrait>(
    c: &C,
    after_seq: i64,
    limit: usize,
) -> DomainResult<Vec<FedChange>> {
    let parent = Query::select()
        .column((accounts::Entity, accounts::Column::ParentId))
        .from(accounts::Entity)
        .and_where(
            Expr::col((accounts::Entity, accounts::Column::Id))
                .equals((activity_log::Entity, activity_log::Column::AccountId)),
        )
        .to_owned();
    activity_log::Entity::find()
        .expr_as(Expr::SubQuery(None, Box::new(parent.into())), "parent_id")
        .filter(activity_log::Column::Revision.gt(0))
        .filter(activity_log::Column::Id.gt(after_seq))
        .order_by_asc(activity_log::Column::Id)
        .limit(u64::try_from(limit).unwrap_or(u64::MAX))
        .into_model::<FedRow>()
        .all(c)
        .await
        .map_err(from_db_err)?
        .into_iter()
        .map(|fed| {
            Ok(FedChange {
                record: to_record(fed.row)?,
                parent: fed.parent_id.map(AccountId::from_trusted),
            })
        })
        .collect()
}

/// The position of the newest entry of the log (0 when it is empty): every
/// change after it is newer. MAX of the primary key, which both databases
/// read from the index's end.
pub(super) async fn last_change_seq<C: ConnectionTrait>(c: &C) -> DomainResult<i64> {
    let newest: Option<Option<i64>> = activity_log::Entity::find()
        .select_only()
        .column_as(activity_log::Column::Id.max(), "newest")
        .into_tuple()
        .one(c)
        .await
        .map_err(from_db_err)?;
    Ok(newest.flatten().unwrap_or(0))
}

/// The account and internal position of the change with this id, if it is one.
pub(super) async fn change_position<C: ConnectionTrait>(
    c: &C,
    id: &ActivityId,
) -> DomainResult<Option<(AccountId, i64)>> {
    let row: Option<(String, i64)> = activity_log::Entity::find()
        .select_only()
        .column(activity_log::Column::AccountId)
        .column(activity_log::Column::Id)
        .filter(activity_log::Column::PublicId.eq(id.as_str()))
        .filter(activity_log::Column::Revision.gt(0))
        .into_tuple()
        .one(c)
        .await
        .map_err(from_db_err)?;
    Ok(row.map(|(account, seq)| (AccountId::from_trusted(account), seq)))
}

/// Appends a committing transaction's entries, once its revisions are
/// bumped (`receipt`), as the last statements before COMMIT.
///
/// Changes first take the one `change_clock` row: it is held to the commit,
/// so the entries of two transactions get their ids in the order the
/// transactions commit, and a reader that has seen an entry has seen every
/// change committed before it (the change stream reads "after id N" and
/// must miss nothing). Sign-ins are not changes: they skip the clock and get
/// no revision, so the busiest write never waits on it.
pub(super) async fn append_activities(
    txn: &DatabaseTransaction,
    entries: &[ActivityEntry],
    receipt: &WriteReceipt,
) -> DomainResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    if entries.iter().any(|entry| entry.action().is_change()) {
        let backend = txn.get_database_backend();
        txn.execute_raw(Statement::from_string(
            backend,
            "UPDATE change_clock SET ticks = ticks + 1 WHERE id = 1",
        ))
        .await
        .map_err(from_db_err)?;
    }
    let rows = entries.iter().map(|entry| {
        let revision = if entry.action().is_change() {
            receipt
                .revisions
                .iter()
                .find(|r| r.account == entry.account_id)
                .map_or(0, |r| i64::try_from(r.revision).unwrap_or(i64::MAX))
        } else {
            0
        };
        activity_log::ActiveModel {
            public_id: Set(ActivityId::generate().as_str().to_owned()),
            revision: Set(revision),
            account_id: Set(entry.account_id.as_str().to_owned()),
            actor: Set(entry.actor.as_str().to_owned()),
            via_kind: Set(Some(entry.via.kind().as_str().to_owned())),
            via_name: Set(Some(entry.via.name().to_owned())),
            action: Set(entry.action().as_str().to_owned()),
            target: Set(entry.target.chars().take(255).collect()),
            details: Set(entry.details.to_json().to_string()),
            created_at: Set(millis(entry.at)),
            ..Default::default()
        }
    });
    activity_log::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await
        .map_err(from_db_err)?;
    Ok(())
}
