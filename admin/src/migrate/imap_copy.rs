//! Copying one mailbox from the source IMAP server: each folder of its
//! LIST onto ours (see [`super::folder_names`]), each message not copied
//! by an earlier run, in UID order, in batches. While one batch is stored
//! here the next is fetched from the source, so the slower of the two
//! sets the pace. Folder by folder, a refused or unreadable folder is a
//! failure of its own; a lost connection or refused login gives the
//! mailbox up.

use std::time::{Duration, Instant};

use postino_common::auth::Secret;
use postino_common::store::Origin;

use super::connection::SourceError;
use super::folder_names::{self, Mapped};
use super::imap_source::{Fetched, ImapSource, Listing, Server};
use super::progress::Progress;
use super::report::MailboxReport;
use crate::ops::{Importer, Incoming, NotImported, Ops, OpsError};

/// Most messages fetched in one command.
const BATCH_MESSAGES: usize = 200;
/// Most bytes fetched in one command (a larger message goes alone).
const BATCH_BYTES: u64 = 16 << 20;

/// Who to log in as at the source, for one mailbox.
pub struct Login {
    pub user: String,
    pub password: Secret,
}

/// What stops a mailbox, or one folder of it.
enum Stop {
    /// The source failed: the connection may be gone.
    Source(SourceError),
    /// Our side refused (no such mailbox, a folder we cannot make).
    Ours(OpsError),
}

impl From<SourceError> for Stop {
    fn from(err: SourceError) -> Stop {
        Stop::Source(err)
    }
}

impl From<OpsError> for Stop {
    fn from(err: OpsError) -> Stop {
        Stop::Ours(err)
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Source(err) => write!(f, "{err}"),
            Stop::Ours(err) => write!(f, "{err}"),
        }
    }
}

/// Copies the mailbox of `login` at `server` into `address`.
pub async fn copy_mailbox(
    ops: &Ops,
    server: &Server,
    address: &str,
    login: &Login,
    progress: &Progress,
) -> MailboxReport {
    let started = Instant::now();
    let mut report = MailboxReport::new(address);
    let source = format!("imap://{}@{}:{}", login.user, server.host, server.port);
    match copy_folders(ops, server, login, progress, &mut report).await {
        Ok(importer) => {
            let imported = crate::ops::Imported {
                source,
                folders: report.folders,
                messages: report.messages,
                bytes: report.bytes,
                failures: report.failed,
            };
            if let Err(err) = ops.record_import(&importer, &imported).await {
                tracing::warn!(address, error = %err, "cannot audit an import");
            }
        }
        Err(stop) => report.error = Some(stop.to_string()),
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

async fn copy_folders(
    ops: &Ops,
    server: &Server,
    login: &Login,
    progress: &Progress,
    report: &mut MailboxReport,
) -> Result<Importer, Stop> {
    let mut importer = ops.importer(&report.address).await?;
    let mut source = ImapSource::login(server, &login.user, &login.password).await?;
    let listed = source.folders().await?;
    for folder in folder_names::map(&listed) {
        match copy_folder(&mut source, &mut importer, &folder, progress, report).await {
            Ok(()) => report.folders += 1,
            Err(Stop::Source(err @ (SourceError::Refused { .. } | SourceError::Unreadable(_)))) => {
                report.fail(format!("folder {}: {err}", folder.raw));
            }
            Err(Stop::Ours(err)) => report.fail(format!("folder {}: {err}", folder.raw)),
            Err(stop) => return Err(stop),
        }
    }
    source.logout().await;
    Ok(importer)
}

async fn copy_folder(
    source: &mut ImapSource,
    importer: &mut Importer,
    folder: &Mapped,
    progress: &Progress,
    report: &mut MailboxReport,
) -> Result<(), Stop> {
    let folder_id = importer.folder(&folder.name, folder.special_use).await?;
    let examined = source.examine(&folder.raw).await?;
    if examined.messages == 0 {
        return Ok(());
    }
    let copied = importer
        .imported_uids(folder_id, &folder.raw, examined.uidvalidity)
        .await?;
    let listed = source.list().await?;
    let todo: Vec<Listing> = listed
        .iter()
        .filter(|l| !copied.contains(&i64::from(l.uid)))
        .copied()
        .collect();
    report.skipped += (listed.len() - todo.len()) as u64;
    progress.planned(&report.address, todo.len() as u64);
    let origin = |uid: u32| Origin {
        folder: folder.raw.clone(),
        uidvalidity: examined.uidvalidity,
        uid: i64::from(uid),
    };
    let mut fetching = Duration::ZERO;
    let mut storing = Duration::ZERO;
    let mut pending: Fetch = (Vec::new(), Vec::new());
    for batch in batches(&todo) {
        let (fetched, ()) = tokio::join!(
            async {
                let started = Instant::now();
                let fetched = source.fetch(&batch).await;
                fetching += started.elapsed();
                fetched
            },
            async {
                let started = Instant::now();
                let done = std::mem::take(&mut pending);
                store(importer, folder_id, folder, done, &origin, progress, report).await;
                storing += started.elapsed();
            }
        );
        pending = (batch, fetched?);
    }
    let started = Instant::now();
    store(
        importer, folder_id, folder, pending, &origin, progress, report,
    )
    .await;
    storing += started.elapsed();
    report.fetch_seconds += fetching.as_secs_f64();
    report.store_seconds += storing.as_secs_f64();
    Ok(())
}

/// The UIDs asked for in one FETCH, and the messages it gave.
type Fetch = (Vec<u32>, Vec<Fetched>);

/// Stores fetched messages, and counts what became of each; a message
/// asked for and not given is a failure.
async fn store(
    importer: &Importer,
    folder_id: i64,
    folder: &Mapped,
    (asked, fetched): Fetch,
    origin: &impl Fn(u32) -> Origin,
    progress: &Progress,
    report: &mut MailboxReport,
) {
    for uid in asked {
        if !fetched.iter().any(|m| m.uid == uid) {
            report.fail(format!(
                "folder {} UID {uid}: the source did not give it (expunged meanwhile, or unreadable)",
                folder.raw
            ));
        }
    }
    if fetched.is_empty() {
        return;
    }
    let described: Vec<(u32, u64)> = fetched
        .iter()
        .map(|m| (m.uid, m.raw.len() as u64))
        .collect();
    let incoming = fetched
        .into_iter()
        .map(|m| Incoming {
            origin: Some(origin(m.uid)),
            raw: m.raw,
            flags: m.flags,
            keywords: m.keywords,
            internal_date: m.internal_date,
        })
        .collect();
    let outcomes = importer.append(folder_id, incoming).await;
    let (mut messages, mut bytes) = (0, 0);
    for ((uid, size), outcome) in described.into_iter().zip(outcomes) {
        match outcome {
            Ok(()) => {
                messages += 1;
                bytes += size;
            }
            Err(NotImported::OverQuota(why) | NotImported::Failed(why)) => report.fail(format!(
                "folder {} UID {uid} ({size} bytes): {why}",
                folder.raw
            )),
        }
    }
    report.messages += messages;
    report.bytes += bytes;
    progress.copied(&report.address, messages, bytes);
}

/// UIDs to fetch in one command each: at most [`BATCH_MESSAGES`] and
/// [`BATCH_BYTES`] (a larger message alone).
fn batches(todo: &[Listing]) -> Vec<Vec<u32>> {
    let mut batches = Vec::new();
    let mut batch = Vec::new();
    let mut bytes = 0;
    for listing in todo {
        if !batch.is_empty()
            && (batch.len() >= BATCH_MESSAGES || bytes + listing.size > BATCH_BYTES)
        {
            batches.push(std::mem::take(&mut batch));
            bytes = 0;
        }
        batch.push(listing.uid);
        bytes += listing.size;
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_bounded_by_count_and_bytes() {
        let small: Vec<Listing> = (1..=450).map(|uid| Listing { uid, size: 1000 }).collect();
        let sizes: Vec<usize> = batches(&small).iter().map(Vec::len).collect();
        assert_eq!(sizes, [200, 200, 50]);
        let large = [
            Listing {
                uid: 1,
                size: 10 << 20,
            },
            Listing {
                uid: 2,
                size: 10 << 20,
            },
            Listing {
                uid: 3,
                size: 20 << 20,
            },
            Listing { uid: 4, size: 1 },
        ];
        assert_eq!(batches(&large), [vec![1u32], vec![2], vec![3], vec![4]]);
    }
}
