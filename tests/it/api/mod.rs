//! What each RPC answers, one module per area of the API, named as the
//! server's handlers, service and repository name it (docs/domain.md gives
//! the rules they cite), and end-to-end stories of the products the service
//! serves.

mod access_requests;
mod accounts;
mod activity;
mod changes;
mod decisions;
mod invitations;
mod lookups;
mod members;
mod roles;
mod seeds;
mod sharing;
mod tenants;
