//! Rule 17 of docs/domain.md across replicas: access that ends is refused
//! from its end instant on by every replica, with both cache layers warm,
//! though no write happens at the end: the cached facts carry the ends and
//! each decision judges them against the replica's clock at the call.
//!
//! Two replicas, A and B, over one database and one Redis namespace, warmed
//! with three checks, each given by one thing that ends: an extra grant and
//! a scope entry end at one instant, the membership at a later one. Both
//! replicas answer the checks back to back across both instants; the test
//! moves the load's phase on once its own clock has passed each instant, so
//! a call sent in a later phase started after the end. The replicas and the
//! test share one machine's clock: the skew bound (ACCESS_MAX_CLOCK_SKEW_MS,
//! checked against the database's clock) is zero here, so no call that
//! started after an end may be allowed. MySQL only, as `replicas.rs`.

use access_service::grpc::pb;
use chrono::Utc;
use pb::DecisionReason as R;
use pb::ResourceType::List;

use super::replicas::Replicas;
use crate::support::cluster::{Answer, Load};
use crate::support::{check, pass, scope, three_ends};

/// Calls each replica answers before the first end.
const BEFORE_FIRST: u64 = 100;
/// Calls each replica answers that start after the last end.
const AFTER_LAST: u64 = 300;
/// Tasks calling each replica at once.
const TASKS_PER_REPLICA: usize = 3;

/// The load's phases: well before the first end, close to it, after it;
/// close to the second, after it. A call answered before the phase "close
/// to" its end must be allowed; one sent after its end must be refused;
/// between the two, the test's clock reading and the call race (either).
const BEFORE: usize = 0;
const NEAR_FIRST: usize = 1;
const FIRST_PASSED: usize = 2;
const NEAR_SECOND: usize = 3;
const SECOND_PASSED: usize = 4;
/// How long before an end the load moves to its "close to" phase.
const MARGIN: chrono::Duration = chrono::Duration::milliseconds(100);

/// The checks, in the load's order, and the phase from which each must be
/// refused: the grant's and the scope entry's end first, the membership's
/// second.
const GRANT: usize = 0;
const ENTRY: usize = 1;
const MEMBERSHIP: usize = 2;
const ENDS_IN: [usize; 3] = [FIRST_PASSED, FIRST_PASSED, SECOND_PASSED];
const NEAR: [usize; 3] = [NEAR_FIRST, NEAR_FIRST, NEAR_SECOND];

fn checks() -> Vec<pb::AuthorizeRequest> {
    vec![
        check("lee", "acme", "reports.view", None),
        check("lee", "acme", "lists.edit", Some((List, "4"))),
        check("lee", "acme", "lists.edit", Some((List, "9"))),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_replica_allows_a_moment_past_an_end() {
    let replicas = Replicas::start().await;
    let a = &replicas.a;
    a.account("acme", "olivia").await;
    a.member(
        "olivia",
        "acme",
        "lee",
        "list_manager",
        vec![scope(List, &["4", "9"])],
    )
    .await;
    let first = Utc::now() + chrono::Duration::milliseconds(2500);
    let second = first + chrono::Duration::milliseconds(1000);
    a.client
        .clone()
        .update_member(three_ends("olivia", "acme", "lee", first, second))
        .await
        .expect("ends set");
    let checks = checks();
    // Both layers warm: each replica fills Redis or reads it, then memory.
    for app in replicas.both() {
        for check in &checks {
            for _ in 0..2 {
                assert!(app.check_request(check.clone()).await.allowed, "before the ends");
            }
        }
    }
    let before = replicas.both().map(|app| app.cache_counts());
    let load = Load::start(&replicas.both(), &checks, TASKS_PER_REPLICA);
    load.until(BEFORE, BEFORE_FIRST).await;
    pass(first - MARGIN).await;
    load.enter(NEAR_FIRST);
    pass(first).await;
    load.enter(FIRST_PASSED);
    pass(second - MARGIN).await;
    load.enter(NEAR_SECOND);
    pass(second).await;
    load.enter(SECOND_PASSED);
    load.until(SECOND_PASSED, AFTER_LAST).await;
    let answers = load.stop().await;
    let after = replicas.both().map(|app| app.cache_counts());

    let late: Vec<&Answer> = answers
        .iter()
        .filter(|answer| answer.phase >= ENDS_IN[answer.check] && answer.outcome != Ok(R::AccessExpired))
        .collect();
    assert!(
        late.is_empty(),
        "answers after an end that are not ACCESS_EXPIRED: {late:?}"
    );
    let early: Vec<&Answer> = answers
        .iter()
        .filter(|answer| answer.answered_in < NEAR[answer.check] && answer.outcome != Ok(R::Allowed))
        .collect();
    assert!(
        early.is_empty(),
        "answers before an end that are not allowed: {early:?}"
    );
    for check in [GRANT, ENTRY, MEMBERSHIP] {
        for replica in [0, 1] {
            let refused = answers
                .iter()
                .filter(|a| a.check == check && a.replica == replica && a.phase >= ENDS_IN[check])
                .count();
            assert!(
                refused > 0,
                "replica {replica} was asked check {check} after its end"
            );
        }
    }
    for replica in [0, 1] {
        let calls = answers.iter().filter(|a| a.replica == replica).count() as u64;
        let hits = after[replica].local_hits - before[replica].local_hits;
        assert!(
            2 * hits >= calls,
            "replica {replica} answered most of its {calls} calls from memory ({hits} local hits): the \
             ends were judged on cached facts"
        );
        assert_eq!(
            after[replica].invalidations_received, before[replica].invalidations_received,
            "no write happened at the ends"
        );
    }
    println!(
        "{} checks across the ends; local hits A {}, B {}",
        answers.len(),
        after[0].local_hits - before[0].local_hits,
        after[1].local_hits - before[1].local_hits
    );
}
