//! Rows of the member RPCs: acting on people the actor does not cover,
//! on the owner, on another account's members.

use access_service::grpc::pb;

use super::fixture::long;
use super::{Fixture, Row, bad, denied, lacks, missing, precondition};
use crate::support::{deactivate, list_users, reactivate, remove, transfer};
use crate::support::{leave, sign_in};

fn update(actor: &str, account: &str, user: &str, role: &str) -> pb::UpdateMemberRequest {
    pb::UpdateMemberRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        user_id: user.into(),
        role: role.into(),
        ..Default::default()
    }
}

/// UpdateMember giving `user` of acme an end `days` from now (negative: past).
fn ending_in(user: &str, days: i64) -> pb::UpdateMemberRequest {
    crate::support::ending(
        "owner",
        "acme",
        user,
        chrono::Utc::now() + chrono::Duration::days(days),
    )
}

fn grants(actor: &str, user: &str, permissions: &[&str]) -> pb::UpdateMemberRequest {
    pb::UpdateMemberRequest {
        extra_permissions: Some(pb::PermissionList {
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        }),
        ..update(actor, "acme", user, "")
    }
}

/// The cases DeactivateMember, ReactivateMember and RemoveMember share.
fn acting_on_a_member<Req>(row: Row, request: fn(&str, &str, &str) -> Req) -> Row
where
    Req: prost::Message + Clone + Default + Send + Sync + 'static,
{
    row.case(
        "empty",
        Req::default(),
        bad(&["actor_user_id", "account_id", "user_id"]),
    )
    .case(
        "an oversized user id",
        request("owner", "acme", &long(129)),
        bad(&["user_id"]),
    )
    .case(
        "an unknown member",
        request("owner", "acme", "nobody"),
        missing("member"),
    )
    .case(
        "an unknown account",
        request("owner", "nope", "viewer"),
        missing("account"),
    )
    .case(
        "another account's member",
        request("owner", "acme", "ostaff"),
        missing("member"),
    )
    .case(
        "in another account",
        request("owner", "other", "ostaff"),
        denied("NOT_A_MEMBER"),
    )
    .case(
        "escalation: a viewer",
        request("viewer", "acme", "helper"),
        lacks(),
    )
    .case(
        "escalation: a scoped lead on an unscoped admin",
        request("lead", "acme", "admin"),
        denied("OUTRANKED"),
    )
    .case(
        "escalation: an admin on the owner",
        request("admin", "acme", "owner"),
        precondition("OWNER_PROTECTED"),
    )
    .case(
        "oneself",
        request("admin", "acme", "admin"),
        precondition("CANNOT_ACT_ON_SELF"),
    )
}

pub(super) fn rows(_fx: &Fixture) -> Vec<Row> {
    vec![
        Row::new("ListUsers", list_users("owner", "acme"))
            .case(
                "empty",
                pb::ListUsersRequest::default(),
                bad(&["actor_user_id", "account_id"]),
            )
            .case(
                "an unknown account",
                list_users("owner", "nope"),
                missing("account"),
            )
            .case(
                "another account's",
                list_users("owner", "other"),
                denied("NOT_A_MEMBER"),
            )
            .case("escalation: a viewer", list_users("viewer", "acme"), lacks())
            .case(
                "an unknown role",
                pb::ListUsersRequest {
                    role: "emperor".into(),
                    ..list_users("owner", "acme")
                },
                bad(&["role"]),
            )
            .case(
                "an unknown status",
                pb::ListUsersRequest {
                    status: 99,
                    ..list_users("owner", "acme")
                },
                bad(&["status"]),
            )
            .case(
                "a garbage page token",
                pb::ListUsersRequest {
                    page_token: "garbage".into(),
                    ..list_users("owner", "acme")
                },
                bad(&["page_token"]),
            ),
        Row::new("UpdateMember", update("owner", "acme", "helper", "viewer"))
            .case(
                "empty",
                pb::UpdateMemberRequest::default(),
                bad(&["actor_user_id", "account_id", "user_id", "role"]),
            )
            .case(
                "an unknown role",
                update("owner", "acme", "helper", "emperor"),
                bad(&["role"]),
            )
            .case(
                "an unknown permission",
                grants("owner", "helper", &["lists.fly"]),
                bad(&["extra_permissions.permissions[0]"]),
            )
            .case(
                "an owner-only permission",
                grants("owner", "helper", &["account.transfer"]),
                precondition("OWNER_ONLY_PERMISSION"),
            )
            .read::<_, ()>(
                "a retry: the role it has (OK, nothing logged)",
                update("owner", "acme", "helper", "helper"),
                super::answers(""),
            )
            .case(
                "an unknown member",
                update("owner", "acme", "nobody", "viewer"),
                missing("member"),
            )
            .case(
                "another account's member",
                update("owner", "acme", "ostaff", "viewer"),
                missing("member"),
            )
            .case(
                "in another account",
                update("owner", "other", "ostaff", "admin"),
                denied("NOT_A_MEMBER"),
            )
            .case(
                "escalation: a viewer",
                update("viewer", "acme", "helper", "viewer"),
                lacks(),
            )
            .case(
                "escalation: a scoped lead changes an unscoped member",
                update("lead", "acme", "viewer", "helper"),
                denied("OUTRANKED"),
            )
            .case(
                "escalation: a scoped lead makes an admin",
                update("lead", "acme", "narrow", "admin"),
                denied("PRIVILEGE_ESCALATION"),
            )
            .case(
                "escalation: a scoped lead grants billing",
                grants("lead", "narrow", &["billing.edit"]),
                denied("PRIVILEGE_ESCALATION"),
            )
            .case(
                "the owner role",
                update("owner", "acme", "admin", "owner"),
                precondition("OWNER_ROLE_NOT_ASSIGNABLE"),
            )
            .case(
                "escalation: an admin re-roles the owner",
                update("admin", "acme", "owner", "viewer"),
                precondition("OWNER_PROTECTED"),
            )
            .case(
                "an end in the past",
                ending_in("helper", -1),
                precondition("END_IN_PAST"),
            )
            .case(
                "an end too far ahead",
                ending_in("helper", 100_000),
                precondition("END_TOO_FAR"),
            )
            .case(
                "an end on the owner",
                ending_in("owner", 1),
                precondition("OWNER_NEVER_ENDS"),
            )
            .case(
                "an end on another account's member",
                ending_in("ostaff", 1),
                missing("member"),
            )
            .case(
                "an end of a grant the member lacks",
                pb::UpdateMemberRequest {
                    entry_ends: Some(pb::AccessEndList {
                        ends: vec![crate::support::entry_end(
                            pb::EndedKind::Grant,
                            "billing.edit",
                            chrono::Utc::now() + chrono::Duration::days(1),
                        )],
                    }),
                    ..update("owner", "acme", "helper", "")
                },
                bad(&["entry_ends.ends[0].subject"]),
            )
            .case(
                "an end of no kind",
                pb::UpdateMemberRequest {
                    entry_ends: Some(pb::AccessEndList {
                        ends: vec![pb::AccessEnd::default()],
                    }),
                    ..update("owner", "acme", "helper", "")
                },
                bad(&["entry_ends.ends[0].end_time"]),
            ),
        acting_on_a_member(
            Row::new("DeactivateMember", deactivate("owner", "acme", "helper")),
            deactivate,
        ),
        acting_on_a_member(
            Row::new("ReactivateMember", reactivate("owner", "acme", "deact")),
            reactivate,
        ),
        acting_on_a_member(
            Row::new("RemoveMember", remove("owner", "acme", "helper")),
            remove,
        ),
        Row::new("LeaveAccount", leave("helper", "acme"))
            .case(
                "empty",
                pb::LeaveAccountRequest::default(),
                bad(&["user_id", "account_id"]),
            )
            .case(
                "the owner",
                leave("owner", "acme"),
                precondition("OWNER_CANNOT_LEAVE"),
            )
            .case("not a member", leave("stranger", "acme"), missing("member"))
            .case("an unknown account", leave("helper", "nope"), missing("account"))
            .case(
                "leaving a two-factor account without it",
                leave("sadmin", "secure"),
                denied("MFA_REQUIRED"),
            ),
        Row::new("TransferOwnership", transfer("owner", "acme", "admin"))
            .case(
                "empty",
                pb::TransferOwnershipRequest::default(),
                bad(&["actor_user_id", "account_id", "new_owner_user_id"]),
            )
            .case(
                "escalation: an admin hands it on",
                transfer("admin", "acme", "admin"),
                lacks(),
            )
            .case(
                "to a viewer",
                transfer("owner", "acme", "viewer"),
                precondition("TRANSFER_TARGET_NOT_ADMIN"),
            )
            .case(
                "to a deactivated admin",
                transfer("owner", "acme", "deact"),
                precondition("MEMBER_DEACTIVATED"),
            )
            .case(
                "to the owner",
                transfer("owner", "acme", "owner"),
                precondition("ALREADY_OWNER"),
            )
            .case(
                "to another account's member",
                transfer("owner", "acme", "ostaff"),
                missing("member"),
            )
            .case(
                "an unknown account",
                transfer("owner", "nope", "admin"),
                missing("account"),
            )
            .case(
                "in another account",
                transfer("owner", "other", "ostaff"),
                denied("NOT_A_MEMBER"),
            ),
        Row::new("RecordSignIn", sign_in("viewer", "acme"))
            .case(
                "empty",
                pb::RecordSignInRequest::default(),
                bad(&["user_id", "account_id"]),
            )
            .case("not a member", sign_in("stranger", "acme"), missing("member"))
            .case(
                "an unknown account",
                sign_in("viewer", "nope"),
                missing("account"),
            )
            .case(
                "a deactivated member",
                sign_in("deact", "acme"),
                precondition("MEMBER_DEACTIVATED"),
            )
            .case(
                "a sign-in to a two-factor account without it",
                sign_in("sadmin", "secure"),
                denied("MFA_REQUIRED"),
            )
            .case(
                "an oversized user id",
                sign_in(&long(129), "acme"),
                bad(&["user_id"]),
            ),
    ]
}
