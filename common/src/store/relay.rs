//! Relay clients: agency systems (document registry, SUAP portals, payment
//! notices) that send mail through Postino.
//!
//! A client is recognised by its source networks or by its password, may
//! use only its sender domains (hosted domains), and may send at most
//! `rate_per_minute` messages a minute. The rate is counted in the store,
//! so that it holds however many nodes the client's connections reach: a
//! window opens with a client's first message and lasts a minute, and one
//! atomic upsert both checks and counts, so concurrent sessions cannot
//! overrun it. Networks are matched in Rust over the (short) list of
//! clients, the most specific network winning.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;
use sqlx::AnyConnection;
use thiserror::Error;

use super::{Result, Store, StoreError, WriteTx, domains, inserted, now};

/// How long a rate window lasts, in seconds.
const RATE_WINDOW: i64 = 60;

/// A relay client. Its password hash is never serialized nor printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayClient {
    pub id: i64,
    pub name: String,
    /// Source networks that identify the client, in CIDR notation.
    pub networks: Vec<String>,
    /// Whether the client logs in with a password.
    pub password: bool,
    /// The domains it may use in MAIL FROM, by name.
    pub sender_domains: Vec<String>,
    /// Messages a minute; 0 is no limit.
    pub rate_per_minute: i64,
    pub created_at: i64,
    #[serde(skip)]
    pub password_hash: Option<String>,
}

impl RelayClient {
    /// The prefix length of the most specific of the client's networks that
    /// contains `ip`, if any does.
    fn matching_prefix(&self, ip: IpAddr) -> Option<u8> {
        self.networks
            .iter()
            .filter_map(|cidr| cidr.parse::<IpNet>().ok())
            .filter(|net| net.contains(&ip))
            .map(|net| net.prefix_len())
            .max()
    }

    /// Whether `domain` is one of the client's sender domains.
    pub fn may_send_from(&self, domain: &str) -> bool {
        self.sender_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }
}

/// A relay client to add. Sender domains must be hosted.
#[derive(Debug, Clone)]
pub struct NewRelayClient {
    pub name: String,
    pub networks: Vec<IpNet>,
    /// An argon2id PHC string.
    pub password_hash: Option<String>,
    pub sender_domains: Vec<String>,
    pub rate_per_minute: u64,
}

/// What to change in a relay client: each field given replaces the
/// current value. Sender domains must be hosted.
#[derive(Debug, Clone, Default)]
pub struct RelayClientUpdate {
    pub networks: Option<Vec<IpNet>>,
    /// A new argon2id PHC string.
    pub password_hash: Option<String>,
    pub sender_domains: Option<Vec<String>>,
    pub rate_per_minute: Option<u64>,
}

/// Why a network was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NetworkError {
    #[error("`{0}` is not an IP network such as 10.1.0.0/16 or 2001:db8::/32")]
    Invalid(String),
    #[error("`{given}` has host bits set; the network is {network}")]
    HostBits { given: String, network: IpNet },
}

/// Parses a network in CIDR notation; a bare address is a network of one.
/// Host bits must be zero, since `10.1.2.3/8` is more likely a typing
/// mistake than a wish for all of 10.0.0.0/8.
pub fn parse_network(text: &str) -> Result<IpNet, NetworkError> {
    let text = text.trim();
    let net = match text.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => text
            .parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|_| NetworkError::Invalid(text.to_string()))?,
    };
    if net.trunc() != net {
        return Err(NetworkError::HostBits {
            given: text.to_string(),
            network: net.trunc(),
        });
    }
    Ok(net)
}

fn not_found(name: &str) -> StoreError {
    StoreError::NotFound {
        what: "relay client",
        name: name.to_string(),
    }
}

/// Every relay client, or the one named `name`, by name.
async fn load(conn: &mut AnyConnection, name: Option<&str>) -> Result<Vec<RelayClient>> {
    type Row = (i64, String, Option<String>, i64, i64);
    let rows: Vec<Row> =
        match name {
            Some(name) => sqlx::query_as(
                "SELECT id, name, password_hash, rate_per_minute, created_at FROM relay_clients \
                 WHERE name = $1",
            )
            .bind(name)
            .fetch_all(&mut *conn)
            .await?,
            None => sqlx::query_as(
                "SELECT id, name, password_hash, rate_per_minute, created_at FROM relay_clients \
                 ORDER BY name",
            )
            .fetch_all(&mut *conn)
            .await?,
        };
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // Both tables are small (a few rows per client): read them whole.
    let mut networks: HashMap<i64, Vec<String>> = HashMap::new();
    let network_rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT client_id, cidr FROM relay_client_networks ORDER BY cidr")
            .fetch_all(&mut *conn)
            .await?;
    for (client_id, cidr) in network_rows {
        networks.entry(client_id).or_default().push(cidr);
    }
    let mut domains: HashMap<i64, Vec<String>> = HashMap::new();
    let domain_rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT rd.client_id, d.name FROM relay_client_domains rd \
         JOIN domains d ON d.id = rd.domain_id ORDER BY d.name",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (client_id, domain) in domain_rows {
        domains.entry(client_id).or_default().push(domain);
    }
    Ok(rows
        .into_iter()
        .map(
            |(id, name, password_hash, rate_per_minute, created_at)| RelayClient {
                id,
                name,
                networks: networks.remove(&id).unwrap_or_default(),
                password: password_hash.is_some(),
                sender_domains: domains.remove(&id).unwrap_or_default(),
                rate_per_minute,
                created_at,
                password_hash,
            },
        )
        .collect())
}

impl Store {
    /// Every relay client, by name.
    pub async fn relay_clients(&self) -> Result<Vec<RelayClient>> {
        let mut conn = self.pool().acquire().await?;
        load(&mut conn, None).await
    }

    pub async fn relay_client(&self, name: &str) -> Result<Option<RelayClient>> {
        let mut conn = self.pool().acquire().await?;
        Ok(load(&mut conn, Some(name)).await?.pop())
    }

    /// The relay client a connection from `ip` belongs to: the one with the
    /// most specific network containing it (the first by name on a tie).
    pub async fn relay_client_for(&self, ip: IpAddr) -> Result<Option<RelayClient>> {
        // A v4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
        let ip = ip.to_canonical();
        let mut best: Option<(u8, RelayClient)> = None;
        for client in self.relay_clients().await? {
            if let Some(prefix) = client.matching_prefix(ip)
                && best.as_ref().is_none_or(|(p, _)| prefix > *p)
            {
                best = Some((prefix, client));
            }
        }
        Ok(best.map(|(_, client)| client))
    }

    /// Counts one message of a client against its rate of `per_minute`
    /// (0: no limit) at `at`; false, counting nothing, when the current
    /// window is already full.
    pub async fn count_relay_message(
        &self,
        client_id: i64,
        per_minute: i64,
        at: i64,
    ) -> Result<bool> {
        if per_minute <= 0 {
            return Ok(true);
        }
        let mut tx = self.begin().await?;
        // A window older than a minute starts over; otherwise the count goes
        // up only while below the rate, and no row comes back when it is not.
        let counted: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO relay_usage (client_id, window_start, messages) VALUES ($1, $2, 1) \
             ON CONFLICT (client_id) DO UPDATE SET \
               messages = CASE WHEN relay_usage.window_start <= $3 THEN 1 ELSE relay_usage.messages + 1 END, \
               window_start = CASE WHEN relay_usage.window_start <= $3 THEN $2 ELSE relay_usage.window_start END \
             WHERE relay_usage.window_start <= $3 OR relay_usage.messages < $4 \
             RETURNING messages",
        )
        .bind(client_id)
        .bind(at)
        .bind(at - RATE_WINDOW)
        .bind(per_minute)
        .fetch_optional(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(counted.is_some())
    }
}

impl WriteTx {
    pub async fn relay_client(&mut self, name: &str) -> Result<Option<RelayClient>> {
        Ok(load(self.conn(), Some(name)).await?.pop())
    }

    pub async fn create_relay_client(&mut self, new: &NewRelayClient) -> Result<RelayClient> {
        let result: std::result::Result<(i64,), _> = sqlx::query_as(
            "INSERT INTO relay_clients (name, password_hash, rate_per_minute, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(&new.name)
        .bind(new.password_hash.as_deref())
        .bind(domains::clamp(new.rate_per_minute))
        .bind(now())
        .fetch_one(self.conn())
        .await;
        let (id,) = inserted(result, "relay client", || new.name.clone())?;
        self.insert_networks(id, &new.networks).await?;
        self.insert_sender_domains(id, &new.sender_domains).await?;
        self.relay_client(&new.name)
            .await?
            .ok_or_else(|| not_found(&new.name))
    }

    /// Changes a relay client: each field of `change` given replaces the
    /// current value, the others stay. The caller keeps a client
    /// recognised by networks or by a password, never both.
    pub async fn update_relay_client(
        &mut self,
        name: &str,
        change: &RelayClientUpdate,
    ) -> Result<RelayClient> {
        let client = self
            .relay_client(name)
            .await?
            .ok_or_else(|| not_found(name))?;
        if let Some(networks) = &change.networks {
            sqlx::query("DELETE FROM relay_client_networks WHERE client_id = $1")
                .bind(client.id)
                .execute(self.conn())
                .await?;
            self.insert_networks(client.id, networks).await?;
        }
        if let Some(domains) = &change.sender_domains {
            sqlx::query("DELETE FROM relay_client_domains WHERE client_id = $1")
                .bind(client.id)
                .execute(self.conn())
                .await?;
            self.insert_sender_domains(client.id, domains).await?;
        }
        if let Some(hash) = &change.password_hash {
            sqlx::query("UPDATE relay_clients SET password_hash = $1 WHERE id = $2")
                .bind(hash)
                .bind(client.id)
                .execute(self.conn())
                .await?;
        }
        if let Some(rate) = change.rate_per_minute {
            sqlx::query("UPDATE relay_clients SET rate_per_minute = $1 WHERE id = $2")
                .bind(domains::clamp(rate))
                .bind(client.id)
                .execute(self.conn())
                .await?;
        }
        self.relay_client(name)
            .await?
            .ok_or_else(|| not_found(name))
    }

    async fn insert_networks(&mut self, client_id: i64, networks: &[IpNet]) -> Result<()> {
        let mut networks: Vec<String> = networks.iter().map(|n| n.trunc().to_string()).collect();
        networks.sort();
        networks.dedup();
        for cidr in networks {
            sqlx::query("INSERT INTO relay_client_networks (client_id, cidr) VALUES ($1, $2)")
                .bind(client_id)
                .bind(cidr)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    /// Links the client to its sender domains, which must be hosted.
    async fn insert_sender_domains(&mut self, client_id: i64, names: &[String]) -> Result<()> {
        let mut domain_ids = Vec::with_capacity(names.len());
        for name in names {
            let domain = self
                .domain(name)
                .await?
                .ok_or_else(|| domains::not_found(name))?;
            domain_ids.push(domain.id);
        }
        domain_ids.sort_unstable();
        domain_ids.dedup();
        for domain_id in domain_ids {
            sqlx::query("INSERT INTO relay_client_domains (client_id, domain_id) VALUES ($1, $2)")
                .bind(client_id)
                .bind(domain_id)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    /// Removes a relay client with its networks, domains and rate counter.
    pub async fn remove_relay_client(&mut self, name: &str) -> Result<RelayClient> {
        let client = self
            .relay_client(name)
            .await?
            .ok_or_else(|| not_found(name))?;
        for sql in [
            "DELETE FROM relay_client_networks WHERE client_id = $1",
            "DELETE FROM relay_client_domains WHERE client_id = $1",
            "DELETE FROM relay_usage WHERE client_id = $1",
            "DELETE FROM relay_clients WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(client.id)
                .execute(self.conn())
                .await?;
        }
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::store::testing::add_domain;
    use crate::store_tests;

    store_tests!(
        clients_are_added_listed_and_removed,
        clients_are_found_by_the_most_specific_network,
        sender_domains_must_be_hosted,
        the_rate_holds_within_a_window_and_starts_over_after,
        concurrent_messages_never_exceed_the_rate,
        removing_a_domain_removes_it_from_clients,
        updates_replace_only_the_fields_given,
    );

    const COMUNE: &str = "comune.esempio.pu.it";
    const ALTRO: &str = "altro.esempio.it";

    fn client(name: &str, networks: &[&str], domains: &[&str]) -> NewRelayClient {
        NewRelayClient {
            name: name.to_string(),
            networks: networks.iter().map(|n| parse_network(n).unwrap()).collect(),
            password_hash: None,
            sender_domains: domains.iter().map(|d| d.to_string()).collect(),
            rate_per_minute: 0,
        }
    }

    async fn add(store: &Store, new: &NewRelayClient) -> Result<RelayClient> {
        let mut tx = store.begin().await?;
        let client = tx.create_relay_client(new).await?;
        tx.commit().await?;
        Ok(client)
    }

    async fn found(store: &Store, ip: IpAddr) -> Option<String> {
        store.relay_client_for(ip).await.unwrap().map(|c| c.name)
    }

    #[test]
    fn networks_parse_strictly() {
        assert_eq!(
            parse_network("10.0.0.0/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_network("192.0.2.7").unwrap().to_string(),
            "192.0.2.7/32"
        );
        assert_eq!(
            parse_network("2001:db8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert!(matches!(
            parse_network("10.1.2.3/8"),
            Err(NetworkError::HostBits { .. })
        ));
        for bad in ["", "10.0.0.0/33", "protocollo", "10.0.0/8"] {
            assert!(
                matches!(parse_network(bad), Err(NetworkError::Invalid(_))),
                "{bad}"
            );
        }
    }

    async fn clients_are_added_listed_and_removed(store: Store) {
        add_domain(&store, COMUNE).await;
        let mut with_password = client("protocollo", &[], &[COMUNE]);
        with_password.password_hash = Some("$argon2id$stand-in".to_string());
        with_password.rate_per_minute = 30;
        let added = add(&store, &with_password).await.unwrap();
        assert_eq!(added.name, "protocollo");
        assert!(added.password && added.networks.is_empty());
        assert_eq!(added.sender_domains, [COMUNE]);
        assert_eq!(added.rate_per_minute, 30);
        add(
            &store,
            &client("suap", &["10.2.0.0/16", "2001:db8::/32"], &[COMUNE]),
        )
        .await
        .unwrap();

        let again = add(&store, &client("suap", &["10.3.0.0/16"], &[COMUNE])).await;
        assert!(
            matches!(again, Err(StoreError::AlreadyExists { .. })),
            "{again:?}"
        );
        let names: Vec<String> = store
            .relay_clients()
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["protocollo", "suap"]);
        let suap = store.relay_client("suap").await.unwrap().unwrap();
        assert_eq!(suap.networks, ["10.2.0.0/16", "2001:db8::/32"]);
        assert!(!suap.password && suap.password_hash.is_none());
        let json = serde_json::to_string(&added).unwrap();
        assert!(!json.contains("argon2"), "{json}");

        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.remove_relay_client("suap").await.unwrap().id, suap.id);
        let missing = tx.remove_relay_client("suap").await;
        assert!(
            matches!(missing, Err(StoreError::NotFound { .. })),
            "{missing:?}"
        );
        tx.commit().await.unwrap();
        assert!(store.relay_client("suap").await.unwrap().is_none());
        assert_eq!(store.relay_clients().await.unwrap().len(), 1);
    }

    async fn clients_are_found_by_the_most_specific_network(store: Store) {
        add_domain(&store, COMUNE).await;
        add(&store, &client("rete", &["10.0.0.0/8"], &[COMUNE]))
            .await
            .unwrap();
        add(&store, &client("suap", &["10.2.0.0/16"], &[COMUNE]))
            .await
            .unwrap();
        add(&store, &client("v6", &["2001:db8::/32"], &[COMUNE]))
            .await
            .unwrap();
        let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
        assert_eq!(
            found(&store, v4(10, 2, 3, 4)).await.as_deref(),
            Some("suap")
        );
        assert_eq!(
            found(&store, v4(10, 9, 3, 4)).await.as_deref(),
            Some("rete")
        );
        assert_eq!(found(&store, v4(127, 0, 0, 1)).await, None);
        let mapped = IpAddr::V6(Ipv4Addr::new(10, 2, 0, 1).to_ipv6_mapped());
        assert_eq!(found(&store, mapped).await.as_deref(), Some("suap"));
        let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
        assert_eq!(found(&store, v6).await.as_deref(), Some("v6"));
        assert_eq!(found(&store, IpAddr::V6(Ipv6Addr::LOCALHOST)).await, None);
    }

    async fn sender_domains_must_be_hosted(store: Store) {
        add_domain(&store, COMUNE).await;
        let refused = add(&store, &client("suap", &["10.0.0.0/8"], &[COMUNE, ALTRO])).await;
        assert!(
            matches!(&refused, Err(StoreError::NotFound { what: "domain", name }) if name == ALTRO),
            "{refused:?}"
        );
        assert!(store.relay_clients().await.unwrap().is_empty());
    }

    async fn the_rate_holds_within_a_window_and_starts_over_after(store: Store) {
        add_domain(&store, COMUNE).await;
        let id = add(&store, &client("suap", &["10.0.0.0/8"], &[COMUNE]))
            .await
            .unwrap()
            .id;
        let at = 1_700_000_000;
        let mut counted = Vec::new();
        for offset in [0, 10, 59, 59] {
            counted.push(store.count_relay_message(id, 2, at + offset).await.unwrap());
        }
        assert_eq!(counted, [true, true, false, false]);
        assert!(store.count_relay_message(id, 2, at + 60).await.unwrap());
        assert!(store.count_relay_message(id, 2, at + 61).await.unwrap());
        assert!(!store.count_relay_message(id, 2, at + 62).await.unwrap());
        assert!(
            store.count_relay_message(id, 0, at + 62).await.unwrap(),
            "0 is no limit"
        );
    }

    async fn concurrent_messages_never_exceed_the_rate(store: Store) {
        add_domain(&store, COMUNE).await;
        let id = add(&store, &client("suap", &["10.0.0.0/8"], &[COMUNE]))
            .await
            .unwrap()
            .id;
        let at = now();
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.count_relay_message(id, 5, at).await })
            })
            .collect();
        let mut allowed = 0;
        for task in tasks {
            if task.await.unwrap().unwrap() {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 5);
    }

    async fn removing_a_domain_removes_it_from_clients(store: Store) {
        add_domain(&store, COMUNE).await;
        add_domain(&store, ALTRO).await;
        add(&store, &client("suap", &["10.0.0.0/8"], &[COMUNE, ALTRO]))
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.remove_domain(ALTRO, false).await.unwrap();
        tx.commit().await.unwrap();
        let suap = store.relay_client("suap").await.unwrap().unwrap();
        assert_eq!(suap.sender_domains, [COMUNE]);
        assert!(suap.may_send_from("Comune.Esempio.PU.it"));
        assert!(!suap.may_send_from(ALTRO));
    }

    async fn updates_replace_only_the_fields_given(store: Store) {
        add_domain(&store, COMUNE).await;
        add_domain(&store, ALTRO).await;
        let added = add(&store, &client("suap", &["10.0.0.0/8"], &[COMUNE]))
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        let change = RelayClientUpdate {
            networks: Some(vec![
                parse_network("192.0.2.0/24").unwrap(),
                parse_network("10.2.0.0/16").unwrap(),
            ]),
            rate_per_minute: Some(30),
            ..RelayClientUpdate::default()
        };
        let updated = tx.update_relay_client("suap", &change).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(updated.id, added.id);
        assert_eq!(updated.networks, ["10.2.0.0/16", "192.0.2.0/24"]);
        assert_eq!(updated.sender_domains, [COMUNE]);
        assert_eq!(updated.rate_per_minute, 30);

        let mut tx = store.begin().await.unwrap();
        let change = RelayClientUpdate {
            sender_domains: Some(vec![ALTRO.to_string(), "ignoto.example".to_string()]),
            ..RelayClientUpdate::default()
        };
        let refused = tx.update_relay_client("suap", &change).await;
        assert!(
            matches!(&refused, Err(StoreError::NotFound { what: "domain", .. })),
            "{refused:?}"
        );
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        let change = RelayClientUpdate {
            sender_domains: Some(vec![ALTRO.to_string(), COMUNE.to_string()]),
            ..RelayClientUpdate::default()
        };
        tx.update_relay_client("suap", &change).await.unwrap();
        let missing = tx.update_relay_client("ignoto", &change).await;
        assert!(
            matches!(missing, Err(StoreError::NotFound { .. })),
            "{missing:?}"
        );
        tx.commit().await.unwrap();
        let suap = store.relay_client("suap").await.unwrap().unwrap();
        assert_eq!(suap.sender_domains, [ALTRO, COMUNE]);
        assert_eq!(suap.networks, ["10.2.0.0/16", "192.0.2.0/24"]);
        assert_eq!(suap.rate_per_minute, 30);
    }
}
