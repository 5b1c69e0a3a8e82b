//! The `postino.toml` configuration: schema, defaults and validation.
//!
//! The file is read once at start by [`load`]; servers get the typed
//! [`Config`] and never read files or environment variables themselves.
//! Every key is optional with a default that suits one small VM (see
//! [`defaults`] and `postino.example.toml`); unknown keys and bad values are
//! errors that name the file, line and dotted key. Without any file,
//! `postino serve` uses [`Config::embedded`].
//!
//! This crate knows TOML and the file system only: no sockets, no store.

mod antispam;
mod blobs;
pub mod defaults;
mod delivery;
mod dns;
mod duration;
mod error;
mod locate;
mod log;
mod mta_sts;
mod password;
mod pop3;
mod retention;
mod schema;
mod sieve;
mod size;
mod validate;

use std::path::{Path, PathBuf};

pub use crate::antispam::{AntispamConfig, ClamdAddress, OnFailure, RspamdUrl, SettingsId};
pub use crate::blobs::{BlobBackend, BlobsConfig, S3Config};
pub use crate::delivery::{DeliveryConfig, HostPort};
pub use crate::dns::{MAX_DNS_NAME, is_dns_label};
pub use crate::duration::{DurationError, HumanDuration};
pub use crate::error::ConfigError;
pub use crate::log::{LogConfig, LogFormat};
pub use crate::mta_sts::MtaStsConfig;
pub use crate::password::Password;
pub use crate::pop3::Pop3Config;
pub use crate::retention::RetentionConfig;
pub use crate::schema::{
    AdminConfig, AuthConfig, Backend, Config, DnsConfig, ImapConfig, SmtpConfig, StoreConfig,
    TlsConfig,
};
pub use crate::sieve::SieveConfig;
pub use crate::size::{ByteSize, ByteSizeError, GB, GIB, KB, KIB, MB, MIB, TB, TIB};

use crate::locate::SourceMap;

/// Reads, parses and validates the configuration file at `path`.
///
/// Relative paths in the file are taken relative to the file's directory.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path)
}

/// Parses and validates configuration `text` that was read from `origin`.
///
/// `origin` names the file in errors, and its directory is the base of
/// relative paths in the text.
pub fn parse(text: &str, origin: &Path) -> Result<Config, ConfigError> {
    let map = SourceMap::parse(text).map_err(|err| ConfigError::Syntax {
        file: origin.to_owned(),
        line: err.span().map(|span| locate::line_at(text, span.start)),
        message: tidy_message(err.message()),
    })?;
    let mut config: Config = toml::from_str(text).map_err(|err| {
        let span = err.span();
        let line = span.as_ref().map(|span| map.line_at(span.start));
        let message = tidy_message(err.message());
        match span.as_ref().and_then(|span| map.key_at(span)) {
            Some(key) => ConfigError::Invalid {
                file: origin.to_owned(),
                line,
                key: key.to_owned(),
                message,
            },
            None => ConfigError::Syntax {
                file: origin.to_owned(),
                line,
                message,
            },
        }
    })?;

    let base = origin.parent().unwrap_or(Path::new(""));
    validate::check(&config, &map, origin, base)?;

    config.data_dir = base.join(&config.data_dir);
    let resolve = |path: &mut Option<PathBuf>| {
        if let Some(path) = path {
            *path = base.join(&*path);
        }
    };
    resolve(&mut config.tls.cert);
    resolve(&mut config.tls.key);
    resolve(&mut config.blobs.dir);
    resolve(&mut config.delivery.ca_file);
    Ok(config)
}

/// Makes a toml or serde message fit on the `file:line: key: ` line: serde
/// says "unknown field `x`" where the key is already named and TOML says
/// key, and "struct SmtpConfig" where the file has a table.
fn tidy_message(message: &str) -> String {
    let message = message.trim().replace('\n', ": ");
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((_, tail)) = rest.split_once('`')
    {
        return format!("unknown key{tail}");
    }
    if let Some((head, _)) = message.split_once(", expected struct ") {
        return format!("{head}, expected a table");
    }
    message
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::SocketAddr;
    use std::time::Duration;

    use super::*;

    const ORIGIN: &str = "postino.toml";

    fn parse_text(text: &str) -> Result<Config, ConfigError> {
        parse(text, Path::new(ORIGIN))
    }

    /// Asserts that `text` fails on `key` at `line`, with `needle` in the
    /// message, and returns the displayed error.
    #[track_caller]
    fn assert_fails(text: &str, key: &str, line: usize, needle: &str) -> String {
        let err = parse_text(text).expect_err("configuration should be refused");
        let shown = err.to_string();
        assert_eq!(err.key(), Some(key), "{shown}");
        assert_eq!(err.line(), Some(line), "{shown}");
        assert!(
            shown.starts_with(&format!("{ORIGIN}:{line}: {key}: ")),
            "{shown}"
        );
        assert!(shown.contains(needle), "{shown}");
        shown
    }

    fn addrs(list: &[SocketAddr]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    fn nets(list: &[ipnet::IpNet]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn empty_file_gives_all_defaults() {
        let config = parse_text("").expect("empty file is valid");
        assert_eq!(config, Config::default());
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/postino"));
        assert_eq!(config.hostname, defaults::hostname());
        assert_eq!(config.store.backend, Backend::Sqlite);
        assert_eq!(config.store.url, None);
        assert_eq!(config.store.max_connections, 16);
        assert!(config.smtp.enabled);
        assert_eq!(addrs(&config.smtp.listen_mx), ["0.0.0.0:25"]);
        assert_eq!(addrs(&config.smtp.listen_submission), ["0.0.0.0:587"]);
        assert_eq!(addrs(&config.smtp.listen_submissions), ["0.0.0.0:465"]);
        assert_eq!(config.smtp.max_message_size, ByteSize(50_000_000));
        assert_eq!(config.smtp.max_connections, 1000);
        assert_eq!(config.smtp.max_connections_per_ip, 20);
        assert_eq!(config.smtp.idle_timeout.0, Duration::from_secs(300));
        assert_eq!(config.smtp.command_timeout.0, Duration::from_secs(300));
        assert_eq!(config.smtp.min_data_rate, ByteSize(500));
        assert_eq!(config.smtp.session_timeout.0, Duration::from_secs(3600));
        assert!(config.smtp.bare_newline_allow.is_empty());
        assert!(config.imap.enabled);
        assert_eq!(addrs(&config.imap.listen), ["0.0.0.0:143"]);
        assert_eq!(addrs(&config.imap.listen_tls), ["0.0.0.0:993"]);
        assert_eq!(config.imap.max_connections, 5000);
        assert_eq!(config.imap.max_connections_per_ip, 50);
        assert_eq!(config.imap.idle_timeout.0, Duration::from_secs(1800));
        assert!(config.admin.enabled);
        assert_eq!(addrs(&config.admin.listen), ["127.0.0.1:8080"]);
        assert_eq!(
            nets(&config.admin.metrics_allow),
            ["127.0.0.0/8", "::1/128"]
        );
        assert_eq!(config.tls.cert, None);
        assert_eq!(config.tls.key, None);
        assert_eq!(config.auth.max_failures_per_ip, 10);
        assert_eq!(config.auth.max_failures_per_account, 10);
        assert_eq!(config.auth.failure_window.0, Duration::from_secs(900));
        assert_eq!(config.auth.lockout.0, Duration::from_secs(900));
        assert_eq!(config.auth.max_concurrent_hashes, 2);
        assert!(config.dns.nameservers.is_empty());
        assert_eq!(config.dns.timeout.0, Duration::from_secs(5));
        assert_eq!(
            config.sqlite_path(),
            PathBuf::from("/var/lib/postino/postino.db")
        );
    }

    #[test]
    fn full_file_sets_every_value() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("cert.pem"), "cert").expect("write cert");
        std::fs::write(dir.path().join("key.pem"), "key").expect("write key");
        let text = r#"
data_dir = "/srv/postino"
hostname = "mail.comune.esempio.pu.it"

[store]
backend = "postgres"
url = "postgresql://postino:secret@db.example.org/postino"
max_connections = 32

[smtp]
enabled = true
listen_mx = ["192.0.2.10:25", "[2001:db8::10]:25"]
listen_submission = ["192.0.2.10:587"]
listen_submissions = []
max_message_size = "25 MiB"
max_connections = 200
max_connections_per_ip = 5
idle_timeout = "2m"
command_timeout = "1m"
min_data_rate = "2KB"
session_timeout = "30m"
postmaster = "it@comune.esempio.pu.it"
bare_newline_allow = ["10.20.0.0/16", "192.0.2.7"]

[imap]
enabled = false
listen = ["192.0.2.10:143"]
listen_tls = ["192.0.2.10:993"]
max_connections = 300
max_connections_per_ip = 30
idle_timeout = 3600

[admin]
enabled = true
listen = ["127.0.0.1:9090", "[::1]:9090"]
metrics_allow = ["192.0.2.7", "10.20.0.0/16", "2001:db8::/32"]

[tls]
cert = "cert.pem"
key = "key.pem"

[auth]
max_failures_per_ip = 5
max_failures_per_account = 3
failure_window = "1h"
lockout = "1d"
max_concurrent_hashes = 4

[dns]
nameservers = ["127.0.0.1:5353", "[::1]:53"]
timeout = "2s"
"#;
        let origin = dir.path().join("postino.toml");
        let config = parse(text, &origin).expect("full file is valid");
        assert_eq!(config.data_dir, PathBuf::from("/srv/postino"));
        assert_eq!(config.hostname, "mail.comune.esempio.pu.it");
        assert_eq!(config.store.backend, Backend::Postgres);
        assert_eq!(
            config.store.url.as_deref(),
            Some("postgresql://postino:secret@db.example.org/postino")
        );
        assert_eq!(config.store.max_connections, 32);
        assert!(config.smtp.enabled);
        assert_eq!(
            addrs(&config.smtp.listen_mx),
            ["192.0.2.10:25", "[2001:db8::10]:25"]
        );
        assert_eq!(addrs(&config.smtp.listen_submission), ["192.0.2.10:587"]);
        assert!(config.smtp.listen_submissions.is_empty());
        assert_eq!(config.smtp.max_message_size, ByteSize(25 * MIB));
        assert_eq!(config.smtp.max_connections, 200);
        assert_eq!(config.smtp.max_connections_per_ip, 5);
        assert_eq!(config.smtp.idle_timeout.0, Duration::from_secs(120));
        assert_eq!(config.smtp.command_timeout.0, Duration::from_secs(60));
        assert_eq!(config.smtp.min_data_rate, ByteSize(2000));
        assert_eq!(config.smtp.session_timeout.0, Duration::from_secs(1800));
        assert_eq!(
            config.smtp.postmaster.as_deref(),
            Some("it@comune.esempio.pu.it")
        );
        assert_eq!(
            nets(&config.smtp.bare_newline_allow),
            ["10.20.0.0/16", "192.0.2.7/32"]
        );
        assert!(!config.imap.enabled);
        assert_eq!(addrs(&config.imap.listen), ["192.0.2.10:143"]);
        assert_eq!(addrs(&config.imap.listen_tls), ["192.0.2.10:993"]);
        assert_eq!(config.imap.max_connections, 300);
        assert_eq!(config.imap.max_connections_per_ip, 30);
        assert_eq!(config.imap.idle_timeout.0, Duration::from_secs(3600));
        assert!(config.admin.enabled);
        assert_eq!(
            addrs(&config.admin.listen),
            ["127.0.0.1:9090", "[::1]:9090"]
        );
        assert_eq!(
            nets(&config.admin.metrics_allow),
            ["192.0.2.7/32", "10.20.0.0/16", "2001:db8::/32"]
        );
        assert_eq!(config.tls.cert, Some(dir.path().join("cert.pem")));
        assert_eq!(config.tls.key, Some(dir.path().join("key.pem")));
        assert_eq!(config.auth.max_failures_per_ip, 5);
        assert_eq!(config.auth.max_failures_per_account, 3);
        assert_eq!(config.auth.failure_window.0, Duration::from_secs(3600));
        assert_eq!(config.auth.lockout.0, Duration::from_secs(86_400));
        assert_eq!(config.auth.max_concurrent_hashes, 4);
        assert_eq!(
            addrs(&config.dns.nameservers),
            ["127.0.0.1:5353", "[::1]:53"]
        );
        assert_eq!(config.dns.timeout.0, Duration::from_secs(2));
        assert_eq!(
            config.sqlite_path(),
            PathBuf::from("/srv/postino/postino.db")
        );
    }

    #[test]
    fn example_file_parses_to_the_defaults() {
        let text = include_str!("../postino.example.toml");
        let config = parse_text(text).expect("the example file is valid");
        assert_eq!(config, Config::default());
    }

    #[test]
    fn load_reads_a_file_and_resolves_relative_paths() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("postino.toml");
        let mut file = std::fs::File::create(&path).expect("create");
        file.write_all(b"data_dir = \"data\"\nhostname = \"localhost\"\n")
            .expect("write");
        let config = load(&path).expect("valid file");
        assert_eq!(config.data_dir, dir.path().join("data"));
        assert_eq!(config.sqlite_path(), dir.path().join("data/postino.db"));
    }

    #[test]
    fn load_reports_an_unreadable_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("missing.toml");
        let err = load(&path).expect_err("no such file");
        assert!(matches!(err, ConfigError::Io { .. }));
        assert!(
            err.to_string()
                .starts_with(&format!("cannot read {}: ", path.display())),
            "{err}"
        );
    }

    #[test]
    fn syntax_error_names_the_line() {
        let err = parse_text("hostname = \"localhost\"\n\n[smtp\n").expect_err("broken toml");
        assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");
        assert_eq!(err.line(), Some(3), "{err}");
        assert!(err.to_string().starts_with("postino.toml:3: "), "{err}");
        assert!(!err.to_string().contains('\n'), "{err}");
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        assert_fails(
            "hostname = \"localhost\"\nhostnmae = \"x\"\n",
            "hostnmae",
            2,
            "unknown key, expected one of",
        );
        assert_fails(
            "[smtp]\nenabled = true\n\n[smtp_extra]\nfoo = 1\n",
            "smtp_extra",
            4,
            "unknown key",
        );
        assert_fails(
            "[smtp]\nenabled = true\nmax_mesage_size = \"1MB\"\n",
            "smtp.max_mesage_size",
            3,
            "`max_message_size`",
        );
        assert_fails(
            "\n[auth]\nlockout = \"1m\"\nbogus = 1\n",
            "auth.bogus",
            4,
            "unknown key",
        );
        assert_fails(
            "imap = { listen = [], nope = true }\n",
            "imap.nope",
            1,
            "unknown key",
        );
        assert_fails("\n\nstore.uri = \"x\"\n", "store.uri", 3, "unknown key");
    }

    #[test]
    fn wrong_types_are_named_with_their_line() {
        assert_fails(
            "[smtp]\n\nenabled = \"yes\"\n",
            "smtp.enabled",
            3,
            "invalid type",
        );
        assert_fails(
            "[imap]\nmax_connections = -1\n",
            "imap.max_connections",
            2,
            "-1",
        );
        assert_fails(
            "[admin]\nlisten = \"127.0.0.1:8080\"\n",
            "admin.listen",
            2,
            "sequence",
        );
        assert_fails("smtp = 5\n", "smtp", 1, "expected a table");
        assert_fails(
            "[store]\nbackend = \"mysql\"\n",
            "store.backend",
            2,
            "`mysql`",
        );
    }

    #[test]
    fn bad_socket_addresses_are_named_with_their_line() {
        assert_fails(
            "[smtp]\nlisten_mx = [\n  \"0.0.0.0:25\",\n  \"nonsense\",\n]\n",
            "smtp.listen_mx",
            4,
            "invalid socket address `nonsense`",
        );
        assert_fails(
            "[imap]\nlisten_tls = [\"localhost:993\"]\n",
            "imap.listen_tls",
            2,
            "`localhost:993`",
        );
        assert_fails(
            "[admin]\nlisten = [8080]\n",
            "admin.listen",
            2,
            "socket address",
        );
        assert_fails(
            "[dns]\ntimeout = \"3s\"\nnameservers = [\n  \"127.0.0.1:5353\",\n  \"127.0.0.1\",\n]\n",
            "dns.nameservers",
            5,
            "invalid socket address `127.0.0.1`",
        );
        assert_fails(
            "\n[dns]\nnameservers = [\"ns1.example.org:53\"]\n",
            "dns.nameservers",
            3,
            "`ns1.example.org:53`",
        );
    }

    #[test]
    fn bad_metrics_networks_are_named_with_their_line() {
        assert_fails(
            "[admin]\nmetrics_allow = [\n  \"127.0.0.0/8\",\n  \"192.0.2.0/33\",\n]\n",
            "admin.metrics_allow",
            4,
            "invalid network `192.0.2.0/33`",
        );
        assert_fails(
            "\n[admin]\nmetrics_allow = [\"monitoring.example.org\"]\n",
            "admin.metrics_allow",
            3,
            "`monitoring.example.org`",
        );
        assert_fails(
            "[admin]\nmetrics_allow = [\"10.1.2.3/8\"]\n",
            "admin.metrics_allow",
            2,
            "host bits set (did you mean 10.0.0.0/8?)",
        );
        assert_fails(
            "[admin]\nmetrics_allow = \"127.0.0.0/8\"\n",
            "admin.metrics_allow",
            2,
            "sequence",
        );
        let config = parse_text("[admin]\nmetrics_allow = []\n").expect("an empty list is valid");
        assert!(config.admin.metrics_allow.is_empty());
    }

    #[test]
    fn bad_sizes_are_named_with_their_line() {
        let text = "\n\n\n\n\n\n\n[smtp]\nmax_message_size = \"12 parsecs\"\n";
        let shown = assert_fails(text, "smtp.max_message_size", 9, "12 parsecs");
        assert_eq!(
            shown,
            "postino.toml:9: smtp.max_message_size: invalid size `12 parsecs` \
             (expected a number with a unit such as 512KB, 50MB, 1GiB)"
        );
        assert_fails(
            "[smtp]\nmax_message_size = -5\n",
            "smtp.max_message_size",
            2,
            "-5",
        );
        assert_fails(
            "[smtp]\nmax_message_size = 1.5\n",
            "smtp.max_message_size",
            2,
            "invalid type",
        );
        assert_fails(
            "[smtp]\nmax_message_size = 0\n",
            "smtp.max_message_size",
            2,
            "at least 1 byte",
        );
    }

    #[test]
    fn bad_durations_are_named_with_their_line() {
        assert_fails(
            "[smtp]\nidle_timeout = \"5 minutes\"\n",
            "smtp.idle_timeout",
            2,
            "`5 minutes`",
        );
        assert_fails(
            "[auth]\n\nlockout = \"-1m\"\n",
            "auth.lockout",
            3,
            "invalid duration",
        );
        assert_fails(
            "[auth]\nfailure_window = -60\n",
            "auth.failure_window",
            2,
            "-60",
        );
        assert_fails(
            "[imap]\nidle_timeout = 0\n",
            "imap.idle_timeout",
            2,
            "at least 1s",
        );
        assert_fails("[dns]\ntimeout = 0\n", "dns.timeout", 2, "at least 1s");
        assert_fails(
            "[smtp]\nsession_timeout = 0\n",
            "smtp.session_timeout",
            2,
            "at least 1s",
        );
        assert_fails(
            "[smtp]\nmin_data_rate = 0\n",
            "smtp.min_data_rate",
            2,
            "at least 1 byte",
        );
        assert_fails("[dns]\n\ntimeout = \"soon\"\n", "dns.timeout", 3, "`soon`");
    }

    #[test]
    fn postgres_needs_a_postgres_url() {
        assert_fails(
            "hostname = \"localhost\"\n[store]\nbackend = \"postgres\"\n",
            "store.url",
            3,
            "required when store.backend is \"postgres\"",
        );
        let shown = assert_fails(
            "[store]\nbackend = \"postgres\"\nurl = \"mysql://u:pw@db/x\"\n",
            "store.url",
            3,
            "must start with postgres:// or postgresql://",
        );
        assert!(!shown.contains("pw@"), "{shown}");
        assert_fails(
            "[store]\nurl = \"postgres://db/x\"\n",
            "store.url",
            2,
            "only used when store.backend is \"postgres\"",
        );
        let config =
            parse_text("[store]\nbackend = \"postgres\"\nurl = \"postgres://db/postino\"\n")
                .expect("valid postgres store");
        assert_eq!(config.store.url.as_deref(), Some("postgres://db/postino"));
    }

    #[test]
    fn tls_needs_both_cert_and_key() {
        assert_fails(
            "[tls]\ncert = \"/etc/ssl/cert.pem\"\n",
            "tls.key",
            2,
            "required when tls.cert is set",
        );
        assert_fails(
            "[tls]\n\nkey = \"/etc/ssl/key.pem\"\n",
            "tls.cert",
            3,
            "required when tls.key is set",
        );
    }

    #[test]
    fn tls_files_must_be_readable() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("cert.pem"), "cert").expect("write cert");
        let origin = dir.path().join("postino.toml");
        let text = "[tls]\ncert = \"cert.pem\"\nkey = \"missing-key.pem\"\n";
        let err = parse(text, &origin).expect_err("missing key file");
        assert_eq!(err.key(), Some("tls.key"), "{err}");
        assert_eq!(err.line(), Some(3), "{err}");
        assert!(err.to_string().contains("missing-key.pem"), "{err}");

        let text = "[tls]\ncert = \".\"\nkey = \"cert.pem\"\n";
        let err = parse(text, &origin).expect_err("directory as cert");
        assert_eq!(err.key(), Some("tls.cert"), "{err}");
        assert_eq!(err.line(), Some(2), "{err}");
        assert!(err.to_string().contains("is not a file"), "{err}");
    }

    #[test]
    fn listeners_may_not_share_an_address() {
        assert_fails(
            "[smtp]\nlisten_mx = [\"0.0.0.0:2525\"]\n\n[imap]\nlisten = [\"0.0.0.0:2525\"]\n",
            "imap.listen",
            5,
            "address 0.0.0.0:2525 is already used by smtp.listen_mx",
        );
        // The later key in the file is the one reported, whatever the section.
        assert_fails(
            "[imap]\nlisten = [\"127.0.0.1:2525\"]\n\n[smtp]\nlisten_mx = [\"0.0.0.0:2525\"]\n",
            "smtp.listen_mx",
            5,
            "overlaps 127.0.0.1:2525 used by imap.listen",
        );
        // A clash with a default names the key the operator wrote.
        assert_fails(
            "[smtp]\nlisten_submission = [\"127.0.0.1:8080\"]\n",
            "smtp.listen_submission",
            2,
            "already used by admin.listen",
        );
        assert_fails(
            "[admin]\nlisten = [\"127.0.0.1:9000\", \"127.0.0.1:9000\"]\n",
            "admin.listen",
            2,
            "listed twice",
        );
    }

    #[test]
    fn listeners_of_disabled_services_and_port_zero_do_not_clash() {
        let text = "[imap]\nenabled = false\nlisten = [\"0.0.0.0:25\"]\n";
        assert!(parse_text(text).is_ok());
        let text = "[smtp]\nlisten_mx = [\"127.0.0.1:0\"]\nlisten_submission = [\"127.0.0.1:0\"]\n";
        assert!(parse_text(text).is_ok());
    }

    #[test]
    fn zero_limits_are_refused() {
        assert_fails(
            "[smtp]\nmax_connections = 0\n",
            "smtp.max_connections",
            2,
            "must be at least 1",
        );
        assert_fails(
            "[imap]\n\nmax_connections_per_ip = 0\n",
            "imap.max_connections_per_ip",
            3,
            "at least 1",
        );
        assert_fails(
            "[store]\nmax_connections = 0\n",
            "store.max_connections",
            2,
            "at least 1",
        );
        assert_fails(
            "[auth]\nmax_concurrent_hashes = 0\n",
            "auth.max_concurrent_hashes",
            2,
            "at least 1",
        );
    }

    #[test]
    fn bad_host_names_and_data_dirs_are_refused() {
        assert_fails(
            "hostname = \"mail_server!\"\n",
            "hostname",
            1,
            "`mail_server!`",
        );
        assert_fails("\ndata_dir = \"\"\n", "data_dir", 2, "must not be empty");
    }

    #[test]
    fn a_bad_postmaster_address_is_refused() {
        assert_fails(
            "[smtp]\npostmaster = \"postmaster\"\n",
            "smtp.postmaster",
            2,
            "`postmaster` is not a valid address",
        );
        assert_fails(
            "[smtp]\n\npostmaster = \"it@comune_esempio.it\"\n",
            "smtp.postmaster",
            3,
            "not a valid address",
        );
    }

    #[test]
    fn the_first_problem_in_the_file_is_reported() {
        let text = "[auth]\nmax_concurrent_hashes = 0\n[smtp]\nmax_connections = 0\n";
        assert_fails(text, "auth.max_concurrent_hashes", 2, "at least 1");
    }
}
