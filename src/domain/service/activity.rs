//! The activity log (Mailigen's "User Management Activity Log").

use super::{Page, UseCases};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{AccountId, ActivityId, UserId};
use crate::domain::model::{ActivityFilter, ActivityRecord};
use crate::domain::page::PageRequest;

/// Lists an account's activity, newest first.
#[derive(Clone, Debug)]
pub struct ListActivity {
    /// Who asks.
    pub actor: UserId,
    /// Which account.
    pub account_id: AccountId,
    /// Filters (its `before` is set from the page token).
    pub filter: ActivityFilter,
    /// Which page.
    pub page: PageRequest,
}

impl UseCases {
    /// One page of the log; the page token is the (opaque) id of the last
    /// entry seen, so it tells nothing of the history's size.
    #[tracing::instrument(level = "debug", skip(self, query), fields(actor = %query.actor, account_id = %query.account_id))]
    pub async fn list_activity(&self, query: ListActivity) -> DomainResult<Page<ActivityRecord>> {
        let tx = self.begin_viewing(&query.actor, &query.account_id).await?;
        let mut filter = query.filter.clone();
        filter.before = match &query.page.after {
            None => None,
            Some(key) => Some(
                ActivityId::parse("page_token", key)
                    .map_err(|_| DomainError::invalid("page_token", "is not a token this service issued"))?,
            ),
        };
        // One extra row tells whether another page follows.
        let mut rows = tx
            .activity(&query.account_id, &filter, query.page.size + 1)
            .await?;
        let next_page_token = if rows.len() > query.page.size {
            rows.truncate(query.page.size);
            rows.last()
                .map(|r| hex::encode(r.id.as_str()))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Page {
            rows,
            next_page_token,
        })
    }
}
