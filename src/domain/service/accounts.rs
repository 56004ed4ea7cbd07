//! Accounts: create, read, close, the two-factor policy, the plan quotas
//! (rule 14 of docs/domain.md) and the accounts a user can switch to.

use super::tenants::root_outside_tenants;
use super::{Page, UseCases, closed_error};
use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::{AccountId, UserId};
use crate::domain::model::PlatformActor;
use crate::domain::model::{Account, AccountAccess, AccountLimits, AccountState, Person, Scopes, Written};
use crate::domain::model::{AccountClosed, AccountCreated, ActivityDetails, LimitsChanged, PolicyChanged};
use crate::domain::model::{EffectivePermissions, MembershipStatus};
use crate::domain::page::PageRequest;
use crate::domain::permissions::{OWNER_ROLE, Permission};
use crate::domain::ports::{NewMembership, Transaction};
use crate::domain::rules::people::Claim;
use crate::domain::rules::quotas::{self, SeatChange};

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

/// Lists the accounts a user can switch to.
#[derive(Clone, Debug)]
pub struct ListAccounts {
    /// Whose.
    pub user_id: UserId,
    /// Which page.
    pub page: PageRequest,
}

impl UseCases {
    /// Creates an account and its owner membership; a retry with the same id
    /// and owner returns the existing account with `created = false` (and an
    /// empty token: it changed nothing), once the account is visible everywhere.
    #[tracing::instrument(level = "debug", skip(self, cmd), fields(account_id = ?cmd.account_id, owner = %cmd.owner.user_id))]
    pub async fn create_account(&self, cmd: CreateAccount) -> DomainResult<Written<(Account, bool)>> {
        match self.try_create_account(&cmd).await {
            // Two concurrent creations with one id: the loser re-reads, and is
            // idempotent when it was the same request.
            // (Its commit is over: the insert waited for it.) The second try
            // finds the account, and answers as a retry does.
            Err(DomainError::AlreadyExists { .. }) if cmd.account_id.is_some() => {
                self.try_create_account(&cmd).await
            }
            other => other,
        }
    }

    /// A retry is idempotent only when it is the same request: answering OK
    /// to another name would report a change that was never made.
    fn same_creation(existing: &Account, cmd: &CreateAccount) -> DomainResult<()> {
        let differs = if existing.owner.user_id != cmd.owner.user_id {
            Some("owner")
        } else if existing.parent_id != cmd.parent_id {
            Some("parent")
        } else if existing.name != cmd.name {
            Some("name")
        } else {
            None
        };
        match differs {
            None => Ok(()),
            Some(what) => Err(DomainError::exists(
                ErrorReason::AccountExists,
                format!(
                    "account '{}' already exists with another {what}: a retry must repeat the first request exactly",
                    existing.id
                ),
            )
            .with("differs", what)),
        }
    }

    async fn try_create_account(&self, cmd: &CreateAccount) -> DomainResult<Written<(Account, bool)>> {
        let now = super::now();
        // A caller bound to tenants creates children of its teams only: a
        // new team root would be a tenant it does not serve.
        if cmd.parent_id.is_none() && !self.tenants.is_every() {
            return Err(root_outside_tenants());
        }
        let tx = self.store.begin().await?;
        if let Some(id) = &cmd.account_id
            && let Some(existing) = tx.lock_account(id).await?
        {
            self.within_tenants_read(id, Some(&existing))?;
            Self::same_creation(&existing, cmd)?;
            // The first call's invalidation may still be on its way.
            self.already_done(tx).await?;
            return Ok(Written::unchanged((existing, false)));
        }
        let parent = if let Some(parent_id) = &cmd.parent_id {
            let parent = tx.lock_account(parent_id).await?;
            self.within_tenants_read(parent_id, parent.as_ref())?;
            let parent =
                parent.ok_or_else(|| DomainError::not_found("parent account", parent_id.as_str()))?;
            if let Some(grandparent) = &parent.parent_id {
                return Err(DomainError::precondition(
                    ErrorReason::NestedChildAccount,
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
            let creator = self
                .require(tx.as_ref(), actor, parent_id, Permission::SUBACCOUNTS_MANAGE)
                .await?;
            self.child_owner_refused(tx.as_ref(), &parent, actor, &creator, &cmd.owner.user_id)
                .await?;
            Some(parent)
        } else {
            None
        };
        // Nothing proves the owner's address yet: see `Claim::Unproven`.
        Self::ensure_person(tx.as_ref(), &cmd.owner, Claim::Unproven, now).await?;
        let account = Account {
            id: cmd.account_id.clone().unwrap_or_else(AccountId::generate),
            name: cmd.name.clone(),
            parent_id: cmd.parent_id.clone(),
            state: AccountState::Open,
            owner: cmd.owner.clone(),
            require_two_factor: false,
            // Rule 16: a child starts on its team's plan; the platform sets
            // others with SetAccountLimits when the plan says so.
            limits: parent.map(|parent| parent.limits).unwrap_or_default(),
            created_at: now,
            closed_at: None,
        };
        tx.insert_account(&account).await?;
        tx.insert_membership(&NewMembership {
            ends_at: None,
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
        tx.append_activity(&self.activity(
            &account.id,
            actor,
            account.id.as_str(),
            ActivityDetails::AccountCreate(AccountCreated {
                name: account.name.clone(),
                owner: account.owner.user_id.to_string(),
                parent: account.parent_id.as_ref().map(AccountId::to_string),
            }),
            now,
        ))
        .await?;
        let token = self.commit(tx).await?;
        Ok(Written::new((account, true), token))
    }

    /// Rule 16: who may create a child of `parent`, and for whom. `creator`
    /// is what `actor` holds there (`subaccounts.manage` among it). A
    /// child's owner holds everything in it, so a creator narrowed to some
    /// resources would make a workspace past their narrowing; and naming a
    /// stranger as owner would bring a person into the team without an
    /// invitation, which only the parent's owner, who answers for the whole
    /// team, may do.
    async fn child_owner_refused(
        &self,
        tx: &dyn Transaction,
        parent: &Account,
        actor: &UserId,
        creator: &EffectivePermissions,
        owner: &UserId,
    ) -> DomainResult<()> {
        if !creator.scopes.is_empty() {
            return Err(DomainError::denied(
                ErrorReason::PrivilegeEscalation,
                format!(
                    "you cannot grant what you do not hold yourself: a child account's owner holds \
                     everything there, and your reach in account '{}' is limited to chosen resources",
                    parent.id
                ),
            ));
        }
        if owner == actor || &parent.owner.user_id == actor {
            return Ok(());
        }
        if tx.membership_status(&parent.id, owner).await? == Some(MembershipStatus::Active) {
            return Ok(());
        }
        Err(DomainError::precondition(
            ErrorReason::ChildOwnerNotInTeam,
            format!(
                "the owner of a new child of account '{parent}' must be you or an active member of \
                 '{parent}' (only its owner names someone else): invite '{owner}' to '{parent}' \
                 first, or create the account yourself and transfer its ownership once they \
                 have joined it",
                parent = parent.id
            ),
        ))
    }

    /// Turns the two-factor requirement on or off (rule 3 of docs/domain.md).
    #[tracing::instrument(level = "debug", skip(self), fields(actor = %actor, account_id = %account_id))]
    pub async fn update_account_policy(
        &self,
        actor: &UserId,
        account_id: &AccountId,
        require_two_factor: bool,
    ) -> DomainResult<Written<Account>> {
        let now = super::now();
        let tx = self.store.begin().await?;
        let mut account = self.lock_open_account(tx.as_ref(), account_id).await?;
        self.require(tx.as_ref(), actor, account_id, Permission::ACCOUNT_SECURITY)
            .await?;
        if account.require_two_factor == require_two_factor {
            // Already so: a retry changes and logs nothing (rule 12), as
            // DeactivateMember does; the commit still reaches every replica.
            let token = self.commit(tx).await?;
            return Ok(Written::new(account, token));
        }
        if !require_two_factor {
            self.require_recent_sign_in(actor, &format!("turn two-factor off in account '{account_id}'"))?;
        }
        tx.set_require_two_factor(account_id, require_two_factor).await?;
        tx.append_activity(&self.activity(
            account_id,
            actor,
            account_id.as_str(),
            ActivityDetails::AccountPolicy(PolicyChanged { require_two_factor }),
            now,
        ))
        .await?;
        let token = self.commit(tx).await?;
        account.require_two_factor = require_two_factor;
        Ok(Written::new(account, token))
    }

    /// Rule 14: refuses a change that would take the account over a quota
    /// (reads the seats only when the account has one).
    pub(super) async fn check_seats(
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
        quotas::seats_refused(account, &seats, change)
    }

    /// The open accounts a user can switch to, children reached as parent
    /// owner included; only those the caller serves when it is bound to
    /// tenants (the others are not its to show, nor their number).
    #[tracing::instrument(level = "debug", skip(self, query), fields(user_id = %query.user_id))]
    pub async fn list_accounts(&self, query: ListAccounts) -> DomainResult<Page<AccountAccess>> {
        // Nothing proves the caller is that user: owners are named by id only.
        let accounts = self
            .store
            .accounts_of(&query.user_id, super::now())
            .await?
            .into_iter()
            .filter(|access| self.serves(&access.account))
            .map(|access| AccountAccess {
                account: access.account.without_owner_contact(),
                ..access
            })
            .collect();
        let (rows, next_page_token) = query.page.apply(accounts, |a| a.account.id.as_str().to_owned());
        Ok(Page {
            rows,
            next_page_token,
        })
    }

    /// Closes an account (owner, or anyone holding account.close: Mailchimp admins
    /// yes, Mailigen account managers no). Everything denies afterwards; data stays.
    #[tracing::instrument(level = "debug", skip(self), fields(actor = %actor, account_id = %account_id))]
    pub async fn close_account(
        &self,
        actor: &UserId,
        account_id: &AccountId,
    ) -> DomainResult<Written<Account>> {
        let tx = self.store.begin().await?;
        let Some(account) = self.lock_account_to_close(tx.as_ref(), account_id).await? else {
            return self.closed_already(tx, account_id).await;
        };
        self.require(tx.as_ref(), actor, account_id, Permission::ACCOUNT_CLOSE)
            .await?;
        self.require_recent_sign_in(actor, &format!("close account '{account_id}'"))?;
        self.close(tx, account, actor, AccountClosed::default()).await
    }

    /// The platform closes an account itself, no member acting (billing after
    /// non-payment, provisioning when a customer leaves); `reason` goes to the
    /// activity log.
    #[tracing::instrument(level = "debug", skip(self), fields(actor = %platform, account_id = %account_id))]
    pub async fn close_account_as_platform(
        &self,
        platform: &PlatformActor,
        account_id: &AccountId,
        reason: &str,
    ) -> DomainResult<Written<Account>> {
        let tx = self.store.begin().await?;
        let Some(account) = self.lock_account_to_close(tx.as_ref(), account_id).await? else {
            return self.closed_already(tx, account_id).await;
        };
        let details = AccountClosed {
            reason: (!reason.is_empty()).then(|| reason.to_owned()),
        };
        self.close(tx, account, &platform.as_actor(), details).await
    }

    /// Refuses to close a closed account, once its closing (perhaps a first
    /// call whose invalidation is still on its way) is visible everywhere.
    async fn closed_already<T>(&self, tx: Box<dyn Transaction>, account_id: &AccountId) -> DomainResult<T> {
        self.already_done(tx).await?;
        Err(closed_error(account_id))
    }

    /// Closes the locked, open `account` for `actor`, logged with `details`.
    async fn close(
        &self,
        tx: Box<dyn Transaction>,
        mut account: Account,
        actor: &UserId,
        details: AccountClosed,
    ) -> DomainResult<Written<Account>> {
        let now = super::now();
        tx.close_account(&account.id, now).await?;
        tx.append_activity(&self.activity(
            &account.id,
            actor,
            account.id.as_str(),
            ActivityDetails::AccountClose(details),
            now,
        ))
        .await?;
        let token = self.commit(tx).await?;
        account.state = AccountState::Closed;
        account.closed_at = Some(now);
        Ok(Written::new(account, token))
    }

    /// Sets the plan quotas (rule 14): the platform's act, never a member's
    /// (quotas come from the plan the account pays for). Lowering below
    /// current use is refused, naming what must be removed first.
    #[tracing::instrument(level = "debug", skip(self), fields(actor = %platform, account_id = %account_id))]
    pub async fn set_account_limits(
        &self,
        platform: &PlatformActor,
        account_id: &AccountId,
        limits: AccountLimits,
    ) -> DomainResult<Written<Account>> {
        let now = super::now();
        let tx = self.store.begin().await?;
        let mut account = self.lock_open_account(tx.as_ref(), account_id).await?;
        let seats = tx.seats(account_id).await?;
        quotas::limits_refused(account_id, limits, &seats)?;
        tx.set_limits(account_id, limits).await?;
        tx.append_activity(&self.activity(
            account_id,
            &platform.as_actor(),
            account_id.as_str(),
            ActivityDetails::AccountLimits(LimitsChanged {
                max_members: limits.max_members,
                max_restricted_members: limits.max_restricted_members,
            }),
            now,
        ))
        .await?;
        let token = self.commit(tx).await?;
        account.limits = limits;
        Ok(Written::new(account, token))
    }
}
