//! One client session of the mixed load, step by step as the issue
//! profiles it, each step with its probability:
//!
//! | step | command | |
//! |---|---|---|
//! | login | `LOGIN user password` | 100 % |
//! | list | `LIST "" "*"` | 50 % |
//! | status | `STATUS <folder> (MESSAGES UNSEEN UIDNEXT)`, INBOX half the time | 50 % |
//! | select | `SELECT INBOX` | 100 % |
//! | headers | `FETCH <set> (UID FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])` | 100 % |
//! | bodies | `FETCH <set> BODY.PEEK[]` on 1 to 4 messages | 100 %, then 30 % again |
//! | copy | `COPY <set> Archive`, 1 to 6 messages | 33 % |
//! | flags | `STORE <set> +FLAGS` or `-FLAGS`, one or two of `$Label1`…`$Label5`, `\Flagged`, `\Answered` | 50 % |
//! | delete | `STORE <set> +FLAGS (\Deleted)` | 100 % |
//! | expunge | `EXPUNGE` | 100 % |
//! | append | `APPEND INBOX` a new message of the corpus | 100 %, then 5 % again |
//! | logout | `LOGOUT` | 100 % in `logout` mode |
//!
//! In `stay` mode the session never logs out: after the APPENDs it goes
//! back to LIST and goes on until the run ends. Sets are drawn over the
//! messages of the session's view, single numbers and small ranges mixed.
//! The `\Deleted` set is one message (95 %) or two neighbours (5 %), 1.05
//! on average, as many as the APPENDs add, so that each INBOX keeps about
//! its size; it is drawn from the messages whose UID the session learnt
//! from its header FETCH, so that it can check they are gone after its
//! EXPUNGE. The Archive grows by what COPY adds.
//!
//! STORE is never SILENT: its FETCH responses are checked. Every response
//! goes through [`View`]; a tagged NO or BAD, a `* BYE` before LOGOUT, a
//! closed connection or a response line slower than [`REPLY_LIMIT`] ends
//! the session as a failure.
//!
//! Two answers are right only because another session expunged messages
//! this one still sees, and are counted as races instead: a tagged
//! `NO [EXPUNGEISSUED]` (RFC 9051 §7.1; Dovecot and Postino answer a COPY
//! of such messages so), after which the session goes on, and a COPY
//! answered OK without COPYUID, which some servers send when none of the
//! messages was left to copy. So is a message this session marked `\Deleted`
//! and still sees after its own EXPUNGE: another session expunged it at
//! the same moment and the server has not said so yet, which it may do
//! later (RFC 9051 §7.5.1); fetching it again later is a violation. A
//! server with far more races than the other is suspect; the tables show
//! both counts.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fastrand::Rng;
use postino_tests::corpus::{self, LABELS};
use postino_tests::imap::{ImapClient, Response};

use crate::view::{View, cut, response_code};

/// How long a client waits for each response line.
pub const REPLY_LIMIT: Duration = Duration::from_secs(30);
/// The password of every user, on both servers.
pub const PASSWORD: &str = "parola-chiave-del-banco";
/// Where COPY puts messages.
const ARCHIVE: &str = "Archive";
/// The folders STATUS asks about besides the INBOX and the Archive; both
/// servers have them, empty.
const OTHER_FOLDERS: [&str; 4] = ["Sent", "Drafts", "Trash", "Junk"];
/// Flags besides the labels that the flags step stores.
const SYSTEM_FLAGS: [&str; 2] = ["\\Flagged", "\\Answered"];

/// The kinds of command, as the tables name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Login,
    List,
    Status,
    Select,
    FetchHeaders,
    FetchBodies,
    Copy,
    StoreFlags,
    StoreDeleted,
    Expunge,
    Append,
    Logout,
}

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::Login,
        Kind::List,
        Kind::Status,
        Kind::Select,
        Kind::FetchHeaders,
        Kind::FetchBodies,
        Kind::Copy,
        Kind::StoreFlags,
        Kind::StoreDeleted,
        Kind::Expunge,
        Kind::Append,
        Kind::Logout,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Login => "LOGIN",
            Kind::List => "LIST",
            Kind::Status => "STATUS",
            Kind::Select => "SELECT",
            Kind::FetchHeaders => "FETCH headers",
            Kind::FetchBodies => "FETCH BODY[]",
            Kind::Copy => "COPY",
            Kind::StoreFlags => "STORE flags",
            Kind::StoreDeleted => "STORE \\Deleted",
            Kind::Expunge => "EXPUNGE",
            Kind::Append => "APPEND",
            Kind::Logout => "LOGOUT",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Whether sessions log out after one round, or stay and go round again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Logout,
    Stay,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Logout => "logout",
            Mode::Stay => "stay",
        }
    }
}

/// One command answered OK: its kind, when it was sent and how long the
/// whole response took.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub kind: Kind,
    pub sent: Instant,
    pub took: Duration,
}

/// Why a session ended before its LOGOUT.
pub enum Ended {
    /// The run's deadline came.
    Stopped,
    /// A command failed; the text says which and how.
    Failed(String),
}

/// What the sessions of one client gather.
pub struct Gathered<'a> {
    pub samples: &'a mut Vec<Sample>,
    pub violations: &'a mut Vec<String>,
    pub races: &'a mut Races,
}

/// Answers explained by another session's EXPUNGE.
#[derive(Debug, Default, Clone, Copy)]
pub struct Races {
    /// `NO [EXPUNGEISSUED]`, and COPY answered OK without COPYUID.
    pub expunged: usize,
    /// Messages still seen after this session's EXPUNGE.
    pub left: usize,
}

/// Runs one session as `user` until its LOGOUT (`Mode::Logout`) or until
/// `deadline`, recording every command answered OK and every violation.
pub async fn session(
    addr: SocketAddr,
    user: &str,
    mode: Mode,
    rng: &mut Rng,
    deadline: Instant,
    gathered: Gathered<'_>,
) -> Result<(), Ended> {
    let client = ImapClient::try_connect(addr, REPLY_LIMIT)
        .await
        .map_err(Ended::Failed)?;
    if !client.greeting.starts_with("* OK") {
        return Err(Ended::Failed(format!("greeted with {:?}", client.greeting)));
    }
    let mut session = Session {
        client,
        user,
        rng,
        deadline,
        view: View::default(),
        samples: gathered.samples,
        races: Races::default(),
    };
    let outcome = session.run(mode).await;
    gathered.races.expunged += session.races.expunged;
    gathered.races.left += session.view.left;
    gathered.violations.extend(
        session
            .view
            .violations
            .drain(..)
            .map(|violation| format!("{user}: {violation}")),
    );
    outcome
}

struct Session<'a> {
    client: ImapClient,
    user: &'a str,
    rng: &'a mut Rng,
    deadline: Instant,
    view: View,
    samples: &'a mut Vec<Sample>,
    races: Races,
}

impl Session<'_> {
    async fn run(&mut self, mode: Mode) -> Result<(), Ended> {
        let login = format!("LOGIN \"{}\" \"{PASSWORD}\"", self.user);
        self.command(Kind::Login, login.as_bytes()).await?;
        loop {
            if self.chance(50) {
                self.list().await?;
            }
            if self.chance(50) {
                self.status().await?;
            }
            let selected = self.command(Kind::Select, b"SELECT INBOX").await?;
            self.view.selected(&selected);
            if self.view.exists() > 0 {
                self.read_and_file().await?;
            }
            self.append().await?;
            if self.chance(5) {
                self.append().await?;
            }
            if mode == Mode::Logout {
                let bye = self.command(Kind::Logout, b"LOGOUT").await?;
                if !bye.untagged.iter().any(|line| line.starts_with("* BYE")) {
                    return Err(Ended::Failed("LOGOUT answered without BYE".to_string()));
                }
                return Ok(());
            }
        }
    }

    /// The steps on a non-empty INBOX: fetching, copying, flagging,
    /// deleting and expunging.
    async fn read_and_file(&mut self) -> Result<(), Ended> {
        let (set, _) = self.random_set(1..4, 25);
        let fetch = format!(
            "FETCH {set} (UID FLAGS ENVELOPE BODYSTRUCTURE \
             BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])"
        );
        self.checked(Kind::FetchHeaders, fetch.as_bytes()).await?;
        self.fetch_bodies().await?;
        if self.chance(30) {
            self.fetch_bodies().await?;
        }
        if self.chance(33) {
            let (set, _) = self.random_set(1..3, 3);
            let copy = self
                .checked(Kind::Copy, format!("COPY {set} {ARCHIVE}").as_bytes())
                .await?;
            if response_code(&copy.tagged, "COPYUID").is_some() {
                self.view.copied(ARCHIVE, &copy);
            } else if copy.status() == "OK" {
                self.races.expunged += 1;
            }
        }
        if self.chance(50) {
            self.store_flags().await?;
        }
        self.delete().await?;
        self.checked(Kind::Expunge, b"EXPUNGE").await?;
        self.view.expunged();
        Ok(())
    }

    async fn list(&mut self) -> Result<(), Ended> {
        let list = self.checked(Kind::List, b"LIST \"\" \"*\"").await?;
        for folder in ["INBOX", ARCHIVE] {
            let listed = list.untagged.iter().any(|line| {
                line.starts_with("* LIST ") && line.trim_end_matches('"').ends_with(folder)
            });
            if !listed {
                self.view
                    .violations
                    .push(format!("LIST \"\" \"*\" did not list {folder}"));
            }
        }
        Ok(())
    }

    async fn status(&mut self) -> Result<(), Ended> {
        let folder = match self.rng.u8(0..4) {
            0 | 1 => "INBOX",
            2 => ARCHIVE,
            _ => OTHER_FOLDERS[self.rng.usize(0..OTHER_FOLDERS.len())],
        };
        let command = format!("STATUS {folder} (MESSAGES UNSEEN UIDNEXT)");
        let status = self.checked(Kind::Status, command.as_bytes()).await?;
        let next = status
            .untagged
            .iter()
            .filter(|line| line.starts_with("* STATUS "))
            .find_map(|line| number_after(line, "UIDNEXT "));
        match next {
            Some(next) => self.view.uid_next(folder, next),
            None => self
                .view
                .violations
                .push(format!("{command} answered no UIDNEXT")),
        }
        Ok(())
    }

    async fn fetch_bodies(&mut self) -> Result<(), Ended> {
        let (set, _) = self.random_set(1..3, 2);
        let fetch = format!("FETCH {set} BODY.PEEK[]");
        self.checked(Kind::FetchBodies, fetch.as_bytes()).await?;
        Ok(())
    }

    async fn store_flags(&mut self) -> Result<(), Ended> {
        let (set, seqs) = self.random_set(1..3, 5);
        let mut flags = vec![self.any_flag()];
        if self.chance(30) {
            let second = self.any_flag();
            if second != flags[0] {
                flags.push(second);
            }
        }
        let adding = self.chance(60);
        let sign = if adding { '+' } else { '-' };
        let store = format!("STORE {set} {sign}FLAGS ({})", flags.join(" "));
        let response = self.command(Kind::StoreFlags, store.as_bytes()).await?;
        let fetched = self.view.absorb(&response);
        self.view.stored(&seqs, &flags, adding, &fetched);
        Ok(())
    }

    fn any_flag(&mut self) -> &'static str {
        let pick = self.rng.usize(0..LABELS.len() + SYSTEM_FLAGS.len());
        LABELS
            .get(pick)
            .unwrap_or_else(|| &SYSTEM_FLAGS[pick - LABELS.len()])
    }

    /// Marks one message (two neighbours one time in twenty) `\Deleted`,
    /// chosen among those whose UID the session knows.
    async fn delete(&mut self) -> Result<(), Ended> {
        let known: Vec<u32> = self.view.known().collect();
        let first = match known.as_slice() {
            [] => 1 + self.rng.u32(0..self.view.exists()),
            known => known[self.rng.usize(0..known.len())],
        };
        let last = if self.chance(5) && first < self.view.exists() {
            first + 1
        } else {
            first
        };
        let seqs: Vec<u32> = (first..=last).collect();
        let set = if first == last {
            first.to_string()
        } else {
            format!("{first}:{last}")
        };
        let marked: Vec<u32> = seqs.iter().filter_map(|&seq| self.view.uid(seq)).collect();
        let store = format!("STORE {set} +FLAGS (\\Deleted)");
        let response = self.command(Kind::StoreDeleted, store.as_bytes()).await?;
        let fetched = self.view.absorb(&response);
        self.view.stored(&seqs, &["\\Deleted"], true, &fetched);
        self.view.marked(marked);
        Ok(())
    }

    async fn append(&mut self) -> Result<(), Ended> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs() as i64);
        let message = corpus::message(self.rng, self.user, now);
        let flags = if self.chance(30) { " (\\Seen)" } else { "" };
        let mut append = format!("APPEND INBOX{flags} {{{}+}}\r\n", message.len()).into_bytes();
        append.extend_from_slice(&message);
        let response = self.checked(Kind::Append, &append).await?;
        self.view.appended("INBOX", &response);
        Ok(())
    }

    /// A sequence set over the view: one to `parts` pieces, each a single
    /// number or a range of up to `span` messages; with its numbers.
    fn random_set(&mut self, parts: std::ops::Range<usize>, span: u32) -> (String, Vec<u32>) {
        let exists = self.view.exists();
        let mut pieces = Vec::new();
        let mut seqs = Vec::new();
        for _ in 0..self.rng.usize(parts) {
            let first = 1 + self.rng.u32(0..exists);
            let last = if self.rng.bool() {
                (first + self.rng.u32(1..span.max(2))).min(exists)
            } else {
                first
            };
            pieces.push(if first == last {
                first.to_string()
            } else {
                format!("{first}:{last}")
            });
            seqs.extend(first..=last);
        }
        seqs.sort_unstable();
        seqs.dedup();
        (pieces.join(","), seqs)
    }

    fn chance(&mut self, percent: u8) -> bool {
        self.rng.u8(0..100) < percent
    }

    /// [`Session::command`], its untagged responses checked against the
    /// view.
    async fn checked(&mut self, kind: Kind, command: &[u8]) -> Result<Response, Ended> {
        let response = self.command(kind, command).await?;
        self.view.absorb(&response);
        Ok(response)
    }

    /// Sends one command and reads its response, recording its latency if
    /// it was answered OK (or `NO [EXPUNGEISSUED]`, a race); anything else
    /// ends the session. No command is sent once the deadline has passed.
    async fn command(&mut self, kind: Kind, command: &[u8]) -> Result<Response, Ended> {
        let sent = Instant::now();
        if sent >= self.deadline {
            return Err(Ended::Stopped);
        }
        let shown = || {
            let first_line = command.split(|&b| b == b'\r').next().unwrap_or_default();
            String::from_utf8_lossy(first_line).into_owned()
        };
        let response = self
            .client
            .try_command(command, REPLY_LIMIT)
            .await
            .map_err(|failure| Ended::Failed(format!("`{}`: {failure}", shown())))?;
        let took = sent.elapsed();
        let race = response.status() == "NO"
            && response
                .code()
                .is_some_and(|code| code.starts_with("EXPUNGEISSUED"));
        self.races.expunged += usize::from(race);
        if response.status() != "OK" && !race {
            return Err(Ended::Failed(format!(
                "`{}` answered {}",
                shown(),
                cut(&response.tagged)
            )));
        }
        if kind != Kind::Logout
            && let Some(bye) = response.untagged.iter().find(|l| l.starts_with("* BYE"))
        {
            return Err(Ended::Failed(format!("`{}` answered {bye}", shown())));
        }
        self.samples.push(Sample { kind, sent, took });
        Ok(response)
    }
}

/// The number after `key` in `line`, as in `UIDNEXT 42`.
fn number_after(line: &str, key: &str) -> Option<u32> {
    let at = line.find(key)? + key.len();
    let digits = line[at..].bytes().take_while(u8::is_ascii_digit).count();
    line[at..at + digits].parse().ok()
}
