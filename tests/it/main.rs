//! The one integration-test binary: the real server on port 0, real SQLite
//! and MySQL databases (one fresh database per test).

mod helpers;

mod accounts;
mod authorize;
mod health;
mod invitations;
mod templates;
mod users;
