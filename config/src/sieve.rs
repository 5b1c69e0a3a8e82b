//! `[sieve]`: users' mail filters and out-of-office replies (RFC 5228),
//! how much room their scripts may take, and the ManageSieve service
//! (RFC 5804) users manage them with.

use std::net::SocketAddr;

use serde::Deserialize;

use crate::duration::HumanDuration;
use crate::schema::socket_addrs;
use crate::size::ByteSize;

/// `[sieve]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SieveConfig {
    /// The largest script accepted, in bytes (a size such as `"64KiB"`),
    /// at least 1 byte. Default `"64KiB"`.
    pub max_script_size: ByteSize,
    /// The most the scripts of one mailbox may take together, at least
    /// `max_script_size`. Default `"256KiB"`.
    pub max_scripts_size: ByteSize,
    /// The domain senders of mail a filter redirects elsewhere are
    /// rewritten into (SRS), so that SPF passes at the destination; mail to
    /// it must reach this server, for bounces to come back. Default: the
    /// `hostname`.
    pub srs_domain: Option<String>,
    /// Addresses for ManageSieve, with STARTTLS; passwords are taken
    /// before TLS only where `imap.allow_plaintext_auth` allows them for
    /// IMAP, and failed logins are throttled as IMAP's. An empty list
    /// disables ManageSieve. Default `["0.0.0.0:4190"]`.
    #[serde(deserialize_with = "socket_addrs")]
    pub listen: Vec<SocketAddr>,
    /// Simultaneous ManageSieve connections, at least 1. Default 1000.
    pub max_connections: u32,
    /// Simultaneous ManageSieve connections from one IP address, at least
    /// 1. Default 10.
    pub max_connections_per_ip: u32,
    /// How long a silent ManageSieve client is kept (a duration such as
    /// `"30m"`), at least 1s. Default `"30m"`.
    pub idle_timeout: HumanDuration,
}

impl Default for SieveConfig {
    fn default() -> Self {
        SieveConfig {
            max_script_size: crate::defaults::sieve_max_script_size(),
            max_scripts_size: crate::defaults::sieve_max_scripts_size(),
            srs_domain: None,
            listen: crate::defaults::sieve_listen(),
            max_connections: crate::defaults::sieve_max_connections(),
            max_connections_per_ip: crate::defaults::sieve_max_connections_per_ip(),
            idle_timeout: crate::defaults::sieve_idle_timeout(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SieveConfig, String> {
        crate::parse(text, std::path::Path::new("postino.toml"))
            .map(|config| config.sieve)
            .map_err(|err| err.to_string())
    }

    #[test]
    fn sizes_are_bounded_and_ordered() {
        let config = parse("[sieve]\nmax_script_size = \"10KB\"\n").expect("valid");
        assert_eq!(config.max_script_size, ByteSize(10_000));
        assert_eq!(config.max_scripts_size, ByteSize(256 * 1024));
        let error = parse("[sieve]\nmax_script_size = 0\n").expect_err("refused");
        assert!(
            error.starts_with("postino.toml:2: sieve.max_script_size: "),
            "{error}"
        );
        let error = parse("[sieve]\nmax_script_size = \"1MB\"\nmax_scripts_size = \"512KB\"\n")
            .expect_err("refused");
        assert!(
            error.starts_with("postino.toml:3: sieve.max_scripts_size: "),
            "{error}"
        );
        // A script larger than the default total is named where it is set.
        let error = parse("[sieve]\nmax_script_size = \"1MB\"\n").expect_err("refused");
        assert!(
            error.starts_with("postino.toml:2: sieve.max_scripts_size: "),
            "{error}"
        );
    }

    #[test]
    fn managesieve_listens_on_4190_with_its_own_limits() {
        let config = parse("").expect("valid");
        assert_eq!(config.listen, ["0.0.0.0:4190".parse().unwrap()]);
        assert_eq!(
            (config.max_connections, config.max_connections_per_ip),
            (1000, 10)
        );
        assert_eq!(config.idle_timeout, HumanDuration::from_secs(1800));
        let embedded = crate::Config::embedded().sieve;
        assert_eq!(embedded.listen, ["127.0.0.1:4190".parse().unwrap()]);
        let off = parse("[sieve]\nlisten = []\nidle_timeout = \"5m\"\n").expect("valid");
        assert!(off.listen.is_empty());
        assert_eq!(off.idle_timeout, HumanDuration::from_secs(300));
        for (text, key) in [
            ("[sieve]\nmax_connections = 0\n", "sieve.max_connections"),
            ("[sieve]\nidle_timeout = 0\n", "sieve.idle_timeout"),
            ("[sieve]\nlisten = [\"4190\"]\n", "sieve.listen"),
            // The key named is the one written; the other is the default.
            ("[imap]\nlisten = [\"0.0.0.0:4190\"]\n", "imap.listen"),
        ] {
            let error = parse(text).expect_err("refused");
            assert!(error.contains(&format!(" {key}: ")), "{text}: {error}");
        }
    }
}
