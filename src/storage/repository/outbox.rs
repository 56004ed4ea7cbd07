//! The outbox: messages written with the change that causes them (in its
//! transaction), then claimed, sent and settled by the dispatcher
//! (src/email/dispatcher.rs) through [`OutboxStore`], the domain's
//! [`Outbox`] port.
//!
//! Exactly one attempt is in flight per message across replicas: a
//! dispatcher takes a row by setting its lease (`lease_owner`,
//! `lease_until`) with an update conditional on the lease being free, and
//! settles it with an update conditional on still holding it. On MySQL the
//! claim's read skips rows another replica is claiming (`FOR UPDATE SKIP
//! LOCKED`) rather than queueing behind it; SQLite has one writer anyway.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Statement,
    TransactionTrait,
};

use crate::domain::ids::{AccountId, Email, InvitationId, UserId};
use crate::domain::model::{Delivery, DeliveryState, EmailCounter, MessageKind, OutboxMessage, StoredFacts};
use crate::domain::ports::{ClaimedMessage, Outbox};
use crate::domain::{DomainError, DomainResult};
use crate::storage::entity::{outbox, outbox_invitations};
use crate::storage::error::from_db_err;
use crate::storage::migration::EMAIL_GATES;

use super::codec::{millis, time};

pub(super) async fn enqueue(txn: &DatabaseTransaction, message: &OutboxMessage) -> DomainResult<()> {
    let at = millis(message.created_at);
    outbox::Entity::insert(outbox::ActiveModel {
        id: Set(message.id.clone()),
        account_id: Set(message.account_id.as_str().to_owned()),
        kind: Set(message.kind().as_str().to_owned()),
        recipient: Set(message.recipient.as_str().to_owned()),
        facts: Set(message.facts.to_json().to_string()),
        token: Set(message.token.clone()),
        state: Set(DeliveryState::Queued.as_str().to_owned()),
        attempts: Set(0),
        last_error: Set(None),
        next_attempt_at: Set(at),
        lease_owner: Set(None),
        lease_until: Set(None),
        created_at: Set(at),
        sent_at: Set(None),
        actor_id: Set(message.actor.as_ref().map(|actor| actor.as_str().to_owned())),
    })
    .exec_without_returning(txn)
    .await
    .map_err(from_db_err)?;
    if !message.invitation_ids.is_empty() {
        outbox_invitations::Entity::insert_many(message.invitation_ids.iter().map(|id| {
            outbox_invitations::ActiveModel {
                invitation_id: Set(id.as_str().to_owned()),
                outbox_id: Set(message.id.clone()),
            }
        }))
        .exec_without_returning(txn)
        .await
        .map_err(from_db_err)?;
    }
    Ok(())
}

/// The row of `email_gates` a counter takes its turn on: a stable hash of
/// what it counts, so every replica picks the same one.
fn gate_of(counter: EmailCounter<'_>) -> i32 {
    use sha2::{Digest, Sha256};
    let (kind, key) = match counter {
        EmailCounter::Account(id) => ("account", id.as_str()),
        EmailCounter::Actor(id) => ("actor", id.as_str()),
        EmailCounter::Recipient(email) => ("recipient", email.as_str()),
    };
    let digest = Sha256::new()
        .chain_update(kind)
        .chain_update([0])
        .chain_update(key)
        .finalize();
    i32::from(u16::from_be_bytes([digest[0], digest[1]]) % EMAIL_GATES)
}

/// Locks the gates of `counters` until the transaction ends, in id order
/// (one statement reading the primary key upwards), so two writes never
/// hold one each while waiting for the other's. SQLite needs nothing: one
/// connection runs one transaction at a time.
pub(super) async fn lock_email_counters(
    txn: &DatabaseTransaction,
    counters: &[EmailCounter<'_>],
) -> DomainResult<()> {
    if txn.get_database_backend() != DbBackend::MySql || counters.is_empty() {
        return Ok(());
    }
    let mut gates: Vec<i32> = counters.iter().map(|c| gate_of(*c)).collect();
    gates.sort_unstable();
    gates.dedup();
    let marks = vec!["?"; gates.len()].join(", ");
    let locked = txn
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::MySql,
            format!("SELECT id FROM email_gates WHERE id IN ({marks}) ORDER BY id FOR UPDATE"),
            gates.iter().map(|gate| (*gate).into()),
        ))
        .await
        .map_err(from_db_err)?;
    if locked.len() != gates.len() {
        return Err(DomainError::Internal(format!(
            "email_gates holds {} of the {} gates asked for: the migration did not seed it",
            locked.len(),
            gates.len()
        )));
    }
    Ok(())
}

/// When the `nth` newest email `counter` counts was written, of those
/// written after `since`: one range of the counter's index
/// (`idx_outbox_{account,actor,recipient}_time`), newest first, stopped
/// at the `nth` row.
pub(super) async fn nth_newest_email<C: ConnectionTrait>(
    c: &C,
    counter: EmailCounter<'_>,
    since: DateTime<Utc>,
    nth: u32,
) -> DomainResult<Option<DateTime<Utc>>> {
    let Some(offset) = u64::from(nth).checked_sub(1) else {
        return Ok(None);
    };
    let whose = match counter {
        EmailCounter::Account(id) => outbox::Column::AccountId.eq(id.as_str()),
        EmailCounter::Actor(id) => outbox::Column::ActorId.eq(id.as_str()),
        EmailCounter::Recipient(email) => outbox::Column::Recipient.eq(email.as_str()),
    };
    let at: Option<i64> = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::CreatedAt)
        .filter(whose)
        .filter(outbox::Column::CreatedAt.gt(millis(since)))
        .filter(outbox::Column::Kind.is_in(MessageKind::LIMITED.map(MessageKind::as_str)))
        .order_by_desc(outbox::Column::CreatedAt)
        .offset(offset)
        .limit(1)
        .into_tuple()
        .one(c)
        .await
        .map_err(from_db_err)?;
    at.map(time).transpose()
}

/// When the newest email offering invitation `id` was written.
pub(super) async fn latest_invitation_email<C: ConnectionTrait>(
    c: &C,
    id: &InvitationId,
) -> DomainResult<Option<DateTime<Utc>>> {
    let messages: Vec<String> = outbox_invitations::Entity::find()
        .select_only()
        .column(outbox_invitations::Column::OutboxId)
        .filter(outbox_invitations::Column::InvitationId.eq(id.as_str()))
        .into_tuple()
        .all(c)
        .await
        .map_err(from_db_err)?;
    if messages.is_empty() {
        return Ok(None);
    }
    let at: Option<i64> = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::CreatedAt)
        .filter(outbox::Column::Id.is_in(messages))
        .order_by_desc(outbox::Column::CreatedAt)
        .limit(1)
        .into_tuple()
        .one(c)
        .await
        .map_err(from_db_err)?;
    at.map(time).transpose()
}

/// The delivery of the newest message offering each invitation.
pub(super) async fn deliveries<C: ConnectionTrait>(
    c: &C,
    ids: &[InvitationId],
) -> DomainResult<Vec<(InvitationId, Delivery)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let links = outbox_invitations::Entity::find()
        .filter(outbox_invitations::Column::InvitationId.is_in(ids.iter().map(|id| id.as_str())))
        .all(c)
        .await
        .map_err(from_db_err)?;
    if links.is_empty() {
        return Ok(Vec::new());
    }
    let messages: HashMap<String, outbox::Model> = outbox::Entity::find()
        .filter(outbox::Column::Id.is_in(links.iter().map(|l| l.outbox_id.as_str())))
        .all(c)
        .await
        .map_err(from_db_err)?
        .into_iter()
        .map(|row| (row.id.clone(), row))
        .collect();
    // The newest message per invitation: a resend supersedes the first send.
    let mut newest: HashMap<&str, &outbox::Model> = HashMap::new();
    for link in &links {
        let Some(message) = messages.get(&link.outbox_id) else {
            continue;
        };
        let slot = newest.entry(link.invitation_id.as_str()).or_insert(message);
        if (message.created_at, &message.id) > (slot.created_at, &slot.id) {
            *slot = message;
        }
    }
    newest
        .into_iter()
        .map(|(id, row)| {
            Ok((
                InvitationId::from_trusted(id.to_owned()),
                Delivery {
                    state: delivery_state(&row.state)?,
                    attempts: u32::try_from(row.attempts).unwrap_or(0),
                    last_error: row.last_error.clone().unwrap_or_default(),
                },
            ))
        })
        .collect()
}

fn delivery_state(value: &str) -> DomainResult<DeliveryState> {
    DeliveryState::from_storage(value)
        .ok_or_else(|| DomainError::Internal(format!("unknown delivery state '{value}'")))
}

/// The dispatcher's side of the outbox, on a pool of its own.
#[derive(Clone)]
pub struct OutboxStore {
    db: DatabaseConnection,
}

impl OutboxStore {
    /// The outbox of the database behind `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Outbox for OutboxStore {
    async fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> DomainResult<Option<ClaimedMessage>> {
        if self.db.get_database_backend() == DbBackend::MySql {
            // The read locks the row it returns and skips rows another
            // replica is claiming, so replicas never queue behind each other.
            let txn = self.db.begin().await.map_err(from_db_err)?;
            let claimed = claim_on(&txn, owner, now, lease_until)
                .await
                .map_err(from_db_err)?;
            txn.commit().await.map_err(from_db_err)?;
            Ok(claimed)
        } else {
            // SQLite: one writer, and the conditional update alone decides.
            // No transaction: a dispatcher's write transaction would make a
            // request's transaction on the other pool fail with SQLITE_BUSY.
            claim_on(&self.db, owner, now, lease_until)
                .await
                .map_err(from_db_err)
        }
    }

    async fn queued_after(
        &self,
        after: Option<(i64, String)>,
        limit: u64,
    ) -> DomainResult<Vec<ClaimedMessage>> {
        let rows = queued_after_query(after, limit)
            .all(&self.db)
            .await
            .map_err(from_db_err)?;
        with_links(&self.db, rows).await.map_err(from_db_err)
    }

    async fn prune_settled(&self, cutoff: DateTime<Utc>, limit: u64) -> DomainResult<u64> {
        let settled =
            || outbox::Column::State.is_in([DeliveryState::Sent.as_str(), DeliveryState::Failed.as_str()]);
        // One range of idx_outbox_queued_order per state.
        let ids: Vec<String> = outbox::Entity::find()
            .select_only()
            .column(outbox::Column::Id)
            .filter(settled())
            .filter(outbox::Column::CreatedAt.lt(millis(cutoff)))
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(from_db_err)?;
        if ids.is_empty() {
            return Ok(0);
        }
        let txn = self.db.begin().await.map_err(from_db_err)?;
        outbox_invitations::Entity::delete_many()
            .filter(outbox_invitations::Column::OutboxId.is_in(ids.iter().map(String::as_str)))
            .exec(&txn)
            .await
            .map_err(from_db_err)?;
        let deleted = outbox::Entity::delete_many()
            .filter(outbox::Column::Id.is_in(ids.iter().map(String::as_str)))
            .filter(settled())
            .exec(&txn)
            .await
            .map_err(from_db_err)?;
        txn.commit().await.map_err(from_db_err)?;
        Ok(deleted.rows_affected)
    }

    async fn mark_sent(&self, id: &str, owner: &str, at: DateTime<Utc>) -> DomainResult<bool> {
        let update = outbox::Entity::update_many()
            .col_expr(outbox::Column::State, Expr::value(DeliveryState::Sent.as_str()))
            .col_expr(outbox::Column::SentAt, Expr::value(millis(at)))
            .col_expr(outbox::Column::LastError, Expr::value(Option::<String>::None))
            // A sent message keeps no secret.
            .col_expr(outbox::Column::Token, Expr::value(Option::<String>::None));
        self.settle(id, owner, update).await.map_err(from_db_err)
    }

    async fn mark_failed(
        &self,
        id: &str,
        owner: &str,
        error: &str,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> DomainResult<bool> {
        let update =
            outbox::Entity::update_many().col_expr(outbox::Column::LastError, Expr::value(error.to_owned()));
        let update = match next_attempt_at {
            Some(at) => update.col_expr(outbox::Column::NextAttemptAt, Expr::value(millis(at))),
            None => update
                .col_expr(outbox::Column::State, Expr::value(DeliveryState::Failed.as_str()))
                .col_expr(outbox::Column::Token, Expr::value(Option::<String>::None)),
        };
        self.settle(id, owner, update).await.map_err(from_db_err)
    }
}

impl OutboxStore {
    /// Applies `update` and gives the lease back, only while `owner` holds it.
    async fn settle(
        &self,
        id: &str,
        owner: &str,
        update: sea_orm::UpdateMany<outbox::Entity>,
    ) -> Result<bool, DbErr> {
        let result = update
            .col_expr(outbox::Column::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(outbox::Column::LeaseUntil, Expr::value(Option::<i64>::None))
            .filter(outbox::Column::Id.eq(id))
            .filter(outbox::Column::LeaseOwner.eq(owner))
            .filter(outbox::Column::State.eq(DeliveryState::Queued.as_str()))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected == 1)
    }
}

/// The outbox at a glance, for the metrics endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Messages in each delivery state (states with none are absent).
    pub by_state: Vec<(DeliveryState, u64)>,
    /// When the oldest queued message was written; None when none is queued.
    pub oldest_queued: Option<DateTime<Utc>>,
}

/// Counts the outbox's messages by state (a grouped count over
/// `idx_outbox_due`, not the table) and finds the oldest queued one (the
/// first entry of `idx_outbox_queued_order`'s queued range).
pub async fn outbox_counts<C: ConnectionTrait>(c: &C) -> DomainResult<OutboxCounts> {
    let stored: Vec<(String, i64)> = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::State)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(outbox::Column::State)
        .into_tuple()
        .all(c)
        .await
        .map_err(from_db_err)?;
    let oldest: Option<i64> = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::CreatedAt)
        .filter(outbox::Column::State.eq(DeliveryState::Queued.as_str()))
        .order_by_asc(outbox::Column::CreatedAt)
        .limit(1)
        .into_tuple()
        .one(c)
        .await
        .map_err(from_db_err)?;
    let by_state = stored
        .into_iter()
        .map(|(state, n)| Ok((delivery_state(&state)?, u64::try_from(n).unwrap_or_default())))
        .collect::<DomainResult<_>>()?;
    Ok(OutboxCounts {
        by_state,
        oldest_queued: oldest.map(time).transpose()?,
    })
}

/// The read behind [`OutboxStore::queued_after`]: one range of
/// `idx_outbox_queued_order` (migration 14), stopped after `limit` rows.
fn queued_after_query(after: Option<(i64, String)>, limit: u64) -> Select<outbox::Entity> {
    let mut query = outbox::Entity::find().filter(outbox::Column::State.eq(DeliveryState::Queued.as_str()));
    if let Some((at, id)) = after {
        // `created_at >= at` is what both databases turn into the start of a
        // range; the `OR` alone they would test on every queued row.
        query = query.filter(outbox::Column::CreatedAt.gte(at)).filter(
            Condition::any()
                .add(outbox::Column::CreatedAt.gt(at))
                .add(outbox::Column::Id.gt(id)),
        );
    }
    query
        .order_by_asc(outbox::Column::CreatedAt)
        .order_by_asc(outbox::Column::Id)
        .limit(limit)
}

/// The statement the log-only dispatcher polls with, for a test to ask the
/// database for its plan (it must read an index range, never sort the queue).
pub fn queued_after_statement(backend: DbBackend, after: Option<(i64, String)>, limit: u64) -> Statement {
    queued_after_query(after, limit).build(backend)
}

/// The claim's three statements, in a transaction (MySQL) or not (SQLite).
async fn claim_on<C: ConnectionTrait>(
    c: &C,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Option<ClaimedMessage>, DbErr> {
    let now_ms = millis(now);
    let claimable = || {
        Condition::all()
            .add(outbox::Column::State.eq(DeliveryState::Queued.as_str()))
            .add(outbox::Column::NextAttemptAt.lte(now_ms))
            .add(
                Condition::any()
                    .add(outbox::Column::LeaseUntil.is_null())
                    .add(outbox::Column::LeaseUntil.lte(now_ms)),
            )
    };
    let candidate: Option<String> = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Id)
        .filter(claimable())
        .order_by_asc(outbox::Column::NextAttemptAt)
        .order_by_asc(outbox::Column::Id)
        .limit(1)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_tuple()
        .one(c)
        .await?;
    let Some(id) = candidate else {
        return Ok(None);
    };
    // The condition again: the row is taken only if its lease is still free.
    let taken = outbox::Entity::update_many()
        .col_expr(outbox::Column::LeaseOwner, Expr::value(owner))
        .col_expr(outbox::Column::LeaseUntil, Expr::value(millis(lease_until)))
        .col_expr(
            outbox::Column::Attempts,
            Expr::col(outbox::Column::Attempts).add(1),
        )
        .filter(outbox::Column::Id.eq(id.as_str()))
        .filter(claimable())
        .exec(c)
        .await?;
    if taken.rows_affected != 1 {
        return Ok(None);
    }
    let rows = outbox::Entity::find()
        .filter(outbox::Column::Id.eq(id.as_str()))
        .all(c)
        .await?;
    Ok(with_links(c, rows).await?.pop())
}

/// The rows as messages, with the invitations each offers.
async fn with_links<C: ConnectionTrait>(
    c: &C,
    rows: Vec<outbox::Model>,
) -> Result<Vec<ClaimedMessage>, DbErr> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let links = outbox_invitations::Entity::find()
        .filter(outbox_invitations::Column::OutboxId.is_in(rows.iter().map(|r| r.id.as_str())))
        .all(c)
        .await?;
    rows.into_iter()
        .map(|row| {
            let invitation_ids = links
                .iter()
                .filter(|l| l.outbox_id == row.id)
                .map(|l| InvitationId::from_trusted(l.invitation_id.clone()))
                .collect();
            claimed(row, invitation_ids)
        })
        .collect()
}

fn claimed(row: outbox::Model, invitation_ids: Vec<InvitationId>) -> Result<ClaimedMessage, DbErr> {
    // Only the use cases write the outbox: anything unreadable was changed
    // behind our back. The facts are read as any JSON: their shape is the one
    // of the version that queued the message, which renders it or fails it
    // on its own (a lacking variable fails that message's render).
    let kind = MessageKind::from_storage(&row.kind).ok_or_else(|| {
        DbErr::Custom(format!(
            "outbox message {} has an unknown kind '{}'",
            row.id, row.kind
        ))
    })?;
    let facts = serde_json::from_str(&row.facts)
        .map_err(|err| DbErr::Custom(format!("outbox message {} has unreadable facts: {err}", row.id)))?;
    let created_at = time(row.created_at).map_err(|err| DbErr::Custom(err.to_string()))?;
    Ok(ClaimedMessage {
        attempts: u32::try_from(row.attempts).unwrap_or(0),
        created_ms: row.created_at,
        message: OutboxMessage {
            id: row.id,
            account_id: AccountId::from_trusted(row.account_id),
            recipient: Email::from_trusted(row.recipient),
            facts: StoredFacts::new(kind, facts),
            token: row.token,
            actor: row.actor_id.map(UserId::from_trusted),
            invitation_ids,
            created_at,
        },
    })
}
