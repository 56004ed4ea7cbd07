//! The escalation holes of issue 10 item 4, each closed by a rule of
//! docs/domain.md: what a scoped actor may grant, approve, edit or act on
//! (rule 6), resends (rule 10), identity claims (rule 9), reads without an
//! actor, and the limits the API, the code and the schema share.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::{Campaign, List, Template};
use pb::DecisionReason as R;
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{
    TestApp, assert_refused, assert_refused_for, bad_fields, create_account, create_child, email,
    expect_code, list_users, reason, scope, share,
};

/// A custom role "list_lead" that manages users and lists, and "lead" holding it
/// scoped to list 4: the scoped actor of the tests below.
async fn scoped_lead(app: &TestApp) {
    app.create_role(
        "owner",
        "acme",
        "list_lead",
        &[
            "users.view",
            "users.invite",
            "users.edit",
            "users.remove",
            "lists.view",
            "lists.edit",
            "campaigns.view",
        ],
    )
    .await
    .expect("owner creates the lead role");
    app.member("owner", "acme", "lead", "list_lead", vec![scope(List, &["4"])])
        .await;
}

fn update_role(actor: &str, account: &str, name: &str, permissions: &[&str]) -> pb::UpdateRoleRequest {
    pb::UpdateRoleRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        name: name.into(),
        description: String::new(),
        permissions: Some(pb::PermissionList {
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        }),
    }
}

/// Rule 6: approving hands out the permission over the requester's scopes, so
/// an approver scoped to list 4 approves lists.edit only for a requester
/// scoped within list 4.
async fn a_scoped_approver_grants_only_within_their_scope(app: TestApp) {
    app.account("acme", "owner").await;
    scoped_lead(&app).await;
    app.member("owner", "acme", "wide", "viewer", vec![]).await;
    app.member("owner", "acme", "narrow", "viewer", vec![scope(List, &["4"])])
        .await;
    let wide = app
        .request_access("wide", "acme", "lists.edit", "")
        .await
        .expect("request filed");
    let narrow = app
        .request_access("narrow", "acme", "lists.edit", "")
        .await
        .expect("request filed");
    let before = app.table_counts().await;

    assert_refused(
        app.decide("lead", &wide.id, true).await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    assert_eq!(app.table_counts().await, before, "a refusal writes nothing");
    let five = app.check_on("wide", "acme", "lists.edit", (List, "5")).await;
    assert_eq!(reason(&five), R::PermissionNotGranted);

    app.decide("lead", &narrow.id, true)
        .await
        .expect("within the approver's scope");
    assert!(
        app.check_on("narrow", "acme", "lists.edit", (List, "4"))
            .await
            .allowed
    );
    let five = app.check_on("narrow", "acme", "lists.edit", (List, "5")).await;
    assert_eq!(reason(&five), R::OutOfScope);
    app.decide("lead", &wide.id, false)
        .await
        .expect("rejecting gives nothing: always allowed");
}

/// Rule 6: editing a role changes what each of its holders may do, so a
/// scoped actor edits only roles whose holders stay within the actor's scopes.
async fn a_scoped_actor_edits_only_roles_its_scopes_cover(app: TestApp) {
    app.account("acme", "owner").await;
    scoped_lead(&app).await;
    for name in ["helper", "narrow_helper"] {
        app.create_role("owner", "acme", name, &["campaigns.view"])
            .await
            .expect("role created");
    }
    app.member("owner", "acme", "h", "helper", vec![]).await;
    app.member("owner", "acme", "nh", "narrow_helper", vec![scope(List, &["4"])])
        .await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;

    assert_refused(
        client
            .update_role(update_role(
                "lead",
                "acme",
                "helper",
                &["campaigns.view", "lists.edit"],
            ))
            .await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    assert_eq!(app.table_counts().await, before, "a refusal writes nothing");
    let five = app.check_on("h", "acme", "lists.edit", (List, "5")).await;
    assert_eq!(reason(&five), R::PermissionNotGranted);

    client
        .update_role(update_role(
            "lead",
            "acme",
            "narrow_helper",
            &["campaigns.view", "lists.edit"],
        ))
        .await
        .expect("every holder stays within the actor's scope");
    assert!(
        app.check_on("nh", "acme", "lists.edit", (List, "4"))
            .await
            .allowed
    );
    assert_eq!(
        reason(&app.check_on("nh", "acme", "lists.edit", (List, "5")).await),
        R::OutOfScope
    );
}

/// Rules 6 and 8: an admin scoped to list 4 does not cover an unscoped admin,
/// so it can neither change, deactivate, reactivate nor remove them.
async fn a_scoped_admin_cannot_act_on_an_unscoped_admin(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "scoped", "admin", vec![scope(List, &["4"])])
        .await;
    app.member("owner", "acme", "wide", "admin", vec![]).await;
    app.member("owner", "acme", "gone", "admin", vec![]).await;
    app.deactivate("owner", "acme", "gone")
        .await
        .expect("the owner deactivates");
    app.member("owner", "acme", "lm", "list_manager", vec![scope(List, &["4"])])
        .await;
    let before = app.table_counts().await;

    assert_refused(
        app.update_member_role("scoped", "acme", "wide", "viewer").await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    assert_refused(
        app.deactivate("scoped", "acme", "wide").await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    assert_refused(
        app.remove("scoped", "acme", "wide").await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    assert_refused(
        app.reactivate("scoped", "acme", "gone").await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert!(app.check("wide", "acme", "account.close").await.allowed);

    app.deactivate("scoped", "acme", "lm")
        .await
        .expect("a member within the actor's scope");
}

fn reinvite(actor: &str, user: &str, role: &str, scopes: Vec<pb::Scope>, resend: bool) -> pb::InviteRequest {
    pb::InviteRequest {
        actor_user_id: actor.into(),
        account_id: "acme".into(),
        email: email(user),
        role: role.into(),
        scopes,
        resend_if_pending: resend,
        ..Default::default()
    }
}

fn resend(actor: &str, invitation: &str) -> pb::ResendInvitationRequest {
    pb::ResendInvitationRequest {
        actor_user_id: actor.into(),
        invitation_id: invitation.into(),
    }
}

/// Rules 6 and 10: a resend hands out the stored invitation again, with a new
/// token: the actor must be able to grant its role and scopes, whatever the
/// request names.
async fn resending_needs_the_right_to_grant_the_stored_invitation(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "am", "account_manager", vec![]).await;
    app.member(
        "owner",
        "acme",
        "scoped",
        "account_manager",
        vec![scope(List, &["4"])],
    )
    .await;
    let (admin, admin_token) = app.invited("acme", "x", "admin").await;
    let (lm, _) = app.invited("acme", "y", "list_manager").await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;

    assert_refused(
        client.resend_invitation(resend("am", &admin.id)).await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    assert_refused(
        client.resend_invitation(resend("scoped", &lm.id)).await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    // Asking to resend it under another role neither resends it nor hands out its token.
    assert_refused(
        client.invite(reinvite("am", "x", "viewer", vec![], true)).await,
        Code::FailedPrecondition,
        "INVITATION_PENDING_WITH_OTHER_TERMS",
    );
    assert_refused(
        client.invite(reinvite("am", "x", "admin", vec![], true)).await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    // Revoking or editing acts on what the invitation offers: the same rule as for members.
    assert_refused(
        app.revoke("am", &admin.id).await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    assert_refused(
        client
            .update_invitation(pb::UpdateInvitationRequest {
                actor_user_id: "am".into(),
                invitation_id: admin.id.clone(),
                role: "viewer".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    app.accept(&admin_token, "x")
        .await
        .expect("the owner's token still opens the invitation");
    client
        .resend_invitation(resend("owner", &lm.id))
        .await
        .expect("the owner covers every invitation");
}

/// Rule 10: re-inviting a pending address returns the pending invitation only
/// when it offers what is asked; another role or other scopes are refused,
/// naming the role pending, instead of an OK that silently keeps the old one.
async fn reinviting_with_other_terms_is_refused_naming_the_pending_role(app: TestApp) {
    app.account("acme", "owner").await;
    let (pending, _) = app.invited("acme", "x", "viewer").await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;

    for (request, case) in [
        (reinvite("owner", "x", "manager", vec![], false), "another role"),
        (
            reinvite("owner", "x", "manager", vec![], true),
            "another role, resend",
        ),
        (
            reinvite("owner", "x", "viewer", vec![scope(List, &["4"])], false),
            "other scopes",
        ),
    ] {
        let status = assert_refused_for(
            client.invite(request).await,
            Code::FailedPrecondition,
            "INVITATION_PENDING_WITH_OTHER_TERMS",
            case,
        );
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(
            info.metadata.get("pending_role").map(String::as_str),
            Some("viewer"),
            "{case}"
        );
        assert_eq!(
            info.metadata.get("invitation_id").map(String::as_str),
            Some(pending.id.as_str()),
            "{case}"
        );
        assert!(status.message().contains("viewer"), "{case}: {status:?}");
    }
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    let same = client
        .invite(reinvite("owner", "x", "viewer", vec![], false))
        .await
        .expect("the same terms return the pending invitation")
        .into_inner();
    assert_eq!(same.invitation.expect("invitation").id, pending.id);
    assert_eq!(same.token, "", "nothing was issued");
    let resent = client
        .invite(reinvite("owner", "x", "viewer", vec![], true))
        .await
        .expect("the same terms resend")
        .into_inner();
    assert!(!resent.token.is_empty());
}

/// The newest activity entry of `account` with `action`, as ListActivity answers it.
async fn newest_activity(app: &TestApp, account: &str, action: &str) -> pb::ActivityEntry {
    app.client
        .clone()
        .list_activity(pb::ListActivityRequest {
            actor_user_id: "owner".into(),
            account_id: account.into(),
            filter_action: action.into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("list activity")
        .into_inner()
        .entries
        .into_iter()
        .next()
        .expect("an entry")
}

/// Limits: a role description is one line of at most 255 characters, as
/// its column holds on both databases (multi-byte characters included).
async fn role_descriptions_fit_their_column(app: TestApp) {
    app.account("acme", "owner").await;
    let mut client = app.client.clone();
    let longest = "é".repeat(255);
    let role = client
        .create_role(pb::CreateRoleRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            name: "long".into(),
            description: longest.clone(),
            permissions: vec!["campaigns.view".into()],
        })
        .await
        .expect("the longest description is stored")
        .into_inner()
        .role
        .expect("role");
    assert_eq!(role.description, longest);
    let before = app.table_counts().await;
    let status = expect_code(
        client
            .create_role(pb::CreateRoleRequest {
                actor_user_id: "owner".into(),
                account_id: "acme".into(),
                name: "longer".into(),
                description: "é".repeat(256),
                permissions: vec!["campaigns.view".into()],
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), vec!["description"]);
    let status = expect_code(
        client
            .update_role(pb::UpdateRoleRequest {
                description: "é".repeat(256),
                ..update_role("owner", "acme", "long", &["campaigns.view"])
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), vec!["description"]);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
}

/// Limits: declining is logged with the invitee's email as the actor (they
/// may have no user id yet), so the actor column holds the longest email.
async fn a_decline_by_the_longest_email_is_logged(app: TestApp) {
    app.account("acme", "owner").await;
    let address = format!("{}@example.com", "d".repeat(254 - "@example.com".len()));
    assert_eq!(address.len(), 254);
    let invited = app
        .client
        .clone()
        .invite(pb::InviteRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            email: address.clone(),
            role: "viewer".into(),
            ..Default::default()
        })
        .await
        .expect("invite the longest address")
        .into_inner();
    app.client
        .clone()
        .decline_invitation(pb::DeclineInvitationRequest { token: invited.token })
        .await
        .expect("the invitee declines");
    let entry = newest_activity(&app, "acme", "invitation.decline").await;
    assert_eq!(entry.actor_user_id, address);
    assert_eq!(entry.target, address);
}

/// Limits: ShareTemplate names at most 1,000 chosen children, and the
/// activity entry lists every one of them, longest ids included.
async fn sharing_with_many_children_is_logged_whole(app: TestApp) {
    app.account("team", "boss").await;
    let children: Vec<String> = (0..520).map(|i| format!("{i:03}-{}", "c".repeat(124))).collect();
    for child in &children {
        assert_eq!(child.len(), 128);
        app.client
            .clone()
            .create_account(create_child(child, "owner", "team", "boss"))
            .await
            .expect("child created");
    }
    let names: Vec<&str> = children.iter().map(String::as_str).collect();
    app.client
        .clone()
        .share_template(share("boss", "team", "tpl", &names))
        .await
        .expect("shared with 520 children");
    let entry = app
        .client
        .clone()
        .list_activity(pb::ListActivityRequest {
            actor_user_id: "boss".into(),
            account_id: "team".into(),
            filter_action: "template.share".into(),
            ..Default::default()
        })
        .await
        .expect("list activity")
        .into_inner()
        .entries
        .into_iter()
        .next()
        .expect("the share is logged");
    let details: serde_json::Value = serde_json::from_str(&entry.details_json).expect("json");
    assert_eq!(details["children"].as_array().map(Vec::len), Some(520));

    let before = app.table_counts().await;
    let too_many: Vec<String> = (0..1001).map(|i| format!("x{i}")).collect();
    let names: Vec<&str> = too_many.iter().map(String::as_str).collect();
    let status = expect_code(
        app.client
            .clone()
            .share_template(share("boss", "team", "tpl-2", &names))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), vec!["child_account_ids"]);
    assert_eq!(app.table_counts().await, before, "a refusal writes nothing");
}

/// Refusals echo a bounded part of what was sent: a 4 MB permission string,
/// or thousands of bad ones, answer a message of a few hundred bytes that
/// still says what was wrong.
async fn refusals_echo_a_bounded_part_of_the_input(app: TestApp) {
    app.account("acme", "owner").await;
    let huge = "x".repeat(4_000_000);
    let status = expect_code(
        app.client
            .clone()
            .authorize(crate::helpers::check("owner", "acme", &huge, None))
            .await,
        Code::InvalidArgument,
    );
    assert!(
        status.message().len() < 1024,
        "message of {} bytes",
        status.message().len()
    );
    assert!(
        status.message().contains("xxxxxxxx"),
        "still shows what was sent: {}",
        status.message()
    );
    let described: usize = status
        .get_details_bad_request()
        .expect("bad request details")
        .field_violations
        .iter()
        .map(|v| v.description.len())
        .sum();
    assert!(described < 1024, "details of {described} bytes");

    let many: Vec<String> = (0..5000)
        .map(|i| format!("bad.permission{i}{}", "y".repeat(500)))
        .collect();
    let status = expect_code(
        app.client
            .clone()
            .create_role(pb::CreateRoleRequest {
                actor_user_id: "owner".into(),
                account_id: "acme".into(),
                name: "many".into(),
                description: String::new(),
                permissions: many,
            })
            .await,
        Code::InvalidArgument,
    );
    assert!(
        status.message().len() < 8192,
        "message of {} bytes",
        status.message().len()
    );
    assert!(
        status.message().contains("more"),
        "says that more were refused: {}",
        &status.message()[..200.min(status.message().len())]
    );
    let violations = status
        .get_details_bad_request()
        .expect("bad request details")
        .field_violations;
    assert!(violations.len() <= 21, "{} violations", violations.len());
}

/// Rule 9: a CreateAccount naming someone else's email for a made-up id
/// (a claim nobody proved) does not keep the real person out: accepting an
/// invitation sent to that address proves it, and the address moves to them.
async fn an_unproven_claim_cannot_squat_an_email(app: TestApp) {
    app.account("acme", "owner").await;
    let squatter = pb::Person {
        user_id: "x1".into(),
        email: email("victim"),
        name: "Not the victim".into(),
    };
    app.client
        .clone()
        .create_account(create_account("squat", squatter))
        .await
        .expect("an unproven claim to a free address is taken for now");
    app.member("owner", "acme", "victim", "viewer", vec![]).await;
    assert!(app.check("victim", "acme", "campaigns.view").await.allowed);
    let owner = app
        .client
        .clone()
        .get_account(pb::GetAccountRequest {
            account_id: "squat".into(),
            actor_user_id: "x1".into(),
        })
        .await
        .expect("the squatter reads their account")
        .into_inner()
        .account
        .expect("account")
        .owner
        .expect("owner");
    assert_eq!(owner.user_id, "x1");
    assert_ne!(owner.email, email("victim"), "the squatter lost the address");

    for (id, reason, case) in [
        ("x1", "USER_EMAIL_MISMATCH", "the squatter again"),
        ("x2", "EMAIL_IN_USE", "another made-up id"),
    ] {
        assert_refused_for(
            app.client
                .clone()
                .create_account(create_account(
                    &format!("squat-{id}"),
                    pb::Person {
                        user_id: id.into(),
                        email: email("victim"),
                        name: "Not the victim".into(),
                    },
                ))
                .await,
            Code::FailedPrecondition,
            reason,
            case,
        );
    }
}

/// Rule 9: a user whose address changes at the identity provider keeps their
/// id; accepting an invitation sent to the new address moves them to it
/// everywhere, while a claim nobody proved cannot move them.
async fn a_changed_email_follows_the_latest_proven_claim(app: TestApp) {
    app.account("acme", "owner").await;
    app.account("beta", "beta-owner").await;
    app.member("owner", "acme", "u", "viewer", vec![]).await;
    let new_address = "u.new@example.com";
    let invited = app
        .client
        .clone()
        .invite(pb::InviteRequest {
            actor_user_id: "beta-owner".into(),
            account_id: "beta".into(),
            email: new_address.into(),
            role: "viewer".into(),
            ..Default::default()
        })
        .await
        .expect("invite the new address")
        .into_inner();
    app.client
        .clone()
        .accept_invitation(pb::AcceptInvitationRequest {
            token: invited.token,
            user: Some(pb::Person {
                user_id: "u".into(),
                email: new_address.into(),
                name: "U Renamed".into(),
            }),
        })
        .await
        .expect("the same id with its new address");
    let row = app
        .users(list_users("owner", "acme"))
        .await
        .into_iter()
        .find(|row| row.user_id == "u")
        .expect("u is listed");
    assert_eq!(row.email, new_address, "the old account shows the new address");
    assert_eq!(row.name, "U Renamed");

    assert_refused(
        app.client
            .clone()
            .create_account(create_account(
                "elsewhere",
                pb::Person {
                    user_id: "u".into(),
                    email: "someone.else@example.com".into(),
                    name: "Someone".into(),
                },
            ))
            .await,
        Code::FailedPrecondition,
        "USER_EMAIL_MISMATCH",
    );
}

/// Rule 9: a proven address of a user who is an active member somewhere is
/// theirs; once they are active nowhere, a newer proof (the address was
/// given to someone else) takes it.
async fn a_live_proven_address_is_kept(app: TestApp) {
    app.account("acme", "owner").await;
    app.account("beta", "beta-owner").await;
    app.member("owner", "acme", "v", "viewer", vec![]).await;
    let token = app
        .invite("beta-owner", "beta", "v", "viewer", vec![])
        .await
        .expect("invite v's address to beta")
        .token;
    let as_w = || pb::AcceptInvitationRequest {
        token: token.clone(),
        user: Some(pb::Person {
            user_id: "w".into(),
            email: email("v"),
            name: "W".into(),
        }),
    };
    let before = app.table_counts().await;
    assert_refused(
        app.client.clone().accept_invitation(as_w()).await,
        Code::FailedPrecondition,
        "EMAIL_IN_USE",
    );
    assert_eq!(app.table_counts().await, before, "a refusal writes nothing");

    app.client
        .clone()
        .leave_account(pb::LeaveAccountRequest {
            user_id: "v".into(),
            account_id: "acme".into(),
        })
        .await
        .expect("v leaves");
    app.client
        .clone()
        .accept_invitation(as_w())
        .await
        .expect("v is active nowhere: the newer proof takes the address");
    assert!(app.check("w", "beta", "campaigns.view").await.allowed);
}

fn get_account_as(actor: &str, account: &str) -> pb::GetAccountRequest {
    pb::GetAccountRequest {
        account_id: account.into(),
        actor_user_id: actor.into(),
    }
}

/// Reads without an actor: an account's owner is named by id only, to
/// GetAccount without an actor and in ListAccounts (whose user is not
/// proven to be the caller); a member asking as themselves sees the owner.
async fn reads_without_an_actor_show_no_personal_data(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "bob", "viewer", vec![]).await;
    app.account("other", "stranger").await;
    let mut client = app.client.clone();

    let anonymous = app.get_account("acme").await.owner.expect("owner");
    assert_eq!(
        (
            anonymous.user_id.as_str(),
            anonymous.email.as_str(),
            anonymous.name.as_str()
        ),
        ("owner", "", "")
    );
    let seen = client
        .get_account(get_account_as("bob", "acme"))
        .await
        .expect("a member reads the account")
        .into_inner()
        .account
        .expect("account")
        .owner
        .expect("owner");
    assert_eq!(seen.email, email("owner"));
    assert_refused(
        client.get_account(get_account_as("stranger", "acme")).await,
        Code::PermissionDenied,
        "NOT_A_MEMBER",
    );

    let listed = client
        .list_accounts(crate::helpers::list_accounts("bob", 0, ""))
        .await
        .expect("list accounts")
        .into_inner()
        .accounts;
    assert_eq!(listed.len(), 1);
    let owner = listed[0]
        .account
        .as_ref()
        .expect("account")
        .owner
        .as_ref()
        .expect("owner");
    assert_eq!((owner.user_id.as_str(), owner.email.as_str()), ("owner", ""));
}

/// Refusals do not tell a caller about people they may not see: a stranger
/// resending, revoking or changing an invitation, or deciding an access
/// request, by id learns neither that it exists nor its account; a member
/// without users.view is told they are outranked, not what the target holds.
async fn refusals_do_not_tell_strangers_about_people(app: TestApp) {
    app.account("acme", "owner").await;
    app.account("other", "stranger").await;
    app.member("owner", "acme", "admin", "admin", vec![]).await;
    app.member("owner", "acme", "asker", "viewer", vec![]).await;
    app.create_role("owner", "acme", "remover", &["users.remove"])
        .await
        .expect("role created");
    app.member("owner", "acme", "remover", "remover", vec![]).await;
    let (invitation, _) = app.invited("acme", "x", "viewer").await;
    let request = app
        .request_access("asker", "acme", "lists.view", "")
        .await
        .expect("request filed");
    let mut client = app.client.clone();
    let before = app.table_counts().await;

    let refusals = [
        (
            "resend",
            client
                .resend_invitation(resend("stranger", &invitation.id))
                .await
                .map(|_| ()),
        ),
        ("revoke", app.revoke("stranger", &invitation.id).await.map(|_| ())),
        (
            "update",
            client
                .update_invitation(pb::UpdateInvitationRequest {
                    actor_user_id: "stranger".into(),
                    invitation_id: invitation.id.clone(),
                    role: "viewer".into(),
                    ..Default::default()
                })
                .await
                .map(|_| ()),
        ),
        (
            "decide",
            app.decide("stranger", &request.id, true).await.map(|_| ()),
        ),
    ];
    for (case, result) in refusals {
        let status = expect_code(result, Code::NotFound);
        assert!(!status.message().contains("acme"), "{case}: {status:?}");
    }

    let status = assert_refused(
        app.deactivate("remover", "acme", "admin").await,
        Code::PermissionDenied,
        "OUTRANKED",
    );
    assert!(
        !status.message().contains("account.close") && !status.message().contains("billing"),
        "names nothing the target holds: {status:?}"
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
}

/// Rule 2: a scope narrows the permissions of its resource type's areas, so
/// a check pairing a permission with a resource of another type (lists.edit
/// on a campaign) would skip the scope: it is refused as INVALID_ARGUMENT.
async fn a_check_pairs_a_permission_with_a_resource_of_its_area(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "lm", "list_manager", vec![scope(List, &["4"])])
        .await;
    let mut client = app.client.clone();
    let status = expect_code(
        client
            .authorize(crate::helpers::check(
                "lm",
                "acme",
                "lists.edit",
                Some((Campaign, "5")),
            ))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), vec!["resource.type"]);
    assert!(status.message().contains("lists.edit"), "{status:?}");
    let status = expect_code(
        client
            .batch_authorize(pb::BatchAuthorizeRequest {
                checks: vec![
                    crate::helpers::check("lm", "acme", "lists.edit", Some((List, "4"))),
                    crate::helpers::check("lm", "acme", "contacts.view", Some((Template, "t"))),
                ],
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), vec!["checks[1].resource.type"]);

    assert_eq!(
        reason(&app.check_on("lm", "acme", "contacts.edit", (List, "5")).await),
        R::OutOfScope,
        "contacts live in lists: a list scope narrows them"
    );
    assert!(
        app.check_on("lm", "acme", "contacts.edit", (List, "4"))
            .await
            .allowed
    );
    assert!(
        app.check_on("owner", "acme", "campaigns.edit", (Template, "t"))
            .await
            .allowed
    );
    assert!(
        app.check_on("owner", "acme", "reports.view", (Campaign, "7"))
            .await
            .allowed
    );
}

crate::on_both_databases!(
    a_scoped_approver_grants_only_within_their_scope,
    a_scoped_actor_edits_only_roles_its_scopes_cover,
    a_scoped_admin_cannot_act_on_an_unscoped_admin,
    resending_needs_the_right_to_grant_the_stored_invitation,
    reinviting_with_other_terms_is_refused_naming_the_pending_role,
    role_descriptions_fit_their_column,
    a_decline_by_the_longest_email_is_logged,
    sharing_with_many_children_is_logged_whole,
    refusals_echo_a_bounded_part_of_the_input,
    an_unproven_claim_cannot_squat_an_email,
    a_changed_email_follows_the_latest_proven_claim,
    a_live_proven_address_is_kept,
    reads_without_an_actor_show_no_personal_data,
    refusals_do_not_tell_strangers_about_people,
    a_check_pairs_a_permission_with_a_resource_of_its_area,
);
