//! The caller a write comes through: the authentication layer's [`Caller`]
//! into the domain's [`Via`], recorded on each activity entry, and back out
//! on ListActivity and WatchChanges.

use crate::domain::model::{Via, ViaKind};
use crate::grpc::middleware::{Caller, Credential, MAX_KEY_NAME_LEN};
use crate::grpc::pb;

// A configured name is stored whole: `Via` would cut a longer one.
const _: () = assert!(MAX_KEY_NAME_LEN <= Via::MAX_NAME_LEN);

/// The caller as the activity log records it: its name and how it
/// authenticated.
pub fn via(caller: &Caller) -> Via {
    let kind = match caller.credential() {
        Credential::None => ViaKind::Local,
        Credential::ApiKey => ViaKind::ApiKey,
        Credential::ClientCertificate => ViaKind::ClientCertificate,
    };
    Via::new(kind, caller.name())
}

impl From<Via> for pb::Via {
    fn from(via: Via) -> Self {
        let kind = match via.kind() {
            ViaKind::Unknown => pb::ViaKind::Unknown,
            ViaKind::ApiKey => pb::ViaKind::ApiKey,
            ViaKind::ClientCertificate => pb::ViaKind::ClientCertificate,
            ViaKind::Local => pb::ViaKind::Local,
            ViaKind::Service => pb::ViaKind::Service,
        };
        Self {
            name: via.name().to_owned(),
            kind: kind.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_caller_is_recorded_as_local() {
        let via = via(&Caller::local());
        assert_eq!((via.kind(), via.name()), (ViaKind::Local, "local"));
        let shown = pb::Via::from(via);
        assert_eq!(shown.kind(), pb::ViaKind::Local);
    }

    #[test]
    fn unknown_is_shown_as_unknown_never_unspecified() {
        assert_eq!(pb::Via::from(Via::unknown()).kind(), pb::ViaKind::Unknown);
    }
}
