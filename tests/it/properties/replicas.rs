//! Rule 11 of docs/domain.md across replicas: once a write has returned to its
//! caller, no replica answers from an entry older than that write, even to a
//! caller that passes no consistency token.
//!
//! Two replicas, A and B, over one database and one Redis namespace: each
//! warms its cache with a check, then both answer that check back to back
//! (several tasks each, no token) while A makes a write that changes the
//! answer; every call is recorded with whether it started after the write
//! returned. No call that did may get the old answer, on either replica.
//!
//! MySQL only: replicas are separate processes sharing one database server.
//! SQLite is one file opened by one process (through a single connection),
//! which is not a deployment with replicas.

use std::future::Future;

use access_service::cache::CacheCounts;
use access_service::grpc::pb;
use pb::DecisionReason as R;
use pb::ResourceType::{SuppressionList, Template};

use crate::support::cluster::{Answer, Load, RedisNamespace, until_trusted};
use crate::support::{Db, TestApp, check, reason, share};

/// Calls each replica answers before the write starts: all the old answer.
const BEFORE_WRITE: u64 = 100;
/// Calls each replica answers that start after the write has returned.
const AFTER_WRITE: u64 = 500;
/// Tasks calling each replica at once.
const TASKS_PER_REPLICA: usize = 3;

/// The load's phases: before the write, while it runs, after it returned.
const BEFORE: usize = 0;
const DURING: usize = 1;
const AFTER: usize = 2;

/// Two replicas over one MySQL database and one Redis namespace.
pub(super) struct Replicas {
    pub(super) a: TestApp,
    pub(super) b: TestApp,
    // Declared last: outlives both servers.
    _namespace: RedisNamespace,
}

impl Replicas {
    /// Starts A, then B on A's database and namespace, and waits until both
    /// trust their caches (their leases are live).
    pub(super) async fn start() -> Self {
        let namespace = RedisNamespace::new();
        let a = TestApp::spawn_with(Db::Mysql, |config| namespace.configure(config)).await;
        let b = a.replica().await;
        until_trusted(&[&a, &b]).await;
        Self {
            a,
            b,
            _namespace: namespace,
        }
    }

    pub(super) fn both(&self) -> [&TestApp; 2] {
        [&self.a, &self.b]
    }
}

/// What one replica answered, by phase.
#[derive(Debug, Default)]
struct Tally {
    /// Before the write: the old answer (every one must be).
    before_old: u64,
    /// Before the write: anything else.
    before_other: u64,
    /// While the write ran (either answer is right).
    during: u64,
    /// Started after the write returned: the new answer.
    after_new: u64,
    /// Started after the write returned, yet the old answer: stale.
    stale: u64,
    /// Started after the write returned: neither answer, or an error.
    after_other: u64,
}

fn tally(answers: &[Answer], replica: usize, old: R, new: R) -> Tally {
    let mut tally = Tally::default();
    for answer in answers.iter().filter(|a| a.replica == replica) {
        let slot = match (answer.phase, answer.outcome) {
            (BEFORE, Ok(reason)) if reason == old => &mut tally.before_old,
            // Sent before the write but answered once it had begun: the
            // database may already hold the new state, so either answer is right.
            (BEFORE, _) if answer.answered_in >= DURING => &mut tally.during,
            (BEFORE, _) => &mut tally.before_other,
            (DURING, _) => &mut tally.during,
            (_, Ok(reason)) if reason == new => &mut tally.after_new,
            (_, Ok(reason)) if reason == old => &mut tally.stale,
            (_, _) => &mut tally.after_other,
        };
        *slot += 1;
    }
    tally
}

/// Warms both replicas with `request`, hammers it on both, makes `write`
/// (through A) once each has answered [`BEFORE_WRITE`] calls, keeps
/// hammering until each has answered [`AFTER_WRITE`] calls that started
/// after the write returned, and asserts that none of those got `old` (or
/// anything but `new`), that every call before the write got `old`, and
/// that the caches answered: each replica served most of its calls from
/// memory, and B heard of the write. Returns each replica's cache counts
/// before and after.
async fn hammer(
    replicas: &Replicas,
    request: pb::AuthorizeRequest,
    old: R,
    new: R,
    write: impl Future<Output = ()>,
) -> [(CacheCounts, CacheCounts); 2] {
    for app in replicas.both() {
        for _ in 0..2 {
            let answer = app.check_request(request.clone()).await;
            assert_eq!(reason(&answer), old, "before the write");
        }
    }
    let before = replicas.both().map(TestApp::cache_counts);
    let load = Load::start(&replicas.both(), &[request], TASKS_PER_REPLICA);
    load.until(BEFORE, BEFORE_WRITE).await;
    load.enter(DURING);
    write.await;
    load.enter(AFTER);
    load.until(AFTER, AFTER_WRITE).await;
    let answers = load.stop().await;
    let after = replicas.both().map(TestApp::cache_counts);
    let tallies = [0, 1].map(|replica| tally(&answers, replica, old, new));
    let hits = [0, 1].map(|replica| after[replica].local_hits - before[replica].local_hits);
    println!(
        "{} checks, {old:?} -> {new:?}: A {:?}, {} local hits; B {:?}, {} local hits",
        answers.len(),
        tallies[0],
        hits[0],
        tallies[1],
        hits[1]
    );
    for (name, tally) in ["A", "B"].iter().zip(&tallies) {
        assert!(
            tally.before_old >= BEFORE_WRITE && tally.before_other == 0,
            "replica {name} answered {old:?} before the write, and only that: {tally:?}"
        );
        assert_eq!(
            (tally.stale, tally.after_other),
            (0, 0),
            "replica {name}: no call that started after the write returned may get {old:?} (or fail): {tally:?}"
        );
        assert!(tally.after_new >= AFTER_WRITE, "{tally:?}");
    }
    assert!(answers.len() as u64 >= 2 * (BEFORE_WRITE + AFTER_WRITE));
    for (replica, name) in ["A", "B"].iter().enumerate() {
        let calls = answers.iter().filter(|a| a.replica == replica).count() as u64;
        assert!(
            2 * hits[replica] >= calls,
            "replica {name} answered most of its {calls} calls from memory: {} local hits",
            hits[replica]
        );
    }
    assert!(
        after[1].invalidations_received > before[1].invalidations_received,
        "B heard of the write"
    );
    [0, 1].map(|replica| (before[replica], after[replica]))
}

/// An account "acme" owned by "olivia" where "lee" is a member with `role`.
async fn lee_in_acme(app: &TestApp, role: &str) {
    app.account("acme", "olivia").await;
    app.member("olivia", "acme", "lee", role, vec![]).await;
}

/// Also the protocol's normal path: A's write waits for B's acknowledgement
/// (no lease revoked, none waited out).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_removed_member_is_refused_on_every_replica_once_the_removal_returns() {
    let replicas = Replicas::start().await;
    lee_in_acme(&replicas.a, "manager").await;
    let [(a_before, a_after), _] = hammer(
        &replicas,
        check("lee", "acme", "campaigns.send", None),
        R::Allowed,
        R::NotAMember,
        async {
            replicas.a.remove("olivia", "acme", "lee").await.expect("removed");
        },
    )
    .await;
    assert_eq!(a_after.invalidations_sent, a_before.invalidations_sent + 1);
    assert_eq!(
        a_after.acks_received,
        a_before.acks_received + 1,
        "B acknowledged"
    );
    assert_eq!(
        (a_after.revocations, a_after.writes_waited_out),
        (a_before.revocations, a_before.writes_waited_out),
        "B acknowledged in time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deactivated_member_is_refused_on_every_replica_once_the_deactivation_returns() {
    let replicas = Replicas::start().await;
    lee_in_acme(&replicas.a, "manager").await;
    hammer(
        &replicas,
        check("lee", "acme", "campaigns.send", None),
        R::Allowed,
        R::MembershipInactive,
        async {
            replicas
                .a
                .deactivate("olivia", "acme", "lee")
                .await
                .expect("deactivated");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lowered_role_is_applied_on_every_replica_once_the_update_returns() {
    let replicas = Replicas::start().await;
    lee_in_acme(&replicas.a, "admin").await;
    hammer(
        &replicas,
        check("lee", "acme", "users.remove", None),
        R::Allowed,
        R::PermissionNotGranted,
        async {
            replicas
                .a
                .update_member_role("olivia", "acme", "lee", "viewer")
                .await
                .expect("role changed");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_permission_dropped_from_a_custom_role_is_refused_on_every_replica() {
    let replicas = Replicas::start().await;
    let a = &replicas.a;
    a.account("acme", "olivia").await;
    a.create_role("olivia", "acme", "sender", &["campaigns.view", "campaigns.send"])
        .await
        .expect("role created");
    a.member("olivia", "acme", "lee", "sender", vec![]).await;
    hammer(
        &replicas,
        check("lee", "acme", "campaigns.send", None),
        R::Allowed,
        R::PermissionNotGranted,
        async {
            a.client
                .clone()
                .update_role(pb::UpdateRoleRequest {
                    actor_user_id: "olivia".into(),
                    account_id: "acme".into(),
                    name: "sender".into(),
                    description: String::new(),
                    permissions: Some(pb::PermissionList {
                        permissions: vec!["campaigns.view".into()],
                    }),
                })
                .await
                .expect("role updated");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_closed_account_refuses_on_every_replica_once_closing_returns() {
    let replicas = Replicas::start().await;
    lee_in_acme(&replicas.a, "manager").await;
    hammer(
        &replicas,
        check("lee", "acme", "campaigns.send", None),
        R::Allowed,
        R::AccountClosed,
        async {
            replicas.a.close("olivia", "acme").await.expect("closed");
        },
    )
    .await;
}

/// Rule 4 through a cache: the parent's owner acts as owner in the child
/// while the parent is open; closing the parent (a write to the parent
/// alone) must reach the entries of its children.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn closing_the_parent_ends_its_owners_access_to_the_child_on_every_replica() {
    let replicas = Replicas::start().await;
    replicas.a.team(&["a"]).await;
    hammer(
        &replicas,
        check("boss", "child-a", "campaigns.send", None),
        R::Allowed,
        R::NotAMember,
        async {
            replicas.a.close("boss", "team").await.expect("parent closed");
        },
    )
    .await;
}

/// Rule 5 through a cache: sharing a template (a write to the parent)
/// makes it read-only in the child.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shared_template_is_read_only_in_the_child_on_every_replica_once_sharing_returns() {
    let replicas = Replicas::start().await;
    let a = &replicas.a;
    a.team(&["a"]).await;
    a.member("owner-a", "child-a", "dee", "manager", vec![]).await;
    hammer(
        &replicas,
        check("dee", "child-a", "templates.edit", Some((Template, "tpl-1"))),
        R::Allowed,
        R::SharedTemplateReadOnly,
        async {
            a.client
                .clone()
                .share_template(share("boss", "team", "tpl-1", &[]))
                .await
                .expect("shared");
        },
    )
    .await;
}

/// Rule 5 for suppression lists, the same way: sharing one makes it
/// read-only in the child on every replica, and unsharing editable again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shared_suppression_list_is_read_only_in_the_child_on_every_replica_until_unshared() {
    let replicas = Replicas::start().await;
    let a = &replicas.a;
    a.team(&["a"]).await;
    a.member("owner-a", "child-a", "dee", "power_user", vec![]).await;
    let edit = check(
        "dee",
        "child-a",
        "suppressions.edit",
        Some((SuppressionList, "sup-1")),
    );
    hammer(
        &replicas,
        edit.clone(),
        R::Allowed,
        R::SharedSuppressionListReadOnly,
        async {
            a.client
                .clone()
                .share_suppression_list(pb::ShareSuppressionListRequest {
                    actor_user_id: "boss".into(),
                    account_id: "team".into(),
                    suppression_list_id: "sup-1".into(),
                    child_account_ids: vec![],
                })
                .await
                .expect("shared");
        },
    )
    .await;
    hammer(
        &replicas,
        edit,
        R::SharedSuppressionListReadOnly,
        R::Allowed,
        async {
            a.client
                .clone()
                .unshare_suppression_list(pb::UnshareSuppressionListRequest {
                    actor_user_id: "boss".into(),
                    account_id: "team".into(),
                    suppression_list_id: "sup-1".into(),
                })
                .await
                .expect("unshared");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unshared_template_is_editable_in_the_child_on_every_replica_once_unsharing_returns() {
    let replicas = Replicas::start().await;
    let a = &replicas.a;
    a.team(&["a"]).await;
    a.member("owner-a", "child-a", "dee", "manager", vec![]).await;
    a.client
        .clone()
        .share_template(share("boss", "team", "tpl-1", &[]))
        .await
        .expect("shared");
    hammer(
        &replicas,
        check("dee", "child-a", "templates.edit", Some((Template, "tpl-1"))),
        R::SharedTemplateReadOnly,
        R::Allowed,
        async {
            a.client
                .clone()
                .unshare_template(pb::UnshareTemplateRequest {
                    actor_user_id: "boss".into(),
                    account_id: "team".into(),
                    template_id: "tpl-1".into(),
                })
                .await
                .expect("unshared");
        },
    )
    .await;
}

/// Rule 3 through a cache: checks without a verified session are refused
/// once the policy is on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requiring_two_factor_applies_on_every_replica_once_the_policy_returns() {
    let replicas = Replicas::start().await;
    lee_in_acme(&replicas.a, "manager").await;
    hammer(
        &replicas,
        check("lee", "acme", "campaigns.send", None),
        R::Allowed,
        R::MfaRequired,
        async {
            replicas
                .a
                .client
                .clone()
                .update_account_policy(pb::UpdateAccountPolicyRequest {
                    actor_user_id: "olivia".into(),
                    account_id: "acme".into(),
                    require_two_factor: true,
                })
                .await
                .expect("policy updated");
        },
    )
    .await;
}
