//! Users: the people memberships and invitations point at.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter};

use crate::domain::DomainResult;
use crate::domain::ids::{Email, UserId};
use crate::domain::model::{Identity, Person};
use crate::storage::entity::{memberships, users};
use crate::storage::error::from_db_err;

use super::codec::{ACTIVE, millis, to_person};
use super::expect_one;

pub(super) async fn find_person<C: ConnectionTrait>(c: &C, id: &str) -> DomainResult<Option<Person>> {
    Ok(users::Entity::find_by_id(id.to_owned())
        .one(c)
        .await
        .map_err(from_db_err)?
        .map(to_person))
}

fn to_identity(row: users::Model) -> Identity {
    Identity {
        email_proven: row.email_proven,
        person: to_person(row),
    }
}

pub(super) async fn identity<C: ConnectionTrait>(c: &C, id: &UserId) -> DomainResult<Option<Identity>> {
    Ok(users::Entity::find_by_id(id.as_str().to_owned())
        .one(c)
        .await
        .map_err(from_db_err)?
        .map(to_identity))
}

pub(super) async fn identity_by_email<C: ConnectionTrait>(
    c: &C,
    email: &Email,
) -> DomainResult<Option<Identity>> {
    Ok(users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(c)
        .await
        .map_err(from_db_err)?
        .map(to_identity))
}

pub(super) async fn person_by_email<C: ConnectionTrait>(
    c: &C,
    email: &Email,
) -> DomainResult<Option<Person>> {
    Ok(identity_by_email(c, email).await?.map(|identity| identity.person))
}

pub(super) async fn active_anywhere<C: ConnectionTrait>(c: &C, user: &UserId) -> DomainResult<bool> {
    let active = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user.as_str()))
        .filter(memberships::Column::Status.eq(ACTIVE))
        .count(c)
        .await
        .map_err(from_db_err)?;
    Ok(active > 0)
}

pub(super) async fn insert_person(
    txn: &DatabaseTransaction,
    identity: &Identity,
    at: DateTime<Utc>,
) -> DomainResult<()> {
    let person = &identity.person;
    users::Entity::insert(users::ActiveModel {
        id: Set(person.user_id.as_str().to_owned()),
        email: Set(person.email.as_str().to_owned()),
        name: Set(person.name.clone()),
        created_at: Set(millis(at)),
        email_proven: Set(identity.email_proven),
    })
    .exec_without_returning(txn)
    .await
    .map_err(from_db_err)?;
    Ok(())
}

/// The user's row, and the copy of the email each of their memberships keeps
/// for the user list's order (migration 4), changed together.
pub(super) async fn update_identity(txn: &DatabaseTransaction, identity: &Identity) -> DomainResult<()> {
    let person = &identity.person;
    let result = users::Entity::update_many()
        .col_expr(users::Column::Email, Expr::value(person.email.as_str()))
        .col_expr(users::Column::Name, Expr::value(person.name.as_str()))
        .col_expr(users::Column::EmailProven, Expr::value(identity.email_proven))
        .filter(users::Column::Id.eq(person.user_id.as_str()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    expect_one(result.rows_affected, "update a user")?;
    memberships::Entity::update_many()
        .col_expr(memberships::Column::Email, Expr::value(person.email.as_str()))
        .filter(memberships::Column::UserId.eq(person.user_id.as_str()))
        .exec(txn)
        .await
        .map_err(from_db_err)?;
    Ok(())
}
