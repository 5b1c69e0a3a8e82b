//! APPEND (RFC 9051 §6.3.12) with APPENDUID (UIDPLUS, RFC 4315) and
//! literal8 messages (BINARY, RFC 3516 §4.4). The message is stored, and
//! parsed once for FETCH, before the OK.

use std::sync::Arc;

use imap_codec::imap_types::datetime::DateTime;
use imap_codec::imap_types::extensions::binary::LiteralOrLiteral8;
use imap_codec::imap_types::flag::Flag;
use imap_codec::imap_types::mailbox::Mailbox;
use postino_common::store::{AppendTarget, NewMessage, Refusal, now};

use super::flags::split_flags;
use super::names::from_client;
use super::view::View;
use super::{Client, Outcome};
use crate::proto::{Code, Status};

impl Client<'_> {
    pub(super) async fn append(
        &mut self,
        account_id: i64,
        selected: Option<&View>,
        mailbox: &Mailbox<'_>,
        flags: &[Flag<'_>],
        date: Option<&DateTime>,
        message: &LiteralOrLiteral8<'_>,
    ) -> Outcome {
        let name = from_client(mailbox, self.enabled)?;
        let raw: &[u8] = match message {
            LiteralOrLiteral8::Literal(literal) => literal.as_ref(),
            LiteralOrLiteral8::Literal8(literal) => &literal.data,
        };
        if raw.is_empty() {
            return Ok(Status::no("Empty message").code(Code::Cannot));
        }
        let Some((flags, keywords)) = split_flags(flags) else {
            return Ok(Status::bad("That flag cannot be stored"));
        };
        let store = &self.ctx.store;
        let Some(folder) = store.folder(account_id, &name).await? else {
            return Ok(Status::no("No such mailbox").code(Code::TryCreate));
        };
        let target = AppendTarget {
            folder_id: folder.id,
            flags,
            keywords,
            internal_date: date.map_or_else(now, |d| d.as_ref().timestamp()),
            origin: None,
        };
        let message = NewMessage::to_folders(Arc::from(raw), vec![target]);
        let stored = match store.append(message).await? {
            Ok(stored) => stored,
            Err(Refusal::NoSuchFolder(_)) => {
                return Ok(Status::no("No such mailbox").code(Code::TryCreate));
            }
            Err(_) => return Ok(Status::no("Over quota").code(Code::OverQuota)),
        };
        let Some(appended) = stored.appended.first() else {
            return Ok(Status::no("Message not stored").code(Code::ServerBug));
        };
        tracing::info!(folder = %folder.name, uid = appended.uid, size = raw.len(), "appended");
        if selected.is_some_and(|v| v.folder_id == folder.id) {
            self.forced_sync = true;
        }
        let code = Code::AppendUid {
            uid_validity: folder.uidvalidity as u32,
            uid: appended.uid as u32,
        };
        Ok(Status::ok("APPEND completed").code(code))
    }
}
