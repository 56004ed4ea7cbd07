//! Rows of the shared-template RPCs: children of another team, too many
//! children, a child sharing up.

use access_service::grpc::pb;

use super::fixture::{long, too_many_children};
use super::{Fixture, Row, bad, denied, lacks, missing, precondition};
use crate::support::{list_shared_templates, share};

fn unshare(actor: &str, account: &str, template: &str) -> pb::UnshareTemplateRequest {
    pb::UnshareTemplateRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        template_id: template.into(),
    }
}

pub(super) fn rows(_fx: &Fixture) -> Vec<Row> {
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
                "another account's",
                share("owner", "team", "t2", &[]),
                denied("NOT_A_MEMBER"),
            )
            .case(
                "an unknown account",
                share("boss", "nope", "t2", &[]),
                missing("account"),
            ),
        Row::new("UnshareTemplate", unshare("boss", "team", "t1"))
            .case(
                "empty",
                pb::UnshareTemplateRequest::default(),
                bad(&["actor_user_id", "account_id", "template_id"]),
            )
            .case(
                "a template not shared",
                unshare("boss", "team", "t9"),
                missing("shared template"),
            )
            .case(
                "from the child it is shared to",
                unshare("owner-a", "child-a", "t1"),
                missing("shared template"),
            )
            .case(
                "escalation: a viewer of the team",
                unshare("tviewer", "team", "t1"),
                lacks(),
            )
            .case(
                "another account's",
                unshare("owner", "team", "t1"),
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
            ),
    ]
}
