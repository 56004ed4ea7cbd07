//! Shared templates: a parent account shares its templates with its children
//! (rule 5 of docs/domain.md), read-only on the children's side.

use serde_json::json;

use super::{Page, UseCases, activity};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{AccountId, ResourceId, UserId};
use crate::domain::model::ActivityAction;
use crate::domain::model::{SharedTemplate, Written};
use crate::domain::page::PageRequest;
use crate::domain::permissions::Permission;

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

impl UseCases {
    /// Shares a parent account's template with all or chosen children.
    #[tracing::instrument(skip(self, cmd), fields(actor = %cmd.actor, account_id = %cmd.account_id, template_id = %cmd.template_id))]
    pub async fn share_template(&self, cmd: ShareTemplate) -> DomainResult<Written<SharedTemplate>> {
        let now = super::now();
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
        self.require(tx.as_ref(), &cmd.actor, &account.id, Permission::TEMPLATES_SHARE)
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
        // Sharing again to the same children changes nothing: answer the
        // share as it stands (its first create time, no new log entry), so a
        // retry is safe. Another set of children replaces the share. As with
        // a repeated deactivation, the commit still runs and reaches every
        // replica, so a retry never answers OK while the first call's
        // invalidation may still be on its way (rule 11).
        if let Some(existing) = tx
            .shared_templates_from(&account.id)
            .await?
            .into_iter()
            .find(|shared| shared.template_id == cmd.template_id)
        {
            let mut existing_children = existing.child_account_ids.clone();
            existing_children.sort();
            if existing.all_children == chosen.is_empty() && existing_children == chosen {
                let token = self.commit(tx).await?;
                return Ok(Written::new(existing, token));
            }
        }
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
            ActivityAction::TemplateShare,
            cmd.template_id.as_str(),
            json!({
                "all_children": shared.all_children,
                "children": shared.child_account_ids.iter().map(AccountId::as_str).collect::<Vec<_>>(),
            }),
            now,
        ))
        .await?;
        let token = self.commit(tx).await?;
        Ok(Written::new(shared, token))
    }

    /// Stops sharing a template with every child.
    #[tracing::instrument(skip(self, cmd), fields(actor = %cmd.actor, account_id = %cmd.account_id, template_id = %cmd.template_id))]
    pub async fn unshare_template(&self, cmd: UnshareTemplate) -> DomainResult<Written<()>> {
        let now = super::now();
        let tx = self.store.begin().await?;
        let account = self.lock_open_account(tx.as_ref(), &cmd.account_id).await?;
        self.require(tx.as_ref(), &cmd.actor, &account.id, Permission::TEMPLATES_SHARE)
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
            ActivityAction::TemplateUnshare,
            cmd.template_id.as_str(),
            json!({}),
            now,
        ))
        .await?;
        let token = self.commit(tx).await?;
        Ok(Written::new((), token))
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
        self.require(tx.as_ref(), &query.actor, &account.id, Permission::TEMPLATES_VIEW)
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
