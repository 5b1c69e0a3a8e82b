//! Small things the benches (`benches/*`) share: settings from the
//! environment and no arguments, latency percentiles, a process's resident
//! set, and the server's warnings.
//!
//! Benches report timings and never assert them; these helpers only read
//! and summarise.

use std::time::Duration;

use crate::{Backend, Server};

/// A bench's settings, read from the environment by `from_env`. `cargo
/// bench` passes `--bench`; any other argument is refused, with a word on
/// `variables`, where the settings go. `None` once what is wrong is
/// printed, after the name of the `bench`.
pub fn settings<S>(
    bench: &str,
    variables: &str,
    from_env: impl FnOnce() -> Result<S, String>,
) -> Option<S> {
    let settings = match from_env() {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("{bench} bench: {message}");
            return None;
        }
    };
    if let Some(arg) = std::env::args().skip(1).find(|arg| arg != "--bench") {
        eprintln!("{bench} bench: unexpected argument `{arg}`; set {variables} instead");
        return None;
    }
    Some(settings)
}

/// The backends the environment variable `name` asks for: `sqlite`,
/// `postgres`, or `both` when it is empty or not set.
pub fn env_backends(name: &str) -> Result<Vec<Backend>, String> {
    match std::env::var(name).as_deref() {
        Err(_) | Ok("both" | "") => Ok(vec![Backend::Sqlite, Backend::Postgres]),
        Ok("sqlite") => Ok(vec![Backend::Sqlite]),
        Ok("postgres") => Ok(vec![Backend::Postgres]),
        Ok(other) => Err(format!("{name} is `{other}`, not sqlite, postgres or both")),
    }
}

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

/// CPU seconds (user and system) in `/proc/PID/stat`: the process's own,
/// and its children's that it has waited for. Dovecot's master waits for
/// its login, auth and imap processes; this process for the migration.
pub fn cpu_seconds(pid: &str) -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return (0.0, 0.0);
    };
    // The fields after the command name (in parentheses, which may hold
    // spaces); utime, stime, cutime and cstime are the 14th to 17th of
    // the line, in ticks of 1/100 s on Linux.
    let Some((_, rest)) = stat.rsplit_once(") ") else {
        return (0.0, 0.0);
    };
    let ticks: Vec<f64> = rest
        .split_ascii_whitespace()
        .skip(11)
        .take(4)
        .filter_map(|f| f.parse().ok())
        .collect();
    match ticks.as_slice() {
        [utime, stime, cutime, cstime] => ((utime + stime) / 100.0, (cutime + cstime) / 100.0),
        _ => (0.0, 0.0),
    }
}

/// Stops a bench's server, failing unless it exits cleanly, and returns
/// the lines of its log at WARN or ERROR.
pub async fn stop_server(server: &mut Server) -> Vec<String> {
    let status = server.stop().await;
    assert!(status.success(), "postino serve exited with {status}");
    server
        .log()
        .lines()
        .filter(|line| matches!(line.split_whitespace().nth(1), Some("WARN" | "ERROR")))
        .map(str::to_string)
        .collect()
}

/// What to say below a report about the `warnings` the server logged in
/// `run`: how many, then the first `quoted` of them; nothing without any.
pub fn warning_notes(run: &str, warnings: &[String], quoted: usize) -> Vec<String> {
    if warnings.is_empty() {
        return Vec::new();
    }
    let count = format!(
        "{run}: the server logged {} warnings or errors, the first:",
        warnings.len()
    );
    let first = warnings
        .iter()
        .take(quoted)
        .map(|line| format!("    {line}"));
    std::iter::once(count).chain(first).collect()
}

/// Makes PostgreSQL's planner statistics and visibility map current after
/// a bulk load, as autovacuum would in time, then writes the load's pages
/// out with a checkpoint. Otherwise what is measured is the load's
/// aftermath: rows nobody has vacuumed are read from the table instead of
/// from the index alone (a 10,000-message folder's UID list took 160 ms
/// instead of 3), and the checkpoint the load's WAL calls for runs while
/// the measured commits wait behind its writes.
pub async fn settle(conn: &mut sqlx::PgConnection) -> sqlx::Result<()> {
    sqlx::raw_sql("VACUUM (ANALYZE)")
        .execute(&mut *conn)
        .await?;
    sqlx::raw_sql("CHECKPOINT").execute(conn).await?;
    Ok(())
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
    fn warnings_are_counted_and_the_first_quoted() {
        assert!(warning_notes("sqlite", &[], 5).is_empty());
        let warnings: Vec<String> = (1..=3).map(|n| format!("WARN {n}")).collect();
        assert_eq!(
            warning_notes("sqlite", &warnings, 2),
            [
                "sqlite: the server logged 3 warnings or errors, the first:",
                "    WARN 1",
                "    WARN 2",
            ]
        );
    }

    #[test]
    fn the_resident_set_of_this_process_is_read() {
        assert!(status_kib(std::process::id(), "VmRSS").is_some_and(|kib| kib > 0));
        assert_eq!(status_kib(std::process::id(), "NoSuchField"), None);
    }
}
