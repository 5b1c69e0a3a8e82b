//! RETR and TOP (RFC 1939 sections 5 and 7): a message's body, read from
//! the store by its UID as IMAP's FETCH reads it, sent dot-stuffed. RETR
//! marks the message to get `\Seen` (Dovecot's default; TOP does not).
//! A message another session expunged since login answers `-ERR`, and the
//! session goes on.

use super::{Client, Maildrop};
use crate::error::Error;
use crate::proto::Reply;
use crate::proto::response::write_message;

impl Client<'_> {
    /// The reply to RETR (`top` `None`) or TOP of message `number`, and
    /// whether a refusal counts as an error.
    pub(super) async fn retrieve(
        &mut self,
        maildrop: &mut Maildrop,
        number: u32,
        top: Option<u64>,
    ) -> Result<(Reply, bool), Error> {
        let folder_id = maildrop.folder_id;
        let uid = match maildrop.get(number) {
            Ok(message) => message.uid,
            Err(refused) => return Ok((refused, true)),
        };
        let Some(raw) = self.ctx.store.message_body(folder_id, uid).await? else {
            tracing::info!(number, uid, "message expunged by another session");
            let again = maildrop.found_expunged(number);
            return Ok((Reply::err(format!("Message {number} expunged.")), again));
        };
        let mut lines = Vec::with_capacity(raw.len() + raw.len() / 32 + 8);
        write_message(&mut lines, &raw, top);
        // Still there: the snapshot changes only by this session's commands.
        let message = match maildrop.get(number) {
            Ok(message) => message,
            Err(refused) => return Ok((refused, true)),
        };
        let reply = match top {
            Some(_) => Reply::ok(""),
            None => {
                message.mark_retrieved();
                Reply::ok(format!("{} octets", message.size()))
            }
        };
        Ok((reply.lines(lines), true))
    }
}
