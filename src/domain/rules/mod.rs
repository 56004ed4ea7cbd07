//! The pure rules of docs/domain.md: facts in, answer out, no store. The use
//! cases (`domain::service`) read the facts and call these; the properties
//! and unit tests judge them without a database.

pub mod account_list;
pub mod actors;
pub mod decision;
pub mod ends;
pub mod guards;
pub mod lookups;
pub mod member_list;
pub mod people;
pub mod quotas;
pub mod reach;
