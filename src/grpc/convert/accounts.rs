//! Accounts: create, read, list, policy, limits and close.

use super::{optional_id, page, person, person_to_pb, present, timestamp};
use crate::domain::DomainError;
use crate::domain::error::FieldViolation;
use crate::domain::ids::{AccountId, UserId, Violations, parse_name, parse_note};
use crate::domain::model::{Account, AccountAccess, AccountLimits, AccountState};
use crate::domain::service::{CreateAccount, ListAccounts};
use crate::grpc::pb;

/// Parses a required account id.
pub fn account_id(raw: &str) -> Result<AccountId, DomainError> {
    Ok(AccountId::parse("account_id", raw)?)
}

/// GetAccount: the account, and who asks if anyone says.
#[derive(Debug)]
pub struct AccountRead {
    /// Who asks, when the caller names someone.
    pub actor: Option<UserId>,
    /// The account read.
    pub account_id: AccountId,
}

impl TryFrom<pb::GetAccountRequest> for AccountRead {
    type Error = DomainError;

    fn try_from(raw: pb::GetAccountRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = optional_id(&mut v, "actor_user_id", &raw.actor_user_id, UserId::parse);
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        v.finish()?;
        Ok(Self {
            actor,
            account_id: present(account_id)?,
        })
    }
}

/// An actor acting on a whole account (CloseAccount, ListRoles).
#[derive(Debug)]
pub struct AccountTarget {
    /// Who asks.
    pub actor: UserId,
    /// The account acted on.
    pub account_id: AccountId,
}

impl AccountTarget {
    /// Parses the `actor_user_id` and `account_id` fields of a request.
    pub(super) fn parse(actor: &str, account: &str) -> Result<Self, DomainError> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", actor));
        let account_id = v.check(AccountId::parse("account_id", account));
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
        })
    }
}

impl TryFrom<pb::CloseAccountRequest> for AccountTarget {
    type Error = DomainError;

    fn try_from(raw: pb::CloseAccountRequest) -> Result<Self, Self::Error> {
        Self::parse(&raw.actor_user_id, &raw.account_id)
    }
}

/// CloseAccountAsPlatform: the account the platform closes, and why.
#[derive(Debug)]
pub struct PlatformClose {
    /// The account closed.
    pub account_id: AccountId,
    /// Why, for the activity log; empty when not given.
    pub reason: String,
}

impl TryFrom<pb::CloseAccountAsPlatformRequest> for PlatformClose {
    type Error = DomainError;

    fn try_from(raw: pb::CloseAccountAsPlatformRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let reason = v.check(parse_note("reason", &raw.reason));
        v.finish()?;
        Ok(Self {
            account_id: present(account_id)?,
            reason: present(reason)?,
        })
    }
}

/// UpdateAccountPolicy: who turns the account's two-factor rule on or off.
#[derive(Debug)]
pub struct AccountPolicyChange {
    /// Who asks.
    pub actor: UserId,
    /// The account whose policy changes.
    pub account_id: AccountId,
    /// Whether members must sign in with a second factor.
    pub require_two_factor: bool,
}

impl TryFrom<pb::UpdateAccountPolicyRequest> for AccountPolicyChange {
    type Error = DomainError;

    fn try_from(raw: pb::UpdateAccountPolicyRequest) -> Result<Self, Self::Error> {
        let AccountTarget { actor, account_id } = AccountTarget::parse(&raw.actor_user_id, &raw.account_id)?;
        Ok(Self {
            actor,
            account_id,
            require_two_factor: raw.require_two_factor,
        })
    }
}

/// SetAccountLimits: who sets which quotas on which account.
#[derive(Debug)]
pub struct AccountLimitsChange {
    /// The account whose quotas change.
    pub account_id: AccountId,
    /// The new quotas (unset means no limit).
    pub limits: AccountLimits,
}

fn limit(v: &mut Violations, field: &str, raw: Option<i32>) -> Option<Option<u32>> {
    match raw {
        None => Some(None),
        Some(n) => match u32::try_from(n) {
            Ok(n) => Some(Some(n)),
            Err(_) => {
                v.push(FieldViolation::new(
                    field,
                    format!("must be 0 or more (or unset for no limit), got {n}"),
                ));
                None
            }
        },
    }
}

impl TryFrom<pb::SetAccountLimitsRequest> for AccountLimitsChange {
    type Error = DomainError;

    fn try_from(raw: pb::SetAccountLimitsRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let max_members = limit(&mut v, "max_members", raw.max_members);
        let max_restricted_members = limit(&mut v, "max_restricted_members", raw.max_restricted_members);
        v.finish()?;
        Ok(Self {
            account_id: present(account_id)?,
            limits: AccountLimits {
                max_members: present(max_members)?,
                max_restricted_members: present(max_restricted_members)?,
            },
        })
    }
}

impl TryFrom<pb::ListAccountsRequest> for ListAccounts {
    type Error = DomainError;

    fn try_from(raw: pb::ListAccountsRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let user_id = v.check(UserId::parse("user_id", &raw.user_id));
        let page = page(&mut v, raw.page_size, &raw.page_token);
        v.finish()?;
        Ok(Self {
            user_id: present(user_id)?,
            page: present(page)?,
        })
    }
}

impl TryFrom<pb::CreateAccountRequest> for CreateAccount {
    type Error = DomainError;

    fn try_from(raw: pb::CreateAccountRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let account_id = optional_id(&mut v, "account_id", &raw.account_id, AccountId::parse);
        let name = v.check(parse_name("name", &raw.name));
        let owner = person(&mut v, "owner", raw.owner.as_ref());
        let parent_id = optional_id(
            &mut v,
            "parent_account_id",
            &raw.parent_account_id,
            AccountId::parse,
        );
        let actor = optional_id(&mut v, "actor_user_id", &raw.actor_user_id, UserId::parse);
        if !raw.parent_account_id.is_empty() && raw.actor_user_id.is_empty() {
            v.push(FieldViolation::new(
                "actor_user_id",
                "is required when parent_account_id is set: name who creates the child account",
            ));
        }
        if !raw.account_id.is_empty() && raw.account_id == raw.parent_account_id {
            v.push(FieldViolation::new(
                "parent_account_id",
                "cannot be the account itself",
            ));
        }
        v.finish()?;
        Ok(Self {
            account_id,
            name: present(name)?,
            owner: present(owner)?,
            parent_id,
            actor,
        })
    }
}

impl From<Account> for pb::Account {
    fn from(account: Account) -> Self {
        Self {
            owner: Some(person_to_pb(&account.owner)),
            id: account.id.to_string(),
            name: account.name,
            parent_account_id: account.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            state: match account.state {
                AccountState::Open => pb::AccountState::Open,
                AccountState::Closed => pb::AccountState::Closed,
            }
            .into(),
            require_two_factor: account.require_two_factor,
            create_time: Some(timestamp(account.created_at)),
            max_members: account
                .limits
                .max_members
                .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            max_restricted_members: account
                .limits
                .max_restricted_members
                .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            close_time: account.closed_at.map(timestamp),
        }
    }
}

impl From<AccountAccess> for pb::AccountAccess {
    fn from(access: AccountAccess) -> Self {
        Self {
            account: Some(access.account.into()),
            role: access.role,
            via_parent_account_id: access.via_parent.map(|p| p.to_string()).unwrap_or_default(),
        }
    }
}
