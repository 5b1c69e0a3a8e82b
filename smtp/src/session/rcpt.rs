//! RCPT (RFC 5321 §4.1.1.3): local recipients through aliases and
//! catch-alls, with a quota check; remote ones only for authenticated users
//! and relay clients (never an open relay); `<postmaster>` without a
//! domain (RFC 5321 §4.5.1) for our own postmaster.

use std::sync::Arc;

use postino_common::address::Address;
use postino_common::store::{DeliveryPoint, OutboundRecipient, Recipient};

use super::{Envelope, LocalRecipient, Session, State};
use crate::error::Error;
use crate::metrics::{Rejection, rejected};
use crate::proto::{RcptTo, Reply};

impl Session {
    pub(super) async fn rcpt(&mut self, rcpt: RcptTo) -> Result<Reply, Error> {
        let (helo, mut envelope) = match std::mem::take(&mut self.state) {
            State::Mail(helo, envelope) => (helo, envelope),
            other => {
                let reply = match other {
                    State::Chunking(..) => "RCPT is not allowed after BDAT",
                    _ => "Send MAIL first",
                };
                self.state = other;
                return Ok(Reply::new(503, "5.5.1", reply));
            }
        };
        let added = self.add_recipient(&mut envelope, &rcpt).await;
        self.state = State::Mail(helo, envelope);
        added
    }

    /// Adds the recipient of `rcpt` to `envelope`, or refuses it.
    async fn add_recipient(&self, envelope: &mut Envelope, rcpt: &RcptTo) -> Result<Reply, Error> {
        let max = self.settings().max_recipients;
        if envelope.accepted >= max {
            return Ok(Reply::new(
                452,
                "4.5.3",
                format!("Too many recipients: at most {max} per message"),
            ));
        }
        if !rcpt.path.is_ascii() && !envelope.mail.smtputf8 {
            return Ok(Reply::new(
                553,
                "5.6.7",
                "A UTF-8 address needs SMTPUTF8 in MAIL",
            ));
        }
        let size = envelope.mail.size.unwrap_or(0);
        // RFC 5321 §4.5.1: <Postmaster> with no domain must be accepted.
        let postmaster = rcpt.path.eq_ignore_ascii_case("postmaster");
        let path = if postmaster {
            let Some(ours) = self.postmaster().await? else {
                return Ok(rejected(
                    Rejection::UnknownRecipient,
                    Reply::new(550, "5.1.1", "No postmaster here"),
                ));
            };
            ours
        } else {
            rcpt.path.clone()
        };
        let Ok(address) = path.parse::<Address>() else {
            return Ok(Reply::new(501, "5.1.3", "Invalid recipient address"));
        };
        let store = &self.context.store;
        let domain = store
            .domain_policy(address.domain().as_str())
            .await
            .map_err(Error::store("look up a recipient's domain"))?;
        let mut local = Vec::new();
        let mut remote = Vec::new();
        let mut forwarded = Vec::new();
        if let Some(bounced) = self.srs_bounce(&address).await? {
            match bounced {
                Ok(original) => remote.push(OutboundRecipient {
                    address: original,
                    orcpt: rcpt.orcpt.clone(),
                    notify: rcpt.notify.clone(),
                }),
                Err(refusal) => return Ok(rejected(Rejection::UnknownRecipient, refusal)),
            }
        } else {
            match domain {
                Some(domain) if !domain.active => {
                    return Ok(rejected(
                        Rejection::UnknownRecipient,
                        Reply::new(550, "5.2.1", "Mailbox unavailable"),
                    ));
                }
                Some(_) => {
                    let resolve = Error::store("resolve a recipient");
                    let mut recipients = store.resolve(address.as_str()).await.map_err(resolve)?;
                    // RFC 5321 §4.5.1: postmaster at every domain we host, in any
                    // case; without a mailbox or alias of its own, the server's.
                    if recipients.is_empty()
                        && address.local_part().eq_ignore_ascii_case("postmaster")
                        && let Some(ours) = self.postmaster().await?
                        && !ours.eq_ignore_ascii_case(address.as_str())
                    {
                        let resolve = Error::store("resolve our postmaster");
                        recipients = store.resolve(&ours).await.map_err(resolve)?;
                    }
                    if recipients.is_empty() {
                        return Ok(rejected(
                            Rejection::UnknownRecipient,
                            Reply::new(550, "5.1.1", "No such user here"),
                        ));
                    }
                    for recipient in recipients {
                        match recipient {
                            Recipient::Local {
                                account_id,
                                address,
                            } => {
                                let point = store
                                    .delivery_point(account_id)
                                    .await
                                    .map_err(Error::store("look up a recipient's INBOX"))?;
                                let Some(point) = point else {
                                    return Ok(Reply::new(550, "5.2.1", "Mailbox unavailable"));
                                };
                                if let Some(refusal) = self.check_quota(&point, size).await? {
                                    return Ok(rejected(Rejection::OverQuota, refusal));
                                }
                                local.push(LocalRecipient {
                                    address,
                                    account_id,
                                    inbox: point.inbox,
                                    script: point.script.map(Arc::from),
                                });
                            }
                            // An alias forwarding elsewhere.
                            Recipient::Remote(address) => forwarded.push(OutboundRecipient {
                                address,
                                ..OutboundRecipient::default()
                            }),
                        }
                    }
                }
                // A postmaster configured on another server is our own choice.
                None if self.authenticated() || postmaster => remote.push(OutboundRecipient {
                    address: address.to_string(),
                    orcpt: rcpt.orcpt.clone(),
                    notify: rcpt.notify.clone(),
                }),
                None => {
                    return Ok(rejected(
                        Rejection::RelayDenied,
                        // 550, as RFC 5321 §3.6.2 asks of a refusal to relay.
                        Reply::new(550, "5.7.1", "Relay access denied"),
                    ));
                }
            }
        }
        if let Some(refusal) = self.count_recipient(envelope, address.as_str()).await? {
            return Ok(refusal);
        }
        for recipient in local {
            if !envelope.local.contains(&recipient) {
                envelope.local.push(recipient);
            }
        }
        add_new(&mut envelope.remote, remote);
        add_new(&mut envelope.forwarded, forwarded);
        envelope.accepted += 1;
        tracing::debug!(to = %address, "RCPT accepted");
        Ok(Reply::new(250, "2.1.5", "Recipient OK"))
    }

    /// For an SRS address of ours (see [`crate::srs`]), a bounce to mail a
    /// filter redirected: the address it goes back to, or the refusal of a
    /// forged or expired one. `None` for any other address.
    async fn srs_bounce(&self, address: &Address) -> Result<Option<Result<String, Reply>>, Error> {
        let filters = &self.context.filters;
        let local = address.local_part();
        // The tag and its separator, as `srs` reads them: `SRS0=`, `SRS1-`, ….
        let tagged = ["SRS0", "SRS1"].iter().any(|tag| {
            local
                .get(..4)
                .is_some_and(|start| start.eq_ignore_ascii_case(tag))
                && matches!(local.as_bytes().get(4), Some(b'=' | b'-' | b'+'))
        });
        if !tagged
            || !address
                .domain()
                .as_str()
                .eq_ignore_ascii_case(filters.srs_domain())
        {
            return Ok(None);
        }
        let reversed = filters
            .srs_reverse(
                &self.context.store,
                address.as_str(),
                postino_common::store::now(),
            )
            .await
            .map_err(Error::store("read the SRS secrets"))?;
        Ok(Some(reversed.map_err(|err| {
            tracing::info!(to = %address, error = %err, "SRS address refused");
            Reply::new(550, "5.1.1", "No such user here")
        })))
    }

    /// Where `<postmaster>` without a domain goes: the configured address,
    /// else postmaster at the hostname or at its nearest parent domain
    /// hosted here (mail.comune.example.it serves comune.example.it), else
    /// at the domain hosted first, the installation's own as a rule;
    /// `None` when no domain is hosted.
    async fn postmaster(&self) -> Result<Option<String>, Error> {
        if let Some(address) = &self.settings().postmaster {
            return Ok(Some(address.clone()));
        }
        let store = &self.context.store;
        let hostname = self.settings().hostname.as_str();
        let ours = std::iter::successors(Some(hostname), |name| {
            name.split_once('.').map(|(_, parent)| parent)
        });
        for name in ours {
            let domain = store
                .domain_policy(name)
                .await
                .map_err(Error::store("look up our own domain"))?;
            if domain.is_some_and(|d| d.active) {
                return Ok(Some(format!("postmaster@{name}")));
            }
        }
        let domains = store
            .domains()
            .await
            .map_err(Error::store("list the hosted domains"))?;
        Ok(domains
            .iter()
            .filter(|d| d.active)
            .min_by_key(|d| (d.created_at, d.id))
            .map(|first| format!("postmaster@{}", first.name)))
    }

    /// The refusal for a mailbox that is full, or too small for a message
    /// of `size` bytes, whether by its own quota or its domain's; `None`
    /// when the message fits.
    pub(super) async fn check_quota(
        &self,
        point: &DeliveryPoint,
        size: u64,
    ) -> Result<Option<Reply>, Error> {
        // The domain's usage is summed over its mailboxes only when it has
        // a quota to hold it against.
        let domain_limit = if point.domain_quota_bytes > 0 {
            let used = self
                .context
                .store
                .domain_used_bytes(point.domain_id)
                .await
                .map_err(Error::store("sum a recipient domain's usage"))?;
            Some((point.domain_quota_bytes, used))
        } else {
            None
        };
        let limits = [Some((point.quota_bytes, point.used_bytes)), domain_limit];
        for (quota, used) in limits.into_iter().flatten() {
            let (quota, used) = (quota.max(0) as u64, used.max(0) as u64);
            if quota == 0 {
                continue;
            }
            if size > quota {
                return Ok(Some(Reply::new(
                    552,
                    "5.2.2",
                    "Message larger than the mailbox quota",
                )));
            }
            if used + size.max(1) > quota {
                return Ok(Some(Reply::new(
                    452,
                    "4.2.2",
                    "Mailbox full, try again later",
                )));
            }
        }
        Ok(None)
    }
}

/// Adds to `list` the recipients of `new` it does not have yet.
pub(super) fn add_new(list: &mut Vec<OutboundRecipient>, new: Vec<OutboundRecipient>) {
    for recipient in new {
        if !list.iter().any(|r| r.address == recipient.address) {
            list.push(recipient);
        }
    }
}
