//! Percentiles of measured durations, as the benches print them.

use std::time::Duration;

/// The `p` percentile (0.0 to 1.0, nearest rank) of `v`, in milliseconds.
pub fn millis(v: &[Duration], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_of_the_sorted_values() {
        let v: Vec<Duration> = [5, 1, 3, 2, 4].map(Duration::from_millis).to_vec();
        assert_eq!(millis(&v, 0.0), 1.0);
        assert_eq!(millis(&v, 0.5), 3.0);
        assert_eq!(millis(&v, 0.99), 5.0);
    }
}
