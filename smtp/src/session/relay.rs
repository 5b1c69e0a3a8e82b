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

use super::mail::sender_refused;
use super::{Identity, Relay, Session};
use crate::error::Error;
use crate::metrics::{Rejection, rejected};
use crate::proto::Reply;

impl Session {
    /// Looks the peer up among the relay clients' networks.
    pub(super) async fn recognise_relay_client(&mut self) -> Result<(), Error> {
        let found = self.context.store.relay_client_for(self.peer).await;
        if let Some(client) = found.map_err(Error::store("look up relay clients"))? {
            self.relay_client_known(client, true);
        }
        Ok(())
    }

    /// Makes `client` the one this session sends for.
    pub(super) fn relay_client_known(&mut self, client: RelayClient, by_address: bool) {
        tracing::Span::current().record("relay", tracing::field::display(&client.name));
        let how = if by_address { "address" } else { "password" };
        tracing::info!(client = %client.name, by = how, "relay client recognised");
        self.identity = Identity::Relay(Relay { client, by_address });
    }

    /// For a relay client, whether it may send as `path` now: one of its
    /// sender domains, within its rate. `None` when it may, or when the
    /// session is not a relay client's.
    pub(super) async fn check_relay_sender(&self, path: &str) -> Result<Option<Reply>, Error> {
        let Identity::Relay(Relay { client, .. }) = &self.identity else {
            return Ok(None);
        };
        let allowed = path
            .parse::<Address>()
            .is_ok_and(|a| client.may_send_from(a.domain().as_str()));
        if !allowed {
            tracing::info!(from = %path, "relay client refused: not one of its sender domains");
            return Ok(Some(sender_refused(path)));
        }
        let store = &self.context.store;
        let now = postino_common::store::now();
        let within_rate = store
            .count_relay_message(client.id, client.rate_per_minute, now)
            .await
            .map_err(Error::store("count a relay client's message"))?;
        if within_rate {
            return Ok(None);
        }
        tracing::info!(
            rate = client.rate_per_minute,
            "relay client refused: over its rate"
        );
        Ok(Some(rejected(
            Rejection::RateLimited,
            Reply::new(
                451,
                "4.7.1",
                format!(
                    "Rate limit reached: at most {} messages a minute, try again later",
                    client.rate_per_minute
                ),
            ),
        )))
    }
}
