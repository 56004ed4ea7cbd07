//! Rows of the role, access-request and activity RPCs.

use access_service::grpc::pb;

use super::fixture::long;
use super::{Expect, Fixture, Row, bad, denied, exists, lacks, missing, precondition};

fn list_roles(actor: &str, account: &str) -> pb::ListRolesRequest {
    pb::ListRolesRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
    }
}

fn create(actor: &str, account: &str, name: &str, permissions: &[&str]) -> pb::CreateRoleRequest {
    pb::CreateRoleRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        name: name.into(),
        description: String::new(),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
    }
}

fn update(actor: &str, name: &str, permissions: &[&str]) -> pb::UpdateRoleRequest {
    crate::support::update_role(actor, "acme", name, permissions)
}

fn delete(actor: &str, account: &str, name: &str) -> pb::DeleteRoleRequest {
    pb::DeleteRoleRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        name: name.into(),
    }
}

fn ask(user: &str, account: &str, permission: &str) -> pb::RequestAccessRequest {
    pb::RequestAccessRequest {
        user_id: user.into(),
        account_id: account.into(),
        permission: permission.into(),
        note: String::new(),
    }
}

fn decide(actor: &str, id: &str) -> pb::DecideAccessRequestRequest {
    pb::DecideAccessRequestRequest {
        actor_user_id: actor.into(),
        access_request_id: id.into(),
        approve: true,
        grant_end: None,
    }
}

fn requests(actor: &str, account: &str) -> pb::ListAccessRequestsRequest {
    pb::ListAccessRequestsRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        ..Default::default()
    }
}

fn activity(actor: &str, account: &str) -> pb::ListActivityRequest {
    pb::ListActivityRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        ..Default::default()
    }
}

fn at(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

pub(super) fn rows(fx: &Fixture) -> Vec<Row> {
    vec![
        Row::new("ListRoles", list_roles("owner", "acme"))
            .case(
                "empty",
                pb::ListRolesRequest::default(),
                bad(&["actor_user_id", "account_id"]),
            )
            .case(
                "an unknown account",
                list_roles("owner", "nope"),
                missing("account"),
            )
            .case(
                "another account's",
                list_roles("owner", "other"),
                denied("NOT_A_MEMBER"),
            )
            .case(
                "a malformed actor",
                list_roles("own er", "acme"),
                bad(&["actor_user_id"]),
            ),
        Row::new(
            "CreateRole",
            create("owner", "acme", "writer", &["campaigns.view"]),
        )
        .case(
            "empty",
            pb::CreateRoleRequest::default(),
            bad(&["actor_user_id", "account_id", "name"]),
        )
        .case(
            "an oversized name",
            create("owner", "acme", &long(65), &["campaigns.view"]),
            bad(&["name"]),
        )
        .case(
            "an oversized description",
            pb::CreateRoleRequest {
                description: long(256),
                ..create("owner", "acme", "writer", &["campaigns.view"])
            },
            bad(&["description"]),
        )
        .case(
            "an unknown permission",
            create("owner", "acme", "writer", &["campaigns.fly"]),
            bad(&["permissions[0]"]),
        )
        .case(
            "an owner-only permission",
            create("owner", "acme", "writer", &["account.transfer"]),
            precondition("OWNER_ONLY_PERMISSION"),
        )
        .case(
            "a built-in role's name",
            create("owner", "acme", "admin", &["campaigns.view"]),
            exists("ROLE_EXISTS"),
        )
        .case(
            "an existing role's name",
            create("owner", "acme", "helper", &["campaigns.view"]),
            exists("ROLE_EXISTS"),
        )
        .case(
            "an unknown account",
            create("owner", "nope", "writer", &["campaigns.view"]),
            missing("account"),
        )
        .case(
            "another account's",
            create("owner", "other", "writer", &["campaigns.view"]),
            denied("NOT_A_MEMBER"),
        )
        .case(
            "escalation: a viewer",
            create("viewer", "acme", "writer", &["campaigns.view"]),
            lacks(),
        )
        .case(
            "escalation: a lead adds billing",
            create("lead", "acme", "writer", &["billing.edit"]),
            denied("PRIVILEGE_ESCALATION"),
        ),
        Row::new(
            "UpdateRole",
            update("owner", "helper", &["campaigns.view", "lists.view"]),
        )
        .case(
            "empty",
            pb::UpdateRoleRequest::default(),
            bad(&["actor_user_id", "account_id", "name"]),
        )
        .case(
            "an unknown role",
            update("owner", "emperor", &["campaigns.view"]),
            missing("role"),
        )
        .case(
            "an oversized description",
            pb::UpdateRoleRequest {
                description: long(256),
                ..update("owner", "helper", &["campaigns.view"])
            },
            bad(&["description"]),
        )
        .case(
            "a built-in role",
            update("owner", "viewer", &["campaigns.view"]),
            precondition("BUILTIN_ROLE_IMMUTABLE"),
        )
        .case(
            "an unknown permission",
            update("owner", "helper", &["campaigns.fly"]),
            bad(&["permissions.permissions[0]"]),
        )
        .case(
            "an owner-only permission",
            update("owner", "helper", &["account.transfer"]),
            precondition("OWNER_ONLY_PERMISSION"),
        )
        .case(
            "escalation: a scoped lead widens an unscoped holder",
            update("lead", "helper", &["campaigns.view", "lists.edit"]),
            denied("PRIVILEGE_ESCALATION"),
        )
        .case(
            "escalation: a viewer",
            update("viewer", "helper", &["campaigns.view"]),
            lacks(),
        )
        .case(
            "another account's",
            crate::support::update_role("owner", "other", "helper", &["campaigns.view"]),
            denied("NOT_A_MEMBER"),
        ),
        Row::new("DeleteRole", delete("owner", "acme", "list_lead"))
            .case(
                "empty",
                pb::DeleteRoleRequest::default(),
                bad(&["actor_user_id", "account_id", "name"]),
            )
            .case(
                "an unknown role",
                delete("owner", "acme", "emperor"),
                missing("role"),
            )
            .case(
                "a built-in role",
                delete("owner", "acme", "viewer"),
                precondition("BUILTIN_ROLE_IMMUTABLE"),
            )
            .case(
                "a role in use",
                delete("owner", "acme", "helper"),
                precondition("ROLE_IN_USE"),
            )
            .case(
                "escalation: a viewer",
                delete("viewer", "acme", "helper"),
                lacks(),
            )
            .case(
                "another account's",
                delete("owner", "other", "helper"),
                denied("NOT_A_MEMBER"),
            ),
        Row::new("RequestAccess", ask("helper", "acme", "lists.edit"))
            .case(
                "empty",
                pb::RequestAccessRequest::default(),
                bad(&["user_id", "account_id", "permission"]),
            )
            .case(
                "an unknown permission",
                ask("helper", "acme", "lists.fly"),
                bad(&["permission"]),
            )
            .case(
                "an oversized note",
                pb::RequestAccessRequest {
                    note: long(2001),
                    ..ask("helper", "acme", "lists.edit")
                },
                bad(&["note"]),
            )
            .case(
                "a note with a zero-width space",
                pb::RequestAccessRequest {
                    note: "click\u{200b}here".into(),
                    ..ask("helper", "acme", "lists.edit")
                },
                bad(&["note"]),
            )
            .case(
                "past the member's email limit (one an hour on this server)",
                ask("helper", "acme", "lists.edit"),
                Expect::Refused(tonic::Code::ResourceExhausted, "EMAIL_RATE_LIMITED"),
            )
            .case(
                "an owner-only permission",
                ask("helper", "acme", "account.transfer"),
                precondition("OWNER_ONLY_PERMISSION"),
            )
            .case(
                "a permission held already",
                ask("helper", "acme", "campaigns.view"),
                precondition("ALREADY_GRANTED"),
            )
            .case(
                "not a member",
                ask("stranger", "acme", "lists.edit"),
                denied("NOT_A_MEMBER"),
            )
            .case(
                "a deactivated member",
                ask("deact", "acme", "lists.edit"),
                denied("MEMBERSHIP_INACTIVE"),
            )
            .case(
                "in a two-factor account without it",
                ask("sadmin", "secure", "lists.edit"),
                denied("MFA_REQUIRED"),
            )
            .case(
                "an unknown account",
                ask("helper", "nope", "lists.edit"),
                missing("account"),
            ),
        Row::new("DecideAccessRequest", decide("owner", &fx.request_id))
            .case(
                "empty",
                pb::DecideAccessRequestRequest::default(),
                bad(&["actor_user_id", "access_request_id"]),
            )
            .case(
                "an unknown id",
                decide("owner", "nope"),
                missing("access request"),
            )
            .case(
                "another account's request",
                decide("owner", &fx.other_request_id),
                missing("access request"),
            )
            .case(
                "escalation: the requester approves themselves",
                decide("lead", &fx.lead_request_id),
                denied("SELF_APPROVAL"),
            )
            .case(
                "approved for zero days",
                pb::DecideAccessRequestRequest {
                    grant_end: Some(pb::decide_access_request_request::GrantEnd::GrantDays(0)),
                    ..decide("owner", &fx.request_id)
                },
                bad(&["grant_days"]),
            )
            .case(
                "approved until a time past",
                pb::DecideAccessRequestRequest {
                    grant_end: Some(pb::decide_access_request_request::GrantEnd::GrantEndTime(
                        crate::support::stamp(chrono::Utc::now() - chrono::Duration::days(1)),
                    )),
                    ..decide("owner", &fx.request_id)
                },
                precondition("END_IN_PAST"),
            )
            .case(
                "escalation: a helper approves",
                decide("helper", &fx.request_id),
                lacks(),
            )
            .case(
                "escalation: a scoped lead approves an unscoped requester",
                decide("lead", &fx.request_id),
                denied("PRIVILEGE_ESCALATION"),
            )
            .case(
                "a requester deactivated since",
                decide("owner", &fx.gone_request_id),
                precondition("REQUESTER_NOT_ACTIVE"),
            )
            .case(
                "a decided request",
                decide("owner", &fx.decided_request_id),
                precondition("ALREADY_DECIDED"),
            ),
        Row::new("ListAccessRequests", requests("owner", "acme"))
            .case(
                "empty",
                pb::ListAccessRequestsRequest::default(),
                bad(&["actor_user_id", "account_id"]),
            )
            .case(
                "an unknown account",
                requests("owner", "nope"),
                missing("account"),
            )
            .case(
                "another account's",
                requests("owner", "other"),
                denied("NOT_A_MEMBER"),
            )
            .case("escalation: a helper", requests("helper", "acme"), lacks())
            .case(
                "an unknown state",
                pb::ListAccessRequestsRequest {
                    state: 99,
                    ..requests("owner", "acme")
                },
                bad(&["state"]),
            )
            .case(
                "a garbage page token",
                pb::ListAccessRequestsRequest {
                    page_token: "garbage".into(),
                    ..requests("owner", "acme")
                },
                bad(&["page_token"]),
            ),
        Row::new("ListActivity", activity("owner", "acme"))
            .case(
                "empty",
                pb::ListActivityRequest::default(),
                bad(&["actor_user_id", "account_id"]),
            )
            .case(
                "an unknown account",
                activity("owner", "nope"),
                missing("account"),
            )
            .case(
                "another account's",
                activity("owner", "other"),
                denied("NOT_A_MEMBER"),
            )
            .case("escalation: a helper", activity("helper", "acme"), lacks())
            .case(
                "an unknown action",
                pb::ListActivityRequest {
                    filter_action: "member.fly".into(),
                    ..activity("owner", "acme")
                },
                bad(&["filter_action"]),
            )
            .case(
                "a timestamp out of range",
                pb::ListActivityRequest {
                    start_time: Some(prost_types::Timestamp {
                        seconds: 0,
                        nanos: 2_000_000_000,
                    }),
                    ..activity("owner", "acme")
                },
                bad(&["start_time"]),
            )
            .case(
                "an empty window",
                pb::ListActivityRequest {
                    start_time: at(2_000_000_000),
                    end_time: at(1_000_000_000),
                    ..activity("owner", "acme")
                },
                bad(&["start_time"]),
            )
            .case(
                "a garbage page token",
                pb::ListActivityRequest {
                    page_token: "garbage".into(),
                    ..activity("owner", "acme")
                },
                bad(&["page_token"]),
            )
            .case(
                "an oversized page",
                pb::ListActivityRequest {
                    page_size: 1001,
                    ..activity("owner", "acme")
                },
                bad(&["page_size"]),
            ),
    ]
}
