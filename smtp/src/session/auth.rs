//! AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN mechanisms, for
//! mailbox users (an address) and relay clients (a name without `@`).

use std::io;

use postino_common::auth::{AuthError, PlainError, Secret, Service, User, parse_plain};
use postino_common::store::RelayClient;

use super::{Identity, Session};
use crate::error::{Error, Internal};
use crate::proto::{Line, Reply, SaslResponse, decode_response};

/// The longest line of a SASL exchange.
const MAX_SASL_LINE: usize = 4096;

/// Who logged in.
enum Principal {
    User(User),
    Relay(RelayClient),
}

/// What a SASL exchange came to before the password check.
enum Credentials {
    Given { user: String, password: Secret },
    Refused(Reply),
}

impl Session {
    pub(super) async fn auth(
        &mut self,
        mechanism: &str,
        initial: Option<String>,
    ) -> Result<Reply, Error> {
        if !self.kind.is_submission() {
            return Ok(Reply::new(
                503,
                "5.5.1",
                "AUTH is not available on this port",
            ));
        }
        if !self.auth_offered() {
            return Ok(Reply::new(
                538,
                "5.7.11",
                "Encryption required: use STARTTLS first",
            ));
        }
        if !self.state.helo().is_some_and(|h| h.extended) {
            return Ok(Reply::new(503, "5.5.1", "Send EHLO first"));
        }
        // A relay client known by its address may still log in as someone.
        let logged_in = match &self.identity {
            Identity::Anonymous => false,
            Identity::User(_) => true,
            Identity::Relay(relay) => !relay.by_address,
        };
        if logged_in {
            return Ok(Reply::new(503, "5.5.1", "Already authenticated"));
        }
        if self.state.in_transaction() {
            return Ok(Reply::new(
                503,
                "5.5.1",
                "AUTH is not allowed during a mail transaction",
            ));
        }
        let credentials = match mechanism {
            "PLAIN" => self.plain(initial).await?,
            "LOGIN" => self.login(initial).await?,
            _ => Credentials::Refused(Reply::new(
                504,
                "5.5.4",
                "Unrecognized authentication mechanism",
            )),
        };
        let (user, password) = match credentials {
            Credentials::Given { user, password } => (user, password),
            Credentials::Refused(reply) => return Ok(reply),
        };
        let auth = &self.context.auth;
        let result = if user.contains('@') {
            auth.login_user(Service::Smtp, &user, &password, self.peer)
                .await
                .map(Principal::User)
        } else {
            auth.login_relay(Service::Smtp, &user, &password, self.peer)
                .await
                .map(Principal::Relay)
        };
        Ok(match result {
            Ok(Principal::User(user)) => {
                tracing::info!(user = %user.address, "authenticated");
                self.identity = Identity::User(user);
                Reply::new(235, "2.7.0", "Authentication successful")
            }
            Ok(Principal::Relay(client)) => {
                self.relay_client_known(client, false);
                Reply::new(235, "2.7.0", "Authentication successful")
            }
            Err(AuthError::Invalid) => {
                Reply::new(535, "5.7.8", "Authentication credentials invalid")
            }
            Err(AuthError::Throttled { .. }) => {
                Reply::new(454, "4.7.0", "Too many failed logins, try again later")
            }
            Err(err @ (AuthError::Hashing | AuthError::Store(_))) => {
                return Err(Internal::Auth(err).into());
            }
        })
    }

    /// One client response to a `334` challenge, base64-decoded; `Err` is
    /// the reply that ends the exchange.
    async fn response(
        &mut self,
        challenge: &str,
        given: Option<String>,
    ) -> io::Result<Result<Vec<u8>, Reply>> {
        let text = match given {
            Some(text) => text,
            None => {
                self.conn
                    .reply(&Reply::plain(334, vec![challenge.to_string().into()]));
                match self.conn.line(MAX_SASL_LINE).await? {
                    None => return Err(io::ErrorKind::UnexpectedEof.into()),
                    Some(Line::TooLong) => {
                        return Ok(Err(Reply::new(
                            500,
                            "5.5.6",
                            "Authentication exchange line too long",
                        )));
                    }
                    Some(Line::Complete(line)) => String::from_utf8_lossy(&line).into_owned(),
                }
            }
        };
        Ok(match decode_response(&text) {
            SaslResponse::Data(bytes) => Ok(bytes),
            SaslResponse::Cancelled => Err(Reply::new(501, "5.0.0", "Authentication cancelled")),
            SaslResponse::Invalid => Err(Reply::new(
                501,
                "5.5.2",
                "Invalid base64 in authentication exchange",
            )),
        })
    }

    /// PLAIN: `authzid NUL authcid NUL password`, where an authzid, if
    /// given, must be the authcid (no acting for others).
    async fn plain(&mut self, initial: Option<String>) -> io::Result<Credentials> {
        let message = match self.response("", initial).await? {
            Ok(message) => message,
            Err(reply) => return Ok(Credentials::Refused(reply)),
        };
        Ok(match parse_plain(&message) {
            Ok((user, password)) => Credentials::Given { user, password },
            Err(PlainError::Malformed) => {
                Credentials::Refused(Reply::new(501, "5.5.2", "Malformed PLAIN credentials"))
            }
            Err(PlainError::OtherIdentity) => Credentials::Refused(Reply::new(
                535,
                "5.7.8",
                "Authorization identity not allowed",
            )),
        })
    }

    /// LOGIN: the user name, then the password, each after a prompt.
    async fn login(&mut self, initial: Option<String>) -> io::Result<Credentials> {
        let user = match self.response("VXNlcm5hbWU6", initial).await? {
            Ok(user) => user,
            Err(reply) => return Ok(Credentials::Refused(reply)),
        };
        let password = match self.response("UGFzc3dvcmQ6", None).await? {
            Ok(password) => password,
            Err(reply) => return Ok(Credentials::Refused(reply)),
        };
        match (String::from_utf8(user), String::from_utf8(password)) {
            (Ok(user), Ok(password)) => Ok(Credentials::Given {
                user,
                password: Secret::new(password),
            }),
            _ => Ok(Credentials::Refused(Reply::new(
                501,
                "5.5.2",
                "Credentials are not valid UTF-8",
            ))),
        }
    }
}
