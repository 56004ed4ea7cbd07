//! The gRPC edge: generated types, the handlers (which call the domain's use
//! cases), conversions, middleware and the mapping of errors to statuses.

pub mod convert;
pub mod handlers;
pub mod middleware;
mod resend;
pub mod status;

/// Code generated from `proto/access/v1/access.proto`.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod pb {
    tonic::include_proto!("access.v1");

    /// Encoded descriptors, served by reflection so grpcurl can describe the API.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("access_v1_descriptor");
}

pub use handlers::{ACTOR_TOKEN_HEADER, Acting, ActorTrust, ActsFor, GrpcHandlers, WatchSettings, Watches};
pub use resend::never_sent;
