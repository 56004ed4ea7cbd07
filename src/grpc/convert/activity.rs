//! The activity log: filtered, paged reads of an account's log entries.

use super::{optional_id, page, present, time_from_pb, timestamp};
use crate::domain::DomainError;
use crate::domain::error::{FieldViolation, echo};
use crate::domain::ids::{AccountId, UserId, Violations};
use crate::domain::model::{ActivityAction, ActivityFilter, ActivityRecord};
use crate::domain::service::ListActivity;
use crate::grpc::pb;

/// The action filter: empty for every action, else an action's exact name.
/// An unknown name is refused (INVALID_ARGUMENT naming the field): it would
/// answer an empty list that looks like "nothing happened".
fn action_from_pb(raw: &str) -> Result<Option<ActivityAction>, FieldViolation> {
    if raw.is_empty() {
        return Ok(None);
    }
    ActivityAction::ALL
        .into_iter()
        .find(|action| action.as_str() == raw)
        .map(Some)
        .ok_or_else(|| {
            FieldViolation::new(
                "filter_action",
                format!(
                    "'{}' is not an activity action (e.g. 'invitation.create', 'member.update'; as ActivityEntry.action names them)",
                    echo(raw)
                ),
            )
        })
}

impl TryFrom<pb::ListActivityRequest> for ListActivity {
    type Error = DomainError;

    fn try_from(raw: pb::ListActivityRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let filter_actor = optional_id(
            &mut v,
            "filter_actor_user_id",
            &raw.filter_actor_user_id,
            UserId::parse,
        );
        let start = v.check(time_from_pb("start_time", raw.start_time.as_ref()));
        let end = v.check(time_from_pb("end_time", raw.end_time.as_ref()));
        if let (Some(Some(start)), Some(Some(end))) = (start, end)
            && start >= end
        {
            // The window is [start, end): an empty one would answer an empty
            // list that looks like "nothing happened".
            v.push(FieldViolation::new(
                "start_time",
                "must be before end_time (the window includes start_time and excludes end_time)",
            ));
        }
        let action = v.check(action_from_pb(&raw.filter_action));
        let page = page(&mut v, raw.page_size, &raw.page_token);
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            filter: ActivityFilter {
                actor: filter_actor,
                // Asking for sign-ins by name lists them.
                include_sign_ins: raw.include_sign_ins
                    || action.flatten() == Some(ActivityAction::MemberSignIn),
                action: present(action)?.map(|action| action.as_str().to_owned()),
                start: present(start)?,
                end: present(end)?,
                before: None,
            },
            page: present(page)?,
        })
    }
}

impl From<ActivityRecord> for pb::ActivityEntry {
    fn from(record: ActivityRecord) -> Self {
        Self {
            id: record.id.as_str().to_owned(),
            account_id: record.entry.account_id.to_string(),
            actor_user_id: record.entry.actor.to_string(),
            action: record.entry.action().as_str().to_owned(),
            target: record.entry.target,
            details_json: record.entry.details.json().to_string(),
            via: Some(record.entry.via.into()),
            create_time: Some(timestamp(record.entry.at)),
            revision: record.revision,
        }
    }
}
