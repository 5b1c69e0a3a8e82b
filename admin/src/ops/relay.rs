//! Relay clients (agency systems): add, list, update, remove.
//!
//! A client is recognised either by its source networks or by a password,
//! never both: a password that also had to come from given networks would
//! be a second rule to explain, and either alone already names one
//! system. An update keeps the way a client is recognised: it may give a
//! network client other networks and a password client a new password,
//! but turning one kind into the other is a new client (remove, then add),
//! so that no update can leave a client with both or neither.
//!
//! A comune admin manages only clients whose sender domains are all its
//! own, and may give them only domains of its own; the others do not exist
//! for it.

use ipnet::IpNet;
use postino_common::auth::Secret;
use postino_common::store::{NewRelayClient, RelayClient, RelayClientUpdate, parse_network};
use serde::Serialize;

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

/// Parses source networks, naming the field `cidr` as the CLI does.
fn parse_networks(networks: &[String]) -> Result<Vec<IpNet>> {
    networks
        .iter()
        .map(|n| {
            parse_network(n).map_err(|e| OpsError::Invalid {
                field: "cidr",
                message: e.to_string(),
            })
        })
        .collect()
}

/// Checks that a client is recognised one way: by networks or by a
/// password.
fn check_recognition(has_networks: bool, has_password: bool) -> Result<()> {
    let message = match (has_networks, has_password) {
        (false, false) => "a relay client needs source networks or a password",
        (true, true) => "give source networks or a password, not both",
        _ => return Ok(()),
    };
    Err(OpsError::Invalid {
        field: "cidr",
        message: message.to_string(),
    })
}

/// What to change in a relay client: each field given replaces the
/// current value, the others stay.
#[derive(Debug, Default)]
pub struct RelayChange {
    /// Source networks in CIDR notation; only for a client recognised by
    /// its networks, and never none.
    pub networks: Option<Vec<String>>,
    /// A new password; only for a client that logs in with one.
    pub password: Option<Secret>,
    /// Hosted domains it may send from, all in the actor's scope; at
    /// least one.
    pub sender_domains: Option<Vec<String>>,
    /// Most messages a minute; 0 is no limit.
    pub rate_per_minute: Option<u64>,
}

/// A client as the audit log shows it after an update: whether its
/// password was reset, never the password nor its hash.
#[derive(Serialize)]
struct Updated<'a> {
    #[serde(flatten)]
    client: &'a RelayClient,
    password_reset: bool,
}

/// The domains an audit entry about relay clients is about: every sender
/// domain they have, so that a comune admin sees the entry only if it may
/// see the clients.
fn audited_domains<'c>(clients: &[&'c RelayClient]) -> Vec<&'c str> {
    let mut domains: Vec<&str> = Vec::new();
    for domain in clients.iter().flat_map(|c| &c.sender_domains) {
        if !domains.contains(&domain.as_str()) {
            domains.push(domain);
        }
    }
    domains
}

fn relay_not_found(name: &str) -> OpsError {
    OpsError::NotFound {
        what: "relay client",
        name: name.to_string(),
    }
}

impl Ops {
    /// Checks sender domains: at least one, each a domain name in the
    /// actor's scope; sorted, without repeats. Whether they are hosted is
    /// the store's check.
    fn sender_domains(&self, sender_domains: &[String]) -> Result<Vec<String>> {
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
        Ok(domains)
    }

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
        let networks = parse_networks(networks)?;
        check_recognition(!networks.is_empty(), password.is_some())?;
        let domains = self.sender_domains(sender_domains)?;
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
            audited_domains(&[&client]),
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

    /// Changes a relay client's networks, sender domains, rate or
    /// password, with the checks of [`Ops::add_relay_client`]. A comune
    /// admin may change only a client whose sender domains are all its
    /// own, and only to domains of its own. A change that changes nothing
    /// is not audited.
    pub async fn update_relay_client(
        &self,
        name: &str,
        change: &RelayChange,
    ) -> Result<RelayClient> {
        let name = parse_name(name)?;
        let networks = change.networks.as_deref().map(parse_networks).transpose()?;
        let sender_domains = change
            .sender_domains
            .as_deref()
            .map(|domains| self.sender_domains(domains))
            .transpose()?;
        // Hashed before the transaction, which argon2 would hold open.
        let password_hash = match &change.password {
            Some(password) => Some(self.hash(password).await?),
            None => None,
        };
        let mut tx = self.store.begin().await?;
        let before = tx
            .relay_client(&name)
            .await?
            .filter(|c| self.covers_relay_client(c))
            .ok_or_else(|| relay_not_found(&name))?;
        if change.password.is_some() && !before.password {
            return Err(OpsError::Invalid {
                field: "password",
                message: format!(
                    "relay client `{name}` is recognised by its source networks, not by a password; remove it and add it again to change that"
                ),
            });
        }
        if let Some(networks) = &networks {
            if before.password {
                return Err(OpsError::Invalid {
                    field: "cidr",
                    message: format!(
                        "relay client `{name}` logs in with a password, not from source networks; remove it and add it again to change that"
                    ),
                });
            }
            check_recognition(!networks.is_empty(), false)?;
        }
        let after = tx
            .update_relay_client(
                &name,
                &RelayClientUpdate {
                    networks,
                    password_hash,
                    sender_domains,
                    rate_per_minute: change.rate_per_minute,
                },
            )
            .await?;
        if after != before {
            self.audit(
                &mut tx,
                "relay.update",
                audited_domains(&[&after, &before]),
                &after.name,
                Some(&before),
                Some(&Updated {
                    client: &after,
                    password_reset: change.password.is_some(),
                }),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(after)
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
            audited_domains(&[&client]),
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
    use std::net::{IpAddr, Ipv4Addr};

    use postino_common::auth::{AuthError, Service};
    use postino_common::store::{AdminScope, Store};

    use super::*;
    use crate::ops::testing::ops;

    postino_common::store_tests!(
        comune_admins_manage_only_their_own_clients,
        clients_are_updated_and_audited_without_the_password,
        updates_are_checked_as_additions_are,
        comune_admins_update_only_their_own_clients,
    );

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

    const PASSWORD: &str = "segreto-del-protocollo";

    fn networks(cidrs: &[&str]) -> Option<Vec<String>> {
        Some(cidrs.iter().map(|c| c.to_string()).collect())
    }

    async fn clients_are_updated_and_audited_without_the_password(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        for domain in [COMUNE, ALTRO] {
            provincia.add_domain(domain, 0, 0).await.unwrap();
        }
        let cidr = ["10.0.0.0/8".to_string()];
        provincia
            .add_relay_client("suap", &cidr, None, &[COMUNE.to_string()], 0)
            .await
            .unwrap();
        let change = RelayChange {
            networks: networks(&["192.0.2.0/24", "10.2.0.0/16"]),
            sender_domains: Some(vec![ALTRO.to_string(), COMUNE.to_string()]),
            rate_per_minute: Some(30),
            password: None,
        };
        let suap = provincia
            .update_relay_client("SUAP", &change)
            .await
            .unwrap();
        assert_eq!(suap.networks, ["10.2.0.0/16", "192.0.2.0/24"]);
        assert_eq!(suap.sender_domains, [ALTRO, COMUNE]);
        assert_eq!(suap.rate_per_minute, 30);
        assert_eq!(store.relay_client("suap").await.unwrap(), Some(suap));

        // Only the rate: the rest stays; 0 lifts the limit.
        let unlimited = RelayChange {
            rate_per_minute: Some(0),
            ..RelayChange::default()
        };
        let suap = provincia
            .update_relay_client("suap", &unlimited)
            .await
            .unwrap();
        assert_eq!(suap.rate_per_minute, 0);
        assert_eq!(suap.networks, ["10.2.0.0/16", "192.0.2.0/24"]);

        // A change that changes nothing is not audited.
        let entries = store.audit_log(None, 100).await.unwrap().len();
        provincia
            .update_relay_client("suap", &unlimited)
            .await
            .unwrap();
        assert_eq!(store.audit_log(None, 100).await.unwrap().len(), entries);

        // A password reset: the old one stops working, the audit entry
        // says that it changed and never what to.
        provincia
            .add_relay_client(
                "protocollo",
                &[],
                Some(&Secret::new(PASSWORD)),
                &[COMUNE.to_string()],
                0,
            )
            .await
            .unwrap();
        let old_hash = store
            .relay_client("protocollo")
            .await
            .unwrap()
            .unwrap()
            .password_hash;
        let reset = RelayChange {
            password: Some(Secret::new("nuovo-segreto-del-protocollo")),
            ..RelayChange::default()
        };
        let protocollo = provincia
            .update_relay_client("protocollo", &reset)
            .await
            .unwrap();
        assert!(protocollo.password && protocollo.networks.is_empty());
        assert_ne!(protocollo.password_hash, old_hash);
        let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        let login = async |password: &str| {
            let password = Secret::new(password);
            provincia
                .auth
                .login_relay(Service::Smtp, "protocollo", &password, ip)
                .await
        };
        assert!(
            matches!(login(PASSWORD).await, Err(AuthError::Invalid)),
            "the old password still works"
        );
        assert!(login("nuovo-segreto-del-protocollo").await.is_ok());

        let audit = store.audit_log(None, 10).await.unwrap();
        let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions[..4],
            ["relay.update", "relay.add", "relay.update", "relay.update"]
        );
        let after = audit[0].after.as_deref().unwrap();
        assert!(after.contains("\"password_reset\":true"), "{after}");
        let before = audit[3].before.as_deref().unwrap();
        let after = audit[3].after.as_deref().unwrap();
        assert!(before.contains("\"rate_per_minute\":0"), "{before}");
        assert!(before.contains("10.0.0.0/8"), "{before}");
        assert!(after.contains("\"rate_per_minute\":30"), "{after}");
        assert!(after.contains("192.0.2.0/24"), "{after}");
        assert!(after.contains("\"password_reset\":false"), "{after}");
        let text = format!("{audit:?}");
        for secret in [PASSWORD, "nuovo-segreto", "argon2"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    async fn updates_are_checked_as_additions_are(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        provincia.add_domain(COMUNE, 0, 0).await.unwrap();
        provincia
            .add_relay_client(
                "suap",
                &["10.0.0.0/8".to_string()],
                None,
                &[COMUNE.to_string()],
                5,
            )
            .await
            .unwrap();
        provincia
            .add_relay_client(
                "protocollo",
                &[],
                Some(&Secret::new(PASSWORD)),
                &[COMUNE.to_string()],
                0,
            )
            .await
            .unwrap();
        let before = store.relay_clients().await.unwrap();
        let entries = store.audit_log(None, 100).await.unwrap().len();
        let cases: [(&str, RelayChange, &str); 8] = [
            (
                "suap",
                RelayChange {
                    networks: networks(&["10.1.2.3/8"]),
                    ..RelayChange::default()
                },
                "cidr",
            ),
            (
                "suap",
                RelayChange {
                    networks: networks(&[]),
                    ..RelayChange::default()
                },
                "cidr",
            ),
            (
                "suap",
                RelayChange {
                    password: Some(Secret::new(PASSWORD)),
                    ..RelayChange::default()
                },
                "password",
            ),
            (
                "protocollo",
                RelayChange {
                    networks: networks(&["10.0.0.0/8"]),
                    ..RelayChange::default()
                },
                "cidr",
            ),
            (
                "protocollo",
                RelayChange {
                    password: Some(Secret::new("corta")),
                    ..RelayChange::default()
                },
                "password",
            ),
            (
                "suap",
                RelayChange {
                    sender_domains: Some(Vec::new()),
                    ..RelayChange::default()
                },
                "sender-domain",
            ),
            (
                "suap",
                RelayChange {
                    sender_domains: Some(vec!["non un dominio".to_string()]),
                    ..RelayChange::default()
                },
                "domain",
            ),
            (
                "a@b",
                RelayChange {
                    rate_per_minute: Some(1),
                    ..RelayChange::default()
                },
                "name",
            ),
        ];
        for (name, change, field) in cases {
            let refused = provincia.update_relay_client(name, &change).await;
            assert!(
                matches!(&refused, Err(OpsError::Invalid { field: f, .. }) if *f == field),
                "{name} {change:?}: {refused:?}"
            );
        }
        let unhosted = RelayChange {
            sender_domains: Some(vec![COMUNE.to_string(), ALTRO.to_string()]),
            rate_per_minute: Some(1),
            ..RelayChange::default()
        };
        let refused = provincia.update_relay_client("suap", &unhosted).await;
        assert!(
            matches!(&refused, Err(OpsError::NotFound { what: "domain", name }) if name == ALTRO),
            "{refused:?}"
        );
        let missing = provincia.update_relay_client("ignoto", &unhosted).await;
        assert!(
            matches!(
                &missing,
                Err(OpsError::NotFound {
                    what: "relay client",
                    ..
                })
            ),
            "{missing:?}"
        );
        assert_eq!(store.relay_clients().await.unwrap(), before);
        assert_eq!(store.audit_log(None, 100).await.unwrap().len(), entries);
    }

    async fn comune_admins_update_only_their_own_clients(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        let comune = ops(&store, AdminScope::Domains(vec![COMUNE.to_string()]));
        for domain in [COMUNE, ALTRO] {
            provincia.add_domain(domain, 0, 0).await.unwrap();
        }
        let cidr = ["10.0.0.0/8".to_string()];
        let both = [COMUNE.to_string(), ALTRO.to_string()];
        provincia
            .add_relay_client("condiviso", &cidr, None, &both, 0)
            .await
            .unwrap();
        provincia
            .add_relay_client("suap", &cidr, None, &[COMUNE.to_string()], 0)
            .await
            .unwrap();
        let rate = RelayChange {
            rate_per_minute: Some(10),
            ..RelayChange::default()
        };
        let hidden = comune.update_relay_client("condiviso", &rate).await;
        assert!(
            matches!(&hidden, Err(OpsError::NotFound { what: "relay client", name }) if name == "condiviso"),
            "{hidden:?}"
        );
        // Its own client may not be given a domain out of its reach.
        let widen = RelayChange {
            sender_domains: Some(both.to_vec()),
            ..RelayChange::default()
        };
        let refused = comune.update_relay_client("suap", &widen).await;
        assert!(
            matches!(&refused, Err(OpsError::NotFound { what: "domain", name }) if name == ALTRO),
            "{refused:?}"
        );
        let suap = comune.update_relay_client("suap", &rate).await.unwrap();
        assert_eq!(suap.rate_per_minute, 10);
        let condiviso = store.relay_client("condiviso").await.unwrap().unwrap();
        assert_eq!(condiviso.rate_per_minute, 0);
        // A provincial admin may give the comune's client another domain,
        // after which the comune no longer sees it.
        provincia.update_relay_client("suap", &widen).await.unwrap();
        let hidden = comune.update_relay_client("suap", &rate).await;
        assert!(
            matches!(&hidden, Err(OpsError::NotFound { .. })),
            "{hidden:?}"
        );
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
