//! Users: the people memberships and invitations point at.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use crate::domain::DomainResult;
use crate::domain::ids::Email;
use crate::domain::model::Person;
use crate::storage::entity::users;
use crate::storage::error::from_db_err;

use super::codec::{millis, to_person};

pub(super) async fn find_person<C: ConnectionTrait>(c: &C, id: &str) -> DomainResult<Option<Person>> {
    Ok(users::Entity::find_by_id(id.to_owned())
        .one(c)
        .await
        .map_err(from_db_err)?
        .map(to_person))
}

pub(super) async fn person_by_email<C: ConnectionTrait>(
    c: &C,
    email: &Email,
) -> DomainResult<Option<Person>> {
    Ok(users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(c)
        .await
        .map_err(from_db_err)?
        .map(to_person))
}

pub(super) async fn insert_person(
    txn: &DatabaseTransaction,
    person: &Person,
    at: DateTime<Utc>,
) -> DomainResult<()> {
    users::Entity::insert(users::ActiveModel {
        id: Set(person.user_id.as_str().to_owned()),
        email: Set(person.email.as_str().to_owned()),
        name: Set(person.name.clone()),
        created_at: Set(millis(at)),
    })
    .exec_without_returning(txn)
    .await
    .map_err(from_db_err)?;
    Ok(())
}
