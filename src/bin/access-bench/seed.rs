//! The data set, seeded through the public API exactly as the platform
//! would: accounts with their owners, invitations accepted by their
//! invitees, custom roles, list scopes, a team sharing templates, and one
//! very large account.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use access_service::grpc::pb;
use access_service::grpc::pb::access_service_client::AccessServiceClient;
use anyhow::Context;
use tokio::task::JoinSet;
use tonic::transport::Channel;

use crate::driver::resending;
use crate::plan::{BIG_ROLES, CUSTOM_PERMISSIONS, CUSTOM_ROLE, Key, Plan, SHARED_TEMPLATES};
use crate::stats::Progress;

/// How large a data set to seed.
#[derive(Clone, Debug)]
pub struct Sizes {
    /// Regular accounts.
    pub accounts: usize,
    /// People per regular account, the owner included.
    pub members_per_account: usize,
    /// One regular account in this many defines a custom role and gives it to a member.
    pub custom_role_every: usize,
    /// Child accounts of the one team.
    pub team_children: usize,
    /// Members of the one large account (besides its owner).
    pub big_account_members: usize,
    /// Members of the large account kept out of the checks, for the admin-write loop to change.
    pub admin_write_targets: usize,
    /// Accounts owned by one person, for LookupAccounts.
    pub roamer_accounts: usize,
}

/// What was seeded, as the scenarios need it.
pub struct Dataset {
    /// Prefix of every id of this run, so runs against one database never collide.
    pub run: String,
    /// Checks over every seeded user, shuffled, half allowed and half denied.
    pub keys: Vec<Key>,
    /// Checks grouped by (user, account) pair, for BatchAuthorize: one entry
    /// per pair of the regular and the large accounts (shuffled), its checks
    /// of different permissions or resources alternating allowed and denied
    /// where the pair can be both.
    pub pairs: Vec<Vec<Key>>,
    /// (user, account) pairs of every seeded membership, shuffled.
    pub memberships: Vec<(String, String)>,
    /// (account, owner) of the regular accounts, for the invitation scenario.
    pub accounts: Vec<(String, String)>,
    /// The large account and its owner.
    pub big_account: (String, String),
    /// The person who owns many accounts, and how many.
    pub roamer: (String, usize),
    /// Members of the large account the admin-write loop changes.
    pub admin_write_targets: Vec<String>,
    /// A page token deep in the large account's user list, and that page's number.
    pub deep_page: (String, usize),
    /// Pages of the large account's user list at 100 a page.
    pub big_account_pages: usize,
    /// Requests the seeding made.
    pub seed_requests: usize,
    /// How long seeding took (the deep-page walk excluded).
    pub seed_time: Duration,
}

/// Small deterministic generator (splitmix64): the same data set and order
/// every run, without a dependency.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Shuffles in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// One unit of seeding work; the queue mixes them so the large account's
/// serialised writes overlap with the rest.
#[derive(Clone, Copy)]
enum Job {
    Account(usize),
    BigMember(usize),
    TeamChild(usize),
    RoamerAccount(usize),
}

/// A person with an email derived from the user id.
fn person(user: &str) -> pb::Person {
    pb::Person {
        user_id: user.to_owned(),
        email: format!("{user}@bench.example"),
        name: format!("Bench {user}"),
    }
}

fn list_scope(ids: Vec<String>) -> pb::Scope {
    pb::Scope {
        resource_type: pb::ResourceType::List as i32,
        resource_ids: ids,
    }
}

async fn create_account(
    client: &mut AccessServiceClient<Channel>,
    id: String,
    owner: &str,
    parent: (&str, &str),
) -> anyhow::Result<()> {
    let request = pb::CreateAccountRequest {
        account_id: id.clone(),
        name: format!("Bench {id}"),
        owner: Some(person(owner)),
        parent_account_id: parent.0.to_owned(),
        actor_user_id: parent.1.to_owned(),
    };
    resending(|| {
        let (mut client, request) = (client.clone(), request.clone());
        async move { client.create_account(request).await }
    })
    .await
    .with_context(|| format!("CreateAccount {id}"))?;
    Ok(())
}

/// Invites `user` into `account` as `role` and accepts as them: two requests.
pub async fn invite_and_accept(
    client: &mut AccessServiceClient<Channel>,
    actor: &str,
    account: &str,
    user: &str,
    role: &str,
    scopes: Vec<pb::Scope>,
) -> Result<(), tonic::Status> {
    let invite = pb::InviteRequest {
        actor_user_id: actor.to_owned(),
        account_id: account.to_owned(),
        email: format!("{user}@bench.example"),
        role: role.to_owned(),
        scopes,
        ..Default::default()
    };
    let invited = resending(|| {
        let (mut client, request) = (client.clone(), invite.clone());
        async move { client.invite(request).await }
    })
    .await?
    .into_inner();
    let accept = pb::AcceptInvitationRequest {
        token: invited.token,
        user: Some(person(user)),
    };
    resending(|| {
        let (mut client, request) = (client.clone(), accept.clone());
        async move { client.accept_invitation(request).await }
    })
    .await?;
    Ok(())
}

impl Plan {
    /// Runs one job; returns the requests it made.
    async fn run(&self, client: &mut AccessServiceClient<Channel>, job: Job) -> anyhow::Result<usize> {
        match job {
            Job::Account(i) => {
                let account = self.account(i);
                let owner = self.user(i, 0);
                create_account(client, account.clone(), &owner, ("", "")).await?;
                let mut requests = 1;
                if self.has_custom_role(i) {
                    client
                        .create_role(pb::CreateRoleRequest {
                            actor_user_id: owner.clone(),
                            account_id: account.clone(),
                            name: CUSTOM_ROLE.to_owned(),
                            description: "Campaigns end to end, nothing else".to_owned(),
                            permissions: CUSTOM_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect(),
                        })
                        .await
                        .with_context(|| format!("CreateRole in {account}"))?;
                    requests += 1;
                }
                for j in 1..self.sizes.members_per_account {
                    let (role, _, _) = self.member_role(i, j);
                    let scopes = if role == "list_manager" {
                        vec![list_scope(Self::scoped_lists(i))]
                    } else {
                        vec![]
                    };
                    let user = self.user(i, j);
                    invite_and_accept(client, &owner, &account, &user, role, scopes)
                        .await
                        .with_context(|| format!("invite {user} as {role}"))?;
                    requests += 2;
                }
                Ok(requests)
            }
            Job::BigMember(k) => {
                let user = self.big_member(k);
                let role = BIG_ROLES[k % BIG_ROLES.len()];
                invite_and_accept(client, &self.big_owner(), &self.big(), &user, role, vec![])
                    .await
                    .with_context(|| format!("invite {user} into the large account"))?;
                Ok(2)
            }
            Job::TeamChild(k) => {
                create_account(
                    client,
                    self.child(k),
                    &self.child_owner(k),
                    (&self.team(), &self.boss()),
                )
                .await?;
                Ok(1)
            }
            Job::RoamerAccount(k) => {
                create_account(client, self.roamer_account(k), &self.roamer(), ("", "")).await?;
                Ok(1)
            }
        }
    }
}

/// Seeds the data set with `concurrency` requests in flight over `channels`.
pub async fn seed(
    channels: &[Channel],
    sizes: Sizes,
    run: String,
    concurrency: usize,
    progress: &Arc<Progress>,
) -> anyhow::Result<Dataset> {
    let started = Instant::now();
    let plan = Arc::new(Plan { run, sizes });
    let mut client = AccessServiceClient::new(channels[0].clone());
    progress.begin("seeding".to_owned());

    // What the concurrent jobs need first: the large account and the team
    // parent with its shared templates (shared with all children, present
    // and future, so children created afterwards see them).
    create_account(&mut client, plan.big(), &plan.big_owner(), ("", "")).await?;
    create_account(&mut client, plan.team(), &plan.boss(), ("", "")).await?;
    let mut requests = 2;
    for t in 0..SHARED_TEMPLATES {
        client
            .share_template(pb::ShareTemplateRequest {
                actor_user_id: plan.boss(),
                account_id: plan.team(),
                template_id: plan.template(t),
                child_account_ids: vec![],
            })
            .await
            .context("ShareTemplate")?;
        requests += 1;
    }

    let mut jobs: Vec<Job> = (0..plan.sizes.accounts).map(Job::Account).collect();
    jobs.extend((0..plan.sizes.big_account_members).map(Job::BigMember));
    jobs.extend((0..plan.sizes.team_children).map(Job::TeamChild));
    jobs.extend((0..plan.sizes.roamer_accounts).map(Job::RoamerAccount));
    Rng::new(7).shuffle(&mut jobs);
    let jobs = Arc::new(jobs);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for w in 0..concurrency.max(1) {
        let (plan, jobs, next) = (Arc::clone(&plan), Arc::clone(&jobs), Arc::clone(&next));
        let mut client = AccessServiceClient::new(channels[w % channels.len()].clone());
        let progress = Arc::clone(progress);
        workers.spawn(async move {
            let mut requests = 0;
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(index) else {
                    return anyhow::Ok(requests);
                };
                let made = plan.run(&mut client, *job).await?;
                requests += made;
                progress.done.fetch_add(made as u64, Ordering::Relaxed);
            }
        });
    }
    while let Some(joined) = workers.join_next().await {
        requests += joined.context("a seeding worker panicked")??;
    }
    let seed_time = started.elapsed();
    progress.end();

    let (deep_page, big_account_pages) = walk_big_account(&mut client, &plan, progress).await?;
    let mut rng = Rng::new(42);
    let mut keys = plan.keys();
    rng.shuffle(&mut keys);
    let mut memberships = plan.memberships();
    rng.shuffle(&mut memberships);
    let mut pairs = plan.pair_checks();
    rng.shuffle(&mut pairs);
    Ok(Dataset {
        run: plan.run.clone(),
        keys,
        pairs,
        memberships,
        accounts: (0..plan.sizes.accounts)
            .map(|i| (plan.account(i), plan.user(i, 0)))
            .collect(),
        big_account: (plan.big(), plan.big_owner()),
        roamer: (plan.roamer(), plan.sizes.roamer_accounts),
        admin_write_targets: (0..plan.sizes.admin_write_targets.min(plan.sizes.big_account_members))
            .map(|k| plan.big_member(k))
            .collect(),
        deep_page,
        big_account_pages,
        seed_requests: requests,
        seed_time,
    })
}

/// Walks the large account's user list 100 at a time, returning the token of
/// a page nine tenths of the way down and the number of pages.
async fn walk_big_account(
    client: &mut AccessServiceClient<Channel>,
    plan: &Plan,
    progress: &Progress,
) -> anyhow::Result<((String, usize), usize)> {
    progress.begin("walking the large account's pages".to_owned());
    let mut tokens = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_users(pb::ListUsersRequest {
                actor_user_id: plan.big_owner(),
                account_id: plan.big(),
                page_size: 100,
                page_token: token,
                ..Default::default()
            })
            .await
            .context("ListUsers while walking the large account")?
            .into_inner();
        progress.done.fetch_add(1, Ordering::Relaxed);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
        tokens.push(token.clone());
    }
    progress.end();
    let pages = tokens.len() + 1;
    // tokens[n] opens page n + 2 (1-based); aim for page 0.9 × pages.
    let deep = (pages * 9 / 10)
        .saturating_sub(2)
        .min(tokens.len().saturating_sub(1));
    Ok(match tokens.get(deep) {
        Some(token) => ((token.clone(), deep + 2), pages),
        None => ((String::new(), 1), pages),
    })
}
