//! Relay clients: agency systems (document registry, SUAP portals, payment
//! notices) that send through Postino, local recipients and remote ones.
//!
//! A client is recognised by its source address on every listener — MX
//! included, since systems on the internal network are often set up to
//! send to port 25 — before the greeting, and then needs no AUTH and no
//! TLS: its address is its credential. A client with a password logs in
//! with AUTH on submission, with its name as the user name; names have no
//! `@`, which tells them from mailboxes. An explicit AUTH replaces an
//! identity by address, so that mail clients on a relay client's network
//! still log in as their own users.
//!
//! A relay client may use only its sender domains in MAIL FROM (`553
//! 5.7.1`; the null sender too, since it sends no bounces), and at most its
//! rate: every MAIL it is allowed counts as one message, even if the
//! transaction is then abandoned, and past the rate MAIL gets `451 4.7.1`
//! before any content is sent. The count is kept in the store, so that it
//! holds across every node.

use postino_common::address::Address;
use postino_common::store::RelayClient;

use super::{Relay, Session};
use crate::metrics::{Rejection, rejected};
use crate::proto::Reply;

impl Session {
    /// Looks the peer up among the relay clients' networks; `Err` is the
    /// reply that ends the session when the store cannot say.
    pub(super) async fn recognise_relay_client(&mut self) -> Result<(), Reply> {
        match self.context.store.relay_client_for(self.peer).await {
            Ok(Some(client)) => {
                self.relay_client_known(client, true);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(err) => {
                tracing::error!(error = %err, "cannot look up relay clients");
                Err(Reply::new(
                    421,
                    "4.3.0",
                    "Temporary server error, try again later",
                ))
            }
        }
    }

    /// Makes `client` the one this session sends for.
    pub(super) fn relay_client_known(&mut self, client: RelayClient, by_address: bool) {
        tracing::Span::current().record("relay", tracing::field::display(&client.name));
        let how = if by_address { "address" } else { "password" };
        tracing::info!(client = %client.name, by = how, "relay client recognised");
        self.user = None;
        self.relay = Some(Relay { client, by_address });
    }

    /// For a relay client, whether it may send as `path` now: one of its
    /// sender domains, within its rate. `None` when it may, or when the
    /// session is not a relay client's.
    pub(super) async fn check_relay_sender(&self, path: &str) -> Option<Reply> {
        let client = &self.relay.as_ref()?.client;
        let allowed = path
            .parse::<Address>()
            .is_ok_and(|a| client.may_send_from(a.domain().as_str()));
        if !allowed {
            tracing::info!(from = %path, "relay client refused: not one of its sender domains");
            return Some(rejected(
                Rejection::SenderRefused,
                Reply::new(553, "5.7.1", format!("You may not send as <{path}>")),
            ));
        }
        let store = &self.context.store;
        let now = postino_common::store::now();
        match store
            .count_relay_message(client.id, client.rate_per_minute, now)
            .await
        {
            Ok(true) => None,
            Ok(false) => {
                tracing::info!(
                    rate = client.rate_per_minute,
                    "relay client refused: over its rate"
                );
                Some(rejected(
                    Rejection::RateLimited,
                    Reply::new(
                        451,
                        "4.7.1",
                        format!(
                            "Rate limit reached: at most {} messages a minute, try again later",
                            client.rate_per_minute
                        ),
                    ),
                ))
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot count a relay client's message");
                Some(Reply::new(
                    451,
                    "4.3.0",
                    "Temporary server error, try again later",
                ))
            }
        }
    }
}
