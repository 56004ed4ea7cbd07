//! The closed-loop driver: keeps a fixed number of calls in flight for a
//! fixed time after a warm-up, and records those that finish in the window.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use access_service::grpc::pb::access_service_client::AccessServiceClient;
use access_service::grpc::{never_sent, pb};
use tokio::task::JoinSet;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::cpu;
use crate::scenarios::{Measurement, Op, batch_checks};
use crate::seed::{Dataset, invite_and_accept};
use crate::stats::{Progress, Sample};

/// How long the run waits, after the measured window, for calls still in
/// flight before abandoning them: the next cell should not start while the
/// server still works on this one, but a very slow call must not hold the run.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// Where a call's finishing instant falls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Before the window: warm-up, not recorded.
    WarmUp,
    /// Inside the window: recorded, latency and status.
    Measured,
    /// After the window: counted as late, not recorded.
    Late,
}

/// The measured window of one cell. A call belongs to the window in which
/// it FINISHES: a call started in the warm-up that ends inside the window
/// counts, one started inside that ends after it does not, so slow calls
/// are neither lost at the start nor over-counted at the end, and the rate
/// divides calls finished in the window by the window's length.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Recording starts (the warm-up ends).
    pub start: Instant,
    /// Recording ends; no call is started from here on.
    pub end: Instant,
}

impl Window {
    /// A window opening after `warmup` from `now` and lasting `duration`.
    pub fn new(now: Instant, warmup: Duration, duration: Duration) -> Self {
        let start = now + warmup;
        Self {
            start,
            end: start + duration,
        }
    }

    /// Where a call that finished at `finished` belongs.
    pub fn phase(&self, finished: Instant) -> Phase {
        if finished < self.start {
            Phase::WarmUp
        } else if finished < self.end {
            Phase::Measured
        } else {
            Phase::Late
        }
    }

    /// The window's length in seconds.
    pub fn seconds(&self) -> f64 {
        (self.end - self.start).as_secs_f64()
    }
}
/// Everything a worker needs, shared.
pub struct Load {
    /// One channel per HTTP/2 connection; workers take them in turn.
    pub channels: Vec<Channel>,
    /// Channels to the second replica (Redis only), when there is one.
    pub replica_channels: Vec<Channel>,
    /// Connections to the bare tonic health server (the floor), as many as `channels`.
    pub bare_channels: Vec<Channel>,
    /// The seeded data.
    pub data: Arc<Dataset>,
    /// Not recorded: lets connections, pools and caches settle.
    pub warmup: Duration,
    /// Recorded.
    pub duration: Duration,
    /// Checks in one BatchAuthorize.
    pub batch_size: usize,
    /// Distinct (user, account) pairs in one BatchAuthorize.
    pub batch_pairs: usize,
    /// The progress line.
    pub progress: Arc<Progress>,
    /// Call numbers, so consecutive calls spread over keys and invitations never repeat.
    pub counter: AtomicU64,
    /// Admin writes made, counted apart so the writer walks its targets in order.
    pub writes: AtomicU64,
}

/// What one call produced.
struct Outcome {
    units: u64,
    allowed: Option<bool>,
}

impl Outcome {
    fn one() -> Self {
        Self {
            units: 1,
            allowed: None,
        }
    }
}

/// The clients one worker owns.
struct Clients {
    access: AccessServiceClient<Channel>,
    health: HealthClient<Channel>,
}

impl Load {
    /// Asks every key once, in batches, so the Authorize cells that follow
    /// measure the warm path rather than the first read of each key.
    pub async fn prewarm(&self, channels: &[Channel]) -> Result<(), tonic::Status> {
        for (i, keys) in self.data.keys.chunks(100).enumerate() {
            let mut client = AccessServiceClient::new(channels[i % channels.len()].clone());
            client
                .batch_authorize(pb::BatchAuthorizeRequest {
                    checks: keys.iter().map(|key| key.request.clone()).collect(),
                    consistency: None,
                })
                .await?;
        }
        Ok(())
    }

    /// Measures `op` at `concurrency` in flight.
    pub async fn measure(self: &Arc<Self>, op: Op, concurrency: usize) -> Measurement {
        let window = Window::new(Instant::now(), self.warmup, self.duration);
        let cpu = tokio::spawn(cpu::during(window));
        if op == Op::AdminWrite {
            // One writer at a time beside `concurrency` checks: how long a
            // write takes while the service is busy answering checks. Both
            // share one window, so the background rate is over the same time.
            self.progress
                .begin(format!("{} with {concurrency} checks in flight", op.key()));
            let (writes, checks) = tokio::join!(
                self.run(op, 1, window),
                self.run(Op::Authorize, concurrency, window)
            );
            self.progress.end();
            return Measurement {
                op,
                concurrency,
                sample: writes,
                seconds: window.seconds(),
                background: Some(checks),
                ratios: Vec::new(),
                bare_ratios: Vec::new(),
                // The window's CPU went to the writes and the checks
                // beside them: per write it would mean nothing.
                cpu_seconds: {
                    cpu.abort();
                    None
                },
                floor: None,
            };
        }
        self.progress
            .begin(format!("{} at {concurrency} in flight", op.key()));
        let sample = self.run(op, concurrency, window).await;
        self.progress.end();
        Measurement {
            op,
            concurrency,
            sample,
            seconds: window.seconds(),
            background: None,
            ratios: Vec::new(),
            bare_ratios: Vec::new(),
            cpu_seconds: cpu.await.ok().flatten(),
            floor: None,
        }
    }

    /// `concurrency` closed-loop workers, each starting its next call when
    /// the previous one answers, until the window ends; a call is recorded
    /// when it finishes inside the window (see [`Window`]). A call still in
    /// flight [`DRAIN_LIMIT`] after the window is abandoned.
    async fn run(self: &Arc<Self>, op: Op, concurrency: usize, window: Window) -> Sample {
        let give_up = tokio::time::Instant::from_std(window.end + DRAIN_LIMIT);
        let mut workers = JoinSet::new();
        let channels = if op == Op::AuthorizeRedis && !self.replica_channels.is_empty() {
            &self.replica_channels
        } else if op == Op::BareHealth {
            &self.bare_channels
        } else {
            &self.channels
        };
        for w in 0..concurrency {
            let load = Arc::clone(self);
            let channel = channels[w % channels.len()].clone();
            workers.spawn(async move {
                let mut clients = Clients {
                    access: AccessServiceClient::new(channel.clone()),
                    health: HealthClient::new(channel),
                };
                let mut sample = Sample::new();
                loop {
                    let begun = Instant::now();
                    if begun >= window.end {
                        break;
                    }
                    let n = load.counter.fetch_add(1, Ordering::Relaxed);
                    let call = async {
                        let mut resent = 0;
                        loop {
                            match load.call(op, &mut clients, n).await {
                                Err(status) if resent < MAX_RESENDS && never_sent(&status) => resent += 1,
                                result => return (result, resent),
                            }
                        }
                    };
                    let Ok((result, resent)) = tokio::time::timeout_at(give_up, call).await else {
                        // Dropping the call cancels its stream.
                        sample.abandoned += 1;
                        break;
                    };
                    let finished = Instant::now();
                    load.progress.done.fetch_add(1, Ordering::Relaxed);
                    if result.is_err() {
                        load.progress.failed.fetch_add(1, Ordering::Relaxed);
                    }
                    match window.phase(finished) {
                        Phase::WarmUp => continue,
                        Phase::Late => {
                            sample.late += 1;
                            break;
                        }
                        Phase::Measured => {}
                    }
                    sample.resent += u64::from(resent > 0);
                    match result {
                        Ok(outcome) => {
                            sample.ok(finished - begun);
                            sample.units += outcome.units;
                            match outcome.allowed {
                                Some(true) => sample.allowed += 1,
                                Some(false) => sample.denied += 1,
                                None => {}
                            }
                        }
                        Err(status) => sample.error(status.code()),
                    }
                }
                sample
            });
        }
        let mut total = Sample::new();
        while let Some(joined) = workers.join_next().await {
            match joined {
                Ok(sample) => total.merge(&sample),
                Err(err) => eprintln!("\na load worker failed: {err}"),
            }
        }
        total
    }

    /// One call of `op`; `n` picks the key, page or new person.
    async fn call(&self, op: Op, clients: &mut Clients, n: u64) -> Result<Outcome, tonic::Status> {
        let data = &self.data;
        let n = n as usize;
        match op {
            // The same call on either server: the worker's channels say which.
            Op::BareHealth | Op::Health => {
                clients
                    .health
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await?;
                Ok(Outcome::one())
            }
            Op::Authorize | Op::AuthorizeRedis | Op::AuthorizeCold => {
                let key = &data.keys[n % data.keys.len()];
                let mut request = key.request.clone();
                if op == Op::AuthorizeCold {
                    request.consistency = Some(pb::Consistency {
                        requirement: Some(pb::consistency::Requirement::FullyConsistent(true)),
                    });
                }
                let answer = clients.access.authorize(request).await?.into_inner();
                Ok(Outcome {
                    units: 1,
                    allowed: Some(answer.allowed),
                })
            }
            Op::Batch => {
                let checks = batch_checks(&data.pairs, n, self.batch_size, self.batch_pairs)
                    .into_iter()
                    .map(|key| key.request.clone())
                    .collect();
                let answer = clients
                    .access
                    .batch_authorize(pb::BatchAuthorizeRequest {
                        checks,
                        consistency: None,
                    })
                    .await?
                    .into_inner();
                Ok(Outcome {
                    units: answer.results.len() as u64,
                    allowed: None,
                })
            }
            Op::Effective => {
                let (user, account) = &data.memberships[n % data.memberships.len()];
                clients
                    .access
                    .get_effective_permissions(pb::GetEffectivePermissionsRequest {
                        user_id: user.clone(),
                        account_id: account.clone(),
                        context: None,
                        consistency: None,
                    })
                    .await?;
                Ok(Outcome::one())
            }
            Op::LookupResources => {
                let (user, account) = &data.memberships[n % data.memberships.len()];
                clients
                    .access
                    .lookup_resources(pb::LookupResourcesRequest {
                        user_id: user.clone(),
                        account_id: account.clone(),
                        permission: "lists.edit".to_owned(),
                        resource_type: pb::ResourceType::List.into(),
                        ..Default::default()
                    })
                    .await?;
                Ok(Outcome::one())
            }
            Op::LookupMembers => {
                let (account, _) = &data.big_account;
                clients
                    .access
                    .lookup_members(pb::LookupMembersRequest {
                        account_id: account.clone(),
                        permission: "campaigns.view".to_owned(),
                        page_size: 100,
                        ..Default::default()
                    })
                    .await?;
                Ok(Outcome::one())
            }
            Op::LookupAccounts => {
                clients
                    .access
                    .lookup_accounts(pb::LookupAccountsRequest {
                        user_id: data.roamer.0.clone(),
                        permission: "campaigns.send".to_owned(),
                        page_size: 1000,
                        ..Default::default()
                    })
                    .await?;
                Ok(Outcome::one())
            }
            Op::ListFirst | Op::ListDeep => {
                let (account, owner) = &data.big_account;
                let page_token = if op == Op::ListDeep {
                    data.deep_page.0.clone()
                } else {
                    String::new()
                };
                clients
                    .access
                    .list_users(pb::ListUsersRequest {
                        actor_user_id: owner.clone(),
                        account_id: account.clone(),
                        page_size: 100,
                        page_token,
                        ..Default::default()
                    })
                    .await?;
                Ok(Outcome::one())
            }
            Op::InvitePair => {
                // Spread over the regular accounts: writes to one account are
                // serialised by its row lock, as in production.
                let (account, owner) = data
                    .accounts
                    .get(n % data.accounts.len().max(1))
                    .map_or((&data.big_account.0, &data.big_account.1), |(account, owner)| {
                        (account, owner)
                    });
                let user = format!("{}-w{n}", data.run);
                invite_and_accept(&mut clients.access, owner, account, &user, "viewer", vec![]).await?;
                Ok(Outcome {
                    units: 2,
                    allowed: None,
                })
            }
            Op::AdminWrite => {
                let targets = &data.admin_write_targets;
                let n = self.writes.fetch_add(1, Ordering::Relaxed) as usize;
                let user = &targets[n % targets.len()];
                // Alternate passes so every call really changes the role.
                let role = if (n / targets.len()).is_multiple_of(2) {
                    "collaborator"
                } else {
                    "watcher"
                };
                let (account, owner) = &data.big_account;
                clients
                    .access
                    .update_member(pb::UpdateMemberRequest {
                        actor_user_id: owner.clone(),
                        account_id: account.clone(),
                        user_id: user.clone(),
                        role: role.to_owned(),
                        ..Default::default()
                    })
                    .await?;
                Ok(Outcome::one())
            }
        }
    }
}

/// How many times one call is sent again when the server never saw it.
const MAX_RESENDS: u32 = 3;

/// Runs `call` again while it fails without the server having seen it (see
/// [`never_sent`]), at most [`MAX_RESENDS`] times: for the seeding's writes,
/// which a GOAWAY may meet like any other call.
pub async fn resending<T, F, Fut>(mut call: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    let mut resent = 0;
    loop {
        match call().await {
            Err(status) if resent < MAX_RESENDS && never_sent(&status) => resent += 1,
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_belongs_to_the_window_in_which_it_finishes() {
        let t0 = Instant::now();
        let window = Window::new(t0, Duration::from_secs(1), Duration::from_secs(5));
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // Started in the warm-up, finished in it: not recorded.
        assert_eq!(window.phase(at(900)), Phase::WarmUp);
        // Started in the warm-up, finished in the window: recorded.
        assert_eq!(window.phase(at(1_000)), Phase::Measured);
        assert_eq!(window.phase(at(5_999)), Phase::Measured);
        // Started in the window, finished after it: late, not recorded.
        assert_eq!(window.phase(at(6_000)), Phase::Late);
        assert_eq!(window.phase(at(60_000)), Phase::Late);
        assert!((window.seconds() - 5.0).abs() < 1e-9);
    }
}
