//! Mirrors the permission catalogue and built-in roles from code into the database.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait};

use crate::domain::DomainResult;
use crate::domain::permissions::{BUILTIN_ROLES, CATALOGUE};
use crate::storage::entity::{permissions, role_permissions, roles};
use crate::storage::error::from_db_err;

use super::codec::millis;

/// Writes the permission catalogue and the built-in roles from code into the
/// database, idempotently: code is the single source, the tables mirror it.
pub async fn seed_catalogue(db: &DatabaseConnection, now: DateTime<Utc>) -> DomainResult<()> {
    let txn = db.begin().await.map_err(from_db_err)?;
    for (name, description) in CATALOGUE {
        permissions::Entity::insert(permissions::ActiveModel {
            name: Set((*name).to_owned()),
            description: Set((*description).to_owned()),
        })
        .on_conflict(
            OnConflict::column(permissions::Column::Name)
                .update_column(permissions::Column::Description)
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await
        .map_err(from_db_err)?;
    }
    for role in BUILTIN_ROLES {
        roles::Entity::insert(roles::ActiveModel {
            id: Set(role.name.to_owned()),
            account_id: Set(None),
            name: Set(role.name.to_owned()),
            description: Set(role.description.to_owned()),
            builtin: Set(true),
            restricted: Set(role.restricted),
            created_at: Set(millis(now)),
        })
        .on_conflict(
            OnConflict::column(roles::Column::Id)
                .update_columns([roles::Column::Description, roles::Column::Restricted])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await
        .map_err(from_db_err)?;
        role_permissions::Entity::delete_many()
            .filter(role_permissions::Column::RoleId.eq(role.name))
            .exec(&txn)
            .await
            .map_err(from_db_err)?;
        let rows: Vec<_> = role
            .permissions()
            .iter()
            .map(|p| role_permissions::ActiveModel {
                role_id: Set(role.name.to_owned()),
                permission: Set(p.name().to_owned()),
            })
            .collect();
        role_permissions::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await
            .map_err(from_db_err)?;
    }
    txn.commit().await.map_err(from_db_err)
}
