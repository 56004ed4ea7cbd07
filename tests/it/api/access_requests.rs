//! RequestAccess, DecideAccessRequest, ListAccessRequests: asking for a permission, docs/domain.md rule 6.

use access_service::grpc::pb;
use pb::AccessRequestState as State;
use pb::DecisionReason as R;
use tonic::Code;

use crate::support::{
    TestApp, assert_refused, assert_refused_for, bad_fields, email, error_metadata, expect_code, reason,
};

fn list(actor: &str, account: &str, state: State) -> pb::ListAccessRequestsRequest {
    pb::ListAccessRequestsRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        state: state.into(),
        ..Default::default()
    }
}

/// Files a request and returns it.
async fn request(app: &TestApp, user: &str, permission: &str) -> pb::AccessRequest {
    app.request_access(user, "acme", permission, "")
        .await
        .unwrap_or_else(|status| panic!("{user} asks for {permission}: {status:?}"))
}

async fn listed(app: &TestApp, actor: &str, state: State) -> Vec<pb::AccessRequest> {
    let response = app
        .client
        .clone()
        .list_access_requests(list(actor, "acme", state))
        .await
        .expect("list access requests")
        .into_inner();
    assert_eq!(response.next_page_token, "", "one page holds them all");
    response.access_requests
}

fn ids(requests: &[pb::AccessRequest]) -> Vec<&str> {
    requests.iter().map(|r| r.id.as_str()).collect()
}

/// A viewer asks for campaigns.send; an admin approves: it becomes an extra grant at once.
async fn an_approved_request_becomes_an_extra_grant(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "admin", "admin", vec![]).await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;

    let filed = app
        .request_access("viewer", "acme", "campaigns.send", "I send the Friday newsletter")
        .await
        .expect("a member may ask");
    assert!(!filed.id.is_empty());
    assert_eq!(filed.account_id, "acme");
    assert_eq!(filed.user_id, "viewer");
    assert_eq!(filed.permission, "campaigns.send");
    assert_eq!(filed.note, "I send the Friday newsletter");
    assert_eq!(filed.state(), State::Pending);
    assert_eq!(filed.decided_by, "");
    assert!(filed.create_time.is_some());
    assert_eq!(filed.decide_time, None);
    assert_eq!(app.activity_count("acme", "access_request.create").await, 1);

    let before = app.table_counts().await;
    let again = request(&app, "viewer", "campaigns.send").await;
    assert_eq!(again.id, filed.id, "asking again returns the pending request");
    assert_eq!(again.state(), State::Pending);
    assert_eq!(app.table_counts().await, before, "and writes nothing");
    assert_eq!(
        ids(&listed(&app, "admin", State::Pending).await),
        [filed.id.as_str()]
    );
    assert!(!app.check("viewer", "acme", "campaigns.send").await.allowed);

    let decided = app
        .decide("admin", &filed.id, true)
        .await
        .expect("an admin approves");
    assert_eq!(decided.id, filed.id);
    assert_eq!(decided.state(), State::Approved);
    assert_eq!(decided.decided_by, "admin");
    assert!(decided.decide_time.is_some());

    let send = app.check("viewer", "acme", "campaigns.send").await;
    assert!(send.allowed, "approved: allowed at once");
    assert_eq!(send.role, "viewer", "the role is unchanged");
    assert!(
        !app.check("viewer", "acme", "campaigns.edit").await.allowed,
        "only the one permission"
    );
    let row = app
        .client
        .clone()
        .list_users(pb::ListUsersRequest {
            actor_user_id: "admin".into(),
            account_id: "acme".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .users
        .into_iter()
        .find(|row| row.email == email("viewer"))
        .unwrap();
    assert_eq!(row.role, "viewer");
    assert_eq!(row.extra_permissions, ["campaigns.send"]);

    let approved = listed(&app, "admin", State::Approved).await;
    assert_eq!(ids(&approved), [filed.id.as_str()]);
    assert_eq!(approved[0].decided_by, "admin");
    assert_eq!(approved[0].state(), State::Approved);
    assert_eq!(approved[0].note, "I send the Friday newsletter");
    assert!(listed(&app, "admin", State::Pending).await.is_empty());
    assert_eq!(listed(&app, "admin", State::Unspecified).await.len(), 1);
    assert_eq!(app.activity_count("acme", "access_request.approve").await, 1);

    assert_refused_for(
        app.request_access("viewer", "acme", "campaigns.send", "").await,
        Code::FailedPrecondition,
        "ALREADY_GRANTED",
        "now an extra grant",
    );
}

/// A rejected request grants nothing; a decided request cannot be decided again.
async fn rejected_requests_grant_nothing_and_decisions_are_final(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "admin", "admin", vec![]).await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    let edit = request(&app, "viewer", "campaigns.edit").await;
    let send = request(&app, "viewer", "campaigns.send").await;
    assert_ne!(edit.id, send.id, "one request per permission");

    let rejected = app
        .decide("admin", &edit.id, false)
        .await
        .expect("an admin rejects");
    assert_eq!(rejected.state(), State::Rejected);
    assert_eq!(rejected.decided_by, "admin");
    let denied = app.check("viewer", "acme", "campaigns.edit").await;
    assert_eq!(
        (denied.allowed, reason(&denied)),
        (false, R::PermissionNotGranted)
    );
    assert_eq!(app.activity_count("acme", "access_request.reject").await, 1);
    let listed_rejected = listed(&app, "admin", State::Rejected).await;
    assert_eq!(ids(&listed_rejected), [edit.id.as_str()]);
    assert_eq!(
        ids(&listed(&app, "admin", State::Pending).await),
        [send.id.as_str()]
    );

    app.decide("owner", &send.id, true)
        .await
        .expect("the owner approves");
    let before = app.table_counts().await;
    for (id, approve) in [
        (&edit.id, true),
        (&edit.id, false),
        (&send.id, false),
        (&send.id, true),
    ] {
        assert_refused_for(
            app.decide("owner", id, approve).await,
            Code::FailedPrecondition,
            "ALREADY_DECIDED",
            format!("{id} {approve}"),
        );
    }
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert!(
        !app.check("viewer", "acme", "campaigns.edit").await.allowed,
        "still rejected"
    );
    assert!(
        app.check("viewer", "acme", "campaigns.send").await.allowed,
        "still approved"
    );
    let all = listed(&app, "owner", State::Rejected).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].decided_by, "admin", "the first decision stands");

    let anew = request(&app, "viewer", "campaigns.edit").await;
    assert_ne!(
        anew.id, edit.id,
        "after a rejection, asking again files a new request"
    );
    assert_eq!(anew.state(), State::Pending);
}

/// Rule 6: one approves only what one holds, never one's own request, and needs users.edit.
async fn deciding_needs_users_edit_and_the_permission(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "am", "account_manager", vec![]).await;
    app.member("owner", "acme", "manager", "manager", vec![]).await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    let mut client = app.client.clone();
    let close = request(&app, "viewer", "account.close").await;
    let own = request(&app, "am", "account.close").await;
    let send = request(&app, "viewer", "campaigns.send").await;
    let before = app.table_counts().await;

    let status = assert_refused(
        app.decide("am", &close.id, true).await,
        Code::PermissionDenied,
        "PRIVILEGE_ESCALATION",
    );
    assert!(status.message().contains("account.close"), "{status:?}");
    for approve in [true, false] {
        assert_refused_for(
            app.decide("am", &own.id, approve).await,
            Code::PermissionDenied,
            "SELF_APPROVAL",
            format!("approve: {approve}"),
        );
    }
    for actor in ["manager", "viewer"] {
        assert_refused_for(
            app.decide(actor, &send.id, true).await,
            Code::PermissionDenied,
            "PERMISSION_NOT_GRANTED",
            actor,
        );
        assert_refused_for(
            client
                .list_access_requests(list(actor, "acme", State::Unspecified))
                .await,
            Code::PermissionDenied,
            "PERMISSION_NOT_GRANTED",
            actor,
        );
    }
    // A stranger learns nothing of another account's requests, not even that one exists.
    expect_code(app.decide("stranger", &send.id, true).await, Code::NotFound);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert_eq!(listed(&app, "am", State::Pending).await.len(), 3);
    assert!(!app.check("viewer", "acme", "account.close").await.allowed);
    assert!(!app.check("am", "acme", "account.close").await.allowed);

    app.decide("am", &close.id, false)
        .await
        .expect("rejecting grants nothing, so it needs no permission beyond users.edit");
    app.decide("am", &send.id, true)
        .await
        .expect("an account manager approves what they hold");
    assert!(app.check("viewer", "acme", "campaigns.send").await.allowed);
    app.decide("owner", &own.id, true)
        .await
        .expect("the owner approves the account manager's request");
    assert!(app.check("am", "acme", "account.close").await.allowed);
}

/// Requests are refused for what one holds, owner-only or unknown permissions, and strangers.
async fn bad_requests_are_refused(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    let before = app.table_counts().await;

    assert_refused(
        app.request_access("viewer", "acme", "campaigns.view", "").await,
        Code::FailedPrecondition,
        "ALREADY_GRANTED",
    );
    assert_refused_for(
        app.request_access("viewer", "acme", "account.view", "").await,
        Code::FailedPrecondition,
        "ALREADY_GRANTED",
        "every role has account.view",
    );
    let status = assert_refused(
        app.request_access("viewer", "acme", "account.transfer", "").await,
        Code::FailedPrecondition,
        "OWNER_ONLY_PERMISSION",
    );
    assert_eq!(
        error_metadata(&status),
        ["field=permission", "permission=account.transfer"]
    );
    assert_refused(
        app.request_access("stranger", "acme", "campaigns.send", "").await,
        Code::PermissionDenied,
        "NOT_A_MEMBER",
    );
    let status = expect_code(
        app.request_access("viewer", "acme", "campaigns.launch", "").await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["permission"]);
    let status = expect_code(app.request_access("", "", "", "").await, Code::InvalidArgument);
    assert_eq!(bad_fields(&status), ["user_id", "account_id", "permission"]);
    expect_code(
        app.request_access("viewer", "no-such", "campaigns.send", "")
            .await,
        Code::NotFound,
    );
    expect_code(app.decide("owner", "no-such-request", true).await, Code::NotFound);
    let status = expect_code(app.decide("owner", "", true).await, Code::InvalidArgument);
    assert_eq!(bad_fields(&status), ["access_request_id"]);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert!(listed(&app, "owner", State::Unspecified).await.is_empty());
}

/// A request of a member deactivated meanwhile cannot be approved, only rejected.
async fn requests_of_deactivated_members_cannot_be_approved(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "admin", "admin", vec![]).await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    let mut client = app.client.clone();
    let filed = request(&app, "viewer", "campaigns.send").await;
    client
        .deactivate_member(pb::DeactivateMemberRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            user_id: "viewer".into(),
        })
        .await
        .unwrap();
    let before = app.table_counts().await;

    assert_refused(
        app.decide("admin", &filed.id, true).await,
        Code::FailedPrecondition,
        "REQUESTER_NOT_ACTIVE",
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert_eq!(
        ids(&listed(&app, "admin", State::Pending).await),
        [filed.id.as_str()],
        "still pending"
    );
    assert_refused_for(
        app.request_access("viewer", "acme", "campaigns.edit", "").await,
        Code::PermissionDenied,
        "MEMBERSHIP_INACTIVE",
        "deactivated members cannot ask, and are told why",
    );

    let rejected = app
        .decide("admin", &filed.id, false)
        .await
        .expect("it can still be rejected");
    assert_eq!(rejected.state(), State::Rejected);
    client
        .reactivate_member(pb::ReactivateMemberRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            user_id: "viewer".into(),
        })
        .await
        .unwrap();
    let send = app.check("viewer", "acme", "campaigns.send").await;
    assert_eq!(
        (send.allowed, reason(&send)),
        (false, R::PermissionNotGranted),
        "nothing was granted"
    );
}

/// Emails to the owner of `acme` about access requests, so far.
async fn owner_emails(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'access_requested'")
        .await
}

/// Asked again soon after a rejection, a request is filed (the owner sees
/// it in the list) but the owner is not emailed again; once the rejection
/// is older than ACCESS_REJECTED_REQUEST_QUIET_SECS (seven days), asking
/// again emails as the first request did.
async fn a_request_filed_again_after_a_rejection_does_not_email_the_owner_again(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    let first = request(&app, "viewer", "lists.edit").await;
    assert_eq!(owner_emails(&app).await, 1);
    app.decide("owner", &first.id, false).await.expect("rejected");
    let again = request(&app, "viewer", "lists.edit").await;
    assert_ne!(again.id, first.id, "a new request");
    assert_eq!(
        ids(&listed(&app, "owner", State::Pending).await),
        [again.id.as_str()]
    );
    assert_eq!(owner_emails(&app).await, 1, "the owner is not emailed again");
    // Another permission is another request: it emails.
    request(&app, "viewer", "templates.view").await;
    assert_eq!(owner_emails(&app).await, 2);
    // Seven days and a second after the rejections, asking again emails.
    app.decide("owner", &again.id, false)
        .await
        .expect("rejected again");
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.db,
        "UPDATE access_requests SET decided_at = decided_at - 604801000 WHERE decided_at IS NOT NULL",
    )
    .await
    .expect("the rejections age");
    request(&app, "viewer", "lists.edit").await;
    assert_eq!(owner_emails(&app).await, 3);
}

/// A member's requests are held to the per-actor email limit (here 2 an
/// hour), and a note is plain text: a format character is refused on the
/// field. Refused requests write nothing.
async fn requests_are_held_to_the_email_limits_and_plain_notes(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    let status = expect_code(
        app.request_access("viewer", "acme", "lists.edit", "please \u{202e}kcilc")
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(
        crate::support::violation_reasons(&status),
        [("note".to_owned(), "INVISIBLE_CHARACTER".to_owned())]
    );
    for permission in ["lists.edit", "templates.view"] {
        app.request_access("viewer", "acme", permission, "for the\nspring campaign")
            .await
            .unwrap_or_else(|status| panic!("{permission}: {status:?}"));
    }
    let before = app.table_counts().await;
    let status = assert_refused(
        app.request_access("viewer", "acme", "campaigns.send", "").await,
        Code::ResourceExhausted,
        "EMAIL_RATE_LIMITED",
    );
    assert_eq!(
        error_metadata(&status),
        ["limit=2", "per=actor", "window_seconds=3600"]
    );
    assert!(crate::support::retry_delay(&status).is_some_and(|d| d <= std::time::Duration::from_secs(3600)));
    assert_eq!(app.table_counts().await, before, "nothing written");
    assert_eq!(owner_emails(&app).await, 2);
}

crate::on_both_databases!(
    mod limited, |config| config.email.email_limit_per_actor = 2;
    requests_are_held_to_the_email_limits_and_plain_notes,
);

crate::on_both_databases!(
    a_request_filed_again_after_a_rejection_does_not_email_the_owner_again,
    an_approved_request_becomes_an_extra_grant,
    rejected_requests_grant_nothing_and_decisions_are_final,
    deciding_needs_users_edit_and_the_permission,
    bad_requests_are_refused,
    requests_of_deactivated_members_cannot_be_approved,
);
