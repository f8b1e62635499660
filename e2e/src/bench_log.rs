//! Reading step timings that cricket logs at debug level, for the benchmarks.

/// The median of `key=<number>` over the log lines that contain `message`, taking the
/// matching lines whose index is in `range` (runs are logged in order).
pub fn median_field(log: &str, message: &str, key: &str, range: std::ops::Range<usize>) -> f64 {
    let needle = format!("{key}=");
    let mut values: Vec<f64> = log
        .lines()
        .filter(|l| l.contains(message))
        .enumerate()
        .filter(|(i, _)| range.contains(i))
        .map(|(_, l)| l)
        .filter_map(|l| l.split(&needle).nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter_map(|v| v.parse().ok())
        .collect();
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
