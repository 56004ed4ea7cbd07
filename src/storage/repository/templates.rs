//! Templates a parent account shares with its children.

use std::collections::HashMap;

use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};

use crate::domain::DomainResult;
use crate::domain::ids::{AccountId, ResourceId, UserId};
use crate::domain::model::SharedTemplate;
use crate::storage::entity::{shared_template_children, shared_templates};
use crate::storage::error::from_db_err;

use super::codec::{millis, time};

pub(super) async fn shared_templates_from<C: ConnectionTrait>(
    c: &C,
    parent: &AccountId,
) -> DomainResult<Vec<SharedTemplate>> {
    let shares = shared_templates::Entity::find()
        .filter(shared_templates::Column::ParentAccountId.eq(parent.as_str()))
        .order_by_asc(shared_templates::Column::TemplateId)
        .all(c)
        .await
        .map_err(from_db_err)?;
    let mut children: HashMap<String, Vec<AccountId>> = HashMap::new();
    for row in shared_template_children::Entity::find()
        .filter(shared_template_children::Column::ParentAccountId.eq(parent.as_str()))
        .order_by_asc(shared_template_children::Column::ChildAccountId)
        .all(c)
        .await
        .map_err(from_db_err)?
    {
        children
            .entry(row.template_id)
            .or_default()
            .push(AccountId::from_trusted(row.child_account_id));
    }
    shares
        .into_iter()
        .map(|s| {
            Ok(SharedTemplate {
                created_at: time(s.created_at)?,
                child_account_ids: children.remove(&s.template_id).unwrap_or_default(),
                parent_account_id: AccountId::from_trusted(s.parent_account_id),
                template_id: ResourceId::from_trusted(s.template_id),
                all_children: s.all_children,
                shared_by: UserId::from_trusted(s.shared_by),
            })
        })
        .collect()
}

pub(super) async fn save_shared_template(
    txn: &DatabaseTransaction,
    shared: &SharedTemplate,
) -> DomainResult<()> {
    delete_shared_template(txn, &shared.parent_account_id, &shared.template_id).await?;
    let parent = shared.parent_account_id.as_str().to_owned();
    let template = shared.template_id.as_str().to_owned();
    shared_templates::Entity::insert(shared_templates::ActiveModel {
        parent_account_id: Set(parent.clone()),
        template_id: Set(template.clone()),
        all_children: Set(shared.all_children),
        shared_by: Set(shared.shared_by.as_str().to_owned()),
        created_at: Set(millis(shared.created_at)),
    })
    .exec_without_returning(txn)
    .await
    .map_err(from_db_err)?;
    let children: Vec<_> = shared
        .child_account_ids
        .iter()
        .map(|child| shared_template_children::ActiveModel {
            parent_account_id: Set(parent.clone()),
            template_id: Set(template.clone()),
            child_account_id: Set(child.as_str().to_owned()),
        })
        .collect();
    if !children.is_empty() {
        shared_template_children::Entity::insert_many(children)
            .exec_without_returning(txn)
            .await
            .map_err(from_db_err)?;
    }
    Ok(())
}

pub(super) async fn delete_shared_template(
    txn: &DatabaseTransaction,
    parent: &AccountId,
    template: &ResourceId,
) -> DomainResult<bool> {
    shared_template_children::Entity::delete_many()
        .filter(shared_template_children::Column::ParentAccountId.eq(parent.as_str()))
        .filter(shared_template_children::Column::TemplateId.eq(template.as_str()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    let result = shared_templates::Entity::delete_many()
        .filter(shared_templates::Column::ParentAccountId.eq(parent.as_str()))
        .filter(shared_templates::Column::TemplateId.eq(template.as_str()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    Ok(result.rows_affected > 0)
}
