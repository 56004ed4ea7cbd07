//! Real concurrent calls: each race is fired with both calls in flight at once,
//! repeated on fresh accounts, and the database invariants are checked with SQL
//! after every round (docs/domain.md rules 7, 10, 11 and 12 under contention).

use std::time::{Duration, Instant};

use access_service::grpc::pb;
use pb::DecisionReason as R;
use tonic::{Code, Status};

use crate::support::{TestApp, create_account, email, error_reason, person, reason};

/// How many times each race runs, each time on fresh accounts.
const ROUNDS: usize = 10;

/// What a raced call answered, for the reports printed with `--nocapture`.
fn outcome<T>(result: &Result<T, Status>) -> String {
    match result {
        Ok(_) => "OK".to_owned(),
        Err(status) => format!("{:?}({})", status.code(), error_reason(status)),
    }
}

async fn memberships_of(app: &TestApp, account: &str, user: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) AS n FROM memberships WHERE account_id = '{account}' AND user_id = '{user}'"
    ))
    .await
}

async fn invitation_in_state(app: &TestApp, id: &str, state: &str) -> bool {
    app.count(&format!(
        "SELECT COUNT(*) AS n FROM invitations WHERE id = '{id}' AND state = '{state}'"
    ))
    .await
        == 1
}

async fn has_role(app: &TestApp, account: &str, user: &str, role: &str) -> bool {
    app.count(&format!(
        "SELECT COUNT(*) AS n FROM memberships WHERE account_id = '{account}' AND user_id = '{user}' AND role_id = '{role}'"
    ))
    .await
        == 1
}

/// The invariants no interleaving may break, for one account and the whole database.
async fn assert_invariants(app: &TestApp, account: &str) {
    let owners = app
        .count(&format!(
            "SELECT COUNT(*) AS n FROM memberships WHERE account_id = '{account}' AND owner_slot = 1"
        ))
        .await;
    assert_eq!(owners, 1, "exactly one owner of {account}");
    let owner_rows_with_owner_role = app
        .count(&format!(
            "SELECT COUNT(*) AS n FROM memberships WHERE account_id = '{account}' AND owner_slot = 1 AND role_id = 'owner'"
        ))
        .await;
    assert_eq!(
        owner_rows_with_owner_role, 1,
        "the owner of {account} has the owner role"
    );
    let owner_roles_elsewhere = app
        .count(&format!(
            "SELECT COUNT(*) AS n FROM memberships WHERE account_id = '{account}' AND owner_slot IS NULL AND role_id = 'owner'"
        ))
        .await;
    assert_eq!(
        owner_roles_elsewhere, 0,
        "no non-owner of {account} holds the owner role"
    );
    let roleless = app
        .count(
            "SELECT COUNT(*) AS n FROM memberships m LEFT JOIN roles r ON r.id = m.role_id WHERE r.id IS NULL",
        )
        .await;
    assert_eq!(roleless, 0, "no member without a role");
    let orphan_scopes = app
        .count(
            "SELECT COUNT(*) AS n FROM membership_scopes s LEFT JOIN memberships m \
             ON m.account_id = s.account_id AND m.user_id = s.user_id WHERE m.user_id IS NULL",
        )
        .await;
    assert_eq!(orphan_scopes, 0, "no scope outlives its membership");
    let orphan_grants = app
        .count(
            "SELECT COUNT(*) AS n FROM membership_grants g LEFT JOIN memberships m \
             ON m.account_id = g.account_id AND m.user_id = g.user_id WHERE m.user_id IS NULL",
        )
        .await;
    assert_eq!(orphan_grants, 0, "no extra grant outlives its membership");
    let doubled_pending = app
        .count(
            "SELECT COUNT(*) AS n FROM (SELECT account_id FROM invitations WHERE state = 'pending' \
             GROUP BY account_id, email HAVING COUNT(*) > 1) AS doubled",
        )
        .await;
    assert_eq!(doubled_pending, 0, "one pending invitation per account and email");
}

async fn owner_of(app: &TestApp, account: &str) -> String {
    app.get_account(account).await.owner.expect("an owner").user_id
}

/// Race 1: the owner hands the account to two different admins at once.
async fn two_transfers_to_different_admins_leave_one_owner(app: TestApp) {
    for round in 0..ROUNDS {
        let account = format!("t1-{round}");
        app.account(&account, "founder").await;
        app.member("founder", &account, "admin-a", "admin", vec![]).await;
        app.member("founder", &account, "admin-b", "admin", vec![]).await;
        let (a, b) = tokio::join!(
            app.transfer("founder", &account, "admin-a"),
            app.transfer("founder", &account, "admin-b"),
        );
        println!("race 1 round {round}: a={} b={}", outcome(&a), outcome(&b));
        let (winner, loser) = match (&a, &b) {
            (Ok(_), Err(status)) => ("admin-a", status),
            (Err(status), Ok(_)) => ("admin-b", status),
            _ => panic!("exactly one transfer may succeed: {a:?} / {b:?}"),
        };
        assert!(
            matches!(loser.code(), Code::PermissionDenied | Code::FailedPrecondition),
            "the loser is refused because the founder no longer owns the account: {loser:?}"
        );
        assert_invariants(&app, &account).await;
        assert_eq!(owner_of(&app, &account).await, winner);
        assert!(
            has_role(&app, &account, "founder", "admin").await,
            "old owner became admin"
        );
        assert_eq!(app.activity_count(&account, "account.transfer").await, 1);
        let old_owner = app.check("founder", &account, "account.transfer").await;
        assert!(!old_owner.allowed, "the founder is no longer owner");
        assert!(app.check(winner, &account, "account.transfer").await.allowed);
    }
}

/// Race 2: the same transfer sent twice at once (a double click).
async fn two_transfers_to_the_same_admin_succeed_once(app: TestApp) {
    for round in 0..ROUNDS {
        let account = format!("t2-{round}");
        app.account(&account, "founder").await;
        app.member("founder", &account, "heir", "admin", vec![]).await;
        let (a, b) = tokio::join!(
            app.transfer("founder", &account, "heir"),
            app.transfer("founder", &account, "heir"),
        );
        println!("race 2 round {round}: a={} b={}", outcome(&a), outcome(&b));
        let ((Ok(_), Err(loser)) | (Err(loser), Ok(_))) = (&a, &b) else {
            panic!("exactly one transfer may succeed: {a:?} / {b:?}");
        };
        assert!(
            matches!(loser.code(), Code::PermissionDenied | Code::FailedPrecondition),
            "{loser:?}"
        );
        assert_invariants(&app, &account).await;
        assert_eq!(owner_of(&app, &account).await, "heir");
        assert!(has_role(&app, &account, "founder", "admin").await);
        assert_eq!(app.activity_count(&account, "account.transfer").await, 1);
    }
}

/// Race 3: two admins remove the same member at once.
async fn two_removals_of_one_member_succeed_once(app: TestApp) {
    for round in 0..ROUNDS {
        let account = format!("t3-{round}");
        app.account(&account, "founder").await;
        app.member("founder", &account, "admin-a", "admin", vec![]).await;
        app.member("founder", &account, "admin-b", "admin", vec![]).await;
        app.member("founder", &account, "leaver", "manager", vec![]).await;
        let (a, b) = tokio::join!(
            app.remove("admin-a", &account, "leaver"),
            app.remove("admin-b", &account, "leaver"),
        );
        println!("race 3 round {round}: a={} b={}", outcome(&a), outcome(&b));
        let ((Ok(_), Err(loser)) | (Err(loser), Ok(_))) = (&a, &b) else {
            panic!("exactly one removal may succeed: {a:?} / {b:?}");
        };
        assert_eq!(loser.code(), Code::NotFound, "{loser:?}");
        assert_invariants(&app, &account).await;
        assert_eq!(memberships_of(&app, &account, "leaver").await, 0);
        assert_eq!(app.activity_count(&account, "member.remove").await, 1);
        let gone = app.check("leaver", &account, "campaigns.view").await;
        assert_eq!((gone.allowed, reason(&gone)), (false, R::NotAMember));
    }
}

/// Race 4: one admin removes a member while the owner changes that member's role and scopes.
async fn removal_racing_an_update_leaves_a_valid_member_or_none(app: TestApp) {
    for round in 0..ROUNDS {
        let account = format!("t4-{round}");
        app.account(&account, "founder").await;
        app.member("founder", &account, "admin-a", "admin", vec![]).await;
        app.member("founder", &account, "target", "manager", vec![]).await;
        let update = pb::UpdateMemberRequest {
            actor_user_id: "founder".into(),
            account_id: account.clone(),
            user_id: "target".into(),
            role: "list_manager".into(),
            scopes: Some(pb::ScopeList {
                scopes: vec![crate::support::scope(pb::ResourceType::List, &["4", "9"])],
            }),
            extra_permissions: Some(pb::PermissionList {
                permissions: vec!["reports.view".into()],
            }),
            ..Default::default()
        };
        let mut one = app.client.clone();
        let (updated, removed) = tokio::join!(
            one.update_member(update),
            app.remove("admin-a", &account, "target"),
        );
        println!(
            "race 4 round {round}: update={} remove={}",
            outcome(&updated),
            outcome(&removed)
        );
        if let Err(status) = &updated {
            assert_eq!(
                status.code(),
                Code::NotFound,
                "an update loses only to a removal: {status:?}"
            );
        }
        if let Err(status) = &removed {
            panic!("the removal cannot be refused by a role change to a lower role: {status:?}");
        }
        assert_invariants(&app, &account).await;
        let left = memberships_of(&app, &account, "target").await;
        assert!(
            left == 0 || has_role(&app, &account, "target", "list_manager").await,
            "the member is gone or has the new role"
        );
        assert_eq!(left, 0, "the removal succeeded, so the member is gone");
        let denied = app.check("target", &account, "lists.view").await;
        assert!(!denied.allowed);
    }
}

/// Race 5: the invitee accepts while an admin revokes the invitation. The database
/// is checked every round; wrong answers are collected and reported together.
async fn accept_racing_revoke_has_one_winner(app: TestApp) {
    let (mut accepted_wins, mut revoked_wins) = (0, 0);
    let mut wrong_answers = Vec::new();
    for round in 0..ROUNDS {
        let account = format!("t5-{round}");
        let invitee = format!("invitee-{round}");
        app.account(&account, "founder").await;
        let invitation = app
            .invite("founder", &account, &invitee, "viewer", vec![])
            .await
            .expect("invite");
        let id = invitation.invitation.expect("invitation").id;
        let mut revoker = app.client.clone();
        let (accepted, revoked) = tokio::join!(
            app.accept(&invitation.token, &invitee),
            revoker.revoke_invitation(pb::RevokeInvitationRequest {
                actor_user_id: "founder".into(),
                invitation_id: id.clone(),
            }),
        );
        let answers = format!("accept={} revoke={}", outcome(&accepted), outcome(&revoked));
        println!("race 5 round {round}: {answers}");
        assert_invariants(&app, &account).await;
        let members = memberships_of(&app, &account, &invitee).await;
        let is_accepted = invitation_in_state(&app, &id, "accepted").await;
        let is_revoked = invitation_in_state(&app, &id, "revoked").await;
        assert!(
            is_accepted != is_revoked,
            "round {round}: accepted xor revoked ({answers})"
        );
        let answer = app.check(&invitee, &account, "reports.view").await;
        if is_accepted {
            accepted_wins += 1;
            assert_eq!(members, 1, "round {round}: accepted, so a membership exists");
            assert!(answer.allowed, "round {round}: the accepted member may act");
            assert_eq!(app.activity_count(&account, "invitation.revoke").await, 0);
            assert_eq!(app.activity_count(&account, "invitation.accept").await, 1);
        } else {
            revoked_wins += 1;
            assert_eq!(members, 0, "round {round}: revoked, so no membership was created");
            assert_eq!((answer.allowed, reason(&answer)), (false, R::NotAMember));
            assert_eq!(app.activity_count(&account, "invitation.accept").await, 0);
            assert_eq!(app.activity_count(&account, "invitation.revoke").await, 1);
        }
        let accepted_without_member = app
            .count(&format!(
                "SELECT COUNT(*) AS n FROM invitations i LEFT JOIN memberships m \
                 ON m.account_id = i.account_id AND m.user_id = i.accepted_by \
                 WHERE i.id = '{id}' AND i.state = 'accepted' AND m.user_id IS NULL"
            ))
            .await;
        assert_eq!(accepted_without_member, 0);
        // What the callers were told must match what the database holds.
        let told_right = match (&accepted, &revoked) {
            (Ok(_), Err(status)) => {
                is_accepted
                    && status.code() == Code::FailedPrecondition
                    && error_reason(status) == "INVITATION_ALREADY_ACCEPTED"
            }
            (Err(status), Ok(_)) => {
                is_revoked
                    && status.code() == Code::FailedPrecondition
                    && error_reason(status) == "INVITATION_REVOKED"
            }
            _ => false,
        };
        if !told_right {
            wrong_answers.push(format!(
                "round {round}: {answers}, database: {}",
                if is_accepted { "accepted" } else { "revoked" }
            ));
        }
    }
    println!("race 5: accept won {accepted_wins}, revoke won {revoked_wins} of {ROUNDS}");
    assert!(
        wrong_answers.is_empty(),
        "exactly one call succeeds and the loser gets FAILED_PRECONDITION \
         INVITATION_ALREADY_ACCEPTED / INVITATION_REVOKED; got: {wrong_answers:#?}"
    );
}

/// Race 6: the same address invited twice at once (two admins, or a double click).
async fn two_invites_of_one_email_leave_one_pending_invitation(app: TestApp) {
    for round in 0..ROUNDS {
        let account = format!("t6-{round}");
        app.account(&account, "founder").await;
        app.member("founder", &account, "admin-a", "admin", vec![]).await;
        let (a, b) = tokio::join!(
            app.invite("founder", &account, "newcomer", "viewer", vec![]),
            app.invite("admin-a", &account, "newcomer", "viewer", vec![]),
        );
        println!("race 6 round {round}: a={} b={}", outcome(&a), outcome(&b));
        for result in [&a, &b] {
            if let Err(status) = result {
                assert!(
                    matches!(status.code(), Code::AlreadyExists | Code::Unavailable),
                    "{status:?}"
                );
            }
        }
        let answered: Vec<&pb::InviteResponse> = [&a, &b].into_iter().flatten().collect();
        assert!(
            !answered.is_empty(),
            "at least one invite succeeds: {a:?} / {b:?}"
        );
        let with_token: Vec<&&pb::InviteResponse> = answered.iter().filter(|r| !r.token.is_empty()).collect();
        assert_eq!(with_token.len(), 1, "exactly one call issued a token");
        let ids: Vec<&str> = answered
            .iter()
            .map(|r| r.invitation.as_ref().expect("invitation").id.as_str())
            .collect();
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "one invitation: {ids:?}");
        let pending = app
            .count(&format!(
                "SELECT COUNT(*) AS n FROM invitations WHERE account_id = '{account}' AND state = 'pending'"
            ))
            .await;
        assert_eq!(pending, 1, "one pending invitation");
        let created = app
            .count(&format!(
                "SELECT COUNT(*) AS n FROM activity_log WHERE account_id = '{account}' \
                 AND action = 'invitation.create' AND target = '{}'",
                email("newcomer")
            ))
            .await;
        assert_eq!(created, 1, "one invitation.create entry for the newcomer");
        assert_invariants(&app, &account).await;
        app.accept(&with_token[0].token, "newcomer")
            .await
            .expect("the issued token works");
        assert!(app.check("newcomer", &account, "reports.view").await.allowed);
    }
}

/// Race 7: the platform retries an account creation while the first one is still
/// running. The database is checked every round; wrong answers are reported together.
async fn two_identical_creations_make_one_account(app: TestApp) {
    let mut wrong_answers = Vec::new();
    for round in 0..ROUNDS {
        let account = format!("t7-{round}");
        // A new owner each round: the user row is created by the race too.
        let owner = format!("creator-{round}");
        let (mut one, mut two) = (app.client.clone(), app.client.clone());
        let (a, b) = tokio::join!(
            one.create_account(create_account(&account, person(&owner))),
            two.create_account(create_account(&account, person(&owner))),
        );
        let answers = format!("a={} b={}", outcome(&a), outcome(&b));
        println!("race 7 round {round}: {answers}");
        assert_eq!(app.activity_count(&account, "account.create").await, 1);
        let accounts = app
            .count(&format!(
                "SELECT COUNT(*) AS n FROM accounts WHERE id = '{account}'"
            ))
            .await;
        assert_eq!(accounts, 1);
        let users = app
            .count(&format!(
                "SELECT COUNT(*) AS n FROM users WHERE email = '{}'",
                email(&owner)
            ))
            .await;
        assert_eq!(users, 1, "one user row for the owner");
        let members = app
            .count(&format!(
                "SELECT COUNT(*) AS n FROM memberships WHERE account_id = '{account}'"
            ))
            .await;
        assert_eq!(members, 1, "only the owner's membership");
        assert_invariants(&app, &account).await;
        assert_eq!(owner_of(&app, &account).await, owner);
        let (a, b) = match (a, b) {
            (Ok(a), Ok(b)) => (a.into_inner(), b.into_inner()),
            _ => {
                wrong_answers.push(format!("round {round}: {answers}"));
                continue;
            }
        };
        let ids = [&a, &b].map(|r| r.account.as_ref().expect("account").id.clone());
        assert_eq!(ids, [account.clone(), account.clone()], "the same account");
        assert_eq!(
            u8::from(a.created) + u8::from(b.created),
            1,
            "exactly one call created it"
        );
        for response in [&a, &b] {
            let owner_person = response.account.as_ref().and_then(|acc| acc.owner.as_ref());
            assert_eq!(owner_person.map(|p| p.user_id.as_str()), Some(owner.as_str()));
        }
    }
    assert!(
        wrong_answers.is_empty(),
        "both identical creations answer OK (one with created = false); got: {wrong_answers:#?}"
    );
}

/// Rule 11 under load: Authorize calls race a demotion; none that starts after the
/// UpdateMember RPC returned may still answer from the old role.
async fn authorize_never_answers_from_before_a_demotion(app: TestApp) {
    const CALLS: u64 = 50;
    app.account("busy", "founder").await;
    for round in 0..ROUNDS {
        let user = format!("marketer-{round}");
        app.member("founder", "busy", &user, "marketer", vec![]).await;
        assert!(app.check(&user, "busy", "campaigns.send").await.allowed);
        let origin = Instant::now();
        let mut calls = Vec::new();
        for i in 0..CALLS {
            let mut client = app.client.clone();
            let request = crate::support::check(&user, "busy", "campaigns.send", None);
            calls.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(i * 2)).await;
                let started = Instant::now();
                let answer = client.authorize(request).await.map(tonic::Response::into_inner);
                (started, Instant::now(), answer)
            }));
        }
        let mut admin = app.client.clone();
        let demote = pb::UpdateMemberRequest {
            actor_user_id: "founder".into(),
            account_id: "busy".into(),
            user_id: user.clone(),
            role: "viewer".into(),
            ..Default::default()
        };
        let demotion = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(CALLS)).await;
            let sent = Instant::now();
            let result = admin.update_member(demote).await;
            (sent, Instant::now(), result)
        });
        let (sent, returned, result) = demotion.await.expect("demotion task");
        result.expect("the demotion succeeds");
        let mut answers = Vec::new();
        for call in calls {
            answers.push(call.await.expect("authorize task"));
        }
        // Calls started after the RPC returned, fired all at once.
        let mut late = Vec::new();
        for _ in 0..CALLS {
            let mut client = app.client.clone();
            let request = crate::support::check(&user, "busy", "campaigns.send", None);
            late.push(tokio::spawn(async move {
                let started = Instant::now();
                let answer = client.authorize(request).await.map(tonic::Response::into_inner);
                (started, Instant::now(), answer)
            }));
        }
        for call in late {
            answers.push(call.await.expect("authorize task"));
        }
        let (mut before, mut after) = (0, 0);
        for (started, ended, answer) in &answers {
            let answer = answer.as_ref().expect("authorize answers");
            if *started >= returned {
                after += 1;
                assert!(
                    !answer.allowed,
                    "round {round}: a call started {:?} after the demotion returned was allowed",
                    started.duration_since(returned)
                );
                assert_eq!(reason(answer), R::PermissionNotGranted);
                assert_eq!(answer.role, "viewer");
            } else if *ended <= sent {
                before += 1;
                assert!(
                    answer.allowed,
                    "round {round}: denied before the demotion was sent"
                );
                assert_eq!(answer.role, "marketer");
            }
        }
        println!(
            "rule 11 round {round}: {before} calls finished before the demotion, {after} started after it, demotion took {:?} (sent at {:?})",
            returned.duration_since(sent),
            sent.duration_since(origin)
        );
        assert!(after >= CALLS as usize, "the late calls were all checked");
    }
    assert_invariants(&app, "busy").await;
}

// Each race on MySQL (where locking matters) and on SQLite, with four workers.
crate::on_both_databases!(
    workers = 4;
    two_transfers_to_different_admins_leave_one_owner,
    two_transfers_to_the_same_admin_succeed_once,
    two_removals_of_one_member_succeed_once,
    removal_racing_an_update_leaves_a_valid_member_or_none,
    accept_racing_revoke_has_one_winner,
    two_invites_of_one_email_leave_one_pending_invitation,
    two_identical_creations_make_one_account,
    authorize_never_answers_from_before_a_demotion,
);
