//! Rows of the invitation RPCs: tokens replayed, revoked, declined or made
//! up; invitations of another account; roles the actor cannot grant.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::List;
use tonic::Code;

use super::fixture::long;
use super::{Expect, Fixture, Row, bad, denied, exists, lacks, missing, precondition};
use crate::support::resend;
use crate::support::{person, scope};

pub(super) fn invite(actor: &str, account: &str, email: &str, role: &str) -> pb::InviteRequest {
    pb::InviteRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        email: email.into(),
        role: role.into(),
        ..Default::default()
    }
}

fn accept(token: &str, user: &str) -> pb::AcceptInvitationRequest {
    pb::AcceptInvitationRequest {
        token: token.into(),
        user: Some(person(user)),
    }
}

fn decline(token: &str) -> pb::DeclineInvitationRequest {
    pb::DeclineInvitationRequest { token: token.into() }
}

fn revoke(actor: &str, id: &str) -> pb::RevokeInvitationRequest {
    pb::RevokeInvitationRequest {
        actor_user_id: actor.into(),
        invitation_id: id.into(),
    }
}

fn update(actor: &str, id: &str, role: &str) -> pb::UpdateInvitationRequest {
    pb::UpdateInvitationRequest {
        actor_user_id: actor.into(),
        invitation_id: id.into(),
        role: role.into(),
        scopes: None,
    }
}

fn list(actor: &str, account: &str) -> pb::ListInvitationsRequest {
    pb::ListInvitationsRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        ..Default::default()
    }
}

/// NOT_FOUND INVITATION_TOKEN_UNKNOWN: a token that opens nothing.
fn unknown_token() -> Expect {
    Expect::Refused(Code::NotFound, "INVITATION_TOKEN_UNKNOWN")
}

pub(super) fn rows(fx: &Fixture) -> Vec<Row> {
    vec![
        Row::new("Invite", invite("owner", "acme", "new@example.com", "viewer"))
            .case(
                "empty",
                pb::InviteRequest::default(),
                bad(&["actor_user_id", "account_id", "email", "role"]),
            )
            .case(
                "a malformed email",
                invite("owner", "acme", "new-at-example.com", "viewer"),
                bad(&["email"]),
            )
            .case(
                "an access end in the past",
                pb::InviteRequest {
                    access_end_time: Some(crate::support::stamp(
                        chrono::Utc::now() - chrono::Duration::days(1),
                    )),
                    ..invite("owner", "acme", "new@example.com", "viewer")
                },
                precondition("END_IN_PAST"),
            )
            .case(
                "an oversized email",
                invite("owner", "acme", &format!("{}@example.com", long(250)), "viewer"),
                bad(&["email"]),
            )
            .case(
                "an oversized message",
                pb::InviteRequest {
                    message: long(2001),
                    ..invite("owner", "acme", "new@example.com", "viewer")
                },
                bad(&["message"]),
            )
            .case(
                "1,200 scope ids over two types (each type within its own 1,000)",
                pb::InviteRequest {
                    scopes: many_scope_ids(),
                    ..invite("owner", "acme", "new@example.com", "manager")
                },
                bad(&["scopes"]),
            )
            .case(
                "a message with a bidi override",
                pb::InviteRequest {
                    message: "open moc.live\u{202e}//:sptth".into(),
                    ..invite("owner", "acme", "new@example.com", "viewer")
                },
                bad(&["message"]),
            )
            .case(
                "past the actor's email limit (one an hour on this server)",
                invite("owner", "acme", "new@example.com", "viewer"),
                Expect::Refused(Code::ResourceExhausted, "EMAIL_RATE_LIMITED"),
            )
            .case(
                "an oversized invitee name",
                pb::InviteRequest {
                    invitee_name: long(201),
                    ..invite("owner", "acme", "new@example.com", "viewer")
                },
                bad(&["invitee_name"]),
            )
            .case(
                "an unknown role",
                invite("owner", "acme", "new@example.com", "emperor"),
                bad(&["role"]),
            )
            .case(
                "the owner role",
                invite("owner", "acme", "new@example.com", "owner"),
                precondition("OWNER_ROLE_NOT_ASSIGNABLE"),
            )
            .case(
                "an unknown account",
                invite("owner", "nope", "new@example.com", "viewer"),
                missing("account"),
            )
            .case(
                "another account's",
                invite("owner", "other", "new@example.com", "viewer"),
                denied("NOT_A_MEMBER"),
            )
            .case(
                "escalation: a viewer invites",
                invite("viewer", "acme", "new@example.com", "viewer"),
                lacks(),
            )
            .case(
                "escalation: a scoped lead invites an admin",
                invite("lead", "acme", "new@example.com", "admin"),
                denied("PRIVILEGE_ESCALATION"),
            )
            .case(
                // lists.view is the lead's on list 4 only (campaigns.view,
                // which no list scope narrows, is the lead's everywhere).
                "escalation: a scoped lead invites without its scope",
                invite("lead", "acme", "new@example.com", "lister"),
                denied("PRIVILEGE_ESCALATION"),
            )
            .case(
                "a member already",
                invite("owner", "acme", "admin@example.com", "viewer"),
                exists("ALREADY_A_MEMBER"),
            )
            .case(
                "a pending invitation with other terms",
                invite("owner", "acme", "pend@example.com", "admin"),
                precondition("INVITATION_PENDING_WITH_OTHER_TERMS"),
            )
            .case(
                "accounts of two teams in one invitation",
                pb::InviteRequest {
                    additional_accounts: vec![pb::InviteTarget {
                        account_id: "other".into(),
                        role: "viewer".into(),
                        scopes: vec![],
                    }],
                    ..invite("owner", "acme", "new@example.com", "viewer")
                },
                precondition("NOT_ONE_TEAM"),
            )
            .case(
                "beyond the plan's member quota",
                invite("fowner", "full", "new@example.com", "viewer"),
                Expect::Refused(Code::ResourceExhausted, "MEMBER_LIMIT_REACHED"),
            )
            .case(
                "the account named twice",
                pb::InviteRequest {
                    additional_accounts: vec![pb::InviteTarget {
                        account_id: "acme".into(),
                        role: "admin".into(),
                        scopes: vec![],
                    }],
                    ..invite("owner", "acme", "new@example.com", "viewer")
                },
                bad(&["additional_accounts[0].account_id"]),
            )
            .case(
                "a scope of unknown type",
                pb::InviteRequest {
                    scopes: vec![pb::Scope {
                        resource_type: 99,
                        resource_ids: vec!["4".into()],
                    }],
                    ..invite("owner", "acme", "new@example.com", "viewer")
                },
                bad(&["scopes[0].resource_type"]),
            )
            .case(
                "a closed account",
                invite("shutter", "shut", "new@example.com", "viewer"),
                precondition("ACCOUNT_CLOSED"),
            )
            .case(
                "an actor without two-factor in an account requiring it",
                invite("sadmin", "secure", "new@example.com", "viewer"),
                denied("MFA_REQUIRED"),
            )
            .case_with(
                "the actor's two-factor denied in its session",
                &[("x-actor-mfa-verified", "false")],
                invite("sowner", "secure", "new@example.com", "viewer"),
                denied("MFA_REQUIRED"),
            )
            .case(
                "a message over the server's size limit",
                pb::InviteRequest {
                    message: long(5 << 20),
                    ..invite("owner", "acme", "new@example.com", "viewer")
                },
                Expect::Refused(Code::OutOfRange, ""),
            ),
        Row::new("AcceptInvitation", accept(&fx.pending_token, "pend"))
            .case(
                "empty",
                pb::AcceptInvitationRequest::default(),
                bad(&["token", "user"]),
            )
            .case("a made-up token", accept("garbage", "pend"), unknown_token())
            .case(
                "an oversized token",
                accept(&long(10_000), "pend"),
                unknown_token(),
            )
            .case(
                "a token replaced by a resend",
                accept(&fx.replaced_token, "re"),
                unknown_token(),
            )
            .case(
                "a replayed (accepted) token",
                accept(&fx.accepted_token, "viewer"),
                precondition("INVITATION_ALREADY_ACCEPTED"),
            )
            .case(
                "a revoked token",
                accept(&fx.revoked_token, "rev"),
                precondition("INVITATION_REVOKED"),
            )
            .case(
                "a declined token",
                accept(&fx.declined_token, "dec"),
                precondition("INVITATION_DECLINED"),
            )
            .case(
                "someone else's invitation",
                accept(&fx.pending_token, "mallory"),
                denied("INVITATION_EMAIL_MISMATCH"),
            )
            .case(
                "an invitation from an admin deactivated since (rule 10)",
                accept(&fx.orphan_token, "orphan"),
                precondition("INVITER_LACKS_REACH"),
            )
            .case(
                "an oversized name",
                pb::AcceptInvitationRequest {
                    token: fx.pending_token.clone(),
                    user: Some(pb::Person {
                        name: long(201),
                        ..person("pend")
                    }),
                },
                bad(&["user.name"]),
            )
            .case(
                "a user id with spaces around it",
                pb::AcceptInvitationRequest {
                    token: fx.pending_token.clone(),
                    user: Some(pb::Person {
                        user_id: " pend".into(),
                        ..person("pend")
                    }),
                },
                bad(&["user.user_id"]),
            )
            .case(
                "a malformed email",
                pb::AcceptInvitationRequest {
                    token: fx.pending_token.clone(),
                    user: Some(pb::Person {
                        email: "pend-at-example.com".into(),
                        ..person("pend")
                    }),
                },
                bad(&["user.email"]),
            ),
        Row::new("DeclineInvitation", decline(&fx.pending_token))
            .case("empty", decline(""), bad(&["token"]))
            .case("a made-up token", decline("garbage"), unknown_token())
            .case(
                "a token replaced by a resend",
                decline(&fx.replaced_token),
                unknown_token(),
            )
            .case(
                "a replayed (accepted) token",
                decline(&fx.accepted_token),
                precondition("INVITATION_ALREADY_ACCEPTED"),
            )
            .case(
                "a revoked token",
                decline(&fx.revoked_token),
                precondition("INVITATION_REVOKED"),
            )
            .case(
                "a declined token",
                decline(&fx.declined_token),
                precondition("INVITATION_DECLINED"),
            ),
        Row::new("ResendInvitation", resend("owner", &fx.pending_id))
            .case(
                "empty",
                pb::ResendInvitationRequest::default(),
                bad(&["actor_user_id", "invitation_id"]),
            )
            .case("an unknown id", resend("owner", "nope"), missing("invitation"))
            .case(
                "an oversized id",
                resend("owner", &long(129)),
                bad(&["invitation_id"]),
            )
            .case(
                "another account's invitation",
                resend("owner", &fx.other_invitation_id),
                missing("invitation"),
            )
            .case(
                "escalation: a viewer resends",
                resend("viewer", &fx.pending_id),
                lacks(),
            )
            .case(
                "escalation: a scoped lead re-arms an admin invitation",
                resend("lead", &fx.admin_invitation_id),
                denied("PRIVILEGE_ESCALATION"),
            )
            .case(
                "a revoked invitation",
                resend("owner", &fx.revoked_id),
                precondition("INVITATION_REVOKED"),
            )
            .case(
                "a declined invitation",
                resend("owner", &fx.declined_id),
                precondition("INVITATION_DECLINED"),
            )
            .case(
                "an accepted invitation",
                resend("owner", &fx.accepted_id),
                precondition("INVITATION_ALREADY_ACCEPTED"),
            )
            .case(
                "within the cooldown of its last email",
                resend("owner", &fx.pending_id),
                Expect::Refused(Code::ResourceExhausted, "RESEND_COOLDOWN"),
            ),
        Row::new("RevokeInvitation", revoke("owner", &fx.pending_id))
            .case(
                "empty",
                pb::RevokeInvitationRequest::default(),
                bad(&["actor_user_id", "invitation_id"]),
            )
            .case("an unknown id", revoke("owner", "nope"), missing("invitation"))
            .case(
                "another account's invitation",
                revoke("owner", &fx.other_invitation_id),
                missing("invitation"),
            )
            .case(
                "escalation: a viewer revokes",
                revoke("viewer", &fx.pending_id),
                lacks(),
            )
            .case(
                "escalation: a scoped lead revokes an admin invitation",
                revoke("lead", &fx.admin_invitation_id),
                denied("OUTRANKED"),
            )
            .case(
                "a revoked invitation",
                revoke("owner", &fx.revoked_id),
                precondition("INVITATION_REVOKED"),
            )
            .case(
                "an accepted invitation",
                revoke("owner", &fx.accepted_id),
                precondition("INVITATION_ALREADY_ACCEPTED"),
            ),
        Row::new("UpdateInvitation", update("owner", &fx.pending_id, "helper"))
            .case(
                "empty",
                pb::UpdateInvitationRequest::default(),
                bad(&["actor_user_id", "invitation_id", "role"]),
            )
            .case(
                "an unknown role",
                update("owner", &fx.pending_id, "emperor"),
                bad(&["role"]),
            )
            .case(
                "an unknown id",
                update("owner", "nope", "viewer"),
                missing("invitation"),
            )
            .case(
                "another account's invitation",
                update("owner", &fx.other_invitation_id, "viewer"),
                missing("invitation"),
            )
            .case(
                "escalation: a scoped lead changes an unscoped invitation",
                update("lead", &fx.pending_id, "helper"),
                denied("OUTRANKED"),
            )
            .case(
                "escalation: a scoped lead offers admin",
                update("lead", &fx.narrow_invitation_id, "admin"),
                denied("PRIVILEGE_ESCALATION"),
            )
            .case(
                "escalation: a viewer changes it",
                update("viewer", &fx.pending_id, "helper"),
                lacks(),
            )
            .case(
                "a revoked invitation",
                update("owner", &fx.revoked_id, "helper"),
                precondition("INVITATION_REVOKED"),
            )
            .case(
                "scopes of an unknown type",
                pb::UpdateInvitationRequest {
                    scopes: Some(pb::ScopeList {
                        scopes: vec![
                            scope(List, &[]),
                            pb::Scope {
                                resource_type: 0,
                                resource_ids: vec!["1".into()],
                            },
                        ],
                    }),
                    ..update("owner", &fx.pending_id, "")
                },
                bad(&["scopes.scopes[1].resource_type"]),
            ),
        Row::new("ListInvitations", list("owner", "acme"))
            .case(
                "empty",
                pb::ListInvitationsRequest::default(),
                bad(&["actor_user_id", "account_id"]),
            )
            .case("an unknown account", list("owner", "nope"), missing("account"))
            .case(
                "another account's",
                list("owner", "other"),
                denied("NOT_A_MEMBER"),
            )
            .case("escalation: a viewer lists", list("viewer", "acme"), lacks())
            .case(
                "an unknown state",
                pb::ListInvitationsRequest {
                    state: 99,
                    ..list("owner", "acme")
                },
                bad(&["state"]),
            )
            .case(
                "a garbage page token",
                pb::ListInvitationsRequest {
                    page_token: "garbage".into(),
                    ..list("owner", "acme")
                },
                bad(&["page_token"]),
            )
            .case(
                "an oversized page",
                pb::ListInvitationsRequest {
                    page_size: 1001,
                    ..list("owner", "acme")
                },
                bad(&["page_size"]),
            ),
    ]
}

/// 600 list ids and 600 campaign ids: within each type's cap, over the
/// default total (ACCESS_MAX_SCOPE_IDS, 1,000).
fn many_scope_ids() -> Vec<pb::Scope> {
    let ids = |prefix: &str| (0..600).map(|i| format!("{prefix}-{i}")).collect::<Vec<_>>();
    let (lists, campaigns) = (ids("list"), ids("campaign"));
    let lists: Vec<&str> = lists.iter().map(String::as_str).collect();
    let campaigns: Vec<&str> = campaigns.iter().map(String::as_str).collect();
    vec![scope(List, &lists), scope(pb::ResourceType::Campaign, &campaigns)]
}
