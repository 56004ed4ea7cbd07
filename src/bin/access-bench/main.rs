//! `access-bench`: the load generator. Seeds a realistic data set through the
//! public gRPC API, then measures every hot call at 1, 16 and 64 requests in
//! flight against the server (in-process by default, or `--addr`), and
//! prints a Markdown table (stdout), a JSON file and, with `--markdown`, the
//! latest-figures block of docs/benchmarks.md (see docs/benchmarks.md).

#![forbid(unsafe_code)]

mod cpu;
mod driver;
mod latest;
mod memory;
mod pairs;
mod plan;
mod report;
mod rounds;
mod scenarios;
mod seed;
mod server;
mod stats;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use serde_json::json;
use tonic::transport::Channel;

use crate::driver::Load;
use crate::scenarios::Op;
use crate::seed::Sizes;
use crate::stats::Progress;

/// mimalloc rather than the system's allocator: see docs/benchmarks.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Command-line options; every size has a default: the data set of docs/benchmarks.md.
#[derive(Debug, Parser)]
#[command(
    name = "access-bench",
    about = "Seeds AccessService through its API and measures its hot calls"
)]
struct Args {
    /// Measure a running server (host:port) instead of starting one in-process.
    #[arg(long, conflicts_with = "database_url")]
    addr: Option<String>,
    /// Database of the in-process server: mysql://user:pass@host:3306/db (created
    /// when missing) or a SQLite URL. Default: a fresh SQLite file in a temp dir.
    #[arg(long)]
    database_url: Option<String>,
    /// Redis for the in-process server (redis://127.0.0.1:6379): then a
    /// second replica without an in-process cache serves the Redis-only
    /// Authorize cell, and every write waits for its acknowledgement.
    #[arg(long, conflicts_with = "addr")]
    redis_url: Option<String>,
    /// Only measure the memory of this many cached permission sets in one
    /// process (e.g. 1000000), then exit.
    #[arg(long)]
    cache_memory_entries: Option<usize>,
    /// Largest database pool of the in-process server (MySQL).
    #[arg(long, default_value_t = access_service::config::DEFAULT_DB_MAX_CONNECTIONS)]
    db_max_connections: u32,
    /// Regular accounts to seed.
    #[arg(long, default_value_t = 10_000)]
    accounts: usize,
    /// People per regular account, the owner included.
    #[arg(long, default_value_t = 5)]
    members_per_account: usize,
    /// One regular account in this many defines a custom role (0: none).
    #[arg(long, default_value_t = 10)]
    custom_role_every: usize,
    /// Child accounts of the team (its parent shares 5 templates with them).
    #[arg(long, default_value_t = 20)]
    team_children: usize,
    /// Members of the one large account whose user list is paged.
    #[arg(long, default_value_t = 10_000)]
    big_account_members: usize,
    /// Accounts owned by one person, whose LookupAccounts is measured.
    #[arg(long, default_value_t = 100)]
    roamer_accounts: usize,
    /// Members of the large account the admin-write scenario changes (kept out of the checks).
    #[arg(long, default_value_t = 100)]
    admin_write_targets: usize,
    /// Seeding requests in flight.
    #[arg(long, default_value_t = 64)]
    seed_concurrency: usize,
    /// Requests in flight to measure at, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// HTTP/2 connections the requests are spread over.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Measured seconds per scenario and concurrency.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Times each cell is measured, each time right after a health check
    /// cell at the same concurrency; the table pools the rounds and gives
    /// the median ratio to those floors with its range.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Unrecorded seconds before each measurement.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Checks in one BatchAuthorize.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Distinct (user, account) pairs in one BatchAuthorize, each asked
    /// batch-size / N checks of different permissions or resources (as a UI
    /// page asks about several members); N = batch size puts every check on
    /// a different pair, the worst case.
    #[arg(long, default_value_t = 10)]
    batch_pairs: usize,
    /// Only these scenarios (health always runs, as the floor): authorize,
    /// authorize-redis (with --redis-url), authorize-cold, batch, effective,
    /// lookup-resources, lookup-members, lookup-accounts, list-first,
    /// list-deep, invite, admin-write.
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Where to write the JSON results.
    #[arg(long, default_value = "bench.json")]
    json: PathBuf,
    /// Also write the table, with the date, the machine and this command,
    /// into this Markdown file between its access-bench marker comments
    /// (docs/benchmarks.md), replacing the figures there.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Log filter for the in-process server (silent by default).
    #[arg(long)]
    server_log: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.duration > 0.0 && args.warmup >= 0.0,
        "--duration must be > 0"
    );
    anyhow::ensure!(args.connections > 0, "--connections must be > 0");
    anyhow::ensure!(args.rounds > 0, "--rounds must be > 0");
    anyhow::ensure!(
        args.batch_pairs >= 1 && args.batch_pairs <= args.batch_size,
        "--batch-pairs must be between 1 and --batch-size"
    );
    if let Some(entries) = args.cache_memory_entries {
        let report = memory::measure(entries)?;
        std::fs::write(&args.json, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write {}", args.json.display()))?;
        return Ok(());
    }
    let ops = selected_ops(&args.scenarios)?;
    let _telemetry = args
        .server_log
        .as_deref()
        .map(|filter| access_service::telemetry::init(filter, access_service::config::LogFormat::Text, None));

    let (addr, backend, server) = match &args.addr {
        Some(addr) => (addr.clone(), "external server".to_owned(), None),
        None => {
            let (addr, backend, server) = server::start(
                args.database_url.as_deref(),
                args.redis_url.as_deref(),
                args.db_max_connections,
            )
            .await?;
            (addr, backend, Some(server))
        }
    };
    let channels = server::connect(&addr, args.connections).await?;
    let replica_channels = match server.as_ref().and_then(|s| s.replica_addr.as_ref()) {
        Some(replica) => server::connect(replica, args.connections).await?,
        None => Vec::new(),
    };
    // The floor: a tonic server serving grpc.health.v1 and nothing else, in
    // this process, reached over as many connections as the service.
    let bare = server::start_bare_health().await?;
    let bare_channels = server::connect(&bare.addr, args.connections).await?;
    let progress = Progress::start();

    let sizes = Sizes {
        accounts: args.accounts,
        members_per_account: args.members_per_account.max(1),
        custom_role_every: args.custom_role_every,
        team_children: args.team_children,
        big_account_members: args.big_account_members,
        admin_write_targets: args.admin_write_targets.min(args.big_account_members),
        roamer_accounts: args.roamer_accounts,
    };
    // A prefix per run: seeding an existing server or database never collides.
    let run = format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    eprintln!("seeding {sizes:?} on {backend} at {addr} as run {run}");
    let data = seed::seed(&channels, sizes.clone(), run, args.seed_concurrency, &progress).await?;
    let seed_secs = data.seed_time.as_secs_f64();
    eprintln!(
        "seeded in {seed_secs:.1} s: {} requests ({:.0}/s); {} checks, {} memberships, large account {} pages",
        data.seed_requests,
        data.seed_requests as f64 / seed_secs,
        data.keys.len(),
        data.memberships.len(),
        data.big_account_pages,
    );
    anyhow::ensure!(
        !data.keys.is_empty(),
        "the data set has no checks: seed at least one account"
    );
    anyhow::ensure!(
        data.pairs.len() >= args.batch_pairs,
        "--batch-pairs {} is more than the {} (user, account) pairs seeded",
        args.batch_pairs,
        data.pairs.len()
    );
    let verified = verify_keys(&channels[0], &data, args.batch_size, args.batch_pairs).await?;

    let data = Arc::new(data);
    let load = Arc::new(Load {
        channels,
        replica_channels,
        bare_channels,
        data: Arc::clone(&data),
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.duration),
        batch_size: args.batch_size,
        batch_pairs: args.batch_pairs,
        progress: Arc::clone(&progress),
        counter: AtomicU64::new(0),
        writes: AtomicU64::new(0),
    });
    let mut results = Vec::new();
    for op in ops {
        if op == Op::AdminWrite && data.admin_write_targets.is_empty() {
            continue;
        }
        if op == Op::AuthorizeRedis && load.replica_channels.is_empty() {
            continue;
        }
        if op == Op::Authorize {
            load.prewarm(&load.channels).await.context("warming the cache")?;
        }
        for &concurrency in &args.concurrency {
            results.push(rounds::measure(&load, op, concurrency.max(1), args.rounds).await);
        }
    }
    progress.stop();

    let titles = |op: Op| op.title(&data, args.batch_size, args.batch_pairs);
    let table = report::markdown(&results, &titles);
    let info = report::RunInfo {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        backend,
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        in_process: server.is_some(),
        data: json!({
            "sizes": {
                "accounts": sizes.accounts,
                "members_per_account": sizes.members_per_account,
                "custom_role_every": sizes.custom_role_every,
                "team_children": sizes.team_children,
                "big_account_members": sizes.big_account_members,
                "roamer_accounts": sizes.roamer_accounts,
            },
            "checks": data.keys.len(),
            "batch_pairs": data.pairs.len(),
            "verification": {
                "checked": verified.checked,
                "mismatches": verified.mismatches,
            },
            "memberships": data.memberships.len(),
            "big_account_pages": data.big_account_pages,
            "deep_page": data.deep_page.1,
            "seed_requests": data.seed_requests,
            "seed_seconds": seed_secs,
            "seed_concurrency": args.seed_concurrency,
        }),
        warmup_secs: args.warmup,
        duration_secs: args.duration,
        rounds: args.rounds.max(1),
        connections: args.connections,
    };
    let json = report::json(&info, &results, &titles);
    std::fs::write(&args.json, serde_json::to_string_pretty(&json)? + "\n")
        .with_context(|| format!("cannot write {}", args.json.display()))?;
    println!("{table}");
    eprintln!("JSON written to {}", args.json.display());
    if let Some(path) = &args.markdown {
        let latest = latest::Latest {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            machine: format!(
                "{}; {}",
                latest::machine(info.cores),
                if info.in_process {
                    "the server in the benchmark's process, sharing its cores with the load generator"
                } else {
                    "the load generator only (the server at --addr)"
                }
            ),
            backend: info.backend.clone(),
            data_set: format!(
                "{} accounts of {} people (a custom role in one of {}), a team of {} children, \
                 one account of {} members, one person owning {} accounts; seeded in {:.1} min \
                 ({} requests, {:.0}/s)",
                sizes.accounts,
                sizes.members_per_account,
                sizes.custom_role_every,
                sizes.team_children,
                sizes.big_account_members,
                sizes.roamer_accounts,
                seed_secs / 60.0,
                data.seed_requests,
                data.seed_requests as f64 / seed_secs,
            ),
            cells: format!(
                "{} of {} s, each right after a health check cell at the same concurrency, \
                 after {} s of warm-up; {} HTTP/2 connections",
                if info.rounds == 1 {
                    "1 round".to_owned()
                } else {
                    format!("{} rounds", info.rounds)
                },
                info.duration_secs,
                info.warmup_secs,
                info.connections
            ),
            command: latest::command_line(std::env::args()),
            table: table.clone(),
        };
        latest::write(path, &latest)?;
        eprintln!("latest figures written to {}", path.display());
    }

    if let Some(server) = server {
        server::stop(server).await;
    }
    Ok(())
}

/// The scenarios asked for, health first.
fn selected_ops(names: &[String]) -> anyhow::Result<Vec<Op>> {
    if names.is_empty() {
        return Ok(Op::ALL.to_vec());
    }
    for name in names {
        anyhow::ensure!(
            Op::ALL.iter().any(|op| op.key() == name),
            "unknown scenario '{name}'; known: {}",
            Op::ALL.map(Op::key).join(", ")
        );
    }
    Ok(Op::ALL
        .into_iter()
        .filter(|op| matches!(op, Op::BareHealth | Op::Health) || names.iter().any(|name| name == op.key()))
        .collect())
}

/// What the check of the data set found.
struct Verified {
    /// Checks compared with their expected answers.
    checked: usize,
    /// Checks answered otherwise (always 0 once the run goes on).
    mismatches: usize,
}

/// Checks that a sample of keys, single and in the batches the benchmark
/// sends, get the expected answers, so "half allowed" is true of the data
/// and not only of the intention. Any wrong answer stops the run: figures
/// measured on wrong answers are worthless.
async fn verify_keys(
    channel: &Channel,
    data: &seed::Dataset,
    batch_size: usize,
    batch_pairs: usize,
) -> anyhow::Result<Verified> {
    let mut client =
        access_service::grpc::pb::access_service_client::AccessServiceClient::new(channel.clone());
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for key in data.keys.iter().take(200) {
        let answer = client
            .authorize(key.request.clone())
            .await
            .context("Authorize while verifying the data set")?
            .into_inner();
        checked += 1;
        if answer.allowed != key.allowed {
            mismatches.push(format!(
                "{:?}: allowed={} ({:?}), expected {}",
                key.request, answer.allowed, answer.reason, key.allowed
            ));
        }
    }
    for n in 0..4 {
        let keys = scenarios::batch_checks(&data.pairs, n, batch_size, batch_pairs);
        let answer = client
            .batch_authorize(access_service::grpc::pb::BatchAuthorizeRequest {
                checks: keys.iter().map(|key| key.request.clone()).collect(),
                consistency: None,
            })
            .await
            .context("BatchAuthorize while verifying the data set")?
            .into_inner();
        anyhow::ensure!(
            answer.results.len() == keys.len(),
            "BatchAuthorize answered {} of {} checks",
            answer.results.len(),
            keys.len()
        );
        for (key, result) in keys.iter().zip(&answer.results) {
            checked += 1;
            if result.allowed != key.allowed {
                mismatches.push(format!(
                    "batch {:?}: allowed={} ({:?}), expected {}",
                    key.request, result.allowed, result.reason, key.allowed
                ));
            }
        }
    }
    let allowed = data.keys.iter().filter(|key| key.allowed).count();
    eprintln!(
        "data set checked: {} of {checked} sampled checks answered unexpectedly; {allowed} of {} keys allowed",
        mismatches.len(),
        data.keys.len()
    );
    if let Some(first) = mismatches.first() {
        anyhow::bail!(
            "{} of {checked} sampled checks got an unexpected answer, so the figures would measure wrong answers; the first: {first}",
            mismatches.len()
        );
    }
    Ok(Verified {
        checked,
        mismatches: mismatches.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_always_runs_first_and_unknown_scenarios_are_refused() {
        let ops = selected_ops(&["batch".to_owned(), "authorize".to_owned()]).unwrap();
        assert_eq!(ops, vec![Op::BareHealth, Op::Health, Op::Authorize, Op::Batch]);
        assert_eq!(selected_ops(&[]).unwrap(), Op::ALL.to_vec());
        assert!(selected_ops(&["authorise".to_owned()]).is_err());
    }

    #[test]
    fn the_shuffle_keeps_every_item() {
        let mut items: Vec<u32> = (0..1000).collect();
        seed::Rng::new(42).shuffle(&mut items);
        assert_ne!(items, (0..1000).collect::<Vec<_>>());
        items.sort_unstable();
        assert_eq!(items, (0..1000).collect::<Vec<_>>());
    }
}
