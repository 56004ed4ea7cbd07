//! The calls measured, and the closed-loop driver that keeps a fixed number
//! of them in flight for a fixed time after a warm-up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use access_service::grpc::pb;
use access_service::grpc::pb::access_service_client::AccessServiceClient;
use tokio::task::JoinSet;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::seed::{Dataset, invite_and_accept};
use crate::stats::{Progress, Sample};

/// One kind of call the benchmark measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// grpc.health.v1.Health/Check: the floor every figure is compared with.
    Health,
    /// Authorize over the shuffled keys.
    Authorize,
    /// BatchAuthorize of `batch_size` consecutive keys.
    Batch,
    /// GetEffectivePermissions over every membership.
    Effective,
    /// ListUsers, the first page of 100 of the large account.
    ListFirst,
    /// ListUsers, a page of 100 deep in the large account.
    ListDeep,
    /// Invite then AcceptInvitation of a new person.
    InvitePair,
    /// UpdateMember one at a time, while Authorize runs at the given concurrency.
    AdminWrite,
}

impl Op {
    /// Every scenario, in the order they run.
    pub const ALL: [Op; 8] = [
        Op::Health,
        Op::Authorize,
        Op::Batch,
        Op::Effective,
        Op::ListFirst,
        Op::ListDeep,
        Op::InvitePair,
        Op::AdminWrite,
    ];

    /// The name used by `--scenarios` and in the JSON.
    pub fn key(self) -> &'static str {
        match self {
            Op::Health => "health",
            Op::Authorize => "authorize",
            Op::Batch => "batch",
            Op::Effective => "effective",
            Op::ListFirst => "list-first",
            Op::ListDeep => "list-deep",
            Op::InvitePair => "invite",
            Op::AdminWrite => "admin-write",
        }
    }

    /// The row title in the table.
    pub fn title(self, data: &Dataset, batch_size: usize) -> String {
        let pages = data.big_account_pages;
        match self {
            Op::Health => "grpc.health.v1.Health/Check".to_owned(),
            Op::Authorize => "Authorize (half allowed)".to_owned(),
            Op::Batch => format!("BatchAuthorize of {batch_size}"),
            Op::Effective => "GetEffectivePermissions".to_owned(),
            Op::ListFirst => format!("ListUsers page 1 of {pages} (100 a page)"),
            Op::ListDeep => format!("ListUsers page {} of {pages}", data.deep_page.1),
            Op::InvitePair => "Invite + AcceptInvitation".to_owned(),
            Op::AdminWrite => "UpdateMember while Authorize runs".to_owned(),
        }
    }

    /// What one successful call counts as, beyond one request (for the note column).
    pub fn unit(self) -> Option<&'static str> {
        match self {
            Op::Batch => Some("checks"),
            Op::InvitePair => Some("writes"),
            Op::Health | Op::Authorize | Op::Effective | Op::ListFirst | Op::ListDeep | Op::AdminWrite => {
                None
            }
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
    /// The measured window, in seconds.
    pub seconds: f64,
    /// For the admin write: the Authorize load that ran beside it.
    pub background: Option<Sample>,
}

impl Measurement {
    /// Successful calls per second.
    pub fn rate(&self) -> f64 {
        self.sample.ok_count() as f64 / self.seconds
    }

    /// Units (checks, writes) per second, when the call carries several.
    pub fn unit_rate(&self) -> f64 {
        self.sample.units as f64 / self.seconds
    }
}

/// Everything a worker needs, shared.
pub struct Load {
    /// One channel per HTTP/2 connection; workers take them in turn.
    pub channels: Vec<Channel>,
    /// The seeded data.
    pub data: Arc<Dataset>,
    /// Not recorded: lets connections, pools and caches settle.
    pub warmup: Duration,
    /// Recorded.
    pub duration: Duration,
    /// Checks in one BatchAuthorize.
    pub batch_size: usize,
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
    /// Measures `op` at `concurrency` in flight.
    pub async fn measure(self: &Arc<Self>, op: Op, concurrency: usize) -> Measurement {
        if op == Op::AdminWrite {
            // One writer at a time beside `concurrency` checks: how long a
            // write takes while the service is busy answering checks.
            self.progress
                .begin(format!("{} with {concurrency} checks in flight", op.key()));
            let (writes, checks) = tokio::join!(self.run(op, 1), self.run(Op::Authorize, concurrency));
            self.progress.end();
            return Measurement {
                op,
                concurrency,
                sample: writes,
                seconds: self.duration.as_secs_f64(),
                background: Some(checks),
            };
        }
        self.progress
            .begin(format!("{} at {concurrency} in flight", op.key()));
        let sample = self.run(op, concurrency).await;
        self.progress.end();
        Measurement {
            op,
            concurrency,
            sample,
            seconds: self.duration.as_secs_f64(),
            background: None,
        }
    }

    /// `concurrency` closed-loop workers, each starting its next call when
    /// the previous one answers; only calls started after the warm-up count.
    async fn run(self: &Arc<Self>, op: Op, concurrency: usize) -> Sample {
        let started = Instant::now();
        let recording = started + self.warmup;
        let end = recording + self.duration;
        let mut workers = JoinSet::new();
        for w in 0..concurrency {
            let load = Arc::clone(self);
            let channel = self.channels[w % self.channels.len()].clone();
            workers.spawn(async move {
                let mut clients = Clients {
                    access: AccessServiceClient::new(channel.clone()),
                    health: HealthClient::new(channel),
                };
                let mut sample = Sample::new();
                loop {
                    let n = load.counter.fetch_add(1, Ordering::Relaxed);
                    let begun = Instant::now();
                    if begun >= end {
                        break;
                    }
                    let result = load.call(op, &mut clients, n).await;
                    let elapsed = begun.elapsed();
                    load.progress.done.fetch_add(1, Ordering::Relaxed);
                    if result.is_err() {
                        load.progress.failed.fetch_add(1, Ordering::Relaxed);
                    }
                    if begun < recording {
                        continue;
                    }
                    match result {
                        Ok(outcome) => {
                            sample.ok(elapsed);
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
            Op::Health => {
                clients
                    .health
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await?;
                Ok(Outcome::one())
            }
            Op::Authorize => {
                let key = &data.keys[n % data.keys.len()];
                let answer = clients.access.authorize(key.request.clone()).await?.into_inner();
                Ok(Outcome {
                    units: 1,
                    allowed: Some(answer.allowed),
                })
            }
            Op::Batch => {
                let checks = (0..self.batch_size)
                    .map(|m| {
                        data.keys[(n * self.batch_size + m) % data.keys.len()]
                            .request
                            .clone()
                    })
                    .collect();
                let answer = clients
                    .access
                    .batch_authorize(pb::BatchAuthorizeRequest { checks })
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
