//! Paired rounds: every cell is measured right after two health check cells
//! at the same concurrency, a bare tonic server's (the machine's floor) and
//! the service's own, `rounds` times, and reported pooled with the ratios of
//! each round.
//!
//! Server and load generator share the machine's cores with whatever else
//! runs there, so the machine's speed drifts over a run: two cells measured
//! a minute apart can differ by a third for reasons that are not the
//! service's. A floor measured seconds before its cell drifts with it, so
//! the ratio of a pair is far steadier than the ratio of two distant cells,
//! and the spread of the pairs over several rounds says how far to trust it.

use std::sync::Arc;

use crate::driver::Load;
use crate::scenarios::{Measurement, Op};

/// Measures `op` at `concurrency` in `rounds` rounds (the bare floor, the
/// service's health check, then `op`) and pools them: one sample of every
/// recorded call, over the sum of the windows, with each round's ratios to
/// its own floors.
pub async fn measure(load: &Arc<Load>, op: Op, concurrency: usize, rounds: usize) -> Measurement {
    let mut pooled: Option<Measurement> = None;
    for _ in 0..rounds.max(1) {
        let bare = if has_ratio(op) && op != Op::BareHealth {
            Some(load.measure(Op::BareHealth, concurrency).await)
        } else {
            None
        };
        let floor = if has_ratio(op) && op != Op::Health && op != Op::BareHealth {
            Some(load.measure(Op::Health, concurrency).await)
        } else {
            None
        };
        let mut cell = load.measure(op, concurrency).await;
        cell.ratios = ratio(
            op,
            Op::Health,
            cell.rate(),
            floor.as_ref().and_then(Measurement::rate),
        )
        .into_iter()
        .collect();
        cell.bare_ratios = ratio(
            op,
            Op::BareHealth,
            cell.rate(),
            bare.as_ref().and_then(Measurement::rate),
        )
        .into_iter()
        .collect();
        cell.floor = floor.map(|floor| floor.sample);
        pooled = Some(match pooled {
            None => cell,
            Some(mut so_far) => {
                pool(&mut so_far, &cell);
                so_far
            }
        });
    }
    pooled.unwrap_or_else(|| unreachable!("at least one round is measured"))
}

/// Whether the cell is compared with the health check: not the admin write,
/// whose one writer is not the load its in-flight column counts (that is the
/// background Authorize load), so the ratio would compare unlike things.
fn has_ratio(op: Op) -> bool {
    op != Op::AdminWrite
}

/// One round's ratio to `floor_op`'s cell: 1 for that floor itself, none
/// without a floor.
fn ratio(op: Op, floor_op: Op, rate: Option<f64>, floor: Option<f64>) -> Option<f64> {
    if !has_ratio(op) {
        return None;
    }
    if op == floor_op {
        return rate.map(|_| 1.0);
    }
    rate.zip(floor.filter(|floor| *floor > 0.0))
        .map(|(rate, floor)| rate / floor)
}

/// Adds a later round of the same cell to `into`.
fn pool(into: &mut Measurement, round: &Measurement) {
    into.sample.merge(&round.sample);
    into.seconds += round.seconds;
    if let (Some(background), Some(more)) = (&mut into.background, &round.background) {
        background.merge(more);
    }
    into.ratios.extend_from_slice(&round.ratios);
    into.bare_ratios.extend_from_slice(&round.bare_ratios);
    into.cpu_seconds = into.cpu_seconds.zip(round.cpu_seconds).map(|(a, b)| a + b);
    if let (Some(floor), Some(more)) = (&mut into.floor, &round.floor) {
        floor.merge(more);
    }
}

/// The median of the rounds' ratios and their range; `None` without any.
pub fn summary(ratios: &[f64]) -> Option<(f64, f64, f64)> {
    let mut sorted = ratios.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (&min, &max) = (sorted.first()?, sorted.last()?);
    let mid = sorted.len() / 2;
    let median = if sorted.len().is_multiple_of(2) {
        f64::midpoint(sorted[mid - 1], sorted[mid])
    } else {
        sorted[mid]
    };
    Some((median, min, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_is_the_median_and_the_range() {
        assert_eq!(summary(&[0.9, 0.7, 0.8]), Some((0.8, 0.7, 0.9)));
        assert_eq!(summary(&[1.0, 0.5]), Some((0.75, 0.5, 1.0)));
        assert_eq!(summary(&[]), None);
    }

    #[test]
    fn a_ratio_needs_a_floor_and_a_comparable_cell() {
        let to_health = |op, rate, floor| ratio(op, Op::Health, rate, floor);
        assert_eq!(to_health(Op::Authorize, Some(800.0), Some(1000.0)), Some(0.8));
        assert_eq!(to_health(Op::Authorize, Some(800.0), None), None);
        assert_eq!(to_health(Op::Authorize, Some(800.0), Some(0.0)), None);
        assert_eq!(to_health(Op::Authorize, None, Some(1000.0)), None);
        assert_eq!(to_health(Op::Health, Some(900.0), None), Some(1.0));
        assert_eq!(to_health(Op::AdminWrite, Some(5.0), Some(1000.0)), None);
        // The bare server's floor: the service's health check has a ratio to it.
        assert_eq!(
            ratio(Op::Health, Op::BareHealth, Some(450.0), Some(1000.0)),
            Some(0.45)
        );
        assert_eq!(
            ratio(Op::BareHealth, Op::BareHealth, Some(1000.0), None),
            Some(1.0)
        );
        assert_eq!(ratio(Op::BareHealth, Op::Health, Some(1000.0), None), None);
    }
}
