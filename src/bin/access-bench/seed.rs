//! The data set, seeded through the public API exactly as the platform
//! would: accounts with their owners, invitations accepted by their
//! invitees, custom roles, list scopes, a team sharing templates, and one
//! very large account.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use access_service::domain::permissions::{Permission, PermissionSet, builtin_role};
use access_service::grpc::pb;
use access_service::grpc::pb::access_service_client::AccessServiceClient;
use anyhow::Context;
use tokio::task::JoinSet;
use tonic::transport::Channel;

use crate::pairs::{plain_checks, scoped_list_checks, split};
use crate::stats::Progress;

/// Built-in roles handed out in turn to members, each with one permission
/// it grants and one it does not, so checks are half allowed, half denied.
/// `list_manager` is scoped: its denied check is a list outside its scope.
const ROLES: &[(&str, &str, &str)] = &[
    ("admin", "users.invite", "account.transfer"),
    ("account_manager", "users.remove", "account.close"),
    ("manager", "campaigns.send", "billing.view"),
    ("author", "campaigns.edit", "campaigns.send"),
    ("viewer", "reports.view", "campaigns.edit"),
    ("power_user", "billing.edit", "users.invite"),
    ("accountant", "billing.edit", "campaigns.view"),
    ("developer", "api_keys.manage", "lists.view"),
    ("marketer", "campaigns.send", "billing.view"),
    ("designer", "templates.edit", "templates.publish"),
    ("list_manager", "lists.edit", "lists.edit"),
    ("collaborator", "campaigns.edit", "campaigns.send"),
    ("watcher", "reports.export", "contacts.edit"),
];

/// The custom role some accounts define.
const CUSTOM_ROLE: &str = "campaign-editor";
/// Its permissions; its allowed and denied checks follow.
const CUSTOM_PERMISSIONS: &[&str] = &[
    "campaigns.view",
    "campaigns.edit",
    "campaigns.send",
    "reports.view",
];
const CUSTOM_ALLOWED: &str = "campaigns.send";
const CUSTOM_DENIED: &str = "billing.view";

/// Roles of the large account's members (its list shows a mix).
const BIG_ROLES: &[&str] = &["viewer", "author", "manager", "marketer", "designer"];

/// Templates the team parent shares with all its children.
const SHARED_TEMPLATES: usize = 5;

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
}

/// One check with the answer the seeded data should give.
#[derive(Clone)]
pub struct Key {
    /// The request.
    pub request: pb::AuthorizeRequest,
    /// Whether it should be allowed.
    pub allowed: bool,
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
}

/// The seeding plan: every id follows from the run prefix and an index.
struct Plan {
    run: String,
    sizes: Sizes,
}

impl Plan {
    fn account(&self, i: usize) -> String {
        format!("{}-a{i}", self.run)
    }
    fn user(&self, i: usize, j: usize) -> String {
        format!("{}-a{i}-u{j}", self.run)
    }
    fn big(&self) -> String {
        format!("{}-big", self.run)
    }
    fn big_owner(&self) -> String {
        format!("{}-big-owner", self.run)
    }
    fn big_member(&self, k: usize) -> String {
        format!("{}-big-m{k}", self.run)
    }
    fn team(&self) -> String {
        format!("{}-team", self.run)
    }
    fn boss(&self) -> String {
        format!("{}-team-boss", self.run)
    }
    fn child(&self, k: usize) -> String {
        format!("{}-team-c{k}", self.run)
    }
    fn child_owner(&self, k: usize) -> String {
        format!("{}-team-c{k}-owner", self.run)
    }
    fn template(&self, t: usize) -> String {
        format!("{}-tpl{t}", self.run)
    }
    fn has_custom_role(&self, i: usize) -> bool {
        self.sizes.custom_role_every > 0 && i.is_multiple_of(self.sizes.custom_role_every)
    }
    /// Member j (≥ 1) of account i: the role, and its (allowed, denied) permissions.
    fn member_role(&self, i: usize, j: usize) -> (&'static str, &'static str, &'static str) {
        if j == 1 && self.has_custom_role(i) {
            return (CUSTOM_ROLE, CUSTOM_ALLOWED, CUSTOM_DENIED);
        }
        ROLES[(i * 7 + j) % ROLES.len()]
    }
    /// The lists a scoped list manager of account i may touch.
    fn scoped_lists(i: usize) -> Vec<String> {
        vec![format!("l{i}-1"), format!("l{i}-2")]
    }
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
    client
        .create_account(pb::CreateAccountRequest {
            account_id: id.clone(),
            name: format!("Bench {id}"),
            owner: Some(person(owner)),
            parent_account_id: parent.0.to_owned(),
            actor_user_id: parent.1.to_owned(),
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
    let invited = client
        .invite(pb::InviteRequest {
            actor_user_id: actor.to_owned(),
            account_id: account.to_owned(),
            email: format!("{user}@bench.example"),
            role: role.to_owned(),
            scopes,
            ..Default::default()
        })
        .await?
        .into_inner();
    client
        .accept_invitation(pb::AcceptInvitationRequest {
            token: invited.token,
            user: Some(person(user)),
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
        }
    }

    /// Every check the data set answers, with the expected answer.
    fn keys(&self) -> Vec<Key> {
        let check = |user: String, account: String, permission: &str, resource: Option<pb::Resource>| {
            pb::AuthorizeRequest {
                user_id: user,
                account_id: account,
                permission: permission.to_owned(),
                resource,
                context: None,
                consistency: None,
            }
        };
        let list = |id: String| {
            Some(pb::Resource {
                r#type: pb::ResourceType::List as i32,
                id,
            })
        };
        let mut keys = Vec::new();
        let accounts = self.sizes.accounts;
        for i in 0..accounts {
            let account = self.account(i);
            // The owner: everything at home, nothing in the next account.
            keys.push(Key {
                request: check(self.user(i, 0), account.clone(), "account.close", None),
                allowed: true,
            });
            keys.push(Key {
                request: check(
                    self.user(i, 0),
                    self.account((i + 1) % accounts),
                    "campaigns.view",
                    None,
                ),
                allowed: accounts == 1,
            });
            for j in 1..self.sizes.members_per_account {
                let (role, allowed, denied) = self.member_role(i, j);
                let (on_allowed, on_denied) = if role == "list_manager" {
                    (list(format!("l{i}-1")), list(format!("l{i}-9")))
                } else {
                    (None, None)
                };
                keys.push(Key {
                    request: check(self.user(i, j), account.clone(), allowed, on_allowed),
                    allowed: true,
                });
                keys.push(Key {
                    request: check(self.user(i, j), account.clone(), denied, on_denied),
                    allowed: false,
                });
            }
        }
        for k in 0..self.sizes.team_children {
            let template = Some(pb::Resource {
                r#type: pb::ResourceType::Template as i32,
                id: self.template(k % SHARED_TEMPLATES),
            });
            // The parent owner acts as owner in the child; the child's own
            // owner may use the shared template but not edit it.
            keys.push(Key {
                request: check(self.boss(), self.child(k), "templates.view", template.clone()),
                allowed: true,
            });
            keys.push(Key {
                request: check(self.child_owner(k), self.child(k), "templates.edit", template),
                allowed: false,
            });
        }
        for k in self.sizes.admin_write_targets..self.sizes.big_account_members {
            let role = BIG_ROLES[k % BIG_ROLES.len()];
            let (allowed, denied) = match role {
                "viewer" => ("reports.view", "campaigns.edit"),
                "author" => ("campaigns.edit", "campaigns.send"),
                "manager" => ("campaigns.send", "billing.view"),
                "marketer" => ("lists.export", "billing.view"),
                _ => ("templates.lock", "templates.publish"),
            };
            let permission = if k.is_multiple_of(2) { allowed } else { denied };
            keys.push(Key {
                request: check(self.big_member(k), self.big(), permission, None),
                allowed: k.is_multiple_of(2),
            });
        }
        keys
    }

    /// Checks grouped by (user, account) pair (see [`Dataset::pairs`]); the
    /// expected answers follow the built-in roles' definitions, and the run
    /// checks a sample of them against the server before measuring.
    fn pair_checks(&self) -> Vec<Vec<Key>> {
        let mut pairs = Vec::new();
        let accounts = self.sizes.accounts;
        for i in 0..accounts {
            let account = self.account(i);
            // The owner holds everything at home and nothing next door.
            let all = Permission::all().collect::<Vec<_>>();
            pairs.push(plain_checks(&self.user(i, 0), &account, &all, &[], i));
            let next = self.account((i + 1) % accounts);
            let (home, away) = if accounts == 1 {
                (&all[..], &[][..])
            } else {
                (&[][..], &all[..])
            };
            pairs.push(plain_checks(&self.user(i, 0), &next, home, away, i));
            for j in 1..self.sizes.members_per_account {
                let user = self.user(i, j);
                let (role, _, _) = self.member_role(i, j);
                if role == "list_manager" {
                    pairs.push(scoped_list_checks(&user, &account, i));
                    continue;
                }
                let granted = if role == CUSTOM_ROLE {
                    let named: Vec<Permission> = CUSTOM_PERMISSIONS
                        .iter()
                        .filter_map(|name| Permission::lookup(name))
                        .collect();
                    PermissionSet::of(&named).with_implicit()
                } else {
                    builtin_role(role).map_or(PermissionSet::EMPTY, |r| r.permissions())
                };
                let (allowed, denied) = split(granted);
                pairs.push(plain_checks(&user, &account, &allowed, &denied, i + j));
            }
        }
        for k in self.sizes.admin_write_targets..self.sizes.big_account_members {
            let role = BIG_ROLES[k % BIG_ROLES.len()];
            let granted = builtin_role(role).map_or(PermissionSet::EMPTY, |r| r.permissions());
            let (allowed, denied) = split(granted);
            pairs.push(plain_checks(
                &self.big_member(k),
                &self.big(),
                &allowed,
                &denied,
                k,
            ));
        }
        pairs
    }

    /// Every seeded (user, account) membership.
    fn memberships(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        for i in 0..self.sizes.accounts {
            for j in 0..self.sizes.members_per_account {
                pairs.push((self.user(i, j), self.account(i)));
            }
        }
        for k in 0..self.sizes.team_children {
            pairs.push((self.boss(), self.child(k)));
            pairs.push((self.child_owner(k), self.child(k)));
        }
        for k in self.sizes.admin_write_targets..self.sizes.big_account_members {
            pairs.push((self.big_member(k), self.big()));
        }
        pairs
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
