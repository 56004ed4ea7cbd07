//! The one integration-test binary: the real server on port 0, real SQLite
//! and MySQL databases (one fresh database per test).

mod model;
mod support;

mod abuse;
mod access_requests;
mod accounts;
mod activity;
mod actor_session;
mod auth;
mod authorize;
mod batch_authorize;
mod cache_costs;
mod cache_faults;
mod changes;
mod concurrency;
mod consistency;
mod decision_props;
mod disclosure;
mod email;
mod error_details;
mod escalation;
mod health;
mod identity;
mod invitation_lifecycle;
mod invitations;
mod limits;
mod members;
mod metrics;
mod middleware;
mod migrations;
mod no_silent_no_ops;
mod plan_quotas;
mod replicas;
mod roles;
mod seeds;
mod shared_suppression_lists;
mod shutdown;
mod snapshot;
mod statement_budgets;
mod telemetry;
mod templates;
mod tls;
mod transport;
mod users;
