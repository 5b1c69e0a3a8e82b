//! AUTHENTICATE (RFC 5804 section 2.1) with SASL PLAIN (RFC 4616), the
//! initial response given with the command or sent after an empty
//! challenge. Passwords go to the shared authenticator, which throttles
//! and logs failures as it does IMAP's; before TLS they are refused unless
//! plaintext logins are allowed, as for IMAP.

use std::io;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use postino_common::auth::{Service, User, parse_plain};

use super::Client;
use crate::error::Error;
use crate::proto::parse::ParseError;
use crate::proto::response::write_string_line;
use crate::proto::{Code, Response};

impl Client<'_> {
    /// The user who logged in, or the response refusing them.
    pub(super) async fn authenticate(
        &mut self,
        mechanism: &str,
        initial: Option<String>,
    ) -> io::Result<Result<User, Response>> {
        if !self.conn.is_tls() && !self.ctx.settings.allow_plaintext_auth {
            return Ok(Err(
                Response::no("Use STARTTLS first").code(Code::EncryptNeeded)
            ));
        }
        if !mechanism.eq_ignore_ascii_case("PLAIN") {
            return Ok(Err(Response::no(format!(
                "Mechanism {mechanism} is not supported; use PLAIN"
            ))));
        }
        let encoded = match initial {
            Some(initial) => initial.into_bytes(),
            None => {
                write_string_line(self.conn.out(), b"");
                self.conn.flush().await?;
                let idle = self.ctx.settings.idle_timeout;
                let answer = tokio::time::timeout(idle, self.conn.sasl_response())
                    .await
                    .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?;
                match answer? {
                    None => return Err(io::ErrorKind::UnexpectedEof.into()),
                    Some(Err(ParseError::Bad { .. } | ParseError::TooLarge(_))) => {
                        return Ok(Err(Response::no("Invalid SASL response")));
                    }
                    Some(Ok(cancel)) if cancel == b"*" => {
                        return Ok(Err(Response::no("Authentication cancelled")));
                    }
                    Some(Ok(response)) => response,
                }
            }
        };
        let Ok(message) = BASE64.decode(&encoded) else {
            return Ok(Err(Response::no("Invalid base64 in the SASL response")));
        };
        let (user, password) = match parse_plain(&message) {
            Ok(credentials) => credentials,
            Err(err) => return Ok(Err(Response::no(format!("Authentication failed: {err}")))),
        };
        let auth = &self.ctx.auth;
        Ok(auth
            .login_user(Service::ManageSieve, &user, &password, self.peer)
            .await
            .map_err(|err| Error::Auth(err).response()))
    }
}
