//! ListActivity and the activity log: docs/domain.md rule 12 (every mutation writes one entry).

mod callers;

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use access_service::grpc::pb;
use sea_orm::{ConnectionTrait, Statement};
use tonic::{Code, Status};

use crate::support::{TestApp, assert_refused, bad_fields, email, expect_code, instant, person};

async fn total(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) AS n FROM activity_log").await
}

/// Runs one mutation and asserts it wrote exactly one entry, with `action`, in `account`.
async fn logs_one<T>(
    app: &TestApp,
    account: &str,
    action: &str,
    call: impl Future<Output = Result<tonic::Response<T>, Status>>,
) -> T {
    let before = total(app).await;
    let of_action = app.activity_count(account, action).await;
    let value = call
        .await
        .unwrap_or_else(|status| panic!("{action} in {account}: {status:?}"))
        .into_inner();
    assert_eq!(total(app).await, before + 1, "{action} writes exactly one entry");
    assert_eq!(
        app.activity_count(account, action).await,
        of_action + 1,
        "the entry is {action} in {account}"
    );
    // No key configured: the caller is the local one, never the service's
    // own name (which a handler that forgot its caller would record).
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM activity_log WHERE id = (SELECT MAX(id) FROM activity_log) \
             AND via_kind = 'local' AND via_name = 'local'"
        )
        .await,
        1,
        "{action} records the caller it came through"
    );
    value
}

/// Runs one refused request and asserts it wrote no entry.
async fn logs_none<T: std::fmt::Debug>(
    app: &TestApp,
    what: &str,
    code: Code,
    call: impl Future<Output = Result<tonic::Response<T>, Status>>,
) {
    let before = total(app).await;
    let status = expect_code(call.await, code);
    assert_eq!(
        total(app).await,
        before,
        "{what} was refused ({status:?}) and logs nothing"
    );
}

fn list(actor: &str, account: &str) -> pb::ListActivityRequest {
    pb::ListActivityRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        ..Default::default()
    }
}

/// The entries of one request, on one page.
async fn entries(app: &TestApp, request: pb::ListActivityRequest) -> Vec<pb::ActivityEntry> {
    let response = app
        .client
        .clone()
        .list_activity(request)
        .await
        .expect("list activity")
        .into_inner();
    assert_eq!(response.next_page_token, "", "one page is enough");
    response.entries
}

fn actions(entries: &[pb::ActivityEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.action.as_str()).collect()
}

fn timestamp_now() -> prost_types::Timestamp {
    let now = chrono::Utc::now();
    prost_types::Timestamp {
        seconds: now.timestamp(),
        nanos: i32::try_from(now.timestamp_subsec_nanos()).expect("nanos fit"),
    }
}

/// Rule 12: each mutation RPC writes exactly one activity entry; a refused one writes none.
async fn every_mutation_writes_exactly_one_entry(app: TestApp) {
    let c = app.client.clone();
    assert_eq!(total(&app).await, 0);

    logs_one(
        &app,
        "team",
        "account.create",
        c.clone().create_account(pb::CreateAccountRequest {
            account_id: "team".into(),
            name: "Team".into(),
            owner: Some(person("boss")),
            ..Default::default()
        }),
    )
    .await;
    logs_one(
        &app,
        "child",
        "account.create",
        c.clone().create_account(pb::CreateAccountRequest {
            account_id: "child".into(),
            name: "Child".into(),
            owner: Some(person("kid")),
            parent_account_id: "team".into(),
            actor_user_id: "boss".into(),
        }),
    )
    .await;
    let invite = |user: &str, role: &str| pb::InviteRequest {
        actor_user_id: "boss".into(),
        account_id: "team".into(),
        email: email(user),
        role: role.into(),
        ..Default::default()
    };
    let bob = logs_one(
        &app,
        "team",
        "invitation.create",
        c.clone().invite(invite("bob", "viewer")),
    )
    .await;
    logs_one(
        &app,
        "team",
        "invitation.accept",
        c.clone().accept_invitation(pb::AcceptInvitationRequest {
            token: bob.token,
            user: Some(person("bob")),
        }),
    )
    .await;
    logs_one(
        &app,
        "team",
        "member.update",
        c.clone().update_member(pb::UpdateMemberRequest {
            actor_user_id: "boss".into(),
            account_id: "team".into(),
            user_id: "bob".into(),
            role: "manager".into(),
            ..Default::default()
        }),
    )
    .await;
    logs_one(
        &app,
        "team",
        "member.deactivate",
        c.clone().deactivate_member(pb::DeactivateMemberRequest {
            actor_user_id: "boss".into(),
            account_id: "team".into(),
            user_id: "bob".into(),
        }),
    )
    .await;
    logs_one(
        &app,
        "team",
        "member.reactivate",
        c.clone().reactivate_member(pb::ReactivateMemberRequest {
            actor_user_id: "boss".into(),
            account_id: "team".into(),
            user_id: "bob".into(),
        }),
    )
    .await;
    logs_one(
        &app,
        "team",
        "member.sign_in",
        c.clone().record_sign_in(pb::RecordSignInRequest {
            user_id: "bob".into(),
            account_id: "team".into(),
        }),
    )
    .await;
    let role = |name: &str| pb::CreateRoleRequest {
        actor_user_id: "boss".into(),
        account_id: "team".into(),
        name: name.into(),
        description: "Writes copy".into(),
        permissions: vec!["campaigns.view".into(), "campaigns.edit".into()],
    };
    logs_one(
        &app,
        "team",
        "role.create",
        c.clone().create_role(role("copywriter")),
    )
    .await;
    logs_one(&app, "team", "role.create", c.clone().create_role(role("spare"))).await;
    logs_one(
        &app,
        "team",
        "role.update",
        c.clone().update_role(pb::UpdateRoleRequest {
            actor_user_id: "boss".into(),
            account_id: "team".into(),
            name: "copywriter".into(),
            description: "Writes campaign copy".into(),
            permissions: None,
        }),
    )
    .await;
    logs_one(
        &app,
        "team",
        "role.delete",
        c.clone().delete_role(pb::DeleteRoleRequest {
            actor_user_id: "boss".into(),
            account_id: "team".into(),
            name: "spare".into(),
        }),
    )
    .await;
    let carol = logs_one(
        &app,
        "team",
        "invitation.create",
        c.clone().invite(invite("carol", "copywriter")),
    )
    .await
    .invitation
    .unwrap();
    logs_one(
        &app,
        "team",
        "invitation.update",
        c.clone().update_invitation(pb::UpdateInvitationRequest {
            actor_user_id: "boss".into(),
            invitation_id: carol.id.clone(),
            role: "viewer".into(),
            scopes: None,
        }),
    )
    .await;
    logs_one(
        &app,
        "team",
        "invitation.resend",
        c.clone().resend_invitation(pb::ResendInvitationRequest {
            actor_user_id: "boss".into(),
            invitation_id: carol.id.clone(),
        }),
    )
    .await;
    logs_one(
        &app,
        "team",
        "invitation.revoke",
        c.clone().revoke_invitation(pb::RevokeInvitationRequest {
            actor_user_id: "boss".into(),
            invitation_id: carol.id,
        }),
    )
    .await;
    let dave = logs_one(
        &app,
        "team",
        "invitation.create",
        c.clone().invite(invite("dave", "viewer")),
    )
    .await;
    logs_one(
        &app,
        "team",
        "invitation.decline",
        c.clone()
            .decline_invitation(pb::DeclineInvitationRequest { token: dave.token }),
    )
    .await;
    logs_one(
        &app,
        "team",
        "template.share",
        c.clone().share_template(pb::ShareTemplateRequest {
            actor_user_id: "boss".into(),
            account_id: "team".into(),
            template_id: "tpl-1".into(),
            child_account_ids: vec![],
        }),
    )
    .await;
    logs_one(
        &app,
        "team",
        "template.unshare",
        c.clone().unshare_template(pb::UnshareTemplateRequest {
            actor_user_id: "boss".into(),
            account_id: "team".into(),
            template_id: "tpl-1".into(),
        }),
    )
    .await;
    // A real change each time: setting the policy it has logs nothing.
    logs_one(
        &app,
        "team",
        "account.policy",
        c.clone().update_account_policy(pb::UpdateAccountPolicyRequest {
            actor_user_id: "boss".into(),
            account_id: "team".into(),
            require_two_factor: true,
        }),
    )
    .await;
    let mut off = tonic::Request::new(pb::UpdateAccountPolicyRequest {
        actor_user_id: "boss".into(),
        account_id: "team".into(),
        require_two_factor: false,
    });
    off.metadata_mut()
        .insert("x-actor-mfa-verified", "true".parse().expect("ascii"));
    logs_one(
        &app,
        "team",
        "account.policy",
        c.clone().update_account_policy(off),
    )
    .await;
    logs_one(
        &app,
        "team",
        "account.limits",
        c.clone().set_account_limits(pb::SetAccountLimitsRequest {
            account_id: "team".into(),
            max_members: Some(20),
            max_restricted_members: None,
        }),
    )
    .await;
    let adm = logs_one(
        &app,
        "team",
        "invitation.create",
        c.clone().invite(invite("adm", "admin")),
    )
    .await;
    logs_one(
        &app,
        "team",
        "invitation.accept",
        c.clone().accept_invitation(pb::AcceptInvitationRequest {
            token: adm.token,
            user: Some(person("adm")),
        }),
    )
    .await;
    logs_one(
        &app,
        "team",
        "account.transfer",
        c.clone().transfer_ownership(pb::TransferOwnershipRequest {
            actor_user_id: "boss".into(),
            account_id: "team".into(),
            new_owner_user_id: "adm".into(),
        }),
    )
    .await;
    logs_one(
        &app,
        "team",
        "member.remove",
        c.clone().remove_member(pb::RemoveMemberRequest {
            actor_user_id: "adm".into(),
            account_id: "team".into(),
            user_id: "bob".into(),
        }),
    )
    .await;
    logs_one(
        &app,
        "team",
        "member.leave",
        c.clone().leave_account(pb::LeaveAccountRequest {
            user_id: "boss".into(),
            account_id: "team".into(),
        }),
    )
    .await;
    logs_one(
        &app,
        "child",
        "account.close",
        c.clone().close_account(pb::CloseAccountRequest {
            actor_user_id: "kid".into(),
            account_id: "child".into(),
        }),
    )
    .await;

    // Refused requests: nothing is written, the log included.
    logs_none(
        &app,
        "an invitation by a former member",
        Code::PermissionDenied,
        c.clone().invite(invite("erin", "viewer")),
    )
    .await;
    logs_none(
        &app,
        "an invitation to the owner role",
        Code::FailedPrecondition,
        c.clone().invite(pb::InviteRequest {
            actor_user_id: "adm".into(),
            account_id: "team".into(),
            email: email("erin"),
            role: "owner".into(),
            ..Default::default()
        }),
    )
    .await;
    logs_none(
        &app,
        "an unknown token",
        Code::NotFound,
        c.clone().accept_invitation(pb::AcceptInvitationRequest {
            token: "0123456789abcdef".into(),
            user: Some(person("erin")),
        }),
    )
    .await;
    logs_none(
        &app,
        "a negative limit",
        Code::InvalidArgument,
        c.clone().set_account_limits(pb::SetAccountLimitsRequest {
            account_id: "team".into(),
            max_members: Some(-1),
            max_restricted_members: None,
        }),
    )
    .await;
    logs_none(
        &app,
        "a change to a closed account",
        Code::FailedPrecondition,
        c.clone().update_account_policy(pb::UpdateAccountPolicyRequest {
            actor_user_id: "kid".into(),
            account_id: "child".into(),
            require_two_factor: true,
        }),
    )
    .await;
    logs_none(
        &app,
        "removing oneself",
        Code::FailedPrecondition,
        c.clone().remove_member(pb::RemoveMemberRequest {
            actor_user_id: "adm".into(),
            account_id: "team".into(),
            user_id: "adm".into(),
        }),
    )
    .await;
}

/// Rule 12: filing and deciding an access request each write exactly one entry.
async fn access_requests_write_one_entry_each(app: TestApp) {
    app.account("team", "boss").await;
    app.member("boss", "team", "bob", "manager", vec![]).await;
    let c = app.client.clone();
    let request = logs_one(
        &app,
        "team",
        "access_request.create",
        c.clone().request_access(pb::RequestAccessRequest {
            user_id: "bob".into(),
            account_id: "team".into(),
            permission: "lists.export".into(),
            note: "for the quarterly report".into(),
        }),
    )
    .await
    .access_request
    .unwrap();
    logs_one(
        &app,
        "team",
        "access_request.approve",
        c.clone().decide_access_request(pb::DecideAccessRequestRequest {
            actor_user_id: "boss".into(),
            access_request_id: request.id,
            approve: true,
            grant_end: None,
        }),
    )
    .await;
}

/// Rule 12: ListActivity shows who did what to whom and when, newest first, with JSON details.
async fn listing_activity_newest_first_with_details(app: TestApp) {
    app.account("acme", "owner").await;
    app.account("other", "someone").await;
    app.member("owner", "acme", "bob", "viewer", vec![]).await;
    let mut client = app.client.clone();
    client
        .update_member(pb::UpdateMemberRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            user_id: "bob".into(),
            role: "manager".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    let listed = entries(&app, list("owner", "acme")).await;
    assert_eq!(
        actions(&listed),
        [
            "member.update",
            "invitation.accept",
            "invitation.create",
            "account.create"
        ],
        "newest first, this account only"
    );
    for pair in listed.windows(2) {
        assert!(
            instant(pair[0].create_time) >= instant(pair[1].create_time),
            "newest first: {pair:?}"
        );
    }
    let now = chrono::Utc::now().timestamp();
    for entry in &listed {
        assert!(!entry.id.is_empty());
        assert_eq!(entry.account_id, "acme");
        assert!((instant(entry.create_time).0 - now).abs() < 60, "{entry:?}");
        let details: serde_json::Value =
            serde_json::from_str(&entry.details_json).unwrap_or_else(|err| panic!("{entry:?}: {err}"));
        assert!(details.is_object(), "{entry:?}");
    }
    let mut ids: Vec<&str> = listed.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), listed.len(), "unique ids");

    let who: Vec<(&str, &str)> = listed
        .iter()
        .map(|e| (e.actor_user_id.as_str(), e.target.as_str()))
        .collect();
    assert_eq!(
        who,
        [
            ("owner", "bob"),
            ("bob", "bob"),
            ("owner", "bob@example.com"),
            ("owner", "acme"),
        ]
    );
    let update: serde_json::Value = serde_json::from_str(&listed[0].details_json).unwrap();
    assert_eq!(update["role"], "manager", "{update}");
    assert_eq!(update["previous_role"], "viewer", "{update}");
    let invite: serde_json::Value = serde_json::from_str(&listed[2].details_json).unwrap();
    assert_eq!(invite["role"], "viewer", "{invite}");
}

/// Entries written by an earlier version, their details of another shape
/// than today's (a key since added missing, a key since dropped present), are
/// listed with their details exactly as stored, and the page does not fail.
async fn entries_of_an_older_shape_are_listed_as_stored(app: TestApp) {
    app.account("acme", "owner").await;
    let older = [
        (
            "member.update",
            "bob",
            r#"{"previous_role":"viewer","role":"manager","team":"copy"}"#,
        ),
        (
            "invitation.resend",
            "bob@example.com",
            r#"{"invitation_id":"i-older"}"#,
        ),
    ];
    let at = chrono::Utc::now().timestamp_millis();
    for (n, (action, target, details)) in (1_i64..).zip(older) {
        app.db
            .execute_raw(Statement::from_sql_and_values(
                app.db.get_database_backend(),
                "INSERT INTO activity_log (public_id, revision, account_id, actor, action, target, details, created_at) \
                 VALUES (?, 0, 'acme', 'owner', ?, ?, ?, ?)",
                [
                    format!("{n:032x}").into(),
                    action.into(),
                    target.into(),
                    details.into(),
                    (at + n).into(),
                ],
            ))
            .await
            .expect("an older entry written");
    }

    let listed = entries(&app, list("owner", "acme")).await;
    assert_eq!(
        actions(&listed),
        ["invitation.resend", "member.update", "account.create"]
    );
    assert_eq!(listed[0].details_json, older[1].2, "as stored");
    assert_eq!(listed[1].details_json, older[0].2, "as stored, every key kept");
    assert_eq!(
        (listed[1].target.as_str(), listed[1].actor_user_id.as_str()),
        ("bob", "owner")
    );
    // Written without a caller (the columns NULL): unknown, not a guess.
    let via = |entry: &pb::ActivityEntry| entry.via.as_ref().map(|via| (via.name.clone(), via.kind()));
    assert_eq!(via(&listed[0]), Some((String::new(), pb::ViaKind::Unknown)));
    assert_eq!(via(&listed[2]), Some(("local".to_owned(), pb::ViaKind::Local)));
}

/// Rule 12: ListActivity filters by actor, action and a time window (start inclusive, end exclusive).
async fn listing_activity_filters_by_actor_action_and_time(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "bob", "viewer", vec![]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let middle = timestamp_now();
    tokio::time::sleep(Duration::from_millis(50)).await;
    app.member("owner", "acme", "carol", "viewer", vec![]).await;

    let by_bob = entries(
        &app,
        pb::ListActivityRequest {
            filter_actor_user_id: "bob".into(),
            ..list("owner", "acme")
        },
    )
    .await;
    assert_eq!(actions(&by_bob), ["invitation.accept"]);
    assert!(by_bob.iter().all(|e| e.actor_user_id == "bob"));

    let invitations = entries(
        &app,
        pb::ListActivityRequest {
            filter_action: "invitation.create".into(),
            ..list("owner", "acme")
        },
    )
    .await;
    let targets: Vec<&str> = invitations.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(targets, ["carol@example.com", "bob@example.com"]);

    let by_owner_creating = entries(
        &app,
        pb::ListActivityRequest {
            filter_actor_user_id: "owner".into(),
            filter_action: "account.create".into(),
            ..list("owner", "acme")
        },
    )
    .await;
    assert_eq!(actions(&by_owner_creating), ["account.create"]);

    let later = entries(
        &app,
        pb::ListActivityRequest {
            start_time: Some(middle),
            ..list("owner", "acme")
        },
    )
    .await;
    assert_eq!(actions(&later), ["invitation.accept", "invitation.create"]);
    assert_eq!(later[0].actor_user_id, "carol");
    let earlier = entries(
        &app,
        pb::ListActivityRequest {
            end_time: Some(middle),
            ..list("owner", "acme")
        },
    )
    .await;
    assert_eq!(
        actions(&earlier),
        ["invitation.accept", "invitation.create", "account.create"]
    );
    assert_eq!(earlier[0].actor_user_id, "bob");

    let first = instant(earlier[2].create_time);
    let exact = prost_types::Timestamp {
        seconds: first.0,
        nanos: first.1,
    };
    let from_first = entries(
        &app,
        pb::ListActivityRequest {
            start_time: Some(exact),
            end_time: Some(middle),
            ..list("owner", "acme")
        },
    )
    .await;
    assert_eq!(from_first.len(), 3, "start_time is inclusive");
    let before_first = entries(
        &app,
        pb::ListActivityRequest {
            end_time: Some(exact),
            ..list("owner", "acme")
        },
    )
    .await;
    assert!(before_first.is_empty(), "end_time is exclusive: {before_first:?}");

    // An action that does not exist is refused, not answered with an empty
    // list that looks like "nothing happened" (no silent no-ops).
    let status = expect_code(
        app.client
            .clone()
            .list_activity(pb::ListActivityRequest {
                filter_action: "no.such.action".into(),
                ..list("owner", "acme")
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["filter_action"]);
}

/// Rule 12: pages of 2 walk every entry once; bad tokens, viewers and unknown accounts are refused.
async fn listing_activity_pages_and_refusals(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "bob", "viewer", vec![]).await;
    app.member("owner", "acme", "carol", "viewer", vec![]).await;
    let all = entries(&app, list("owner", "acme")).await;
    assert_eq!(all.len(), 5, "{all:?}");

    let mut client = app.client.clone();
    let mut walked = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_activity(pb::ListActivityRequest {
                page_size: 2,
                page_token: page_token.clone(),
                ..list("owner", "acme")
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.entries.len() <= 2, "{page:?}");
        walked.extend(page.entries.into_iter().map(|e| e.id));
        page_token = page.next_page_token;
        if page_token.is_empty() || pages > 10 {
            break;
        }
    }
    assert_eq!(pages, 3, "5 entries in pages of 2");
    let expected: Vec<String> = all.iter().map(|e| e.id.clone()).collect();
    assert_eq!(walked, expected, "every entry exactly once, newest first");

    for garbage in ["not a token!", "zz", "616263"] {
        let status = expect_code(
            client
                .list_activity(pb::ListActivityRequest {
                    page_token: garbage.into(),
                    ..list("owner", "acme")
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["page_token"], "{garbage}");
    }
    let status = expect_code(
        client
            .list_activity(pb::ListActivityRequest {
                page_size: -1,
                ..list("owner", "acme")
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["page_size"]);

    assert_refused(
        client.list_activity(list("bob", "acme")).await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    assert_refused(
        client.list_activity(list("stranger", "acme")).await,
        Code::PermissionDenied,
        "NOT_A_MEMBER",
    );
    expect_code(
        client.list_activity(list("owner", "no-such")).await,
        Code::NotFound,
    );
    let status = expect_code(
        client.list_activity(pb::ListActivityRequest::default()).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["actor_user_id", "account_id"]);

    app.member("owner", "acme", "am", "account_manager", vec![]).await;
    let seen_by_am = entries(&app, list("am", "acme")).await;
    assert_eq!(seen_by_am.len(), 7, "users.view is enough to read the log");
}

/// The activity log (docs/domain.md): sign-ins are logged but listed only when asked for, so
/// they do not bury the account's changes.
async fn sign_ins_are_listed_only_when_asked_for(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "bob", "viewer", vec![]).await;
    let before = entries(&app, list("owner", "acme")).await;
    for _ in 0..3 {
        app.client
            .clone()
            .record_sign_in(pb::RecordSignInRequest {
                user_id: "bob".into(),
                account_id: "acme".into(),
            })
            .await
            .expect("bob signs in");
    }
    assert_eq!(
        app.activity_count("acme", "member.sign_in").await,
        3,
        "each sign-in is logged"
    );
    let after = entries(&app, list("owner", "acme")).await;
    assert_eq!(
        actions(&after),
        actions(&before),
        "by default the listing shows the changes only"
    );
    let with_sign_ins = entries(
        &app,
        pb::ListActivityRequest {
            include_sign_ins: true,
            ..list("owner", "acme")
        },
    )
    .await;
    assert_eq!(with_sign_ins.len(), before.len() + 3);
    let by_name = entries(
        &app,
        pb::ListActivityRequest {
            filter_action: "member.sign_in".into(),
            ..list("owner", "acme")
        },
    )
    .await;
    assert_eq!(
        actions(&by_name),
        ["member.sign_in"; 3],
        "naming the action lists them"
    );
}

/// Rule 12: activity ids are 32 hex characters like every other id,
/// random rather than counting, and pages still walk every entry once,
/// newest first, with tokens that are not numbers either.
async fn activity_ids_are_opaque(app: TestApp) {
    app.account("acme", "olivia").await;
    for user in ["a", "b", "c", "d"] {
        app.member("olivia", "acme", user, "viewer", vec![]).await;
    }
    let mut client = app.client.clone();
    let list = |page_size: i32, page_token: String| pb::ListActivityRequest {
        actor_user_id: "olivia".into(),
        account_id: "acme".into(),
        page_size,
        page_token,
        ..Default::default()
    };
    let all = client
        .list_activity(list(100, String::new()))
        .await
        .expect("listed")
        .into_inner()
        .entries;
    assert_eq!(all.len(), 9);
    for entry in &all {
        assert_eq!(entry.id.len(), 32, "{entry:?}");
        assert!(
            entry
                .id
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{entry:?}"
        );
        assert!(entry.revision > 0, "every change records its revision: {entry:?}");
    }
    let ids: HashSet<&str> = all.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), all.len(), "ids are unique");
    // Random, not counting: in log order (oldest first) the ids do not
    // rise (the chance that 9 random ids come sorted is 1 in 362,880).
    let oldest_first: Vec<u128> = all
        .iter()
        .rev()
        .map(|e| u128::from_str_radix(&e.id, 16).expect("hex"))
        .collect();
    assert!(!oldest_first.windows(2).all(|w| w[0] < w[1]), "{oldest_first:?}");

    let mut walked = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_activity(list(2, token))
            .await
            .expect("page")
            .into_inner();
        walked.extend(page.entries.into_iter().map(|e| e.id));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
        assert!(
            token.parse::<u64>().is_err(),
            "the token is not a number: {token}"
        );
        assert!(walked.len() <= all.len(), "pages end");
    }
    let expected: Vec<String> = all.iter().map(|e| e.id.clone()).collect();
    assert_eq!(walked, expected, "every entry once, newest first");
}

crate::on_both_databases!(
    sign_ins_are_listed_only_when_asked_for,
    every_mutation_writes_exactly_one_entry,
    access_requests_write_one_entry_each,
    listing_activity_newest_first_with_details,
    entries_of_an_older_shape_are_listed_as_stored,
    listing_activity_filters_by_actor_action_and_time,
    listing_activity_pages_and_refusals,
    activity_ids_are_opaque,
);
