//! Learning from users: a worker per node teaches rspamd's controller the
//! messages users filed over IMAP into Junk (spam) or out of it (ham),
//! from the jobs COPY and MOVE recorded in the store.
//!
//! The worker leases one due job at a time (a lease keeps other workers,
//! on this node or another, away from it), posts the message to each
//! controller in turn until one answers, and deletes the job once rspamd
//! has learned the message, knew it already, or cannot learn it (too few
//! words for its classifier). When no controller answers, or each one
//! fails, the job is tried again after the next of the configured waits;
//! after the last one it is given up with a warning. Between jobs the
//! worker sleeps until the next one is due (`crate::poll`).

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Bytes;
use postino_common::auth::Secret;
use postino_common::store::{LearningJob, Store, holder_name, now};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::ScanError;
use super::rspamd::{self, LearnReply};
use crate::error::Chain;
use crate::metrics;
use crate::poll::{ERROR_POLL, until_next_due};

/// How long a lease lasts beyond what one job may take.
const LEASE_MARGIN: Duration = Duration::from_secs(60);

/// How learning works, from `[antispam]`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// rspamd's controllers, `host:port`, tried in order.
    pub controllers: Vec<String>,
    /// Sent as the `Password` header, if set.
    pub password: Option<Secret>,
    /// How long one controller may take.
    pub timeout: Duration,
    /// Larger messages are not taught, as they are not scanned.
    pub max_size: usize,
    /// The waits between failed attempts; after the last one the job is
    /// given up.
    pub retry: Vec<Duration>,
    /// Our name, in the worker's name.
    pub hostname: String,
}

/// What one worker holds.
struct Learner {
    settings: Settings,
    store: Store,
    /// Who holds our leases: unique per process.
    worker: String,
    /// Longer than teaching one job may take.
    lease: Duration,
}

/// Starts this node's learning worker, until `shutdown`.
pub fn spawn(settings: Settings, store: Store, shutdown: CancellationToken, tracker: &TaskTracker) {
    let worker = holder_name(&settings.hostname);
    let tries = u32::try_from(settings.controllers.len()).unwrap_or(u32::MAX);
    let lease = settings.timeout.saturating_mul(tries) + LEASE_MARGIN;
    tracing::info!(%worker, controllers = ?settings.controllers, "learning from users started");
    let learner = Arc::new(Learner {
        settings,
        store,
        worker,
        lease,
    });
    tracker.spawn(run(learner, shutdown));
}

/// Teaches due jobs one by one, and sleeps while none is due.
async fn run(learner: Arc<Learner>, shutdown: CancellationToken) {
    let store = &learner.store;
    loop {
        let wait = match store
            .lease_learning(&learner.worker, 1, learner.lease)
            .await
        {
            Ok(ids) => match ids.first() {
                Some(&id) => {
                    let span = tracing::info_span!("learning", job = id);
                    tokio::select! {
                        () = teach(&learner, id).instrument(span) => continue,
                        () = shutdown.cancelled() => {
                            // Another node, or this one restarted, takes
                            // it up at once.
                            if let Err(err) = store.release_learning(id, &learner.worker).await {
                                tracing::warn!(job = id, error = %Chain(&err), "cannot release a learning job at shutdown");
                            }
                            return;
                        }
                    }
                }
                None => until_next_due(store.next_learning_due(), "learning").await,
            },
            Err(err) => {
                tracing::error!(error = %Chain(&err), "cannot lease learning jobs");
                ERROR_POLL
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// How one attempt at a job ended.
enum Attempt {
    /// rspamd knows the message now (or did before), or never will: the
    /// job is over.
    Done,
    /// No controller took it; try again later.
    Failed(ScanError),
}

/// Teaches one leased job, and records how it went.
async fn teach(learner: &Learner, id: i64) {
    let store = &learner.store;
    let job = match store.leased_learning(id, &learner.worker).await {
        Ok(Some(job)) => job,
        Ok(None) => return,
        Err(err) => return tracing::error!(error = %Chain(&err), "cannot read a learning job"),
    };
    let lesson = job.lesson.as_str();
    let recorded = match attempt(learner, &job).await {
        Attempt::Done => store.learning_done(id, &learner.worker).await,
        Attempt::Failed(err) => {
            metrics::learned(job.lesson, false);
            let attempts = job.attempts + 1;
            let error = Chain(&err).to_string();
            match next_attempt(&learner.settings.retry, attempts, now()) {
                Some(next) => {
                    tracing::info!(lesson, attempts, next, %error, "learning failed; will try again");
                    store
                        .learning_failed(id, &learner.worker, &error, next)
                        .await
                }
                None => {
                    tracing::warn!(lesson, attempts, account_id = job.account_id, %error, "learning failed; giving the message up");
                    store.learning_done(id, &learner.worker).await
                }
            }
        }
    };
    match recorded {
        Ok(true) => {}
        // Filed again meanwhile: the new lesson is taught next.
        Ok(false) => tracing::info!(lesson, "learning job changed while taught"),
        Err(err) => tracing::error!(error = %Chain(&err), "cannot record a learning attempt"),
    }
}

/// Posts the job's message to each controller in turn until one answers.
async fn attempt(learner: &Learner, job: &LearningJob) -> Attempt {
    let settings = &learner.settings;
    let lesson = job.lesson;
    if job.raw.len() > settings.max_size {
        tracing::info!(%lesson, size = job.raw.len(), "message too large to learn");
        return Attempt::Done;
    }
    let message = Bytes::copy_from_slice(&job.raw);
    let mut last = None;
    for server in &settings.controllers {
        let learned = rspamd::learn(
            server,
            settings.timeout,
            settings.password.as_ref(),
            lesson,
            message.clone(),
        )
        .await;
        match learned {
            Ok(LearnReply::Learned) => {
                metrics::learned(lesson, true);
                tracing::info!(%lesson, account_id = job.account_id, %server, "learned");
            }
            Ok(LearnReply::AlreadyKnown) => {
                metrics::learned(lesson, true);
                tracing::info!(%lesson, %server, "already learned");
            }
            Ok(LearnReply::Unlearnable(reason)) => {
                metrics::learned(lesson, false);
                tracing::info!(%lesson, %server, %reason, "rspamd cannot learn the message");
            }
            Err(err) => {
                tracing::debug!(%server, error = %Chain(&err), "controller failed");
                last = Some(err);
                continue;
            }
        }
        return Attempt::Done;
    }
    match last {
        Some(err) => Attempt::Failed(err),
        // No controller at all: learning is off, and its jobs are dropped.
        None => Attempt::Done,
    }
}

/// When to try again, Unix seconds, after the `attempts`th attempt (1 for
/// the first) failed at `now`; `None` once every wait of `retry` is used.
fn next_attempt(retry: &[Duration], attempts: i64, now: i64) -> Option<i64> {
    let index = usize::try_from(attempts.saturating_sub(1)).unwrap_or(0);
    let wait = retry.get(index)?;
    Some(now.saturating_add(i64::try_from(wait.as_secs()).unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_wait_is_used_once_then_the_job_is_given_up() {
        let retry = [Duration::from_secs(60), Duration::from_secs(600)];
        assert_eq!(next_attempt(&retry, 1, 1000), Some(1060));
        assert_eq!(next_attempt(&retry, 2, 1000), Some(1600));
        assert_eq!(next_attempt(&retry, 3, 1000), None);
        assert_eq!(next_attempt(&[], 1, 1000), None);
    }
}
