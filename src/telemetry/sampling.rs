//! Which requests are traced, decided before any span is made, and how a
//! caller's trace context is read (OTEL_PROPAGATORS).
//!
//! The decision is taken once per request, at the edge, from the caller's
//! context and a ratio: a request that is not sampled makes no span at all,
//! so sampling saves the work, not only the export. Every span below a
//! sampled request's span is sampled with it (the SDK's sampler is
//! `AlwaysOn`, and the trace layer takes no span outside a request's).

use std::hash::{BuildHasher, RandomState};

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

/// How requests are sampled: the standard samplers' two dimensions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampling {
    /// A caller's sampled flag decides for its requests (`parentbased_*`).
    pub parent_based: bool,
    /// The share of the other requests traced, from 0 to 1.
    pub ratio: f64,
}

impl Default for Sampling {
    /// The standard default, `parentbased_always_on`.
    fn default() -> Self {
        Self {
            parent_based: true,
            ratio: 1.0,
        }
    }
}

impl Sampling {
    /// ACCESS_TRACE_SAMPLE_RATIO (`ratio`) when set, a parent-based ratio;
    /// else the standard `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
    pub fn from_env(ratio: Option<f64>) -> anyhow::Result<Self> {
        if let Some(ratio) = ratio {
            return Ok(Self {
                parent_based: true,
                ratio,
            });
        }
        Self::parse(
            std::env::var("OTEL_TRACES_SAMPLER").ok().as_deref(),
            std::env::var("OTEL_TRACES_SAMPLER_ARG").ok().as_deref(),
        )
    }

    /// The standard sampler names (the specification's list, less the
    /// Jaeger and X-Ray remote samplers, which need a sampling server).
    pub fn parse(sampler: Option<&str>, arg: Option<&str>) -> anyhow::Result<Self> {
        let ratio = || -> anyhow::Result<f64> {
            match arg.map(str::trim).filter(|arg| !arg.is_empty()) {
                None => Ok(1.0),
                Some(arg) => arg
                    .parse::<f64>()
                    .ok()
                    .filter(|ratio| (0.0..=1.0).contains(ratio))
                    .ok_or_else(|| {
                        anyhow::anyhow!("OTEL_TRACES_SAMPLER_ARG={arg:?} is not a ratio from 0 to 1")
                    }),
            }
        };
        let (parent_based, ratio) = match sampler.map(str::trim).unwrap_or("") {
            "" | "parentbased_always_on" => (true, 1.0),
            "parentbased_always_off" => (true, 0.0),
            "parentbased_traceidratio" => (true, ratio()?),
            "always_on" => (false, 1.0),
            "always_off" => (false, 0.0),
            "traceidratio" => (false, ratio()?),
            other => anyhow::bail!(
                "OTEL_TRACES_SAMPLER={other:?} is not supported: use always_on, always_off, traceidratio \
                 or their parentbased_ forms"
            ),
        };
        Ok(Self { parent_based, ratio })
    }

    /// Whether a request whose caller sent `parent` is traced.
    pub fn sample(&self, parent: &opentelemetry::Context) -> bool {
        let span = parent.span();
        let caller = span.span_context();
        if self.parent_based && caller.is_valid() {
            return caller.is_sampled();
        }
        if self.ratio >= 1.0 {
            return true;
        }
        if self.ratio <= 0.0 {
            return false;
        }
        // A caller's trace id is the coin (every service sampling by ratio
        // then agrees on a trace); a new trace's is not made yet, so a fresh
        // random number stands in. `RandomState` is std's per-thread keyed
        // SipHash: a new one is a counter step, hashing nothing scrambles it.
        let coin = if caller.is_valid() {
            u64::from_be_bytes(caller.trace_id().to_bytes()[8..].try_into().unwrap_or_default())
        } else {
            RandomState::new().hash_one(())
        };
        // Exact enough: ratio × 2^64 in f64, compared with the coin.
        (coin as f64) < self.ratio * (u64::MAX as f64)
    }
}

/// The propagators OTEL_PROPAGATORS names (`tracecontext,baggage` when
/// unset, `none` for none); names this service does not implement (`b3`,
/// `jaeger`, `xray`, `ottrace`) are refused.
pub fn propagator_from_env() -> anyhow::Result<TextMapCompositePropagator> {
    propagator(std::env::var("OTEL_PROPAGATORS").ok().as_deref())
}

/// The composite propagator of the comma-separated `names`.
pub fn propagator(names: Option<&str>) -> anyhow::Result<TextMapCompositePropagator> {
    let names = names.map(str::trim).filter(|names| !names.is_empty());
    let mut propagators: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
    for name in names.unwrap_or("tracecontext,baggage").split(',').map(str::trim) {
        match name {
            "tracecontext" => propagators.push(Box::new(TraceContextPropagator::new())),
            "baggage" => propagators.push(Box::new(BaggagePropagator::new())),
            "none" | "" => {}
            other => anyhow::bail!(
                "OTEL_PROPAGATORS names {other:?}: this service reads tracecontext and baggage only"
            ),
        }
    }
    Ok(TextMapCompositePropagator::new(propagators))
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    use super::*;

    fn caller(sampled: bool) -> opentelemetry::Context {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            SpanId::from(0x0123_4567_89ab_cdef),
            flags,
            true,
            TraceState::default(),
        ))
    }

    #[test]
    fn the_standard_sampler_names_are_read() {
        let parse = |sampler, arg| Sampling::parse(sampler, arg).ok();
        let sampling = |parent_based, ratio| Some(Sampling { parent_based, ratio });
        assert_eq!(parse(None, None), sampling(true, 1.0));
        assert_eq!(
            parse(Some("parentbased_traceidratio"), Some("0.01")),
            sampling(true, 0.01)
        );
        assert_eq!(parse(Some("traceidratio"), None), sampling(false, 1.0));
        assert_eq!(parse(Some("always_off"), None), sampling(false, 0.0));
        assert_eq!(parse(Some("parentbased_always_off"), None), sampling(true, 0.0));
        assert_eq!(parse(Some("traceidratio"), Some("2")), None);
        assert_eq!(parse(Some("jaeger_remote"), None), None);
    }

    #[test]
    fn a_callers_decision_wins_when_parent_based() {
        let never = Sampling {
            parent_based: true,
            ratio: 0.0,
        };
        assert!(never.sample(&caller(true)));
        assert!(!never.sample(&opentelemetry::Context::new()));
        let always = Sampling::default();
        assert!(!always.sample(&caller(false)));
        assert!(always.sample(&opentelemetry::Context::new()));
        // Not parent-based: the ratio decides, on the caller's trace id.
        let own = Sampling {
            parent_based: false,
            ratio: 1.0,
        };
        assert!(own.sample(&caller(false)));
    }

    #[test]
    fn a_ratio_samples_about_its_share_of_new_traces() {
        let sampling = Sampling {
            parent_based: true,
            ratio: 0.25,
        };
        let sampled = (0..10_000)
            .filter(|_| sampling.sample(&opentelemetry::Context::new()))
            .count();
        assert!((2_000..3_000).contains(&sampled), "{sampled} of 10,000");
    }

    #[test]
    fn the_propagators_are_named_by_otel_propagators() {
        assert!(propagator(None).is_ok());
        assert!(propagator(Some("tracecontext, baggage")).is_ok());
        assert!(propagator(Some("none")).is_ok());
        assert!(propagator(Some("b3")).is_err());
        let only_baggage = propagator(Some("baggage")).expect("baggage");
        let headers = std::collections::HashMap::from([(
            "traceparent".to_owned(),
            format!("00-{}-{}-01", "ab".repeat(16), "cd".repeat(8)),
        )]);
        let context = only_baggage.extract(&headers);
        assert!(
            !context.span().span_context().is_valid(),
            "tracecontext was not asked for"
        );
        let both = propagator(None).expect("the default").extract(&headers);
        assert!(both.span().span_context().is_sampled());
    }
}
