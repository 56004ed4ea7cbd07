//! Access that ends (docs/domain.md rule 17): ends set, moved and cleared
//! through UpdateMember and DecideAccessRequest, shown by ListUsers and
//! GetEffectivePermissions, and Authorize denying from the end instant on
//! with ACCESS_EXPIRED naming what ended; the refusals of ends that cannot be.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::List;
use chrono::Utc;
use pb::DecisionReason as R;
use pb::MemberStatus as S;
use tonic::Code;

use crate::support::{
    TestApp, assert_refused, check, ending, error_metadata, list_users, pass, reason, scope, three_ends,
};

/// Authorize on list `id`.
async fn on_list(app: &TestApp, user: &str, permission: &str, id: &str) -> pb::AuthorizeResponse {
    app.check_on(user, "acme", permission, (List, id)).await
}

/// The accounts ListAccounts offers `user` to switch to.
async fn switchable(app: &TestApp, user: &str) -> Vec<String> {
    app.client
        .clone()
        .list_accounts(pb::ListAccountsRequest {
            user_id: user.into(),
            ..Default::default()
        })
        .await
        .expect("accounts listed")
        .into_inner()
        .accounts
        .into_iter()
        .filter_map(|access| access.account.map(|account| account.id))
        .collect()
}

/// Rule 17: a grant, a scope entry and the membership each end at their
/// instant, each denied with what ended named; what the role still gives
/// stays; the member is listed as expired until renewed.
async fn access_ends_at_its_instant_and_is_renewed(app: TestApp) {
    app.account("acme", "owner").await;
    app.member(
        "owner",
        "acme",
        "con",
        "list_manager",
        vec![scope(List, &["4", "9"])],
    )
    .await;
    let mut client = app.client.clone();
    let first = Utc::now() + chrono::Duration::milliseconds(1500);
    let second = first + chrono::Duration::milliseconds(700);
    let request = three_ends("owner", "acme", "con", first, second);
    let member = client
        .update_member(request)
        .await
        .expect("ends set")
        .into_inner()
        .member
        .expect("member");
    assert_eq!(member.ends.len(), 3, "{:?}", member.ends);
    let effective = client
        .get_effective_permissions(pb::GetEffectivePermissionsRequest {
            user_id: "con".into(),
            account_id: "acme".into(),
            ..Default::default()
        })
        .await
        .expect("effective")
        .into_inner();
    assert_eq!(effective.ends.len(), 3);
    assert!(effective.permissions.contains(&"reports.view".to_owned()));
    assert!(app.check("con", "acme", "reports.view").await.allowed);
    assert!(on_list(&app, "con", "lists.edit", "4").await.allowed);
    assert_eq!(switchable(&app, "con").await, ["acme"]);

    pass(first).await;
    let grant = app.check("con", "acme", "reports.view").await;
    assert_eq!((grant.allowed, reason(&grant)), (false, R::AccessExpired));
    let ended = grant.expired.expect("names what ended");
    assert_eq!(
        (ended.kind(), ended.subject.as_str()),
        (pb::EndedKind::Grant, "reports.view")
    );
    let entry = on_list(&app, "con", "lists.edit", "4").await;
    assert_eq!((entry.allowed, reason(&entry)), (false, R::AccessExpired));
    assert_eq!(entry.expired.map(|e| e.subject), Some("list:4".to_owned()));
    assert!(
        on_list(&app, "con", "lists.edit", "9").await.allowed,
        "the other entry stays"
    );
    assert_eq!(
        reason(&on_list(&app, "con", "lists.edit", "5").await),
        R::OutOfScope
    );
    assert!(
        app.check("con", "acme", "lists.view").await.allowed,
        "the role stays"
    );
    // BatchAuthorize names what ended as Authorize does, check by check.
    let batch = client
        .batch_authorize(pb::BatchAuthorizeRequest {
            checks: vec![
                check("con", "acme", "reports.view", None),
                check("con", "acme", "lists.edit", Some((List, "4"))),
                check("con", "acme", "lists.view", None),
            ],
            ..Default::default()
        })
        .await
        .expect("batch answered")
        .into_inner();
    let named: Vec<(bool, Option<String>)> = batch
        .results
        .iter()
        .map(|r| (r.allowed, r.expired.as_ref().map(|e| e.subject.clone())))
        .collect();
    assert_eq!(
        named,
        [
            (false, Some("reports.view".to_owned())),
            (false, Some("list:4".to_owned())),
            (true, None),
        ]
    );

    pass(second).await;
    let gone = app.check("con", "acme", "lists.view").await;
    assert_eq!(
        (gone.allowed, reason(&gone), gone.role.as_str()),
        (false, R::AccessExpired, "list_manager")
    );
    assert_eq!(gone.expired.map(|e| e.kind()), Some(pb::EndedKind::Membership));
    assert!(
        switchable(&app, "con").await.is_empty(),
        "an ended membership is no account to switch to"
    );
    let listed = app.users(list_users("owner", "acme")).await;
    let con = listed.iter().find(|m| m.user_id == "con").expect("still listed");
    assert_eq!(con.status(), S::Expired);
    let expired = app
        .users(pb::ListUsersRequest {
            status: S::Expired.into(),
            ..list_users("owner", "acme")
        })
        .await;
    assert_eq!(
        expired.iter().map(|m| m.user_id.as_str()).collect::<Vec<_>>(),
        ["con"]
    );

    // Renewed: the membership's end cleared, the role and list 9 are back.
    client
        .update_member(pb::UpdateMemberRequest {
            access_end: Some(pb::AccessEndChange {
                change: Some(pb::access_end_change::Change::Clear(true)),
            }),
            ..ending("owner", "acme", "con", second)
        })
        .await
        .expect("renewed");
    assert!(app.check("con", "acme", "lists.view").await.allowed);
    assert!(on_list(&app, "con", "lists.edit", "9").await.allowed);
    assert_eq!(switchable(&app, "con").await, ["acme"]);
    assert_eq!(
        reason(&app.check("con", "acme", "reports.view").await),
        R::AccessExpired
    );
}

/// ListUsers' window: who loses access before an instant, nobody else.
async fn list_users_shows_who_expires_within_a_window(app: TestApp) {
    app.account("acme", "owner").await;
    for user in ["soon", "later", "never"] {
        app.member("owner", "acme", user, "viewer", vec![]).await;
    }
    let mut client = app.client.clone();
    let now = Utc::now();
    for (user, days) in [("soon", 3), ("later", 30)] {
        client
            .update_member(ending("owner", "acme", user, now + chrono::Duration::days(days)))
            .await
            .expect("end set");
    }
    let week = app
        .users(pb::ListUsersRequest {
            ends_within_days: 7,
            ..list_users("owner", "acme")
        })
        .await;
    assert_eq!(
        week.iter().map(|m| m.user_id.as_str()).collect::<Vec<_>>(),
        ["soon"]
    );
}

/// DecideAccessRequest approves for a number of days: the grant ends then.
async fn an_access_request_is_approved_for_days(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "vera", "viewer", vec![]).await;
    let request = app
        .request_access("vera", "acme", "reports.export", "for the audit")
        .await
        .expect("asked");
    let before = Utc::now();
    app.client
        .clone()
        .decide_access_request(pb::DecideAccessRequestRequest {
            actor_user_id: "owner".into(),
            access_request_id: request.id,
            approve: true,
            grant_end: Some(pb::decide_access_request_request::GrantEnd::GrantDays(7)),
        })
        .await
        .expect("approved");
    assert!(app.check("vera", "acme", "reports.export").await.allowed);
    let listed = app.users(list_users("owner", "acme")).await;
    let vera = listed.iter().find(|m| m.user_id == "vera").expect("vera");
    let end = vera.ends.first().expect("the grant's end");
    assert_eq!(
        (end.kind(), end.subject.as_str()),
        (pb::EndedKind::Grant, "reports.export")
    );
    let at = end.end_time.expect("an end time").seconds;
    let week = (before + chrono::Duration::days(7)).timestamp();
    assert!(
        (week..=week + 60).contains(&at),
        "{at} is seven days on from {week}"
    );
}

/// Ends that cannot be: past, too far, on the owner, on someone not a
/// member of the account; nothing is written.
async fn impossible_ends_are_refused(app: TestApp) {
    app.account("acme", "owner").await;
    app.account("other", "stranger-owner").await;
    app.member("owner", "acme", "con", "viewer", vec![]).await;
    app.member("stranger-owner", "other", "elsewhere", "viewer", vec![])
        .await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;
    let now = Utc::now();
    let status = assert_refused(
        client
            .update_member(ending("owner", "acme", "con", now - chrono::Duration::hours(1)))
            .await,
        Code::FailedPrecondition,
        "END_IN_PAST",
    );
    assert!(error_metadata(&status).contains(&"field=access_end.end_time".to_owned()));
    assert_refused(
        client
            .update_member(ending("owner", "acme", "con", now + chrono::Duration::days(400)))
            .await,
        Code::FailedPrecondition,
        "END_TOO_FAR",
    );
    assert_refused(
        client
            .update_member(ending("owner", "acme", "owner", now + chrono::Duration::days(1)))
            .await,
        Code::FailedPrecondition,
        "OWNER_NEVER_ENDS",
    );
    let status = client
        .update_member(ending(
            "owner",
            "acme",
            "elsewhere",
            now + chrono::Duration::days(1),
        ))
        .await
        .expect_err("another account's member");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
}

/// Rule 10 with rule 17: the end an invitation offers is one of its terms.
/// Asked again with the same end, the pending invitation is returned as it
/// is; with another end, or none, the request is refused (revoke and invite
/// again), and nothing is written.
async fn an_invitation_asked_again_with_another_end_is_refused(app: TestApp) {
    app.account("acme", "owner").await;
    let end = Utc::now() + chrono::Duration::days(10);
    let asked = |end: Option<chrono::DateTime<Utc>>| pb::InviteRequest {
        actor_user_id: "owner".into(),
        account_id: "acme".into(),
        email: "con@example.com".into(),
        role: "viewer".into(),
        access_end_time: end.map(crate::support::stamp),
        ..Default::default()
    };
    let mut client = app.client.clone();
    let first = client
        .invite(asked(Some(end)))
        .await
        .expect("invited")
        .into_inner();
    let again = client
        .invite(asked(Some(end)))
        .await
        .expect("the same terms")
        .into_inner();
    assert_eq!(
        again.invitation.as_ref().map(|i| &i.id),
        first.invitation.as_ref().map(|i| &i.id),
        "the pending invitation, as it is"
    );
    let before = app.table_counts().await;
    let pending = first.invitation.expect("the invitation").id;
    for other in [Some(end + chrono::Duration::days(1)), None] {
        let status = assert_refused(
            client.invite(asked(other)).await,
            Code::FailedPrecondition,
            "INVITATION_PENDING_WITH_OTHER_TERMS",
        );
        assert!(
            error_metadata(&status).contains(&format!("invitation_id={pending}")),
            "the refusal names the pending invitation: {:?}",
            error_metadata(&status)
        );
    }
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
}

crate::on_both_databases!(
    an_invitation_asked_again_with_another_end_is_refused,
    access_ends_at_its_instant_and_is_renewed,
    list_users_shows_who_expires_within_a_window,
    an_access_request_is_approved_for_days,
    impossible_ends_are_refused,
);
