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
use super::{Done, Session, unavailable};

impl Session<'_> {
    pub(super) async fn append(
        &mut self,
        account_id: i64,
        mailbox: &Mailbox<'_>,
        flags: &[Flag<'_>],
        date: Option<&DateTime>,
        message: &LiteralOrLiteral8<'_>,
    ) -> Done {
        let Ok(name) = from_client(mailbox, self.enabled) else {
            return Done::no("Invalid mailbox name").code("CANNOT");
        };
        let raw: &[u8] = match message {
            LiteralOrLiteral8::Literal(literal) => literal.as_ref(),
            LiteralOrLiteral8::Literal8(literal) => &literal.data,
        };
        if raw.is_empty() {
            return Done::no("Empty message").code("CANNOT");
        }
        let Some((flags, keywords)) = split_flags(flags) else {
            return Done::bad("That flag cannot be stored");
        };
        let store = &self.ctx.store;
        let folder = match store.folder(account_id, &name).await {
            Ok(Some(folder)) => folder,
            Ok(None) => return Done::no("No such mailbox").code("TRYCREATE"),
            Err(err) => return unavailable(&err),
        };
        let target = AppendTarget {
            folder_id: folder.id,
            flags,
            keywords: keywords.join(" "),
            internal_date: date.map_or_else(now, |d| d.as_ref().timestamp()),
        };
        let message = NewMessage::to_folders(Arc::from(raw), vec![target]);
        match store.append(message).await {
            Ok(Ok(stored)) => {
                let Some(appended) = stored.appended.first() else {
                    return Done::no("Message not stored").code("SERVERBUG");
                };
                tracing::info!(folder = %folder.name, uid = appended.uid, size = raw.len(), "appended");
                if self
                    .selected
                    .as_ref()
                    .is_some_and(|v| v.folder_id == folder.id)
                {
                    self.forced_sync = true;
                }
                Done::ok("APPEND completed")
                    .code(format!("APPENDUID {} {}", folder.uidvalidity, appended.uid))
            }
            Ok(Err(Refusal::NoSuchFolder(_))) => Done::no("No such mailbox").code("TRYCREATE"),
            Ok(Err(_)) => Done::no("Over quota").code("OVERQUOTA"),
            Err(err) => unavailable(&err),
        }
    }
}
