//! Plain domain values: what the use cases read and write, one file per
//! area. Everything is re-exported here, so `crate::domain::model::X` names
//! every value wherever it lives.

mod access_requests;
mod accounts;
mod activity;
mod changes;
mod consistency;
mod decisions;
mod invitations;
mod lookups;
mod members;
mod outbox;
mod resources;
mod sharing;
mod tenants;
mod via;

pub use access_requests::*;
pub use accounts::*;
pub use activity::*;
pub use changes::*;
pub use consistency::*;
pub use decisions::*;
pub use invitations::*;
pub use lookups::*;
pub use members::*;
pub use outbox::*;
pub use resources::*;
pub use sharing::*;
pub use tenants::*;
pub use via::*;
