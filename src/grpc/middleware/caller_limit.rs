//! A cap on the requests one caller has in flight, so one API key (or client
//! certificate identity) cannot take the whole process-wide limit from the
//! others. The count lives in the [`Caller`] the authentication layer put in
//! the request, shared by every request of that key: taking a slot is one
//! atomic add, no lookup and no lock.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use http::Request;
use tower::{BoxError, Layer, Service};

use super::api_keys::Caller;

/// What a caller holds: its requests in flight and its open watches, one
/// pair of counters per configured key or identity, shared by its clones
/// behind one pointer (a request clones its caller: one reference count,
/// however many counters). Not part of who the caller is: two callers are
/// equal whatever their counts.
#[derive(Clone, Debug, Default)]
pub struct InFlight(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    requests: AtomicUsize,
    watches: AtomicUsize,
}

/// Which of a caller's counters a slot is in.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Request,
    Watch,
}

impl Counts {
    fn of(&self, kind: Kind) -> &AtomicUsize {
        match kind {
            Kind::Request => &self.requests,
            Kind::Watch => &self.watches,
        }
    }
}

impl PartialEq for InFlight {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for InFlight {}

impl InFlight {
    /// A request's slot, when fewer than `max` requests hold one.
    fn take(&self, max: usize) -> Option<Slot> {
        self.take_of(Kind::Request, max)
    }

    /// An open watch's slot, when fewer than `max` watches hold one.
    pub fn take_watch(&self, max: usize) -> Option<Slot> {
        self.take_of(Kind::Watch, max)
    }

    fn take_of(&self, kind: Kind, max: usize) -> Option<Slot> {
        let taken = self
            .0
            .of(kind)
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                (now < max).then_some(now + 1)
            })
            .is_ok();
        taken.then(|| Slot(Arc::clone(&self.0), kind))
    }

    /// Requests in flight now.
    pub fn count(&self) -> usize {
        self.0.requests.load(Ordering::Acquire)
    }

    /// Watches open now.
    pub fn watches(&self) -> usize {
        self.0.watches.load(Ordering::Acquire)
    }
}

/// One place in a caller's count, given back when dropped.
#[derive(Debug)]
pub struct Slot(Arc<Counts>, Kind);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.of(self.1).fetch_sub(1, Ordering::AcqRel);
    }
}

/// The refusal of a request over its caller's limit.
#[derive(Debug, thiserror::Error)]
#[error(
    "caller '{caller}' has {limit} requests in flight, its limit: wait for some to finish \
     (or spread the load over more API keys)"
)]
pub struct CallerBusy {
    /// The caller's name.
    pub caller: String,
    /// Its limit (ACCESS_MAX_CONCURRENT_REQUESTS_PER_CALLER).
    pub limit: usize,
}

/// Adds [`CallerLimit`] around a service.
#[derive(Clone, Copy, Debug)]
pub struct CallerLimitLayer {
    max: usize,
}

impl CallerLimitLayer {
    /// At most `max` requests in flight per caller.
    pub fn new(max: usize) -> Self {
        Self { max }
    }
}

impl<S> Layer<S> for CallerLimitLayer {
    type Service = CallerLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallerLimit { inner, max: self.max }
    }
}

/// A service that refuses a request whose caller already has its limit in
/// flight. Requests without a caller (health, reflection) pass: the
/// process-wide limit bounds them.
#[derive(Clone, Debug)]
pub struct CallerLimit<S> {
    inner: S,
    max: usize,
}

impl<S, B> Service<Request<B>> for CallerLimit<S>
where
    S: Service<Request<B>>,
    S::Error: Into<BoxError>,
    S::Future: Unpin,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Limited<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let slot = match request.extensions().get::<Caller>() {
            None => None,
            Some(caller) => match caller.in_flight().take(self.max) {
                Some(slot) => Some(slot),
                None => {
                    return Limited::Refused(Some(CallerBusy {
                        caller: caller.name().to_owned(),
                        limit: self.max,
                    }));
                }
            },
        };
        Limited::Running {
            answer: self.inner.call(request),
            _slot: slot,
        }
    }
}

/// The answer of [`CallerLimit`]: the inner service's, holding the slot
/// until it resolves (as tower's concurrency limit holds its permit), or
/// the refusal.
#[derive(Debug)]
pub enum Limited<F> {
    /// Served, the slot held.
    Running {
        /// The inner service's answer.
        answer: F,
        /// Given back when the answer is dropped.
        _slot: Option<Slot>,
    },
    /// Refused; taken when polled.
    Refused(Option<CallerBusy>),
}

impl<F, T, E> Future for Limited<F>
where
    F: Future<Output = Result<T, E>> + Unpin,
    E: Into<BoxError>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Limited::Running { answer, .. } => Pin::new(answer).poll(cx).map_err(Into::into),
            Limited::Refused(refusal) => Poll::Ready(Err(match refusal.take() {
                Some(refusal) => Box::new(refusal),
                None => "polled after completion".into(),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watches_are_counted_apart_from_requests() {
        let in_flight = InFlight::default();
        let request = in_flight.take(1).expect("a slot");
        let watch = in_flight.take_watch(1).expect("a watch's own slot");
        assert!(in_flight.take_watch(1).is_none(), "one of one held");
        assert_eq!((in_flight.count(), in_flight.watches()), (1, 1));
        drop(watch);
        assert_eq!((in_flight.count(), in_flight.watches()), (1, 0));
        drop(request);
        assert_eq!(in_flight.count(), 0);
    }

    #[test]
    fn slots_are_counted_and_given_back() {
        let in_flight = InFlight::default();
        let first = in_flight.take(2).expect("a slot");
        let second = in_flight.take(2).expect("a slot");
        assert!(in_flight.take(2).is_none(), "two of two held");
        assert_eq!(in_flight.count(), 2);
        drop(first);
        assert!(in_flight.take(2).is_some(), "one given back");
        drop(second);
        assert_eq!(in_flight.count(), 0);
    }
}
