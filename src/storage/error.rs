//! Translates database errors into domain errors, so no SQL text reaches a client.

use std::ops::Deref;

use sea_orm::{DbErr, RuntimeErr, SqlErr};

use crate::domain::{DomainError, ErrorReason};

/// Maps a database error to the domain error a caller can act on.
pub fn from_db_err(err: DbErr) -> DomainError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            return DomainError::exists(
                ErrorReason::Duplicate,
                "a record with the same key already exists",
            );
        }
        Some(SqlErr::ForeignKeyConstraintViolation(detail)) => {
            return DomainError::Internal(format!("foreign key violation: {detail}"));
        }
        _ => {}
    }
    if is_transient_conflict(&err) {
        return DomainError::Unavailable("a concurrent change got in the way; retry".into());
    }
    // DbErr is SeaORM's and has dozens of variants: only the unreachable
    // database is told apart, everything else is an internal error.
    #[allow(clippy::wildcard_enum_match_arm)]
    match &err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
            DomainError::Unavailable("the database cannot be reached; retry shortly".into())
        }
        _ => DomainError::Internal(err.to_string()),
    }
}

/// Deadlocks and lock-wait timeouts (MySQL 1213 and 1205) and a busy SQLite
/// file are transient: the caller may retry the whole request.
fn is_transient_conflict(err: &DbErr) -> bool {
    let (DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner))) = err else {
        return false;
    };
    let sea_orm::sqlx::Error::Database(db_err) = inner.deref() else {
        return false;
    };
    if let Some(mysql) = db_err.try_downcast_ref::<sea_orm::sqlx::mysql::MySqlDatabaseError>() {
        return matches!(mysql.number(), 1205 | 1213);
    }
    // SQLITE_BUSY (5) and SQLITE_LOCKED (6), possibly extended (low byte).
    db_err
        .code()
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 5 | 6))
}
