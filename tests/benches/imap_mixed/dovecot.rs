//! Dovecot's side: Debian's `dovecot-imapd` as `postino_tests::dovecot`
//! runs it, its users' INBOXes written as maildir files holding the same
//! messages as Postino's, and a passwd-file holding the very argon2id
//! strings Postino stored for the same users (Dovecot verifies them with
//! libsodium, so both servers hash a login alike). Dovecot indexes the
//! maildirs on first access, which the warm-up SELECT of each user
//! triggers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use postino_tests::corpus::{self, LABELS};
use postino_tests::dovecot::{self, Setup, maildir_folder, write_message};
use tokio::task::JoinSet;

use crate::load::{self, Measured, Target};
use crate::session::Mode;

pub use postino_tests::dovecot::ensure_installed;

/// The folders besides the INBOX, as Postino creates them.
const FOLDERS: [&str; 5] = ["Sent", "Drafts", "Trash", "Junk", "Archive"];

/// A running Dovecot with the bench's users; dropping it stops it.
pub struct Dovecot {
    server: dovecot::Dovecot,
    /// `dovecot --version`.
    pub version: String,
    pub users: Vec<String>,
    /// How long writing the maildirs took.
    pub written_in: Duration,
}

impl Dovecot {
    /// Writes the users' maildirs (`messages` messages each in the INBOX,
    /// the other folders empty) and the passwd-file (`hashes[i]` for
    /// `users[i]`), and starts Dovecot.
    pub async fn start(
        domain: &str,
        users: &[String],
        hashes: &[String],
        messages: usize,
    ) -> Result<Dovecot, String> {
        let setup = Setup::new()?;
        let started = Instant::now();
        let homes: Vec<PathBuf> = users.iter().map(|user| setup.home(user)).collect();
        write_maildirs(&homes, domain, messages).await?;
        let written_in = started.elapsed();
        let passwd: Vec<(String, String)> = users
            .iter()
            .zip(hashes)
            .map(|(user, hash)| (user.clone(), format!("{{ARGON2ID}}{hash}")))
            .collect();
        let server = setup.start(&passwd, "").await?;
        Ok(Dovecot {
            version: server.version.clone(),
            server,
            users: users.to_vec(),
            written_in,
        })
    }

    /// Runs the load against Dovecot.
    pub async fn run(&self, clients: usize, seconds: u64, mode: Mode) -> Measured {
        let target = Target {
            addr: self.server.addr,
            users: &self.users,
            pid: self.server.pid(),
        };
        load::run(&target, clients, seconds, mode).await
    }

    /// The lines of Dovecot's log that report a problem.
    pub fn problems(&self) -> Vec<String> {
        self.server.problems()
    }

    pub fn stop(&mut self) {
        self.server.stop();
    }
}

/// Writes each user's maildir, the users in parallel.
async fn write_maildirs(homes: &[PathBuf], domain: &str, messages: usize) -> Result<(), String> {
    let mut tasks = JoinSet::new();
    for (user, home) in homes.iter().enumerate() {
        let (home, domain) = (home.clone(), domain.to_string());
        tasks.spawn_blocking(move || write_maildir(&home, user, messages, &domain));
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|err| format!("a maildir writer panicked: {err}"))??;
    }
    Ok(())
}

fn write_maildir(home: &Path, user: usize, messages: usize, domain: &str) -> Result<(), String> {
    maildir_folder(home, true, &LABELS)?;
    for folder in FOLDERS {
        maildir_folder(&home.join(format!(".{folder}")), false, &[])?;
    }
    for n in 0..messages {
        let message = corpus::prefilled(user, n, domain);
        let mut info = String::new();
        // Maildir flags in ASCII order; keywords are letters a..z, the
        // index of their line in dovecot-keywords.
        for (set, letter) in [
            (message.flagged, 'F'),
            (message.answered, 'R'),
            (message.seen, 'S'),
        ] {
            if set {
                info.push(letter);
            }
        }
        if let Some(label) = message.label {
            info.push((b'a' + label as u8) as char);
        }
        let unique = format!("M{n}P{user}.bench");
        write_message(home, &unique, &message.raw, &info, message.date)?;
    }
    Ok(())
}
