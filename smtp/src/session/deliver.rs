//! Turning an accepted message into a stored one: trace headers, then one
//! durable append for every local INBOX and the outbound queue together.
//!
//! The stored message starts with `Return-Path` (RFC 5321 §4.4), which
//! local delivery needs; outbound delivery removes that first line again
//! before relaying, so one body serves both.

use std::sync::Arc;

use mail_parser::DateTime;
use postino_common::store::{AppendTarget, NewMessage, Outbound, Refusal};

use super::Session;
use crate::metrics::{self, Rejection, rejected};
use crate::proto::Reply;
use crate::{ListenerKind, authres};

impl Session {
    /// Stores the message of the open transaction and closes it; the reply
    /// is positive only once the message is durably committed.
    pub(crate) async fn deliver(&mut self, content: Vec<u8>) -> Reply {
        let Some(envelope) = self.envelope.take() else {
            return Reply::new(503, "5.5.1", "Send MAIL first");
        };
        self.accepted_messages += 1;
        let queue_id = format!("{}.{}", self.id, self.accepted_messages);
        let hostname = self.settings().hostname.clone();
        let sender = envelope.mail.path.clone();
        let mut raw = format!("Return-Path: <{sender}>\r\n").into_bytes();
        // Only we may write results under our name (RFC 8601 §5), whoever sends.
        let content = authres::strip_forged_results(&content, &hostname);
        // A relay client on the MX listener sends our own mail, not the world's.
        if self.kind == ListenerKind::Mx && self.relay.is_none() {
            let helo = self.helo.as_ref().map_or("", |h| h.name.as_str());
            let results = self
                .context
                .verifier
                .authentication_results(self.peer, helo, &sender, &content)
                .await;
            raw.extend_from_slice(results.as_bytes());
        }
        raw.extend_from_slice(
            self.received_header(&queue_id, envelope.mail.smtputf8)
                .as_bytes(),
        );
        raw.extend_from_slice(&content);
        let size = raw.len();
        let outbound = (!envelope.remote.is_empty()).then(|| Outbound {
            sender: sender.clone(),
            envid: envelope.mail.envid.clone(),
            ret: envelope.mail.ret.clone(),
            recipients: envelope.remote.clone(),
        });
        let message = NewMessage {
            raw: Arc::from(raw),
            targets: envelope
                .local
                .iter()
                .map(|r| AppendTarget::new(r.inbox))
                .collect(),
            outbound,
        };
        match self.context.store.append(message).await {
            Ok(Ok(stored)) => {
                metrics::message_accepted(self.kind);
                tracing::info!(
                    queue_id,
                    from = %sender,
                    local = envelope.local.len(),
                    remote = envelope.remote.len(),
                    outbound_id = stored.queue_id,
                    size,
                    "message accepted"
                );
                Reply::new(250, "2.0.0", format!("OK: queued as {queue_id}"))
            }
            Ok(Err(refusal)) => {
                tracing::info!(queue_id, %refusal, "message refused at delivery");
                match refusal {
                    Refusal::AccountOverQuota(_) | Refusal::DomainOverQuota(_) => rejected(
                        Rejection::OverQuota,
                        self.quota_refusal(&envelope.local, size as u64).await,
                    ),
                    Refusal::NoSuchFolder(_) => {
                        Reply::new(451, "4.3.0", "Mailbox unavailable, try again later")
                    }
                }
            }
            Err(err) => {
                tracing::error!(queue_id, error = %err, "message could not be stored");
                Reply::new(451, "4.3.0", "Temporary server error, try again later")
            }
        }
    }

    /// The reply when a message did not fit: permanent if it can never fit
    /// (larger than a whole quota, which the RCPT check could not know
    /// without SIZE), else temporary.
    async fn quota_refusal(&self, recipients: &[super::LocalRecipient], size: u64) -> Reply {
        for recipient in recipients {
            if let Ok(Some(reply)) = self.check_quota(&recipient.address, size).await
                && reply.code == 552
            {
                return reply;
            }
        }
        Reply::new(452, "4.2.2", "Mailbox full, try again later")
    }

    /// The `Received` trace field (RFC 5321 §4.4) with the protocol of
    /// RFC 3848 / RFC 6531.
    fn received_header(&self, queue_id: &str, smtputf8: bool) -> String {
        let helo = self.helo.as_ref().map_or("unknown", |h| h.name.as_str());
        let extended = self.helo.as_ref().is_some_and(|h| h.extended);
        let protocol = match (smtputf8, extended) {
            (true, _) => "UTF8SMTP",
            (false, true) => "ESMTP",
            (false, false) => "SMTP",
        };
        let tls = if self.conn.is_tls() { "S" } else { "" };
        let authenticated = if self.authenticated() { "A" } else { "" };
        let date = DateTime::from_timestamp(postino_common::store::now()).to_rfc822();
        format!(
            "Received: from {helo} ([{peer}])\r\n\tby {host} (Postino) with {protocol}{tls}{authenticated}\r\n\tid {queue_id}; {date}\r\n",
            peer = self.peer,
            host = self.settings().hostname,
        )
    }
}
