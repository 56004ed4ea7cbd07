//! The details of each activity action, typed: what an entry records
//! beyond its actor and target.

use serde::Serialize;

use super::ActivityAction;
use crate::domain::model::Membership;
use crate::domain::permissions::PermissionSet;

/// What an entry records beyond its actor and target, one shape per action:
/// the variant is the action, so an entry cannot carry another action's
/// facts, and each shape's keys are written once, here. Stored (and shown as
/// `details_json`) as a JSON object with its keys in alphabetical order;
/// the shapes are part of the stored log, so a key is never renamed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActivityDetails {
    /// `account.create`.
    AccountCreate(AccountCreated),
    /// `account.policy`.
    AccountPolicy(PolicyChanged),
    /// `account.limits`.
    AccountLimits(LimitsChanged),
    /// `account.close`.
    AccountClose(AccountClosed),
    /// `account.transfer`.
    AccountTransfer(OwnershipMoved),
    /// `member.update`.
    MemberUpdate(MemberUpdated),
    /// `member.remove`.
    MemberRemove(MemberStanding),
    /// `member.leave`.
    MemberLeave(MemberStanding),
    /// `member.sign_in`: no details.
    MemberSignIn,
    /// `member.deactivate`.
    MemberDeactivate(MemberStanding),
    /// `member.reactivate`.
    MemberReactivate(MemberStanding),
    /// `invitation.create`.
    InvitationCreate(InvitationTerms),
    /// `invitation.accept`.
    InvitationAccept(InvitationAccepted),
    /// `invitation.decline`.
    InvitationDecline(InvitationNamed),
    /// `invitation.resend`.
    InvitationResend(InvitationResent),
    /// `invitation.revoke`.
    InvitationRevoke(InvitationNamed),
    /// `invitation.update`.
    InvitationUpdate(InvitationTerms),
    /// `role.create`.
    RoleCreate(RolePermissions),
    /// `role.update`.
    RoleUpdate(RolePermissions),
    /// `role.delete`: no details.
    RoleDelete,
    /// `access_request.create`.
    AccessRequestCreate(AccessRequested),
    /// `access_request.approve`.
    AccessRequestApprove(AccessDecided),
    /// `access_request.reject`.
    AccessRequestReject(AccessDecided),
    /// `template.share`.
    TemplateShare(SharedWith),
    /// `template.unshare`: no details.
    TemplateUnshare,
    /// `suppression_list.share`.
    SuppressionListShare(SharedWith),
    /// `suppression_list.unshare`: no details.
    SuppressionListUnshare,
}

/// `account.create`: the account as created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountCreated {
    /// Its name.
    pub name: String,
    /// Its owner's user id.
    pub owner: String,
    /// Its parent's id, for a child account (null otherwise).
    pub parent: Option<String>,
}

/// `account.policy`: the two-factor policy set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyChanged {
    /// Whether the account now requires two-factor.
    pub require_two_factor: bool,
}

/// `account.limits`: the plan quotas set (null: none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LimitsChanged {
    /// Most seats.
    pub max_members: Option<u32>,
    /// Most seats on restricted roles.
    pub max_restricted_members: Option<u32>,
}

/// `account.close`: why, when the platform said.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AccountClosed {
    /// The platform's reason; absent (not null) when none was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `account.transfer`: who owned it, who owns it now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OwnershipMoved {
    /// The previous owner's user id.
    pub previous_owner: String,
    /// The new owner's user id.
    pub new_owner: String,
}

/// `member.update`: the member's terms after the change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemberUpdated {
    /// The role now.
    pub role: String,
    /// The role before.
    pub previous_role: String,
    /// Whether the member now has resource scopes.
    pub scoped: bool,
    /// The extra grants now, by name.
    pub extra_permissions: Vec<String>,
}

/// `member.remove`, `.leave`, `.deactivate`, `.reactivate`: who the member was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemberStanding {
    /// The member's email.
    pub email: String,
    /// The member's role.
    pub role: String,
}

impl MemberStanding {
    /// The member as the entry names them.
    pub fn of(member: &Membership) -> Self {
        Self {
            email: member.person.email.to_string(),
            role: member.role.name.to_string(),
        }
    }
}

/// `invitation.create`, `invitation.update`: the terms offered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvitationTerms {
    /// The invitation.
    pub invitation_id: String,
    /// The role offered.
    pub role: String,
    /// Whether the offer has resource scopes.
    pub scoped: bool,
}

/// `invitation.accept`: the invitation and the role it gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvitationAccepted {
    /// The invitation.
    pub invitation_id: String,
    /// The role the invitee now holds.
    pub role: String,
}

/// `invitation.decline`, `invitation.revoke`: which invitation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvitationNamed {
    /// The invitation.
    pub invitation_id: String,
}

/// `invitation.resend`: which invitation, sent how many times now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvitationResent {
    /// The invitation.
    pub invitation_id: String,
    /// How many times it has been sent, this one included.
    pub send_count: u32,
}

/// `role.create`, `role.update`: the role's permissions now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RolePermissions {
    /// By name, sorted.
    pub permissions: Vec<String>,
}

impl RolePermissions {
    /// The permissions of `set`, by name.
    pub fn of(set: PermissionSet) -> Self {
        Self {
            permissions: set.names().into_iter().map(String::from).collect(),
        }
    }
}

/// `access_request.create`: the request and its note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessRequested {
    /// The request.
    pub request_id: String,
    /// The requester's note (may be empty).
    pub note: String,
}

/// `access_request.approve`, `.reject`: the request and what it asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessDecided {
    /// The request.
    pub request_id: String,
    /// The permission asked for, by name.
    pub permission: String,
}

/// `template.share`, `suppression_list.share`: with whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SharedWith {
    /// Shared with every child, present and future.
    pub all_children: bool,
    /// Else the children named.
    pub children: Vec<String>,
}

impl ActivityDetails {
    /// The action these are the details of.
    pub fn action(&self) -> ActivityAction {
        match self {
            Self::AccountCreate(_) => ActivityAction::AccountCreate,
            Self::AccountPolicy(_) => ActivityAction::AccountPolicy,
            Self::AccountLimits(_) => ActivityAction::AccountLimits,
            Self::AccountClose(_) => ActivityAction::AccountClose,
            Self::AccountTransfer(_) => ActivityAction::AccountTransfer,
            Self::MemberUpdate(_) => ActivityAction::MemberUpdate,
            Self::MemberRemove(_) => ActivityAction::MemberRemove,
            Self::MemberLeave(_) => ActivityAction::MemberLeave,
            Self::MemberSignIn => ActivityAction::MemberSignIn,
            Self::MemberDeactivate(_) => ActivityAction::MemberDeactivate,
            Self::MemberReactivate(_) => ActivityAction::MemberReactivate,
            Self::InvitationCreate(_) => ActivityAction::InvitationCreate,
            Self::InvitationAccept(_) => ActivityAction::InvitationAccept,
            Self::InvitationDecline(_) => ActivityAction::InvitationDecline,
            Self::InvitationResend(_) => ActivityAction::InvitationResend,
            Self::InvitationRevoke(_) => ActivityAction::InvitationRevoke,
            Self::InvitationUpdate(_) => ActivityAction::InvitationUpdate,
            Self::RoleCreate(_) => ActivityAction::RoleCreate,
            Self::RoleUpdate(_) => ActivityAction::RoleUpdate,
            Self::RoleDelete => ActivityAction::RoleDelete,
            Self::AccessRequestCreate(_) => ActivityAction::AccessRequestCreate,
            Self::AccessRequestApprove(_) => ActivityAction::AccessRequestApprove,
            Self::AccessRequestReject(_) => ActivityAction::AccessRequestReject,
            Self::TemplateShare(_) => ActivityAction::TemplateShare,
            Self::TemplateUnshare => ActivityAction::TemplateUnshare,
            Self::SuppressionListShare(_) => ActivityAction::SuppressionListShare,
            Self::SuppressionListUnshare => ActivityAction::SuppressionListUnshare,
        }
    }

    /// The stored JSON object. Through `serde_json::Value`, whose objects
    /// keep their keys sorted: the bytes the log has always held.
    pub fn to_json(&self) -> serde_json::Value {
        fn value(details: &impl Serialize) -> serde_json::Value {
            // Plain structs of strings, numbers and lists: serializing cannot fail.
            serde_json::to_value(details).unwrap_or_else(|_| serde_json::Value::Object(Default::default()))
        }
        match self {
            Self::AccountCreate(d) => value(d),
            Self::AccountPolicy(d) => value(d),
            Self::AccountLimits(d) => value(d),
            Self::AccountClose(d) => value(d),
            Self::AccountTransfer(d) => value(d),
            Self::MemberUpdate(d) => value(d),
            Self::MemberRemove(d)
            | Self::MemberLeave(d)
            | Self::MemberDeactivate(d)
            | Self::MemberReactivate(d) => value(d),
            Self::InvitationCreate(d) | Self::InvitationUpdate(d) => value(d),
            Self::InvitationAccept(d) => value(d),
            Self::InvitationDecline(d) | Self::InvitationRevoke(d) => value(d),
            Self::InvitationResend(d) => value(d),
            Self::RoleCreate(d) | Self::RoleUpdate(d) => value(d),
            Self::AccessRequestCreate(d) => value(d),
            Self::AccessRequestApprove(d) | Self::AccessRequestReject(d) => value(d),
            Self::TemplateShare(d) | Self::SuppressionListShare(d) => value(d),
            Self::MemberSignIn | Self::RoleDelete | Self::TemplateUnshare | Self::SuppressionListUnshare => {
                serde_json::Value::Object(Default::default())
            }
        }
    }
}

/// An entry's details as the log holds them: its action and the JSON object
/// stored with it, whatever its shape. The shapes changed over the log's
/// history (keys added, removed), so what was stored is read back as it is,
/// never through today's [`ActivityDetails`]: an older entry is shown as it
/// was written, with every key it has.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredDetails {
    action: ActivityAction,
    json: serde_json::Value,
}

impl StoredDetails {
    /// The details stored for an entry of `action`.
    pub fn new(action: ActivityAction, json: serde_json::Value) -> Self {
        Self { action, json }
    }

    /// The action they are the details of.
    pub fn action(&self) -> ActivityAction {
        self.action
    }

    /// The JSON as stored.
    pub fn json(&self) -> &serde_json::Value {
        &self.json
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// One entry of each action, with the JSON the log has always stored
    /// for it (as the use cases built it with `json!`).
    fn every_shape() -> Vec<(ActivityDetails, serde_json::Value)> {
        let standing = || MemberStanding {
            email: "bob@example.com".into(),
            role: "viewer".into(),
        };
        let standing_json = json!({ "email": "bob@example.com", "role": "viewer" });
        let terms = || InvitationTerms {
            invitation_id: "i1".into(),
            role: "manager".into(),
            scoped: true,
        };
        let terms_json = json!({ "invitation_id": "i1", "role": "manager", "scoped": true });
        let named = || InvitationNamed {
            invitation_id: "i1".into(),
        };
        let perms = || RolePermissions {
            permissions: vec!["lists.view".into(), "reports.view".into()],
        };
        let perms_json = json!({ "permissions": ["lists.view", "reports.view"] });
        let decided = || AccessDecided {
            request_id: "r1".into(),
            permission: "billing.view".into(),
        };
        let decided_json = json!({ "request_id": "r1", "permission": "billing.view" });
        let shared = || SharedWith {
            all_children: false,
            children: vec!["acme-eu".into()],
        };
        let shared_json = json!({ "all_children": false, "children": ["acme-eu"] });
        vec![
            (
                ActivityDetails::AccountCreate(AccountCreated {
                    name: "Acme".into(),
                    owner: "olivia".into(),
                    parent: None,
                }),
                json!({ "name": "Acme", "owner": "olivia", "parent": null }),
            ),
            (
                ActivityDetails::AccountPolicy(PolicyChanged {
                    require_two_factor: true,
                }),
                json!({ "require_two_factor": true }),
            ),
            (
                ActivityDetails::AccountLimits(LimitsChanged {
                    max_members: Some(5),
                    max_restricted_members: None,
                }),
                json!({ "max_members": 5, "max_restricted_members": null }),
            ),
            (ActivityDetails::AccountClose(AccountClosed::default()), json!({})),
            (
                ActivityDetails::AccountClose(AccountClosed {
                    reason: Some("unpaid".into()),
                }),
                json!({ "reason": "unpaid" }),
            ),
            (
                ActivityDetails::AccountTransfer(OwnershipMoved {
                    previous_owner: "olivia".into(),
                    new_owner: "bob".into(),
                }),
                json!({ "previous_owner": "olivia", "new_owner": "bob" }),
            ),
            (
                ActivityDetails::MemberUpdate(MemberUpdated {
                    role: "manager".into(),
                    previous_role: "viewer".into(),
                    scoped: false,
                    extra_permissions: vec!["billing.view".into()],
                }),
                json!({
                    "role": "manager", "previous_role": "viewer", "scoped": false,
                    "extra_permissions": ["billing.view"],
                }),
            ),
            (ActivityDetails::MemberRemove(standing()), standing_json.clone()),
            (ActivityDetails::MemberLeave(standing()), standing_json.clone()),
            (ActivityDetails::MemberSignIn, json!({})),
            (
                ActivityDetails::MemberDeactivate(standing()),
                standing_json.clone(),
            ),
            (ActivityDetails::MemberReactivate(standing()), standing_json),
            (ActivityDetails::InvitationCreate(terms()), terms_json.clone()),
            (
                ActivityDetails::InvitationAccept(InvitationAccepted {
                    invitation_id: "i1".into(),
                    role: "manager".into(),
                }),
                json!({ "invitation_id": "i1", "role": "manager" }),
            ),
            (
                ActivityDetails::InvitationDecline(named()),
                json!({ "invitation_id": "i1" }),
            ),
            (
                ActivityDetails::InvitationResend(InvitationResent {
                    invitation_id: "i1".into(),
                    send_count: 2,
                }),
                json!({ "invitation_id": "i1", "send_count": 2 }),
            ),
            (
                ActivityDetails::InvitationRevoke(named()),
                json!({ "invitation_id": "i1" }),
            ),
            (ActivityDetails::InvitationUpdate(terms()), terms_json),
            (ActivityDetails::RoleCreate(perms()), perms_json.clone()),
            (ActivityDetails::RoleUpdate(perms()), perms_json),
            (ActivityDetails::RoleDelete, json!({})),
            (
                ActivityDetails::AccessRequestCreate(AccessRequested {
                    request_id: "r1".into(),
                    note: String::new(),
                }),
                json!({ "request_id": "r1", "note": "" }),
            ),
            (
                ActivityDetails::AccessRequestApprove(decided()),
                decided_json.clone(),
            ),
            (ActivityDetails::AccessRequestReject(decided()), decided_json),
            (ActivityDetails::TemplateShare(shared()), shared_json.clone()),
            (ActivityDetails::TemplateUnshare, json!({})),
            (ActivityDetails::SuppressionListShare(shared()), shared_json),
            (ActivityDetails::SuppressionListUnshare, json!({})),
        ]
    }

    #[test]
    fn every_action_stores_the_bytes_it_always_stored() {
        let shapes = every_shape();
        for action in ActivityAction::ALL {
            assert!(
                shapes.iter().any(|(details, _)| details.action() == action),
                "{action:?} has no shape in the test"
            );
        }
        for (details, stored) in shapes {
            let written = details.to_json().to_string();
            assert_eq!(written, stored.to_string(), "{details:?}");
        }
    }
}
