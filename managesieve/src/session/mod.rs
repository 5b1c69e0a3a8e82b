//! One client's ManageSieve conversation (RFC 5804 section 2): the two
//! states, the commands valid in every state, and a file per group of the
//! others: `auth` (AUTHENTICATE), `scripts` (listing, fetching, activating,
//! renaming and deleting scripts), `upload` (HAVESPACE, PUTSCRIPT,
//! CHECKSCRIPT).
//!
//! Every command ends with one `OK`, `NO` or `BYE` response, from the
//! handler or from `crate::error`; what comes before it (capabilities, a
//! script, a list) goes into the connection's buffer first. Where RFC 5804
//! leaves room, the session behaves as Dovecot's Pigeonhole does: the
//! greeting is the capability list and `OK`, SASL mechanisms are listed
//! empty before STARTTLS when passwords need TLS, and after STARTTLS the
//! capabilities come again unasked (section 2.2).

mod auth;
mod scripts;
mod upload;

use std::io;
use std::net::IpAddr;

use postino_common::auth::User;
use tokio_util::sync::CancellationToken;

use crate::connection::Connection;
use crate::error::Error;
use crate::proto::parse::{LITERAL_TOO_LARGE, Limits, ParseError};
use crate::proto::response::{Capabilities, write_capabilities};
use crate::proto::{Code, Command, Response, Status};
use crate::{Context, Settings};

/// The longest command outside its literals: names are at most 128
/// bytes, quoted strings at most 1024 (RFC 5804 section 4).
const MAX_LINE: usize = 8 * 1024;

/// What the connection accepts from clients of `settings`: a literal up to
/// twice the largest script, so that a script somewhat too large is read
/// and refused with `QUOTA/MAXSIZE`, and the session goes on; a larger one
/// ends it.
pub(crate) fn limits(settings: &Settings) -> Limits {
    let max_script = usize::try_from(settings.scripts.max_script_size.0).unwrap_or(usize::MAX);
    Limits {
        max_literal: max_script.saturating_mul(2),
        max_line: MAX_LINE,
    }
}

/// How a command ends: its response, or the error that decides it.
type Outcome = Result<Response, Error>;

/// What the session does after a command.
enum Next {
    Read,
    /// Switch the connection to TLS, then read.
    StartTls,
    Leave,
}

/// Where the conversation is, with what is valid there.
enum State {
    NotAuthenticated,
    Authenticated(User),
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
            state: State::NotAuthenticated,
        }
    }

    /// Greets and serves the client until it leaves.
    pub(crate) async fn run(mut self) -> io::Result<()> {
        self.client.capabilities(None);
        self.client
            .conn
            .send(&Response::ok("Postino ManageSieve ready"));
        self.client.conn.flush().await?;
        loop {
            let next = self.step().await?;
            // What the command left to say, last words (BYE) included.
            self.client.conn.flush().await?;
            match next {
                Next::Read => {}
                Next::Leave => return Ok(()),
                Next::StartTls => {
                    let ctx = self.client.ctx;
                    let handshake = tokio::time::timeout(
                        ctx.settings.idle_timeout,
                        self.client.conn.start_tls(&ctx.tls),
                    );
                    self.client.conn = handshake
                        .await
                        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
                    tracing::debug!("TLS started");
                    self.client.capabilities(None);
                    self.client
                        .conn
                        .send(&Response::ok("TLS negotiation successful"));
                    self.client.conn.flush().await?;
                }
            }
        }
    }

    /// Waits for the client's next command and answers it.
    async fn step(&mut self) -> io::Result<Next> {
        let client = &mut self.client;
        let idle = client.ctx.settings.idle_timeout;
        let read = tokio::select! {
            _ = client.shutdown.cancelled() => {
                return Ok(client.bye(Response::bye("Server shutting down").code(Code::TryLater)));
            }
            read = tokio::time::timeout(idle, client.conn.command()) => match read {
                Ok(read) => read?,
                Err(_) => return Ok(client.bye(Response::bye("Idle for too long"))),
            },
        };
        match read {
            None => {
                tracing::debug!("client closed the connection");
                Ok(Next::Leave)
            }
            Some(Err(ParseError::TooLarge(what))) => {
                tracing::info!(what, "closing: command too large");
                let bye = Response::bye(format!("Command too large: {what}"));
                Ok(client.bye(match what {
                    LITERAL_TOO_LARGE => bye.code(Code::QuotaMaxSize),
                    _ => bye,
                }))
            }
            Some(Err(ParseError::Bad { message, .. })) => {
                Ok(client.finish(Response::no(format!("Invalid command: {message}"))))
            }
            Some(Ok(command)) => self.command(command).await,
        }
    }

    async fn command(&mut self, command: Command) -> io::Result<Next> {
        let client = &mut self.client;
        tracing::debug!(command = command.name(), "command");
        let outcome = match command {
            Command::Capability => {
                client.capabilities(self.state.owner());
                Ok(Response::ok("Capability completed"))
            }
            Command::Noop { tag } => {
                let done = Response::ok("Done");
                Ok(match tag {
                    Some(tag) => done.code(Code::Tag(tag)),
                    None => done,
                })
            }
            Command::Logout => {
                client.conn.send(&Response::ok("Logout completed"));
                return Ok(Next::Leave);
            }
            Command::StartTls => {
                let logged_in = matches!(self.state, State::Authenticated(_));
                if logged_in || client.conn.is_tls() {
                    Ok(Response::no("STARTTLS is not allowed now"))
                } else {
                    client.conn.send(&Response::ok("Begin TLS negotiation now"));
                    return Ok(Next::StartTls);
                }
            }
            Command::Authenticate { mechanism, initial } => match self.state {
                State::Authenticated(_) => Ok(Response::no("Already authenticated")),
                State::NotAuthenticated => match client.authenticate(&mechanism, initial).await? {
                    Ok(user) => {
                        tracing::info!(user = %user.address, "logged in");
                        self.state = State::Authenticated(user);
                        Ok(Response::ok("Logged in"))
                    }
                    Err(refused) => Ok(refused),
                },
            },
            Command::Unauthenticate => {
                match std::mem::replace(&mut self.state, State::NotAuthenticated) {
                    State::Authenticated(user) => {
                        tracing::info!(user = %user.address, "logged out");
                        Ok(Response::ok("Unauthenticate completed"))
                    }
                    State::NotAuthenticated => Ok(Response::no("Not authenticated")),
                }
            }
            command => match &self.state {
                State::NotAuthenticated => Ok(Response::no("Authenticate first")),
                State::Authenticated(user) => {
                    // On the heap: the largest commands' futures need not
                    // be held by every idle session.
                    Box::pin(client.script_command(user.account_id, command)).await
                }
            },
        };
        let response = outcome.unwrap_or_else(|err| err.response());
        Ok(client.finish(response))
    }
}

impl State {
    /// The logged-in user's address (the OWNER capability).
    fn owner(&self) -> Option<&str> {
        match self {
            State::NotAuthenticated => None,
            State::Authenticated(user) => Some(&user.address),
        }
    }
}

impl Client<'_> {
    /// Commands of the authenticated state that act on scripts.
    async fn script_command(&mut self, account: i64, command: Command) -> Outcome {
        match command {
            Command::ListScripts => self.list_scripts(account).await,
            Command::GetScript { name } => self.get_script(account, &name).await,
            Command::SetActive { name } => self.set_active(account, &name).await,
            Command::DeleteScript { name } => self.delete_script(account, &name).await,
            Command::RenameScript { old, new } => self.rename_script(account, &old, &new).await,
            Command::HaveSpace { name, size } => self.have_space(account, &name, size).await,
            Command::PutScript { name, script } => self.put_script(account, &name, script).await,
            Command::CheckScript { script } => self.check_script(account, script).await,
            // Answered by the session in every state.
            other => Ok(Response::no(format!("{} is not valid now", other.name()))),
        }
    }

    /// Writes the capability lines (RFC 5804 section 1.7), without the OK.
    fn capabilities(&mut self, owner: Option<&str>) {
        let tls = self.conn.is_tls();
        let sasl: &[&str] = if tls || self.ctx.settings.allow_plaintext_auth {
            &["PLAIN"]
        } else {
            &[]
        };
        let limits = postino_common::sieve::engine_limits(&self.ctx.settings.scripts);
        let capabilities = Capabilities {
            implementation: "Postino",
            sasl,
            sieve: postino_sieve::CAPABILITIES,
            starttls: !tls && owner.is_none(),
            max_redirects: u32::try_from(limits.max_redirects).unwrap_or(u32::MAX),
            owner,
        };
        write_capabilities(self.conn.out(), &capabilities);
    }

    /// Sends the response that ends a command and counts failures; too
    /// many end the session.
    fn finish(&mut self, response: Response) -> Next {
        let failed = response.status == Status::No;
        self.conn.send(&response);
        if failed {
            self.errors += 1;
            if self.errors >= self.ctx.settings.max_errors {
                tracing::info!(errors = self.errors, "closing after too many errors");
                return self.bye(Response::bye("Too many errors"));
            }
        }
        Next::Read
    }

    fn bye(&mut self, response: Response) -> Next {
        self.conn.send(&response);
        Next::Leave
    }
}
