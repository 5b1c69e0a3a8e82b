//! APPEND (RFC 9051 §6.3.12) with APPENDUID (UIDPLUS, RFC 4315),
//! literal8 messages (BINARY, RFC 3516 §4.4) and several messages in one
//! command (MULTIAPPEND, RFC 3502 §6.3.11): all are stored in one commit or
//! none is, and the OK names every new UID. Messages are stored, and
//! parsed once for FETCH, SORT and THREAD, before the OK.

use std::borrow::Cow;
use std::sync::Arc;

use imap_codec::imap_types::datetime::DateTime;
use imap_codec::imap_types::extensions::binary::LiteralOrLiteral8;
use imap_codec::imap_types::flag::Flag;
use imap_codec::imap_types::mailbox::Mailbox;
use postino_common::acl::Rights;
use postino_common::store::{AppendTarget, Flags, Keywords, NewMessage, Refusal, now};

use super::flags::split_flags;
use super::names::from_client;
use super::view::{View, storable};
use super::{Client, Outcome};
use crate::proto::{AppendMessage, Code, Status};

/// One message of an APPEND, as sent.
pub(super) struct ToAppend<'a> {
    pub flags: &'a [Flag<'a>],
    pub date: Option<&'a DateTime>,
    pub raw: &'a [u8],
}

impl<'a> ToAppend<'a> {
    /// The message of the command itself.
    pub fn first(
        flags: &'a [Flag<'a>],
        date: Option<&'a DateTime>,
        message: &'a LiteralOrLiteral8<'a>,
    ) -> ToAppend<'a> {
        let raw: &[u8] = match message {
            LiteralOrLiteral8::Literal(literal) => literal.as_ref(),
            LiteralOrLiteral8::Literal8(literal) => &literal.data,
        };
        ToAppend { flags, date, raw }
    }

    /// A MULTIAPPEND message after the first.
    pub fn more(message: &'a AppendMessage) -> ToAppend<'a> {
        ToAppend {
            flags: &message.flags,
            date: message.date.as_ref(),
            raw: &message.message,
        }
    }
}

impl Client<'_> {
    pub(super) async fn append(
        &mut self,
        account_id: i64,
        selected: Option<&View>,
        mailbox: &Mailbox<'_>,
        messages: &[ToAppend<'_>],
    ) -> Outcome {
        let name = from_client(mailbox, self.enabled)?;
        if messages.iter().any(|m| m.raw.is_empty()) {
            return Ok(Status::no("Empty message").code(Code::Cannot));
        }
        let store = &self.ctx.store;
        let (folder, rights) = match self.reach(account_id, &name, Rights::INSERT).await? {
            Ok(reached) => (reached.folder, reached.rights),
            Err(refused) => return Ok(refused.status(Code::TryCreate)),
        };
        // Flags the user may not set are left out (RFC 4314 §4).
        let (allowed, keywords_allowed) = storable(rights);
        let mut new = Vec::with_capacity(messages.len());
        for message in messages {
            let Some((flags, mut keywords)) = split_flags(message.flags) else {
                return Ok(Status::bad("That flag cannot be stored"));
            };
            let flags = flags - (Flags::ALL - allowed);
            if !keywords_allowed {
                keywords = Keywords::default();
            }
            let target = AppendTarget {
                folder_id: folder.id,
                flags,
                keywords,
                internal_date: message.date.map_or_else(now, |d| d.as_ref().timestamp()),
                origin: None,
            };
            new.push(NewMessage::to_folders(Arc::from(message.raw), vec![target]));
        }
        // One message shares a group commit with other sessions' appends;
        // several go in a commit of their own, which refuses them together.
        let stored = if new.len() == 1 {
            store
                .append(new.remove(0))
                .await?
                .map(|stored| vec![stored])
        } else {
            store.append_all(new).await?
        };
        let stored = match stored {
            Ok(stored) => stored,
            Err(Refusal::NoSuchFolder(_)) => {
                return Ok(Status::no("No such mailbox").code(Code::TryCreate));
            }
            Err(_) => return Ok(Status::no("Over quota").code(Code::OverQuota)),
        };
        let uids: Vec<u32> = stored
            .iter()
            .filter_map(|s| s.appended.first())
            .map(|appended| appended.uid as u32)
            .collect();
        if uids.len() != messages.len() {
            return Ok(Status::no("Message not stored").code(Code::ServerBug));
        }
        let size: usize = messages.iter().map(|m| m.raw.len()).sum();
        tracing::info!(folder = %folder.name, uids = ?uids, size, "appended");
        if selected.is_some_and(|v| v.folder_id == folder.id) {
            self.forced_sync = true;
        }
        let code = Code::AppendUid {
            uid_validity: folder.uidvalidity as u32,
            uids: Cow::Owned(uids),
        };
        Ok(Status::ok("APPEND completed").code(code))
    }
}
