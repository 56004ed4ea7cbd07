//! `--cache-memory-entries N`: how much memory N cached permission sets take
//! in one process (the target: 1,000,000 sets in at most 1 GiB, see
//! docs/benchmarks.md), measured as the growth of the resident set while the
//! in-process cache fills.

use std::sync::Arc;
use std::time::Instant;

use access_service::cache::{Cache, CacheSettings, LeaseSettings};
use access_service::domain::ids::{AccountId, ResourceId, UserId};
use access_service::domain::model::{
    AccessFacts, AccountFacts, AccountState, MemberAccess, MembershipStatus, ResourceType, Scopes,
};
use access_service::domain::permissions::builtin_role;
use access_service::storage::SeaStore;
use serde_json::json;

/// Resident set size of this process, from /proc (Linux).
fn resident_bytes() -> anyhow::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("unexpected /proc/self/statm"))?
        .parse()?;
    Ok(pages * 4096)
}

/// Facts as a typical member's: a built-in role, every tenth one scoped to two lists.
fn facts(i: usize) -> AccessFacts {
    let role = ["admin", "viewer", "author", "list_manager", "manager"][i % 5];
    let mut scopes = Scopes::default();
    if i % 10 == 3 {
        scopes.insert(ResourceType::List, ResourceId::from_trusted(format!("list-{i}")));
        scopes.insert(
            ResourceType::List,
            ResourceId::from_trusted(format!("list-{}", i + 1)),
        );
    }
    AccessFacts {
        revision: 7,
        account: Some(AccountFacts {
            parent_id: None,
            parent_revision: None,
            shared_templates: Vec::new(),
            shared_suppression_lists: Vec::new(),
            state: AccountState::Open,
            require_two_factor: false,
        }),
        membership: Some(MemberAccess {
            role: role.to_owned(),
            is_owner: false,
            status: MembershipStatus::Active,
            permissions: builtin_role(role).map(|r| r.permissions()).unwrap_or_default(),
            scopes,
            ends: Default::default(),
        }),
        owned_parent_state: None,
    }
}

/// Fills an in-process cache with `entries` sets and reports the memory taken.
pub fn measure(entries: usize) -> anyhow::Result<serde_json::Value> {
    // A store never read: the entries are primed, not read through.
    let unread = Arc::new(SeaStore::new(sea_orm::DatabaseConnection::default()));
    let cache = Cache::in_process(
        unread,
        &CacheSettings {
            // Room for all of them: this measures memory, not eviction.
            local_max_bytes: 64 * 1024 * 1024 * 1024,
            ttl: std::time::Duration::from_secs(3600),
            leases: LeaseSettings {
                term: std::time::Duration::from_secs(1),
                ack_timeout: std::time::Duration::from_millis(250),
                max_clock_skew_ms: 2_000,
            },
            namespace: "bench".to_owned(),
        },
    );
    let before = resident_bytes()?;
    let started = Instant::now();
    for i in 0..entries {
        // 5 members an account, as the default data set.
        let account = AccountId::from_trusted(format!("acct-{:07}", i / 5));
        let user = UserId::from_trusted(format!("user-{i:08}"));
        cache.prime(&account, &user, facts(i));
    }
    let (held, estimated) = cache.local_size();
    let after = resident_bytes()?;
    anyhow::ensure!(
        held as usize == entries,
        "the cache holds {held} of {entries} entries"
    );
    let grown = after.saturating_sub(before);
    let per_entry = grown as f64 / entries.max(1) as f64;
    println!(
        "| cached permission sets | RSS growth | bytes per set | cache's own estimate |\n|---|---|---|---|\n| {entries} | {:.0} MiB | {per_entry:.0} | {:.0} MiB |",
        grown as f64 / 1048576.0,
        estimated as f64 / 1048576.0
    );
    eprintln!("filled in {:.1} s", started.elapsed().as_secs_f64());
    Ok(json!({
        "entries": entries,
        "rss_growth_bytes": grown,
        "bytes_per_entry": per_entry,
        "estimated_bytes": estimated,
    }))
}
