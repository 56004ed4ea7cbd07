//! The dashboard and the alert rules the chart ships
//! (helm/access-service/files/) name only metrics the service exports: a
//! server with Redis and metrics is scraped, and every metric name either
//! file mentions must be a family of that scrape. (The rules' behaviour is
//! tested by promtool, in scripts/check-monitoring.)

use std::collections::BTreeSet;

use crate::support::cluster::{TestRedis, until_trusted};
use crate::support::scrape::scrape;
use crate::support::{Db, TestApp};

const DASHBOARD: &str = include_str!("../../../helm/access-service/files/dashboard.json");
const ALERTS: &str = include_str!("../../../helm/access-service/files/alerts.yaml");

/// Every word of `text` that names one of the service's metrics: the
/// families are `grpc_server_*`, `access_*` and `process_*`.
fn metric_names(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|word| {
            ["grpc_server_", "access_", "process_"]
                .iter()
                .any(|prefix| word.starts_with(prefix))
        })
        .collect()
}

#[tokio::test]
async fn the_dashboard_and_the_alerts_name_only_exported_metrics() {
    let redis = TestRedis::start().await;
    let app = TestApp::spawn_with(Db::Sqlite, |config| {
        config.redis_url = Some(redis.url());
        config.metrics_addr = Some("127.0.0.1:0".parse().expect("address"));
    })
    .await;
    until_trusted(&[&app]).await;
    app.account("acme", "owner").await;
    app.check("owner", "acme", "campaigns.view").await;
    let exported = scrape(app.metrics_addr.expect("ACCESS_METRICS_ADDR is set")).await;

    for (file, text) in [("dashboard.json", DASHBOARD), ("alerts.yaml", ALERTS)] {
        let named = metric_names(text);
        assert!(named.len() >= 10, "{file} names only {named:?}");
        let unknown: Vec<_> = named.iter().filter(|name| !exported.declares(name)).collect();
        assert!(
            unknown.is_empty(),
            "{file} names metrics the service does not export: {unknown:?}"
        );
    }
    // The words are read as metric names, not skipped: one that is not
    // exported is caught.
    assert!(!exported.declares("access_cache_hit_ratio"));
    assert!(metric_names("rate(access_cache_hit_ratio[5m])").contains("access_cache_hit_ratio"));
}
