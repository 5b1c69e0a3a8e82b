//! The AUTHORIZATION state (RFC 1939 section 4): USER and PASS (section
//! 7), and AUTH with SASL PLAIN (RFC 5034, RFC 4616), the initial response
//! given with the command or sent after an empty challenge. Passwords go
//! to the shared authenticator, which throttles and logs failures as it
//! does IMAP's; before TLS they are refused, at USER already, as Dovecot
//! refuses them, unless plaintext logins are allowed as for IMAP.

use std::io;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use postino_common::auth::{Secret, Service, parse_plain};

use super::{Client, Maildrop};
use crate::error::Error;
use crate::proto::parse::parse_sasl_response;
use crate::proto::response::{write_challenge, write_end, write_line};
use crate::proto::{Code, Command, Reply};

/// What a command of the AUTHORIZATION state came to.
pub(super) enum Authorized {
    /// Still not logged in: the reply.
    Not(Reply),
    /// Logged in, with the maildrop open.
    LoggedIn(Maildrop),
}

impl Client<'_> {
    /// Answers a command before login; `user` is the name USER gave.
    pub(super) async fn authorization(
        &mut self,
        command: Command,
        user: &mut Option<String>,
    ) -> io::Result<Authorized> {
        let plaintext_refused = || {
            Authorized::Not(
                Reply::err("Plaintext authentication disallowed on non-secure connections.")
                    .code(Code::Auth),
            )
        };
        Ok(match command {
            Command::User(name) => {
                if !self.may_authenticate() {
                    return Ok(plaintext_refused());
                }
                *user = Some(name);
                Authorized::Not(Reply::ok(""))
            }
            Command::Pass(password) => match user.take() {
                None => Authorized::Not(Reply::err("No user name given.")),
                Some(name) => self.log_in(&name, &Secret::new(password)).await,
            },
            // The mechanisms, as Dovecot lists them for a bare AUTH.
            Command::Auth {
                mechanism: None, ..
            } => {
                let mut lines = Vec::new();
                write_line(&mut lines, "PLAIN");
                write_end(&mut lines);
                Authorized::Not(Reply::ok("").lines(lines))
            }
            Command::Auth {
                mechanism: Some(mechanism),
                initial,
            } => {
                if !self.may_authenticate() {
                    return Ok(plaintext_refused());
                }
                if !mechanism.eq_ignore_ascii_case("PLAIN") {
                    return Ok(Authorized::Not(Reply::err(
                        "Unsupported authentication mechanism.",
                    )));
                }
                match self.sasl_plain(initial).await? {
                    Ok((name, password)) => self.log_in(&name, &password).await,
                    Err(refused) => Authorized::Not(refused),
                }
            }
            other => Authorized::Not(Reply::err(format!("Log in before {}.", other.name()))),
        })
    }

    /// The name and password of a SASL PLAIN exchange, or the reply that
    /// ends it.
    async fn sasl_plain(
        &mut self,
        initial: Option<String>,
    ) -> io::Result<Result<(String, Secret), Reply>> {
        let encoded = match initial {
            // RFC 5034 section 4: `=` is an empty initial response.
            Some(initial) if initial == "=" => String::new(),
            Some(initial) => initial,
            None => {
                write_challenge(self.conn.out());
                self.conn.flush().await?;
                let idle = self.ctx.settings.idle_timeout;
                let answer = tokio::time::timeout(idle, self.conn.line())
                    .await
                    .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
                let Some(line) = answer else {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                };
                let Ok(Ok(response)) = line.map(|line| parse_sasl_response(&line)) else {
                    return Ok(Err(Reply::err("Invalid SASL response.")));
                };
                if response == "*" {
                    return Ok(Err(Reply::err("Authentication aborted.")));
                }
                response
            }
        };
        let Ok(message) = BASE64.decode(encoded.as_bytes()) else {
            return Ok(Err(Reply::err("Invalid base64 in the SASL response.")));
        };
        Ok(parse_plain(&message)
            .map_err(|err| Reply::err(format!("Authentication failed: {err}.")).code(Code::Auth)))
    }

    /// Checks the password and opens the maildrop.
    async fn log_in(&mut self, name: &str, password: &Secret) -> Authorized {
        let auth = &self.ctx.auth;
        let user = match auth
            .login_user(Service::Pop3, name, password, self.peer)
            .await
        {
            Ok(user) => user,
            Err(err) => return Authorized::Not(Error::Auth(err).reply()),
        };
        match Maildrop::open(&self.ctx.store, user.account_id).await {
            Ok(maildrop) => {
                let (messages, octets) = maildrop.stat();
                tracing::info!(user = %user.address, messages, octets, "logged in");
                Authorized::LoggedIn(maildrop)
            }
            Err(err) => Authorized::Not(err.reply()),
        }
    }
}
