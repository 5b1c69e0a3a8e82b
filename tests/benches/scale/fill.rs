//! Bulk loading: grows the database from the mailboxes it holds to the
//! next scale with a few set-based statements per chunk of mailboxes,
//! never through SMTP or `Store::append`.
//!
//! Everything the store keeps consistent is written consistent:
//!
//! - a folder's UIDs are 1..n and its UIDNEXT n + 1; message `uid` has
//!   MODSEQ `uid + 1` and the folder's HIGHESTMODSEQ is n + 1, as n
//!   appends leave them; nothing is `\Recent` (`first_recent` = UIDNEXT);
//! - the folder's counters (messages, unseen, bytes, deleted and their
//!   bytes) and its keyword list are computed from the messages just
//!   inserted, in the same statement; the account's usage is the sum of
//!   its folders', each body's reference count grows by the messages that
//!   use it;
//! - UIDVALIDITY is the account's creation second plus the folder's
//!   place, and `last_uidvalidity` the largest, as `create_folder` would
//!   leave them; every folder is subscribed;
//! - `saved_at` is the load time, so the Junk and Trash sweep has nothing
//!   to expire while the bench runs.
//!
//! Flags are mixed by a hash of the folder and UID: the newest 5 % of an
//! INBOX and 2 % of the rest are unseen, half of Junk; 14 % of INBOX
//! answered, 3 % flagged, 0.3 % deleted, Drafts `\Draft`; a tenth of the
//! messages carry keywords (`$Forwarded`, `$Label1`, `$Label2 $Label4`,
//! `$Junk` in Junk). INTERNALDATE runs over up to five years, oldest
//! first.
//!
//! A chunk is one transaction, so an interrupted load leaves whole chunks
//! and the next run carries on from there.

use std::time::Instant;

use sqlx::{Connection, PgConnection};

use crate::bodies::{self, Body};
use crate::population::{self, Layout};

/// Mailboxes per transaction.
const CHUNK: usize = 2_000;
/// Quota of every mailbox, and per mailbox of every domain.
const QUOTA: i64 = 5 << 30;
/// When the generated accounts were created: mailbox `i` a second after
/// mailbox `i - 1`.
const CREATED: i64 = 1_700_000_000;

/// Grows the database from `from` mailboxes to `to`; every account gets
/// a password hash from `passwords` in turn. `now` is the load's time.
pub async fn grow(
    conn: &mut PgConnection,
    layout: &Layout,
    from: usize,
    to: usize,
    passwords: &[String],
    now: i64,
) -> sqlx::Result<()> {
    let started = Instant::now();
    // The load's commits need not wait for the disk: a crash in the middle
    // loses only chunks the next run loads again. Bigger sorts and index
    // work for the VACUUM after it.
    sqlx::raw_sql("SET synchronous_commit = off; SET maintenance_work_mem = '1GB'")
        .execute(&mut *conn)
        .await?;
    prepare_corpus(conn, &bodies::all()).await?;
    add_domains(conn, layout, from, to).await?;
    let mut done = from;
    while done < to {
        let end = (done + CHUNK).min(to);
        let mut tx = conn.begin().await?;
        add_accounts(&mut tx, layout, done, end, passwords).await?;
        add_folders(&mut tx, done, end).await?;
        add_messages(&mut tx, done, end, now).await?;
        tx.commit().await?;
        done = end;
        if done.is_multiple_of(50_000) || done == to {
            eprintln!(
                "scale: {done} mailboxes loaded ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    for table in ["domains", "accounts"] {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Stores the bodies and lists them in a temporary table, `scale_corpus`,
/// with their parse cache, for the message statement to draw from.
async fn prepare_corpus(conn: &mut PgConnection, bodies: &[Body]) -> sqlx::Result<()> {
    let hashes = bodies::store(conn, bodies).await?;
    sqlx::query(
        "CREATE TEMPORARY TABLE IF NOT EXISTS scale_corpus (n BIGINT PRIMARY KEY, hash TEXT, \
         size BIGINT, envelope TEXT, body_structure TEXT, subject TEXT, sent_at BIGINT, \
         sent_zone BIGINT)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("TRUNCATE scale_corpus")
        .execute(&mut *conn)
        .await?;
    let sizes: Vec<i64> = bodies.iter().map(|b| b.raw.len() as i64).collect();
    let envelopes: Vec<Option<&str>> = bodies.iter().map(|b| b.envelope.as_deref()).collect();
    let structures: Vec<Option<&str>> =
        bodies.iter().map(|b| b.body_structure.as_deref()).collect();
    let subjects: Vec<&str> = bodies.iter().map(|b| b.subject.as_str()).collect();
    let sent_at: Vec<Option<i64>> = bodies.iter().map(|b| b.sent_at).collect();
    let zones: Vec<i64> = bodies.iter().map(|b| b.sent_zone).collect();
    sqlx::query(
        "INSERT INTO scale_corpus SELECT n - 1, hash, size, envelope, body_structure, subject, \
         sent_at, sent_zone FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], \
         $5::text[], $6::bigint[], $7::bigint[]) WITH ORDINALITY \
         AS c(hash, size, envelope, body_structure, subject, sent_at, sent_zone, n)",
    )
    .bind(&hashes)
    .bind(&sizes)
    .bind(&envelopes)
    .bind(&structures)
    .bind(&subjects)
    .bind(&sent_at)
    .bind(&zones)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The domains of mailboxes `from..to` not there yet; domain `k` has id
/// `k + 1`.
async fn add_domains(
    conn: &mut PgConnection,
    layout: &Layout,
    from: usize,
    to: usize,
) -> sqlx::Result<()> {
    let domains: Vec<usize> = (layout.domain_of(from)..layout.domains(to)).collect();
    let ids: Vec<i64> = domains.iter().map(|&k| k as i64 + 1).collect();
    let names: Vec<String> = domains
        .iter()
        .map(|&k| population::domain_name(k))
        .collect();
    let quotas: Vec<i64> = domains
        .iter()
        .map(|&k| layout.size(k) as i64 * QUOTA)
        .collect();
    sqlx::query(
        "INSERT INTO domains (id, name, quota_bytes, created_at) \
         SELECT id, name, quota, $4 FROM unnest($1::bigint[], $2::text[], $3::bigint[]) \
         AS d(id, name, quota) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&ids)
    .bind(&names)
    .bind(&quotas)
    .bind(CREATED)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Accounts `from..to`; mailbox `i` has id `i + 1`.
async fn add_accounts(
    conn: &mut PgConnection,
    layout: &Layout,
    from: usize,
    to: usize,
    passwords: &[String],
) -> sqlx::Result<()> {
    let range = from..to;
    let ids: Vec<i64> = range.clone().map(|i| i as i64 + 1).collect();
    let domains: Vec<i64> = range
        .clone()
        .map(|i| layout.domain_of(i) as i64 + 1)
        .collect();
    let addresses: Vec<String> = range
        .clone()
        .map(|i| population::address(layout, i))
        .collect();
    let hashes: Vec<&str> = range
        .clone()
        .map(|i| passwords[i % passwords.len()].as_str())
        .collect();
    let folders: Vec<i64> = range.map(|i| population::folders(i).len() as i64).collect();
    sqlx::query(
        "INSERT INTO accounts (id, domain_id, address, display_name, password_hash, quota_bytes, \
         created_at, last_uidvalidity) \
         SELECT id, domain_id, address, 'Utente ' || (id - 1), hash, $6, $7 + id - 1, \
         $7 + id - 1 + folders - 1 \
         FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[]) \
         AS a(id, domain_id, address, hash, folders)",
    )
    .bind(&ids)
    .bind(&domains)
    .bind(&addresses)
    .bind(&hashes)
    .bind(&folders)
    .bind(QUOTA)
    .bind(CREATED)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The folders of accounts `from..to`, with their planned UIDNEXT, and
/// their subscriptions.
async fn add_folders(conn: &mut PgConnection, from: usize, to: usize) -> sqlx::Result<()> {
    let mut accounts = Vec::new();
    let mut names = Vec::new();
    let mut uses = Vec::new();
    let mut uidvalidities = Vec::new();
    let mut uidnexts = Vec::new();
    for i in from..to {
        for (place, folder) in population::folders(i).into_iter().enumerate() {
            accounts.push(i as i64 + 1);
            uidvalidities.push(CREATED + i as i64 + place as i64);
            uidnexts.push(folder.messages + 1);
            names.push(folder.name);
            uses.push(folder.special_use);
        }
    }
    sqlx::query(
        "INSERT INTO folders (account_id, name, special_use, uidvalidity, uidnext, highestmodseq, \
         first_recent, recent_taken_from) \
         SELECT account_id, name, special_use, uidvalidity, uidnext, uidnext, uidnext, uidnext \
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) \
         AS f(account_id, name, special_use, uidvalidity, uidnext)",
    )
    .bind(&accounts)
    .bind(&names)
    .bind(&uses)
    .bind(&uidvalidities)
    .bind(&uidnexts)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO subscriptions (account_id, name) \
         SELECT account_id, name FROM folders WHERE account_id BETWEEN $1 AND $2",
    )
    .bind(from as i64 + 1)
    .bind(to as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Every planned message of accounts `from..to`, with the counters of
/// their folders, their bodies' reference counts and their accounts'
/// usage (see the module's documentation for the flags).
async fn add_messages(
    conn: &mut PgConnection,
    from: usize,
    to: usize,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(ADD_MESSAGES)
        .bind(from as i64 + 1)
        .bind(to as i64)
        .bind(now)
        .bind(bodies::COUNT as i64)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE accounts SET used_bytes = s.bytes \
         FROM (SELECT account_id, CAST(SUM(bytes) AS BIGINT) AS bytes FROM folders \
               WHERE account_id BETWEEN $1 AND $2 GROUP BY account_id) AS s \
         WHERE accounts.id = s.account_id",
    )
    .bind(from as i64 + 1)
    .bind(to as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `$1..=$2`: the accounts; `$3`: now; `$4`: how many bodies. `h` hashes
/// the folder and UID, `p` (0..1000) picks flags and keywords from it.
/// The newest message of a folder is dated `now`, the others back from it
/// at most two days apart, over at most five years.
const ADD_MESSAGES: &str = r"
WITH added AS (
    INSERT INTO messages (folder_id, uid, blob_hash, size, internal_date, flags, keywords,
                          modseq, envelope, body_structure, subject, sent_at, sent_zone, saved_at)
    SELECT f.id, g.uid, c.hash, c.size,
           $3 - (f.uidnext - 1 - g.uid) * LEAST(172800, 157680000 / f.uidnext),
           CASE WHEN f.special_use = '\Junk' THEN CASE WHEN r.p < 500 THEN 0 ELSE 1 END
                WHEN f.name = 'INBOX'
                     AND (g.uid >= f.uidnext - GREATEST(1, (f.uidnext - 1) / 20) OR r.p < 20)
                     THEN 0
                ELSE 1 END
           + CASE WHEN f.name = 'INBOX' AND r.p % 7 = 0 THEN 2 ELSE 0 END
           + CASE WHEN r.p % 37 = 0 THEN 4 ELSE 0 END
           + CASE WHEN r.p % 499 = 0 THEN 8 ELSE 0 END
           + CASE WHEN f.special_use = '\Drafts' THEN 16 ELSE 0 END,
           CASE WHEN f.special_use = '\Junk' THEN '$Junk'
                WHEN r.p % 20 = 1 THEN '$Forwarded'
                WHEN r.p % 25 = 2 THEN '$Label1'
                WHEN r.p % 50 = 3 THEN '$Label2 $Label4'
                ELSE '' END,
           g.uid + 1, c.envelope, c.body_structure, c.subject, c.sent_at, c.sent_zone, $3
    FROM folders f
    CROSS JOIN LATERAL generate_series(1, f.uidnext - 1) AS g(uid)
    CROSS JOIN LATERAL (SELECT h, (h / 1000) % 1000 AS p
                        FROM (SELECT abs(CAST(hashint8(f.id * 4194304 + g.uid) AS BIGINT)) AS h) AS x
                       ) AS r
    JOIN scale_corpus c ON c.n = r.h % $4
    WHERE f.account_id BETWEEN $1 AND $2
    RETURNING folder_id, flags, size, keywords, blob_hash
), tally AS (
    SELECT folder_id, COUNT(*) AS messages,
           COUNT(*) FILTER (WHERE (flags & 1) = 0) AS unseen,
           CAST(SUM(size) AS BIGINT) AS bytes,
           COUNT(*) FILTER (WHERE (flags & 8) <> 0) AS deleted,
           CAST(COALESCE(SUM(size) FILTER (WHERE (flags & 8) <> 0), 0) AS BIGINT) AS deleted_bytes
    FROM added GROUP BY folder_id
), words AS (
    SELECT folder_id, string_agg(DISTINCT word, ' ') AS keywords
    FROM added, unnest(string_to_array(added.keywords, ' ')) AS split(word)
    WHERE word <> '' GROUP BY folder_id
), refs AS (
    UPDATE blobs SET refcount = blobs.refcount + used.count
    FROM (SELECT blob_hash, COUNT(*) AS count FROM added GROUP BY blob_hash) AS used
    WHERE blobs.hash = used.blob_hash
)
UPDATE folders SET messages = t.messages, unseen = t.unseen, bytes = t.bytes,
       deleted = t.deleted, deleted_bytes = t.deleted_bytes,
       keywords = COALESCE(w.keywords, '')
FROM tally t LEFT JOIN words w ON w.folder_id = t.folder_id
WHERE folders.id = t.folder_id
";
