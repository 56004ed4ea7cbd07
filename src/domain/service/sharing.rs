//! Shared resources: a parent account shares its templates and suppression
//! lists with its children (rule 5 of docs/domain.md), read-only on the
//! children's side. One mechanism for both types; [`Shareable`] says what
//! differs between them.

use super::{Page, UseCases};
use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::{AccountId, ResourceId, UserId};
use crate::domain::model::{ActivityDetails, Resource, ResourceType, SharedResource, SharedWith, Written};
use crate::domain::page::PageRequest;
use crate::domain::permissions::Permission;

/// The types a parent can share, and what sharing each one takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shareable {
    /// Email templates (ShareTemplate).
    Template,
    /// Suppression lists (ShareSuppressionList).
    SuppressionList,
}

impl Shareable {
    /// The resource type shared.
    pub fn resource_type(self) -> ResourceType {
        match self {
            Self::Template => ResourceType::Template,
            Self::SuppressionList => ResourceType::SuppressionList,
        }
    }

    /// What a person calls one, in messages.
    fn noun(self) -> &'static str {
        match self {
            Self::Template => "template",
            Self::SuppressionList => "suppression list",
        }
    }

    /// Sharing or unsharing one: `templates.share`; a suppression list has
    /// no share permission of its own, and deciding which children a list
    /// applies to is editing it, so `suppressions.edit`.
    fn share_permission(self) -> Permission {
        match self {
            Self::Template => Permission::TEMPLATES_SHARE,
            Self::SuppressionList => Permission::SUPPRESSIONS_EDIT,
        }
    }

    /// Listing the shares: seeing the resources.
    fn view_permission(self) -> Permission {
        match self {
            Self::Template => Permission::TEMPLATES_VIEW,
            Self::SuppressionList => Permission::SUPPRESSIONS_VIEW,
        }
    }

    fn shared(self, with: SharedWith) -> ActivityDetails {
        match self {
            Self::Template => ActivityDetails::TemplateShare(with),
            Self::SuppressionList => ActivityDetails::SuppressionListShare(with),
        }
    }

    fn unshared(self) -> ActivityDetails {
        match self {
            Self::Template => ActivityDetails::TemplateUnshare,
            Self::SuppressionList => ActivityDetails::SuppressionListUnshare,
        }
    }
}

/// One shareable resource: its type and its id.
#[derive(Clone, Debug)]
pub struct SharedId {
    /// Which type.
    pub kind: Shareable,
    /// Its id in its own service.
    pub id: ResourceId,
}

impl SharedId {
    fn resource(&self) -> Resource {
        Resource {
            resource_type: self.kind.resource_type(),
            id: self.id.clone(),
        }
    }
}

/// Shares a parent's resource with its children.
#[derive(Clone, Debug)]
pub struct ShareResource {
    /// Who shares.
    pub actor: UserId,
    /// The parent account.
    pub account_id: AccountId,
    /// What is shared.
    pub resource: SharedId,
    /// Chosen children; empty means all, present and future.
    pub children: Vec<AccountId>,
}

/// Stops sharing a resource.
#[derive(Clone, Debug)]
pub struct UnshareResource {
    /// Who unshares.
    pub actor: UserId,
    /// The parent account.
    pub account_id: AccountId,
    /// What stops being shared.
    pub resource: SharedId,
}

/// Lists the resources of one type shared by (parent) or to (child) an account.
#[derive(Clone, Debug)]
pub struct ListSharedResources {
    /// Who asks.
    pub actor: UserId,
    /// Which account.
    pub account_id: AccountId,
    /// Which type.
    pub kind: Shareable,
    /// Which page.
    pub page: PageRequest,
}

impl UseCases {
    /// Shares a parent account's resource with all or chosen children; a
    /// member scoped on its type only within their scope (rule 5).
    #[tracing::instrument(level = "debug", skip(self, cmd), fields(actor = %cmd.actor, account_id = %cmd.account_id, resource_id = %cmd.resource.id))]
    pub async fn share_resource(&self, cmd: ShareResource) -> DomainResult<Written<SharedResource>> {
        let now = super::now();
        let kind = cmd.resource.kind;
        let resource = cmd.resource.resource();
        let tx = self.store.begin().await?;
        let account = self.lock_open_account(tx.as_ref(), &cmd.account_id).await?;
        if let Some(parent) = &account.parent_id {
            return Err(DomainError::precondition(
                ErrorReason::ShareNotFromParent,
                format!(
                    "account '{}' is a child of '{parent}': {}s are shared only from a parent account down to its children",
                    account.id,
                    kind.noun()
                ),
            ));
        }
        self.require_on(
            tx.as_ref(),
            &cmd.actor,
            &account.id,
            kind.share_permission(),
            &resource,
        )
        .await?;
        let children = tx.child_account_ids(&account.id).await?;
        for child in &cmd.children {
            if !children.contains(child) {
                // Whether another tenant's account exists is not this caller's to learn.
                self.within_tenants_of(tx.as_ref(), child).await?;
                return match tx.account(child).await? {
                    None => Err(DomainError::not_found("child account", child.as_str())),
                    Some(_) => Err(DomainError::precondition(
                        ErrorReason::NotAChildAccount,
                        format!(
                            "account '{child}' is not a child of '{}': {}s cannot be shared sideways or upward",
                            account.id,
                            kind.noun()
                        ),
                    )),
                };
            }
        }
        let mut chosen = cmd.children.clone();
        chosen.sort();
        chosen.dedup();
        // Sharing again to the same children changes nothing: answer the
        // share as it stands (its first create time, no new log entry), so a
        // retry is safe. Another set of children replaces the share. As with
        // a repeated deactivation, the commit still runs and reaches every
        // replica, so a retry never answers OK while the first call's
        // invalidation may still be on its way (rule 11).
        if let Some(existing) = tx
            .shared_resources_from(&account.id, resource.resource_type)
            .await?
            .into_iter()
            .find(|shared| shared.resource.id == resource.id)
        {
            let mut existing_children = existing.child_account_ids.clone();
            existing_children.sort();
            if existing.all_children == chosen.is_empty() && existing_children == chosen {
                let token = self.commit(tx).await?;
                return Ok(Written::new(existing, token));
            }
        }
        let shared = SharedResource {
            parent_account_id: account.id.clone(),
            resource,
            all_children: chosen.is_empty(),
            child_account_ids: chosen,
            shared_by: cmd.actor.clone(),
            created_at: now,
        };
        tx.save_shared_resource(&shared).await?;
        tx.append_activity(
            &self.activity(
                &account.id,
                &cmd.actor,
                shared.resource.id.as_str(),
                kind.shared(SharedWith {
                    all_children: shared.all_children,
                    children: shared
                        .child_account_ids
                        .iter()
                        .map(AccountId::to_string)
                        .collect(),
                }),
                now,
            ),
        )
        .await?;
        let token = self.commit(tx).await?;
        Ok(Written::new(shared, token))
    }

    /// Stops sharing a resource with every child; a member scoped on its
    /// type only within their scope, as sharing.
    #[tracing::instrument(level = "debug", skip(self, cmd), fields(actor = %cmd.actor, account_id = %cmd.account_id, resource_id = %cmd.resource.id))]
    pub async fn unshare_resource(&self, cmd: UnshareResource) -> DomainResult<Written<()>> {
        let now = super::now();
        let kind = cmd.resource.kind;
        let tx = self.store.begin().await?;
        let resource = cmd.resource.resource();
        let account = self.lock_open_account(tx.as_ref(), &cmd.account_id).await?;
        self.require_on(
            tx.as_ref(),
            &cmd.actor,
            &account.id,
            kind.share_permission(),
            &resource,
        )
        .await?;
        if !tx.delete_shared_resource(&account.id, &resource).await? {
            let what = match kind {
                Shareable::Template => "shared template",
                Shareable::SuppressionList => "shared suppression list",
            };
            // Perhaps unshared by a first call whose invalidation is still on
            // its way: answered once that is visible everywhere.
            self.already_done(tx).await?;
            return Err(DomainError::not_found(what, cmd.resource.id.as_str()));
        }
        tx.append_activity(&self.activity(
            &account.id,
            &cmd.actor,
            cmd.resource.id.as_str(),
            kind.unshared(),
            now,
        ))
        .await?;
        let token = self.commit(tx).await?;
        Ok(Written::new((), token))
    }

    /// For a parent: what it shares. For a child: what its parent shares with
    /// it. A member scoped on the type sees only the shares of their ids.
    #[tracing::instrument(level = "debug", skip(self, query), fields(actor = %query.actor, account_id = %query.account_id))]
    pub async fn list_shared_resources(
        &self,
        query: ListSharedResources,
    ) -> DomainResult<Page<SharedResource>> {
        let tx = self.store.begin().await?;
        let account = tx.account(&query.account_id).await?;
        self.within_tenants_read(&query.account_id, account.as_ref())?;
        let account = account.ok_or_else(|| DomainError::not_found("account", query.account_id.as_str()))?;
        let grants = self
            .require(
                tx.as_ref(),
                &query.actor,
                &account.id,
                query.kind.view_permission(),
            )
            .await?;
        let resource_type = query.kind.resource_type();
        let mut shared = match &account.parent_id {
            None => tx.shared_resources_from(&account.id, resource_type).await?,
            Some(parent) => tx
                .shared_resources_from(parent, resource_type)
                .await?
                .into_iter()
                .filter(|s| s.all_children || s.child_account_ids.contains(&account.id))
                .collect(),
        };
        drop(tx);
        // A member scoped on the type sees only the shares of their ids.
        shared.retain(|s| grants.scopes.allows(&s.resource));
        let (rows, next_page_token) = query.page.apply(shared, |s| s.resource.id.as_str().to_owned());
        Ok(Page {
            rows,
            next_page_token,
        })
    }
}
