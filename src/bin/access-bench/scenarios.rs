//! The calls measured: each scenario, its row title, what one measured cell
//! holds, and which checks a BatchAuthorize asks. `driver.rs` runs them.

use crate::plan::Key;
use crate::seed::Dataset;
use crate::stats::Sample;

/// One kind of call the benchmark measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// grpc.health.v1.Health/Check on a bare tonic server in the same
    /// process, serving nothing else: the machine's floor.
    BareHealth,
    /// grpc.health.v1.Health/Check: the service's own floor, through its
    /// whole layer stack.
    Health,
    /// Authorize over the shuffled keys, every key cached (warm).
    Authorize,
    /// Authorize on a second replica without an in-process layer: every
    /// answer from Redis (needs `--redis-url`).
    AuthorizeRedis,
    /// Authorize with full consistency: every answer read from the database.
    AuthorizeCold,
    /// BatchAuthorize of `batch_size` checks over `batch_pairs` distinct (user, account) pairs.
    Batch,
    /// GetEffectivePermissions over every membership.
    Effective,
    /// LookupResources of lists over every membership (the same cached
    /// facts as Authorize: warm).
    LookupResources,
    /// LookupMembers of the large account, the first page of 100.
    LookupMembers,
    /// LookupAccounts of the person who owns `roamer_accounts` accounts.
    LookupAccounts,
    /// ListUsers, the first page of 100 of the large account.
    ListFirst,
    /// ListUsers, a page of 100 deep in the large account.
    ListDeep,
    /// Invite then AcceptInvitation of a new person.
    InvitePair,
    /// UpdateMember one at a time, while Authorize runs at the cell's
    /// concurrency (the in-flight column counts that background load).
    AdminWrite,
}

impl Op {
    /// Every scenario, in the order they run.
    pub const ALL: [Op; 14] = [
        Op::BareHealth,
        Op::Health,
        Op::Authorize,
        Op::AuthorizeRedis,
        Op::AuthorizeCold,
        Op::Batch,
        Op::Effective,
        Op::LookupResources,
        Op::LookupMembers,
        Op::LookupAccounts,
        Op::ListFirst,
        Op::ListDeep,
        Op::InvitePair,
        Op::AdminWrite,
    ];

    /// The name used by `--scenarios` and in the JSON.
    pub fn key(self) -> &'static str {
        match self {
            Op::BareHealth => "bare-health",
            Op::Health => "health",
            Op::Authorize => "authorize",
            Op::AuthorizeRedis => "authorize-redis",
            Op::AuthorizeCold => "authorize-cold",
            Op::Batch => "batch",
            Op::Effective => "effective",
            Op::LookupResources => "lookup-resources",
            Op::LookupMembers => "lookup-members",
            Op::LookupAccounts => "lookup-accounts",
            Op::ListFirst => "list-first",
            Op::ListDeep => "list-deep",
            Op::InvitePair => "invite",
            Op::AdminWrite => "admin-write",
        }
    }

    /// The row title in the table.
    pub fn title(self, data: &Dataset, batch_size: usize, batch_pairs: usize) -> String {
        let pages = data.big_account_pages;
        match self {
            Op::BareHealth => "bare tonic grpc.health.v1.Health/Check (the floor)".to_owned(),
            Op::Health => "grpc.health.v1.Health/Check".to_owned(),
            // The allowed share is measured, and shown in the note.
            Op::Authorize => "Authorize (warm: in-process cache)".to_owned(),
            Op::AuthorizeRedis => "Authorize (Redis only: replica without in-process cache)".to_owned(),
            Op::AuthorizeCold => "Authorize (cold: fully consistent, database every call)".to_owned(),
            Op::Batch => format!("BatchAuthorize of {batch_size} ({batch_pairs} pairs)"),
            Op::Effective => "GetEffectivePermissions".to_owned(),
            Op::LookupResources => "LookupResources of lists (warm: in-process cache)".to_owned(),
            Op::LookupMembers => format!("LookupMembers page 1 of the {pages}-page account (100 a page)"),
            Op::LookupAccounts => format!("LookupAccounts of a person in {} accounts", data.roamer.1),
            Op::ListFirst => format!("ListUsers page 1 of {pages} (100 a page)"),
            Op::ListDeep => format!("ListUsers page {} of {pages}", data.deep_page.1),
            Op::InvitePair => "Invite + AcceptInvitation".to_owned(),
            Op::AdminWrite => {
                "UpdateMember, 1 at a time, beside Authorize (in flight: the Authorize load)".to_owned()
            }
        }
    }

    /// What one successful call counts as, beyond one request (for the note column).
    pub fn unit(self) -> Option<&'static str> {
        match self {
            Op::Batch => Some("checks"),
            Op::InvitePair => Some("writes"),
            Op::BareHealth
            | Op::Health
            | Op::Authorize
            | Op::AuthorizeRedis
            | Op::AuthorizeCold
            | Op::Effective
            | Op::LookupResources
            | Op::LookupMembers
            | Op::LookupAccounts
            | Op::ListFirst
            | Op::ListDeep
            | Op::AdminWrite => None,
        }
    }
}

/// One measured cell: a scenario at one concurrency.
pub struct Measurement {
    /// The scenario.
    pub op: Op,
    /// Requests in flight (for the admin write: Authorize calls beside it).
    pub concurrency: usize,
    /// What was recorded after the warm-up.
    pub sample: Sample,
    /// The measured window, in seconds: every rate divides by it.
    pub seconds: f64,
    /// For the admin write: the Authorize load that ran beside it.
    pub background: Option<Sample>,
    /// The cell's rate over the health check's measured just before it at
    /// the same concurrency, one per round (see `rounds`); empty when the
    /// ratio would compare unlike things (the admin write).
    pub ratios: Vec<f64>,
    /// The same against the bare tonic server's health check, measured just
    /// before (see `rounds`).
    pub bare_ratios: Vec<f64>,
    /// CPU seconds the process spent in the window (see `cpu`); `None` where unknown.
    pub cpu_seconds: Option<f64>,
    /// The health check cells measured just before this one, pooled (see
    /// `rounds`): latencies to compare with this cell's, taken at the same moments.
    pub floor: Option<Sample>,
}

impl Measurement {
    /// Successful calls per second; `None` when none finished in the window.
    pub fn rate(&self) -> Option<f64> {
        self.sample.rate(self.seconds)
    }

    /// CPU microseconds the process spent per finished call; `None` when
    /// unknown or when no call finished.
    pub fn cpu_us_per_call(&self) -> Option<f64> {
        let calls = self.sample.ok_count() + self.sample.error_count();
        self.cpu_seconds
            .filter(|_| calls > 0)
            .map(|seconds| seconds * 1e6 / calls as f64)
    }

    /// Units (checks, writes) per second, when the call carries several;
    /// `None` when no call finished in the window.
    pub fn unit_rate(&self) -> Option<f64> {
        self.rate().map(|_| self.sample.units as f64 / self.seconds)
    }
}
/// The checks of batch number `n`: `pairs` distinct (user, account) pairs,
/// taken in turn from `all` (one entry per pair, its checks alternating
/// allowed and denied where the pair allows both), each asking `size / pairs`
/// of its checks (the first `size % pairs` pairs one more) — as a UI page
/// asks about several members at once. A pair asked more checks than it has
/// repeats them. `pairs` must be between 1 and `all.len()`.
pub fn batch_checks(all: &[Vec<Key>], n: usize, size: usize, pairs: usize) -> Vec<&Key> {
    let mut checks = Vec::with_capacity(size);
    if all.is_empty() || pairs == 0 {
        return checks;
    }
    for p in 0..pairs {
        let keys = &all[(n * pairs + p) % all.len()];
        if keys.is_empty() {
            continue;
        }
        let count = size / pairs + usize::from(p < size % pairs);
        // Starting at n + p alternates allowed and denied from pair to pair
        // when each pair asks one check (`--batch-pairs` = batch size).
        checks.extend((0..count).map(|c| &keys[(n + p + c) % keys.len()]));
    }
    checks
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use std::time::Duration;

    use access_service::grpc::pb;

    use super::*;

    #[test]
    fn an_empty_cell_has_no_rate_and_no_latency() {
        let sample = Sample::new();
        assert_eq!(sample.rate(5.0), None);
        assert_eq!(sample.quantile_ms(0.5), None);
        assert_eq!(sample.max_ms(), None);
        let mut one = Sample::new();
        one.ok(Duration::from_millis(2));
        assert_eq!(one.rate(2.0), Some(0.5));
        assert!(one.quantile_ms(0.5).is_some_and(|ms| (ms - 2.0).abs() < 0.01));
    }

    /// `pairs` pairs of 16 checks each, alternating allowed and denied.
    fn pairs(count: usize) -> Vec<Vec<Key>> {
        (0..count)
            .map(|p| {
                (0..16)
                    .map(|c| Key {
                        request: pb::AuthorizeRequest {
                            user_id: format!("u{p}"),
                            account_id: format!("a{p}"),
                            permission: format!("perm{c}"),
                            ..Default::default()
                        },
                        allowed: c % 2 == 0,
                    })
                    .collect()
            })
            .collect()
    }

    fn distinct_pairs(checks: &[&Key]) -> usize {
        checks
            .iter()
            .map(|key| (&key.request.user_id, &key.request.account_id))
            .collect::<BTreeSet<_>>()
            .len()
    }

    #[test]
    fn a_batch_asks_the_chosen_number_of_pairs_several_distinct_checks_each() {
        let all = pairs(50);
        for n in 0..20 {
            let checks = batch_checks(&all, n, 100, 10);
            assert_eq!(checks.len(), 100);
            assert_eq!(distinct_pairs(&checks), 10);
            // 10 different checks per pair, half allowed.
            let distinct: BTreeSet<_> = checks
                .iter()
                .map(|key| (&key.request.user_id, &key.request.permission))
                .collect();
            assert_eq!(distinct.len(), 100);
            assert_eq!(checks.iter().filter(|key| key.allowed).count(), 50);
        }
        // Consecutive batches move on to other pairs.
        assert_ne!(
            batch_checks(&all, 0, 100, 10)[0].request.user_id,
            batch_checks(&all, 1, 100, 10)[0].request.user_id
        );
    }

    #[test]
    fn one_check_a_pair_is_the_worst_case_and_stays_half_allowed() {
        let all = pairs(500);
        let checks = batch_checks(&all, 3, 100, 100);
        assert_eq!(checks.len(), 100);
        assert_eq!(distinct_pairs(&checks), 100);
        assert_eq!(checks.iter().filter(|key| key.allowed).count(), 50);
    }

    #[test]
    fn an_uneven_split_still_fills_the_batch() {
        let all = pairs(20);
        let checks = batch_checks(&all, 0, 100, 7);
        assert_eq!(checks.len(), 100);
        assert_eq!(distinct_pairs(&checks), 7);
    }
}
