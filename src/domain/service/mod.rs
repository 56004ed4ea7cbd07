//! The use cases: every rule that needs the store lives here, one file per area.

mod access_requests;
mod activity;
mod invitations;
mod members;
mod roles;

pub use access_requests::{ListAccessRequests, RequestAccess};
pub use activity::ListActivity;
pub use invitations::{
    AcceptInvitation, Accepted, Invite, InviteTarget, IssuedInvitations, ListInvitations, UpdateInvitation,
};
pub use members::{ListAccounts, UpdateMember};
pub use roles::{CreateRole, UpdateRole};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::domain::decision::{self, shared_template_parent};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{AccountId, ResourceId, UserId};
use crate::domain::model::{
    AccessFacts, Account, AccountLimits, AccountState, ActivityEntry, Check, Decision, EffectivePermissions,
    MemberRow, MemberRowStatus, Person, Reason, Scopes, SharedTemplate,
};
use crate::domain::page::PageRequest;
use crate::domain::permissions::{OWNER_ROLE, Permission};
use crate::domain::ports::{NewMembership, Reads, Store, Transaction};

/// Settings the use cases depend on.
#[derive(Clone, Debug)]
pub struct DomainSettings {
    /// How long an invitation token stays valid.
    pub invitation_ttl: Duration,
    /// Most checks one BatchAuthorize may carry.
    pub max_batch_checks: usize,
}

/// Creates an account with its owner.
#[derive(Clone, Debug)]
pub struct CreateAccount {
    /// The platform's id, or None to generate one.
    pub account_id: Option<AccountId>,
    /// Display name.
    pub name: String,
    /// The owner.
    pub owner: Person,
    /// The team parent, for a child account.
    pub parent_id: Option<AccountId>,
    /// Who creates a child account (required with a parent).
    pub actor: Option<UserId>,
}

/// Lists an account's people.
#[derive(Clone, Debug)]
pub struct ListUsers {
    /// Who asks.
    pub actor: UserId,
    /// Which account.
    pub account_id: AccountId,
    /// Which page.
    pub page: PageRequest,
    /// Only rows with this status.
    pub status: Option<MemberRowStatus>,
    /// Only rows with this role.
    pub role: Option<String>,
}

/// Shares a parent's template with its children.
#[derive(Clone, Debug)]
pub struct ShareTemplate {
    /// Who shares.
    pub actor: UserId,
    /// The parent account.
    pub account_id: AccountId,
    /// The template.
    pub template_id: ResourceId,
    /// Chosen children; empty means all, present and future.
    pub children: Vec<AccountId>,
}

/// Stops sharing a template.
#[derive(Clone, Debug)]
pub struct UnshareTemplate {
    /// Who unshares.
    pub actor: UserId,
    /// The parent account.
    pub account_id: AccountId,
    /// The template.
    pub template_id: ResourceId,
}

/// Lists the templates shared by (parent) or to (child) an account.
#[derive(Clone, Debug)]
pub struct ListSharedTemplates {
    /// Who asks.
    pub actor: UserId,
    /// Which account.
    pub account_id: AccountId,
    /// Which page.
    pub page: PageRequest,
}

/// A page of rows and the token for the next one (empty on the last page).
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The rows.
    pub rows: Vec<T>,
    /// Token for the next page.
    pub next_page_token: String,
}

/// Seats a change adds: to every seat, and to restricted-role seats.
#[derive(Clone, Copy, Debug, Default)]
struct SeatChange {
    seats: usize,
    restricted: usize,
}

/// The access-control use cases.
#[derive(Clone)]
pub struct AccessService {
    store: Arc<dyn Store>,
    settings: DomainSettings,
}

/// The current time at the store's precision (milliseconds), so what a
/// call returns equals what a later read returns.
fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(3)
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> DomainResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|err| DomainError::Internal(format!("no randomness for a token: {err}")))?;
    Ok(hex::encode(bytes))
}

fn activity(
    account_id: &AccountId,
    actor: &UserId,
    action: &'static str,
    target: impl Into<String>,
    details: serde_json::Value,
    at: DateTime<Utc>,
) -> ActivityEntry {
    ActivityEntry {
        account_id: account_id.clone(),
        actor: actor.clone(),
        action,
        target: target.into(),
        details,
        at,
    }
}

fn reason_code(reason: Reason) -> &'static str {
    match reason {
        Reason::Allowed => "ALLOWED",
        Reason::NotAMember => "NOT_A_MEMBER",
        Reason::MembershipInactive => "MEMBERSHIP_INACTIVE",
        Reason::PermissionNotGranted => "PERMISSION_NOT_GRANTED",
        Reason::OutOfScope => "OUT_OF_SCOPE",
        Reason::AccountClosed => "ACCOUNT_CLOSED",
        Reason::MfaRequired => "MFA_REQUIRED",
        Reason::SharedTemplateReadOnly => "SHARED_TEMPLATE_READ_ONLY",
        Reason::AccountNotFound => "ACCOUNT_NOT_FOUND",
    }
}

fn closed_error(account: &AccountId) -> DomainError {
    DomainError::precondition(
        "ACCOUNT_CLOSED",
        format!("account '{account}' is closed: it can no longer be changed"),
    )
}

fn ttl(settings: &DomainSettings) -> DomainResult<chrono::Duration> {
    chrono::Duration::from_std(settings.invitation_ttl)
        .map_err(|_| DomainError::Internal("invitation TTL out of range".into()))
}

impl AccessService {
    /// Wires the use cases to a store.
    pub fn new(store: Arc<dyn Store>, settings: DomainSettings) -> Self {
        Self { store, settings }
    }

    /// The settings in force.
    pub fn settings(&self) -> &DomainSettings {
        &self.settings
    }

    // === Decisions ===

    async fn decide_with(
        &self,
        reads: &dyn Reads,
        facts: &AccessFacts,
        check: &Check,
    ) -> DomainResult<Decision> {
        let shared = match shared_template_parent(facts, check) {
            Some(parent) => {
                // Only the resource id matters here; the type was checked above.
                let template = check.resource.as_ref().map(|r| &r.id);
                match template {
                    Some(template) => {
                        reads
                            .template_shared_with(&check.account_id, parent, template)
                            .await?
                    }
                    None => false,
                }
            }
            None => false,
        };
        Ok(decision::decide(facts, check, shared))
    }

    /// Answers one check (deny by default; errors surface as errors, which the
    /// caller must treat as a deny).
    #[tracing::instrument(skip(self, check), fields(user_id = %check.user_id, account_id = %check.account_id, permission = %check.permission))]
    pub async fn authorize(&self, check: &Check) -> DomainResult<Decision> {
        let facts = self.store.access_facts(&check.account_id, &check.user_id).await?;
        self.decide_with(self.store.as_ref(), &facts, check).await
    }

    /// Answers several checks in order, loading each (user, account) once.
    #[tracing::instrument(skip(self, checks), fields(checks = checks.len()))]
    pub async fn batch_authorize(&self, checks: &[Check]) -> DomainResult<Vec<Decision>> {
        let mut facts_by_pair: HashMap<(&UserId, &AccountId), AccessFacts> = HashMap::new();
        let mut decisions = Vec::with_capacity(checks.len());
        for check in checks {
            let key = (&check.user_id, &check.account_id);
            let facts = match facts_by_pair.entry(key) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => {
                    entry.insert(self.store.access_facts(&check.account_id, &check.user_id).await?)
                }
            };
            decisions.push(self.decide_with(self.store.as_ref(), facts, check).await?);
        }
        Ok(decisions)
    }

    /// Everything `user` may do in `account`.
    #[tracing::instrument(skip(self), fields(user_id = %user, account_id = %account))]
    pub async fn effective_permissions(
        &self,
        user: &UserId,
        account: &AccountId,
        mfa_verified: bool,
    ) -> DomainResult<EffectivePermissions> {
        let facts = self.store.access_facts(account, user).await?;
        Ok(decision::effective_permissions(&facts, mfa_verified))
    }

    /// Refuses unless `actor` holds `permission` in `account`, judged inside
    /// the transaction so the answer cannot go stale before the write.
    /// Returns the actor's effective grants, for escalation checks.
    async fn require(
        &self,
        tx: &dyn Transaction,
        actor: &UserId,
        account: &AccountId,
        permission: &str,
    ) -> DomainResult<EffectivePermissions> {
        let permission = Permission::lookup(permission)
            .ok_or_else(|| DomainError::Internal(format!("'{permission}' missing from the catalogue")))?;
        let facts = tx.access_facts(account, actor).await?;
        // The actor's two-factor state is the calling session's business: the
        // caller authorizes the session with Authorize before acting.
        let check = Check {
            user_id: actor.clone(),
            account_id: account.clone(),
            permission,
            resource: None,
            mfa_verified: true,
        };
        let decision = decision::decide(&facts, &check, false);
        match decision.reason {
            Reason::Allowed => Ok(decision::effective_permissions(&facts, true)),
            Reason::AccountNotFound => Err(DomainError::not_found("account", account.as_str())),
            Reason::AccountClosed => Err(closed_error(account)),
            reason => Err(DomainError::denied(
                reason_code(reason),
                format!(
                    "user '{actor}' may not {permission} in account '{account}' ({})",
                    reason_code(reason)
                ),
            )),
        }
    }

    // === Accounts ===

    /// Creates an account and its owner membership; a retry with the same id
    /// and owner returns the existing account with `created = false`.
    #[tracing::instrument(skip(self, cmd), fields(account_id = ?cmd.account_id, owner = %cmd.owner.user_id))]
    pub async fn create_account(&self, cmd: CreateAccount) -> DomainResult<(Account, bool)> {
        match self.try_create_account(&cmd).await {
            // Two concurrent creations with one id: the loser re-reads, and is
            // idempotent when it was the same request.
            Err(DomainError::AlreadyExists { .. }) if cmd.account_id.is_some() => {
                let id = cmd.account_id.as_ref().map(AccountId::as_str).unwrap_or_default();
                let existing = self
                    .store
                    .account(&AccountId::from_trusted(id.to_owned()))
                    .await?
                    .ok_or_else(|| {
                        DomainError::Internal("account vanished after a duplicate insert".into())
                    })?;
                Self::same_creation(&existing, &cmd).map(|()| (existing, false))
            }
            other => other,
        }
    }

    fn same_creation(existing: &Account, cmd: &CreateAccount) -> DomainResult<()> {
        if existing.owner.user_id == cmd.owner.user_id && existing.parent_id == cmd.parent_id {
            Ok(())
        } else {
            Err(DomainError::AlreadyExists {
                reason: "ACCOUNT_EXISTS",
                message: format!(
                    "account '{}' already exists with another owner or parent",
                    existing.id
                ),
            })
        }
    }

    async fn try_create_account(&self, cmd: &CreateAccount) -> DomainResult<(Account, bool)> {
        let now = now();
        let tx = self.store.begin().await?;
        if let Some(id) = &cmd.account_id
            && let Some(existing) = tx.lock_account(id).await?
        {
            Self::same_creation(&existing, cmd)?;
            return Ok((existing, false));
        }
        if let Some(parent_id) = &cmd.parent_id {
            let parent = tx
                .lock_account(parent_id)
                .await?
                .ok_or_else(|| DomainError::not_found("parent account", parent_id.as_str()))?;
            if let Some(grandparent) = &parent.parent_id {
                return Err(DomainError::precondition(
                    "NESTED_CHILD_ACCOUNT",
                    format!(
                        "account '{parent_id}' is itself a child of '{grandparent}': teams are one level deep, create the account under '{grandparent}'"
                    ),
                ));
            }
            if parent.state == AccountState::Closed {
                return Err(closed_error(parent_id));
            }
            let actor = cmd.actor.as_ref().ok_or_else(|| {
                DomainError::invalid("actor_user_id", "is required when parent_account_id is set")
            })?;
            self.require(tx.as_ref(), actor, parent_id, "subaccounts.manage")
                .await?;
        }
        Self::ensure_person(tx.as_ref(), &cmd.owner, now).await?;
        let account = Account {
            id: cmd.account_id.clone().unwrap_or_else(AccountId::generate),
            name: cmd.name.clone(),
            parent_id: cmd.parent_id.clone(),
            state: AccountState::Open,
            owner: cmd.owner.clone(),
            require_two_factor: false,
            limits: AccountLimits::default(),
            created_at: now,
            closed_at: None,
        };
        tx.insert_account(&account).await?;
        tx.insert_membership(&NewMembership {
            account_id: account.id.clone(),
            user_id: cmd.owner.user_id.clone(),
            role_id: OWNER_ROLE.to_owned(),
            is_owner: true,
            scopes: Scopes::default(),
            invited_by: None,
            joined_at: now,
        })
        .await?;
        let actor = cmd.actor.as_ref().unwrap_or(&cmd.owner.user_id);
        tx.append_activity(&activity(
            &account.id,
            actor,
            "account.create",
            account.id.as_str(),
            json!({ "name": account.name, "owner": account.owner.user_id.as_str(), "parent": account.parent_id.as_ref().map(AccountId::as_str) }),
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok((account, true))
    }

    /// Makes sure the user exists with this email; refuses when the id or the
    /// email is already bound to someone else.
    async fn ensure_person(tx: &dyn Transaction, person: &Person, now: DateTime<Utc>) -> DomainResult<()> {
        if let Some(known) = tx.person(&person.user_id).await? {
            if known.email != person.email {
                return Err(DomainError::precondition(
                    "USER_EMAIL_MISMATCH",
                    format!(
                        "user '{}' is registered with another email address; sign in with that address",
                        person.user_id
                    ),
                ));
            }
            return Ok(());
        }
        match tx.person_by_email(&person.email).await? {
            Some(holder) if holder.user_id != person.user_id => Err(DomainError::precondition(
                "EMAIL_IN_USE",
                format!("'{}' belongs to another user id", person.email),
            )),
            // The same user, committed by a concurrent request since the read above.
            Some(_) => Ok(()),
            None => tx.insert_person(person, now).await,
        }
    }

    /// One account.
    pub async fn get_account(&self, id: &AccountId) -> DomainResult<Account> {
        self.store
            .account(id)
            .await?
            .ok_or_else(|| DomainError::not_found("account", id.as_str()))
    }

    /// Turns the two-factor requirement on or off (DOMAIN rule 3).
    #[tracing::instrument(skip(self), fields(actor = %actor, account_id = %account_id))]
    pub async fn update_account_policy(
        &self,
        actor: &UserId,
        account_id: &AccountId,
        require_two_factor: bool,
    ) -> DomainResult<Account> {
        let now = now();
        let tx = self.store.begin().await?;
        let mut account = self.lock_open_account(tx.as_ref(), account_id).await?;
        self.require(tx.as_ref(), actor, account_id, "account.security")
            .await?;
        tx.set_require_two_factor(account_id, require_two_factor).await?;
        tx.append_activity(&activity(
            account_id,
            actor,
            "account.policy",
            account_id.as_str(),
            json!({ "require_two_factor": require_two_factor }),
            now,
        ))
        .await?;
        tx.commit().await?;
        account.require_two_factor = require_two_factor;
        Ok(account)
    }

    /// Rule 14: refuses a change that would take the account over a quota.
    async fn check_seats(
        &self,
        tx: &dyn Transaction,
        account: &Account,
        change: SeatChange,
    ) -> DomainResult<()> {
        let limits = account.limits;
        if limits.max_members.is_none() && limits.max_restricted_members.is_none() {
            return Ok(());
        }
        let seats = tx.seats(&account.id).await?;
        let restricted = seats.iter().filter(|s| s.restricted).count();
        if let Some(max) = limits.max_members
            && change.seats > 0
            && seats.len() + change.seats > max as usize
        {
            return Err(DomainError::ResourceExhausted {
                reason: "MEMBER_LIMIT_REACHED",
                message: format!(
                    "account '{}' allows {max} members (active members and pending invitations) and has {}: remove a member, revoke an invitation or raise the plan",
                    account.id,
                    seats.len()
                ),
            });
        }
        if let Some(max) = limits.max_restricted_members
            && change.restricted > 0
            && restricted + change.restricted > max as usize
        {
            return Err(DomainError::ResourceExhausted {
                reason: "RESTRICTED_ROLE_LIMIT_REACHED",
                message: format!(
                    "account '{}' allows {max} members on restricted or custom roles and has {restricted}: free one or raise the plan",
                    account.id
                ),
            });
        }
        Ok(())
    }

    /// Locks an account for a change; refuses unknown and closed accounts.
    async fn lock_open_account(&self, tx: &dyn Transaction, id: &AccountId) -> DomainResult<Account> {
        let account = tx
            .lock_account(id)
            .await?
            .ok_or_else(|| DomainError::not_found("account", id.as_str()))?;
        if account.state == AccountState::Closed {
            return Err(closed_error(id));
        }
        Ok(account)
    }

    // === Users ===

    /// The account's people in DOMAIN rule 13 order, one page at a time.
    #[tracing::instrument(skip(self, query), fields(actor = %query.actor, account_id = %query.account_id))]
    pub async fn list_users(&self, query: ListUsers) -> DomainResult<Page<MemberRow>> {
        let now = now();
        let tx = self.store.begin().await?;
        self.require(tx.as_ref(), &query.actor, &query.account_id, "users.view")
            .await?;
        let mut rows = tx.member_rows(&query.account_id, now).await?;
        drop(tx);
        rows.retain(|row| {
            query.status.is_none_or(|status| row.status == status)
                && query.role.as_ref().is_none_or(|role| &row.role == role)
        });
        let (rows, next_page_token) = query.page.apply(rows, |row| {
            let (rank, email) = row.sort_key();
            format!("{rank}:{email}")
        });
        Ok(Page {
            rows,
            next_page_token,
        })
    }

    // === Shared templates ===

    /// Shares a parent account's template with all or chosen children.
    #[tracing::instrument(skip(self, cmd), fields(actor = %cmd.actor, account_id = %cmd.account_id, template_id = %cmd.template_id))]
    pub async fn share_template(&self, cmd: ShareTemplate) -> DomainResult<SharedTemplate> {
        let now = now();
        let tx = self.store.begin().await?;
        let account = self.lock_open_account(tx.as_ref(), &cmd.account_id).await?;
        if let Some(parent) = &account.parent_id {
            return Err(DomainError::precondition(
                "SHARE_NOT_FROM_PARENT",
                format!(
                    "account '{}' is a child of '{parent}': templates are shared only from a parent account down to its children",
                    account.id
                ),
            ));
        }
        self.require(tx.as_ref(), &cmd.actor, &account.id, "templates.share")
            .await?;
        let children = tx.child_account_ids(&account.id).await?;
        for child in &cmd.children {
            if !children.contains(child) {
                return match tx.account(child).await? {
                    None => Err(DomainError::not_found("child account", child.as_str())),
                    Some(_) => Err(DomainError::precondition(
                        "NOT_A_CHILD_ACCOUNT",
                        format!(
                            "account '{child}' is not a child of '{}': templates cannot be shared sideways or upward",
                            account.id
                        ),
                    )),
                };
            }
        }
        let mut chosen = cmd.children.clone();
        chosen.sort();
        chosen.dedup();
        let shared = SharedTemplate {
            parent_account_id: account.id.clone(),
            template_id: cmd.template_id.clone(),
            all_children: chosen.is_empty(),
            child_account_ids: chosen,
            shared_by: cmd.actor.clone(),
            created_at: now,
        };
        tx.save_shared_template(&shared).await?;
        tx.append_activity(&activity(
            &account.id,
            &cmd.actor,
            "template.share",
            cmd.template_id.as_str(),
            json!({
                "all_children": shared.all_children,
                "children": shared.child_account_ids.iter().map(AccountId::as_str).collect::<Vec<_>>(),
            }),
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(shared)
    }

    /// Stops sharing a template with every child.
    #[tracing::instrument(skip(self, cmd), fields(actor = %cmd.actor, account_id = %cmd.account_id, template_id = %cmd.template_id))]
    pub async fn unshare_template(&self, cmd: UnshareTemplate) -> DomainResult<()> {
        let now = now();
        let tx = self.store.begin().await?;
        let account = self.lock_open_account(tx.as_ref(), &cmd.account_id).await?;
        self.require(tx.as_ref(), &cmd.actor, &account.id, "templates.share")
            .await?;
        if !tx.delete_shared_template(&account.id, &cmd.template_id).await? {
            return Err(DomainError::not_found(
                "shared template",
                cmd.template_id.as_str(),
            ));
        }
        tx.append_activity(&activity(
            &account.id,
            &cmd.actor,
            "template.unshare",
            cmd.template_id.as_str(),
            json!({}),
            now,
        ))
        .await?;
        tx.commit().await
    }

    /// For a parent: what it shares. For a child: what its parent shares with it.
    #[tracing::instrument(skip(self, query), fields(actor = %query.actor, account_id = %query.account_id))]
    pub async fn list_shared_templates(
        &self,
        query: ListSharedTemplates,
    ) -> DomainResult<Page<SharedTemplate>> {
        let tx = self.store.begin().await?;
        let account = tx
            .account(&query.account_id)
            .await?
            .ok_or_else(|| DomainError::not_found("account", query.account_id.as_str()))?;
        self.require(tx.as_ref(), &query.actor, &account.id, "templates.view")
            .await?;
        let shared = match &account.parent_id {
            None => tx.shared_templates_from(&account.id).await?,
            Some(parent) => tx
                .shared_templates_from(parent)
                .await?
                .into_iter()
                .filter(|s| s.all_children || s.child_account_ids.contains(&account.id))
                .collect(),
        };
        drop(tx);
        let (rows, next_page_token) = query.page.apply(shared, |s| s.template_id.as_str().to_owned());
        Ok(Page {
            rows,
            next_page_token,
        })
    }
}
