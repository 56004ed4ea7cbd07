//! Guarantees that cut across the areas of the API: each module states one
//! and checks it over many RPCs, under contention, across replicas, or over
//! random inputs.

mod abuse;
mod actor_session;
mod bounds;
mod cache_costs;
mod concurrency;
mod consistency;
mod decisions;
mod disclosure;
mod error_details;
mod escalation;
mod expiry;
mod field_lengths;
mod identity;
mod no_silent_no_ops;
mod replicas;
mod snapshot;
mod statement_budgets;
