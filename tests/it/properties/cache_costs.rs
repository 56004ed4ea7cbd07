//! What a check costs, counted: a warm check does no I/O,
//! a Redis hit is one round trip, a miss is one database read of facts.
//! Counts, not timings: the benchmark measures time.

use access_service::cache::CacheCounts;
use access_service::grpc::pb;
use pb::ResourceType::List;

use crate::support::cluster::{RedisNamespace, until_trusted};
use crate::support::{Db, TestApp, check, lookup_resources, scope};

/// Counts the SQL statements and cache events of one Authorize.
async fn one_check(app: &TestApp, request: pb::AuthorizeRequest) -> (bool, u64, CacheCounts) {
    let before = app.cache_counts();
    let (answer, statements) = app.statements_during(app.client.clone().authorize(request)).await;
    let after = app.cache_counts();
    let delta = CacheCounts {
        local_hits: after.local_hits - before.local_hits,
        redis_hits: after.redis_hits - before.redis_hits,
        misses: after.misses - before.misses,
        redis_reads: after.redis_reads - before.redis_reads,
        redis_fills: after.redis_fills - before.redis_fills,
        ..CacheCounts::default()
    };
    (
        answer.expect("authorize answers").into_inner().allowed,
        statements,
        delta,
    )
}

async fn scoped_lee(app: &TestApp) {
    app.account("acme", "olivia").await;
    app.member("olivia", "acme", "lee", "list_manager", vec![scope(List, &["4"])])
        .await;
}

async fn in_process_warm_check_does_no_io(app: TestApp) {
    scoped_lee(&app).await;
    let ask = || check("lee", "acme", "lists.edit", Some((List, "4")));
    let (allowed, statements, cold) = one_check(&app, ask()).await;
    assert!(allowed);
    assert_eq!((statements, cold.misses, cold.local_hits), (1, 1, 0), "{cold:?}");
    let (allowed, statements, warm) = one_check(&app, ask()).await;
    assert!(allowed);
    assert_eq!((statements, warm.misses, warm.local_hits), (0, 0, 1), "{warm:?}");
    // The same facts answer another question about the same pair.
    let (allowed, statements, _) =
        one_check(&app, check("lee", "acme", "lists.edit", Some((List, "5")))).await;
    assert!(!allowed, "out of scope");
    assert_eq!(statements, 0);
    // A write makes the next check read the database again, once.
    app.member("olivia", "acme", "ann", "viewer", vec![]).await;
    let (allowed, statements, after_write) = one_check(&app, ask()).await;
    assert!(allowed);
    assert_eq!((statements, after_write.misses), (1, 1), "{after_write:?}");
}

/// LookupResources answers from the facts Authorize reads: once a check
/// has warmed them, the filter costs no statement and no Redis round trip,
/// and a cold one costs what a cold check costs.
async fn warm_resource_lookup_does_no_io(app: TestApp) {
    scoped_lee(&app).await;
    let lookup = || async {
        let before = app.cache_counts();
        let (answer, statements) = app
            .statements_during(app.client.clone().lookup_resources(lookup_resources(
                "lee",
                "acme",
                "lists.edit",
                List,
            )))
            .await;
        let after = app.cache_counts();
        let filter = answer.expect("LookupResources answers").into_inner().filter;
        assert_eq!(filter.expect("a filter").resource_ids, ["4"]);
        (
            statements,
            after.misses - before.misses,
            after.local_hits - before.local_hits,
            after.redis_reads - before.redis_reads,
        )
    };
    let (statements, misses, _, _) = lookup().await;
    assert_eq!((statements, misses), (1, 1), "cold: one read of facts");
    assert_eq!(lookup().await, (0, 0, 1, 0), "warm: no I/O");
    // Warmed by Authorize, for the same pair: the same cache entry.
    app.member("olivia", "acme", "ann", "viewer", vec![]).await;
    let (allowed, _, _) = one_check(&app, check("lee", "acme", "lists.edit", None)).await;
    assert!(allowed);
    assert_eq!(lookup().await, (0, 0, 1, 0), "warmed by Authorize: no I/O");
}

crate::on_both_databases!(in_process_warm_check_does_no_io, warm_resource_lookup_does_no_io);

/// Redis runs beside MySQL in production; these run on MySQL only (SQLite is
/// the one-process embedded default, where Redis has no reason to be).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_a_warm_check_does_no_io_and_a_miss_reads_once() {
    let namespace = RedisNamespace::new();
    let app = TestApp::spawn_with(Db::Mysql, |config| namespace.configure(config)).await;
    scoped_lee(&app).await;
    until_trusted(&[&app]).await;
    let ask = || check("lee", "acme", "lists.edit", Some((List, "4")));
    let (allowed, statements, miss) = one_check(&app, ask()).await;
    assert!(allowed);
    assert_eq!(statements, 1, "a miss is one database read");
    assert_eq!(
        (miss.misses, miss.redis_reads, miss.redis_fills),
        (1, 1, 1),
        "a miss: one Redis lookup, one read, one fill: {miss:?}"
    );
    let (allowed, statements, warm) = one_check(&app, ask()).await;
    assert!(allowed);
    assert_eq!(statements, 0);
    assert_eq!(
        (warm.local_hits, warm.redis_reads, warm.redis_fills),
        (1, 0, 0),
        "a warm check does no I/O: {warm:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_and_no_local_layer_a_hit_is_one_round_trip() {
    let namespace = RedisNamespace::new();
    let app = TestApp::spawn_with(Db::Mysql, |config| {
        namespace.configure(config);
        config.cache_max_bytes = 0;
    })
    .await;
    scoped_lee(&app).await;
    until_trusted(&[&app]).await;
    let ask = || check("lee", "acme", "lists.edit", Some((List, "9")));
    let (allowed, statements, miss) = one_check(&app, ask()).await;
    assert!(!allowed, "out of scope");
    assert_eq!((statements, miss.misses, miss.redis_fills), (1, 1, 1), "{miss:?}");
    let (allowed, statements, hit) = one_check(&app, ask()).await;
    assert!(!allowed);
    assert_eq!(statements, 0);
    assert_eq!(
        (hit.redis_hits, hit.redis_reads, hit.redis_fills, hit.local_hits),
        (1, 1, 0, 0),
        "a Redis hit is one round trip: {hit:?}"
    );
}

async fn full_consistency_skips_every_layer(app: TestApp) {
    scoped_lee(&app).await;
    let mut request = check("lee", "acme", "lists.edit", Some((List, "4")));
    one_check(&app, request.clone()).await;
    request.consistency = Some(pb::Consistency {
        requirement: Some(pb::consistency::Requirement::FullyConsistent(true)),
    });
    let (allowed, statements, full) = one_check(&app, request).await;
    assert!(allowed);
    assert_eq!((statements, full.misses, full.local_hits), (1, 1, 0), "{full:?}");
}

crate::on_both_databases!(mod full, |_config| {}; full_consistency_skips_every_layer);
