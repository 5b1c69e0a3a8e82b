//! When the background workers (outbound delivery, learning) look at their
//! jobs in the store again: once the next one is due, but neither in a
//! busy loop nor after a long sleep, which covers jobs added where no
//! wake-up reaches the worker (another process, another node).

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use postino_common::store::StoreError;

use crate::error::Chain;

/// The longest a worker sleeps without looking at its jobs.
pub(crate) const FALLBACK_POLL: Duration = Duration::from_secs(10);
/// The shortest: a job due now that another worker took meanwhile is not
/// looked for in a busy loop.
const MIN_POLL: Duration = Duration::from_millis(100);
/// How long a worker waits after the store failed it.
pub(crate) const ERROR_POLL: Duration = Duration::from_secs(1);

/// How long to sleep until the next job is due, as `next_due` reads it
/// (Unix seconds, `None` when there is no job); `jobs` names them in the
/// log when the store fails.
pub(crate) async fn until_next_due(
    next_due: impl Future<Output = Result<Option<i64>, StoreError>>,
    jobs: &'static str,
) -> Duration {
    match next_due.await {
        Ok(due) => wait_until(due, SystemTime::now()),
        Err(err) => {
            tracing::error!(error = %Chain(&err), jobs, "cannot read the jobs to do");
            ERROR_POLL
        }
    }
}

/// The wait from `now` until `due` (Unix seconds, `None` for no job),
/// within [`MIN_POLL`] and [`FALLBACK_POLL`].
fn wait_until(due: Option<i64>, now: SystemTime) -> Duration {
    let Some(due) = due else {
        return FALLBACK_POLL;
    };
    let due = UNIX_EPOCH + Duration::from_secs(u64::try_from(due).unwrap_or(0));
    due.duration_since(now)
        .unwrap_or(Duration::ZERO)
        .clamp(MIN_POLL, FALLBACK_POLL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_sleep_until_the_next_job_is_due() {
        let now = UNIX_EPOCH + Duration::from_millis(1_000_250);
        assert_eq!(wait_until(None, now), FALLBACK_POLL);
        assert_eq!(wait_until(Some(1003), now), Duration::from_millis(2750));
        assert_eq!(wait_until(Some(1_000_000), now), FALLBACK_POLL);
        assert_eq!(wait_until(Some(999), now), MIN_POLL, "already due");
        assert_eq!(wait_until(Some(-5), now), MIN_POLL);
    }
}
