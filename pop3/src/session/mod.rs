//! One client's POP3 conversation (RFC 1939 section 3): the AUTHORIZATION
//! state, where `auth` takes USER/PASS and AUTH PLAIN; the TRANSACTION
//! state, where `maildrop` answers STAT, LIST, UIDL, DELE and RSET and
//! `retrieve` RETR and TOP over the snapshot taken at login; and the
//! UPDATE state QUIT enters, in `update`.
//!
//! Every command ends with one `+OK` or `-ERR` line, multi-line responses
//! with their lines after it. Where the RFCs leave room, the session
//! behaves as Dovecot's POP3 does by default: no lock on the maildrop, so
//! IMAP and other POP3 sessions go on beside it; RETR (not TOP) marks
//! `\Seen`; a message another session expunged answers `-ERR`; the
//! `\Seen` flags of RETR are kept even when the client leaves without
//! QUIT, the deletions only with QUIT.

mod auth;
mod maildrop;
mod retrieve;
mod update;

use std::io;
use std::net::IpAddr;

use tokio_util::sync::CancellationToken;

use crate::connection::Connection;
use crate::error::Error;
use crate::proto::parse::{TooLong, parse_command};
use crate::proto::response::{write_end, write_line};
use crate::proto::{Code, Command, Reply};
use crate::{Context, metrics};

use maildrop::Maildrop;

/// The longest line a client may send, line end included. RFC 2449
/// section 4 limits commands to 255 octets; an AUTH PLAIN response with a
/// long name and password may be longer (RFC 5034 section 4), so the limit
/// is Dovecot's generous one for input lines, well below any buffer worry.
pub(crate) const MAX_LINE: usize = 8 * 1024;

/// How a command ends: its reply, or the error that decides it.
type Outcome = Result<Reply, Error>;

/// What the session does after a command.
enum Next {
    Read,
    /// Switch the connection to TLS, then read.
    StartTls,
    Leave,
}

/// Where the conversation is, with what is valid there.
enum State {
    /// Before login, with the name USER gave, waiting for PASS.
    Authorization {
        user: Option<String>,
    },
    Transaction(Maildrop),
}

pub(crate) struct Session<'a> {
    client: Client<'a>,
    state: State,
}

/// The session but its state: the connection and what sessions share.
struct Client<'a> {
    ctx: &'a Context,
    conn: Connection,
    peer: IpAddr,
    shutdown: &'a CancellationToken,
    errors: u32,
}

impl<'a> Session<'a> {
    pub(crate) fn new(
        ctx: &'a Context,
        conn: Connection,
        peer: IpAddr,
        shutdown: &'a CancellationToken,
    ) -> Session<'a> {
        Session {
            client: Client {
                ctx,
                conn,
                peer,
                shutdown,
                errors: 0,
            },
            state: State::Authorization { user: None },
        }
    }

    /// Greets and serves the client until it leaves; what RETR marked
    /// `\Seen` is kept however the session ends.
    pub(crate) async fn run(mut self) -> io::Result<()> {
        self.client.conn.send(&Reply::ok("Postino ready."));
        self.client.conn.flush().await?;
        let ended = loop {
            let next = match self.step().await {
                // What the command left to say, last words included.
                Ok(next) => self.client.conn.flush().await.map(|()| next),
                Err(err) => Err(err),
            };
            match next {
                Ok(Next::Read) => {}
                Ok(Next::Leave) => break Ok(()),
                Err(err) => break Err(err),
                // Only before login: a failed handshake leaves nothing to
                // keep.
                Ok(Next::StartTls) => {
                    let ctx = self.client.ctx;
                    let handshake = tokio::time::timeout(
                        ctx.settings.idle_timeout,
                        self.client.conn.start_tls(&ctx.tls),
                    );
                    self.client.conn = handshake
                        .await
                        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
                    tracing::debug!("TLS started");
                }
            }
        };
        if let State::Transaction(maildrop) = &self.state {
            self.client.keep_seen(maildrop).await;
        }
        ended
    }

    /// Waits for the client's next command and answers it.
    async fn step(&mut self) -> io::Result<Next> {
        let client = &mut self.client;
        let idle = client.ctx.settings.idle_timeout;
        let read = tokio::select! {
            _ = client.shutdown.cancelled() => {
                let bye = Reply::err("Server shutting down.").code(Code::SysTemp);
                return Ok(client.bye(bye));
            }
            read = tokio::time::timeout(idle, client.conn.line()) => match read {
                Ok(read) => read?,
                Err(_) => return Ok(client.bye(Reply::err("Disconnected for inactivity."))),
            },
        };
        let line = match read {
            None => {
                tracing::debug!("client closed the connection");
                return Ok(Next::Leave);
            }
            Some(Err(TooLong)) => {
                tracing::info!("closing: line too long");
                return Ok(client.bye(Reply::err("Line too long.")));
            }
            Some(Ok(line)) => line,
        };
        match parse_command(&line) {
            Ok(command) => self.command(command).await,
            Err(message) => Ok(client.finish(Reply::err(message))),
        }
    }

    async fn command(&mut self, command: Command) -> io::Result<Next> {
        let client = &mut self.client;
        tracing::debug!(command = command.name(), "command");
        metrics::command(command.name());
        let outcome = match (command, &mut self.state) {
            (Command::Capa, state) => {
                let in_transaction = matches!(state, State::Transaction(_));
                Ok(client.capabilities(in_transaction))
            }
            (Command::Quit, _) => {
                let reply = match self.state.take_maildrop() {
                    None => Reply::ok("Logging out."),
                    Some(maildrop) => client
                        .update(maildrop)
                        .await
                        .unwrap_or_else(|err| err.reply()),
                };
                client.conn.send(&reply);
                return Ok(Next::Leave);
            }
            (Command::Stls, State::Authorization { user }) => {
                if client.conn.is_tls() {
                    Ok(Reply::err("TLS is already active."))
                } else {
                    *user = None;
                    client.conn.send(&Reply::ok("Begin TLS negotiation now."));
                    return Ok(Next::StartTls);
                }
            }
            (command, State::Authorization { user }) => {
                match client.authorization(command, user).await? {
                    auth::Authorized::Not(reply) => Ok(reply),
                    auth::Authorized::LoggedIn(maildrop) => {
                        self.state = State::Transaction(maildrop);
                        Ok(Reply::ok("Logged in."))
                    }
                }
            }
            (Command::Retrieve { number, lines }, State::Transaction(maildrop)) => {
                let (reply, counts) = match client.retrieve(maildrop, number, lines).await {
                    Ok(retrieved) => retrieved,
                    Err(err) => (err.reply(), true),
                };
                return Ok(client.finish_counting(reply, counts));
            }
            (command, State::Transaction(maildrop)) => Ok(maildrop.command(command)),
        };
        let reply = outcome.unwrap_or_else(|err: Error| err.reply());
        Ok(client.finish(reply))
    }
}

impl State {
    /// The maildrop of a session in the TRANSACTION state, which QUIT
    /// takes into the UPDATE state; the session is done with it then.
    fn take_maildrop(&mut self) -> Option<Maildrop> {
        match std::mem::replace(self, State::Authorization { user: None }) {
            State::Transaction(maildrop) => Some(maildrop),
            State::Authorization { .. } => None,
        }
    }
}

impl Client<'_> {
    /// Whether passwords may be sent on this connection now: over TLS, or
    /// where IMAP takes them in clear.
    fn may_authenticate(&self) -> bool {
        self.conn.is_tls() || self.ctx.settings.allow_plaintext_auth
    }

    /// CAPA (RFC 2449 section 5), as Dovecot lists it: what logging in
    /// takes only before it.
    fn capabilities(&mut self, in_transaction: bool) -> Reply {
        let mut lines = Vec::new();
        for capability in ["TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"] {
            write_line(&mut lines, capability);
        }
        if !in_transaction {
            if !self.conn.is_tls() {
                write_line(&mut lines, "STLS");
            }
            if self.may_authenticate() {
                write_line(&mut lines, "USER");
                write_line(&mut lines, "SASL PLAIN");
            }
        }
        write_end(&mut lines);
        Reply::ok("Capability list follows").lines(lines)
    }

    /// Sends the reply that ends a command and counts failures; too many
    /// end the session.
    fn finish(&mut self, reply: Reply) -> Next {
        self.finish_counting(reply, true)
    }

    /// [`Client::finish`], where a failure counts only if `counts`.
    fn finish_counting(&mut self, reply: Reply, counts: bool) -> Next {
        let failed = !reply.ok;
        self.conn.send(&reply);
        if failed && counts {
            self.errors += 1;
            if self.errors >= self.ctx.settings.max_errors {
                tracing::info!(errors = self.errors, "closing after too many errors");
                return self.bye(Reply::err("Too many errors, closing."));
            }
        }
        Next::Read
    }

    fn bye(&mut self, reply: Reply) -> Next {
        self.conn.send(&reply);
        Next::Leave
    }
}
