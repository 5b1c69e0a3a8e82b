//! The default of every key, one named function each.
//!
//! The `Default` impls of the schema and [`Config::embedded`] are built from
//! these functions, so each value is written once; `postino.example.toml`
//! repeats them for people and a test keeps it honest.
//!
//! [`Config::embedded`]: crate::Config::embedded

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use ipnet::IpNet;

use crate::duration::HumanDuration;
use crate::schema::Backend;
use crate::size::{ByteSize, KIB, MB};
use crate::validate::is_dns_name;

/// Files that may hold the machine's hostname, most authoritative first.
const HOSTNAME_FILES: [&str; 2] = ["/proc/sys/kernel/hostname", "/etc/hostname"];

/// Where the store and generated keys live: `/var/lib/postino`.
pub fn data_dir() -> PathBuf {
    PathBuf::from("/var/lib/postino")
}

/// The machine's hostname, or `localhost` when it cannot be read or is not a
/// plausible DNS name.
pub fn hostname() -> String {
    HOSTNAME_FILES
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .map(|text| text.trim().to_owned())
        .find(|name| is_dns_name(name))
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The embedded SQLite store.
pub fn store_backend() -> Backend {
    Backend::Sqlite
}

/// 16 connections to the store.
pub fn store_max_connections() -> u32 {
    16
}

/// Services run unless disabled.
pub fn enabled() -> bool {
    true
}

/// MX on every IPv4 address, port 25.
pub fn smtp_listen_mx() -> Vec<SocketAddr> {
    vec![any(25)]
}

/// Submission with STARTTLS on every IPv4 address, port 587.
pub fn smtp_listen_submission() -> Vec<SocketAddr> {
    vec![any(587)]
}

/// Submission with implicit TLS on every IPv4 address, port 465.
pub fn smtp_listen_submissions() -> Vec<SocketAddr> {
    vec![any(465)]
}

/// 50 MB per message.
pub fn smtp_max_message_size() -> ByteSize {
    ByteSize(50 * MB)
}

/// 1000 simultaneous SMTP connections.
pub fn smtp_max_connections() -> u32 {
    1000
}

/// 20 simultaneous SMTP connections from one IP address.
pub fn smtp_max_connections_per_ip() -> u32 {
    20
}

/// An SMTP client silent for 5 minutes is disconnected (RFC 5321 4.5.3.2.7).
pub fn smtp_idle_timeout() -> HumanDuration {
    HumanDuration::from_secs(5 * 60)
}

/// A command line must arrive whole within 5 minutes, the idle timeout: a
/// client sending one byte at a time cannot make it last longer.
pub fn smtp_command_timeout() -> HumanDuration {
    HumanDuration::from_secs(5 * 60)
}

/// Message content at 500 bytes a second or faster, as Postfix's
/// `smtpd_min_data_rate`: far below any real link, far above a trickle.
pub fn smtp_min_data_rate() -> ByteSize {
    ByteSize(500)
}

/// An SMTP session lasts at most an hour: enough for hundreds of messages
/// or one of the largest at a slow link's pace.
pub fn smtp_session_timeout() -> HumanDuration {
    HumanDuration::from_secs(3600)
}

/// The MX greets in two lines one second apart: bots that send at once give
/// themselves away, and mail servers, which wait for the last line, lose a
/// second per connection.
pub fn smtp_pregreet_wait() -> HumanDuration {
    HumanDuration::from_secs(1)
}

/// 100 recipients per message, RFC 5321 4.5.3.1.8's minimum.
pub fn smtp_max_recipients() -> u32 {
    100
}

/// 200 messages an hour per mailbox: more than any employee writes, far
/// less than a spammer with a stolen password would.
pub fn smtp_max_messages_per_hour() -> u32 {
    200
}

/// 1,000 distinct recipients a day per mailbox, likewise.
pub fn smtp_max_recipients_per_day() -> u32 {
    1000
}

/// 10 error replies before an SMTP session is closed.
pub fn smtp_max_errors() -> u32 {
    10
}

/// No AUTH in clear: only after TLS.
pub fn smtp_allow_plaintext_auth() -> bool {
    false
}

/// Bare LF line ends only from authenticated users and relay clients.
pub fn smtp_bare_newline_allow() -> Vec<IpNet> {
    Vec::new()
}

/// IMAP with STARTTLS on every IPv4 address, port 143.
pub fn imap_listen() -> Vec<SocketAddr> {
    vec![any(143)]
}

/// IMAP with implicit TLS on every IPv4 address, port 993.
pub fn imap_listen_tls() -> Vec<SocketAddr> {
    vec![any(993)]
}

/// 5000 simultaneous IMAP connections.
pub fn imap_max_connections() -> u32 {
    5000
}

/// 50 simultaneous IMAP connections from one IP address (one client keeps
/// several open).
pub fn imap_max_connections_per_ip() -> u32 {
    50
}

/// An IMAP client silent for 30 minutes is disconnected (RFC 9051 5.4).
pub fn imap_idle_timeout() -> HumanDuration {
    HumanDuration::from_secs(30 * 60)
}

/// 50 bad or failed IMAP commands close a session: clients probe more than
/// SMTP clients do (Dovecot closes after 20 bad commands in a row).
pub fn imap_max_errors() -> u32 {
    50
}

/// POP3 with STLS on every IPv4 address, port 110.
pub fn pop3_listen() -> Vec<SocketAddr> {
    vec![any(110)]
}

/// POP3 with implicit TLS on every IPv4 address, port 995.
pub fn pop3_listen_tls() -> Vec<SocketAddr> {
    vec![any(995)]
}

/// 1000 simultaneous POP3 connections: clients connect to download and
/// leave.
pub fn pop3_max_connections() -> u32 {
    1000
}

/// 50 simultaneous POP3 connections from one IP address, as for IMAP: a
/// comune's office often reaches the server through one address.
pub fn pop3_max_connections_per_ip() -> u32 {
    50
}

/// A POP3 client silent for 10 minutes is disconnected, the shortest
/// autologout timer RFC 1939 section 3 allows.
pub fn pop3_idle_timeout() -> HumanDuration {
    HumanDuration::from_secs(10 * 60)
}

/// The admin API and console on loopback, port 8080.
pub fn admin_listen() -> Vec<SocketAddr> {
    vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 8080))]
}

/// `/metrics` for loopback clients only: 127.0.0.0/8 and ::1.
pub fn admin_metrics_allow() -> Vec<IpNet> {
    vec![
        IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8),
        IpNet::new_assert(IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
    ]
}

/// 10 failed logins from one IP address within the window.
pub fn auth_max_failures_per_ip() -> u32 {
    10
}

/// 10 failed logins for one account within the window.
pub fn auth_max_failures_per_account() -> u32 {
    10
}

/// Failed logins count for 15 minutes.
pub fn auth_failure_window() -> HumanDuration {
    HumanDuration::from_secs(15 * 60)
}

/// A throttled IP address or account waits 15 minutes.
pub fn auth_lockout() -> HumanDuration {
    HumanDuration::from_secs(15 * 60)
}

/// 2 argon2 computations at once.
pub fn auth_max_concurrent_hashes() -> u32 {
    2
}

/// No nameservers of our own: the system's `/etc/resolv.conf`.
pub fn dns_nameservers() -> Vec<SocketAddr> {
    Vec::new()
}

/// A DNS query waits 5 seconds for its answer, the top of the 2-5 second
/// retransmission interval of RFC 1123 6.1.3.3.
pub fn dns_timeout() -> HumanDuration {
    HumanDuration::from_secs(5)
}

/// Other servers' MX hosts listen on port 25.
pub fn delivery_port() -> u16 {
    25
}

/// MTA-STS policies are served over HTTPS (RFC 8461 §3.3).
pub fn delivery_mta_sts_port() -> u16 {
    443
}

/// The longest `max_age` an MTA-STS policy may have (RFC 8461 §3.2).
pub const MTA_STS_MAX_MAX_AGE: u64 = 31_557_600;

/// A published MTA-STS policy may be cached for a week, the RFC's example
/// (RFC 8461 §3.2): long enough to protect, short enough to change.
pub fn mta_sts_max_age() -> HumanDuration {
    HumanDuration::from_secs(7 * 86_400)
}

/// A message is retried for 5 days, the usual maximum (RFC 5321 4.5.4.1
/// asks for at least 4-5 days).
pub fn delivery_lifetime() -> HumanDuration {
    HumanDuration::from_secs(5 * 86_400)
}

/// Retries after 1, 5, 15 and 30 minutes, then 1, 2 and every 4 hours.
pub fn delivery_retry() -> Vec<HumanDuration> {
    [60, 300, 900, 1800, 3600, 7200, 14_400]
        .into_iter()
        .map(HumanDuration::from_secs)
        .collect()
}

/// A sender hears after 4 hours that a message is still being retried, as
/// with sendmail's `Timeout.queuewarn`.
pub fn delivery_delay_notice() -> HumanDuration {
    HumanDuration::from_secs(4 * 3600)
}

/// 5 connections at once to one destination domain.
pub fn delivery_max_connections_per_domain() -> u32 {
    5
}

/// 50 deliveries at once.
pub fn delivery_max_concurrent() -> u32 {
    50
}

/// Programs, scripts and disk images: what phishing carries and offices
/// never need to receive by mail.
pub fn antispam_blocked_attachments() -> Vec<String> {
    [
        ".exe", ".scr", ".com", ".bat", ".cmd", ".js", ".vbs", ".jar", ".msi", ".iso", ".img",
    ]
    .map(str::to_string)
    .to_vec()
}

/// The macro-enabled Office formats (Word, Excel, PowerPoint), which
/// phishing sends inside archives, where scanners cannot see the macro.
pub fn antispam_blocked_in_archives() -> Vec<String> {
    [
        ".docm", ".dotm", ".xlsm", ".xltm", ".xlam", ".pptm", ".potm", ".ppam", ".ppsm", ".sldm",
    ]
    .map(str::to_string)
    .to_vec()
}

/// No DNS lists: which to use, and under which terms, is the operator's choice.
pub fn antispam_dns_lists() -> Vec<String> {
    Vec::new()
}

/// A scan may take 15 seconds: rspamd's own DNS look-ups are bounded
/// well inside that, and the client waits for the reply anyway.
pub fn antispam_timeout() -> HumanDuration {
    HumanDuration::from_secs(15)
}

/// Messages up to 20 MB are scanned; spam is small, and larger mail (scans
/// of documents between offices) would only slow the scanner down.
pub fn antispam_max_size() -> ByteSize {
    ByteSize(20 * MB)
}

/// A message users filed is taught to rspamd again after 1, 5 and 30
/// minutes, 2, 6 and 12 hours, then given up: about a day without a
/// controller, and a lesson that late is worth little.
pub fn antispam_learn_retry() -> Vec<HumanDuration> {
    [60, 300, 1800, 7200, 21_600, 43_200]
        .into_iter()
        .map(HumanDuration::from_secs)
        .collect()
}

fn any(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))
}

/// Junk and Trash keep a message 30 days, as most webmails do.
pub fn antispam_junk_retention() -> HumanDuration {
    HumanDuration::from_secs(30 * 86_400)
}

/// Employee mail metadata: 21 days, the Garante's limit without a union
/// agreement.
pub fn retention_metadata() -> HumanDuration {
    HumanDuration::from_secs(21 * 86_400)
}

/// The administrators' logs: six months, the Garante's minimum.
pub fn retention_admin_log() -> HumanDuration {
    HumanDuration::from_secs(180 * 86_400)
}

/// A day: long enough to back up the database and then the bodies.
pub fn blobs_gc_grace() -> HumanDuration {
    HumanDuration::from_secs(86_400)
}

pub fn blobs_s3_region() -> String {
    "us-east-1".to_owned()
}

pub fn blobs_s3_max_connections() -> u32 {
    32
}

/// ManageSieve's port (RFC 5804 §1.8), unprivileged: the embedded
/// default takes it as it is.
pub const SIEVE_PORT: u16 = 4190;

/// ManageSieve with STARTTLS on every IPv4 address, port 4190, as Dovecot.
pub fn sieve_listen() -> Vec<SocketAddr> {
    vec![any(SIEVE_PORT)]
}

/// 1000 simultaneous ManageSieve connections: clients connect only while
/// someone edits a filter.
pub fn sieve_max_connections() -> u32 {
    1000
}

/// 10 simultaneous ManageSieve connections from one IP address.
pub fn sieve_max_connections_per_ip() -> u32 {
    10
}

/// A ManageSieve client silent for 30 minutes is disconnected, as an IMAP
/// one.
pub fn sieve_idle_timeout() -> HumanDuration {
    HumanDuration::from_secs(30 * 60)
}

/// A script as large as the Sieve engine's own default limit: far more
/// than the filters and vacation messages people write or generate.
pub fn sieve_max_script_size() -> ByteSize {
    ByteSize(64 * KIB)
}

/// Room for a few scripts of the largest size.
pub fn sieve_max_scripts_size() -> ByteSize {
    ByteSize(256 * KIB)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_is_always_a_dns_name() {
        assert!(is_dns_name(&hostname()));
    }
}
