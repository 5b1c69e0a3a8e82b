//! What goes back to the sender once a message is stored: the
//! out-of-office replies its recipients' filters owe (RFC 5230, RFC 3834),
//! and a notice naming the recipients whose filter refused it when others
//! took it (RFC 5429 §2.1: SMTP can then no longer refuse it). Both are
//! sent after the client has its reply, in a task of their own: the
//! message is safe already, and a failure here is logged, not the client's.

use std::sync::Arc;

use postino_common::store::now;
use postino_sieve::{Envelope, Vacation, vacation_allowed};
use tracing::Instrument;

use super::filter::ascii_line;
use crate::Context;
use crate::error::Chain;
use crate::outbound::{dsn, send_notice, strip_return_path, vacation};

/// The answers owed for one stored message.
pub(super) struct Answers {
    pub queue_id: String,
    /// The envelope sender, who gets them; empty for the null sender.
    pub sender: String,
    /// The message as stored, `Return-Path` first.
    pub message: Arc<[u8]>,
    /// The local recipients' accounts and addresses, in the order the
    /// vacations' indexes refer to.
    pub recipients: Vec<(i64, String)>,
    /// Recipients whose filter refused the message, with the reason.
    pub rejected: Vec<(String, String)>,
    pub vacations: Vec<(usize, Vacation)>,
}

impl Answers {
    /// Sends them in the background, if there are any.
    pub(super) fn spawn(self, context: Arc<Context>) {
        if self.rejected.is_empty() && self.vacations.is_empty() {
            return;
        }
        let span = tracing::Span::current();
        tokio::spawn(async move { self.send(&context).await }.instrument(span));
    }

    async fn send(&self, context: &Context) {
        for (index, vacation) in &self.vacations {
            self.vacation(context, *index, vacation).await;
        }
        if !self.rejected.is_empty() && !self.sender.is_empty() {
            self.refusal_notice(context).await;
        }
    }

    /// One vacation reply, unless RFC 3834 forbids it or the sender had
    /// one within the script's period.
    async fn vacation(&self, context: &Context, index: usize, vacation: &Vacation) {
        let queue_id = &self.queue_id;
        let (account_id, address) = &self.recipients[index];
        let store = &context.store;
        let mut own = vacation.addresses.clone();
        own.push(address.clone());
        match store.aliases_to(address).await {
            Ok(aliases) => own.extend(aliases),
            Err(err) => {
                tracing::warn!(queue_id, error = %Chain(&err), "cannot read the mailbox's aliases for a vacation reply");
            }
        }
        let envelope = Envelope {
            from: self.sender.clone(),
            to: address.clone(),
        };
        let original = strip_return_path(&self.message);
        if let Err(reason) = vacation_allowed(original, &envelope, &own) {
            return tracing::info!(queue_id, to = %address, %reason, "no vacation reply");
        }
        let now = now();
        let period = i64::try_from(vacation.period).unwrap_or(i64::MAX);
        match store
            .vacation_due(*account_id, &vacation.handle, &self.sender, period, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                return tracing::info!(queue_id, to = %address, sender = %self.sender, "vacation reply sent to this sender within the period");
            }
            Err(err) => {
                return tracing::warn!(queue_id, error = %Chain(&err), "cannot check the vacation replies sent");
            }
        }
        let reply = vacation::build(&vacation::Reply {
            from: reply_from(vacation.from.as_deref(), address),
            to: &self.sender,
            subject: &vacation.subject,
            reason: &vacation.reason,
            mime: vacation.mime,
            original,
            hostname: &context.settings.hostname,
            token: &format!("{queue_id}.{index}"),
            now,
        });
        send_notice(store, &self.sender, reply, "vacation reply").await;
    }

    /// A delivery status notification (RFC 3464) naming the recipients
    /// whose filter refused the message, with the reasons they gave.
    async fn refusal_notice(&self, context: &Context) {
        let recipients: Vec<dsn::Recipient> = self
            .rejected
            .iter()
            .map(|(address, reason)| dsn::Recipient {
                address: address.clone(),
                orcpt: None,
                status: "5.7.1".into(),
                diagnostic: format!("refused by the recipient's filter: {}", ascii_line(reason)),
                remote_mta: None,
            })
            .collect();
        let now = now();
        let report = dsn::build(&dsn::Report {
            hostname: &context.settings.hostname,
            sender: &self.sender,
            envid: None,
            arrival: now,
            original: strip_return_path(&self.message),
            action: dsn::Action::Failed,
            recipients: &recipients,
            token: &format!("{}.rejected", self.queue_id),
            now,
        });
        send_notice(&context.store, &self.sender, report, "refusal notice").await;
    }
}

/// The reply's `From`: the script's `:from` when it is an address of the
/// recipient's own domain (a reply signed with the domain's key must not
/// speak for anyone else), else the recipient.
fn reply_from<'a>(asked: Option<&'a str>, recipient: &'a str) -> &'a str {
    let domain_of = |address: &'a str| address.rsplit_once('@').map(|(_, d)| d);
    match asked {
        Some(from)
            if domain_of(from)
                .zip(domain_of(recipient))
                .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b)) =>
        {
            from
        }
        _ => recipient,
    }
}

#[cfg(test)]
mod tests {
    use super::reply_from;

    #[test]
    fn a_reply_speaks_only_for_the_recipients_domain() {
        let anna = "anna@comune.example.it";
        assert_eq!(reply_from(None, anna), anna);
        assert_eq!(
            reply_from(Some("sindaco@comune.example.it"), anna),
            "sindaco@comune.example.it"
        );
        assert_eq!(reply_from(Some("ceo@bank.example"), anna), anna);
        assert_eq!(reply_from(Some("no-domain"), anna), anna);
    }
}
