//! The lookups: the accounts where a user may do a permission, the
//! resources of a type they may act on in an account, and the people who
//! may do a permission in an account. The judging is `rules::lookups`.

use super::{Page, UseCases};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{AccountId, UserId};
use crate::domain::model::{
    AccessFacts, AccountLookup, Consistency, ConsistencyToken, MemberLookup, Resource, ResourceLookup,
    ResourceType,
};
use crate::domain::page::PageRequest;
use crate::domain::permissions::Permission;
use crate::domain::rules::lookups;

/// The accounts where a user may do a permission.
#[derive(Clone, Debug)]
pub struct LookupAccounts {
    /// Whose.
    pub user_id: UserId,
    /// What.
    pub permission: Permission,
    /// On resources of this type, for each account's filter.
    pub resource_type: Option<ResourceType>,
    /// The session passed two-factor.
    pub mfa_verified: bool,
    /// How fresh the answer must be.
    pub consistency: Consistency,
    /// Which page.
    pub page: PageRequest,
}

/// The people who may do a permission in an account.
#[derive(Clone, Debug)]
pub struct LookupMembers {
    /// Where.
    pub account_id: AccountId,
    /// What.
    pub permission: Permission,
    /// On what, optionally.
    pub resource: Option<Resource>,
    /// How fresh the answer must be.
    pub consistency: Consistency,
    /// Which page.
    pub page: PageRequest,
}

/// A page of people, with the revisions it was computed from.
#[derive(Clone, Debug)]
pub struct MemberPage {
    /// The people, by user id.
    pub page: Page<MemberLookup>,
    /// The revisions of the account (and its parent) read.
    pub computed_at: ConsistencyToken,
}

/// Refuses facts read from the store that a token requires newer than they
/// are. The lookups that read the store directly read the newest state, so
/// only a token the database never issued can be ahead of it.
fn reached<'a>(
    consistency: &Consistency,
    mut facts: impl Iterator<Item = (&'a AccountId, &'a AccessFacts)>,
) -> DomainResult<()> {
    match consistency {
        Consistency::AtLeastAsFresh(token)
            if facts.any(|(account, facts)| !facts.satisfies(account, token)) =>
        {
            Err(DomainError::token_ahead())
        }
        Consistency::AtLeastAsFresh(_) | Consistency::MinimizeLatency | Consistency::Full => Ok(()),
    }
}

impl UseCases {
    /// Every account where the user may do the permission, ordered by id,
    /// one page at a time; accounts outside the caller's tenants are left
    /// out, as ListAccounts leaves them out. The facts of a window of the
    /// accounts after the page key are read in one statement, straight from
    /// the store (the newest state, so any consistency is met); a page is
    /// what the window allows, so it may be short and still not the last.
    #[tracing::instrument(level = "debug", skip(self, query), fields(user_id = %query.user_id, permission = %query.permission))]
    pub async fn lookup_accounts(&self, query: &LookupAccounts) -> DomainResult<Page<AccountLookup>> {
        let after = query.page.after.clone().map(AccountId::from_trusted);
        let window = query.page.window();
        let facts = self
            .store
            .account_facts_of_user(&query.user_id, after.as_ref(), window)
            .await?;
        let window_end = (facts.len() >= window)
            .then(|| facts.last().map(|(account, _)| account.as_str().to_owned()))
            .flatten();
        reached(
            &query.consistency,
            facts.iter().map(|(account, facts)| (account, facts)),
        )?;
        let now = super::now();
        let rows: Vec<AccountLookup> = facts
            .iter()
            .filter(|(account, facts)| self.within_tenants_facts(account, facts).is_ok())
            .filter_map(|(account, facts)| {
                lookups::account(
                    account,
                    facts,
                    query.permission,
                    query.resource_type,
                    query.mfa_verified,
                    now,
                )
            })
            .take(query.page.size + 1)
            .collect();
        let (rows, next_page_token) =
            query
                .page
                .cut_window(rows, |row| row.account.as_str().to_owned(), window_end);
        Ok(Page {
            rows,
            next_page_token,
        })
    }

    /// The resources of `resource_type` the user may act on with
    /// `permission` in `account`, from the facts Authorize reads (the same
    /// cache entry: warm, it costs no I/O).
    #[tracing::instrument(level = "debug", skip(self, consistency), fields(user_id = %user, account_id = %account, permission = %permission))]
    pub async fn lookup_resources(
        &self,
        user: &UserId,
        account: &AccountId,
        permission: Permission,
        resource_type: ResourceType,
        mfa_verified: bool,
        consistency: &Consistency,
    ) -> DomainResult<ResourceLookup> {
        let facts = self.facts_of(account, user, consistency).await?;
        Ok(lookups::resources(
            &facts,
            account,
            permission,
            resource_type,
            mfa_verified,
            super::now(),
        ))
    }

    /// The people who may do the permission in the account, by user id,
    /// one page at a time: its active members holding it and its parent's
    /// owner (rule 4), a window of them read in one statement straight from
    /// the store, as for the accounts.
    #[tracing::instrument(level = "debug", skip(self, query), fields(account_id = %query.account_id, permission = %query.permission))]
    pub async fn lookup_members(&self, query: &LookupMembers) -> DomainResult<MemberPage> {
        let after = query.page.after.clone().map(UserId::from_trusted);
        let window = query.page.window();
        let (own, members) = self
            .store
            .member_facts(&query.account_id, after.as_ref(), window)
            .await?;
        let window_end = (members.len() >= window)
            .then(|| members.last().map(|(user, _)| user.as_str().to_owned()))
            .flatten();
        self.within_tenants_facts(&query.account_id, &own)?;
        if own.account.is_none() {
            return Err(DomainError::not_found("account", query.account_id.as_str()));
        }
        reached(&query.consistency, std::iter::once((&query.account_id, &own)))?;
        let now = super::now();
        let rows: Vec<MemberLookup> = members
            .iter()
            .filter_map(|(user, facts)| {
                lookups::member(user, facts, query.permission, query.resource.as_ref(), now)
            })
            .take(query.page.size + 1)
            .collect();
        let (rows, next_page_token) =
            query
                .page
                .cut_window(rows, |row| row.user.as_str().to_owned(), window_end);
        Ok(MemberPage {
            page: Page {
                rows,
                next_page_token,
            },
            computed_at: own.computed_at(&query.account_id),
        })
    }
}
