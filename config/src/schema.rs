//! The typed configuration: one struct per `[section]` of `postino.toml`.
//!
//! Every key is optional; a missing key takes the value of the same-named
//! function in [`crate::defaults`]. Unknown keys are errors. Checks that need
//! more than one value or the file system are in [`crate::validate`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::antispam::AntispamConfig;
use crate::blobs::BlobsConfig;
use crate::defaults;
use crate::delivery::DeliveryConfig;
use crate::duration::HumanDuration;
use crate::log::LogConfig;
use crate::mta_sts::MtaStsConfig;
use crate::pop3::Pop3Config;
use crate::retention::RetentionConfig;
use crate::sieve::SieveConfig;
use crate::size::ByteSize;

/// The whole `postino.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Directory for the SQLite store and generated keys and certificates;
    /// relative paths are relative to the configuration file's directory.
    /// Default `/var/lib/postino`.
    pub data_dir: PathBuf,
    /// The name this server gives itself in SMTP greetings and `Received:`
    /// headers; a DNS name. Default: the machine's hostname, or `localhost`.
    pub hostname: String,
    /// `[store]`: where mailboxes and queue live.
    pub store: StoreConfig,
    /// `[blobs]`: where message bodies are kept.
    pub blobs: BlobsConfig,
    /// `[smtp]`: MX, submission and relay listeners.
    pub smtp: SmtpConfig,
    /// `[imap]`: IMAP listeners.
    pub imap: ImapConfig,
    /// `[pop3]`: POP3 listeners.
    pub pop3: Pop3Config,
    /// `[admin]`: HTTP API and web console.
    pub admin: AdminConfig,
    /// `[tls]`: the certificate every TLS listener presents.
    pub tls: TlsConfig,
    /// `[auth]`: login throttling and password hashing.
    pub auth: AuthConfig,
    /// `[dns]`: the resolver for SPF, DKIM, DMARC, ARC and MX look-ups.
    pub dns: DnsConfig,
    /// `[delivery]`: how queued mail reaches other servers.
    pub delivery: DeliveryConfig,
    /// `[mta_sts]`: the MTA-STS policy and TLS reporting published for
    /// hosted domains.
    pub mta_sts: MtaStsConfig,
    /// `[antispam]`: content scanning on the MX.
    pub antispam: AntispamConfig,
    /// `[sieve]`: users' mail filters and out-of-office replies.
    pub sieve: SieveConfig,
    /// `[log]`: the shape of the log lines.
    pub log: LogConfig,
    /// `[retention]`: how long metadata and the admin logs are kept.
    pub retention: RetentionConfig,
}

/// Which database holds the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// An SQLite file, `postino.db` in the data directory: one node.
    Sqlite,
    /// A PostgreSQL database, which several nodes may share.
    Postgres,
}

/// `[store]`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `"sqlite"` or `"postgres"`. Default `"sqlite"`.
    pub backend: Backend,
    /// PostgreSQL connection URL, `postgres://user:password@host/db`;
    /// required with `backend = "postgres"`, refused otherwise. No default.
    pub url: Option<String>,
    /// Connections in the store's pool, at least 1. Default 16.
    pub max_connections: u32,
}

/// `[smtp]`. An empty listen list disables that listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// Whether to run SMTP at all. Default `true`.
    pub enabled: bool,
    /// Addresses for inbound mail from other servers. Default `["0.0.0.0:25"]`.
    #[serde(deserialize_with = "socket_addrs")]
    pub listen_mx: Vec<SocketAddr>,
    /// Addresses for submission with STARTTLS (RFC 6409). Default
    /// `["0.0.0.0:587"]`.
    #[serde(deserialize_with = "socket_addrs")]
    pub listen_submission: Vec<SocketAddr>,
    /// Addresses for submission with implicit TLS (RFC 8314). Default
    /// `["0.0.0.0:465"]`.
    #[serde(deserialize_with = "socket_addrs")]
    pub listen_submissions: Vec<SocketAddr>,
    /// Largest message accepted, in bytes (a size such as `"50MB"`),
    /// announced with SIZE. Default `"50MB"`.
    pub max_message_size: ByteSize,
    /// Simultaneous connections over all SMTP listeners, at least 1.
    /// Default 1000.
    pub max_connections: u32,
    /// Simultaneous connections from one IP address, at least 1. Default 20.
    pub max_connections_per_ip: u32,
    /// How long a silent client is kept (a duration such as `"5m"`), at
    /// least 1s. Default `"5m"`.
    pub idle_timeout: HumanDuration,
    /// How long one command line may take to arrive whole, from when the
    /// server is ready for it, however it trickles in; at least 1s.
    /// Default `"5m"`.
    pub command_timeout: HumanDuration,
    /// The slowest message content accepted, in bytes per second (a size
    /// such as `"500B"`), at least 1 byte: DATA content and each BDAT chunk
    /// may take `idle_timeout` plus one second for every this many bytes
    /// received. Default `"500B"`.
    pub min_data_rate: ByteSize,
    /// How long one session may last, whatever it does; at least 1s.
    /// Default `"1h"`.
    pub session_timeout: HumanDuration,
    /// How long the MX waits between the first and the last line of its
    /// greeting: a client that talks meanwhile, before its turn, is a bot
    /// and is refused (as Postfix's postscreen does); `"0s"` turns the
    /// test off. Default `"1s"`.
    pub pregreet_wait: HumanDuration,
    /// Recipients accepted per message, at least 1. Default 100.
    pub max_recipients: u32,
    /// Error replies before a session is closed, at least 1. Default 10.
    pub max_errors: u32,
    /// Messages a mailbox may send in any hour, by submission or on any
    /// listener after AUTH, past which it gets `451 4.7.1`: the brake on a
    /// stolen password. Domains and mailboxes may have their own (`postino
    /// domain update`, `postino mailbox update`); 0 is no limit. Default 200.
    pub max_messages_per_hour: u32,
    /// Distinct recipients a mailbox may write to in any day, likewise.
    /// Default 1000.
    pub max_recipients_per_day: u32,
    /// Whether submission offers AUTH before TLS; only for listeners on
    /// loopback or a trusted network. Default `false`.
    pub allow_plaintext_auth: bool,
    /// Where mail to `<postmaster>` without a domain (RFC 5321 §4.5.1)
    /// goes, an address such as `"it@comune.example.it"`. Default: none,
    /// meaning postmaster at the hostname or its nearest parent domain that
    /// is hosted here, else at the domain hosted first.
    pub postmaster: Option<String>,
    /// Networks whose clients may end lines with a bare LF, in CIDR
    /// notation such as `"192.0.2.0/24"` (a bare address is a network of
    /// one): their command and content lines are taken as ending in CRLF,
    /// as authenticated users' and relay clients' are. Anyone else's
    /// message with a bare LF is refused. Default `[]`.
    #[serde(deserialize_with = "networks")]
    pub bare_newline_allow: Vec<IpNet>,
}

/// `[imap]`. An empty listen list disables that listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImapConfig {
    /// Whether to run IMAP at all. Default `true`.
    pub enabled: bool,
    /// Addresses for IMAP with STARTTLS. Default `["0.0.0.0:143"]`.
    #[serde(deserialize_with = "socket_addrs")]
    pub listen: Vec<SocketAddr>,
    /// Addresses for IMAP with implicit TLS. Default `["0.0.0.0:993"]`.
    #[serde(deserialize_with = "socket_addrs")]
    pub listen_tls: Vec<SocketAddr>,
    /// Simultaneous connections over all IMAP listeners, at least 1.
    /// Default 5000.
    pub max_connections: u32,
    /// Simultaneous connections from one IP address, at least 1. Default 50.
    pub max_connections_per_ip: u32,
    /// How long a silent client is kept, IDLE included (a duration such as
    /// `"30m"`), at least 1s. Default `"30m"`.
    pub idle_timeout: HumanDuration,
    /// The largest message APPEND takes (APPENDLIMIT, RFC 7889), such as
    /// `"50MB"`. Default 50 MB, as `smtp.max_message_size`.
    pub max_message_size: ByteSize,
    /// Bad or failed commands in one session before it is closed, at least
    /// 1. Default 50.
    pub max_errors: u32,
    /// Offer LOGIN and AUTHENTICATE before TLS; only for loopback or a
    /// trusted network. Default `false`.
    pub allow_plaintext_auth: bool,
}

/// `[admin]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Whether to run the HTTP API and console at all. Default `true`.
    pub enabled: bool,
    /// Addresses for the HTTP API and console; an empty list disables them.
    /// Default `["127.0.0.1:8080"]`.
    #[serde(deserialize_with = "socket_addrs")]
    pub listen: Vec<SocketAddr>,
    /// Networks whose clients may read `/metrics`, in CIDR notation such as
    /// `"192.0.2.0/24"` (a bare address is a network of one); others get
    /// 403. Default `["127.0.0.0/8", "::1/128"]`: loopback only.
    #[serde(deserialize_with = "networks")]
    pub metrics_allow: Vec<IpNet>,
}

/// `[tls]`. Both keys or neither; with neither, a self-signed certificate is
/// generated into the data directory on first start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first; must be readable at start, and is
    /// read again on SIGHUP; relative to the configuration file's
    /// directory. Default: none.
    pub cert: Option<PathBuf>,
    /// PEM private key of `cert`; must be readable at start; relative to the
    /// configuration file's directory. Default: none.
    pub key: Option<PathBuf>,
}

/// `[auth]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Failed logins from one IP address within `failure_window` before it is
    /// locked out, at least 1. Default 10.
    pub max_failures_per_ip: u32,
    /// Failed logins for one account within `failure_window` before logins
    /// to it are slowed (by a delay from 1s doubling up to 30s), at least 1;
    /// never refused, and not slowed at all from an address that logged in
    /// to it in the last 30 days. Default 10.
    pub max_failures_per_account: u32,
    /// How long a failed login counts (a duration such as `"15m"`), at least
    /// 1s. Default `"15m"`.
    pub failure_window: HumanDuration,
    /// How long a locked-out IP address waits, at least 1s. Default `"15m"`.
    pub lockout: HumanDuration,
    /// argon2 computations running at once, at least 1; each takes tens of
    /// MiB and a core for a fraction of a second. Default 2.
    pub max_concurrent_hashes: u32,
}

/// `[dns]`: the resolver behind every DNS look-up Postino makes (SPF, DKIM,
/// DMARC and ARC checks, MX look-ups).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsConfig {
    /// Recursive nameservers to ask, as `ip:port`, over UDP and TCP; when
    /// set, only these are asked. Default `[]`: the system's
    /// `/etc/resolv.conf`.
    #[serde(deserialize_with = "socket_addrs")]
    pub nameservers: Vec<SocketAddr>,
    /// How long one query may wait for an answer (a duration such as
    /// `"5s"`), at least 1s; also how long all the SPF, DKIM, ARC and
    /// DMARC checks of one inbound message may take together. Default
    /// `"5s"`.
    pub timeout: HumanDuration,
}

impl Config {
    /// The configuration `postino serve` uses without a file, for someone
    /// trying Postino as an ordinary user: data in `./postino-data`, hostname
    /// `localhost`, SQLite, every listener on loopback on an unprivileged port
    /// (SMTP 2525, 2587, 2465; IMAP 2143, 2993; POP3 2110, 2995;
    /// ManageSieve 4190; admin
    /// 8080); everything else as the file defaults.
    pub fn embedded() -> Config {
        let loopback = |port| vec![SocketAddr::from((Ipv4Addr::LOCALHOST, port))];
        Config {
            data_dir: PathBuf::from("./postino-data"),
            hostname: "localhost".to_owned(),
            store: StoreConfig::default(),
            blobs: BlobsConfig::default(),
            smtp: SmtpConfig {
                listen_mx: loopback(2525),
                listen_submission: loopback(2587),
                listen_submissions: loopback(2465),
                ..SmtpConfig::default()
            },
            imap: ImapConfig {
                listen: loopback(2143),
                listen_tls: loopback(2993),
                ..ImapConfig::default()
            },
            pop3: Pop3Config {
                listen: loopback(2110),
                listen_tls: loopback(2995),
                ..Pop3Config::default()
            },
            admin: AdminConfig::default(),
            tls: TlsConfig::default(),
            auth: AuthConfig::default(),
            dns: DnsConfig::default(),
            delivery: DeliveryConfig::default(),
            mta_sts: MtaStsConfig::default(),
            antispam: AntispamConfig::default(),
            sieve: SieveConfig {
                listen: loopback(defaults::SIEVE_PORT),
                ..SieveConfig::default()
            },
            log: LogConfig::default(),
            retention: RetentionConfig::default(),
        }
    }

    /// The SQLite store file: `postino.db` in the data directory.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("postino.db")
    }
}

impl Default for Config {
    /// The configuration of an empty file.
    fn default() -> Self {
        Config {
            data_dir: defaults::data_dir(),
            hostname: defaults::hostname(),
            store: StoreConfig::default(),
            blobs: BlobsConfig::default(),
            smtp: SmtpConfig::default(),
            imap: ImapConfig::default(),
            pop3: Pop3Config::default(),
            admin: AdminConfig::default(),
            tls: TlsConfig::default(),
            auth: AuthConfig::default(),
            dns: DnsConfig::default(),
            delivery: DeliveryConfig::default(),
            mta_sts: MtaStsConfig::default(),
            antispam: AntispamConfig::default(),
            sieve: SieveConfig::default(),
            log: LogConfig::default(),
            retention: RetentionConfig::default(),
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            backend: defaults::store_backend(),
            url: None,
            max_connections: defaults::store_max_connections(),
        }
    }
}

/// The URL holds the database password, and configurations get logged.
impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("backend", &self.backend)
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            enabled: defaults::enabled(),
            listen_mx: defaults::smtp_listen_mx(),
            listen_submission: defaults::smtp_listen_submission(),
            listen_submissions: defaults::smtp_listen_submissions(),
            max_message_size: defaults::smtp_max_message_size(),
            max_connections: defaults::smtp_max_connections(),
            max_connections_per_ip: defaults::smtp_max_connections_per_ip(),
            idle_timeout: defaults::smtp_idle_timeout(),
            command_timeout: defaults::smtp_command_timeout(),
            min_data_rate: defaults::smtp_min_data_rate(),
            session_timeout: defaults::smtp_session_timeout(),
            pregreet_wait: defaults::smtp_pregreet_wait(),
            max_recipients: defaults::smtp_max_recipients(),
            max_messages_per_hour: defaults::smtp_max_messages_per_hour(),
            max_recipients_per_day: defaults::smtp_max_recipients_per_day(),
            max_errors: defaults::smtp_max_errors(),
            allow_plaintext_auth: defaults::smtp_allow_plaintext_auth(),
            postmaster: None,
            bare_newline_allow: defaults::smtp_bare_newline_allow(),
        }
    }
}

impl Default for ImapConfig {
    fn default() -> Self {
        ImapConfig {
            enabled: defaults::enabled(),
            listen: defaults::imap_listen(),
            listen_tls: defaults::imap_listen_tls(),
            max_connections: defaults::imap_max_connections(),
            max_connections_per_ip: defaults::imap_max_connections_per_ip(),
            idle_timeout: defaults::imap_idle_timeout(),
            max_message_size: defaults::smtp_max_message_size(),
            max_errors: defaults::imap_max_errors(),
            allow_plaintext_auth: defaults::smtp_allow_plaintext_auth(),
        }
    }
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            enabled: defaults::enabled(),
            listen: defaults::admin_listen(),
            metrics_allow: defaults::admin_metrics_allow(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            max_failures_per_ip: defaults::auth_max_failures_per_ip(),
            max_failures_per_account: defaults::auth_max_failures_per_account(),
            failure_window: defaults::auth_failure_window(),
            lockout: defaults::auth_lockout(),
            max_concurrent_hashes: defaults::auth_max_concurrent_hashes(),
        }
    }
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            nameservers: defaults::dns_nameservers(),
            timeout: defaults::dns_timeout(),
        }
    }
}

/// A list of `ip:port` strings, with an error that says what is expected
/// (serde's own says only "invalid socket address syntax").
pub(crate) fn socket_addrs<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<SocketAddr>, D::Error> {
    struct ListenAddr(SocketAddr);

    impl<'de> Deserialize<'de> for ListenAddr {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct AddrVisitor;

            impl Visitor<'_> for AddrVisitor {
                type Value = ListenAddr;

                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a socket address such as \"0.0.0.0:25\" or \"[::]:25\"")
                }

                fn visit_str<E: de::Error>(self, value: &str) -> Result<ListenAddr, E> {
                    value.parse().map(ListenAddr).map_err(|_| {
                        E::custom(format!(
                            "invalid socket address `{value}` (expected ip:port such as 0.0.0.0:25 or [::]:25)"
                        ))
                    })
                }
            }

            deserializer.deserialize_str(AddrVisitor)
        }
    }

    let addrs = Vec::<ListenAddr>::deserialize(deserializer)?;
    Ok(addrs.into_iter().map(|addr| addr.0).collect())
}

/// A list of networks in CIDR notation; a bare address is a network of
/// one. Host bits must be zero: `10.1.2.3/8` is more likely a typing mistake
/// than a wish for all of 10.0.0.0/8 (the rule relay client networks follow).
fn networks<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    struct Network(IpNet);

    impl<'de> Deserialize<'de> for Network {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct NetworkVisitor;

            impl Visitor<'_> for NetworkVisitor {
                type Value = Network;

                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a network such as \"192.0.2.0/24\" or \"2001:db8::/32\"")
                }

                fn visit_str<E: de::Error>(self, value: &str) -> Result<Network, E> {
                    let net = value
                        .parse::<IpNet>()
                        .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
                        .map_err(|_| {
                            E::custom(format!(
                                "invalid network `{value}` (expected CIDR notation such as 192.0.2.0/24 or 2001:db8::/32)"
                            ))
                        })?;
                    if net.trunc() != net {
                        return Err(E::custom(format!(
                            "network `{value}` has host bits set (did you mean {}?)",
                            net.trunc()
                        )));
                    }
                    Ok(Network(net))
                }
            }

            deserializer.deserialize_str(NetworkVisitor)
        }
    }

    let nets = Vec::<Network>::deserialize(deserializer)?;
    Ok(nets.into_iter().map(|net| net.0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_runs_on_loopback_unprivileged_ports() {
        let config = Config::embedded();
        assert_eq!(config.data_dir, PathBuf::from("./postino-data"));
        assert_eq!(config.hostname, "localhost");
        assert_eq!(config.store.backend, Backend::Sqlite);
        assert_eq!(config.store.url, None);
        let addrs = |list: &[SocketAddr]| list.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(addrs(&config.smtp.listen_mx), ["127.0.0.1:2525"]);
        assert_eq!(addrs(&config.smtp.listen_submission), ["127.0.0.1:2587"]);
        assert_eq!(addrs(&config.smtp.listen_submissions), ["127.0.0.1:2465"]);
        assert_eq!(addrs(&config.imap.listen), ["127.0.0.1:2143"]);
        assert_eq!(addrs(&config.imap.listen_tls), ["127.0.0.1:2993"]);
        assert_eq!(addrs(&config.admin.listen), ["127.0.0.1:8080"]);
        assert!(config.smtp.enabled && config.imap.enabled && config.admin.enabled);
        assert_eq!(config.smtp.max_message_size, ByteSize(50_000_000));
        assert_eq!(config.imap.idle_timeout, HumanDuration::from_secs(1800));
        assert_eq!(config.tls, TlsConfig::default());
        assert_eq!(config.auth, AuthConfig::default());
        assert_eq!(config.dns, DnsConfig::default());
        assert_eq!(
            config.sqlite_path(),
            PathBuf::from("./postino-data/postino.db")
        );
    }

    #[test]
    fn debug_hides_the_database_url() {
        let store = StoreConfig {
            backend: Backend::Postgres,
            url: Some("postgres://postino:hunter2@db/postino".to_owned()),
            max_connections: 4,
        };
        let shown = format!("{store:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
