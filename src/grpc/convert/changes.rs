//! The change stream: a WatchChanges request into a watch, a change into
//! the event WatchChanges sends (the Redis publisher writes the same fields).

use super::{optional_id, present, timestamp};
use crate::domain::DomainError;
use crate::domain::error::FieldViolation;
use crate::domain::ids::{AccountId, ActivityId, UserId, Violations};
use crate::domain::model::{ActivityRecord, ChangeScope, PlatformActor};
use crate::domain::service::{WatchChanges, Watcher, every_account_is_the_platforms};
use crate::grpc::pb;

/// Reads a WatchChanges request; `platform` is the caller when its key holds
/// the platform scope (it may then watch without an actor).
pub fn watch_request(
    raw: &pb::WatchChangesRequest,
    platform: Option<PlatformActor>,
) -> Result<WatchChanges, DomainError> {
    let mut v = Violations::default();
    let actor = optional_id(&mut v, "actor_user_id", &raw.actor_user_id, UserId::parse);
    let account = optional_id(&mut v, "account_id", &raw.account_id, AccountId::parse);
    let team = optional_id(&mut v, "team_account_id", &raw.team_account_id, AccountId::parse);
    let after = optional_id(&mut v, "after_id", &raw.after_id, ActivityId::parse);
    let chosen = usize::from(!raw.account_id.is_empty())
        + usize::from(!raw.team_account_id.is_empty())
        + usize::from(raw.all_accounts);
    if chosen != 1 {
        v.push(FieldViolation::new(
            "account_id",
            "name exactly one scope: account_id, team_account_id or all_accounts",
        ));
    }
    if raw.after_revision != 0 && raw.account_id.is_empty() {
        v.push(FieldViolation::new(
            "after_revision",
            "resumes one account only (revisions are per account); a team or all accounts resume with after_id",
        ));
    }
    let watcher = match (actor, platform) {
        (Some(actor), _) => Some(Watcher::Member(actor)),
        (None, Some(platform)) => Some(Watcher::Platform(platform)),
        (None, None) => {
            // Every account without the platform scope is refused below as
            // the key's shortfall (SCOPE_MISSING): an actor would not help.
            if raw.actor_user_id.is_empty() && !raw.all_accounts {
                v.push(FieldViolation::new(
                    "actor_user_id",
                    "must name the person watching (only a key with the platform scope may watch without one)",
                ));
            }
            None
        }
    };
    v.finish()?;
    let scope = match (account, team) {
        (Some(account), _) => ChangeScope::Account(account),
        (None, Some(team)) => ChangeScope::Team(team),
        (None, None) => ChangeScope::All,
    };
    let watcher = match (watcher, &scope) {
        (Some(watcher), _) => watcher,
        (None, ChangeScope::All) => return Err(every_account_is_the_platforms()),
        (None, ChangeScope::Account(_) | ChangeScope::Team(_)) => present(None)?,
    };
    Ok(WatchChanges {
        watcher,
        scope,
        after_revision: (raw.after_revision != 0).then_some(raw.after_revision),
        after,
    })
}

impl From<ActivityRecord> for pb::ChangeEvent {
    fn from(record: ActivityRecord) -> Self {
        Self {
            id: record.id.as_str().to_owned(),
            account_id: record.entry.account_id.to_string(),
            revision: record.revision,
            kind: record.entry.action().as_str().to_owned(),
            target: record.entry.target,
            actor_user_id: record.entry.actor.to_string(),
            create_time: Some(timestamp(record.entry.at)),
            details_json: record.entry.details.json().to_string(),
            via: Some(record.entry.via.into()),
        }
    }
}
