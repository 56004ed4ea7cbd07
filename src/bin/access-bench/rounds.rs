//! Paired rounds: every cell is measured right after a health check cell at
//! the same concurrency, `rounds` times, and reported pooled with the ratio
//! of each pair.
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

/// Measures `op` at `concurrency` in `rounds` pairs (health, then `op`) and
/// pools them: one sample of every recorded call, over the sum of the
/// windows, with each round's ratio to its own floor.
pub async fn measure(load: &Arc<Load>, op: Op, concurrency: usize, rounds: usize) -> Measurement {
    let mut pooled: Option<Measurement> = None;
    for _ in 0..rounds.max(1) {
        let floor = if has_ratio(op) && op != Op::Health {
            Some(load.measure(Op::Health, concurrency).await)
        } else {
            None
        };
        let mut cell = load.measure(op, concurrency).await;
        cell.ratios = ratio(op, cell.rate(), floor.as_ref().and_then(Measurement::rate))
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

/// One round's ratio: 1 for the health check itself, none without a floor.
fn ratio(op: Op, rate: Option<f64>, floor: Option<f64>) -> Option<f64> {
    if !has_ratio(op) {
        return None;
    }
    if op == Op::Health {
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
        assert_eq!(ratio(Op::Authorize, Some(800.0), Some(1000.0)), Some(0.8));
        assert_eq!(ratio(Op::Authorize, Some(800.0), None), None);
        assert_eq!(ratio(Op::Authorize, Some(800.0), Some(0.0)), None);
        assert_eq!(ratio(Op::Authorize, None, Some(1000.0)), None);
        assert_eq!(ratio(Op::Health, Some(900.0), None), Some(1.0));
        assert_eq!(ratio(Op::AdminWrite, Some(5.0), Some(1000.0)), None);
    }
}
