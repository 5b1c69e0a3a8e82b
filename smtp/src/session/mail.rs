//! MAIL (RFC 5321 §4.1.1.2), with SIZE, BODY, SMTPUTF8 and DSN parameters.

use postino_common::address::Address;

use super::{Envelope, Identity, Session, State};
use crate::error::Error;
use crate::metrics::{Rejection, rejected};
use crate::proto::{MailFrom, Reply};

impl Session {
    pub(super) async fn mail(&mut self, mail: MailFrom) -> Result<Reply, Error> {
        let helo = match std::mem::take(&mut self.state) {
            State::Greeted(helo) => helo,
            State::Connected => return Ok(Reply::new(503, "5.5.1", "Send EHLO or HELO first")),
            open => {
                self.state = open;
                return Ok(Reply::new(
                    503,
                    "5.5.1",
                    "A mail transaction is already open",
                ));
            }
        };
        if let Some(refusal) = self.blocklisted().await {
            self.state = State::Greeted(helo);
            return Ok(refusal);
        }
        let allowance = match self.mail_refusal(&mail).await {
            Ok(None) => self.sending_allowance().await,
            Ok(Some(refusal)) => Ok(Err(refusal)),
            Err(err) => Err(err),
        };
        match allowance {
            Ok(Ok(allowance)) => {
                tracing::debug!(from = %mail.path, "MAIL accepted");
                self.state = State::Mail(helo, Envelope::new(mail, allowance));
                Ok(Reply::new(250, "2.1.0", "Sender OK"))
            }
            Ok(Err(refusal)) => {
                self.state = State::Greeted(helo);
                Ok(refusal)
            }
            Err(err) => {
                self.state = State::Greeted(helo);
                Err(err)
            }
        }
    }

    /// Why `mail` cannot start a transaction; `None` when it can.
    async fn mail_refusal(&self, mail: &MailFrom) -> Result<Option<Reply>, Error> {
        if self.kind.is_submission() && !self.authenticated() {
            return Ok(Some(rejected(
                Rejection::AuthRequired,
                Reply::new(530, "5.7.0", "Authentication required"),
            )));
        }
        if !mail.path.is_ascii() && !mail.smtputf8 {
            return Ok(Some(Reply::new(
                553,
                "5.6.7",
                "A UTF-8 address needs the SMTPUTF8 parameter",
            )));
        }
        let max = self.settings().max_message_size as u64;
        if mail.size.is_some_and(|size| size > max) {
            return Ok(Some(rejected(
                Rejection::TooLarge,
                Reply::new(
                    552,
                    "5.3.4",
                    format!("Message too big: the limit is {max} bytes"),
                ),
            )));
        }
        if !mail.path.is_empty() && mail.path.parse::<Address>().is_err() {
            return Ok(Some(Reply::new(553, "5.1.7", "Invalid sender address")));
        }
        if let Some(refusal) = self.check_sender(&mail.path).await? {
            return Ok(Some(refusal));
        }
        self.check_relay_sender(&mail.path).await
    }

    /// On submission, a user may send only as itself, as one of its
    /// aliases, or as a mailbox shared with it for sending; `None` when the
    /// sender is allowed.
    async fn check_sender(&self, path: &str) -> Result<Option<Reply>, Error> {
        let Identity::User(user) = &self.identity else {
            return Ok(None);
        };
        let Ok(sender) = path.parse::<Address>() else {
            return Ok(Some(sender_refused(path)));
        };
        let sender = sender.to_string();
        if sender == user.address {
            return Ok(None);
        }
        let store = &self.context.store;
        let aliases = store
            .aliases_to(&user.address)
            .await
            .map_err(Error::store("look up the sender's aliases"))?;
        if aliases.contains(&sender) {
            return Ok(None);
        }
        let shared = store
            .send_as(&user.address, &sender)
            .await
            .map_err(Error::store("look up the mailboxes shared with the sender"))?;
        Ok(shared.is_none().then(|| sender_refused(path)))
    }
}

/// The refusal of a sender the client may not use.
pub(super) fn sender_refused(path: &str) -> Reply {
    rejected(
        Rejection::SenderRefused,
        Reply::new(553, "5.7.1", format!("You may not send as <{path}>")),
    )
}
