//! Rule 12 for a watch that starts behind: it catches up from the database
//! a page at a time, then follows the replica's feed, and the switch loses
//! and repeats nothing while writers commit all along.

use std::time::Duration;

use access_service::grpc::pb;

use super::{logged_changes, next_events, revision};
use crate::support::TestApp;

/// Deactivates and reactivates `user` of `account` as `actor`, `rounds` times.
async fn toggle(app: &TestApp, actor: &str, account: &str, user: &str, rounds: usize) {
    for _ in 0..rounds {
        app.deactivate(actor, account, user).await.expect("deactivated");
        app.reactivate(actor, account, user).await.expect("reactivated");
    }
}

/// Which of the log's changes a watch is owed: (id, account, revision).
type Owed = dyn Fn(usize, &(String, String, u64, String)) -> bool;

/// Rule 12 under concurrent writers: five watches start from old positions
/// while three writers commit (and a child joins the team), reading pages
/// of 2, so each catches up over many reads and joins the feed while
/// changes keep coming. Each gets exactly the changes of its scope after
/// its position, in commit order, none missed, none twice; the next change
/// after all that is the next event of each.
async fn a_watch_catches_up_then_follows_without_gaps_or_repeats(app: TestApp) {
    const ROUNDS: usize = 12;
    app.team(&["a"]).await;
    app.account("other", "olga").await;
    for n in 0..2 {
        app.member("boss", "team", &format!("t{n}"), "viewer", vec![])
            .await;
        app.member("owner-a", "child-a", &format!("a{n}"), "viewer", vec![])
            .await;
        app.member("olga", "other", &format!("o{n}"), "viewer", vec![])
            .await;
    }
    let other_from = revision(&app, "other").await;
    let history = logged_changes(&app).await;
    // The team's second change (child-a's creation): a team resumes after it.
    let early = history[1].0.clone();
    let team = |account: &str| ["team", "child-a", "child-b"].contains(&account);
    let watches: Vec<(pb::WatchChangesRequest, Box<Owed>)> = vec![
        (
            pb::WatchChangesRequest {
                actor_user_id: "owner-a".into(),
                account_id: "child-a".into(),
                ..Default::default()
            },
            Box::new(|_, change| change.1 == "child-a"),
        ),
        (
            pb::WatchChangesRequest {
                actor_user_id: "olga".into(),
                account_id: "other".into(),
                after_revision: other_from,
                ..Default::default()
            },
            Box::new(move |_, change| change.1 == "other" && change.2 > other_from),
        ),
        (
            pb::WatchChangesRequest {
                actor_user_id: "boss".into(),
                team_account_id: "team".into(),
                ..Default::default()
            },
            Box::new(move |_, change| team(&change.1)),
        ),
        (
            pb::WatchChangesRequest {
                actor_user_id: "boss".into(),
                team_account_id: "team".into(),
                after_id: early,
                ..Default::default()
            },
            Box::new(move |at, change| at > 1 && team(&change.1)),
        ),
        (
            // Every account: the platform (authentication is off here).
            pb::WatchChangesRequest {
                all_accounts: true,
                ..Default::default()
            },
            Box::new(|_, _| true),
        ),
    ];
    let writers = async {
        tokio::join!(
            toggle(&app, "boss", "team", "t0", ROUNDS),
            toggle(&app, "owner-a", "child-a", "a0", ROUNDS),
            toggle(&app, "olga", "other", "o0", ROUNDS),
        );
        // A child created while the team's watches catch up joins them.
        app.child_account("child-b", "owner-b", "team", "boss").await;
        app.member("owner-b", "child-b", "b0", "viewer", vec![]).await;
    };
    let openers = async {
        let mut streams = Vec::new();
        for (request, _) in &watches {
            // Spread among the writes; no assertion rests on it.
            tokio::time::sleep(Duration::from_millis(40)).await;
            let stream = app
                .client
                .clone()
                .watch_changes(request.clone())
                .await
                .expect("watch starts")
                .into_inner();
            streams.push(stream);
        }
        streams
    };
    let ((), mut streams) = tokio::join!(writers, openers);

    let logged = logged_changes(&app).await;
    assert_eq!(
        logged.len(),
        history.len() + 6 * ROUNDS + 3,
        "every write is a change"
    );
    for ((request, owed), stream) in watches.iter().zip(&mut streams) {
        let expected: Vec<&str> = logged
            .iter()
            .enumerate()
            .filter(|(at, change)| owed(*at, change))
            .map(|(_, change)| change.0.as_str())
            .collect();
        let got = next_events(stream, expected.len()).await;
        let ids: Vec<&str> = got.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, expected, "{request:?}");
    }

    // Nothing twice after that either: one more change in each account, and
    // each watch's next event is the first of them in its scope.
    for (actor, account, user) in [
        ("boss", "team", "t1"),
        ("owner-a", "child-a", "a1"),
        ("olga", "other", "o1"),
    ] {
        app.deactivate(actor, account, user).await.expect("deactivated");
    }
    let last = logged_changes(&app).await;
    for ((request, owed), stream) in watches.iter().zip(&mut streams) {
        let next = last
            .iter()
            .enumerate()
            .skip(logged.len())
            .find(|(at, change)| owed(*at, change))
            .map(|(_, change)| change.0.as_str())
            .expect("a change in every scope");
        assert_eq!(next_events(stream, 1).await[0].id, next, "{request:?}");
    }
}

crate::on_both_databases!(mod small_pages, |config| {
    config.change_poll_ms = 20;
    config.watch.watch_page_size = 2;
}; a_watch_catches_up_then_follows_without_gaps_or_repeats);
