//! Rows of the lookups: LookupAccounts and LookupResources (the `check`
//! scope) and LookupMembers (`read`). A lookup that names nobody is
//! answered with nothing, as Authorize answers it with a denial.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::{Campaign, List};

use super::decisions::{forged_ahead, fresher_than};
use super::fixture::long;
use super::{Fixture, Row, answers, bad, missing, precondition};
use crate::support::{lookup_accounts, lookup_members, lookup_resources};

pub(super) fn rows(_fx: &Fixture) -> Vec<Row> {
    let accounts = lookup_accounts("viewer", "campaigns.view", 0, "");
    let resources = lookup_resources("lead", "acme", "lists.edit", List);
    let members = lookup_members("acme", "users.edit", None, 0, "");
    vec![
        Row::new("LookupAccounts", accounts.clone())
            .case(
                "empty",
                pb::LookupAccountsRequest::default(),
                bad(&["user_id", "permission"]),
            )
            .case(
                "an unknown permission",
                lookup_accounts("viewer", "campaigns.fly", 0, ""),
                bad(&["permission"]),
            )
            .case(
                "an oversized user id",
                lookup_accounts(&long(129), "campaigns.view", 0, ""),
                bad(&["user_id"]),
            )
            .case(
                "a resource type the permission never names",
                pb::LookupAccountsRequest {
                    resource_type: Campaign.into(),
                    ..lookup_accounts("lead", "lists.edit", 0, "")
                },
                bad(&["resource_type"]),
            )
            .case(
                "a page size over the limit",
                lookup_accounts("viewer", "campaigns.view", 100_000, ""),
                bad(&["page_size"]),
            )
            .case(
                "a page token it never issued",
                lookup_accounts("viewer", "campaigns.view", 0, "not-hex"),
                bad(&["page_token"]),
            )
            .case(
                "a forged consistency token ahead of the database",
                pb::LookupAccountsRequest {
                    consistency: fresher_than(&forged_ahead()),
                    ..accounts.clone()
                },
                precondition("CONSISTENCY_TOKEN_AHEAD"),
            )
            .read::<_, pb::LookupAccountsResponse>(
                "a person with no account",
                lookup_accounts("nobody", "campaigns.view", 0, ""),
                answers("accounts: []"),
            )
            .read::<_, pb::LookupAccountsResponse>(
                "a scoped member asking for the type of the scope",
                pb::LookupAccountsRequest {
                    resource_type: List.into(),
                    ..lookup_accounts("lead", "lists.edit", 0, "")
                },
                answers("resource_ids: [\"4\"]"),
            ),
        Row::new("LookupResources", resources.clone())
            .case(
                "empty",
                pb::LookupResourcesRequest::default(),
                bad(&["user_id", "account_id", "permission", "resource_type"]),
            )
            .case(
                "a resource type the permission never names",
                lookup_resources("lead", "acme", "lists.edit", Campaign),
                bad(&["resource_type"]),
            )
            .case(
                "an unknown resource type",
                pb::LookupResourcesRequest {
                    resource_type: 99,
                    ..resources.clone()
                },
                bad(&["resource_type"]),
            )
            .case(
                "a forged consistency token ahead of the database",
                pb::LookupResourcesRequest {
                    consistency: fresher_than(&forged_ahead()),
                    ..resources.clone()
                },
                precondition("CONSISTENCY_TOKEN_AHEAD"),
            )
            .read::<_, pb::LookupResourcesResponse>(
                "an unknown account",
                lookup_resources("lead", "nope", "lists.edit", List),
                answers("reason: AccountNotFound"),
            )
            .read::<_, pb::LookupResourcesResponse>(
                "another account's member",
                lookup_resources("ostaff", "acme", "lists.edit", List),
                answers("kind: None"),
            )
            .read::<_, pb::LookupResourcesResponse>(
                "a scoped member",
                resources.clone(),
                answers("kind: Only"),
            ),
        Row::new("LookupMembers", members.clone())
            .case(
                "empty",
                pb::LookupMembersRequest::default(),
                bad(&["account_id", "permission"]),
            )
            .case(
                "a resource of another area than the permission",
                lookup_members("acme", "lists.edit", Some((Campaign, "4")), 0, ""),
                bad(&["resource.type"]),
            )
            .case(
                "a page token it never issued",
                lookup_members("acme", "users.edit", None, 0, "zz"),
                bad(&["page_token"]),
            )
            .case(
                "an unknown account",
                lookup_members("nope", "users.edit", None, 0, ""),
                missing("account"),
            )
            .case(
                "a garbage consistency token",
                pb::LookupMembersRequest {
                    consistency: fresher_than("garbage"),
                    ..members.clone()
                },
                bad(&["consistency.at_least_as_fresh"]),
            )
            .case(
                "a forged consistency token ahead of the database",
                pb::LookupMembersRequest {
                    consistency: fresher_than(&forged_ahead()),
                    ..members.clone()
                },
                precondition("CONSISTENCY_TOKEN_AHEAD"),
            )
            .read::<_, pb::LookupMembersResponse>(
                "a permission nobody but the owner holds",
                lookup_members("acme", "account.transfer", None, 0, ""),
                answers("user_id: \"owner\""),
            ),
    ]
}
