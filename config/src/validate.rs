//! Checks that typing alone cannot express: values that must be non-zero,
//! keys that require each other, listeners that would collide, files that
//! must be readable. Each problem names its key and the key's line.

use std::net::SocketAddr;
use std::path::Path;

use crate::blobs::BlobBackend;
use crate::defaults;
use crate::dns::{MAX_DNS_NAME, is_dns_label};
use crate::duration::HumanDuration;
use crate::error::ConfigError;
use crate::locate::SourceMap;
use crate::schema::{Backend, Config};

/// Whether `name` is a plausible host name: dot-separated labels of letters,
/// digits and inner hyphens (RFC 1123 2.1), with a non-numeric last label so
/// that an IP address is not taken for a name.
pub(crate) fn is_dns_name(name: &str) -> bool {
    name.len() <= MAX_DNS_NAME
        && name.split('.').all(is_dns_label)
        && name
            .rsplit('.')
            .next()
            .is_some_and(|last| last.bytes().any(|b| b.is_ascii_alphabetic()))
}

/// Characters RFC 5322 `atext` allows besides letters and digits.
const ATEXT_SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";

/// Whether `address` is a plain `local@domain` address: a dot-atom local
/// part of ASCII (RFC 5322 §3.4.1) and a host name of at least two labels.
fn is_address(address: &str) -> bool {
    let atom_ok = |atom: &str| {
        !atom.is_empty()
            && atom
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || ATEXT_SPECIALS.contains(&b))
    };
    address.rsplit_once('@').is_some_and(|(local, domain)| {
        local.len() <= 64
            && local.split('.').all(atom_ok)
            && domain.contains('.')
            && is_dns_name(domain)
    })
}

/// Checks `config`, parsed from `file` whose keys `map` locates; relative
/// paths are taken from `base`. Reports the problem nearest the top of the
/// file.
pub(crate) fn check(
    config: &Config,
    map: &SourceMap<'_>,
    file: &Path,
    base: &Path,
) -> Result<(), ConfigError> {
    let mut problems = Problems {
        map,
        found: Vec::new(),
    };
    check_host(config, &mut problems);
    check_smtp(config, &mut problems);
    check_store(config, &mut problems);
    check_limits(config, &mut problems);
    check_tls(config, base, &mut problems);
    check_listeners(config, &mut problems);
    check_delivery(config, base, &mut problems);
    check_mta_sts(config, &mut problems);
    check_antispam(config, &mut problems);
    check_blobs(config, &mut problems);
    check_sieve(config, &mut problems);
    check_retention(config, &mut problems);
    match problems
        .found
        .into_iter()
        .min_by_key(|p| (p.line.is_none(), p.line))
    {
        None => Ok(()),
        Some(problem) => Err(ConfigError::Invalid {
            file: file.to_owned(),
            line: problem.line,
            key: problem.key,
            message: problem.message,
        }),
    }
}

struct Problem {
    key: String,
    line: Option<usize>,
    message: String,
}

struct Problems<'m, 't> {
    map: &'m SourceMap<'t>,
    found: Vec<Problem>,
}

impl Problems<'_, '_> {
    /// A problem with `key`, on the line of `key`.
    fn at(&mut self, key: &str, message: impl Into<String>) {
        self.at_line_of(key, key, message);
    }

    /// A problem with `key`, which may be missing from the file, on the line
    /// of `line_key`, which caused it.
    fn at_line_of(&mut self, key: &str, line_key: &str, message: impl Into<String>) {
        self.found.push(Problem {
            key: key.to_owned(),
            line: self.map.line_of(line_key),
            message: message.into(),
        });
    }
}

fn check_host(config: &Config, problems: &mut Problems<'_, '_>) {
    if config.data_dir.as_os_str().is_empty() {
        problems.at("data_dir", "must not be empty");
    }
    if !is_dns_name(&config.hostname) {
        problems.at(
            "hostname",
            format!(
                "`{}` is not a valid host name (expected letters, digits, hyphens and dots, such as mail.example.org)",
                config.hostname
            ),
        );
    }
}

fn check_smtp(config: &Config, problems: &mut Problems<'_, '_>) {
    if let Some(address) = &config.smtp.postmaster
        && !is_address(address)
    {
        problems.at(
            "smtp.postmaster",
            format!(
                "`{address}` is not a valid address (expected local-part@domain, such as it@comune.example.it)"
            ),
        );
    }
}

fn check_store(config: &Config, problems: &mut Problems<'_, '_>) {
    let store = &config.store;
    match (store.backend, &store.url) {
        (Backend::Postgres, None) => problems.at_line_of(
            "store.url",
            "store.backend",
            "required when store.backend is \"postgres\"",
        ),
        (Backend::Postgres, Some(url))
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) =>
        {
            // The URL is not echoed: it may hold a password.
            problems.at("store.url", "must start with postgres:// or postgresql://");
        }
        (Backend::Sqlite, Some(_)) => problems.at(
            "store.url",
            "is only used when store.backend is \"postgres\" (SQLite lives in data_dir)",
        ),
        (Backend::Postgres, Some(_)) | (Backend::Sqlite, None) => {}
    }
}

fn check_limits(config: &Config, problems: &mut Problems<'_, '_>) {
    let counts = [
        ("store.max_connections", config.store.max_connections),
        ("smtp.max_connections", config.smtp.max_connections),
        (
            "smtp.max_connections_per_ip",
            config.smtp.max_connections_per_ip,
        ),
        ("smtp.max_recipients", config.smtp.max_recipients),
        ("smtp.max_errors", config.smtp.max_errors),
        ("imap.max_connections", config.imap.max_connections),
        ("imap.max_errors", config.imap.max_errors),
        ("sieve.max_connections", config.sieve.max_connections),
        ("pop3.max_connections", config.pop3.max_connections),
        (
            "pop3.max_connections_per_ip",
            config.pop3.max_connections_per_ip,
        ),
        (
            "sieve.max_connections_per_ip",
            config.sieve.max_connections_per_ip,
        ),
        (
            "imap.max_connections_per_ip",
            config.imap.max_connections_per_ip,
        ),
        ("auth.max_failures_per_ip", config.auth.max_failures_per_ip),
        (
            "auth.max_failures_per_account",
            config.auth.max_failures_per_account,
        ),
        (
            "auth.max_concurrent_hashes",
            config.auth.max_concurrent_hashes,
        ),
    ];
    for (key, value) in counts {
        if value == 0 {
            problems.at(key, "must be at least 1");
        }
    }

    let durations = [
        ("smtp.idle_timeout", config.smtp.idle_timeout),
        ("smtp.command_timeout", config.smtp.command_timeout),
        ("smtp.session_timeout", config.smtp.session_timeout),
        ("imap.idle_timeout", config.imap.idle_timeout),
        ("sieve.idle_timeout", config.sieve.idle_timeout),
        ("pop3.idle_timeout", config.pop3.idle_timeout),
        ("auth.failure_window", config.auth.failure_window),
        ("auth.lockout", config.auth.lockout),
        ("dns.timeout", config.dns.timeout),
    ];
    for (key, value) in durations {
        if value.0.is_zero() {
            problems.at(key, "must be at least 1s");
        }
    }

    // SIZE 0 would announce "no limit" (RFC 1870 4).
    if config.smtp.max_message_size.0 == 0 {
        problems.at("smtp.max_message_size", "must be at least 1 byte");
    }
    if config.smtp.min_data_rate.0 == 0 {
        problems.at("smtp.min_data_rate", "must be at least 1 byte");
    }
    if config.imap.max_message_size.0 == 0 {
        problems.at("imap.max_message_size", "must be at least 1 byte");
    }
}

fn check_antispam(config: &Config, problems: &mut Problems<'_, '_>) {
    let is_extension = |ext: &String| {
        ext.len() > 1
            && ext.starts_with('.')
            && ext[1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    for (key, extensions) in [
        (
            "antispam.blocked_attachments",
            &config.antispam.blocked_attachments,
        ),
        (
            "antispam.blocked_in_archives",
            &config.antispam.blocked_in_archives,
        ),
    ] {
        if let Some(bad) = extensions.iter().find(|ext| !is_extension(ext)) {
            problems.at(key, format!("`{bad}` is not an extension such as \".exe\""));
        }
    }
    for (key, zones) in [
        ("antispam.dnsbl", &config.antispam.dnsbl),
        ("antispam.dnswl", &config.antispam.dnswl),
    ] {
        if let Some(bad) = zones.iter().find(|zone| !is_dns_name(zone)) {
            problems.at(key, format!("`{bad}` is not a DNS zone name"));
        }
    }
    if config.antispam.timeout.0.is_zero() {
        problems.at("antispam.timeout", "must be at least 1s");
    }
    if config.antispam.max_size.0 == 0 {
        problems.at("antispam.max_size", "must be at least 1 byte");
    }
    check_waits(
        "antispam.learn_retry",
        &config.antispam.learn_retry,
        problems,
    );
    if config.antispam.rspamd_password.is_some() && config.antispam.rspamd_controller_url.is_empty()
    {
        problems.at(
            "antispam.rspamd_password",
            "is only used with antispam.rspamd_controller_url",
        );
    }
}

fn check_sieve(config: &Config, problems: &mut Problems<'_, '_>) {
    let sieve = &config.sieve;
    if sieve.max_script_size.0 == 0 {
        problems.at("sieve.max_script_size", "must be at least 1 byte");
    }
    if sieve.max_scripts_size < sieve.max_script_size {
        // On the line of the total if the file sets it, else of the one
        // script's size that outgrew the default total.
        let line_key = match problems.map.line_of("sieve.max_scripts_size") {
            Some(_) => "sieve.max_scripts_size",
            None => "sieve.max_script_size",
        };
        problems.at_line_of(
            "sieve.max_scripts_size",
            line_key,
            format!(
                "must be at least sieve.max_script_size ({})",
                sieve.max_script_size
            ),
        );
    }
}

fn check_retention(config: &Config, problems: &mut Problems<'_, '_>) {
    let retention = &config.retention;
    if retention.metadata.0.as_secs() < 86_400 {
        problems.at(
            "retention.metadata",
            format!("must be at least 1d, not {}", retention.metadata),
        );
    }
    let least = crate::defaults::retention_admin_log();
    if retention.admin_log < least {
        problems.at(
            "retention.admin_log",
            format!(
                "must be at least 6mo ({} days), not {}",
                least.0.as_secs() / 86_400,
                retention.admin_log
            ),
        );
    }
}

fn check_blobs(config: &Config, problems: &mut Problems<'_, '_>) {
    let blobs = &config.blobs;
    if blobs.gc_grace.0.as_secs() < 3600 {
        problems.at("blobs.gc_grace", "must be at least 1h");
    }
    if blobs
        .dir
        .as_ref()
        .is_some_and(|dir| dir.as_os_str().is_empty())
    {
        problems.at("blobs.dir", "must not be empty");
    }
    match &blobs.s3 {
        None if blobs.backend == Some(BlobBackend::S3) => problems.at_line_of(
            "blobs.s3",
            "blobs.backend",
            "required when blobs.backend is \"s3\"",
        ),
        None => {}
        Some(s3) => {
            if !(s3.endpoint.starts_with("http://") || s3.endpoint.starts_with("https://")) {
                problems.at("blobs.s3.endpoint", "must start with https:// or http://");
            }
            if s3.bucket.is_empty() {
                problems.at("blobs.s3.bucket", "must not be empty");
            }
            if s3.max_connections == 0 {
                problems.at("blobs.s3.max_connections", "must be at least 1");
            }
        }
    }
}

/// A list of waits between attempts: at least one, none shorter than 1s.
fn check_waits(key: &str, waits: &[HumanDuration], problems: &mut Problems<'_, '_>) {
    if waits.is_empty() {
        problems.at(key, "must list at least one wait");
    } else if waits.iter().any(|wait| wait.0.is_zero()) {
        problems.at(key, "each wait must be at least 1s");
    }
}

fn check_delivery(config: &Config, base: &Path, problems: &mut Problems<'_, '_>) {
    let delivery = &config.delivery;
    for (key, port) in [
        ("delivery.port", delivery.port),
        ("delivery.mta_sts_port", delivery.mta_sts_port),
    ] {
        if port == 0 {
            problems.at(key, "must be between 1 and 65535");
        }
    }
    if let Some(path) = &delivery.ca_file {
        check_file("delivery.ca_file", &base.join(path), problems);
    }
    if delivery.lifetime.0.is_zero() {
        problems.at("delivery.lifetime", "must be at least 1s");
    }
    check_waits("delivery.retry", &delivery.retry, problems);
    for (key, value) in [
        (
            "delivery.max_connections_per_domain",
            delivery.max_connections_per_domain,
        ),
        ("delivery.max_concurrent", delivery.max_concurrent),
    ] {
        if value == 0 {
            problems.at(key, "must be at least 1");
        }
    }
    match (&delivery.smarthost_user, &delivery.smarthost_password) {
        (Some(_), None) => problems.at_line_of(
            "delivery.smarthost_password",
            "delivery.smarthost_user",
            "required when delivery.smarthost_user is set",
        ),
        (None, Some(_)) => problems.at_line_of(
            "delivery.smarthost_user",
            "delivery.smarthost_password",
            "required when delivery.smarthost_password is set",
        ),
        (Some(_), Some(_)) if delivery.smarthost.is_none() => problems.at(
            "delivery.smarthost_user",
            "is only used with delivery.smarthost",
        ),
        _ => {}
    }
    for domain in delivery.routes.keys() {
        if !is_dns_name(domain) {
            problems.at(
                "delivery.routes",
                format!("`{domain}` is not a valid domain name"),
            );
        }
    }
}

fn check_tls(config: &Config, base: &Path, problems: &mut Problems<'_, '_>) {
    let tls = &config.tls;
    match (&tls.cert, &tls.key) {
        (Some(_), None) => {
            problems.at_line_of("tls.key", "tls.cert", "required when tls.cert is set");
        }
        (None, Some(_)) => {
            problems.at_line_of("tls.cert", "tls.key", "required when tls.key is set");
        }
        (Some(cert), Some(key)) => {
            for (name, path) in [("tls.cert", cert), ("tls.key", key)] {
                check_file(name, &base.join(path), problems);
            }
        }
        (None, None) => {}
    }
}

/// Reports `key` unless `path` is a readable file.
fn check_file(key: &str, path: &Path, problems: &mut Problems<'_, '_>) {
    match std::fs::File::open(path).and_then(|file| file.metadata()) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => problems.at(key, format!("`{}` is not a file", path.display())),
        Err(err) => problems.at(key, format!("cannot read `{}`: {err}", path.display())),
    }
}

fn check_mta_sts(config: &Config, problems: &mut Problems<'_, '_>) {
    let mta_sts = &config.mta_sts;
    for mx in &mta_sts.mx {
        if !is_dns_name(mx.strip_prefix("*.").unwrap_or(mx)) {
            problems.at(
                "mta_sts.mx",
                format!("`{mx}` is not a host name or `*.` and one"),
            );
        }
    }
    let max_age = mta_sts.max_age.0.as_secs();
    if max_age == 0 || max_age > defaults::MTA_STS_MAX_MAX_AGE {
        problems.at(
            "mta_sts.max_age",
            "must be between 1s and 365.25 days (31557600s)",
        );
    }
    if let Some(address) = &mta_sts.tls_rpt
        && !is_address(address)
    {
        problems.at(
            "mta_sts.tls_rpt",
            format!("`{address}` is not an e-mail address"),
        );
    }
}

fn check_listeners(config: &Config, problems: &mut Problems<'_, '_>) {
    let mut listeners: Vec<(&str, &[SocketAddr])> = Vec::new();
    if config.smtp.enabled {
        listeners.push(("smtp.listen_mx", &config.smtp.listen_mx));
        listeners.push(("smtp.listen_submission", &config.smtp.listen_submission));
        listeners.push(("smtp.listen_submissions", &config.smtp.listen_submissions));
    }
    if config.imap.enabled {
        listeners.push(("imap.listen", &config.imap.listen));
        listeners.push(("imap.listen_tls", &config.imap.listen_tls));
    }
    listeners.push(("pop3.listen", &config.pop3.listen));
    listeners.push(("pop3.listen_tls", &config.pop3.listen_tls));
    listeners.push(("sieve.listen", &config.sieve.listen));
    if config.admin.enabled {
        listeners.push(("admin.listen", &config.admin.listen));
    }
    // Defaults (no line) first, then in file order, so the key reported is
    // the one the operator wrote last.
    listeners.sort_by_key(|&(key, _)| problems.map.line_of(key));

    let mut taken: Vec<(SocketAddr, &str)> = Vec::new();
    for (key, addrs) in listeners {
        for &addr in addrs {
            match taken.iter().find(|&&(other, _)| overlaps(addr, other)) {
                Some(&(_, other_key)) if other_key == key => {
                    problems.at(key, format!("address {addr} is listed twice"));
                }
                Some(&(other, other_key)) if other == addr => {
                    problems.at(
                        key,
                        format!("address {addr} is already used by {other_key}"),
                    );
                }
                Some(&(other, other_key)) => problems.at(
                    key,
                    format!("address {addr} overlaps {other} used by {other_key}"),
                ),
                None => taken.push((addr, key)),
            }
        }
    }
}

/// Whether two listeners could not both be bound: the same port (other than
/// 0, "any free port") on the same address, or on a wildcard address that
/// covers the other (on Linux `[::]` covers IPv4 too).
fn overlaps(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_host_names() {
        for name in [
            "localhost",
            "mail.example.org",
            "MX-1.comune.esempio.pu.it",
            "a",
            "x1.y2",
        ] {
            assert!(is_dns_name(name), "{name}");
        }
    }

    #[test]
    fn rejects_non_host_names() {
        let long_label = "a".repeat(64);
        let long_name = ["abcdefghi"; 26].join(".");
        for name in [
            "",
            ".",
            "mail..example.org",
            "mail.example.org.",
            "-mail.example.org",
            "mail-.example.org",
            "mail_1.example.org",
            "mail example.org",
            "192.0.2.1",
            "::1",
            "posta.città.it",
            long_label.as_str(),
            long_name.as_str(),
        ] {
            assert!(!is_dns_name(name), "{name}");
        }
    }

    #[test]
    fn addresses() {
        for good in ["postmaster@example.org", "it.staff+pm@comune.esempio.pu.it"] {
            assert!(is_address(good), "{good}");
        }
        for bad in [
            "",
            "postmaster",
            "postmaster@",
            "@example.org",
            "postmaster@localhost",
            "a b@example.org",
            "a..b@example.org",
            "\"quoted\"@example.org",
            "niccolò@example.org",
            "a@b@example.org",
        ] {
            assert!(!is_address(bad), "{bad}");
        }
    }

    #[test]
    fn overlapping_listeners() {
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap_or_else(|_| panic!("{s}"));
        assert!(overlaps(addr("0.0.0.0:25"), addr("0.0.0.0:25")));
        assert!(overlaps(addr("127.0.0.1:25"), addr("0.0.0.0:25")));
        assert!(overlaps(addr("[::]:25"), addr("127.0.0.1:25")));
        assert!(!overlaps(addr("127.0.0.1:25"), addr("127.0.0.2:25")));
        assert!(!overlaps(addr("0.0.0.0:25"), addr("0.0.0.0:587")));
        assert!(!overlaps(addr("127.0.0.1:0"), addr("127.0.0.1:0")));
    }
}
