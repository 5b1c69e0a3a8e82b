//! The maildrop (RFC 1939 section 5): INBOX as it was at login, numbered
//! from 1 in UID order, with what this session did to it — messages DELE
//! marked, messages RETR read — kept here until QUIT. STAT, LIST, UIDL,
//! DELE, RSET and NOOP need nothing more than this snapshot.
//!
//! UIDL gives Dovecot's default `%08Xu%08Xv`: the UID and the folder's
//! UIDVALIDITY in hex, in lower case as Dovecot 2.3 writes them. Both are stored with the message and the folder and
//! come back from a backup, so a client that keeps mail on the server sees
//! the same UIDLs after a restart or a restore, and downloads nothing
//! twice.

use postino_common::store::{Flags, Store, StoreError};

use crate::error::Error;
use crate::proto::response::{write_end, write_line};
use crate::proto::{Command, Reply};

/// The folder POP3 sees.
const INBOX: &str = "INBOX";

pub(super) struct Maildrop {
    pub(super) folder_id: i64,
    uidvalidity: i64,
    messages: Vec<Message>,
    /// The highest message number RETR or TOP found expunged by another
    /// session: asking for it or a lower one again counts as an error, as
    /// in Dovecot, so that a client looping on it is closed eventually.
    highest_expunged: u32,
}

pub(super) struct Message {
    pub(super) uid: i64,
    /// Octets, as stored: what RETR sends, besides dot-stuffing.
    size: i64,
    /// Whether the message had `\Seen` at login.
    seen: bool,
    deleted: bool,
    /// RETR read it: it gets `\Seen`.
    retrieved: bool,
}

impl Maildrop {
    /// The snapshot of an account's INBOX, taken at login: messages
    /// delivered later show at the next login.
    pub(super) async fn open(store: &Store, account_id: i64) -> Result<Maildrop, Error> {
        let Some(folder) = store.folder(account_id, INBOX).await? else {
            return Err(StoreError::NotFound {
                what: "folder",
                name: INBOX.to_string(),
            }
            .into());
        };
        let messages = store
            .messages(folder.id)
            .await?
            .into_iter()
            .map(|m| Message {
                uid: m.uid,
                size: m.size,
                seen: m.flags.contains(Flags::SEEN),
                deleted: false,
                retrieved: false,
            })
            .collect();
        Ok(Maildrop {
            folder_id: folder.id,
            uidvalidity: folder.uidvalidity,
            messages,
            highest_expunged: 0,
        })
    }

    /// How many messages there are and their octets, those marked deleted
    /// left out.
    pub(super) fn stat(&self) -> (usize, i64) {
        let live = self.messages.iter().filter(|m| !m.deleted);
        live.fold((0, 0), |(count, size), m| (count + 1, size + m.size))
    }

    /// The message numbered `number`, unless there is none or it is marked
    /// deleted: then the reply that says so.
    pub(super) fn get(&mut self, number: u32) -> Result<&mut Message, Reply> {
        let index = (number as usize).checked_sub(1);
        match index.and_then(|index| self.messages.get_mut(index)) {
            None => Err(Reply::err(format!("There is no message {number}."))),
            Some(message) if message.deleted => {
                Err(Reply::err(format!("Message {number} is deleted.")))
            }
            Some(message) => Ok(message),
        }
    }

    /// Notes that RETR or TOP found message `number` expunged; whether
    /// this counts as an error.
    pub(super) fn found_expunged(&mut self, number: u32) -> bool {
        let again = number <= self.highest_expunged;
        self.highest_expunged = self.highest_expunged.max(number);
        again
    }

    /// UIDs of messages RETR read that had no `\Seen`; those marked
    /// deleted only `with_deleted`.
    pub(super) fn newly_seen(&self, with_deleted: bool) -> Vec<i64> {
        let chosen = self.messages.iter();
        chosen
            .filter(|m| m.retrieved && !m.seen && (with_deleted || !m.deleted))
            .map(|m| m.uid)
            .collect()
    }

    /// UIDs of messages DELE marked.
    pub(super) fn deleted(&self) -> Vec<i64> {
        let marked = self.messages.iter().filter(|m| m.deleted);
        marked.map(|m| m.uid).collect()
    }

    /// Answers the commands that need only the snapshot.
    pub(super) fn command(&mut self, command: Command) -> Reply {
        match command {
            Command::Stat => {
                let (count, size) = self.stat();
                Reply::ok(format!("{count} {size}"))
            }
            Command::List(Some(number)) => match self.get(number) {
                Ok(message) => Reply::ok(format!("{number} {}", message.size)),
                Err(refused) => refused,
            },
            Command::List(None) => {
                let (count, size) = self.stat();
                let lines = self.listing(|m| m.size.to_string());
                Reply::ok(format!("{count} messages ({size} octets)")).lines(lines)
            }
            Command::Uidl(Some(number)) => {
                let uidvalidity = self.uidvalidity;
                match self.get(number) {
                    Ok(message) => Reply::ok(format!("{number} {}", uidl(message, uidvalidity))),
                    Err(refused) => refused,
                }
            }
            Command::Uidl(None) => {
                let uidvalidity = self.uidvalidity;
                Reply::ok("").lines(self.listing(|m| uidl(m, uidvalidity)))
            }
            Command::Dele(number) => match self.get(number) {
                Ok(message) => {
                    message.deleted = true;
                    Reply::ok("Marked to be deleted.")
                }
                Err(refused) => refused,
            },
            // Forgets this session's deletions and `\Seen` flags, as
            // Dovecot does.
            Command::Rset => {
                for message in &mut self.messages {
                    message.deleted = false;
                    message.retrieved = false;
                }
                Reply::ok("")
            }
            Command::Noop => Reply::ok(""),
            other => Reply::err(format!("{} is not valid after login.", other.name())),
        }
    }

    /// The lines `number value` of the messages not marked deleted, ended.
    fn listing(&self, value: impl Fn(&Message) -> String) -> Vec<u8> {
        let mut lines = Vec::new();
        for (index, message) in self.messages.iter().enumerate() {
            if !message.deleted {
                write_line(&mut lines, &format!("{} {}", index + 1, value(message)));
            }
        }
        write_end(&mut lines);
        lines
    }
}

impl Message {
    pub(super) fn size(&self) -> i64 {
        self.size
    }

    pub(super) fn mark_retrieved(&mut self) {
        self.retrieved = true;
    }
}

/// Dovecot's default UIDL, `%08Xu%08Xv`, whose hex Dovecot writes in
/// lower case: a client moved from Dovecot with its UIDs and UIDVALIDITY
/// sees the same UIDLs.
fn uidl(message: &Message, uidvalidity: i64) -> String {
    format!("{:08x}{:08x}", message.uid, uidvalidity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maildrop(sizes: &[i64]) -> Maildrop {
        Maildrop {
            folder_id: 1,
            uidvalidity: 1_700_000_000,
            messages: sizes
                .iter()
                .enumerate()
                .map(|(i, &size)| Message {
                    uid: i as i64 + 1,
                    size,
                    seen: false,
                    deleted: false,
                    retrieved: false,
                })
                .collect(),
            highest_expunged: 0,
        }
    }

    fn text(reply: &Reply) -> String {
        let mut out = Vec::new();
        reply.write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn uidls_are_dovecots_uid_and_uidvalidity_in_hex() {
        let mut drop = maildrop(&[100, 200]);
        assert_eq!(
            text(&drop.command(Command::Uidl(None))),
            "+OK\r\n1 000000016553f100\r\n2 000000026553f100\r\n.\r\n"
        );
        assert_eq!(
            text(&drop.command(Command::Uidl(Some(2)))),
            "+OK 2 000000026553f100\r\n"
        );
    }

    #[test]
    fn deleted_messages_leave_the_listings_until_rset() {
        let mut drop = maildrop(&[100, 200, 300]);
        assert_eq!(text(&drop.command(Command::Stat)), "+OK 3 600\r\n");
        assert!(drop.command(Command::Dele(2)).ok);
        assert_eq!(text(&drop.command(Command::Stat)), "+OK 2 400\r\n");
        assert_eq!(
            text(&drop.command(Command::List(None))),
            "+OK 2 messages (400 octets)\r\n1 100\r\n3 300\r\n.\r\n"
        );
        assert_eq!(
            text(&drop.command(Command::Dele(2))),
            "-ERR Message 2 is deleted.\r\n"
        );
        assert_eq!(
            text(&drop.command(Command::List(Some(2)))),
            "-ERR Message 2 is deleted.\r\n"
        );
        assert_eq!(drop.deleted(), [2]);
        assert!(drop.command(Command::Rset).ok);
        assert_eq!(text(&drop.command(Command::List(Some(2)))), "+OK 2 200\r\n");
        assert!(drop.deleted().is_empty());
    }

    #[test]
    fn numbers_outside_the_maildrop_are_refused() {
        let mut drop = maildrop(&[100]);
        for number in [0, 2, u32::MAX] {
            assert_eq!(
                text(&drop.command(Command::Dele(number))),
                format!("-ERR There is no message {number}.\r\n")
            );
        }
    }

    #[test]
    fn only_a_repeated_expunged_fetch_counts_as_an_error() {
        let mut drop = maildrop(&[1, 2, 3]);
        assert!(!drop.found_expunged(2));
        assert!(drop.found_expunged(2));
        assert!(drop.found_expunged(1));
        assert!(!drop.found_expunged(3));
    }

    #[test]
    fn retrieved_messages_become_seen_unless_rset() {
        let mut drop = maildrop(&[1, 2, 3]);
        drop.get(1).unwrap().mark_retrieved();
        drop.get(2).unwrap().mark_retrieved();
        drop.command(Command::Dele(2));
        assert_eq!(drop.newly_seen(false), [1]);
        assert_eq!(drop.newly_seen(true), [1, 2]);
        drop.command(Command::Rset);
        assert!(drop.newly_seen(true).is_empty());
    }
}
