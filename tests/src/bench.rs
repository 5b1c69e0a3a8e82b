//! Small things the benches (`benches/*`) share: settings from the
//! environment, latency percentiles and a process's resident set.
//!
//! Benches report timings and never assert them; these helpers only read
//! and summarise.

use std::time::Duration;

/// A non-negative whole number from the environment variable `name`, or
/// `default` when it is not set; `_` may group digits (`10_000`).
pub fn env_number(name: &str, default: usize) -> Result<usize, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(value) => value
            .trim()
            .replace('_', "")
            .parse()
            .ok()
            .filter(|&n| n <= u32::MAX as usize)
            .ok_or_else(|| format!("{name} is `{value}`, not a number")),
    }
}

/// The duration that `percent` % of `sorted` did not exceed (nearest
/// rank); `None` for no durations.
pub fn percentile(sorted: &[Duration], percent: usize) -> Option<Duration> {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// A field of `/proc/<pid>/status` given in kB, such as `VmRSS`; `None`
/// if the process is gone or the field is not there.
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let value = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?;
    value.trim().strip_suffix("kB")?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_ranks() {
        let sorted: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        assert_eq!(percentile(&sorted, 50), Some(Duration::from_millis(5)));
        assert_eq!(percentile(&sorted, 99), Some(Duration::from_millis(10)));
        assert_eq!(percentile(&sorted, 0), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn the_resident_set_of_this_process_is_read() {
        assert!(status_kib(std::process::id(), "VmRSS").is_some_and(|kib| kib > 0));
        assert_eq!(status_kib(std::process::id(), "NoSuchField"), None);
    }
}
