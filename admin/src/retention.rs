//! The purge of what Postino keeps about people past `[retention]`:
//! employee mail metadata after `metadata` (see the store's
//! `METADATA_TABLES`), the administrators' audit and access logs after
//! `admin_log`, their hash chains anchored on the last entry removed. The
//! mail itself is never touched. It runs every hour, on the one node that
//! holds the purge's lease at that moment; each pass counts what it
//! removed in `postino_retention_purged_rows_total{what}` and says so in
//! one log line.

use std::time::Duration;

use metrics::{counter, describe_counter};
use postino_common::store::{LogChain, Store, now};
use postino_config::RetentionConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The lease's name in the store.
const LEASE: &str = "retention";
/// How often the purge runs: nothing stays an hour longer than it should.
const EVERY: Duration = Duration::from_secs(3600);
/// Rows removed by the purge, by `what`: a metadata table, or a log.
const PURGED: &str = "postino_retention_purged_rows_total";

/// Starts the purge.
pub fn spawn(
    store: Store,
    hostname: &str,
    retention: &RetentionConfig,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    describe_counter!(
        PURGED,
        "Rows removed past [retention]: employee mail metadata, by table, and the admin logs"
    );
    let retention = retention.clone();
    crate::leased::spawn(
        store,
        hostname,
        LEASE,
        EVERY,
        shutdown,
        tracker,
        move |store| {
            let retention = retention.clone();
            async move {
                purge(&store, &retention, now()).await;
            }
        },
    );
}

/// One pass, as if the time were `now` (seconds since the epoch): tests
/// move the clock forward through it.
async fn purge(store: &Store, retention: &RetentionConfig, now: i64) {
    let age =
        |kept: Duration| now.saturating_sub(i64::try_from(kept.as_secs()).unwrap_or(i64::MAX));
    let mut purged = Vec::new();
    match store.purge_metadata(age(retention.metadata.0)).await {
        Ok(tables) => purged.extend(tables),
        Err(err) => tracing::warn!(error = %err, "cannot purge old mail metadata"),
    }
    for chain in LogChain::ALL {
        match store.purge_chain(chain, age(retention.admin_log.0)).await {
            Ok(removed) => purged.push((chain.table(), removed)),
            Err(err) => {
                tracing::warn!(log = chain.name(), error = %err, "cannot purge an old admin log");
            }
        }
    }
    purged.retain(|(_, removed)| *removed > 0);
    if purged.is_empty() {
        return;
    }
    for (what, removed) in &purged {
        counter!(PURGED, "what" => *what).increment(*removed);
    }
    let said: Vec<String> = purged
        .iter()
        .map(|(what, removed)| format!("{what}={removed}"))
        .collect();
    tracing::info!(
        purged = %said.join(" "),
        metadata = %retention.metadata,
        admin_log = %retention.admin_log,
        "purged records past their retention"
    );
}

#[cfg(test)]
mod tests {
    use postino_common::store::testing::pool;
    use postino_common::store::{
        AccessMethod, AdminAccess, AdminScope, METADATA_TABLES, UserLogin,
    };

    use super::*;
    use crate::ops::testing::{deliver, ops};

    postino_common::store_tests!(the_clock_moved_forward_purges_metadata_then_admin_logs);

    const DAY: i64 = 86_400;

    async fn count(store: &Store, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool(store))
            .await
            .unwrap()
    }

    async fn the_clock_moved_forward_purges_metadata_then_admin_logs(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        provincia
            .add_domain("comune.esempio.it", 0, 0)
            .await
            .unwrap();
        let anna = provincia
            .add_mailbox("anna@comune.esempio.it", None, 0, "")
            .await
            .unwrap();
        deliver(&store, "anna@comune.esempio.it", 100).await;
        let inbox = store.folder(anna.id, "INBOX").await.unwrap().unwrap();
        store
            .record_admin_access(&AdminAccess {
                who: "provincia".to_string(),
                origin: "192.0.2.1".to_string(),
                method: AccessMethod::Password,
                succeeded: false,
                detail: "wrong password".to_string(),
            })
            .await
            .unwrap();
        let now = now();
        // Metadata of every kind, one row ten days old and one a month old.
        for (age, recipient) in [(10 * DAY, "new@altrove.it"), (30 * DAY, "old@altrove.it")] {
            let at = now - age;
            for sql in [
                "INSERT INTO auth_failures (key, failures, first_at, last_at) VALUES ($1, 1, $2, $2)",
                "INSERT INTO auth_known_clients (key, client, last_at) VALUES ($1, 'ip:192.0.2.9', $2)",
                "INSERT INTO sent_messages (account_id, sent_at) VALUES ($3, $2)",
                "INSERT INTO sent_recipients (account_id, recipient, sent_at) VALUES ($3, $1, $2)",
                "INSERT INTO sending_limit_hits (account_id, limit_name, first_at, last_at, refused) \
                 VALUES ($3, $1, $2, $2, 1)",
                "INSERT INTO vacation_replies (account_id, handle, sender, sent_at) VALUES ($3, 'h', $1, $2)",
            ] {
                sqlx::query(sql)
                    .bind(recipient)
                    .bind(at)
                    .bind(anna.id)
                    .execute(pool(&store))
                    .await
                    .unwrap();
            }
            store
                .record_user_logins(&[UserLogin {
                    account_id: anna.id,
                    at,
                    ip: "192.0.2.9".to_string(),
                    protocol: "imap".to_string(),
                }])
                .await
                .unwrap();
        }
        let settings = RetentionConfig::default();
        let audited = count(&store, "audit_log").await;
        assert!(audited >= 2);

        // Twenty-two days on, as many rows as were a month old are gone.
        purge(&store, &settings, now).await;
        for (table, _) in METADATA_TABLES {
            assert_eq!(count(&store, table).await, 1, "{table}");
        }
        purge(&store, &settings, now + 12 * DAY).await;
        for (table, _) in METADATA_TABLES {
            assert_eq!(count(&store, table).await, 0, "{table} after 22 days");
        }
        // The mail, and the admin logs, are kept past 21 days.
        assert_eq!(count(&store, "messages").await, 1);
        assert_eq!(store.message_uids(inbox.id).await.unwrap(), [1]);
        assert_eq!(count(&store, "audit_log").await, audited);
        assert_eq!(count(&store, "admin_access").await, 1);
        purge(&store, &settings, now + 179 * DAY).await;
        assert_eq!(count(&store, "audit_log").await, audited);

        // Past six months they go, and what is appended after still
        // chains to the last entry removed.
        purge(&store, &settings, now + 181 * DAY).await;
        assert_eq!(count(&store, "audit_log").await, 0);
        assert_eq!(count(&store, "admin_access").await, 0);
        provincia
            .add_domain("altro.esempio.it", 0, 0)
            .await
            .unwrap();
        for report in provincia.verify_logs().await.unwrap() {
            assert_eq!(report.broken, None, "{report:?}");
            assert!(!report.anchor.is_empty(), "{report:?}");
        }
        assert_eq!(count(&store, "messages").await, 1);
    }
}
