//! `[pop3]`: the POP3 service (RFC 1939) for clients that download INBOX,
//! with STLS on `listen` and implicit TLS on `listen_tls`.

use std::net::SocketAddr;

use serde::Deserialize;

use crate::duration::HumanDuration;
use crate::schema::socket_addrs;

/// `[pop3]`. An empty listen list disables that listener; passwords are
/// taken before TLS only where `imap.allow_plaintext_auth` allows them for
/// IMAP, bad commands end a session after `imap.max_errors`, and failed
/// logins are throttled as IMAP's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pop3Config {
    /// Addresses for POP3 with STLS. Default `["0.0.0.0:110"]`.
    #[serde(deserialize_with = "socket_addrs")]
    pub listen: Vec<SocketAddr>,
    /// Addresses for POP3 with implicit TLS. Default `["0.0.0.0:995"]`.
    #[serde(deserialize_with = "socket_addrs")]
    pub listen_tls: Vec<SocketAddr>,
    /// Simultaneous connections over both POP3 listeners, at least 1.
    /// Default 1000.
    pub max_connections: u32,
    /// Simultaneous POP3 connections from one IP address, at least 1.
    /// Default 50.
    pub max_connections_per_ip: u32,
    /// How long a silent POP3 client is kept (a duration such as `"10m"`),
    /// at least 1s. Default `"10m"`.
    pub idle_timeout: HumanDuration,
}

impl Default for Pop3Config {
    fn default() -> Self {
        Pop3Config {
            listen: crate::defaults::pop3_listen(),
            listen_tls: crate::defaults::pop3_listen_tls(),
            max_connections: crate::defaults::pop3_max_connections(),
            max_connections_per_ip: crate::defaults::pop3_max_connections_per_ip(),
            idle_timeout: crate::defaults::pop3_idle_timeout(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Pop3Config, String> {
        crate::parse(text, std::path::Path::new("postino.toml"))
            .map(|config| config.pop3)
            .map_err(|err| err.to_string())
    }

    #[test]
    fn pop3_listens_on_110_and_995_with_its_own_limits() {
        let config = parse("").expect("valid");
        assert_eq!(config.listen, ["0.0.0.0:110".parse().unwrap()]);
        assert_eq!(config.listen_tls, ["0.0.0.0:995".parse().unwrap()]);
        assert_eq!(
            (config.max_connections, config.max_connections_per_ip),
            (1000, 50)
        );
        assert_eq!(config.idle_timeout, HumanDuration::from_secs(600));
        let embedded = crate::Config::embedded().pop3;
        assert_eq!(embedded.listen, ["127.0.0.1:2110".parse().unwrap()]);
        assert_eq!(embedded.listen_tls, ["127.0.0.1:2995".parse().unwrap()]);
        let off =
            parse("[pop3]\nlisten = []\nlisten_tls = []\nidle_timeout = \"5m\"\n").expect("valid");
        assert!(off.listen.is_empty() && off.listen_tls.is_empty());
        assert_eq!(off.idle_timeout, HumanDuration::from_secs(300));
        for (text, key) in [
            ("[pop3]\nmax_connections = 0\n", "pop3.max_connections"),
            (
                "[pop3]\nmax_connections_per_ip = 0\n",
                "pop3.max_connections_per_ip",
            ),
            ("[pop3]\nidle_timeout = 0\n", "pop3.idle_timeout"),
            ("[pop3]\nlisten = [\"110\"]\n", "pop3.listen"),
            ("[pop3]\nport = 110\n", "pop3.port"),
            (
                "[pop3]\nlisten_tls = [\"0.0.0.0:993\"]\n",
                "pop3.listen_tls",
            ),
        ] {
            let error = parse(text).expect_err("refused");
            assert!(error.contains(key), "{text}: {error}");
        }
    }
}
