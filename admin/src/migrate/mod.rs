//! Moving a comune in: mail copied from the server it uses today into
//! existing mailboxes, through [`crate::ops::Importer`] (the store's
//! append, quota included).
//!
//! - `imap`: every mailbox of a CSV list, from an IMAP server, several at
//!   once; resumable, since each copied message's origin (source folder,
//!   UIDVALIDITY, UID) is committed with it ([`imap_copy`]).
//! - [`connection`] and [`imap_source`]: the IMAP client it reads with.
//! - [`folder_names`]: source folder names and special uses onto ours.
//! - [`files`]: a Maildir++ tree or an mbox file in, and a mailbox out to
//!   either (`mailbox export`), in the formats of [`maildir`] and [`mbox`].
//! - [`progress`] and [`report`]: what the operator sees while it runs and
//!   after.

mod connection;
pub mod csv;
mod file_flags;
mod files;
mod folder_names;
mod imap_copy;
mod imap_source;
mod line_ends;
mod maildir;
mod mbox;
mod progress;
pub mod report;

use std::time::Instant;

use futures_util::StreamExt;
use futures_util::stream;
use postino_common::auth::Secret;

pub use connection::Security;
pub(crate) use connection::quoted;
pub use files::{Format, export, import_maildir, import_mbox};
pub use imap_source::Server;

use self::progress::Progress;
use self::report::{MailboxReport, Report};
use crate::ops::Ops;

/// A master login at the source (Dovecot's `user*master`): every mailbox
/// is read as `USER{separator}{user}` with the master's password.
pub struct Master {
    pub user: String,
    pub separator: String,
    pub password: Secret,
}

/// Copies every mailbox of `lines` from `server`, `jobs` at a time; bad
/// lines are reported as mailboxes given up.
pub async fn imap(
    ops: &Ops,
    server: &Server,
    lines: Vec<Result<csv::Line, String>>,
    master: Option<&Master>,
    jobs: usize,
) -> Report {
    let started = Instant::now();
    let progress = Progress::new(lines.len());
    let reports: Vec<MailboxReport> = stream::iter(lines)
        .map(|line| {
            let progress = &progress;
            async move {
                let report = match line {
                    Ok(line) => {
                        let login = match (master, line.password) {
                            (Some(master), _) => imap_copy::Login {
                                user: format!("{}{}{}", line.user, master.separator, master.user),
                                password: master.password.clone(),
                            },
                            (None, password) => imap_copy::Login {
                                user: line.user,
                                password: password.unwrap_or_else(|| Secret::new("")),
                            },
                        };
                        imap_copy::copy_mailbox(ops, server, &line.address, &login, progress).await
                    }
                    Err(why) => MailboxReport {
                        error: Some(why),
                        ..MailboxReport::new("-")
                    },
                };
                progress.finished(&report);
                report
            }
        })
        .buffered(jobs.max(1))
        .collect()
        .await;
    progress.done();
    Report::new(reports, started.elapsed().as_secs_f64())
}
