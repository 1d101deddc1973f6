//! Latency percentiles by sorting: a run has at most a few hundred thousand samples (the
//! profile run), which sort in milliseconds once it is over, so exact nearest-rank percentiles
//! cost next to nothing and need no histogram crate.

use std::time::Duration;

use serde_json::{Value, json};

/// The usual percentiles of a set of latencies; `None` when there were no samples.
#[derive(Clone, Copy, Debug)]
pub struct Latencies {
    pub count: usize,
    pub p50: Option<Duration>,
    pub p95: Option<Duration>,
    pub p99: Option<Duration>,
    pub max: Option<Duration>,
}

impl Latencies {
    pub fn from_samples(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self {
            count: samples.len(),
            p50: percentile(&samples, 50.0),
            p95: percentile(&samples, 95.0),
            p99: percentile(&samples, 99.0),
            max: samples.last().copied(),
        }
    }

    /// Milliseconds, `null` where there were no samples.
    pub fn to_json(self) -> Value {
        json!({
            "count": self.count,
            "p50": millis(self.p50),
            "p95": millis(self.p95),
            "p99": millis(self.p99),
            "max": millis(self.max),
        })
    }
}

/// Nearest rank: the smallest sample that at least `p` % of the samples do not exceed.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64 / 100.0).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Milliseconds to two decimals, for JSON.
pub fn millis(d: Option<Duration>) -> Option<f64> {
    d.map(|d| round_to(d.as_secs_f64() * 1000.0, 2))
}

/// `12.3 ms`, or `n/a` without samples.
pub fn show(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("{:.1} ms", d.as_secs_f64() * 1000.0),
        None => "n/a".to_string(),
    }
}

/// Rounds to `decimals` places, so the JSON lines stay short and readable.
pub fn round_to(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().copied().map(Duration::from_millis).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = ms(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&samples, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&samples, 95.0), Some(Duration::from_millis(95)));
        assert_eq!(
            percentile(&samples, 100.0),
            Some(Duration::from_millis(100))
        );
        assert_eq!(percentile(&samples, 0.0), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn summary_sorts_its_samples() {
        let summary = Latencies::from_samples(ms(&[30, 10, 20]));
        assert_eq!(summary.count, 3);
        assert_eq!(summary.p50, Some(Duration::from_millis(20)));
        assert_eq!(summary.max, Some(Duration::from_millis(30)));
        assert_eq!(show(summary.p99), "30.0 ms");
        assert_eq!(show(None), "n/a");
    }
}
