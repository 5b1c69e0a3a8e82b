//! Running each local recipient's active Sieve script on an accepted
//! message (RFC 5228): where it is filed and with which flags, where it is
//! redirected, whether it is refused, and which out-of-office replies are
//! owed. A script that fails to compile or run means the implicit keep,
//! logged. Recipients without a script get the message where it would go
//! anyway (their INBOX, or Junk for spam).
//!
//! Choices:
//! - `keep` files where the message would go without a script, so spam
//!   kept by a script still lands in Junk.
//! - `fileinto` a folder that does not exist files into INBOX, unless the
//!   script asked for `:create` (RFC 5490); names are the store's (UTF-8,
//!   `/` between levels).
//! - `redirect` to an address of a domain hosted here stores the message in
//!   that mailbox's INBOX without running its script, so that two scripts
//!   redirecting to each other cannot loop; other addresses go through the
//!   outbound queue with the sender rewritten (SRS). A message that has
//!   passed through this server [`MAX_PASSES`] times is not redirected
//!   again but kept.

use mail_parser::MessageParser;
use postino_common::address::Address;
use postino_common::mailbox_name;
use postino_common::store::{AppendTarget, Flags, Keywords, OutboundRecipient, Recipient};
use postino_sieve::{Action, Context, Envelope, Outcome, Vacation};

use super::{LocalRecipient, Session};
use crate::error::Error;
use crate::proto::Reply;

/// Times a message may have passed through this server (by our own
/// `Received` fields) and still be redirected.
pub(super) const MAX_PASSES: usize = 3;

/// What the recipients' filters decided for one message.
#[derive(Default)]
pub(super) struct Filtered {
    /// Where the message is stored, with its flags: one target per folder.
    pub targets: Vec<AppendTarget>,
    /// Addresses elsewhere it is redirected to.
    pub redirects: Vec<OutboundRecipient>,
    /// Recipients whose filter refused it, with the reason.
    pub rejected: Vec<(String, String)>,
    /// Out-of-office replies owed, by the index of the recipient.
    pub vacations: Vec<(usize, Vacation)>,
}

impl Filtered {
    /// Stores into `folder_id` with `flags`, joined with a target already
    /// there.
    fn file(&mut self, folder_id: i64, flags: &[String]) {
        let (system, keywords) = state_of(flags);
        match self.targets.iter_mut().find(|t| t.folder_id == folder_id) {
            Some(target) => {
                target.flags |= system;
                target.keywords.insert_all(&keywords);
            }
            None => {
                let mut target = AppendTarget::new(folder_id);
                target.flags = system;
                target.keywords = keywords;
                self.targets.push(target);
            }
        }
    }

    /// Redirects to `address` elsewhere, once.
    fn send_on(&mut self, address: String) {
        if !self.redirects.iter().any(|r| r.address == address) {
            self.redirects.push(OutboundRecipient {
                address,
                ..OutboundRecipient::default()
            });
        }
    }
}

/// The system flags and keywords Sieve flag names stand for; `\Recent` and
/// names that cannot be IMAP keywords are left out.
fn state_of(names: &[String]) -> (Flags, Keywords) {
    let mut flags = Flags::default();
    let mut keywords = Keywords::default();
    for name in names {
        if let Some(flag) = Flags::named(name) {
            flags |= flag;
        } else if is_keyword(name) {
            keywords.insert(name);
        }
    }
    (flags, keywords)
}

/// Whether `name` is an IMAP keyword: an atom (RFC 9051 §9), not a `\` flag.
fn is_keyword(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
        })
}

/// How many times `message` has passed through `hostname`, by the
/// `Received` fields we wrote.
fn passes(message: &[u8], hostname: &str) -> usize {
    let Some(parsed) = MessageParser::new().parse_headers(message) else {
        return 0;
    };
    let ours = format!("by {hostname} (Postino)");
    parsed
        .headers()
        .iter()
        .filter(|header| header.name().eq_ignore_ascii_case("Received"))
        .filter(|header| {
            let raw = &message[header.offset_start() as usize..header.offset_end() as usize];
            let text = String::from_utf8_lossy(raw);
            text.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .contains(&ours)
        })
        .count()
}

/// The reply to a message every recipient's filter refused (RFC 5429
/// §2.1): the script's reason, on one line of printable ASCII.
pub(super) fn filter_refusal(reason: &str) -> Reply {
    let mut line = ascii_line(reason);
    if line.is_empty() {
        line.push_str("Refused by the recipient's filter");
    }
    Reply::new(550, "5.7.1", line)
}

/// A script's reason as SMTP replies and delivery status fields must carry
/// it: one line of printable ASCII, other characters as `?`, at most 400.
pub(super) fn ascii_line(reason: &str) -> String {
    let printable = |c: char| {
        if c.is_ascii_graphic() || c == ' ' {
            c
        } else {
            '?'
        }
    };
    let mut line: String = reason
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .map(printable)
        .collect();
    line.truncate(400);
    line
}

impl Session {
    /// The envelope sender of mail redirected elsewhere: the null sender
    /// and our own domains' addresses as they are (they pass SPF from
    /// here), any other rewritten by SRS so that it does.
    pub(super) async fn redirect_sender(&self, sender: &str) -> Result<String, Error> {
        let Some((_, domain)) = sender.rsplit_once('@') else {
            return Ok(sender.to_string());
        };
        let store = &self.context.store;
        let hosted = store
            .domain_policy(domain)
            .await
            .map_err(Error::store("look up the sender's domain"))?;
        if hosted.is_some() {
            return Ok(sender.to_string());
        }
        let srs = self
            .context
            .filters
            .srs(store, postino_common::store::now())
            .await
            .map_err(Error::store("read the SRS secrets"))?;
        Ok(srs.forward(sender, postino_common::store::now()))
    }

    /// Runs the scripts of `local`, whose messages would go to `folders`
    /// (in the same order) without one.
    pub(super) async fn filter(
        &self,
        local: &[LocalRecipient],
        folders: &[i64],
        sender: &str,
        message: &[u8],
        queue_id: &str,
    ) -> Result<Filtered, Error> {
        let mut filtered = Filtered::default();
        let mut passed = None;
        for (index, (recipient, &folder)) in local.iter().zip(folders).enumerate() {
            let Some(source) = &recipient.script else {
                filtered.file(folder, &[]);
                continue;
            };
            let outcome = self.run_script(recipient, source, sender, message).await;
            if let Some(error) = &outcome.error {
                tracing::warn!(queue_id, to = %recipient.address, error, "filter failed; message kept");
            }
            for action in outcome.actions {
                match action {
                    Action::Keep { flags } => filtered.file(folder, &flags),
                    Action::FileInto {
                        mailbox,
                        flags,
                        create,
                    } => {
                        let into = self
                            .filing_folder(recipient, &mailbox, create, queue_id)
                            .await?;
                        filtered.file(into, &flags);
                    }
                    Action::Redirect { address } => {
                        let passes = *passed
                            .get_or_insert_with(|| passes(message, &self.settings().hostname));
                        if passes > MAX_PASSES {
                            tracing::warn!(queue_id, to = %recipient.address, redirect = %address, passes, "redirect loop; message kept");
                            filtered.file(folder, &[]);
                            continue;
                        }
                        self.redirect(&mut filtered, &address, queue_id).await?;
                    }
                    Action::Reject { reason, .. } => {
                        filtered.rejected.push((recipient.address.clone(), reason));
                    }
                    Action::Vacation(vacation) => filtered.vacations.push((index, vacation)),
                }
            }
            tracing::info!(queue_id, to = %recipient.address, "filter run");
        }
        Ok(filtered)
    }

    /// One recipient's script on the message; never fails: a script that
    /// cannot be compiled gives the implicit keep and its error.
    async fn run_script(
        &self,
        recipient: &LocalRecipient,
        source: &std::sync::Arc<str>,
        sender: &str,
        message: &[u8],
    ) -> Outcome {
        let store = &self.context.store;
        let script = match self
            .context
            .filters
            .script(store, recipient.account_id, source)
            .await
        {
            Ok(script) => script,
            Err(error) => {
                return Outcome {
                    actions: vec![Action::Keep { flags: Vec::new() }],
                    error: Some(error),
                };
            }
        };
        let envelope = Envelope {
            from: sender.to_string(),
            to: recipient.address.clone(),
        };
        let now = postino_common::store::now();
        // Most scripts never ask whether a mailbox exists: the folders are
        // read, and the script run again, only for one that does.
        let asked = std::cell::Cell::new(false);
        let run = |exists: &dyn Fn(&str) -> bool| {
            postino_sieve::run(
                &script,
                &Context {
                    message,
                    envelope: &envelope,
                    now,
                    zone_offset_minutes: 0,
                    mailbox_exists: exists,
                },
            )
        };
        let outcome = run(&|_| {
            asked.set(true);
            false
        });
        if !asked.get() {
            return outcome;
        }
        let folders = match store.folders(recipient.account_id).await {
            Ok(folders) => folders,
            Err(err) => {
                return Outcome {
                    actions: vec![Action::Keep { flags: Vec::new() }],
                    error: Some(format!("cannot list the mailbox's folders: {err}")),
                };
            }
        };
        run(&|name| {
            mailbox_name::store_name(name)
                .is_some_and(|name| folders.iter().any(|f| f.name == name))
        })
    }

    /// The folder `fileinto` names, made if asked; the recipient's INBOX
    /// when it is missing or cannot be a folder's name.
    async fn filing_folder(
        &self,
        recipient: &LocalRecipient,
        mailbox: &str,
        create: bool,
        queue_id: &str,
    ) -> Result<i64, Error> {
        let Some(name) = mailbox_name::store_name(mailbox) else {
            tracing::warn!(queue_id, to = %recipient.address, mailbox, "fileinto names no possible folder; filed into INBOX");
            return Ok(recipient.inbox);
        };
        let found = self
            .context
            .store
            .filing_folder(recipient.account_id, &name, create)
            .await
            .map_err(Error::store("find the folder a filter files into"))?;
        Ok(found.unwrap_or_else(|| {
            tracing::info!(queue_id, to = %recipient.address, mailbox = name, "no such folder; filed into INBOX");
            recipient.inbox
        }))
    }

    /// Adds a redirect to `address`: into the INBOX of a mailbox hosted
    /// here, else to the outbound queue.
    async fn redirect(
        &self,
        filtered: &mut Filtered,
        address: &str,
        queue_id: &str,
    ) -> Result<(), Error> {
        let Ok(parsed) = address.parse::<Address>() else {
            tracing::warn!(
                queue_id,
                redirect = address,
                "not an address; redirect skipped"
            );
            return Ok(());
        };
        let store = &self.context.store;
        let hosted = store
            .domain_policy(parsed.domain().as_str())
            .await
            .map_err(Error::store("look up a redirect's domain"))?;
        if hosted.is_none() {
            filtered.send_on(parsed.to_string());
            return Ok(());
        }
        let recipients = store
            .resolve(parsed.as_str())
            .await
            .map_err(Error::store("resolve a redirect"))?;
        if recipients.is_empty() {
            tracing::warn!(queue_id, redirect = %parsed, "no such mailbox here; redirect skipped");
        }
        for recipient in recipients {
            match recipient {
                Recipient::Local { account_id, .. } => {
                    let point = store
                        .delivery_point(account_id)
                        .await
                        .map_err(Error::store("look up a redirect's INBOX"))?;
                    if let Some(point) = point {
                        filtered.file(point.inbox, &[]);
                    }
                }
                Recipient::Remote(address) => filtered.send_on(address),
            }
        }
        tracing::info!(queue_id, redirect = %parsed, "redirected to a mailbox here");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_names_become_flags_and_keywords() {
        let names = [
            "\\Seen",
            "\\flagged",
            "$Label1",
            "\\Recent",
            "bad word",
            "Work",
        ]
        .map(String::from);
        let (flags, keywords) = state_of(&names);
        assert_eq!(flags, Flags::SEEN | Flags::FLAGGED);
        assert_eq!(keywords.iter().collect::<Vec<_>>(), ["$Label1", "Work"]);
    }

    #[test]
    fn a_refusal_is_one_printable_line() {
        let mut wire = Vec::new();
        filter_refusal("Non accetto\r\npiù posta").encode(&mut wire);
        assert_eq!(wire, b"550 5.7.1 Non accetto pi? posta\r\n");
        assert_eq!(filter_refusal(" ").code, 550);
    }

    #[test]
    fn our_received_fields_count_passes() {
        let message = b"Received: from a ([127.0.0.1])\r\n\tby mx.example (Postino) with ESMTP\r\n\tid 1; x\r\n\
Received: from b by other.example (Postfix); y\r\n\
Received: from c ([127.0.0.1]) by mx.example (Postino) with ESMTPS id 2; z\r\n\r\nbody\r\n";
        assert_eq!(passes(message, "mx.example"), 2);
        assert_eq!(passes(message, "other.example"), 0);
    }
}
