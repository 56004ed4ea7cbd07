//! The row of PreviewInvitationEmail: Invite's request nested in `invite`,
//! refused as Invite refuses it wherever the refusal does not depend on the
//! invitee (the bad fields named from the outer request), and shown, not
//! refused, where it does (those refusals are Invite's).

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::List;

use super::fixture::long;
use super::invitations::invite;
use super::{Row, answers, bad, denied, lacks, missing, precondition};
use crate::support::scope;

fn preview(invite: pb::InviteRequest) -> pb::PreviewInvitationEmailRequest {
    pb::PreviewInvitationEmailRequest { invite: Some(invite) }
}

/// acme's owner invites a new viewer.
fn fine() -> pb::InviteRequest {
    invite("owner", "acme", "new@example.com", "viewer")
}

/// [`fine`], to `account` too as `role`.
fn also(account: &str, role: &str) -> pb::InviteRequest {
    pb::InviteRequest {
        additional_accounts: vec![pb::InviteTarget {
            account_id: account.into(),
            role: role.into(),
            scopes: vec![],
        }],
        ..fine()
    }
}

pub(super) fn rows() -> Vec<Row> {
    vec![
        Row::new("PreviewInvitationEmail", preview(fine()))
            .case(
                "empty",
                pb::PreviewInvitationEmailRequest::default(),
                bad(&[
                    "invite.actor_user_id",
                    "invite.account_id",
                    "invite.email",
                    "invite.role",
                ]),
            )
            .case(
                "a malformed email",
                preview(invite("owner", "acme", "new-at-example.com", "viewer")),
                bad(&["invite.email"]),
            )
            .case(
                "an oversized message",
                preview(pb::InviteRequest {
                    message: long(2001),
                    ..fine()
                }),
                bad(&["invite.message"]),
            )
            .case(
                "a message with a zero-width space",
                preview(pb::InviteRequest {
                    message: "click\u{200b}here".into(),
                    ..fine()
                }),
                bad(&["invite.message"]),
            )
            .case(
                "an unknown role",
                preview(invite("owner", "acme", "new@example.com", "emperor")),
                bad(&["invite.role"]),
            )
            .case(
                "the account named twice",
                preview(also("acme", "admin")),
                bad(&["invite.additional_accounts[0].account_id"]),
            )
            .case(
                "a scope the role holds no permission for",
                preview(pb::InviteRequest {
                    scopes: vec![scope(List, &["4"])],
                    ..fine()
                }),
                bad(&["invite.scopes"]),
            )
            .case(
                "the owner role",
                preview(invite("owner", "acme", "new@example.com", "owner")),
                precondition("OWNER_ROLE_NOT_ASSIGNABLE"),
            )
            .case(
                "an unknown account",
                preview(invite("owner", "nope", "new@example.com", "viewer")),
                missing("account"),
            )
            .case(
                "another account's",
                preview(invite("owner", "other", "new@example.com", "viewer")),
                denied("NOT_A_MEMBER"),
            )
            .case(
                "escalation: a viewer",
                preview(invite("viewer", "acme", "new@example.com", "viewer")),
                lacks(),
            )
            .case(
                "escalation: a scoped lead previews an admin's invitation",
                preview(invite("lead", "acme", "new@example.com", "admin")),
                denied("PRIVILEGE_ESCALATION"),
            )
            .case(
                "accounts of two teams",
                preview(also("other", "viewer")),
                precondition("NOT_ONE_TEAM"),
            )
            .case(
                "a closed account",
                preview(invite("shutter", "shut", "new@example.com", "viewer")),
                precondition("ACCOUNT_CLOSED"),
            )
            .case(
                "an actor without two-factor in an account requiring it",
                preview(invite("sadmin", "secure", "new@example.com", "viewer")),
                denied("MFA_REQUIRED"),
            )
            .case_with(
                "a malformed session header",
                &[("x-actor-mfa-verified", "yes")],
                preview(fine()),
                bad(&["x-actor-mfa-verified"]),
            )
            .read::<_, pb::PreviewInvitationEmailResponse>(
                "a member already: Invite's refusal, the preview shows the email",
                preview(invite("owner", "acme", "admin@example.com", "viewer")),
                answers("PREVIEW-TOKEN"),
            ),
    ]
}
