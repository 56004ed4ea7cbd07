//! SQL statements per call, counted on the server's own connection pool: the
//! hot paths have budgets that do not grow with the account's size. Counts,
//! not timings: the benchmark (`access-bench`) measures time.

use access_service::grpc::pb;
use pb::ResourceType::{List, SuppressionList, Template};

use crate::support::{TestApp, check, list_users, lookup_accounts, lookup_members, scope, share};

/// A list manager scoped to one list, in an account with a few more members.
async fn scoped_member(app: &TestApp) {
    app.account("acme", "olivia").await;
    app.member("olivia", "acme", "lee", "list_manager", vec![scope(List, &["4"])])
        .await;
    for user in ["ann", "bob", "cy"] {
        app.member("olivia", "acme", user, "viewer", vec![]).await;
    }
}

async fn authorize_reads_a_bounded_number_of_statements(app: TestApp) {
    scoped_member(&app).await;
    let mut client = app.client.clone();
    let (answer, statements) = app
        .statements_during(client.authorize(check("lee", "acme", "lists.edit", Some((List, "4")))))
        .await;
    assert!(answer.expect("authorize answers").into_inner().allowed);
    assert!(
        statements <= 1,
        "Authorize sent {statements} SQL statements; budget 1"
    );
    let (answer, statements) = app
        .statements_during(client.authorize(check("nobody", "acme", "lists.edit", None)))
        .await;
    assert!(!answer.expect("authorize answers").into_inner().allowed);
    assert!(
        statements <= 1,
        "a denied Authorize sent {statements} SQL statements; budget 1"
    );
}

async fn batch_authorize_reads_facts_once_per_pair(app: TestApp) {
    scoped_member(&app).await;
    let permissions = ["lists.view", "lists.edit", "campaigns.send", "users.view"];
    let checks: Vec<pb::AuthorizeRequest> = ["lee", "ann"]
        .into_iter()
        .flat_map(|user| permissions.map(|p| check(user, "acme", p, None)))
        .collect();
    let mut client = app.client.clone();
    let (answer, statements) = app
        .statements_during(client.batch_authorize(pb::BatchAuthorizeRequest {
            checks,
            ..Default::default()
        }))
        .await;
    assert_eq!(answer.expect("batch answers").into_inner().results.len(), 8);
    assert!(
        statements <= 1,
        "BatchAuthorize of 8 checks over 2 (user, account) pairs sent {statements} SQL statements; budget 1"
    );
}

/// A full batch of distinct pairs (members, strangers, another account)
/// costs what a batch of one pair costs: the facts are read together.
async fn batch_authorize_statements_do_not_grow_with_pairs(app: TestApp) {
    scoped_member(&app).await;
    app.account("globex", "gary").await;
    let members = ["olivia", "lee", "ann", "bob", "cy"];
    let checks: Vec<pb::AuthorizeRequest> = (0..100)
        .map(|i| {
            let account = if i % 2 == 0 { "acme" } else { "globex" };
            let user = members
                .get(i / 2)
                .map_or_else(|| format!("stranger-{i}"), |m| (*m).to_owned());
            check(&user, account, "lists.edit", Some((List, "4")))
        })
        .collect();
    let mut client = app.client.clone();
    let (answer, statements) = app
        .statements_during(client.batch_authorize(pb::BatchAuthorizeRequest {
            checks,
            ..Default::default()
        }))
        .await;
    let results = answer.expect("batch answers").into_inner().results;
    assert_eq!(results.len(), 100);
    assert!(results[0].allowed && results[2].allowed && !results[1].allowed);
    assert!(
        statements <= 1,
        "BatchAuthorize of 100 distinct (user, account) pairs sent {statements} SQL statements; budget 1"
    );
}

/// Only a check on a template in a child account, with a permission a
/// shared template withholds, asks about sharing: one more statement, for
/// every such template of a batch together.
async fn template_checks_in_children_add_one_statement(app: TestApp) {
    app.team(&["a", "b"]).await;
    app.client
        .clone()
        .share_template(share("boss", "team", "tpl-1", &[]))
        .await
        .expect("shared");
    let mut client = app.client.clone();
    let (answer, statements) = app
        .statements_during(client.authorize(check(
            "owner-a",
            "child-a",
            "templates.edit",
            Some((Template, "tpl-1")),
        )))
        .await;
    assert!(!answer.expect("authorize answers").into_inner().allowed);
    assert!(
        statements <= 2,
        "Authorize on a shared template sent {statements} SQL statements; budget 2"
    );
    let (answer, statements) = app
        .statements_during(client.authorize(check(
            "owner-a",
            "child-a",
            "templates.view",
            Some((Template, "tpl-1")),
        )))
        .await;
    assert!(answer.expect("authorize answers").into_inner().allowed);
    assert!(
        statements <= 1,
        "viewing a shared template sent {statements} SQL statements; budget 1"
    );
    let checks: Vec<pb::AuthorizeRequest> = (0..100)
        .map(|i| {
            let (user, account) = if i % 2 == 0 {
                ("owner-a", "child-a")
            } else {
                ("owner-b", "child-b")
            };
            check(
                user,
                account,
                "templates.edit",
                Some((Template, &format!("tpl-{}", i % 10))),
            )
        })
        .collect();
    let (answer, statements) = app
        .statements_during(client.batch_authorize(pb::BatchAuthorizeRequest {
            checks,
            ..Default::default()
        }))
        .await;
    let results = answer.expect("batch answers").into_inner().results;
    assert!(!results[1].allowed && results[0].allowed && results[2].allowed);
    assert!(
        statements <= 2,
        "BatchAuthorize on 10 (child, template) pairs sent {statements} SQL statements; budget 2"
    );
}

/// Shared suppression lists come with the same facts statement as shared
/// templates (rule 5): checks on them stay within the templates' budgets,
/// and a batch mixing both types reads each pair's facts once.
async fn suppression_list_checks_in_children_stay_within_the_template_budget(app: TestApp) {
    app.team(&["a"]).await;
    let mut client = app.client.clone();
    client
        .share_suppression_list(pb::ShareSuppressionListRequest {
            actor_user_id: "boss".into(),
            account_id: "team".into(),
            suppression_list_id: "sup-1".into(),
            child_account_ids: vec![],
        })
        .await
        .expect("shared");
    client
        .share_template(share("boss", "team", "tpl-1", &[]))
        .await
        .expect("shared");
    let on = |permission: &str, resource| check("owner-a", "child-a", permission, Some(resource));
    let (answer, statements) = app
        .statements_during(client.authorize(on("suppressions.edit", (SuppressionList, "sup-1"))))
        .await;
    assert!(!answer.expect("authorize answers").into_inner().allowed);
    assert!(
        statements <= 2,
        "Authorize on a shared suppression list sent {statements} SQL statements; budget 2"
    );
    let (answer, statements) = app
        .statements_during(client.authorize(on("suppressions.view", (SuppressionList, "sup-1"))))
        .await;
    assert!(answer.expect("authorize answers").into_inner().allowed);
    assert!(
        statements <= 1,
        "viewing a shared suppression list sent {statements} SQL statements; budget 1"
    );
    let checks = vec![
        on("suppressions.edit", (SuppressionList, "sup-1")),
        on("suppressions.edit", (SuppressionList, "sup-2")),
        on("templates.edit", (Template, "tpl-1")),
        on("templates.edit", (Template, "sup-1")),
    ];
    let (answer, statements) = app
        .statements_during(client.batch_authorize(pb::BatchAuthorizeRequest {
            checks,
            ..Default::default()
        }))
        .await;
    let allowed: Vec<bool> = answer
        .expect("batch answers")
        .into_inner()
        .results
        .iter()
        .map(|result| result.allowed)
        .collect();
    assert_eq!(allowed, [false, true, false, true]);
    assert!(
        statements <= 2,
        "BatchAuthorize on both shared types sent {statements} SQL statements; budget 2"
    );
}

async fn list_users_reads_a_bounded_number_of_statements(app: TestApp) {
    scoped_member(&app).await;
    let (rows, statements) = app
        .statements_during(app.users(list_users("olivia", "acme")))
        .await;
    assert_eq!(rows.len(), 5);
    assert!(
        statements <= LIST_USERS_BUDGET,
        "ListUsers sent {statements} SQL statements; budget {LIST_USERS_BUDGET}"
    );
}

/// ListUsers' statements: the actor's access (2), the page's rows (1), the
/// page's scopes and grants (1).
const LIST_USERS_BUDGET: u64 = 4;

/// One page of `size` rows after `token`: the page and the statements it took.
async fn users_page(app: &TestApp, account: &str, size: i32, token: &str) -> (pb::ListUsersResponse, u64) {
    let mut client = app.client.clone();
    let (page, statements) = app
        .statements_during(client.list_users(pb::ListUsersRequest {
            page_size: size,
            page_token: token.into(),
            ..list_users("olivia", account)
        }))
        .await;
    (page.expect("list users").into_inner(), statements)
}

/// The same statements for a page of 5 members as for every page of 60
/// rows (active, invited, deactivated), the deep ones included: the store
/// reads one page, not the account.
async fn list_users_statements_do_not_grow_with_the_account(app: TestApp) {
    scoped_member(&app).await;
    let (small, small_statements) = users_page(&app, "acme", 10, "").await;
    assert_eq!(small.users.len(), 5);
    assert!(small_statements <= LIST_USERS_BUDGET, "{small_statements}");

    app.account("big", "olivia").await;
    for i in 0..40 {
        app.member(
            "olivia",
            "big",
            &format!("m{:02}", 39 - i),
            "watcher",
            vec![scope(List, &["4"])],
        )
        .await;
    }
    for i in 0..10 {
        app.invite(
            "olivia",
            "big",
            &format!("i{i:02}"),
            "watcher",
            vec![scope(List, &["5"])],
        )
        .await
        .expect("invite");
        app.member("olivia", "big", &format!("d{i:02}"), "viewer", vec![])
            .await;
        app.deactivate("olivia", "big", &format!("d{i:02}"))
            .await
            .expect("deactivate");
    }
    let all = app.users(pb::ListUsersRequest {
        page_size: 100,
        ..list_users("olivia", "big")
    });
    let all = all.await;
    assert_eq!(all.len(), 61);

    let mut walked = Vec::new();
    let mut token = String::new();
    loop {
        let (page, statements) = users_page(&app, "big", 10, &token).await;
        assert_eq!(
            statements,
            small_statements,
            "page {} of 61 rows took {statements} statements, a page of 5 rows {small_statements}",
            walked.len() / 10 + 1
        );
        walked.extend(page.users);
        if page.next_page_token.is_empty() {
            break;
        }
        assert!(walked.len() < all.len(), "no page past the last row");
        token = page.next_page_token;
    }
    assert_eq!(walked, all, "pages walk every row once, in list order");
}

/// ListInvitations' statements: the actor's access (2), the page's rows
/// (1), the page's scopes (1), the page's email deliveries (1, and a second
/// when any of its invitations has an email).
const LIST_INVITATIONS_BUDGET: u64 = 6;

/// One page of `account`'s invitations in `state` after `token`: the page
/// and the statements it took.
async fn invitations_page(
    app: &TestApp,
    account: &str,
    state: pb::InvitationState,
    size: i32,
    token: &str,
) -> (pb::ListInvitationsResponse, u64) {
    let mut client = app.client.clone();
    let (page, statements) = app
        .statements_during(client.list_invitations(pb::ListInvitationsRequest {
            actor_user_id: "olivia".into(),
            account_id: account.into(),
            state: state.into(),
            page_size: size,
            page_token: token.into(),
        }))
        .await;
    (page.expect("list invitations").into_inner(), statements)
}

/// Every page of invitations, with or without a state filter, deep ones
/// included, takes the statements a page of an account with five
/// invitations takes: the store reads one page, not the account.
async fn list_invitations_statements_do_not_grow_with_the_account(app: TestApp) {
    scoped_member(&app).await;
    app.invite("olivia", "acme", "solo", "viewer", vec![])
        .await
        .expect("invite");
    let (small, small_statements) =
        invitations_page(&app, "acme", pb::InvitationState::Unspecified, 10, "").await;
    // The members' accepted invitations, and the pending one.
    assert_eq!(small.invitations.len(), 5);
    assert!(
        small_statements <= LIST_INVITATIONS_BUDGET,
        "ListInvitations sent {small_statements} SQL statements; budget {LIST_INVITATIONS_BUDGET}"
    );

    app.account("big", "olivia").await;
    let mut revoked = 0;
    for i in 0..24 {
        let invitation = app
            .invite(
                "olivia",
                "big",
                &format!("i{i:02}"),
                "list_manager",
                vec![scope(List, &["4"])],
            )
            .await
            .expect("invite")
            .invitation
            .expect("invitation returned");
        if i % 3 == 0 {
            app.revoke("olivia", &invitation.id).await.expect("revoke");
            revoked += 1;
        }
    }
    for (state, expected) in [
        (pb::InvitationState::Unspecified, 24),
        (pb::InvitationState::Pending, 24 - revoked),
        (pb::InvitationState::Revoked, revoked),
    ] {
        let (all, _) = invitations_page(&app, "big", state, 100, "").await;
        assert_eq!(all.invitations.len(), expected, "{state:?}");
        assert!(all.next_page_token.is_empty());
        let mut walked = Vec::new();
        let mut token = String::new();
        loop {
            let (page, statements) = invitations_page(&app, "big", state, 5, &token).await;
            assert_eq!(
                statements,
                small_statements,
                "{state:?} page {} of {expected} rows took {statements} statements, a page of 5 rows {small_statements}",
                walked.len() / 5 + 1
            );
            assert!(page.invitations.len() <= 5);
            walked.extend(page.invitations);
            if page.next_page_token.is_empty() {
                break;
            }
            assert!(walked.len() < expected, "no page past the last row");
            token = page.next_page_token;
        }
        assert_eq!(
            walked, all.invitations,
            "{state:?}: pages walk every row once, in order"
        );
    }
}

/// LookupAccounts reads the facts of every account of the person in one
/// statement, whether they are in two accounts or in twenty, on a page of
/// one or of all.
async fn lookup_accounts_statements_do_not_grow_with_the_accounts(app: TestApp) {
    app.team(&["a", "b"]).await;
    let mut budget = None;
    for round in 0..2 {
        for i in 0..10 {
            // Owned: invitations to one address are rate limited.
            app.account(&format!("acct-{round}-{i}"), "lee").await;
        }
        for page_size in [1, 0] {
            let (answer, statements) = app
                .statements_during(app.client.clone().lookup_accounts(lookup_accounts(
                    "lee",
                    "campaigns.send",
                    page_size,
                    "",
                )))
                .await;
            assert!(
                !answer
                    .expect("LookupAccounts answers")
                    .into_inner()
                    .accounts
                    .is_empty()
            );
            assert!(
                statements <= 1,
                "LookupAccounts over {} accounts sent {statements} SQL statements; budget 1",
                10 * (round + 1)
            );
            assert_eq!(
                *budget.get_or_insert(statements),
                statements,
                "the count does not grow"
            );
        }
    }
    let (answer, statements) = app
        .statements_during(app.client.clone().lookup_accounts(lookup_accounts(
            "boss",
            "campaigns.send",
            0,
            "",
        )))
        .await;
    assert_eq!(answer.expect("answers").into_inner().accounts.len(), 3);
    assert!(
        statements <= 1,
        "a parent owner's lookup sent {statements}; budget 1"
    );
}

/// LookupMembers reads the facts of every member (and of the parent's
/// owner) in one statement, whatever the account's size.
async fn lookup_members_statements_do_not_grow_with_the_account(app: TestApp) {
    app.team(&["a"]).await;
    for round in 0..2 {
        for i in 0..10 {
            let role = if i % 2 == 0 { "admin" } else { "viewer" };
            app.member("owner-a", "child-a", &format!("m-{round}-{i}"), role, vec![])
                .await;
        }
        for page_size in [1, 0] {
            let (answer, statements) = app
                .statements_during(app.client.clone().lookup_members(lookup_members(
                    "child-a",
                    "users.edit",
                    None,
                    page_size,
                    "",
                )))
                .await;
            assert!(
                !answer
                    .expect("LookupMembers answers")
                    .into_inner()
                    .members
                    .is_empty()
            );
            assert!(
                statements <= 1,
                "LookupMembers over {} members sent {statements} SQL statements; budget 1",
                10 * (round + 1) + 2
            );
        }
    }
}

crate::on_both_databases!(
    lookup_accounts_statements_do_not_grow_with_the_accounts,
    lookup_members_statements_do_not_grow_with_the_account,
    list_invitations_statements_do_not_grow_with_the_account,
    authorize_reads_a_bounded_number_of_statements,
    batch_authorize_reads_facts_once_per_pair,
    batch_authorize_statements_do_not_grow_with_pairs,
    template_checks_in_children_add_one_statement,
    suppression_list_checks_in_children_stay_within_the_template_budget,
    list_users_reads_a_bounded_number_of_statements,
    list_users_statements_do_not_grow_with_the_account,
);
