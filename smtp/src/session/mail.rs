//! MAIL (RFC 5321 §4.1.1.2), with SIZE, BODY, SMTPUTF8 and DSN parameters.

use postino_common::address::Address;

use super::{Envelope, Session};
use crate::metrics::{Rejection, rejected};
use crate::proto::{MailFrom, Reply};

impl Session {
    pub(super) async fn mail(&mut self, mail: MailFrom) -> Reply {
        if self.helo.is_none() {
            return Reply::new(503, "5.5.1", "Send EHLO or HELO first");
        }
        if self.envelope.is_some() {
            return Reply::new(503, "5.5.1", "A mail transaction is already open");
        }
        if self.kind.is_submission() && !self.authenticated() {
            return rejected(
                Rejection::AuthRequired,
                Reply::new(530, "5.7.0", "Authentication required"),
            );
        }
        if !mail.path.is_ascii() && !mail.smtputf8 {
            return Reply::new(553, "5.6.7", "A UTF-8 address needs the SMTPUTF8 parameter");
        }
        let max = self.settings().max_message_size as u64;
        if mail.size.is_some_and(|size| size > max) {
            return rejected(
                Rejection::TooLarge,
                Reply::new(
                    552,
                    "5.3.4",
                    format!("Message too big: the limit is {max} bytes"),
                ),
            );
        }
        if !mail.path.is_empty() && mail.path.parse::<Address>().is_err() {
            return Reply::new(553, "5.1.7", "Invalid sender address");
        }
        if let Some(refusal) = self.check_sender(&mail.path).await {
            return refusal;
        }
        if let Some(refusal) = self.check_relay_sender(&mail.path).await {
            return refusal;
        }
        tracing::debug!(from = %mail.path, "MAIL accepted");
        self.envelope = Some(Envelope {
            mail,
            local: Vec::new(),
            remote: Vec::new(),
            accepted: 0,
            chunks: None,
        });
        Reply::new(250, "2.1.0", "Sender OK")
    }

    /// On submission, a user may send only as itself or as one of its
    /// aliases; `None` when the sender is allowed.
    async fn check_sender(&self, path: &str) -> Option<Reply> {
        let user = self.user.as_ref()?;
        let sender = path.parse::<Address>().ok().map(|a| a.to_string());
        let refused = || {
            Some(rejected(
                Rejection::SenderRefused,
                Reply::new(553, "5.7.1", format!("You may not send as <{path}>")),
            ))
        };
        let Some(sender) = sender else {
            return refused();
        };
        if sender == user.address {
            return None;
        }
        match self.context.store.aliases_to(&user.address).await {
            Ok(aliases) if aliases.contains(&sender) => None,
            Ok(_) => refused(),
            Err(err) => {
                tracing::error!(error = %err, "cannot check the sender's aliases");
                Some(Reply::new(
                    451,
                    "4.3.0",
                    "Temporary server error, try again later",
                ))
            }
        }
    }
}
