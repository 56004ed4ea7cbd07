//! Rows of the shared-suppression-list RPCs: the shared templates' mechanism
//! (children of another team, too many children, a child sharing up), and
//! a template's id, which names no suppression list.

use access_service::grpc::pb;

use super::fixture::{long, too_many_children};
use super::{Fixture, Row, answers, bad, denied, lacks, missing, precondition};
use crate::support::{share_suppression_list, unshare_suppression_list};

fn list(actor: &str, account: &str) -> pb::ListSharedSuppressionListsRequest {
    pb::ListSharedSuppressionListsRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        ..Default::default()
    }
}

pub(super) fn rows(_fx: &Fixture) -> Vec<Row> {
    vec![
        Row::new(
            "ShareSuppressionList",
            share_suppression_list("boss", "team", "s2", &[]),
        )
        .case(
            "empty",
            pb::ShareSuppressionListRequest::default(),
            bad(&["actor_user_id", "account_id", "suppression_list_id"]),
        )
        .case(
            "an oversized list id",
            share_suppression_list("boss", "team", &long(129), &[]),
            bad(&["suppression_list_id"]),
        )
        .case(
            "a list id with spaces around it",
            share_suppression_list("boss", "team", " s2", &[]),
            bad(&["suppression_list_id"]),
        )
        .case(
            "too many children",
            pb::ShareSuppressionListRequest {
                child_account_ids: too_many_children(),
                ..share_suppression_list("boss", "team", "s2", &[])
            },
            bad(&["child_account_ids"]),
        )
        .case(
            "an empty child id",
            share_suppression_list("boss", "team", "s2", &["child-a", ""]),
            bad(&["child_account_ids[1]"]),
        )
        .case(
            "an unknown child",
            share_suppression_list("boss", "team", "s2", &["nope"]),
            missing("child account"),
        )
        .case(
            "another team's account as a child",
            share_suppression_list("boss", "team", "s2", &["other"]),
            precondition("NOT_A_CHILD_ACCOUNT"),
        )
        .case(
            "from a child account",
            share_suppression_list("owner-a", "child-a", "s2", &[]),
            precondition("SHARE_NOT_FROM_PARENT"),
        )
        .case(
            "escalation: a viewer of the team (no suppressions.edit)",
            share_suppression_list("tviewer", "team", "s2", &[]),
            lacks(),
        )
        .case(
            "another account's",
            share_suppression_list("owner", "team", "s2", &[]),
            denied("NOT_A_MEMBER"),
        )
        .case(
            "an unknown account",
            share_suppression_list("boss", "nope", "s2", &[]),
            missing("account"),
        )
        .case(
            "a closed account",
            share_suppression_list("shutter", "shut", "s2", &[]),
            precondition("ACCOUNT_CLOSED"),
        )
        .read::<_, pb::ShareSuppressionListResponse>(
            "a retry: the share as it stands (OK, nothing logged)",
            share_suppression_list("boss", "team", "s1", &[]),
            answers("suppression_list_id: \"s1\""),
        ),
        Row::new(
            "UnshareSuppressionList",
            unshare_suppression_list("boss", "team", "s1"),
        )
        .case(
            "empty",
            pb::UnshareSuppressionListRequest::default(),
            bad(&["actor_user_id", "account_id", "suppression_list_id"]),
        )
        .case(
            "an oversized list id",
            unshare_suppression_list("boss", "team", &long(129)),
            bad(&["suppression_list_id"]),
        )
        .case(
            "a list not shared",
            unshare_suppression_list("boss", "team", "s9"),
            missing("shared suppression list"),
        )
        .case(
            "a shared template's id",
            unshare_suppression_list("boss", "team", "t1"),
            missing("shared suppression list"),
        )
        .case(
            "from the child it is shared to",
            unshare_suppression_list("owner-a", "child-a", "s1"),
            missing("shared suppression list"),
        )
        .case(
            "escalation: a viewer of the team",
            unshare_suppression_list("tviewer", "team", "s1"),
            lacks(),
        )
        .case(
            "another account's",
            unshare_suppression_list("owner", "team", "s1"),
            denied("NOT_A_MEMBER"),
        )
        .case(
            "an unknown account",
            unshare_suppression_list("boss", "nope", "s1"),
            missing("account"),
        )
        .case(
            "a closed account",
            unshare_suppression_list("shutter", "shut", "s1"),
            precondition("ACCOUNT_CLOSED"),
        ),
        Row::new("ListSharedSuppressionLists", list("boss", "team"))
            .case(
                "empty",
                pb::ListSharedSuppressionListsRequest::default(),
                bad(&["actor_user_id", "account_id"]),
            )
            .case("another account's", list("owner", "team"), denied("NOT_A_MEMBER"))
            .case("an unknown account", list("boss", "nope"), missing("account"))
            .case(
                "a member without suppressions.view",
                list("tviewer", "team"),
                lacks(),
            )
            .case(
                "as a deactivated member",
                list("deact", "acme"),
                denied("MEMBERSHIP_INACTIVE"),
            )
            .case(
                "a garbage page token",
                pb::ListSharedSuppressionListsRequest {
                    page_token: "garbage".into(),
                    ..list("boss", "team")
                },
                bad(&["page_token"]),
            )
            .case(
                "a negative page size",
                pb::ListSharedSuppressionListsRequest {
                    page_size: -1,
                    ..list("boss", "team")
                },
                bad(&["page_size"]),
            )
            .read::<_, pb::ListSharedSuppressionListsResponse>(
                "an account that shares none",
                list("owner", "acme"),
                answers("shared_suppression_lists: []"),
            ),
    ]
}
