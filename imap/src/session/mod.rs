//! One client's IMAP conversation: the states of RFC 9051 §3 and a file per
//! group of commands.
//!
//! Every command is framed and decoded by `proto`. Its handler sends any
//! untagged responses, as `proto` values, into the connection's buffer and
//! ends with the tagged status, or with an error that `crate::error` turns
//! into one. The [`State`] holds only what is valid in it; the rest of the
//! session is the [`Client`], apart, so that a handler can hold the
//! account or the selected mailbox beside the connection. After each
//! command in the selected state the session reports what other sessions
//! and deliveries changed (EXISTS, EXPUNGE or VANISHED, flag FETCHes), at
//! the points RFC 9051 §7.5.1 allows.

mod acl;
mod append;
mod auth;
mod copy;
mod expunge;
mod fetch;
mod flags;
mod idle;
mod listing;
mod mailboxes;
mod names;
mod quota;
mod search;
mod select;
mod shared;
mod sort;
mod status;
mod view;

use std::net::IpAddr;

use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::imap_types::core::{Tag, Vec1};
use imap_codec::imap_types::extensions::enable::CapabilityEnable;
use postino_common::auth::User;
use postino_common::store::{Store, Watch};
use tokio_util::sync::CancellationToken;

use crate::Context;
use crate::connection::Connection;
use crate::error::Error;
use crate::proto::{
    Capabilities, Code, Data, Decoded, Event, Extension, LoginCapabilities, Options, Reason,
    Response, Status, StatusKind, decode_command, substitute_saved,
};
pub(crate) use names::BadName;
use view::View;

/// How a command ends: its tagged status, or the error that decides it.
type Outcome = Result<Status<'static>, Error>;

/// Why a session ends early.
#[derive(Debug, thiserror::Error)]
pub(crate) enum End {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The session is over: the server said BYE, or the client left in
    /// the middle of a command.
    #[error("session closed")]
    Closed,
}

/// What the session does after an event.
enum Next {
    Read,
    /// Switch the connection to TLS, then read.
    StartTls,
    Leave,
}

/// What the client turned on with ENABLE.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Enabled {
    pub rev2: bool,
    /// UTF-8 in mailbox names and strings (UTF8=ACCEPT, or IMAP4rev2).
    pub utf8: bool,
    pub condstore: bool,
    pub qresync: bool,
}

/// A logged-in user.
pub(crate) struct LoggedIn {
    user: User,
    /// Wakes on changes to the mail of the account whose folder is
    /// selected (the user's own when none is), from any session or node.
    watch: Watch,
}

impl LoggedIn {
    /// Watches the account `account_id` from now on.
    fn follow(&mut self, store: &Store, account_id: i64) {
        if self.watch.account_id() != account_id {
            self.watch = store.watch(account_id);
        }
    }
}

/// Where the conversation is (RFC 9051 §3), with what is valid there.
enum State {
    NotAuthenticated,
    Authenticated(LoggedIn),
    Selected(LoggedIn, View),
}

impl State {
    fn view(&self) -> Option<&View> {
        match self {
            State::Selected(_, view) => Some(view),
            _ => None,
        }
    }

    /// Leaves the selected state; the mailbox that was selected.
    fn unselect(&mut self) -> Option<View> {
        match std::mem::replace(self, State::NotAuthenticated) {
            State::Selected(login, view) => {
                *self = State::Authenticated(login);
                Some(view)
            }
            other => {
                *self = other;
                None
            }
        }
    }

    /// Enters the selected state, which only a logged-in session can.
    fn select(&mut self, view: View) {
        if let State::Authenticated(login) | State::Selected(login, _) =
            std::mem::replace(self, State::NotAuthenticated)
        {
            *self = State::Selected(login, view);
        }
    }
}

pub(crate) struct Session<'a> {
    client: Client<'a>,
    state: State,
}

/// The session but its state: the connection, what sessions share, and
/// what the client enabled.
pub(crate) struct Client<'a> {
    ctx: &'a Context,
    conn: Connection,
    peer: IpAddr,
    shutdown: &'a CancellationToken,
    enabled: Enabled,
    /// Set by a command that changed the selected folder, so that the
    /// client hears of it before the tagged response even if the change
    /// notification is still on its way (PostgreSQL delivers it later).
    forced_sync: bool,
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
                enabled: Enabled::default(),
                forced_sync: false,
                errors: 0,
            },
            state: State::NotAuthenticated,
        }
    }

    /// Greets and serves the client until it leaves.
    pub(crate) async fn run(mut self) -> Result<(), End> {
        let capabilities = self.client.capabilities(false);
        let greeting = Status::ok("Postino ready").code(Code::Capability(capabilities));
        self.client.send(Response::Untagged(greeting));
        self.client.conn.flush().await?;
        loop {
            let next = self.step().await;
            // What the event left to say, last words (BYE) included.
            self.client.conn.flush().await?;
            match next? {
                Next::Read => {}
                Next::Leave => return Ok(()),
                Next::StartTls => {
                    let ctx = self.client.ctx;
                    // On the heap, as commands are (see `command`).
                    let handshake = tokio::time::timeout(
                        ctx.settings.idle_timeout,
                        Box::pin(self.client.conn.start_tls(&ctx.tls)),
                    );
                    self.client.conn = handshake
                        .await
                        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
                    tracing::debug!("TLS started");
                }
            }
        }
    }

    /// Waits for the client's next event and answers it.
    async fn step(&mut self) -> Result<Next, End> {
        let client = &mut self.client;
        let event = tokio::select! {
            _ = client.shutdown.cancelled() => return Ok(client.bye("Server shutting down")),
            read = tokio::time::timeout(client.ctx.settings.idle_timeout, client.conn.next()) => match read {
                Ok(event) => event?,
                Err(_) => return Ok(client.bye("Idle for too long")),
            },
        };
        let Some(event) = event else {
            tracing::debug!("client closed the connection");
            return Ok(Next::Leave);
        };
        match event {
            Event::Command(bytes) => return self.command(&bytes).await,
            Event::Continue { .. } => client.send(Response::Continue("Ready for literal data")),
            Event::Refused(refusal) => {
                let status = match refusal.reason {
                    Reason::LiteralTooBig { append: true, .. } => {
                        Status::no("Message too large").code(Code::TooBig)
                    }
                    Reason::LiteralTooBig { .. } => {
                        Status::bad("Literal too large").code(Code::TooBig)
                    }
                    Reason::LineTooLong { .. } => Status::bad("Command line too long"),
                };
                client.finish(refusal.tag.as_ref(), status)?;
            }
            // A bare line outside AUTHENTICATE and IDLE: the framing
            // only produces one when asked.
            Event::Line(_) => client.finish(None, Status::bad("Unexpected line"))?,
        }
        Ok(Next::Read)
    }

    async fn command(&mut self, bytes: &[u8]) -> Result<Next, End> {
        let rewritten = match self.state.view() {
            Some(view) if bytes.contains(&b'$') => substitute_saved(bytes, &view.saved),
            _ => None,
        };
        let bytes = rewritten.as_deref().unwrap_or(bytes);
        let decoded = match decode_command(bytes) {
            Ok(decoded) => decoded,
            Err(err) => {
                let status = Status::bad(format!("Invalid command: {err}"));
                self.client.finish(err.tag.as_ref(), status)?;
                return Ok(Next::Read);
            }
        };
        let Decoded { command, options } = decoded;
        let Command { tag, body } = command;
        let name = match &options {
            Options::Acl(acl) => acl.name(),
            _ => body.name(),
        };
        tracing::debug!(tag = tag.inner(), command = name, "command");
        match body {
            CommandBody::StartTLS => return self.start_tls(&tag),
            CommandBody::Logout => {
                self.client
                    .send(Response::Untagged(Status::bye("Logging out")));
                self.client
                    .finish(Some(&tag), Status::ok("LOGOUT completed"))?;
                return Ok(Next::Leave);
            }
            _ => {}
        }
        let uid_command = matches!(
            body,
            CommandBody::Fetch { uid: true, .. }
                | CommandBody::Store { uid: true, .. }
                | CommandBody::Search { uid: true, .. }
                | CommandBody::Copy { uid: true, .. }
                | CommandBody::Move { uid: true, .. }
        );
        // FETCH, STORE and SEARCH by sequence number may not see EXPUNGE
        // responses, which would renumber what they answer (RFC 9051 §7.5.1).
        let expunge_allowed = uid_command
            || !matches!(
                body,
                CommandBody::Fetch { .. } | CommandBody::Store { .. } | CommandBody::Search { .. }
            );
        // A session spends its idle life inside IDLE: every other command
        // runs in a future of its own on the heap, so that the session's
        // own future, held as long as the connection, has no room for the
        // largest of them (see `imap::idle_connection` in the IMAP bench).
        let outcome = match body {
            CommandBody::Idle => self.idle().await?,
            body => Box::pin(self.dispatch(&tag, body, options)).await?,
        };
        let status = outcome.unwrap_or_else(|err| err.status());
        if let State::Selected(login, view) = &mut self.state {
            self.client
                .report_changes(login, view, expunge_allowed)
                .await;
        }
        self.client.finish(Some(&tag), status)?;
        Ok(Next::Read)
    }

    /// Answers STARTTLS, whose tagged OK goes out before the handshake.
    fn start_tls(&mut self, tag: &Tag<'_>) -> Result<Next, End> {
        let logged_in = !matches!(self.state, State::NotAuthenticated);
        if self.client.conn.is_tls() || logged_in {
            let refused = Status::bad("STARTTLS is not allowed now");
            self.client.finish(Some(tag), refused)?;
            return Ok(Next::Read);
        }
        if self.client.conn.has_unread() {
            tracing::info!("client sent data after STARTTLS; dropped");
        }
        let ready = Status::ok("Begin TLS negotiation now");
        self.client.finish(Some(tag), ready)?;
        Ok(Next::StartTls)
    }

    /// IDLE (RFC 2177) in whatever state the session is.
    async fn idle(&mut self) -> Result<Outcome, End> {
        match &mut self.state {
            State::NotAuthenticated => Ok(Ok(Status::bad("Log in first"))),
            State::Authenticated(login) => self.client.idle(login, None).await,
            State::Selected(login, view) => self.client.idle(login, Some(view)).await,
        }
    }

    async fn dispatch(
        &mut self,
        tag: &Tag<'_>,
        body: CommandBody<'_>,
        options: Options,
    ) -> Result<Outcome, End> {
        let client = &mut self.client;
        // ACL commands come as a NOOP, with the command in the options.
        if let Options::Acl(command) = options {
            return Ok(match &self.state {
                State::NotAuthenticated => Ok(Status::bad("Log in first")),
                State::Authenticated(login) | State::Selected(login, _) => {
                    client.acl_command(login, command).await
                }
            });
        }
        // Commands valid in every state.
        match body {
            CommandBody::Capability => {
                let logged_in = !matches!(self.state, State::NotAuthenticated);
                client.send(Data::Capability(client.capabilities(logged_in)));
                return Ok(Ok(Status::ok("CAPABILITY completed")));
            }
            CommandBody::Noop => {
                // The client polls: read the store even if no notification
                // came yet (PostgreSQL delivers them after the commit).
                client.forced_sync = true;
                return Ok(Ok(Status::ok("NOOP completed")));
            }
            CommandBody::Id { .. } => {
                client.send(Data::Id(&[("name", "Postino"), ("vendor", "Postino")]));
                return Ok(Ok(Status::ok("ID completed")));
            }
            _ => {}
        }
        let (login, view) = match &mut self.state {
            State::NotAuthenticated => {
                return Ok(match body {
                    CommandBody::Login { username, password } => {
                        let (user, password) = (username.as_ref(), password.declassify());
                        client.login(&mut self.state, user, password.as_ref()).await
                    }
                    CommandBody::Authenticate {
                        mechanism,
                        initial_response,
                    } => {
                        let initial = initial_response.map(|r| r.declassify().to_vec());
                        client
                            .authenticate(&mut self.state, &mechanism, initial)
                            .await?
                    }
                    _ => Ok(Status::bad("Log in first")),
                });
            }
            State::Authenticated(login) => (login, None),
            State::Selected(login, view) => (login, Some(view)),
        };
        let account_id = login.user.account_id;
        let lsub = matches!(body, CommandBody::Lsub { .. });
        let outcome = match body {
            CommandBody::Login { .. } | CommandBody::Authenticate { .. } => {
                Ok(Status::bad("Already logged in"))
            }
            CommandBody::Enable { capabilities } => Ok(client.enable(&capabilities)),
            CommandBody::Namespace => {
                client.send(Data::Namespace {
                    other_users: shared::SHARED_ROOT,
                });
                Ok(Status::ok("NAMESPACE completed"))
            }
            CommandBody::Select {
                mailbox,
                parameters,
            } => {
                client
                    .select(account_id, &mut self.state, &mailbox, &parameters, false)
                    .await
            }
            CommandBody::Examine {
                mailbox,
                parameters,
            } => {
                client
                    .select(account_id, &mut self.state, &mailbox, &parameters, true)
                    .await
            }
            CommandBody::Close => client.close(&mut self.state, true).await,
            CommandBody::Unselect => client.close(&mut self.state, false).await,
            CommandBody::Create { mailbox } => client.create(account_id, &mailbox, &options).await,
            CommandBody::Delete { mailbox } => {
                client.delete(account_id, &mut self.state, &mailbox).await
            }
            CommandBody::Rename { from, to } => client.rename(account_id, view, &from, &to).await,
            CommandBody::Subscribe { mailbox } => {
                client.subscribe(account_id, &mailbox, true).await
            }
            CommandBody::Unsubscribe { mailbox } => {
                client.subscribe(account_id, &mailbox, false).await
            }
            CommandBody::List {
                reference,
                mailbox_wildcard,
            }
            | CommandBody::Lsub {
                reference,
                mailbox_wildcard,
            } => {
                client
                    .list(
                        account_id,
                        view.as_deref(),
                        &reference,
                        &mailbox_wildcard,
                        &options,
                        lsub,
                    )
                    .await
            }
            CommandBody::Status {
                mailbox,
                item_names,
            } => {
                client
                    .status(account_id, view.as_deref(), &mailbox, &item_names)
                    .await
            }
            CommandBody::Append {
                mailbox,
                flags,
                date,
                message,
            } => {
                let mut messages = vec![append::ToAppend::first(&flags, date.as_ref(), &message)];
                if let Options::MoreMessages(more) = &options {
                    messages.extend(more.iter().map(append::ToAppend::more));
                }
                client
                    .append(account_id, view.as_deref(), &mailbox, &messages)
                    .await
            }
            CommandBody::GetQuota { root } => client.get_quota(account_id, root.as_ref()).await,
            CommandBody::GetQuotaRoot { mailbox } => {
                client.get_quota_root(account_id, &mailbox).await
            }
            CommandBody::SetQuota { .. } => {
                Ok(Status::no("Quotas are set by the administrators").code(Code::NoPerm))
            }
            body => match view {
                Some(view) => {
                    client
                        .selected_command(tag, account_id, view, body, options)
                        .await?
                }
                None => Ok(not_selected(&body)),
            },
        };
        Ok(outcome)
    }
}

/// The answer to a command of the selected state in another.
fn not_selected(body: &CommandBody<'_>) -> Status<'static> {
    match body {
        CommandBody::Check
        | CommandBody::Expunge
        | CommandBody::ExpungeUid { .. }
        | CommandBody::Search { .. }
        | CommandBody::Fetch { .. }
        | CommandBody::Store { .. }
        | CommandBody::Copy { .. }
        | CommandBody::Move { .. } => Status::bad("Select a mailbox first"),
        _ => Status::bad("Command not supported"),
    }
}

impl Client<'_> {
    /// Appends a response to those the next flush writes.
    fn send<'r>(&mut self, response: impl Into<Response<'r>>) {
        self.conn.send(&response.into(), self.enabled.utf8);
    }

    /// Commands of the selected state.
    async fn selected_command(
        &mut self,
        tag: &Tag<'_>,
        account_id: i64,
        view: &mut View,
        body: CommandBody<'_>,
        options: Options,
    ) -> Result<Outcome, End> {
        Ok(match body {
            CommandBody::Check => {
                self.forced_sync = true;
                Ok(Status::ok("CHECK completed"))
            }
            CommandBody::Expunge => self.expunge(view, None).await,
            CommandBody::ExpungeUid { sequence_set } => {
                self.expunge(view, Some(&sequence_set)).await
            }
            CommandBody::Search {
                charset,
                criteria,
                uid,
            } => {
                let (charset, criteria) = (charset.as_ref(), criteria.as_ref());
                match &options {
                    Options::Sort {
                        criteria: order,
                        returns,
                    } => {
                        let returns = returns.as_deref();
                        self.sort(tag, view, charset, criteria, uid, order, returns)
                            .await
                    }
                    Options::Thread(algorithm) => {
                        self.thread(view, charset, criteria, uid, *algorithm).await
                    }
                    _ => {
                        self.search(tag, view, charset, criteria, uid, &options)
                            .await
                    }
                }
            }
            CommandBody::Fetch {
                sequence_set,
                macro_or_item_names,
                uid,
                modifiers,
            } => {
                self.fetch(view, &sequence_set, macro_or_item_names, uid, &modifiers)
                    .await?
            }
            CommandBody::Store {
                sequence_set,
                kind,
                response,
                flags,
                uid,
                modifiers,
            } => {
                self.store(view, &sequence_set, kind, response, &flags, uid, &modifiers)
                    .await
            }
            CommandBody::Copy {
                sequence_set,
                mailbox,
                uid,
            } => {
                self.copy(account_id, view, &sequence_set, &mailbox, uid, false)
                    .await
            }
            CommandBody::Move {
                sequence_set,
                mailbox,
                uid,
            } => {
                self.copy(account_id, view, &sequence_set, &mailbox, uid, true)
                    .await
            }
            _ => Ok(Status::bad("Command not supported")),
        })
    }

    /// Writes the tagged response (or `* BAD` without a tag) and counts
    /// failures; too many end the session.
    fn finish(&mut self, tag: Option<&Tag<'_>>, status: Status<'_>) -> Result<(), End> {
        let failed = status.kind != StatusKind::Ok;
        self.send(match tag {
            Some(tag) => Response::Tagged(tag, status),
            None => Response::Untagged(status),
        });
        if failed {
            self.errors += 1;
            if self.errors >= self.ctx.settings.max_errors {
                tracing::info!(errors = self.errors, "closing after too many errors");
                self.send(Response::Untagged(Status::bye("Too many errors")));
                return Err(End::Closed);
            }
        }
        Ok(())
    }

    fn bye(&mut self, text: &str) -> Next {
        self.send(Response::Untagged(Status::bye(text)));
        Next::Leave
    }

    fn capabilities(&self, logged_in: bool) -> Capabilities {
        let tls = self.conn.is_tls();
        Capabilities {
            login: (!logged_in).then_some(LoginCapabilities {
                starttls: !tls,
                auth: tls || self.ctx.settings.allow_plaintext_auth,
            }),
            append_limit: self.ctx.settings.max_message_size,
        }
    }

    fn enable(&mut self, capabilities: &Vec1<CapabilityEnable<'_>>) -> Status<'static> {
        let mut enabled = Vec::new();
        for capability in capabilities.as_ref() {
            // Listed again when already on, as Dovecot does: RFC 5161 §3.1
            // leaves it open.
            let Some(extension) = Extension::from_name(&capability.to_string()) else {
                continue;
            };
            if enabled.contains(&extension) {
                continue;
            }
            let now = &mut self.enabled;
            match extension {
                Extension::Utf8Accept => now.utf8 = true,
                Extension::CondStore => now.condstore = true,
                Extension::Imap4Rev2 => (now.rev2, now.utf8) = (true, true),
                Extension::QResync => (now.qresync, now.condstore) = (true, true),
            }
            enabled.push(extension);
        }
        self.send(Data::Enabled(&enabled));
        Status::ok("ENABLE completed")
    }
}
