//! The caps on open watches: the replica's (ACCESS_WATCH_MAX_OPEN) and each
//! caller's (ACCESS_WATCH_MAX_OPEN_PER_CALLER). A watch holds its places
//! from before its first check until its stream is dropped (ended, or its
//! client gone: a reset, or a connection the HTTP/2 keepalive closed).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tonic::Status;

use crate::domain::service::{caller_watch_limit, watch_limit_reached};
use crate::grpc::middleware::{Caller, Credential, Slot};
use crate::metrics::WatchMetrics;

/// The watches open on the replica, and the caps.
#[derive(Clone, Debug)]
pub(super) struct OpenWatches {
    open: Arc<AtomicUsize>,
    max: usize,
    per_caller: usize,
    metrics: WatchMetrics,
}

/// One watch's places in the counts, given back when dropped.
#[derive(Debug)]
pub(super) struct Held {
    open: Arc<AtomicUsize>,
    metrics: WatchMetrics,
    _caller: Option<Slot>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
        self.metrics.closed();
    }
}

impl OpenWatches {
    /// At most `max` watches open, `per_caller` of them one caller's.
    pub(super) fn new(max: usize, per_caller: usize, metrics: WatchMetrics) -> Self {
        Self {
            open: Arc::new(AtomicUsize::new(0)),
            max,
            per_caller,
            metrics,
        }
    }

    /// Places for one more watch of `caller`, or the refusal of the cap it
    /// would exceed (RESOURCE_EXHAUSTED: another request now would get the
    /// same answer). The caller's own cap first, as the concurrency limits
    /// do: a caller at its cap takes nothing from the others.
    pub(super) fn hold(&self, caller: &Caller) -> Result<Held, Status> {
        // Off when every request is the one local caller (authentication
        // off), or when the replica's cap would refuse first anyway.
        let counted = caller.credential() != Credential::None && self.per_caller < self.max;
        let slot = if counted {
            let slot = caller
                .in_flight()
                .take_watch(self.per_caller)
                .ok_or_else(|| caller_watch_limit(caller.name(), self.per_caller))?;
            Some(slot)
        } else {
            None
        };
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                (now < self.max).then_some(now + 1)
            })
            .is_ok();
        if !taken {
            return Err(watch_limit_reached(self.max).into());
        }
        self.metrics.opened();
        Ok(Held {
            open: Arc::clone(&self.open),
            metrics: self.metrics.clone(),
            _caller: slot,
        })
    }
}
