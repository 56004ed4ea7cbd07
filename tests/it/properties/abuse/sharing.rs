//! Rows of the sharing RPCs (docs/domain.md rule 5), one mechanism for
//! templates and suppression lists: children of another team, too many
//! children, a child sharing up; a member scoped to other ids; and a
//! template's id, which names no suppression list.

use access_service::grpc::pb;

use super::fixture::{long, too_many_children};
use super::{Fixture, Row, answers, bad, denied, lacks, missing, precondition};
use crate::support::{list_shared_templates, share, share_suppression_list, unshare_suppression_list};

pub(super) fn rows(_fx: &Fixture) -> Vec<Row> {
    let mut rows = suppression_list_rows();
    rows.extend(template_rows());
    rows
}

fn list_suppression_lists(actor: &str, account: &str) -> pb::ListSharedSuppressionListsRequest {
    pb::ListSharedSuppressionListsRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        ..Default::default()
    }
}

fn suppression_list_rows() -> Vec<Row> {
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
            "a member scoped to another list",
            share_suppression_list("tscoped", "team", "s1", &[]),
            denied("OUT_OF_SCOPE"),
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
            "a member scoped to another list",
            unshare_suppression_list("tscoped", "team", "s1"),
            denied("OUT_OF_SCOPE"),
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
        Row::new(
            "ListSharedSuppressionLists",
            list_suppression_lists("boss", "team"),
        )
        .case(
            "empty",
            pb::ListSharedSuppressionListsRequest::default(),
            bad(&["actor_user_id", "account_id"]),
        )
        .case(
            "another account's",
            list_suppression_lists("owner", "team"),
            denied("NOT_A_MEMBER"),
        )
        .case(
            "an unknown account",
            list_suppression_lists("boss", "nope"),
            missing("account"),
        )
        .case(
            "a member without suppressions.view",
            list_suppression_lists("tviewer", "team"),
            lacks(),
        )
        .read::<_, pb::ListSharedSuppressionListsResponse>(
            "a member scoped to another list: not the shared one",
            list_suppression_lists("tscoped", "team"),
            answers("shared_suppression_lists: []"),
        )
        .case(
            "as a deactivated member",
            list_suppression_lists("deact", "acme"),
            denied("MEMBERSHIP_INACTIVE"),
        )
        .case(
            "a garbage page token",
            pb::ListSharedSuppressionListsRequest {
                page_token: "garbage".into(),
                ..list_suppression_lists("boss", "team")
            },
            bad(&["page_token"]),
        )
        .case(
            "a negative page size",
            pb::ListSharedSuppressionListsRequest {
                page_size: -1,
                ..list_suppression_lists("boss", "team")
            },
            bad(&["page_size"]),
        )
        .read::<_, pb::ListSharedSuppressionListsResponse>(
            "an account that shares none",
            list_suppression_lists("owner", "acme"),
            answers("shared_suppression_lists: []"),
        ),
    ]
}

fn unshare_template(actor: &str, account: &str, template: &str) -> pb::UnshareTemplateRequest {
    pb::UnshareTemplateRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        template_id: template.into(),
    }
}

fn template_rows() -> Vec<Row> {
    vec![
        Row::new("ShareTemplate", share("boss", "team", "t2", &[]))
            .case(
                "empty",
                pb::ShareTemplateRequest::default(),
                bad(&["actor_user_id", "account_id", "template_id"]),
            )
            .case(
                "an oversized template id",
                share("boss", "team", &long(129), &[]),
                bad(&["template_id"]),
            )
            .case(
                "too many children",
                pb::ShareTemplateRequest {
                    child_account_ids: too_many_children(),
                    ..share("boss", "team", "t2", &[])
                },
                bad(&["child_account_ids"]),
            )
            .case(
                "an empty child id",
                share("boss", "team", "t2", &["child-a", ""]),
                bad(&["child_account_ids[1]"]),
            )
            .case(
                "an unknown child",
                share("boss", "team", "t2", &["nope"]),
                missing("child account"),
            )
            .case(
                "another team's account as a child",
                share("boss", "team", "t2", &["other"]),
                precondition("NOT_A_CHILD_ACCOUNT"),
            )
            .case(
                "from a child account",
                share("owner-a", "child-a", "t2", &[]),
                precondition("SHARE_NOT_FROM_PARENT"),
            )
            .case(
                "escalation: a viewer of the team",
                share("tviewer", "team", "t2", &[]),
                lacks(),
            )
            .case(
                "a member scoped to another template",
                share("tscoped", "team", "t1", &[]),
                denied("OUT_OF_SCOPE"),
            )
            .case(
                "another account's",
                share("owner", "team", "t2", &[]),
                denied("NOT_A_MEMBER"),
            )
            .case(
                "an unknown account",
                share("boss", "nope", "t2", &[]),
                missing("account"),
            ),
        Row::new("UnshareTemplate", unshare_template("boss", "team", "t1"))
            .case(
                "empty",
                pb::UnshareTemplateRequest::default(),
                bad(&["actor_user_id", "account_id", "template_id"]),
            )
            .case(
                "a template not shared",
                unshare_template("boss", "team", "t9"),
                missing("shared template"),
            )
            .case(
                "from the child it is shared to",
                unshare_template("owner-a", "child-a", "t1"),
                missing("shared template"),
            )
            .case(
                "escalation: a viewer of the team",
                unshare_template("tviewer", "team", "t1"),
                lacks(),
            )
            .case(
                "a member scoped to another template",
                unshare_template("tscoped", "team", "t1"),
                denied("OUT_OF_SCOPE"),
            )
            .case(
                "another account's",
                unshare_template("owner", "team", "t1"),
                denied("NOT_A_MEMBER"),
            ),
        Row::new("ListSharedTemplates", list_shared_templates("boss", "team"))
            .case(
                "empty",
                pb::ListSharedTemplatesRequest::default(),
                bad(&["actor_user_id", "account_id"]),
            )
            .case(
                "another account's",
                list_shared_templates("owner", "team"),
                denied("NOT_A_MEMBER"),
            )
            .case(
                "an unknown account",
                list_shared_templates("boss", "nope"),
                missing("account"),
            )
            .case(
                "a garbage page token",
                pb::ListSharedTemplatesRequest {
                    page_token: "garbage".into(),
                    ..list_shared_templates("boss", "team")
                },
                bad(&["page_token"]),
            )
            .read::<_, pb::ListSharedTemplatesResponse>(
                "a member scoped to another template: not the shared one",
                list_shared_templates("tscoped", "team"),
                answers("shared_templates: []"),
            ),
    ]
}
