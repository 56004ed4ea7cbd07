//! Access requests: a member asks for a permission, an admin decides.

use super::{page, present, time_from_pb, timestamp};
use crate::domain::DomainError;
use crate::domain::error::FieldViolation;
use crate::domain::ids::{AccessRequestId, AccountId, UserId, Violations, parse_note};
use crate::domain::model::{AccessRequest, AccessRequestState};
use crate::domain::permissions::Permission;
use crate::domain::service::{GrantEnd, ListAccessRequests, RequestAccess};
use crate::grpc::pb;

/// DecideAccessRequest: who approves or rejects which request.
#[derive(Debug)]
pub struct AccessRequestDecision {
    /// Who decides.
    pub actor: UserId,
    /// The request decided on.
    pub access_request_id: AccessRequestId,
    /// True to grant the permission, false to reject.
    pub approve: bool,
    /// When an approved grant ends, if it does (rule 17).
    pub grant_end: Option<GrantEnd>,
}

impl TryFrom<pb::DecideAccessRequestRequest> for AccessRequestDecision {
    type Error = DomainError;

    fn try_from(raw: pb::DecideAccessRequestRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let access_request_id = v.check(AccessRequestId::parse(
            "access_request_id",
            &raw.access_request_id,
        ));
        use pb::decide_access_request_request::GrantEnd as Raw;
        let grant_end = match &raw.grant_end {
            None => None,
            Some(_) if !raw.approve => {
                v.push(FieldViolation::new(
                    "grant_end",
                    "an end is for an approval: leave it out when rejecting",
                ));
                None
            }
            Some(Raw::GrantDays(0)) => {
                v.push(FieldViolation::new("grant_days", "is 1 or more"));
                None
            }
            Some(Raw::GrantDays(days)) => Some(GrantEnd::Days(*days)),
            Some(Raw::GrantEndTime(at)) => v
                .check(time_from_pb("grant_end_time", Some(at)))
                .flatten()
                .map(GrantEnd::At),
        };
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            access_request_id: present(access_request_id)?,
            approve: raw.approve,
            grant_end,
        })
    }
}

impl TryFrom<pb::RequestAccessRequest> for RequestAccess {
    type Error = DomainError;

    fn try_from(raw: pb::RequestAccessRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let user_id = v.check(UserId::parse("user_id", &raw.user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let permission = v.check(Permission::parse("permission", &raw.permission));
        let note = v.check(parse_note("note", &raw.note));
        v.finish()?;
        Ok(Self {
            user_id: present(user_id)?,
            account_id: present(account_id)?,
            permission: present(permission)?,
            note: present(note)?,
        })
    }
}

fn access_request_state_filter(raw: i32) -> Result<Option<AccessRequestState>, FieldViolation> {
    match pb::AccessRequestState::try_from(raw) {
        Ok(pb::AccessRequestState::Unspecified) => Ok(None),
        Ok(pb::AccessRequestState::Pending) => Ok(Some(AccessRequestState::Pending)),
        Ok(pb::AccessRequestState::Approved) => Ok(Some(AccessRequestState::Approved)),
        Ok(pb::AccessRequestState::Rejected) => Ok(Some(AccessRequestState::Rejected)),
        Err(_) => Err(FieldViolation::new(
            "state",
            format!("{raw} is not an AccessRequestState value"),
        )),
    }
}

impl TryFrom<pb::ListAccessRequestsRequest> for ListAccessRequests {
    type Error = DomainError;

    fn try_from(raw: pb::ListAccessRequestsRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let state = v.check(access_request_state_filter(raw.state));
        let page = page(&mut v, raw.page_size, &raw.page_token);
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            state: present(state)?,
            page: present(page)?,
        })
    }
}

impl From<AccessRequest> for pb::AccessRequest {
    fn from(request: AccessRequest) -> Self {
        let state = match request.state {
            AccessRequestState::Pending => pb::AccessRequestState::Pending,
            AccessRequestState::Approved => pb::AccessRequestState::Approved,
            AccessRequestState::Rejected => pb::AccessRequestState::Rejected,
        };
        Self {
            id: request.id.to_string(),
            account_id: request.account_id.to_string(),
            user_id: request.user_id.to_string(),
            permission: request.permission.name().to_owned(),
            note: request.note,
            state: state.into(),
            decided_by: request.decided_by.map(|u| u.to_string()).unwrap_or_default(),
            create_time: Some(timestamp(request.created_at)),
            decide_time: request.decided_at.map(timestamp),
        }
    }
}
