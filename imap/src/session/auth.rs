//! Getting in: LOGIN (RFC 9051 §6.2.3) and AUTHENTICATE PLAIN with SASL-IR
//! (§6.2.2, RFC 4959); STARTTLS (§6.2.1) is answered by the session itself.
//! Passwords go to the shared authenticator, which throttles and logs
//! failures.

use imap_codec::imap_types::auth::{AuthMechanism, AuthenticateData};
use postino_common::auth::{Secret, Service, parse_plain};

use super::{Client, End, LoggedIn, Outcome, State};
use crate::proto::{Code, Event, Response, Status, decode_authenticate_data};

impl Client<'_> {
    /// Whether passwords may be sent on this connection now.
    fn plaintext_refused(&self) -> Option<Status<'static>> {
        (!self.conn.is_tls() && !self.ctx.settings.allow_plaintext_auth)
            .then(|| Status::no("Use STARTTLS first").code(Code::PrivacyRequired))
    }

    pub(super) async fn login(
        &mut self,
        state: &mut State,
        user: &[u8],
        password: &[u8],
    ) -> Outcome {
        if let Some(refused) = self.plaintext_refused() {
            return Ok(refused);
        }
        let (Ok(user), Ok(password)) = (std::str::from_utf8(user), std::str::from_utf8(password))
        else {
            return Ok(Status::no("Invalid credentials").code(Code::AuthenticationFailed));
        };
        self.log_in(state, user, &Secret::new(password)).await
    }

    pub(super) async fn authenticate(
        &mut self,
        state: &mut State,
        mechanism: &AuthMechanism<'_>,
        initial: Option<Vec<u8>>,
    ) -> Result<Outcome, End> {
        if let Some(refused) = self.plaintext_refused() {
            return Ok(Ok(refused));
        }
        if *mechanism != AuthMechanism::Plain {
            return Ok(Ok(Status::no("Only PLAIN is supported").code(Code::Cannot)));
        }
        let message = match initial {
            Some(message) => message,
            None => {
                self.send(Response::Continue(""));
                self.conn.flush().await?;
                self.conn.expect_line();
                let line = match self.conn.next().await? {
                    Some(Event::Line(line)) => line,
                    Some(_) => return Ok(Ok(Status::bad("Expected an authentication response"))),
                    None => return Err(End::Closed),
                };
                match decode_authenticate_data(&line) {
                    Ok(AuthenticateData::Continue(data)) => data.declassify().to_vec(),
                    Ok(AuthenticateData::Cancel) => {
                        return Ok(Ok(Status::bad("Authentication cancelled")));
                    }
                    Err(_) => return Ok(Ok(Status::bad("Invalid base64"))),
                }
            }
        };
        Ok(match parse_plain(&message) {
            Ok((user, password)) => self.log_in(state, &user, &password).await,
            Err(err) => Ok(Status::no(err.to_string()).code(Code::AuthenticationFailed)),
        })
    }

    async fn log_in(&mut self, state: &mut State, user: &str, password: &Secret) -> Outcome {
        let auth = &self.ctx.auth;
        let user = auth
            .login_user(Service::Imap, user, password, self.peer)
            .await?;
        tracing::info!(user = %user.address, "logged in");
        let watch = self.ctx.store.watch(user.account_id);
        *state = State::Authenticated(LoggedIn { user, watch });
        let capabilities = self.capabilities(true);
        Ok(Status::ok("Logged in").code(Code::Capability(capabilities)))
    }
}
