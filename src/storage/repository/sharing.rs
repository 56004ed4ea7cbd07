//! Resources (templates, suppression lists) a parent account shares with
//! its children.

use std::collections::HashMap;

use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};

use crate::domain::DomainResult;
use crate::domain::ids::{AccountId, ResourceId, UserId};
use crate::domain::model::{Resource, ResourceType, SharedResource};
use crate::storage::entity::{shared_resource_children, shared_resources};
use crate::storage::error::from_db_err;

use super::codec::{millis, time};

pub(super) async fn shared_resources_from<C: ConnectionTrait>(
    c: &C,
    parent: &AccountId,
    resource_type: ResourceType,
) -> DomainResult<Vec<SharedResource>> {
    let shares = shared_resources::Entity::find()
        .filter(shared_resources::Column::ParentAccountId.eq(parent.as_str()))
        .filter(shared_resources::Column::ResourceType.eq(resource_type.as_str()))
        .order_by_asc(shared_resources::Column::ResourceId)
        .all(c)
        .await
        .map_err(from_db_err)?;
    let mut children: HashMap<String, Vec<AccountId>> = HashMap::new();
    for row in shared_resource_children::Entity::find()
        .filter(shared_resource_children::Column::ParentAccountId.eq(parent.as_str()))
        .filter(shared_resource_children::Column::ResourceType.eq(resource_type.as_str()))
        .order_by_asc(shared_resource_children::Column::ChildAccountId)
        .all(c)
        .await
        .map_err(from_db_err)?
    {
        children
            .entry(row.resource_id)
            .or_default()
            .push(AccountId::from_trusted(row.child_account_id));
    }
    shares
        .into_iter()
        .map(|s| {
            Ok(SharedResource {
                created_at: time(s.created_at)?,
                child_account_ids: children.remove(&s.resource_id).unwrap_or_default(),
                parent_account_id: AccountId::from_trusted(s.parent_account_id),
                resource: Resource {
                    resource_type,
                    id: ResourceId::from_trusted(s.resource_id),
                },
                all_children: s.all_children,
                shared_by: UserId::from_trusted(s.shared_by),
            })
        })
        .collect()
}

pub(super) async fn save_shared_resource(
    txn: &DatabaseTransaction,
    shared: &SharedResource,
) -> DomainResult<()> {
    delete_shared_resource(txn, &shared.parent_account_id, &shared.resource).await?;
    let parent = shared.parent_account_id.as_str().to_owned();
    let resource_type = shared.resource.resource_type.as_str().to_owned();
    let resource_id = shared.resource.id.as_str().to_owned();
    shared_resources::Entity::insert(shared_resources::ActiveModel {
        parent_account_id: Set(parent.clone()),
        resource_type: Set(resource_type.clone()),
        resource_id: Set(resource_id.clone()),
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
        .map(|child| shared_resource_children::ActiveModel {
            parent_account_id: Set(parent.clone()),
            resource_type: Set(resource_type.clone()),
            resource_id: Set(resource_id.clone()),
            child_account_id: Set(child.as_str().to_owned()),
        })
        .collect();
    if !children.is_empty() {
        shared_resource_children::Entity::insert_many(children)
            .exec_without_returning(txn)
            .await
            .map_err(from_db_err)?;
    }
    Ok(())
}

pub(super) async fn delete_shared_resource(
    txn: &DatabaseTransaction,
    parent: &AccountId,
    resource: &Resource,
) -> DomainResult<bool> {
    shared_resource_children::Entity::delete_many()
        .filter(shared_resource_children::Column::ParentAccountId.eq(parent.as_str()))
        .filter(shared_resource_children::Column::ResourceType.eq(resource.resource_type.as_str()))
        .filter(shared_resource_children::Column::ResourceId.eq(resource.id.as_str()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    let result = shared_resources::Entity::delete_many()
        .filter(shared_resources::Column::ParentAccountId.eq(parent.as_str()))
        .filter(shared_resources::Column::ResourceType.eq(resource.resource_type.as_str()))
        .filter(shared_resources::Column::ResourceId.eq(resource.id.as_str()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    Ok(result.rows_affected > 0)
}
