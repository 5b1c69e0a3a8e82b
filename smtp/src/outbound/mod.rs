//! Outbound delivery: workers that take due messages from the queue in the
//! store and hand them to other servers.
//!
//! A worker leases a batch of due messages (see `postino_common::store`'s
//! queue: a lease keeps other workers, on this node or another, away from
//! a message until it is given back or runs out), and delivers each one in
//! a task of its own: recipients grouped by domain, each domain routed
//! ([`route`]), the message signed once ([`dkim`]) and sent ([`client`]),
//! every recipient's outcome recorded. A domain reached through its MX
//! records is held to its MTA-STS policy (`crate::mta_sts`): under
//! `enforce`, only the hosts it names, over TLS with a valid certificate. A `2xx` delivers, a `5xx` fails and
//! bounces ([`dsn`]), anything else defers until the next attempt of the
//! [`retry`] schedule, and past the message's lifetime it fails too. A
//! recipient domain that does not exist (NXDOMAIN) fails at once. When a
//! message is still deferred at the age `delay_notice`, its sender gets one
//! delay notice ([`dsn`], `Action: delayed`) for the recipients whose DSN
//! NOTIFY asks for delays (all, without NOTIFY); never the null sender.
//!
//! A worker does not poll often: the store wakes it when a message is
//! queued or made due again on any node (`Store::watch_queue`), a finished
//! delivery wakes it, and otherwise it sleeps until the next message is due,
//! at most ten seconds (`crate::poll`), which covers wake-ups that cannot
//! reach it (`postino queue retry` from another process on SQLite, a
//! PostgreSQL listener reconnecting).
//!
//! The stored message starts with the `Return-Path` line that local
//! delivery needs; it is removed before signing and sending.

mod client;
mod dkim;
pub(crate) mod dsn;
mod retry;
mod route;
pub(crate) mod vacation;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use postino_common::store::{
    AppendTarget, LeasedMessage, NewMessage, Outbound, OutboundRecipient, RecipientOutcome,
    RecipientResult, RecipientState, Store, holder_name, now,
};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

pub use client::Credentials;
pub use retry::Schedule;
pub use route::Hop;

use crate::authres::{self, VerifierError};
use crate::error::Chain;
use crate::metrics;
use crate::mta_sts::{MtaSts, RootsError, SetupError};
use crate::poll::{ERROR_POLL, until_next_due};
use crate::proto::client::ServerReply;
use client::{Attempt, Client, Transaction};
use route::RouteError;
pub(crate) use route::Router;

/// How long a lease lasts: longer than an attempt may take.
const LEASE: Duration = Duration::from_secs(15 * 60);
/// The longest one attempt at one message may take.
const ATTEMPT_LIMIT: Duration = Duration::from_secs(10 * 60);
/// How long a delivery under way may go on after shutdown begins, within
/// the server's drain time.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How delivery works, from `[delivery]` and `[dns]`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Our name, in EHLO and in bounces.
    pub hostname: String,
    /// The port of MX hosts.
    pub port: u16,
    pub schedule: Schedule,
    pub max_connections_per_domain: usize,
    pub max_concurrent: usize,
    pub smarthost: Option<Hop>,
    pub smarthost_credentials: Option<Credentials>,
    /// Fixed routes by lower-case recipient domain.
    pub routes: HashMap<String, Hop>,
    pub nameservers: Vec<SocketAddr>,
    pub dns_timeout: Duration,
    /// MTA-STS, unless `[delivery] mta_sts` is off.
    pub mta_sts: Option<MtaStsSettings>,
}

/// How recipient domains' MTA-STS policies are fetched and checked.
#[derive(Debug, Clone)]
pub struct MtaStsSettings {
    /// The port of the policy hosts.
    pub port: u16,
    /// CA certificates trusted besides the system's.
    pub ca_file: Option<PathBuf>,
}

/// Why delivery could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Resolver(#[from] VerifierError),
    #[error("cannot set up TLS for outbound connections")]
    Tls(#[source] tokio_rustls::rustls::Error),
    #[error("cannot set up MTA-STS")]
    MtaSts(#[from] crate::mta_sts::SetupError),
}

/// What the delivery tasks of one node share.
struct Delivery {
    settings: Settings,
    store: Store,
    router: Router,
    /// Absent when `[delivery] mta_sts` is off.
    mta_sts: Option<MtaSts>,
    client: Client,
    signing: dkim::Signing,
    /// Who holds our leases: unique per process.
    worker: String,
    /// Connections per destination domain.
    domains: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Told when a delivery ends: it may have made a retry due sooner than
    /// the worker's sleep.
    finished: Notify,
}

/// Starts this node's delivery worker, until `shutdown`.
pub fn spawn(
    settings: Settings,
    store: Store,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) -> Result<(), StartError> {
    let resolver = authres::resolver(&settings.nameservers, settings.dns_timeout)?;
    let router = Router::new(
        resolver.clone(),
        settings.port,
        settings.smarthost.clone(),
        settings.routes.clone(),
    );
    let mta_sts = match &settings.mta_sts {
        Some(sts) => {
            let ca_file = sts.ca_file.as_deref();
            match MtaSts::new(store.clone(), resolver, ca_file, sts.port) {
                Ok(mta_sts) => Some(mta_sts),
                // A machine without trusted roots (no ca-certificates)
                // could check no certificate: it delivers as it did before
                // MTA-STS, and says so, rather than not at all.
                Err(SetupError::Roots(err @ RootsError::Empty(_))) => {
                    tracing::error!(error = %Chain(&err), "MTA-STS is off");
                    None
                }
                Err(err) => return Err(err.into()),
            }
        }
        None => None,
    };
    let client = Client::new(settings.hostname.clone()).map_err(StartError::Tls)?;
    let worker = holder_name(&settings.hostname);
    let delivery = Arc::new(Delivery {
        settings,
        store,
        router,
        mta_sts,
        client,
        signing: dkim::Signing::default(),
        worker,
        domains: Mutex::new(HashMap::new()),
        finished: Notify::new(),
    });
    tracing::info!(worker = %delivery.worker, "outbound delivery started");
    tracker.spawn(poll(delivery, shutdown, tracker.clone()));
    Ok(())
}

/// Leases due messages while there is room for them, and starts their
/// deliveries.
async fn poll(delivery: Arc<Delivery>, shutdown: CancellationToken, tracker: TaskTracker) {
    let slots = Arc::new(Semaphore::new(delivery.settings.max_concurrent.max(1)));
    // Taken before the first look, so that nothing queued after it is missed.
    let mut queued = delivery.store.watch_queue();
    loop {
        let free = slots.available_permits();
        let mut failed = false;
        let leased = if free == 0 {
            Vec::new()
        } else {
            match delivery
                .store
                .lease_due(&delivery.worker, free as i64, LEASE)
                .await
            {
                Ok(ids) => ids,
                Err(err) => {
                    tracing::error!(error = %Chain(&err), "cannot read the outbound queue");
                    failed = true;
                    Vec::new()
                }
            }
        };
        let full = leased.len() == free;
        for queue_id in leased {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let span = tracing::info_span!("delivery", queue_id);
            let task = deliver_or_release(delivery.clone(), queue_id, slot, shutdown.clone());
            tracker.spawn(task.instrument(span));
        }
        if full {
            // Room may come back soon; wait for it rather than a whole poll.
            tokio::select! {
                () = shutdown.cancelled() => return,
                slot = slots.clone().acquire_owned() => drop(slot),
            }
        } else {
            let wait = if failed {
                ERROR_POLL
            } else {
                until_next_due(delivery.store.next_due(), "outbound queue").await
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = queued.changed() => {}
                () = delivery.finished.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// Delivers one leased message. At shutdown the delivery gets a grace
/// period: the far end may already have accepted the message, and cutting
/// the attempt off before its outcome is recorded would send it twice. One
/// still under way after that gives its lease back, so that another node
/// (or this one, restarted) takes it up at once.
async fn deliver_or_release(
    delivery: Arc<Delivery>,
    queue_id: i64,
    _slot: OwnedSemaphorePermit,
    shutdown: CancellationToken,
) {
    let work = deliver(&delivery, queue_id);
    tokio::pin!(work);
    let done = tokio::select! {
        () = &mut work => true,
        () = shutdown.cancelled() => tokio::time::timeout(SHUTDOWN_GRACE, &mut work).await.is_ok(),
    };
    if done {
        delivery.finished.notify_one();
    } else if let Err(err) = delivery
        .store
        .release_lease(queue_id, &delivery.worker)
        .await
    {
        tracing::warn!(error = %Chain(&err), "cannot release the lease at shutdown");
    }
}

/// The outcome of one recipient in one attempt.
struct Outcome<'a> {
    recipient: &'a RecipientState,
    kind: RecipientOutcome,
    reply: ServerReply,
    remote: Option<String>,
}

async fn deliver(delivery: &Delivery, queue_id: i64) {
    let store = &delivery.store;
    let message = match store.leased_message(queue_id, &delivery.worker).await {
        Ok(Some(message)) => message,
        Ok(None) => return,
        Err(err) => {
            return tracing::error!(error = %Chain(&err), "cannot read a queued message");
        }
    };
    let entry = &message.entry;
    let open: Vec<&RecipientState> = entry.recipients.iter().filter(|r| r.is_open()).collect();
    let content = strip_return_path(&message.raw);
    let started = now();
    let outcomes = if delivery
        .settings
        .schedule
        .expired(entry.created_at, started)
    {
        open.iter()
            .map(|&recipient| {
                let last = recipient
                    .last_reply
                    .as_deref()
                    .unwrap_or("no attempt succeeded");
                Outcome {
                    recipient,
                    kind: RecipientOutcome::Failed,
                    reply: ServerReply::local(
                        554,
                        format!("4.4.7 delivery time expired; last reply: {last}"),
                    ),
                    remote: None,
                }
            })
            .collect()
    } else {
        let attempt = attempt(delivery, &entry.sender, &open, content);
        match tokio::time::timeout(ATTEMPT_LIMIT, attempt).await {
            Ok(outcomes) => outcomes,
            Err(_) => open
                .iter()
                .map(|&recipient| Outcome {
                    recipient,
                    kind: RecipientOutcome::Deferred,
                    reply: ServerReply::local(451, "4.4.7 the attempt took too long"),
                    remote: None,
                })
                .collect(),
        }
    };
    for outcome in &outcomes {
        tracing::info!(
            recipient = %outcome.recipient.address,
            outcome = ?outcome.kind,
            remote = outcome.remote.as_deref().unwrap_or("-"),
            reply = %outcome.reply,
            "delivery attempt"
        );
        metrics::delivery_attempted(outcome.kind);
    }
    let failures = reported(&outcomes, RecipientOutcome::Failed, "FAILURE");
    if !failures.is_empty() && !entry.sender.is_empty() {
        report_to_sender(delivery, &message, content, dsn::Action::Failed, &failures).await;
    }
    let schedule = &delivery.settings.schedule;
    let delayed = delayed_recipients(&message, &outcomes);
    let mut notice_owed = !delayed.is_empty();
    if notice_owed && schedule.delay_notice_due(entry.created_at, now()) {
        notice_owed = false;
        send_delay_notice(delivery, &message, content, &delayed).await;
    }
    let attempts = open.iter().map(|r| r.attempts).max().unwrap_or(0) + 1;
    let mut next = schedule.next_attempt(attempts, now());
    if notice_owed && let Some(notice_at) = schedule.delay_notice_at(entry.created_at) {
        // Try again when the notice is due, rather than at a retry hours
        // later, so that it goes on time and with the latest reply.
        next = next.min(notice_at);
    }
    let results: Vec<RecipientResult> = outcomes
        .iter()
        .map(|o| RecipientResult {
            recipient_id: o.recipient.id,
            outcome: o.kind,
            reply: o.reply.to_string(),
        })
        .collect();
    match store
        .record_attempt(queue_id, &delivery.worker, &results, next)
        .await
    {
        Ok(true) => tracing::info!("message done; removed from the queue"),
        Ok(false) => {}
        Err(err) => tracing::error!(error = %Chain(&err), "cannot record a delivery attempt"),
    }
}

/// The recipients a delay notice would be about: those still deferred after
/// this attempt whose DSN NOTIFY asks for delays. None if the message has
/// had its notice, or has the null sender.
fn delayed_recipients(message: &LeasedMessage, outcomes: &[Outcome<'_>]) -> Vec<dsn::Recipient> {
    if message.entry.sender.is_empty() || message.delay_notice_at.is_some() {
        return Vec::new();
    }
    reported(outcomes, RecipientOutcome::Deferred, "DELAY")
}

/// The recipients of `outcomes` that ended as `kind` and whose DSN NOTIFY
/// asks for a report of `event`, as a report names them: with the remote
/// reply, and its enhanced status in the class of `kind` (a `4.x.x` reply
/// reports as `5.x.x` once the message gives up).
fn reported(outcomes: &[Outcome<'_>], kind: RecipientOutcome, event: &str) -> Vec<dsn::Recipient> {
    let class = if kind == RecipientOutcome::Failed {
        '5'
    } else {
        '4'
    };
    outcomes
        .iter()
        .filter(|o| o.kind == kind && notify_asks_for(o.recipient.notify.as_deref(), event))
        .map(|o| dsn::Recipient {
            address: o.recipient.address.clone(),
            orcpt: o.recipient.orcpt.clone(),
            status: match o.reply.enhanced_status() {
                Some(status) => format!("{class}{}", &status[1..]),
                None => format!("{class}.0.0"),
            },
            diagnostic: o.reply.to_string(),
            remote_mta: o.remote.clone(),
        })
        .collect()
}

/// Whether a recipient's DSN NOTIFY parameter (RFC 3461 §4.1) asks for a
/// report of `event` (FAILURE or DELAY): when absent, the sender gets both;
/// otherwise only those listed (NEVER stands alone and lists none).
fn notify_asks_for(notify: Option<&str>, event: &str) -> bool {
    notify.is_none_or(|list| {
        list.split(',')
            .any(|keyword| keyword.trim().eq_ignore_ascii_case(event))
    })
}

/// Sends the sender the message's one delay notice about `delayed`, unless
/// another attempt already did.
async fn send_delay_notice(
    delivery: &Delivery,
    message: &LeasedMessage,
    content: &[u8],
    delayed: &[dsn::Recipient],
) {
    let entry = &message.entry;
    match delivery
        .store
        .claim_delay_notice(entry.id, &delivery.worker)
        .await
    {
        Ok(true) => {}
        Ok(false) => return,
        Err(err) => return tracing::error!(error = %Chain(&err), "cannot record a delay notice"),
    }
    let action = dsn::Action::Delayed {
        retry_until: delivery.settings.schedule.retry_until(entry.created_at),
    };
    report_to_sender(delivery, message, content, action, delayed).await;
}

/// Sends the sender of `message` a delivery status notification (RFC 3464)
/// about `recipients`: a bounce for those given up on, or a delay notice
/// for those still being retried.
async fn report_to_sender(
    delivery: &Delivery,
    message: &LeasedMessage,
    content: &[u8],
    action: dsn::Action,
    recipients: &[dsn::Recipient],
) {
    let entry = &message.entry;
    let now = now();
    let (token, what) = match action {
        dsn::Action::Failed => (format!("{}.{now}", entry.id), "bounce"),
        dsn::Action::Delayed { .. } => (format!("{}.{now}.delay", entry.id), "delay notice"),
    };
    let report = dsn::build(&dsn::Report {
        hostname: &delivery.settings.hostname,
        sender: &entry.sender,
        envid: message.envid.as_deref(),
        arrival: entry.created_at,
        original: content,
        action,
        recipients,
        token: &token,
        now,
    });
    send_notice(&delivery.store, &entry.sender, report, what).await;
}

/// One attempt for every open recipient, domain by domain.
async fn attempt<'a>(
    delivery: &Delivery,
    sender: &str,
    open: &[&'a RecipientState],
    content: &[u8],
) -> Vec<Outcome<'a>> {
    let signed = match dkim::signing_domain(sender, content) {
        Some(domain) => {
            delivery
                .signing
                .sign(&delivery.store, &domain, content)
                .await
        }
        None => content.to_vec(),
    };
    let mut by_domain: Vec<(String, Vec<&'a RecipientState>)> = Vec::new();
    for &recipient in open {
        let domain = recipient
            .address
            .rsplit_once('@')
            .map_or("", |(_, d)| d)
            .to_ascii_lowercase();
        match by_domain.iter_mut().find(|(d, _)| *d == domain) {
            Some((_, list)) => list.push(recipient),
            None => by_domain.push((domain, vec![recipient])),
        }
    }
    let mut outcomes = Vec::with_capacity(open.len());
    for (domain, recipients) in by_domain {
        let limit = delivery.domain_limit(&domain);
        let Ok(_connection) = limit.acquire_owned().await else {
            continue;
        };
        let addresses: Vec<String> = recipients.iter().map(|r| r.address.clone()).collect();
        let (replies, remote) =
            deliver_domain(delivery, &domain, sender, &addresses, &signed).await;
        for (recipient, reply) in recipients.into_iter().zip(replies) {
            let kind = if reply.is_positive() {
                RecipientOutcome::Delivered
            } else if reply.is_permanent() {
                RecipientOutcome::Failed
            } else {
                RecipientOutcome::Deferred
            };
            outcomes.push(Outcome {
                recipient,
                kind,
                reply,
                remote: remote.clone(),
            });
        }
    }
    outcomes
}

/// Sends to one domain's hosts in turn until one takes the transaction;
/// the reply for each recipient, and the host that gave them.
async fn deliver_domain(
    delivery: &Delivery,
    domain: &str,
    sender: &str,
    recipients: &[String],
    message: &[u8],
) -> (Vec<ServerReply>, Option<String>) {
    let all = |reply: ServerReply| vec![reply; recipients.len()];
    let route = match delivery.router.route(domain).await {
        Ok(route) => route,
        Err(RouteError::Permanent(reason)) => {
            return (
                all(ServerReply::local(556, format!("5.1.10 {reason}"))),
                None,
            );
        }
        Err(RouteError::NoSuchDomain(reason)) => {
            // Bad destination system (RFC 3463 X.1.2).
            return (
                all(ServerReply::local(550, format!("5.1.2 {reason}"))),
                None,
            );
        }
        Err(RouteError::Temporary(reason)) => {
            return (
                all(ServerReply::local(451, format!("4.4.3 {reason}"))),
                None,
            );
        }
    };
    let transaction = Transaction {
        sender,
        recipients,
        message,
        credentials: route
            .via_smarthost
            .then_some(delivery.settings.smarthost_credentials.as_ref())
            .flatten(),
    };
    let sts = match &delivery.mta_sts {
        Some(mta_sts) if route.from_dns => mta_sts.check(domain, &delivery.router).await,
        _ => None,
    };
    let mut last = ServerReply::local(451, format!("4.4.1 no mail host of {domain} answered"));
    for hop in &route.hops {
        if let Some(Err(refusal)) = sts.as_ref().map(|check| check.mx(&hop.host)) {
            last = refusal;
            continue;
        }
        let addresses = match delivery.router.addresses(hop).await {
            Ok(addresses) if addresses.is_empty() => {
                last = ServerReply::local(451, format!("4.4.3 {} has no address", hop.host));
                continue;
            }
            Ok(addresses) => addresses,
            Err(reason) => {
                last = ServerReply::local(451, format!("4.4.3 {reason}"));
                continue;
            }
        };
        for addr in addresses {
            let attempt = client::deliver(
                &delivery.client,
                addr,
                &hop.host,
                &transaction,
                sts.as_ref(),
            );
            match attempt.await {
                Attempt::Done(replies) => return (replies, Some(hop.host.clone())),
                Attempt::NoTransaction(reply) => {
                    tracing::info!(host = %hop.host, %addr, %reply, "no transaction; trying the next host");
                    last = reply;
                }
            }
        }
    }
    // Whatever the last host said, another may do better later.
    if last.is_permanent() {
        last = ServerReply::local(451, format!("4.4.1 {last}"));
    }
    (all(last), None)
}

impl Delivery {
    fn domain_limit(&self, domain: &str) -> Arc<Semaphore> {
        let mut domains = self.domains.lock().unwrap_or_else(PoisonError::into_inner);
        domains
            .entry(domain.to_owned())
            .or_insert_with(|| {
                Arc::new(Semaphore::new(
                    self.settings.max_connections_per_domain.max(1),
                ))
            })
            .clone()
    }
}

/// Gives a notice (`what`: a bounce, a delay notice, a vacation reply) to
/// the sender: into their INBOX if they have a mailbox here, else into the
/// queue from the null sender.
pub(crate) async fn send_notice(store: &Store, sender: &str, report: Vec<u8>, what: &str) {
    let mut raw = b"Return-Path: <>\r\n".to_vec();
    raw.extend_from_slice(&report);
    let inbox = match store.account(sender).await {
        Ok(Some(account)) => match store.folder(account.id, "INBOX").await {
            Ok(folder) => folder.map(|f| f.id),
            Err(err) => {
                return tracing::error!(error = %Chain(&err), "cannot find the sender's INBOX for a {what}");
            }
        },
        Ok(None) => None,
        Err(err) => {
            return tracing::error!(error = %Chain(&err), "cannot look up the sender for a {what}");
        }
    };
    let message = match inbox {
        Some(folder) => NewMessage::to_folders(Arc::from(raw), vec![AppendTarget::new(folder)]),
        None => NewMessage {
            raw: Arc::from(raw),
            targets: Vec::new(),
            outbound: vec![Outbound {
                sender: String::new(),
                recipients: vec![OutboundRecipient {
                    address: sender.to_owned(),
                    ..OutboundRecipient::default()
                }],
                ..Outbound::default()
            }],
            sent_by: None,
        },
    };
    match store.append(message).await {
        Ok(Ok(stored)) => tracing::info!(
            to = sender,
            local = inbox.is_some(),
            queue = ?stored.queue_ids,
            "{what} sent"
        ),
        Ok(Err(refusal)) => tracing::warn!(to = sender, %refusal, "{what} refused"),
        Err(err) => tracing::error!(to = sender, error = %Chain(&err), "cannot store a {what}"),
    }
}

/// The message without the `Return-Path` line the queue stores it with.
pub(crate) fn strip_return_path(raw: &[u8]) -> &[u8] {
    let is_return_path = raw
        .get(..12)
        .is_some_and(|name| name.eq_ignore_ascii_case(b"Return-Path:"));
    if !is_return_path {
        return raw;
    }
    match raw.windows(2).position(|w| w == b"\r\n") {
        Some(at) => &raw[at + 2..],
        None => raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_follow_the_notify_parameter() {
        assert!(notify_asks_for(None, "DELAY"));
        assert!(notify_asks_for(None, "FAILURE"));
        assert!(notify_asks_for(Some("DELAY"), "DELAY"));
        assert!(notify_asks_for(Some("FAILURE,DELAY"), "DELAY"));
        assert!(notify_asks_for(Some("success,delay"), "DELAY"));
        assert!(notify_asks_for(Some("SUCCESS,FAILURE"), "FAILURE"));
        assert!(!notify_asks_for(Some("NEVER"), "DELAY"));
        assert!(!notify_asks_for(Some("NEVER"), "FAILURE"));
        assert!(!notify_asks_for(Some("FAILURE"), "DELAY"));
        assert!(!notify_asks_for(Some("DELAY"), "FAILURE"));
    }

    #[test]
    fn the_return_path_line_is_removed() {
        assert_eq!(
            strip_return_path(b"Return-Path: <a@b>\r\nFrom: a@b\r\n\r\nx"),
            b"From: a@b\r\n\r\nx"
        );
        assert_eq!(
            strip_return_path(b"From: a@b\r\n\r\nx"),
            b"From: a@b\r\n\r\nx"
        );
    }
}
