//! Sending limits of a logged-in mailbox: so many messages an hour and so
//! many distinct recipients a day (its own limits, else its domain's, else
//! the configured ones). Past either, MAIL or RCPT gets `451 4.7.1`, and
//! the hit is logged, counted and noted for the provincial admins: a
//! stolen password sends little before someone looks.
//!
//! The counts are read at MAIL, once per transaction. A recipient is
//! taken as new until the count comes near the limit; from there each one
//! is looked up, so that writing again to a colleague costs nothing. Two
//! sessions of one mailbox at once may pass a limit by what they send at
//! the same moment, never more.

use postino_common::store::{Sending, SentBy};

use super::{Envelope, Identity, Session};
use crate::error::Error;
use crate::metrics;
use crate::proto::Reply;

/// Which limit a mailbox ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    MessagesPerHour,
    RecipientsPerDay,
}

impl Limit {
    fn name(self) -> &'static str {
        match self {
            Limit::MessagesPerHour => "messages_per_hour",
            Limit::RecipientsPerDay => "recipients_per_day",
        }
    }
}

/// A transaction's standing against its sender's recipient limit.
pub(super) struct Allowance {
    account_id: i64,
    /// Distinct recipients a day; 0 is no limit.
    limit: i64,
    /// Recipients of the last day, this transaction's counted in as new.
    counted: i64,
    /// The envelope recipients, as given, for the count kept in the store.
    recipients: Vec<String>,
}

impl Allowance {
    /// What the store is to count for the message sent.
    pub(super) fn sent_by(self) -> SentBy {
        SentBy {
            account_id: self.account_id,
            recipients: self.recipients,
        }
    }
}

/// A limit: the mailbox's own, else its domain's, else the configured one.
fn effective(own: Option<i64>, domain: Option<i64>, configured: u32) -> i64 {
    own.or(domain).unwrap_or(i64::from(configured)).max(0)
}

impl Session {
    /// At MAIL from a logged-in mailbox: its allowance for the
    /// transaction, or the refusal of a mailbox past its hourly messages.
    /// Nothing to count (`Ok(None)`) for anyone else, or with no limits.
    pub(super) async fn sending_allowance(
        &self,
    ) -> Result<Result<Option<Allowance>, Reply>, Error> {
        let Identity::User(user) = &self.identity else {
            return Ok(Ok(None));
        };
        let configured = self.settings().sending_limits;
        let sending = self
            .context
            .store
            .sending(user.account_id)
            .await
            .map_err(Error::store("read the sender's sending counts"))?;
        let Some(Sending {
            account_messages_per_hour,
            account_recipients_per_day,
            domain_messages_per_hour,
            domain_recipients_per_day,
            messages,
            recipients,
        }) = sending
        else {
            return Ok(Ok(None));
        };
        let messages_limit = effective(
            account_messages_per_hour,
            domain_messages_per_hour,
            configured.messages_per_hour,
        );
        let recipients_limit = effective(
            account_recipients_per_day,
            domain_recipients_per_day,
            configured.recipients_per_day,
        );
        if messages_limit > 0 && messages >= messages_limit {
            let text = format!("Sending limit reached: at most {messages_limit} messages an hour");
            return Ok(Err(self
                .limit_hit(user.account_id, Limit::MessagesPerHour, text)
                .await));
        }
        if messages_limit == 0 && recipients_limit == 0 {
            return Ok(Ok(None));
        }
        Ok(Ok(Some(Allowance {
            account_id: user.account_id,
            limit: recipients_limit,
            counted: recipients,
            recipients: Vec::new(),
        })))
    }

    /// At RCPT, once the recipient is otherwise accepted: counts it, or
    /// refuses it past the daily limit of distinct recipients.
    pub(super) async fn count_recipient(
        &self,
        envelope: &mut Envelope,
        recipient: &str,
    ) -> Result<Option<Reply>, Error> {
        let Some(allowance) = &mut envelope.allowance else {
            return Ok(None);
        };
        if allowance
            .recipients
            .iter()
            .any(|r| r.eq_ignore_ascii_case(recipient))
        {
            return Ok(None);
        }
        if allowance.limit > 0 && allowance.counted >= allowance.limit {
            let known = self
                .context
                .store
                .has_sent_to(allowance.account_id, recipient)
                .await
                .map_err(Error::store("look up a recipient sent to before"))?;
            if !known {
                let limit = allowance.limit;
                let text = format!("Sending limit reached: at most {limit} recipients a day");
                let account_id = allowance.account_id;
                return Ok(Some(
                    self.limit_hit(account_id, Limit::RecipientsPerDay, text)
                        .await,
                ));
            }
        } else {
            allowance.counted += 1;
        }
        allowance.recipients.push(recipient.to_string());
        Ok(None)
    }

    /// The refusal of a mailbox past `limit`, noted in the log, the metrics
    /// and the store.
    async fn limit_hit(&self, account_id: i64, limit: Limit, text: String) -> Reply {
        let user = match &self.identity {
            Identity::User(user) => user.address.as_str(),
            _ => "",
        };
        tracing::warn!(user, limit = limit.name(), "sending limit reached");
        metrics::sending_limit_hit(limit.name());
        // The refusal stands even if the note cannot be written.
        if let Err(err) = self
            .context
            .store
            .record_limit_hit(account_id, limit.name())
            .await
        {
            tracing::warn!(error = %err, "cannot note a sending limit hit");
        }
        Reply::new(451, "4.7.1", format!("{text}; try again later"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_limit_applies() {
        assert_eq!(effective(Some(5), Some(50), 200), 5);
        assert_eq!(effective(None, Some(50), 200), 50);
        assert_eq!(effective(None, None, 200), 200);
        assert_eq!(effective(Some(0), Some(50), 200), 0, "0 is no limit");
        assert_eq!(effective(Some(-3), None, 200), 0);
    }
}
