//! SeaORM entities, one per table of the migration.

pub mod access_requests;
pub mod accounts;
pub mod activity_log;
pub mod invitation_scopes;
pub mod invitations;
pub mod membership_grants;
pub mod membership_scopes;
pub mod memberships;
pub mod outbox;
pub mod outbox_invitations;
pub mod permissions;
pub mod role_permissions;
pub mod roles;
pub mod shared_resource_children;
pub mod shared_resources;
pub mod users;
