//! Getting in: STARTTLS (RFC 9051 §6.2.1), LOGIN (§6.2.3) and AUTHENTICATE
//! PLAIN with SASL-IR (§6.2.2, RFC 4959). Passwords go to the shared
//! authenticator, which throttles and logs failures.

use imap_codec::imap_types::auth::{AuthMechanism, AuthenticateData};
use imap_codec::imap_types::core::Tag;
use postino_common::auth::{AuthError, Secret, Service, parse_plain};

use super::{Done, End, LoggedIn, Session};
use crate::proto::{Event, decode_authenticate_data};

impl Session<'_> {
    /// Answers STARTTLS itself: its tagged OK must be written before the
    /// handshake.
    pub(super) async fn start_tls(&mut self, tag: &Tag<'_>) -> Result<(), End> {
        if self.conn().is_tls() || self.login.is_some() {
            return self.finish(Some(tag), Done::bad("STARTTLS is not allowed now"));
        }
        if self.conn().has_unread() {
            tracing::info!("client sent data after STARTTLS; dropped");
        }
        self.finish(Some(tag), Done::ok("Begin TLS negotiation now"))?;
        self.conn().flush().await?;
        let conn = self.conn.take().expect("the session has its connection");
        let handshake = tokio::time::timeout(
            self.ctx.settings.idle_timeout,
            conn.start_tls(&self.ctx.tls),
        );
        match handshake.await {
            Ok(Ok(conn)) => self.conn = Some(conn),
            Ok(Err(err)) => return Err(err.into()),
            Err(_) => return Err(std::io::Error::from(std::io::ErrorKind::TimedOut).into()),
        }
        tracing::debug!("TLS started");
        Ok(())
    }

    /// Whether passwords may be sent on this connection now.
    fn plaintext_refused(&mut self) -> Option<Done> {
        (!self.conn().is_tls() && !self.ctx.settings.allow_plaintext_auth)
            .then(|| Done::no("Use STARTTLS first").code("PRIVACYREQUIRED"))
    }

    pub(super) async fn login(&mut self, user: &[u8], password: &[u8]) -> Done {
        if let Some(refused) = self.plaintext_refused() {
            return refused;
        }
        let (Ok(user), Ok(password)) = (std::str::from_utf8(user), std::str::from_utf8(password))
        else {
            return Done::no("Invalid credentials").code("AUTHENTICATIONFAILED");
        };
        self.log_in(user, &Secret::new(password)).await
    }

    pub(super) async fn authenticate(
        &mut self,
        mechanism: &AuthMechanism<'_>,
        initial: Option<Vec<u8>>,
    ) -> Result<Done, End> {
        if let Some(refused) = self.plaintext_refused() {
            return Ok(refused);
        }
        if *mechanism != AuthMechanism::Plain {
            return Ok(Done::no("Only PLAIN is supported").code("CANNOT"));
        }
        let message = match initial {
            Some(message) => message,
            None => {
                self.conn().line("+ ");
                self.conn().flush().await?;
                self.conn().expect_line();
                let line = match self.conn().next().await? {
                    Some(Event::Line(line)) => line,
                    Some(_) => return Ok(Done::bad("Expected an authentication response")),
                    None => return Err(End::Closed),
                };
                match decode_authenticate_data(&line) {
                    Ok(AuthenticateData::Continue(data)) => data.declassify().to_vec(),
                    Ok(AuthenticateData::Cancel) => {
                        return Ok(Done::bad("Authentication cancelled"));
                    }
                    Err(_) => return Ok(Done::bad("Invalid base64")),
                }
            }
        };
        Ok(match parse_plain(&message) {
            Ok((user, password)) => self.log_in(&user, &password).await,
            Err(err) => Done::no(err.to_string()).code("AUTHENTICATIONFAILED"),
        })
    }

    async fn log_in(&mut self, user: &str, password: &Secret) -> Done {
        let auth = &self.ctx.auth;
        match auth
            .login_user(Service::Imap, user, password, self.peer)
            .await
        {
            Ok(user) => {
                tracing::info!(user = %user.address, "logged in");
                let watch = self.ctx.store.watch(user.account_id);
                self.login = Some(LoggedIn { user, watch });
                let capabilities = self.capabilities();
                Done::ok("Logged in").code(format!("CAPABILITY {capabilities}"))
            }
            Err(AuthError::Invalid) => Done::no("Invalid credentials").code("AUTHENTICATIONFAILED"),
            Err(AuthError::Throttled { .. }) => {
                Done::no("Too many failed logins, try again later").code("UNAVAILABLE")
            }
            Err(err) => {
                tracing::error!(error = %err, "login failed");
                Done::no("Temporary failure, try again later").code("UNAVAILABLE")
            }
        }
    }
}
