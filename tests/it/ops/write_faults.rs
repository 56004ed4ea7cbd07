//! A write between its COMMIT and its invalidation: a COMMIT whose reply is
//! lost, a move of the cache fence that never answers, and a retry that
//! finds the first call's work done while that call's invalidation is still
//! on its way. Each test owns the proxies it breaks (in front of MySQL and
//! of its own Redis). Rule 11 of docs/domain.md, as docs/consistency.md
//! bounds it.

use std::time::Duration;

use access_service::grpc::pb;
use pb::DecisionReason as R;
use pb::ResourceType::Template;
use tonic::{Code, Status};

use super::coherence_faults::Pair;
use crate::support::cluster::{Mode, TcpProxy, url_addr};
use crate::support::{create_account, expect_code, mysql_admin_url, person, reason, share};

/// Longest a test waits for what must happen: a guard against hanging.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// A's COMMIT reaches MySQL, which commits, and its reply is lost with the
/// connection: A cannot know whether the removal happened and answers
/// UNAVAILABLE, but only after telling every replica as if it had. The
/// database holds the removal, and no replica answers from before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_commit_whose_reply_is_lost_is_made_visible_everywhere_before_the_error() {
    let mysql = TcpProxy::start(url_addr(&mysql_admin_url())).await;
    let pair = Pair::start(|config| {
        config.database_url = mysql.route(&config.database_url);
        // Nothing but the test's writes commits through the proxy.
        config.outbox_dispatch = false;
        config.change_stream = String::new();
    })
    .await;
    pair.a.account("acme", "olivia").await;
    pair.a.member("olivia", "acme", "lee", "manager", vec![]).await;
    assert!(pair.a.check("lee", "acme", "campaigns.send").await.allowed);
    assert!(pair.b.check("lee", "acme", "campaigns.send").await.allowed);

    mysql.cut_after_reply_to(b"COMMIT");
    let removed = pair.a.remove("olivia", "acme", "lee").await;
    assert_eq!(
        pair.b.activity_count("acme", "member.remove").await,
        1,
        "MySQL committed the removal"
    );
    assert_eq!(
        pair.lee_on_b().await,
        (false, R::NotAMember),
        "B answered from an entry older than a removal the database holds"
    );
    let on_a = pair.a.check("lee", "acme", "campaigns.send").await;
    assert_eq!((on_a.allowed, reason(&on_a)), (false, R::NotAMember));
    expect_code(removed, Code::Unavailable);
}

/// A, cut off from Redis, moves the database's cache fence instead; the
/// statement that moves it reaches MySQL no more on the connection that
/// sends it first, which stays open and never answers. A gives up on it
/// after a while and tries again on another, so the write completes, a term
/// after the move, and B (which reads the fence) no longer answers from
/// before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fence_move_that_never_answers_is_given_up_and_tried_again() {
    let mysql = TcpProxy::start(url_addr(&mysql_admin_url())).await;
    let pair = Pair::start(|config| {
        config.database_url = mysql.route(&config.database_url);
        config.request_timeout_ms = HANG_GUARD.as_millis() as u64;
    })
    .await;
    pair.a.account("acme", "olivia").await;
    pair.a.member("olivia", "acme", "lee", "manager", vec![]).await;
    assert!(pair.b.check("lee", "acme", "campaigns.send").await.allowed);

    pair.a_link.cut();
    mysql.rule_once(b"UPDATE cache_fence", Mode::Frozen);
    let before = pair.a.cache_counts();
    tokio::time::timeout(HANG_GUARD, pair.a.remove("olivia", "acme", "lee"))
        .await
        .expect("the write ends: a fence move that hangs is given up")
        .expect("removed");
    assert_eq!(pair.a.cache_counts().fence_moves, before.fence_moves + 1);
    assert_eq!(
        pair.lee_on_b().await,
        (false, R::NotAMember),
        "B answered from an entry older than the removal, which had returned"
    );
}

/// A writer that stops for good between its COMMIT and its invalidation
/// (as a process killed there would): A reaches neither Redis nor, to move
/// the fence, MySQL, after its removal of Lee committed. No invalidation
/// ever leaves A; B reads the removal in the change log at its next fence
/// read, refuses its entry older than it, and drops Redis's, so C, a
/// replica started afterwards, does not read it there either. Without the
/// log the entry would live until its TTL (ten minutes).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_whose_writer_stops_after_commit_reaches_every_replica_through_the_log() {
    let mysql = TcpProxy::start(url_addr(&mysql_admin_url())).await;
    let pair = Pair::start(|config| {
        config.database_url = mysql.route(&config.database_url);
        config.outbox_dispatch = false;
        config.change_stream = String::new();
    })
    .await;
    pair.a.account("acme", "olivia").await;
    pair.a.member("olivia", "acme", "lee", "manager", vec![]).await;
    assert!(pair.b.check("lee", "acme", "campaigns.send").await.allowed);
    let found_before = pair.b.cache_counts().writes_found_in_log;

    pair.a_link.cut();
    mysql.rule(b"UPDATE cache_fence", Mode::Frozen);
    let removal = pair.a.remove("olivia", "acme", "lee");
    let committed = async {
        while pair.b.activity_count("acme", "member.remove").await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        returned = removal => panic!("A's removal returned without reaching Redis or the fence: {returned:?}"),
        () = committed => {}
        () = tokio::time::sleep(HANG_GUARD) => panic!("A's removal never committed"),
    }
    // A's invalidation is stuck for good: the caller has gone, and every
    // way A has to tell the other replicas hangs.
    tokio::time::timeout(HANG_GUARD, async {
        while pair.b.check("lee", "acme", "campaigns.send").await.allowed {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("B hears of the removal from the log, well before its entry's TTL");
    assert_eq!(pair.lee_on_b().await, (false, R::NotAMember));
    assert!(
        pair.b.cache_counts().writes_found_in_log > found_before,
        "B found the removal in the log, not through an invalidation"
    );
    let c = pair
        .a
        .replica_with(|config| {
            config.redis_url = Some(pair.redis.url());
            config.database_url = pair.a.database_url().to_owned();
        })
        .await;
    crate::support::cluster::until_trusted(&[&c]).await;
    let lee_on_c = c.check("lee", "acme", "campaigns.send").await;
    assert_eq!((lee_on_c.allowed, reason(&lee_on_c)), (false, R::NotAMember));
}

/// A write whose retry finds the work done.
#[derive(Clone, Copy, Debug)]
enum Retried {
    Remove,
    Close,
    Unshare,
    Create,
}

impl Retried {
    /// What the accounts look like before the first call.
    async fn seed(self, pair: &Pair) {
        match self {
            Self::Remove | Self::Close => {
                pair.a.account("acme", "olivia").await;
                pair.a.member("olivia", "acme", "lee", "manager", vec![]).await;
            }
            Self::Unshare => {
                pair.a.team(&["a"]).await;
                pair.a
                    .client
                    .clone()
                    .share_template(share("boss", "team", "tpl-1", &["child-a"]))
                    .await
                    .expect("shared");
            }
            Self::Create => {}
        }
    }

    /// The call, made twice: the answer's status code.
    async fn call(self, pair: &Pair) -> Result<(), Status> {
        let mut client = pair.a.client.clone();
        match self {
            Self::Remove => pair.a.remove("olivia", "acme", "lee").await.map(drop),
            Self::Close => pair.a.close("olivia", "acme").await.map(drop),
            Self::Unshare => client
                .unshare_template(pb::UnshareTemplateRequest {
                    actor_user_id: "boss".into(),
                    account_id: "team".into(),
                    template_id: "tpl-1".into(),
                })
                .await
                .map(drop),
            Self::Create => client
                .create_account(create_account("acme", person("olivia")))
                .await
                .map(drop),
        }
    }

    /// What the retry answers: the work was done.
    fn retry_code(self) -> Code {
        match self {
            Self::Remove | Self::Unshare => Code::NotFound,
            Self::Close => Code::FailedPrecondition,
            Self::Create => Code::Ok,
        }
    }

    /// Whether the database holds the first call's work.
    async fn done(self, pair: &Pair) -> bool {
        let (account, action) = match self {
            Self::Remove => ("acme", "member.remove"),
            Self::Close => ("acme", "account.close"),
            Self::Unshare => ("team", "template.unshare"),
            Self::Create => ("acme", "account.create"),
        };
        pair.b.activity_count(account, action).await == 1
    }

    /// The check on B the write changes: its answer before, and after.
    async fn probe(self, pair: &Pair) -> (bool, R) {
        let answer = match self {
            Self::Remove | Self::Close => pair.b.check("lee", "acme", "campaigns.send").await,
            Self::Unshare => {
                pair.b
                    .check_on("owner-a", "child-a", "templates.edit", (Template, "tpl-1"))
                    .await
            }
            Self::Create => pair.b.check("olivia", "acme", "campaigns.send").await,
        };
        (answer.allowed, reason(&answer))
    }

    fn before_and_after(self) -> ((bool, R), (bool, R)) {
        match self {
            Self::Remove => ((true, R::Allowed), (false, R::NotAMember)),
            Self::Close => ((true, R::Allowed), (false, R::AccountClosed)),
            Self::Unshare => ((false, R::SharedTemplateReadOnly), (true, R::Allowed)),
            Self::Create => ((false, R::AccountNotFound), (true, R::Allowed)),
        }
    }
}

/// The first call commits, then waits for B, whose subscription is silent
/// (A revokes it only after a long ack timeout). Meanwhile its caller gives
/// up and retries, and the retry finds the work done: it must not answer
/// before B stops answering from before the first call. Each such retry
/// announces the revisions it finds again, as a write, and waits as one.
async fn a_retry_that_finds_the_work_done_answers_once_it_is_visible(kind: Retried) {
    let pair = Pair::start(|config| {
        config.cache_lease_ms = 3000;
        config.cache_ack_timeout_ms = 1000;
    })
    .await;
    kind.seed(&pair).await;
    let (before, after) = kind.before_and_after();
    assert_eq!(
        kind.probe(&pair).await,
        before,
        "{kind:?}: B holds the state before"
    );
    pair.silence_b();

    let first = kind.call(&pair);
    let retried = async {
        while !kind.done(&pair).await {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let retry = kind.call(&pair).await;
        (retry, kind.probe(&pair).await)
    };
    let (first, (retry, probed)) = tokio::time::timeout(HANG_GUARD, async { tokio::join!(first, retried) })
        .await
        .expect("both calls end");
    first.unwrap_or_else(|status| panic!("{kind:?}: the first call succeeds: {status:?}"));
    assert_eq!(
        retry.err().map_or(Code::Ok, |status| status.code()),
        kind.retry_code(),
        "{kind:?}: the retry finds the work done"
    );
    assert_eq!(
        probed, after,
        "{kind:?}: B answered from before the first call once the retry had returned"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_remove_member_retry_answers_once_the_removal_is_visible() {
    a_retry_that_finds_the_work_done_answers_once_it_is_visible(Retried::Remove).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_close_account_retry_answers_once_the_closing_is_visible() {
    a_retry_that_finds_the_work_done_answers_once_it_is_visible(Retried::Close).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unshare_retry_answers_once_the_unsharing_is_visible() {
    a_retry_that_finds_the_work_done_answers_once_it_is_visible(Retried::Unshare).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_create_account_retry_answers_once_the_account_is_visible() {
    a_retry_that_finds_the_work_done_answers_once_it_is_visible(Retried::Create).await;
}
