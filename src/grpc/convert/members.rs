//! Members: list, update, deactivate, reactivate, remove, leave, transfer
//! ownership and record sign-ins.

use super::decisions::{end_from_pb, end_to_pb};
use super::{optional_id, page, permission_set, present, scopes, scopes_to_pb, time_from_pb, timestamp};
use crate::domain::DomainError;
use crate::domain::error::FieldViolation;
use crate::domain::ids::{AccountId, RoleName, UserId, Violations};
use crate::domain::model::{Expiry, MemberRow, MemberRowStatus};
use crate::domain::service::{EndAt, ListUsers, MemberEnds, UpdateMember};
use crate::grpc::pb;

/// An actor acting on another member of an account (DeactivateMember,
/// ReactivateMember, RemoveMember).
#[derive(Debug)]
pub struct MemberTarget {
    /// Who asks.
    pub actor: UserId,
    /// The account the member belongs to.
    pub account_id: AccountId,
    /// The member acted on.
    pub member: UserId,
}

impl MemberTarget {
    /// Parses the actor, the account and the member, named `member_field` in the request.
    fn parse(actor: &str, account: &str, member_field: &str, member: &str) -> Result<Self, DomainError> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", actor));
        let account_id = v.check(AccountId::parse("account_id", account));
        let member = v.check(UserId::parse(member_field, member));
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            member: present(member)?,
        })
    }
}

impl TryFrom<pb::DeactivateMemberRequest> for MemberTarget {
    type Error = DomainError;

    fn try_from(raw: pb::DeactivateMemberRequest) -> Result<Self, Self::Error> {
        Self::parse(&raw.actor_user_id, &raw.account_id, "user_id", &raw.user_id)
    }
}

impl TryFrom<pb::ReactivateMemberRequest> for MemberTarget {
    type Error = DomainError;

    fn try_from(raw: pb::ReactivateMemberRequest) -> Result<Self, Self::Error> {
        Self::parse(&raw.actor_user_id, &raw.account_id, "user_id", &raw.user_id)
    }
}

impl TryFrom<pb::RemoveMemberRequest> for MemberTarget {
    type Error = DomainError;

    fn try_from(raw: pb::RemoveMemberRequest) -> Result<Self, Self::Error> {
        Self::parse(&raw.actor_user_id, &raw.account_id, "user_id", &raw.user_id)
    }
}

/// TransferOwnership: who hands which account to which member.
#[derive(Debug)]
pub struct OwnershipTransfer {
    /// Who asks (the current owner).
    pub actor: UserId,
    /// The account changing hands.
    pub account_id: AccountId,
    /// The member who becomes the owner.
    pub new_owner: UserId,
}

impl TryFrom<pb::TransferOwnershipRequest> for OwnershipTransfer {
    type Error = DomainError;

    fn try_from(raw: pb::TransferOwnershipRequest) -> Result<Self, Self::Error> {
        let MemberTarget {
            actor,
            account_id,
            member,
        } = MemberTarget::parse(
            &raw.actor_user_id,
            &raw.account_id,
            "new_owner_user_id",
            &raw.new_owner_user_id,
        )?;
        Ok(Self {
            actor,
            account_id,
            new_owner: member,
        })
    }
}

/// A user acting on their own membership (LeaveAccount, RecordSignIn).
#[derive(Debug)]
pub struct UserInAccount {
    /// The user, who is also the actor.
    pub user_id: UserId,
    /// The account of the membership.
    pub account_id: AccountId,
}

impl UserInAccount {
    fn parse(user: &str, account: &str) -> Result<Self, DomainError> {
        let mut v = Violations::default();
        let user_id = v.check(UserId::parse("user_id", user));
        let account_id = v.check(AccountId::parse("account_id", account));
        v.finish()?;
        Ok(Self {
            user_id: present(user_id)?,
            account_id: present(account_id)?,
        })
    }
}

impl TryFrom<pb::LeaveAccountRequest> for UserInAccount {
    type Error = DomainError;

    fn try_from(raw: pb::LeaveAccountRequest) -> Result<Self, Self::Error> {
        Self::parse(&raw.user_id, &raw.account_id)
    }
}

impl TryFrom<pb::RecordSignInRequest> for UserInAccount {
    type Error = DomainError;

    fn try_from(raw: pb::RecordSignInRequest) -> Result<Self, Self::Error> {
        Self::parse(&raw.user_id, &raw.account_id)
    }
}

impl TryFrom<pb::UpdateMemberRequest> for UpdateMember {
    type Error = DomainError;

    fn try_from(raw: pb::UpdateMemberRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let user_id = v.check(UserId::parse("user_id", &raw.user_id));
        let role = optional_id(&mut v, "role", &raw.role, RoleName::parse);
        let scopes = match &raw.scopes {
            Some(list) => scopes(&mut v, &"scopes.scopes", &list.scopes).map(Some),
            None => Some(None),
        };
        let grants = match &raw.extra_permissions {
            Some(list) => {
                permission_set(&mut v, "extra_permissions.permissions", &list.permissions).map(Some)
            }
            None => Some(None),
        };
        let ends = member_ends(&mut v, raw.access_end.as_ref(), raw.entry_ends.as_ref());
        if raw.role.is_empty()
            && raw.scopes.is_none()
            && raw.extra_permissions.is_none()
            && raw.access_end.is_none()
            && raw.entry_ends.is_none()
        {
            v.push(FieldViolation::new(
                "role",
                "name a new role, scopes, extra permissions or ends: there is nothing to change",
            ));
        }
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            user_id: present(user_id)?,
            role,
            scopes: present(scopes)?,
            grants: present(grants)?,
            ends: present(ends)?,
        })
    }
}

/// UpdateMember's changes to ends (rule 17).
fn member_ends(
    v: &mut Violations,
    access_end: Option<&pb::AccessEndChange>,
    entry_ends: Option<&pb::AccessEndList>,
) -> Option<MemberEnds> {
    use pb::access_end_change::Change;
    let membership = match access_end.map(|c| c.change.as_ref()) {
        None => Some(None),
        Some(Some(Change::EndTime(at))) => v
            .check(time_from_pb("access_end.end_time", Some(at)))
            .map(|at| at.map(|at| Some(EndAt::At(at)))),
        Some(Some(Change::Clear(true))) => Some(Some(None)),
        Some(Some(Change::Days(days))) if *days > 0 => Some(Some(Some(EndAt::DaysFromNow(*days)))),
        Some(Some(Change::Days(_))) => {
            v.push(FieldViolation::new("access_end.days", "is 1 or more"));
            None
        }
        Some(Some(Change::Clear(false)) | None) => {
            v.push(FieldViolation::new(
                "access_end",
                "set end_time, or clear: true to remove the end",
            ));
            None
        }
    };
    let entries = match entry_ends {
        None => Some(None),
        Some(list) => {
            let parsed: Vec<Option<Expiry>> = list
                .ends
                .iter()
                .enumerate()
                .map(|(index, end)| v.check(end_from_pb(&format!("entry_ends.ends[{index}]"), end)))
                .collect();
            parsed.into_iter().collect::<Option<Vec<_>>>().map(Some)
        }
    };
    Some(MemberEnds {
        membership: membership?,
        entries: entries?,
    })
}

fn status_filter(raw: i32) -> Result<Option<MemberRowStatus>, FieldViolation> {
    match pb::MemberStatus::try_from(raw) {
        Ok(pb::MemberStatus::Unspecified) => Ok(None),
        Ok(pb::MemberStatus::Active) => Ok(Some(MemberRowStatus::Active)),
        Ok(pb::MemberStatus::Pending) => Ok(Some(MemberRowStatus::Pending)),
        Ok(pb::MemberStatus::Deactivated) => Ok(Some(MemberRowStatus::Deactivated)),
        Ok(pb::MemberStatus::InvitationExpired) => Ok(Some(MemberRowStatus::InvitationExpired)),
        Ok(pb::MemberStatus::Expired) => Ok(Some(MemberRowStatus::Expired)),
        Err(_) => Err(FieldViolation::new(
            "status",
            format!("{raw} is not a MemberStatus value"),
        )),
    }
}

impl TryFrom<pb::ListUsersRequest> for ListUsers {
    type Error = DomainError;

    fn try_from(raw: pb::ListUsersRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let page = page(&mut v, raw.page_size, &raw.page_token);
        let status = v.check(status_filter(raw.status));
        let role = optional_id(&mut v, "role", &raw.role, RoleName::parse);
        let ends_within =
            (raw.ends_within_days > 0).then(|| chrono::Duration::days(i64::from(raw.ends_within_days)));
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            page: present(page)?,
            status: present(status)?,
            role,
            ends_within,
        })
    }
}

impl From<MemberRow> for pb::Member {
    fn from(row: MemberRow) -> Self {
        let status = match row.status {
            MemberRowStatus::Active => pb::MemberStatus::Active,
            MemberRowStatus::Pending => pb::MemberStatus::Pending,
            MemberRowStatus::InvitationExpired => pb::MemberStatus::InvitationExpired,
            MemberRowStatus::Deactivated => pb::MemberStatus::Deactivated,
            MemberRowStatus::Expired => pb::MemberStatus::Expired,
        };
        Self {
            scopes: scopes_to_pb(&row.scopes),
            user_id: row.user_id.map(|u| u.to_string()).unwrap_or_default(),
            name: row.name,
            email: row.email.to_string(),
            role: row.role,
            status: status.into(),
            is_owner: row.is_owner,
            invited_by: row.invited_by.map(|u| u.to_string()).unwrap_or_default(),
            join_time: row.joined_at.map(timestamp),
            last_sign_in_time: row.last_sign_in_at.map(timestamp),
            invitation_id: row.invitation_id.map(|i| i.to_string()).unwrap_or_default(),
            extra_permissions: row.grants.names().into_iter().map(str::to_owned).collect(),
            ends: row.ends.all().iter().map(end_to_pb).collect(),
        }
    }
}
