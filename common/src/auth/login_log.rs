//! Users' logins, noted in memory on the login path and written to the
//! store in batches by a task of `postino serve` (every second), so that a
//! login costs no store write: mail clients log in hundreds of times a
//! second. The batch is bounded; past its bound logins go unrecorded (and
//! are counted in a log line) until the next write.

use std::net::IpAddr;
use std::sync::Mutex;

use crate::store::{Result, Store, UserLogin, now};

/// The most logins held between two writes.
const MAX_PENDING: usize = 50_000;

#[derive(Default)]
pub struct LoginLog {
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    logins: Vec<UserLogin>,
    /// Logins left out since the last write, the batch being full.
    dropped: u64,
}

impl LoginLog {
    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Notes a login of `account_id` from `ip` over `protocol`.
    pub(super) fn note(&self, account_id: i64, ip: IpAddr, protocol: &'static str) {
        let mut pending = self.pending();
        if pending.logins.len() >= MAX_PENDING {
            pending.dropped += 1;
            return;
        }
        pending.logins.push(UserLogin {
            account_id,
            at: now(),
            ip: ip.to_string(),
            protocol: protocol.to_string(),
        });
    }

    /// Writes the logins noted since the last write; returns how many.
    /// Those a failed write held are lost with it: a login history is
    /// not worth retrying for.
    pub async fn flush(&self, store: &Store) -> Result<usize> {
        let (logins, dropped) = {
            let mut pending = self.pending();
            let dropped = std::mem::take(&mut pending.dropped);
            (std::mem::take(&mut pending.logins), dropped)
        };
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "too many logins at once: some left out of the users' login history"
            );
        }
        if !logins.is_empty() {
            store.record_user_logins(&logins).await?;
        }
        Ok(logins.len())
    }
}
