//! Rows of the account RPCs.

use access_service::grpc::pb;

use super::fixture::long;
use super::{Fixture, Row, answers, bad, denied, exists, lacks, missing, precondition};
use crate::support::{create_account, create_child, list_accounts, person};

fn get(actor: &str, account: &str) -> pb::GetAccountRequest {
    pb::GetAccountRequest {
        account_id: account.into(),
        actor_user_id: actor.into(),
    }
}

fn policy(actor: &str, account: &str) -> pb::UpdateAccountPolicyRequest {
    pb::UpdateAccountPolicyRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        require_two_factor: true,
    }
}

fn limits(account: &str, max_members: Option<i32>) -> pb::SetAccountLimitsRequest {
    pb::SetAccountLimitsRequest {
        account_id: account.into(),
        max_members,
        max_restricted_members: None,
    }
}

fn close(actor: &str, account: &str) -> pb::CloseAccountRequest {
    pb::CloseAccountRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
    }
}

fn platform_close(account: &str, reason: &str) -> pb::CloseAccountAsPlatformRequest {
    pb::CloseAccountAsPlatformRequest {
        account_id: account.into(),
        reason: reason.into(),
    }
}

/// The actor's session header.
const MFA: &str = "x-actor-mfa-verified";

pub(super) fn rows(_fx: &Fixture) -> Vec<Row> {
    vec![
        Row::new("CreateAccount", create_account("fresh", person("fresh-owner")))
            .case(
                "empty",
                pb::CreateAccountRequest::default(),
                bad(&["name", "owner"]),
            )
            .case(
                "an oversized id",
                create_account(&long(129), person("x")),
                bad(&["account_id"]),
            )
            .case(
                "an oversized name",
                pb::CreateAccountRequest {
                    name: long(201),
                    ..create_account("fresh", person("fresh-owner"))
                },
                bad(&["name"]),
            )
            .case(
                "a malformed owner email",
                create_account(
                    "fresh",
                    pb::Person {
                        email: "not-an-email".into(),
                        ..person("fresh-owner")
                    },
                ),
                bad(&["owner.email"]),
            )
            .case(
                "a taken id with another owner",
                create_account("acme", person("mallory")),
                exists("ACCOUNT_EXISTS"),
            )
            .case(
                "another person's email",
                create_account(
                    "squat",
                    pb::Person {
                        email: "owner@example.com".into(),
                        ..person("mallory")
                    },
                ),
                precondition("EMAIL_IN_USE"),
            )
            .case(
                "a known user id with another email",
                create_account(
                    "fresh",
                    pb::Person {
                        email: "someone-else@example.com".into(),
                        ..person("owner")
                    },
                ),
                precondition("USER_EMAIL_MISMATCH"),
            )
            .case(
                "an unknown parent",
                create_child("fresh", "fresh-owner", "nope", "boss"),
                missing("parent account"),
            )
            .case(
                "a parent the actor is not a member of",
                create_child("fresh", "fresh-owner", "team", "stranger"),
                denied("NOT_A_MEMBER"),
            )
            .case(
                "escalation: a viewer of the parent adds a child",
                create_child("fresh", "fresh-owner", "team", "tviewer"),
                lacks(),
            )
            .case(
                "escalation: a power user scoped in the parent adds a child of their own (rule 16)",
                create_child("fresh", "tscoped", "team", "tscoped"),
                denied("PRIVILEGE_ESCALATION"),
            )
            .case(
                "a child owned by someone outside the team, named by a member (rule 16)",
                create_child("fresh", "fresh-owner", "team", "tpower"),
                precondition("CHILD_OWNER_NOT_IN_TEAM"),
            )
            .case(
                "a child under a child",
                create_child("fresh", "fresh-owner", "child-a", "owner-a"),
                precondition("NESTED_CHILD_ACCOUNT"),
            ),
        Row::new("GetAccount", get("owner", "acme"))
            .case("empty", pb::GetAccountRequest::default(), bad(&["account_id"]))
            .case("an oversized id", get("", &long(129)), bad(&["account_id"]))
            .case(
                "a malformed actor",
                get(" owner", "acme"),
                bad(&["actor_user_id"]),
            )
            .case("an unknown account", get("", "nope"), missing("account"))
            .case(
                "as a deactivated member",
                get("deact", "acme"),
                denied("MEMBERSHIP_INACTIVE"),
            )
            .case(
                "another account's, as its non-member",
                get("owner", "other"),
                denied("NOT_A_MEMBER"),
            ),
        Row::new("UpdateAccountPolicy", policy("owner", "acme"))
            .case(
                "empty",
                pb::UpdateAccountPolicyRequest::default(),
                bad(&["actor_user_id", "account_id"]),
            )
            .read::<_, ()>(
                "a retry: the policy it has (OK, nothing logged)",
                pb::UpdateAccountPolicyRequest {
                    require_two_factor: false,
                    ..policy("owner", "acme")
                },
                answers(""),
            )
            .case("an unknown account", policy("owner", "nope"), missing("account"))
            .case(
                "another account's",
                policy("owner", "other"),
                denied("NOT_A_MEMBER"),
            )
            .case("escalation: a viewer", policy("viewer", "acme"), lacks())
            .case(
                "a deactivated admin",
                policy("deact", "acme"),
                denied("MEMBERSHIP_INACTIVE"),
            )
            .case(
                "a closed account",
                policy("shutter", "shut"),
                precondition("ACCOUNT_CLOSED"),
            )
            .case(
                "turning two-factor off without it",
                pb::UpdateAccountPolicyRequest {
                    require_two_factor: false,
                    ..policy("sowner", "secure")
                },
                denied("MFA_REQUIRED"),
            )
            .case_with(
                "a malformed session header",
                &[(MFA, "yes")],
                policy("owner", "acme"),
                bad(&[MFA]),
            ),
        Row::new("SetAccountLimits", limits("acme", Some(50)))
            .case(
                "empty",
                pb::SetAccountLimitsRequest::default(),
                bad(&["account_id"]),
            )
            .case(
                "a negative limit",
                limits("acme", Some(-1)),
                bad(&["max_members"]),
            )
            .case("an unknown account", limits("nope", Some(50)), missing("account"))
            .case(
                "a limit below use",
                limits("acme", Some(1)),
                precondition("LIMIT_BELOW_USAGE"),
            )
            .case(
                "a closed account",
                limits("shut", Some(50)),
                precondition("ACCOUNT_CLOSED"),
            ),
        Row::new("CloseAccount", close("owner", "acme"))
            .case(
                "empty",
                pb::CloseAccountRequest::default(),
                bad(&["actor_user_id", "account_id"]),
            )
            .case(
                "a closed account",
                close("shutter", "shut"),
                precondition("ACCOUNT_CLOSED"),
            )
            .case("an unknown account", close("owner", "nope"), missing("account"))
            .case(
                "another account's",
                close("owner", "other"),
                denied("NOT_A_MEMBER"),
            )
            .case("a member without account.close", close("helper", "acme"), lacks())
            .case(
                "an oversized actor",
                close(&long(129), "acme"),
                bad(&["actor_user_id"]),
            ),
        // The platform acts alone: no actor, so no member's standing to abuse.
        Row::new(
            "CloseAccountAsPlatform",
            platform_close("acme", "unpaid invoice 2026-11"),
        )
        .case(
            "empty",
            pb::CloseAccountAsPlatformRequest::default(),
            bad(&["account_id"]),
        )
        .case(
            "an oversized id",
            platform_close(&long(129), ""),
            bad(&["account_id"]),
        )
        .case(
            "an id with spaces around it",
            platform_close(" acme", ""),
            bad(&["account_id"]),
        )
        .case(
            "an oversized reason",
            platform_close("acme", &long(2001)),
            bad(&["reason"]),
        )
        .case(
            "an unknown account",
            platform_close("nope", ""),
            missing("account"),
        )
        .case(
            "a closed account",
            platform_close("shut", "again"),
            precondition("ACCOUNT_CLOSED"),
        ),
        Row::new("ListAccounts", list_accounts("owner", 0, ""))
            .case("empty", pb::ListAccountsRequest::default(), bad(&["user_id"]))
            .case(
                "a negative page size",
                list_accounts("owner", -1, ""),
                bad(&["page_size"]),
            )
            .case(
                "an oversized page",
                list_accounts("owner", 1001, ""),
                bad(&["page_size"]),
            )
            .case(
                "a garbage page token",
                list_accounts("owner", 0, "garbage"),
                bad(&["page_token"]),
            )
            .read::<_, pb::ListAccountsResponse>(
                "an unknown user",
                list_accounts("nobody", 0, ""),
                answers("accounts: []"),
            )
            .case(
                "a malformed user id",
                pb::ListAccountsRequest {
                    user_id: "a\nb".into(),
                    ..list_accounts("owner", 0, "")
                },
                bad(&["user_id"]),
            ),
    ]
}
