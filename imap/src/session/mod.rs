//! One client's IMAP conversation: the states of RFC 9051 §3 and a file per
//! group of commands.
//!
//! Every command is framed and decoded by `proto`; its handler writes any
//! untagged responses into the connection's buffer and returns the tagged
//! status. After each command in the selected state the session reports
//! what other sessions and deliveries changed (EXISTS, EXPUNGE or VANISHED,
//! flag FETCHes), at the points RFC 9051 §7.5.1 allows.

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
mod status;
mod view;

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::IpAddr;

use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::imap_types::core::{Tag, Vec1};
use imap_codec::imap_types::extensions::enable::CapabilityEnable;
use postino_common::auth::User;
use postino_common::store::{StoreError, Watch};
use tokio_util::sync::CancellationToken;

use crate::Context;
use crate::connection::Connection;
use crate::proto::{Decoded, Event, Options, Reason, decode_command, substitute_saved};
use view::View;

/// How a command ended: the tagged response's status, code and text.
pub(crate) struct Done {
    status: Status,
    code: Option<Cow<'static, str>>,
    text: Cow<'static, str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    No,
    Bad,
}

impl Done {
    pub(crate) fn ok(text: impl Into<Cow<'static, str>>) -> Done {
        Done {
            status: Status::Ok,
            code: None,
            text: text.into(),
        }
    }

    pub(crate) fn no(text: impl Into<Cow<'static, str>>) -> Done {
        Done {
            status: Status::No,
            ..Done::ok(text)
        }
    }

    pub(crate) fn bad(text: impl Into<Cow<'static, str>>) -> Done {
        Done {
            status: Status::Bad,
            ..Done::ok(text)
        }
    }

    /// Adds a response code, such as `TRYCREATE` or `APPENDUID 1 2`.
    pub(crate) fn code(mut self, code: impl Into<Cow<'static, str>>) -> Done {
        self.code = Some(code.into());
        self
    }
}

/// Why a session ends early.
#[derive(Debug, thiserror::Error)]
pub(crate) enum End {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The client logged out, or the server said BYE.
    #[error("session closed")]
    Closed,
}

/// A store failure during a command: logged, and answered with a NO the
/// client may retry.
pub(crate) fn unavailable(err: &StoreError) -> Done {
    tracing::error!(error = %err, "store failure");
    Done::no("Temporary failure, try again later").code("UNAVAILABLE")
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

/// A logged-in user's part of the session.
pub(crate) struct LoggedIn {
    user: User,
    /// Wakes on changes to the user's mail, from any session or node.
    watch: Watch,
}

pub(crate) struct Session<'a> {
    ctx: &'a Context,
    conn: Option<Connection>,
    peer: IpAddr,
    shutdown: &'a CancellationToken,
    login: Option<LoggedIn>,
    selected: Option<View>,
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
            ctx,
            conn: Some(conn),
            peer,
            shutdown,
            login: None,
            selected: None,
            enabled: Enabled::default(),
            forced_sync: false,
            errors: 0,
        }
    }

    fn conn(&mut self) -> &mut Connection {
        // Only STARTTLS takes the connection out, and puts it back before
        // anything else runs.
        self.conn.as_mut().expect("the session has its connection")
    }

    /// Greets and serves the client until it leaves.
    pub(crate) async fn run(mut self) -> Result<(), End> {
        let ended = self.serve().await;
        // A session closed by the server has its last words (BYE) to write.
        if let (Err(End::Closed), Some(conn)) = (&ended, &mut self.conn) {
            conn.flush().await?;
        }
        ended
    }

    async fn serve(&mut self) -> Result<(), End> {
        let greeting = format!("* OK [CAPABILITY {}] Postino ready", self.capabilities());
        self.conn().line(&greeting);
        self.conn().flush().await?;
        loop {
            let event = tokio::select! {
                _ = self.shutdown.cancelled() => return self.bye("Server shutting down").await,
                read = tokio::time::timeout(self.ctx.settings.idle_timeout, self.conn().next()) => match read {
                    Ok(event) => event?,
                    Err(_) => return self.bye("Idle for too long").await,
                },
            };
            let Some(event) = event else {
                tracing::debug!("client closed the connection");
                return Ok(());
            };
            match event {
                Event::Command(bytes) => self.command(&bytes).await?,
                Event::Continue { .. } => {
                    self.conn().line("+ Ready for literal data");
                }
                Event::Refused(refusal) => {
                    let done = match refusal.reason {
                        Reason::LiteralTooBig { append: true, .. } => {
                            Done::no("Message too large").code("TOOBIG")
                        }
                        Reason::LiteralTooBig { .. } => {
                            Done::bad("Literal too large").code("TOOBIG")
                        }
                        Reason::LineTooLong { .. } => Done::bad("Command line too long"),
                    };
                    self.finish(refusal.tag.as_ref(), done)?;
                }
                // A bare line outside AUTHENTICATE and IDLE: the framing
                // only produces one when asked.
                Event::Line(_) => self.finish(None, Done::bad("Unexpected line"))?,
            }
            self.conn().flush().await?;
        }
    }

    async fn command(&mut self, bytes: &[u8]) -> Result<(), End> {
        let rewritten = match &self.selected {
            Some(view) if bytes.contains(&b'$') => {
                substitute_saved(bytes, &view::uid_set(&view.saved))
            }
            _ => None,
        };
        let bytes = rewritten.as_deref().unwrap_or(bytes);
        let decoded = match decode_command(bytes) {
            Ok(decoded) => decoded,
            Err(err) => {
                let done = Done::bad(format!("Invalid command: {err}"));
                return self.finish(err.tag.as_ref(), done);
            }
        };
        let Decoded { command, options } = decoded;
        let Command { tag, body } = command;
        tracing::debug!(tag = tag.inner(), command = body.name(), "command");
        if body == CommandBody::StartTLS {
            return self.start_tls(&tag).await;
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
        let done = self.dispatch(&tag, body, options).await?;
        if self.selected.is_some() {
            self.report_changes(expunge_allowed).await;
        }
        self.finish(Some(&tag), done)
    }

    async fn dispatch(
        &mut self,
        tag: &Tag<'_>,
        body: CommandBody<'_>,
        options: Options,
    ) -> Result<Done, End> {
        // Commands valid in every state.
        match body {
            CommandBody::Capability => {
                let line = format!("* CAPABILITY {}", self.capabilities());
                self.conn().line(&line);
                return Ok(Done::ok("CAPABILITY completed"));
            }
            CommandBody::Noop => {
                // The client polls: read the store even if no notification
                // came yet (PostgreSQL delivers them after the commit).
                self.forced_sync = true;
                return Ok(Done::ok("NOOP completed"));
            }
            CommandBody::Logout => {
                self.conn().line("* BYE Logging out");
                self.finish(Some(tag), Done::ok("LOGOUT completed"))?;
                self.conn().flush().await?;
                return Err(End::Closed);
            }
            CommandBody::Id { .. } => {
                self.conn()
                    .line("* ID (\"name\" \"Postino\" \"vendor\" \"Postino\")");
                return Ok(Done::ok("ID completed"));
            }
            CommandBody::Enable { capabilities } => return Ok(self.enable(&capabilities)),
            _ => {}
        }
        let Some(login) = &self.login else {
            return match body {
                CommandBody::Login { username, password } => Ok(self
                    .login(username.as_ref(), password.declassify().as_ref())
                    .await),
                CommandBody::Authenticate {
                    mechanism,
                    initial_response,
                } => {
                    self.authenticate(
                        &mechanism,
                        initial_response.map(|r| r.declassify().to_vec()),
                    )
                    .await
                }
                _ => Ok(Done::bad("Log in first")),
            };
        };
        let account_id = login.user.account_id;
        let done = match body {
            CommandBody::Login { .. } | CommandBody::Authenticate { .. } => {
                Done::bad("Already logged in")
            }
            CommandBody::Namespace => {
                self.conn().line("* NAMESPACE ((\"\" \"/\")) NIL NIL");
                Done::ok("NAMESPACE completed")
            }
            CommandBody::Select {
                mailbox,
                parameters,
            } => self.select(&mailbox, &parameters, false).await,
            CommandBody::Examine {
                mailbox,
                parameters,
            } => self.select(&mailbox, &parameters, true).await,
            CommandBody::Create { mailbox } => self.create(account_id, &mailbox, &options).await,
            CommandBody::Delete { mailbox } => self.delete(account_id, &mailbox).await,
            CommandBody::Rename { from, to } => self.rename(account_id, &from, &to).await,
            CommandBody::Subscribe { mailbox } => self.subscribe(account_id, &mailbox, true).await,
            CommandBody::Unsubscribe { mailbox } => {
                self.subscribe(account_id, &mailbox, false).await
            }
            CommandBody::List {
                reference,
                mailbox_wildcard,
            } => {
                self.list(account_id, &reference, &mailbox_wildcard, &options, false)
                    .await
            }
            CommandBody::Lsub {
                reference,
                mailbox_wildcard,
            } => {
                self.list(account_id, &reference, &mailbox_wildcard, &options, true)
                    .await
            }
            CommandBody::Status {
                mailbox,
                item_names,
            } => self.status(account_id, &mailbox, &item_names).await,
            CommandBody::Append {
                mailbox,
                flags,
                date,
                message,
            } => {
                self.append(account_id, &mailbox, &flags, date.as_ref(), &message)
                    .await
            }
            CommandBody::Idle => self.idle().await?,
            CommandBody::GetQuota { root } => self.get_quota(account_id, root.as_ref()).await,
            CommandBody::GetQuotaRoot { mailbox } => {
                self.get_quota_root(account_id, &mailbox).await
            }
            CommandBody::SetQuota { .. } => {
                Done::no("Quotas are set by the administrators").code("NOPERM")
            }
            body => self.selected_command(tag, body, options).await?,
        };
        Ok(done)
    }

    /// Commands of the selected state.
    async fn selected_command(
        &mut self,
        tag: &Tag<'_>,
        body: CommandBody<'_>,
        options: Options,
    ) -> Result<Done, End> {
        if self.selected.is_none() {
            return Ok(match body {
                CommandBody::Check
                | CommandBody::Close
                | CommandBody::Unselect
                | CommandBody::Expunge
                | CommandBody::ExpungeUid { .. }
                | CommandBody::Search { .. }
                | CommandBody::Fetch { .. }
                | CommandBody::Store { .. }
                | CommandBody::Copy { .. }
                | CommandBody::Move { .. } => Done::bad("Select a mailbox first"),
                _ => Done::bad("Command not supported"),
            });
        }
        Ok(match body {
            CommandBody::Check => {
                self.forced_sync = true;
                Done::ok("CHECK completed")
            }
            CommandBody::Close => self.close(true).await,
            CommandBody::Unselect => self.close(false).await,
            CommandBody::Expunge => self.expunge(None).await,
            CommandBody::ExpungeUid { sequence_set } => self.expunge(Some(&sequence_set)).await,
            CommandBody::Search {
                charset,
                criteria,
                uid,
            } => {
                self.search(tag, charset.as_ref(), criteria.as_ref(), uid, &options)
                    .await?
            }
            CommandBody::Fetch {
                sequence_set,
                macro_or_item_names,
                uid,
                modifiers,
            } => {
                self.fetch(&sequence_set, macro_or_item_names, uid, &modifiers)
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
                self.store(&sequence_set, kind, response, &flags, uid, &modifiers)
                    .await?
            }
            CommandBody::Copy {
                sequence_set,
                mailbox,
                uid,
            } => self.copy(&sequence_set, &mailbox, uid, false).await,
            CommandBody::Move {
                sequence_set,
                mailbox,
                uid,
            } => self.copy(&sequence_set, &mailbox, uid, true).await,
            _ => Done::bad("Command not supported"),
        })
    }

    /// Writes the tagged response (or `* BAD` without a tag) and counts
    /// failures; too many end the session.
    fn finish(&mut self, tag: Option<&Tag<'_>>, done: Done) -> Result<(), End> {
        let mut line = match tag {
            Some(tag) => tag.inner().to_string(),
            None => "*".to_string(),
        };
        line.push_str(match done.status {
            Status::Ok => " OK",
            Status::No => " NO",
            Status::Bad => " BAD",
        });
        if let Some(code) = &done.code {
            let _ = write!(line, " [{code}]");
        }
        let _ = write!(line, " {}", done.text);
        self.conn().line(&line);
        if done.status != Status::Ok {
            self.errors += 1;
            if self.errors >= self.ctx.settings.max_errors {
                tracing::info!(errors = self.errors, "closing after too many errors");
                self.conn().line("* BYE Too many errors");
                return Err(End::Closed);
            }
        }
        Ok(())
    }

    async fn bye(&mut self, text: &str) -> Result<(), End> {
        self.conn().line(&format!("* BYE {text}"));
        self.conn().flush().await?;
        Ok(())
    }

    fn capabilities(&mut self) -> String {
        let tls = self.conn().is_tls();
        let mut caps = String::from("IMAP4rev1 IMAP4rev2");
        if self.login.is_none() {
            if !tls {
                caps.push_str(" STARTTLS");
            }
            if tls || self.ctx.settings.allow_plaintext_auth {
                caps.push_str(" AUTH=PLAIN SASL-IR");
            } else {
                caps.push_str(" LOGINDISABLED");
            }
        }
        caps.push_str(
            " LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN \
             SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS STATUS=SIZE ESEARCH SEARCHRES \
             QUOTA QUOTA=RES-STORAGE CONDSTORE QRESYNC UTF8=ACCEPT BINARY",
        );
        let _ = write!(caps, " APPENDLIMIT={}", self.ctx.settings.max_message_size);
        caps
    }

    fn enable(&mut self, capabilities: &Vec1<CapabilityEnable<'_>>) -> Done {
        if self.login.is_none() {
            return Done::bad("Log in first");
        }
        let mut enabled = Vec::new();
        for capability in capabilities.as_ref() {
            // Listed again when already on, as Dovecot does: RFC 5161 §3.1
            // leaves it open.
            let name = match capability.to_string().to_ascii_uppercase().as_str() {
                "UTF8=ACCEPT" => "UTF8=ACCEPT",
                "CONDSTORE" => "CONDSTORE",
                "IMAP4REV2" => "IMAP4rev2",
                "QRESYNC" => "QRESYNC",
                _ => continue,
            };
            if enabled.contains(&name) {
                continue;
            }
            let now = &mut self.enabled;
            match name {
                "UTF8=ACCEPT" => now.utf8 = true,
                "CONDSTORE" => now.condstore = true,
                "IMAP4rev2" => (now.rev2, now.utf8) = (true, true),
                _ => (now.qresync, now.condstore) = (true, true),
            }
            enabled.push(name);
        }
        let mut line = String::from("* ENABLED");
        for name in enabled {
            line.push(' ');
            line.push_str(name);
        }
        self.conn().line(&line);
        Done::ok("ENABLE completed")
    }
}
