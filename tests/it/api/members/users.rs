//! ListUsers: docs/domain.md rule 13 order, pagination, filters and who may look.

use access_service::grpc::pb;
use pb::MemberStatus as S;
use tonic::Code;

use crate::support::{TestApp, assert_refused, bad_fields, email, expect_code, list_users};

fn emails(rows: &[pb::Member]) -> Vec<&str> {
    rows.iter().map(|row| row.email.as_str()).collect()
}

/// An account with an owner, two members and two pending invitations, made in a scrambled
/// order; returns the invitation ids of (c-pending, z-pending).
async fn populated(app: &TestApp) -> (String, String) {
    app.account("acme", "zed-owner").await;
    let z = app
        .invite("zed-owner", "acme", "z-pending", "viewer", vec![])
        .await
        .unwrap();
    app.member("zed-owner", "acme", "b-member", "manager", vec![])
        .await;
    let c = app
        .invite("zed-owner", "acme", "c-pending", "marketer", vec![])
        .await
        .unwrap();
    app.member("zed-owner", "acme", "a-member", "viewer", vec![])
        .await;
    (c.invitation.unwrap().id, z.invitation.unwrap().id)
}

/// Rule 13: owner first, then active members, then pending invitations; each row complete.
async fn users_are_listed_owner_members_then_invitations(app: TestApp) {
    let (c_id, z_id) = populated(&app).await;
    let rows = app.users(list_users("zed-owner", "acme")).await;
    assert_eq!(
        emails(&rows),
        [
            email("zed-owner"),
            email("a-member"),
            email("b-member"),
            email("c-pending"),
            email("z-pending"),
        ]
    );

    let owner = &rows[0];
    assert_eq!(owner.user_id, "zed-owner");
    assert_eq!(owner.name, "Name of zed-owner");
    assert_eq!(owner.role, "owner");
    assert_eq!(owner.status(), S::Active);
    assert!(owner.is_owner);
    assert_eq!(owner.invited_by, "", "the creator was invited by nobody");
    assert!(owner.join_time.is_some());
    assert_eq!(owner.invitation_id, "");

    for (row, user, role) in [
        (&rows[1], "a-member", "viewer"),
        (&rows[2], "b-member", "manager"),
    ] {
        assert_eq!(row.user_id, user);
        assert_eq!(row.name, format!("Name of {user}"));
        assert_eq!(row.role, role, "{user}");
        assert_eq!(row.status(), S::Active, "{user}");
        assert!(!row.is_owner, "{user}");
        assert_eq!(row.invited_by, "zed-owner", "{user}");
        assert!(row.join_time.is_some(), "{user}");
        assert_eq!(row.invitation_id, "", "{user}");
    }

    for (row, role, id) in [(&rows[3], "marketer", &c_id), (&rows[4], "viewer", &z_id)] {
        assert_eq!(row.user_id, "", "not accepted yet");
        assert_eq!(row.role, role);
        assert_eq!(row.status(), S::Pending);
        assert!(!row.is_owner);
        assert_eq!(row.invited_by, "zed-owner");
        assert!(row.join_time.is_none(), "a pending row has not joined");
        assert_eq!(&row.invitation_id, id);
    }
}

/// Pages of one row walk every row exactly once, in the order of one big page.
async fn pages_walk_every_row_once(app: TestApp) {
    populated(&app).await;
    let all = app.users(list_users("zed-owner", "acme")).await;
    assert_eq!(all.len(), 5);
    let mut client = app.client.clone();
    let mut walked = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_users(pb::ListUsersRequest {
                page_size: 1,
                page_token: token.clone(),
                ..list_users("zed-owner", "acme")
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.users.len(), 1, "page {}", walked.len() + 1);
        walked.extend(page.users);
        if page.next_page_token.is_empty() {
            break;
        }
        assert!(walked.len() < all.len(), "no page past the last row");
        token = page.next_page_token;
    }
    assert_eq!(walked, all);

    let two = client
        .list_users(pb::ListUsersRequest {
            page_size: 2,
            ..list_users("zed-owner", "acme")
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(emails(&two.users), emails(&all[..2]));
    assert!(!two.next_page_token.is_empty());
}

/// page_size must be 0..=1000 and page_token one the service issued.
async fn bad_pages_name_their_fields(app: TestApp) {
    app.account("acme", "owner").await;
    let mut client = app.client.clone();
    for page_size in [1001, -1] {
        let status = expect_code(
            client
                .list_users(pb::ListUsersRequest {
                    page_size,
                    ..list_users("owner", "acme")
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["page_size"], "{page_size}");
    }
    let status = expect_code(
        client
            .list_users(pb::ListUsersRequest {
                page_token: "not a token!".into(),
                ..list_users("owner", "acme")
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["page_token"]);
    let status = expect_code(
        client
            .list_users(pb::ListUsersRequest {
                status: 99,
                ..list_users("owner", "acme")
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["status"]);
}

/// Filters: by status, by role, and both.
async fn filters_narrow_the_list(app: TestApp) {
    populated(&app).await;
    let pending = app
        .users(pb::ListUsersRequest {
            status: S::Pending.into(),
            ..list_users("zed-owner", "acme")
        })
        .await;
    assert_eq!(emails(&pending), [email("c-pending"), email("z-pending")]);
    assert!(pending.iter().all(|row| row.status() == S::Pending));

    let active = app
        .users(pb::ListUsersRequest {
            status: S::Active.into(),
            ..list_users("zed-owner", "acme")
        })
        .await;
    assert_eq!(
        emails(&active),
        [email("zed-owner"), email("a-member"), email("b-member")]
    );

    let viewers = app
        .users(pb::ListUsersRequest {
            role: "viewer".into(),
            ..list_users("zed-owner", "acme")
        })
        .await;
    assert_eq!(emails(&viewers), [email("a-member"), email("z-pending")]);
    assert!(viewers.iter().all(|row| row.role == "viewer"));

    let pending_viewers = app
        .users(pb::ListUsersRequest {
            status: S::Pending.into(),
            role: "viewer".into(),
            ..list_users("zed-owner", "acme")
        })
        .await;
    assert_eq!(emails(&pending_viewers), [email("z-pending")]);
}

/// Listing needs users.view in an existing account.
async fn listing_needs_users_view(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "viewer", "viewer", vec![]).await;
    app.member("owner", "acme", "am", "account_manager", vec![]).await;
    let mut client = app.client.clone();
    assert_refused(
        client.list_users(list_users("viewer", "acme")).await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    assert_refused(
        client.list_users(list_users("stranger", "acme")).await,
        Code::PermissionDenied,
        "NOT_A_MEMBER",
    );
    expect_code(
        client.list_users(list_users("owner", "no-such")).await,
        Code::NotFound,
    );
    let status = expect_code(
        client.list_users(list_users("", "acme")).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["actor_user_id"]);
    let rows = app.users(list_users("am", "acme")).await;
    assert_eq!(rows.len(), 3, "an account manager holds users.view");
}

/// Rule 13: Invite takes an optional invitee name, stored on the
/// invitation and shown as the pending row's name until the person accepts
/// with their own; it is bounded like every person's name.
async fn a_pending_row_shows_the_invitee_name_until_accepted(app: TestApp) {
    app.account("acme", "owner").await;
    let invite = |user: &str, name: &str| pb::InviteRequest {
        actor_user_id: "owner".into(),
        account_id: "acme".into(),
        email: email(user),
        role: "viewer".into(),
        invitee_name: name.into(),
        ..Default::default()
    };
    let mut client = app.client.clone();
    let named = client
        .invite(invite("ann", "  Ann Lee  "))
        .await
        .expect("invite with a name")
        .into_inner();
    assert_eq!(named.invitation.unwrap().invitee_name, "Ann Lee", "trimmed");
    client
        .invite(invite("bob", ""))
        .await
        .expect("the name is optional");
    // The longest name, in characters of two bytes: stored whole on both databases.
    let longest = "é".repeat(200);
    let stored = client
        .invite(invite("dan", &longest))
        .await
        .expect("the longest name")
        .into_inner();
    assert_eq!(stored.invitation.unwrap().invitee_name, longest);
    for (name, why) in [("x".repeat(201), "too long"), ("Ann\u{7}".to_owned(), "control")] {
        let status = expect_code(client.invite(invite("cat", &name)).await, Code::InvalidArgument);
        assert_eq!(bad_fields(&status), ["invitee_name"], "{why}");
    }
    let names = |rows: Vec<pb::Member>| -> Vec<(String, String)> {
        rows.into_iter().map(|row| (row.email, row.name)).collect()
    };
    let rows = names(app.users(list_users("owner", "acme")).await);
    assert_eq!(
        rows[1..],
        [
            (email("ann"), "Ann Lee".to_owned()),
            (email("bob"), String::new()),
            (email("dan"), longest.clone()),
        ]
    );
    let listed = client
        .list_invitations(pb::ListInvitationsRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            ..Default::default()
        })
        .await
        .expect("list invitations")
        .into_inner();
    let mut invitee_names: Vec<_> = listed
        .invitations
        .iter()
        .map(|i| i.invitee_name.as_str())
        .collect();
    invitee_names.sort_unstable();
    assert_eq!(invitee_names, ["", "Ann Lee", longest.as_str()]);

    app.accept(&named.token, "ann").await.expect("accept");
    let rows = names(app.users(list_users("owner", "acme")).await);
    assert!(
        rows.contains(&(email("ann"), "Name of ann".to_owned())),
        "the person's own name wins once they accept: {rows:?}"
    );
}

crate::on_both_databases!(
    a_pending_row_shows_the_invitee_name_until_accepted,
    users_are_listed_owner_members_then_invitations,
    pages_walk_every_row_once,
    bad_pages_name_their_fields,
    filters_narrow_the_list,
    listing_needs_users_view,
);
