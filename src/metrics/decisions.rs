//! Authorize's answers by reason: the figure an authorization service's
//! operators watch first (a jump in `NOT_A_MEMBER` or `MFA_REQUIRED` is a
//! misconfigured caller or an attack long before it is an incident).
//!
//! Each check of a BatchAuthorize counts as one decision. A reason's
//! series is resolved the first time it is given; afterwards a decision
//! costs an atomic increment, and a batch one increment per distinct reason.

use std::sync::OnceLock;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::domain::model::Reason;

/// `decision` (`allow` or `deny`) and `reason`.
type DecisionLabels = [(&'static str, &'static str); 2];

/// More places than [`Reason`] has variants; a reason past them (none
/// today) is counted through the family's map instead.
const PLACES: usize = 32;

/// Where Authorize and BatchAuthorize count their answers.
#[derive(Clone, Debug)]
pub struct DecisionMetrics(std::sync::Arc<Resolved>);

#[derive(Debug)]
struct Resolved {
    family: Family<DecisionLabels, Counter>,
    by_reason: [OnceLock<Counter>; PLACES],
}

impl DecisionMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let family = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "access_decisions",
            "Authorize answers (each check of a batch counts), by decision and reason",
            family.clone(),
        );
        Self(std::sync::Arc::new(Resolved {
            family,
            by_reason: std::array::from_fn(|_| OnceLock::new()),
        }))
    }

    /// A detached instance, for handlers built without a metrics registry.
    pub fn unregistered() -> Self {
        Self::register(&mut Registry::default())
    }

    /// Counts `count` answers given for `reason`.
    pub fn record(&self, reason: Reason, count: u64) {
        let labels = [
            (
                "decision",
                if reason == Reason::Allowed {
                    "allow"
                } else {
                    "deny"
                },
            ),
            ("reason", reason.code()),
        ];
        match self.0.by_reason.get(reason as usize) {
            Some(place) => place
                .get_or_init(|| self.0.family.get_or_create(&labels).clone())
                .inc_by(count),
            None => self.0.family.get_or_create(&labels).inc_by(count),
        };
    }

    /// Counts every answer of a batch, one increment per distinct reason.
    pub fn record_all(&self, reasons: impl IntoIterator<Item = Reason>) {
        // A batch holds few distinct reasons: a short list beats a map.
        let mut tally: Vec<(Reason, u64)> = Vec::new();
        for reason in reasons {
            match tally.iter_mut().find(|(seen, _)| *seen == reason) {
                Some((_, count)) => *count += 1,
                None => tally.push((reason, 1)),
            }
        }
        for (reason, count) in tally {
            self.record(reason, count);
        }
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;

    use super::*;

    #[test]
    fn a_batch_counts_each_check_under_its_reason() {
        let mut registry = Registry::default();
        let decisions = DecisionMetrics::register(&mut registry);
        decisions.record(Reason::Allowed, 1);
        decisions.record_all([Reason::Allowed, Reason::OutOfScope, Reason::Allowed]);
        let mut text = String::new();
        encode(&mut text, &registry).expect("encodes");
        assert!(
            text.contains(r#"access_decisions_total{decision="allow",reason="ALLOWED"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(r#"access_decisions_total{decision="deny",reason="OUT_OF_SCOPE"} 1"#),
            "{text}"
        );
        assert!(!text.contains("NOT_A_MEMBER"), "{text}");
    }
}
