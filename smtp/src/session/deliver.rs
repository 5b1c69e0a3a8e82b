//! Turning an accepted message into a stored one: trace headers, then one
//! durable append for every local INBOX and the outbound queue together.
//!
//! The stored message starts with `Return-Path` (RFC 5321 §4.4), which
//! local delivery needs; outbound delivery removes that first line again
//! before relaying, so one body serves both.

use std::collections::HashMap;
use std::sync::Arc;

use mail_parser::DateTime;
use postino_common::address::Address;
use postino_common::store::{AppendTarget, Flags, NewMessage, Outbound, Refusal, SpecialUse};

use super::autoreply::Answers;
use super::filter::filter_refusal;
use super::{Envelope, Helo, Identity, LocalRecipient, Session, rcpt, sending};
use crate::error::{self, Error};
use crate::metrics::{self, Rejection, rejected};
use crate::proto::Reply;
use crate::scan::{self, Checks, Outcome};
use crate::{ListenerKind, authres, header};

/// What the recipients' domains say of spam filtering.
struct SpamFiltering {
    /// Whether rspamd's verdict applies, for each recipient.
    filters: Vec<bool>,
    /// The rspamd settings id to ask with.
    profile: Option<String>,
}

impl Session {
    /// Stores the message of a transaction opened after `helo`; the reply
    /// is positive only once the message is durably committed.
    pub(super) async fn deliver(
        &mut self,
        helo: &Helo,
        envelope: Envelope,
        content: Vec<u8>,
    ) -> Result<Reply, Error> {
        self.accepted_messages += 1;
        let queue_id = format!("{}.{}", self.id, self.accepted_messages);
        let Envelope {
            mail,
            local,
            remote,
            mut forwarded,
            allowance,
            ..
        } = envelope;
        // A relay client on the MX listener sends our own mail, not the world's.
        let from_outside =
            self.kind == ListenerKind::Mx && !matches!(self.identity, Identity::Relay(_));
        let scanner = self.context.scanner.as_ref().filter(|_| from_outside);
        let hostname = &self.settings().hostname;
        // Only we may write results under our name (RFC 8601 §5), whoever
        // sends, and only our scanner its verdict.
        let content = header::without_fields(&content, |field| {
            authres::is_forged_result(field, hostname)
                || (scanner.is_some() && scan::is_scan_field(field))
        });
        let mut raw = format!("Return-Path: <{}>\r\n", mail.path).into_bytes();
        let trace_start = raw.len();
        if from_outside {
            let results = self
                .context
                .verifier
                .authentication_results(self.peer, &helo.name, &mail.path, &content)
                .await;
            raw.extend_from_slice(results.as_bytes());
        }
        raw.extend_from_slice(
            self.received_header(helo, &queue_id, mail.smtputf8)
                .as_bytes(),
        );
        raw.extend_from_slice(&content);
        let mut folders: Vec<i64> = local.iter().map(|r| r.inbox).collect();
        let outbound_scanner = self
            .context
            .scanner
            .as_ref()
            .filter(|s| s.scans_outbound() && self.sends_our_own());
        if let Some(scanner) = scanner.or(outbound_scanner) {
            let rcpt_to = local
                .iter()
                .map(|r| r.address.as_str())
                .chain(remote.iter().chain(&forwarded).map(|r| r.address.as_str()))
                .collect();
            let (checks, filtering) = if from_outside {
                let filtering = self.spam_filtering(scanner, &local).await?;
                // Mail forwarded elsewhere only is checked as well.
                let spam = local.is_empty() || filtering.filters.iter().any(|&filters| filters);
                (
                    Checks {
                        spam,
                        ..Checks::INBOUND
                    },
                    filtering,
                )
            } else {
                let profile = scanner.outbound_profile.clone();
                (
                    Checks::OUTBOUND,
                    SpamFiltering {
                        filters: Vec::new(),
                        profile,
                    },
                )
            };
            // rspamd's outbound rules (no greylisting, no SPF of our own
            // clients) apply to a named sender: a mailbox, or a relay client.
            let sender = match &self.identity {
                Identity::User(user) => Some(user.address.clone()),
                Identity::Relay(relay) => Some(format!("relay:{}", relay.client.name)),
                Identity::Anonymous => None,
            };
            let envelope = scan::Envelope {
                ip: self.peer,
                helo: &helo.name,
                mail_from: &mail.path,
                rcpt_to,
                hostname,
                queue_id: &queue_id,
                settings_id: filtering.profile.as_deref(),
                user: sender.as_deref(),
            };
            // The scanners see the message as it arrived here, trace fields included.
            let outcome = scanner.scan(&envelope, &raw[trace_start..], checks).await;
            if let Some(refusal) = error::refused_by_scan(&outcome) {
                tracing::info!(queue_id, reply = %refusal.code, "message refused by the scan");
                return Ok(refusal);
            }
            // Our own users' mail goes as written, whatever rspamd thinks
            // short of refusing it; the verdict is in the log.
            if from_outside {
                if let Outcome::Junk { .. } = outcome {
                    folders = self.junk_folders(&local, &filtering.filters).await?;
                }
                if let Outcome::Inbox { fields } | Outcome::Junk { fields } = outcome {
                    raw.splice(trace_start..trace_start, fields.into_bytes());
                }
            }
        }
        let mut filtered = self
            .filter(&local, &folders, &mail.path, &raw, &queue_id)
            .await?;
        if let Some(sent) = self.sent_copy(&mail.path).await?
            && !filtered.targets.iter().any(|t| t.folder_id == sent)
        {
            let mut copy = AppendTarget::new(sent);
            copy.flags = Flags::SEEN;
            filtered.targets.push(copy);
        }
        if filtered.targets.is_empty()
            && remote.is_empty()
            && forwarded.is_empty()
            && filtered.redirects.is_empty()
            && let Some((_, reason)) = filtered.rejected.first()
        {
            tracing::info!(
                queue_id,
                reason,
                "message refused by the recipients' filters"
            );
            return Ok(rejected(Rejection::Filter, filter_refusal(reason)));
        }
        let size = raw.len();
        let remote_count = remote.len() + forwarded.len();
        let mut outbound = Vec::new();
        if !remote.is_empty() {
            outbound.push(Outbound {
                sender: mail.path.clone(),
                envid: mail.envid.clone(),
                ret: mail.ret.clone(),
                recipients: remote,
            });
        }
        // What aliases and filters send on: the DSN parameters go on with
        // it (RFC 3461 §6.2), the sender rewritten for SPF.
        rcpt::add_new(&mut forwarded, filtered.redirects);
        if !forwarded.is_empty() {
            outbound.push(Outbound {
                sender: self.redirect_sender(&mail.path).await?,
                envid: mail.envid,
                ret: mail.ret,
                recipients: forwarded,
            });
        }
        let raw: Arc<[u8]> = Arc::from(raw);
        let message = NewMessage {
            raw: raw.clone(),
            targets: filtered.targets,
            outbound,
            sent_by: allowance.map(sending::Allowance::sent_by),
        };
        let stored = self.context.store.append(message).await;
        match stored.map_err(Error::store("store a message"))? {
            Ok(stored) => {
                metrics::message_accepted(self.kind);
                let answers = Answers {
                    queue_id: queue_id.clone(),
                    sender: mail.path.clone(),
                    message: raw,
                    recipients: local
                        .iter()
                        .map(|r| (r.account_id, r.address.clone()))
                        .collect(),
                    rejected: filtered.rejected,
                    vacations: filtered.vacations,
                };
                answers.spawn(self.context.clone());
                tracing::info!(
                    queue_id,
                    from = %mail.path,
                    local = local.len(),
                    remote = remote_count,
                    outbound_ids = ?stored.queue_ids,
                    size,
                    "message accepted"
                );
                Ok(Reply::new(
                    250,
                    "2.0.0",
                    format!("OK: queued as {queue_id}"),
                ))
            }
            Err(refusal) => {
                tracing::info!(queue_id, %refusal, "message refused at delivery");
                Ok(match refusal {
                    Refusal::AccountOverQuota(_) | Refusal::DomainOverQuota(_) => rejected(
                        Rejection::OverQuota,
                        self.quota_refusal(&local, size as u64).await,
                    ),
                    // The mailbox was deleted after RCPT took it.
                    Refusal::NoSuchFolder(_) => {
                        Reply::new(450, "4.2.1", "Mailbox unavailable, try again later")
                    }
                })
            }
        }
    }

    /// Where a copy goes, seen, of what a user sends as a mailbox shared
    /// with it: that mailbox's Sent folder, so that the office sees what
    /// was sent in its name. Stored in the same commit as the message.
    async fn sent_copy(&self, sender: &str) -> Result<Option<i64>, Error> {
        let Identity::User(user) = &self.identity else {
            return Ok(None);
        };
        let Ok(sender) = sender.parse::<Address>() else {
            return Ok(None);
        };
        if sender.as_str() == user.address {
            return Ok(None);
        }
        let shared = self
            .context
            .store
            .send_as(&user.address, sender.as_str())
            .await;
        Ok(shared
            .map_err(Error::store("look up the mailboxes shared with the sender"))?
            .flatten())
    }

    /// Whether the client sends its own mail: a logged-in mailbox or a
    /// relay client, whose mail is scanned as outbound.
    fn sends_our_own(&self) -> bool {
        matches!(self.identity, Identity::User(_) | Identity::Relay(_))
    }

    /// Whose domain has rspamd's verdict apply, recipient by recipient, and
    /// the rspamd profile to ask with: that of the filtering domains if they
    /// all have the same one. Read only when rspamd is asked at all.
    async fn spam_filtering(
        &self,
        scanner: &scan::Scanner,
        recipients: &[LocalRecipient],
    ) -> Result<SpamFiltering, Error> {
        let mut filtering = SpamFiltering {
            filters: vec![true; recipients.len()],
            profile: None,
        };
        if scanner.servers.is_empty() {
            return Ok(filtering);
        }
        let mut domains: HashMap<&str, (bool, Option<String>)> = HashMap::new();
        let mut profiles = Vec::new();
        for (recipient, filters) in recipients.iter().zip(&mut filtering.filters) {
            let name = recipient.address.rsplit_once('@').map_or("", |(_, d)| d);
            if !domains.contains_key(name) {
                let domain = self
                    .context
                    .store
                    .domain_policy(name)
                    .await
                    .map_err(Error::store("read a recipient's domain"))?;
                let settings = domain.map_or((true, None), |d| (d.spam_filter, d.spam_profile));
                domains.insert(name, settings);
            }
            let (filter, profile) = &domains[name];
            *filters = *filter;
            if *filter {
                profiles.push(profile.clone());
            }
        }
        profiles.dedup();
        if let [only] = profiles.as_slice() {
            filtering.profile.clone_from(only);
        }
        Ok(filtering)
    }

    /// Where spam goes: the Junk folder of each recipient whose domain
    /// filters (the INBOX of one who has no Junk), the INBOX of the others.
    async fn junk_folders(
        &self,
        recipients: &[LocalRecipient],
        filters: &[bool],
    ) -> Result<Vec<i64>, Error> {
        let mut folders = Vec::with_capacity(recipients.len());
        for (recipient, &filter) in recipients.iter().zip(filters) {
            if !filter {
                folders.push(recipient.inbox);
                continue;
            }
            let junk = self
                .context
                .store
                .special_folder(recipient.account_id, SpecialUse::Junk)
                .await
                .map_err(Error::store("look up a recipient's Junk folder"))?;
            folders.push(junk.map_or(recipient.inbox, |folder| folder.id));
        }
        Ok(folders)
    }

    /// The reply when a message did not fit: permanent if it can never fit
    /// (larger than a whole quota, which the RCPT check could not know
    /// without SIZE), else temporary.
    async fn quota_refusal(&self, recipients: &[LocalRecipient], size: u64) -> Reply {
        let store = &self.context.store;
        for recipient in recipients {
            if let Ok(Some(point)) = store.delivery_point(recipient.account_id).await
                && let Ok(Some(reply)) = self.check_quota(&point, size).await
                && reply.code == 552
            {
                return reply;
            }
        }
        Reply::new(452, "4.2.2", "Mailbox full, try again later")
    }

    /// The `Received` trace field (RFC 5321 §4.4) with the protocol of
    /// RFC 3848 / RFC 6531.
    fn received_header(&self, helo: &Helo, queue_id: &str, smtputf8: bool) -> String {
        let protocol = match (smtputf8, helo.extended) {
            (true, _) => "UTF8SMTP",
            (false, true) => "ESMTP",
            (false, false) => "SMTP",
        };
        let tls = if self.conn.is_tls() { "S" } else { "" };
        let authenticated = if self.authenticated() { "A" } else { "" };
        let date = DateTime::from_timestamp(postino_common::store::now()).to_rfc822();
        format!(
            "Received: from {name} ([{peer}])\r\n\tby {host} (Postino) with {protocol}{tls}{authenticated}\r\n\tid {queue_id}; {date}\r\n",
            name = helo.name,
            peer = self.peer,
            host = self.settings().hostname,
        )
    }
}
