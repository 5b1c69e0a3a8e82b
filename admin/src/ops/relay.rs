//! Relay clients (agency systems): add, list, remove.
//!
//! A client is recognised either by its source networks or by a password,
//! never both: a password that also had to come from given networks would
//! be a second rule to explain, and either alone already names one
//! system. A comune admin manages only clients whose sender domains are
//! all its own; the others do not exist for it.

use postino_common::auth::Secret;
use postino_common::store::{NewRelayClient, RelayClient, parse_network};

use super::domains::parse_domain;
use super::{Ops, OpsError, Result};

/// Checks a client name and returns it in lower case. Names have no `@`,
/// which is how SMTP AUTH tells them from mailbox addresses.
fn parse_name(name: &str) -> Result<String> {
    let name = name.trim().to_ascii_lowercase();
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
    let starts_well = name.starts_with(|c: char| c.is_ascii_alphanumeric());
    if (1..=64).contains(&name.len()) && starts_well && name.chars().all(allowed) {
        Ok(name)
    } else {
        Err(OpsError::Invalid {
            field: "name",
            message: format!(
                "`{name}` must be 1 to 64 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"
            ),
        })
    }
}

fn relay_not_found(name: &str) -> OpsError {
    OpsError::NotFound {
        what: "relay client",
        name: name.to_string(),
    }
}

impl Ops {
    /// Whether the actor may see and manage `client`: all of its sender
    /// domains must be in scope.
    fn covers_relay_client(&self, client: &RelayClient) -> bool {
        match &self.actor.scope {
            postino_common::store::AdminScope::AllDomains => true,
            scope => {
                !client.sender_domains.is_empty()
                    && client.sender_domains.iter().all(|d| scope.covers(d))
            }
        }
    }

    /// Adds a relay client, recognised by `networks` (CIDR) or by
    /// `password`, sending from `sender_domains` at most `rate_per_minute`
    /// messages a minute (0: no limit).
    pub async fn add_relay_client(
        &self,
        name: &str,
        networks: &[String],
        password: Option<&Secret>,
        sender_domains: &[String],
        rate_per_minute: u64,
    ) -> Result<RelayClient> {
        let name = parse_name(name)?;
        let networks = networks
            .iter()
            .map(|n| {
                parse_network(n).map_err(|e| OpsError::Invalid {
                    field: "cidr",
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        match (networks.is_empty(), password.is_some()) {
            (true, false) => {
                return Err(OpsError::Invalid {
                    field: "cidr",
                    message: "a relay client needs source networks or a password".to_string(),
                });
            }
            (false, true) => {
                return Err(OpsError::Invalid {
                    field: "cidr",
                    message: "give source networks or a password, not both".to_string(),
                });
            }
            _ => {}
        }
        if sender_domains.is_empty() {
            return Err(OpsError::Invalid {
                field: "sender-domain",
                message: "a relay client needs at least one sender domain".to_string(),
            });
        }
        let mut domains = Vec::with_capacity(sender_domains.len());
        for domain in sender_domains {
            let domain = parse_domain(domain)?;
            self.check_scope(domain.as_str())?;
            domains.push(domain.to_string());
        }
        domains.sort();
        domains.dedup();
        let password_hash = match password {
            Some(password) => Some(self.hash(password).await?),
            None => None,
        };
        let mut tx = self.store.begin().await?;
        let client = tx
            .create_relay_client(&NewRelayClient {
                name,
                networks,
                password_hash,
                sender_domains: domains,
                rate_per_minute,
            })
            .await?;
        self.audit(
            &mut tx,
            "relay.add",
            client.sender_domains.first().map(String::as_str),
            &client.name,
            None::<&()>,
            Some(&client),
        )
        .await?;
        tx.commit().await?;
        Ok(client)
    }

    /// The relay clients the actor may see, by name.
    pub async fn relay_clients(&self) -> Result<Vec<RelayClient>> {
        let mut clients = self.store.relay_clients().await?;
        clients.retain(|c| self.covers_relay_client(c));
        Ok(clients)
    }

    pub async fn remove_relay_client(&self, name: &str) -> Result<RelayClient> {
        let name = parse_name(name)?;
        let mut tx = self.store.begin().await?;
        let client = tx
            .relay_client(&name)
            .await?
            .filter(|c| self.covers_relay_client(c))
            .ok_or_else(|| relay_not_found(&name))?;
        tx.remove_relay_client(&name).await?;
        self.audit(
            &mut tx,
            "relay.remove",
            client.sender_domains.first().map(String::as_str),
            &client.name,
            Some(&client),
            None::<&()>,
        )
        .await?;
        tx.commit().await?;
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use postino_common::store::{AdminScope, Store};

    use super::*;
    use crate::ops::testing::ops;

    postino_common::store_tests!(comune_admins_manage_only_their_own_clients);

    const COMUNE: &str = "comune.esempio.pu.it";
    const ALTRO: &str = "altro.esempio.it";

    async fn comune_admins_manage_only_their_own_clients(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        let comune = ops(&store, AdminScope::Domains(vec![COMUNE.to_string()]));
        for domain in [COMUNE, ALTRO] {
            provincia.add_domain(domain, 0, 0).await.unwrap();
        }
        let both = [COMUNE.to_string(), ALTRO.to_string()];
        let cidr = ["10.0.0.0/8".to_string()];
        provincia
            .add_relay_client("condiviso", &cidr, None, &both, 0)
            .await
            .unwrap();
        let refused = comune.add_relay_client("suap", &cidr, None, &both, 0).await;
        assert!(
            matches!(&refused, Err(OpsError::NotFound { what: "domain", name }) if name == ALTRO),
            "{refused:?}"
        );
        comune
            .add_relay_client("suap", &cidr, None, &[COMUNE.to_string()], 60)
            .await
            .unwrap();

        let names = |clients: Vec<RelayClient>| -> Vec<String> {
            clients.into_iter().map(|c| c.name).collect()
        };
        assert_eq!(names(comune.relay_clients().await.unwrap()), ["suap"]);
        assert_eq!(
            names(provincia.relay_clients().await.unwrap()),
            ["condiviso", "suap"]
        );
        let hidden = comune.remove_relay_client("condiviso").await;
        assert!(
            matches!(
                &hidden,
                Err(OpsError::NotFound {
                    what: "relay client",
                    ..
                })
            ),
            "{hidden:?}"
        );
        comune.remove_relay_client("suap").await.unwrap();
        assert_eq!(
            names(provincia.relay_clients().await.unwrap()),
            ["condiviso"]
        );
        let audit = store.audit_log(None, 10).await.unwrap();
        let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions[..3], ["relay.remove", "relay.add", "relay.add"]);
    }

    #[test]
    fn names_have_no_at_sign() {
        assert_eq!(
            parse_name(" Protocollo.Comune ").unwrap(),
            "protocollo.comune"
        );
        for bad in ["", "anna@comune.it", "-suap", "con spazio", &"x".repeat(65)] {
            assert!(parse_name(bad).is_err(), "{bad}");
        }
    }
}
