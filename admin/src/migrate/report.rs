//! What a migration did, per mailbox: printed as a table at the end, or as
//! JSON with `--json`.

use postino_config::ByteSize;
use serde::Serialize;

/// Failures listed one by one in a report; past these, only counted.
pub const LISTED_FAILURES: usize = 50;

/// One mailbox's migration.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MailboxReport {
    pub address: String,
    /// Folders copied (wholly or in part).
    pub folders: usize,
    /// Messages copied by this run, and their bytes.
    pub messages: u64,
    pub bytes: u64,
    /// Messages found already copied by an earlier run.
    pub skipped: u64,
    /// Messages not copied (over quota, refused by the store) and folders
    /// left alone.
    pub failed: u64,
    /// The first failures, each naming the folder and message.
    pub failures: Vec<String>,
    /// Why the mailbox was given up, if it was (login refused, server
    /// unreachable, no such mailbox here).
    pub error: Option<String>,
    /// Seconds spent waiting for the source, and storing here; they
    /// overlap, as the next messages are fetched while these are stored.
    pub fetch_seconds: f64,
    pub store_seconds: f64,
    pub seconds: f64,
}

impl MailboxReport {
    pub fn new(address: &str) -> MailboxReport {
        MailboxReport {
            address: address.to_string(),
            ..MailboxReport::default()
        }
    }

    /// Notes a failure; the first [`LISTED_FAILURES`] are kept in full.
    pub fn fail(&mut self, what: String) {
        self.failed += 1;
        if self.failures.len() < LISTED_FAILURES {
            self.failures.push(what);
        }
    }

    pub fn ok(&self) -> bool {
        self.error.is_none() && self.failed == 0
    }

    /// One line, for progress and the table.
    pub fn summary(&self) -> String {
        if let Some(error) = &self.error {
            return format!("FAILED: {error}");
        }
        format!(
            "{} folders, {} messages ({}) copied, {} already there, {} failed, in {:.1} s",
            self.folders,
            self.messages,
            ByteSize(self.bytes),
            self.skipped,
            self.failed,
            self.seconds
        )
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mailboxes: Vec<MailboxReport>,
    pub messages: u64,
    pub bytes: u64,
    pub seconds: f64,
}

impl Report {
    pub fn new(mailboxes: Vec<MailboxReport>, seconds: f64) -> Report {
        Report {
            messages: mailboxes.iter().map(|m| m.messages).sum(),
            bytes: mailboxes.iter().map(|m| m.bytes).sum(),
            mailboxes,
            seconds,
        }
    }

    /// Mailboxes given up or with failures.
    pub fn troubled(&self) -> usize {
        self.mailboxes.iter().filter(|m| !m.ok()).count()
    }

    /// The table for people.
    pub fn print(&self) {
        println!(
            "{:<40} {:>7} {:>9} {:>10} {:>9} {:>7}  ERROR",
            "MAILBOX", "FOLDERS", "MESSAGES", "BYTES", "SKIPPED", "FAILED"
        );
        for m in &self.mailboxes {
            println!(
                "{:<40} {:>7} {:>9} {:>10} {:>9} {:>7}  {}",
                m.address,
                m.folders,
                m.messages,
                ByteSize(m.bytes).to_string(),
                m.skipped,
                m.failed,
                m.error.as_deref().unwrap_or("-")
            );
            for failure in &m.failures {
                println!("    {failure}");
            }
        }
        let seconds = self.seconds.max(0.001);
        println!(
            "{} messages ({}) in {:.1} s: {:.0} messages/s, {:.1} MB/s",
            self.messages,
            ByteSize(self.bytes),
            self.seconds,
            self.messages as f64 / seconds,
            self.bytes as f64 / 1e6 / seconds
        );
    }
}
