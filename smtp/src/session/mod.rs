//! One client's SMTP conversation (RFC 5321 §4.1), from the greeting to
//! QUIT. [`Session`] holds where the conversation stands ([`State`]) and
//! who the client is ([`Identity`]); each verb group has its own file, and
//! what cannot complete becomes a reply in `crate::error`.

mod auth;
mod autoreply;
mod data;
mod deliver;
mod ehlo;
mod filter;
mod mail;
mod rcpt;
mod relay;
mod sending;

use std::io;
use std::net::IpAddr;
use std::sync::Arc;

use postino_common::auth::User;
use postino_common::listener::SessionId;
use postino_common::store::{OutboundRecipient, RelayClient};
use postino_common::stream::Stream;
use tokio_util::sync::CancellationToken;

use crate::connection::{Connection, Expired};
use crate::dnsbl::Listing;
use crate::error::{self, Error};
use crate::proto::{self, BareLf, Command, LfToCrlf, Line, LineCheck, MailFrom, Reply};
use crate::{Context, ListenerKind};

/// The longest command line, CRLF excluded: RFC 5321's 512 octets, raised
/// for UTF-8 addresses and extension parameters.
const MAX_COMMAND_LINE: usize = 2048;

/// Where the conversation stands (RFC 5321 §4.1.4): each state holds
/// only what is valid in it.
#[derive(Default)]
enum State {
    /// Before EHLO or HELO, and again after STARTTLS (RFC 3207 §4.2).
    #[default]
    Connected,
    /// Greeted, with no mail transaction open.
    Greeted(Helo),
    /// A mail transaction: MAIL given, recipients being added.
    Mail(Helo, Envelope),
    /// A mail transaction whose content is coming in BDAT chunks (RFC
    /// 3030): no more recipients, and no DATA.
    Chunking(Helo, Envelope, Chunks),
}

impl State {
    fn helo(&self) -> Option<&Helo> {
        match self {
            State::Connected => None,
            State::Greeted(helo) | State::Mail(helo, _) | State::Chunking(helo, ..) => Some(helo),
        }
    }

    fn in_transaction(&self) -> bool {
        matches!(self, State::Mail(..) | State::Chunking(..))
    }

    /// Ends the mail transaction, if one is open.
    fn reset(&mut self) {
        *self = match std::mem::take(self) {
            State::Connected => State::Connected,
            State::Greeted(helo) | State::Mail(helo, _) | State::Chunking(helo, ..) => {
                State::Greeted(helo)
            }
        };
    }
}

/// What the client said in EHLO or HELO.
struct Helo {
    name: String,
    extended: bool,
}

/// A mail transaction, from MAIL to the end of its content.
struct Envelope {
    mail: MailFrom,
    /// The INBOXes of local recipients, each once.
    local: Vec<LocalRecipient>,
    /// Recipients on other servers, for the outbound queue.
    remote: Vec<OutboundRecipient>,
    /// Recipients on other servers an alias of ours forwards to: their
    /// envelope sender is rewritten by SRS, as a filter's redirect's is.
    forwarded: Vec<OutboundRecipient>,
    /// Accepted RCPT commands, counted against the recipient limit.
    accepted: usize,
    /// The sender's standing against its sending limits, if counted.
    allowance: Option<sending::Allowance>,
}

impl Envelope {
    fn new(mail: MailFrom, allowance: Option<sending::Allowance>) -> Envelope {
        Envelope {
            mail,
            local: Vec::new(),
            remote: Vec::new(),
            forwarded: Vec::new(),
            accepted: 0,
            allowance,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct LocalRecipient {
    address: String,
    account_id: i64,
    inbox: i64,
    /// The source of the mailbox's active Sieve script, run at delivery.
    script: Option<Arc<str>>,
}

/// Content received so far with BDAT.
#[derive(Default)]
struct Chunks {
    content: Vec<u8>,
    lines: LineCheck,
    crlf: LfToCrlf,
}

/// Who the client is.
enum Identity {
    /// Anyone: on MX, mail for our own domains only; on submission, nothing
    /// until AUTH.
    Anonymous,
    /// A mailbox user, logged in with AUTH.
    User(User),
    /// A relay client (see [`relay`]).
    Relay(Relay),
}

/// The relay client a session sends for.
struct Relay {
    client: RelayClient,
    /// Recognised by the source address rather than by AUTH.
    by_address: bool,
}

/// What the session does after a command.
enum Next {
    Continue,
    /// Switch the connection to TLS, then continue.
    StartTls,
    Close,
}

/// The two ends of a session's connection.
pub(crate) struct Addrs {
    pub peer: IpAddr,
    /// Ours; `None` for a session over an in-memory pipe.
    pub local: Option<IpAddr>,
}

pub(crate) struct Session {
    context: Arc<Context>,
    conn: Connection,
    kind: ListenerKind,
    peer: IpAddr,
    local: Option<IpAddr>,
    id: SessionId,
    state: State,
    identity: Identity,
    errors: u32,
    /// Messages accepted in this session, to number their ids.
    accepted_messages: u32,
    /// What the DNS blocklists said of the client, once asked.
    listing: Option<Option<Listing>>,
}

pub(crate) async fn run(
    stream: Stream,
    admitted: bool,
    kind: ListenerKind,
    addrs: Addrs,
    id: SessionId,
    context: Arc<Context>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let mut session = Session {
        conn: Connection::new(stream, context.settings.timeouts),
        context,
        kind,
        peer: addrs.peer,
        local: addrs.local,
        id,
        state: State::Connected,
        identity: Identity::Anonymous,
        errors: 0,
        accepted_messages: 0,
        listing: None,
    };
    if !admitted {
        tracing::info!("refused: too many connections");
        session.send(Reply::new(
            421,
            "4.7.0",
            "Too many connections, try again later",
        ));
        return session.conn.flush().await;
    }
    if let Err(err) = session.recognise_relay_client().await {
        session.send(err.into_closing_reply()?);
        return session.conn.flush().await;
    }
    session.serve(shutdown).await
}

impl Session {
    fn settings(&self) -> &crate::Settings {
        &self.context.settings
    }

    /// Whether the client may relay: a mailbox user or a relay client.
    fn authenticated(&self) -> bool {
        !matches!(self.identity, Identity::Anonymous)
    }

    /// What a bare LF in this client's content is: a line end from
    /// authenticated users, relay clients and the networks of
    /// `bare_newline_allow`; from anyone else, the Internet at large on MX,
    /// a fault (the smuggling defence of `proto/data.rs`).
    fn bare_lf(&self) -> BareLf {
        let peer = self.peer.to_canonical();
        let allowed = &self.settings().bare_newline_allow;
        if self.authenticated() || allowed.iter().any(|net| net.contains(&peer)) {
            BareLf::Normalize
        } else {
            BareLf::Refuse
        }
    }

    /// On the MX, sends the first line of a two-line greeting and waits
    /// `pregreet_wait` for the rest: a client that talks meanwhile does
    /// not wait for replies, which is how spam bots are told from mail
    /// servers (Postfix's postscreen does the same).
    async fn talks_before_greeting(&mut self) -> io::Result<bool> {
        let wait = self.settings().pregreet_wait;
        if self.kind != ListenerKind::Mx || wait.is_zero() {
            return Ok(false);
        }
        let first = format!("{} ESMTP Postino", self.settings().hostname);
        self.conn
            .reply_continued(&Reply::plain(220, vec![first.into()]));
        let talked = self.conn.talks_within(wait).await?;
        if talked {
            tracing::info!("refused: talked before the greeting");
        }
        Ok(talked)
    }

    /// On the MX, the refusal of an anonymous client that a DNS blocklist
    /// has; the lists are asked once per session.
    async fn blocklisted(&mut self) -> Option<Reply> {
        if self.kind != ListenerKind::Mx || self.authenticated() {
            return None;
        }
        if self.listing.is_none() {
            self.listing = Some(self.context.blocklists.listing(self.peer).await);
        }
        let listing = self.listing.as_ref()?.as_ref()?;
        tracing::info!(zone = listing.zone, "refused: client blocklisted");
        Some(error::blocklisted(self.peer, listing))
    }

    /// Queues a reply, counting errors.
    fn send(&mut self, reply: Reply) {
        if reply.code >= 500 {
            self.errors += 1;
        }
        self.conn.reply(&reply);
    }

    async fn serve(mut self, shutdown: CancellationToken) -> io::Result<()> {
        if self.talks_before_greeting().await? {
            self.send(error::pregreet());
            return self.conn.flush().await;
        }
        let greeting = format!("{} ESMTP Postino", self.settings().hostname);
        self.send(Reply::plain(220, vec![greeting.into()]));
        loop {
            let line = tokio::select! {
                _ = shutdown.cancelled() => {
                    self.send(Reply::new(421, "4.3.2", "Service shutting down, try again later"));
                    return self.conn.flush().await;
                }
                line = self.conn.line(MAX_COMMAND_LINE) => line,
            };
            let line = match line {
                Ok(line) => line,
                Err(err) => return self.ended(err).await,
            };
            let next = match line {
                None => return Ok(()),
                Some(Line::TooLong) => {
                    self.send(Reply::new(500, "5.5.2", "Line too long"));
                    Next::Continue
                }
                Some(Line::Complete(line)) => match proto::parse(&line) {
                    Ok(command) => match self.command(command).await {
                        Ok(next) => next,
                        Err(err) => return self.ended(err).await,
                    },
                    Err(err) => {
                        self.send(error::syntax(err));
                        Next::Continue
                    }
                },
            };
            match next {
                Next::Continue => {}
                Next::Close => return self.conn.flush().await,
                Next::StartTls => {
                    let plain = self.conn;
                    self.conn = plain.start_tls(&self.context.tls).await?;
                    self.tls_started();
                }
            }
            if self.errors >= self.settings().max_errors {
                tracing::info!(errors = self.errors, "closing: too many errors");
                self.send(Reply::new(
                    421,
                    "4.7.0",
                    "Too many errors, closing connection",
                ));
                return self.conn.flush().await;
            }
        }
    }

    /// Ends the session on `err`; a client that ran out of time is told
    /// why first.
    async fn ended(&mut self, err: io::Error) -> io::Result<()> {
        let Some(expired) = Expired::of(&err) else {
            return Err(err);
        };
        tracing::info!(limit = %expired, "closing: timeout");
        self.send(error::timed_out(expired));
        self.conn.flush().await
    }

    async fn command(&mut self, command: Command) -> io::Result<Next> {
        let outcome = match command {
            Command::Ehlo(name) => Ok(self.ehlo(name, true)),
            Command::Helo(name) => Ok(self.ehlo(name, false)),
            Command::StartTls => return Ok(self.start_tls()),
            Command::Auth { mechanism, initial } => self.auth(&mechanism, initial).await,
            Command::Mail(mail) => self.mail(mail).await,
            Command::Rcpt(rcpt) => self.rcpt(rcpt).await,
            Command::Data => self.data().await,
            Command::Bdat { size, last } => self.bdat(size, last).await,
            Command::Rset => {
                self.state.reset();
                Ok(Reply::new(250, "2.0.0", "OK"))
            }
            Command::Noop => Ok(Reply::new(250, "2.0.0", "OK")),
            Command::Help => Ok(Reply::new(
                214,
                "2.0.0",
                "See RFC 5321; this server offers the commands listed by EHLO",
            )),
            // RFC 5321 §3.5.3: 252 when we will not say whether a user exists.
            Command::Vrfy => Ok(Reply::new(
                252,
                "2.5.0",
                "Cannot VRFY user, but will accept message and attempt delivery",
            )),
            Command::Expn => Ok(Reply::new(502, "5.5.1", "EXPN is not available")),
            Command::Quit => {
                self.send(Reply::new(221, "2.0.0", "Bye"));
                return Ok(Next::Close);
            }
        };
        let reply = outcome.or_else(Error::into_reply)?;
        self.send(reply);
        Ok(Next::Continue)
    }
}
