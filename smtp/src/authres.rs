//! Inbound message authentication: SPF (RFC 7208), DKIM (RFC 6376), ARC
//! (RFC 8617) and DMARC (RFC 7489) checks of a message received on the MX
//! listener, reported in one `Authentication-Results` header field (RFC 8601)
//! that we prepend; and removal of the fields that claim to come from us
//! (RFC 8601 §5).
//!
//! The checks are mail-auth's and so is the wording of each result; this
//! module adds the resolver set-up, time limits, folding and the removal of
//! forged results. It reads DNS and nothing else: no store, no session state.
//! A DNS failure or a check out of time is a `temperror` result, never an
//! error: the message is still accepted, and what to do with it is for
//! whoever reads the header.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts,
};
use mail_auth::hickory_resolver::net::NetError;
use mail_auth::hickory_resolver::system_conf::read_system_conf;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    ArcOutput, AuthenticatedMessage, AuthenticationResults, DkimOutput, DkimResult, DmarcOutput,
    DmarcResult, DnsError, Error as AuthError, MessageAuthenticator, SpfOutput, SpfResult,
};
use tokio::time::Instant;

/// The header field we write and strip.
const FIELD_NAME: &str = "Authentication-Results";
/// Header lines longer than this are folded where they have a space
/// (RFC 5322 §2.1.1).
const FOLD_AT: usize = 78;

/// Why a [`Verifier`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum VerifierError {
    /// No nameservers were configured and the system's could not be read.
    #[error("cannot read the system's resolver configuration (/etc/resolv.conf)")]
    SystemConfig(#[source] NetError),
    /// The resolver refused its configuration.
    #[error("cannot build the DNS resolver")]
    Resolver(#[source] NetError),
}

/// Checks inbound messages and writes their `Authentication-Results`.
///
/// Built once at start; cheap to share, as it only holds a resolver (with
/// its cache) and our host name.
pub struct Verifier {
    authenticator: MessageAuthenticator,
    /// Our host name: the authserv-id of the results we write (RFC 8601
    /// §2.5).
    hostname: String,
    /// Time allowed to all the checks of one message together: one DNS
    /// timeout. RFC 7208 §4.6.4 would let SPF alone take 20 seconds, but
    /// then a resolver that stopped answering would hold every message,
    /// and its session, that long; a check out of time is a `temperror`.
    check_time: Duration,
}

/// A resolver asking `nameservers` over UDP and TCP, or the system's
/// (`/etc/resolv.conf`) when the list is empty, each query waiting at most
/// `timeout`; shared by the checks here and by outbound MX look-ups.
pub(crate) fn resolver(
    nameservers: &[SocketAddr],
    timeout: Duration,
) -> Result<MessageAuthenticator, VerifierError> {
    let (config, mut options) = if nameservers.is_empty() {
        read_system_conf().map_err(VerifierError::SystemConfig)?
    } else {
        let servers = nameservers.iter().map(|addr| {
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
        });
        (
            ResolverConfig::from_name_servers(servers.collect()),
            ResolverOpts::default(),
        )
    };
    options.timeout = timeout;
    MessageAuthenticator::new(config, options).map_err(VerifierError::Resolver)
}

impl Verifier {
    /// A verifier writing results as `hostname`, asking `nameservers` over
    /// UDP and TCP, or the system's nameservers (`/etc/resolv.conf`) when the
    /// list is empty. Each query waits at most `timeout` for its answer.
    pub fn new(
        hostname: &str,
        nameservers: &[SocketAddr],
        timeout: Duration,
    ) -> Result<Verifier, VerifierError> {
        Ok(Verifier {
            authenticator: resolver(nameservers, timeout)?,
            hostname: hostname.to_owned(),
            check_time: timeout,
        })
    }

    /// Checks SPF (MAIL FROM and HELO identities), DKIM, ARC and DMARC for
    /// `message`, received from `ip` which said `helo` and
    /// `MAIL FROM:<mail_from>` (empty for the null sender), and returns the
    /// whole `Authentication-Results:` field, folded, ending in CRLF.
    ///
    /// SPF, DKIM and ARC run at once, then DMARC, which needs their results;
    /// both rounds share one deadline, one DNS timeout away, so a slow or
    /// silent DNS delays the message by at most that and gives `temperror`
    /// results. These are the only DNS look-ups of the inbound path.
    pub async fn authentication_results(
        &self,
        ip: IpAddr,
        helo: &str,
        mail_from: &str,
        message: &[u8],
    ) -> String {
        let auth = &self.authenticator;
        let host = self.hostname.as_str();
        // A message without a header section has nothing to check but SPF.
        let parsed = AuthenticatedMessage::parse(message).unwrap_or_default();
        // RFC 7208 §2.4: with the null sender, the MAIL FROM identity is
        // postmaster at the HELO domain, whose check is the HELO check.
        let null_sender_identity = format!("postmaster@{helo}");
        let mail_from_identity = if mail_from.is_empty() {
            null_sender_identity.as_str()
        } else {
            mail_from
        };
        let mail_from_domain = domain_of(mail_from).unwrap_or(helo);

        let deadline = Instant::now() + self.check_time;
        let helo_check = within(
            deadline,
            auth.verify_spf(SpfParameters::verify_ehlo(ip, helo, host)),
            || spf_temperror(helo),
        );
        let mail_from_check = async {
            if mail_from.is_empty() {
                return None;
            }
            let params = SpfParameters::verify_mail_from(ip, helo, host, mail_from);
            let check = within(deadline, auth.verify_spf(params), || {
                spf_temperror(mail_from_domain)
            });
            Some(check.await)
        };
        let dkim_check = within(deadline, auth.verify_dkim(&parsed), || {
            vec![DkimOutput::temp_err(timed_out())]
        });
        let arc_check = within(deadline, auth.verify_arc(&parsed), || {
            ArcOutput::default().with_result(DkimResult::TempError(timed_out()))
        });
        let (helo_spf, mail_from_spf, dkim, arc) =
            tokio::join!(helo_check, mail_from_check, dkim_check, arc_check);
        let mail_from_spf = mail_from_spf.unwrap_or_else(|| helo_spf.clone());

        let author_domain = parsed
            .from
            .first()
            .and_then(|from| domain_of(from))
            .unwrap_or_default();
        let params = DmarcParameters::new(&parsed, &dkim, mail_from_domain, &mail_from_spf);
        let dmarc = within(deadline, auth.verify_dmarc(params), || {
            DmarcOutput::new(author_domain.to_owned())
                .with_spf_result(DmarcResult::TempError(timed_out()))
                .with_dkim_result(DmarcResult::TempError(timed_out()))
        })
        .await;

        let mut results = AuthenticationResults::new(host).with_spf_mailfrom_result(
            &mail_from_spf,
            ip,
            mail_from_identity,
            helo,
        );
        if !helo.is_empty() {
            results = results.with_spf_ehlo_result(&helo_spf, ip, helo);
        }
        // An empty authserv-id gives the clauses alone, to go after ours.
        // mail-auth writes no clause for a message without signatures, and
        // an empty header.from for one without a single From domain; RFC
        // 8601 §2.7 has a bare "none" for both.
        let dkim = if dkim.is_empty() {
            ";\r\n\tdkim=none".to_owned()
        } else {
            let from = parsed.from.first().map_or("", String::as_str);
            AuthenticationResults::new("")
                .with_dkim_results(&dkim, from)
                .to_string()
        };
        let arc = AuthenticationResults::new("").with_arc_result(&arc, ip);
        let dmarc = if dmarc.domain().is_empty() {
            ";\r\n\tdmarc=none".to_owned()
        } else {
            AuthenticationResults::new("")
                .with_dmarc_result(&dmarc)
                .to_string()
        };
        fold(&format!("{FIELD_NAME}: {results}{dkim}{arc}{dmarc}\r\n"))
    }
}

/// Runs `check` until `deadline`, then gives up with `expired()`.
async fn within<T>(
    deadline: Instant,
    check: impl Future<Output = T>,
    expired: impl FnOnce() -> T,
) -> T {
    tokio::time::timeout_at(deadline, check)
        .await
        .unwrap_or_else(|_| expired())
}

fn spf_temperror(domain: &str) -> SpfOutput {
    SpfOutput::new(domain.to_owned()).with_result(SpfResult::TempError)
}

/// The error of a check out of time: a DNS failure, as the results say.
fn timed_out() -> AuthError {
    AuthError::Dns(DnsError::Resolver("timed out".to_owned()))
}

/// The domain of an address, if it has one.
fn domain_of(address: &str) -> Option<&str> {
    address
        .rsplit_once('@')
        .map(|(_, domain)| domain)
        .filter(|domain| !domain.is_empty())
}

/// Folds every line of `field` longer than [`FOLD_AT`] before a space, so
/// that unfolding (RFC 5322 §2.2.3) gives back exactly `field`. A line
/// without a usable space stays long; mail-auth's lines stay well under the
/// 998-byte limit.
fn fold(field: &str) -> String {
    let mut folded = String::with_capacity(field.len() + field.len() / FOLD_AT * 3);
    let body = field.strip_suffix("\r\n").unwrap_or(field);
    for (index, line) in body.split("\r\n").enumerate() {
        if index > 0 {
            folded.push_str("\r\n");
        }
        let mut rest = line;
        while rest.len() > FOLD_AT {
            let Some(at) = fold_point(rest) else {
                break;
            };
            let (head, tail) = rest.split_at(at);
            folded.push_str(head);
            folded.push_str("\r\n");
            rest = tail;
        }
        folded.push_str(rest);
    }
    folded.push_str("\r\n");
    folded
}

/// Where to break `line`: before the last space that leaves at most
/// [`FOLD_AT`] bytes on this line, or failing that the first space after,
/// with text on both sides so that neither line is only white space.
fn fold_point(line: &str) -> Option<usize> {
    let text_from = line.len() - line.trim_start_matches([' ', '\t']).len();
    let usable = |&(at, byte): &(usize, u8)| {
        (byte == b' ' || byte == b'\t')
            && at > text_from
            && !line[at..].trim_start_matches([' ', '\t']).is_empty()
    };
    let mut spaces = line.bytes().enumerate().filter(usable);
    let mut best = None;
    for (at, _) in spaces.by_ref() {
        if at > FOLD_AT && best.is_some() {
            break;
        }
        best = Some(at);
        if at > FOLD_AT {
            break;
        }
    }
    best
}

/// Removes from `message`'s header section every `Authentication-Results`
/// field whose authserv-id is `hostname` (ASCII case-insensitive): only we
/// may write those (RFC 8601 §5). Everything else, the body included, is
/// kept byte for byte.
pub fn strip_forged_results(message: &[u8], hostname: &str) -> Vec<u8> {
    crate::header::without_fields(message, |field| is_forged_result(field, hostname))
}

/// Whether `field` is an `Authentication-Results` field with authserv-id
/// `hostname`, which only we may write.
pub(crate) fn is_forged_result(field: &[u8], hostname: &str) -> bool {
    let Some((name, value)) = crate::header::split_field(field) else {
        return false;
    };
    if !name.eq_ignore_ascii_case(FIELD_NAME.as_bytes()) {
        return false;
    }
    // A trailing dot names the same host.
    let ours = hostname.trim_end_matches('.').as_bytes();
    authserv_id(value).is_some_and(|id| {
        let id = id.strip_suffix(b".").unwrap_or(&id);
        id.eq_ignore_ascii_case(ours)
    })
}

/// The authserv-id at the start of an `Authentication-Results` value
/// (RFC 8601 §2.2: `[CFWS] authserv-id`, a token or a quoted-string),
/// unquoted.
fn authserv_id(value: &[u8]) -> Option<Vec<u8>> {
    let value = skip_cfws(value)?;
    if let Some(quoted) = value.strip_prefix(b"\"") {
        let mut id = Vec::new();
        let mut bytes = quoted.iter();
        while let Some(&byte) = bytes.next() {
            match byte {
                b'"' => return Some(id),
                b'\\' => id.push(*bytes.next()?),
                b'\r' | b'\n' => {}
                _ => id.push(byte),
            }
        }
        return None;
    }
    let end = value
        .iter()
        .position(|&b| b.is_ascii_whitespace() || matches!(b, b';' | b'(' | b'"'))
        .unwrap_or(value.len());
    (end > 0).then(|| value[..end].to_vec())
}

/// `value` after any leading white space and comments (RFC 5322 §3.2.2,
/// nested, with quoted-pairs); `None` if a comment is not closed.
fn skip_cfws(mut value: &[u8]) -> Option<&[u8]> {
    loop {
        value = value.trim_ascii_start();
        if value.first() != Some(&b'(') {
            return Some(value);
        }
        let mut depth = 0usize;
        let mut end = None;
        let mut index = 0;
        while index < value.len() {
            match value[index] {
                b'\\' => index += 1,
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(index + 1);
                        break;
                    }
                }
                _ => {}
            }
            index += 1;
        }
        value = &value[end?..];
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, UdpSocket as StdUdpSocket};
    use std::time::Instant as StdInstant;

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use mail_auth::arc::ArcSealer;
    use mail_auth::common::crypto::Ed25519Key;
    use mail_auth::common::headers::HeaderWriter;
    use mail_auth::dkim::DkimSigner;
    use postino_tests::dns::DnsStub;

    use super::*;

    const HOST: &str = "mx.postino.test";
    const QUERY_TIMEOUT: Duration = Duration::from_secs(1);
    /// The longest one test may run.
    const TEST_LIMIT: Duration = Duration::from_secs(60);
    const LISTED: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    const UNLISTED: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 99));

    const MESSAGE: &str = "From: Anna <anna@example.org>\r\n\
        To: bob@postino.test\r\n\
        Subject: Delibera di giunta\r\n\
        Date: Mon, 3 Mar 2025 10:00:00 +0100\r\n\
        Message-ID: <1@example.org>\r\n\
        \r\n\
        Allegato il testo.\r\n";

    async fn limited<F: Future>(test: F) -> F::Output {
        tokio::time::timeout(TEST_LIMIT, test)
            .await
            .expect("test took too long")
    }

    /// A stub serving `example.org`'s SPF record.
    async fn stub_with_spf() -> DnsStub {
        let stub = DnsStub::start().await.expect("start DNS stub");
        stub.add_txt("example.org", "v=spf1 ip4:127.0.0.1 -all");
        stub
    }

    fn verifier(stub: &DnsStub) -> Verifier {
        Verifier::new(HOST, &[stub.addr()], QUERY_TIMEOUT).expect("verifier")
    }

    /// `MESSAGE` signed by `example.org` with a new Ed25519 key whose public
    /// half `stub` publishes under selector `sel`. The record carries a long
    /// note, so it has more than one character-string.
    fn signed_message(stub: &DnsStub) -> Vec<u8> {
        let pkcs8 = Ed25519Key::generate_pkcs8().expect("generate key");
        let key = Ed25519Key::from_pkcs8_der(&pkcs8).expect("load key");
        let record = format!(
            "v=DKIM1; k=ed25519; n={}; p={}",
            "x".repeat(300),
            BASE64.encode(key.public_key())
        );
        stub.add_txt("sel._domainkey.example.org", &record);
        let signature = DkimSigner::from_key(key)
            .domain("example.org")
            .selector("sel")
            .headers(["From", "To", "Subject", "Date", "Message-ID"])
            .sign(MESSAGE.as_bytes())
            .expect("sign");
        let mut message = signature.to_header().into_bytes();
        message.extend_from_slice(MESSAGE.as_bytes());
        message
    }

    /// The result of every `method=` clause in `field`, in order.
    fn result_of(field: &str, method: &str) -> Vec<String> {
        let unfolded = field.replace("\r\n", "");
        let needle = format!("{method}=");
        unfolded
            .split(';')
            .skip(1)
            .filter_map(|clause| clause.trim_start().strip_prefix(&needle))
            .filter_map(|value| value.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    }

    /// Asserts that `field` is one well-formed header field ending in CRLF.
    #[track_caller]
    fn assert_well_formed(field: &str) {
        assert!(field.starts_with("Authentication-Results: mx.postino.test;"));
        assert!(field.ends_with("\r\n"), "{field:?}");
        let body = &field[..field.len() - 2];
        for (index, line) in body.split("\r\n").enumerate() {
            assert!(!line.contains(['\r', '\n']), "{field:?}");
            assert!(line.len() <= FOLD_AT, "line too long in {field:?}");
            if index > 0 {
                assert!(line.starts_with([' ', '\t']), "{field:?}");
                assert!(!line.trim().is_empty(), "{field:?}");
            }
        }
    }

    #[tokio::test]
    async fn spf_passes_for_a_listed_address() {
        limited(async {
            let stub = stub_with_spf().await;
            let field = verifier(&stub)
                .authentication_results(
                    LISTED,
                    "mail.example.org",
                    "anna@example.org",
                    MESSAGE.as_bytes(),
                )
                .await;
            assert_well_formed(&field);
            // The MAIL FROM identity passes; mail.example.org has no record.
            assert_eq!(result_of(&field, "spf"), ["pass", "none"], "{field}");
            assert!(field.contains("smtp.mailfrom=anna@example.org"), "{field}");
            assert!(field.contains("smtp.helo=mail.example.org"), "{field}");
            assert_eq!(result_of(&field, "dkim"), ["none"], "{field}");
            assert_eq!(result_of(&field, "arc"), ["none"], "{field}");
            // No DMARC record published.
            assert_eq!(result_of(&field, "dmarc"), ["none"], "{field}");
        })
        .await;
    }

    #[tokio::test]
    async fn spf_fails_for_an_unlisted_address() {
        limited(async {
            let stub = stub_with_spf().await;
            stub.add_txt("example.org", "unrelated text");
            let field = verifier(&stub)
                .authentication_results(
                    UNLISTED,
                    "example.org",
                    "anna@example.org",
                    MESSAGE.as_bytes(),
                )
                .await;
            assert_well_formed(&field);
            assert_eq!(result_of(&field, "spf"), ["fail", "fail"], "{field}");
            assert!(field.contains("127.0.0.99"), "{field}");
        })
        .await;
    }

    #[tokio::test]
    async fn null_sender_is_checked_as_postmaster_at_helo() {
        limited(async {
            let stub = stub_with_spf().await;
            let field = verifier(&stub)
                .authentication_results(LISTED, "example.org", "", MESSAGE.as_bytes())
                .await;
            assert_well_formed(&field);
            assert_eq!(result_of(&field, "spf"), ["pass", "pass"], "{field}");
            assert!(
                field.contains("smtp.mailfrom=postmaster@example.org"),
                "{field}"
            );
        })
        .await;
    }

    #[tokio::test]
    async fn dkim_passes_for_a_published_key_and_dmarc_aligns() {
        limited(async {
            let stub = DnsStub::start().await.expect("start DNS stub");
            stub.add_txt("example.org", "v=spf1 -all");
            stub.add_txt("_dmarc.example.org", "v=DMARC1; p=reject");
            let message = signed_message(&stub);
            let field = verifier(&stub)
                .authentication_results(UNLISTED, "relay.example.net", "anna@example.org", &message)
                .await;
            assert_well_formed(&field);
            assert_eq!(result_of(&field, "spf")[0], "fail", "{field}");
            assert_eq!(result_of(&field, "dkim"), ["pass"], "{field}");
            assert!(field.contains("header.d=example.org"), "{field}");
            assert!(field.contains("header.s=sel"), "{field}");
            // SPF failed, but the aligned DKIM signature passes DMARC.
            assert_eq!(result_of(&field, "dmarc"), ["pass"], "{field}");
            assert!(field.contains("header.from=example.org"), "{field}");
            assert!(field.contains("policy.dmarc=reject"), "{field}");
        })
        .await;
    }

    #[tokio::test]
    async fn dmarc_passes_on_aligned_spf() {
        limited(async {
            let stub = stub_with_spf().await;
            stub.add_txt("_dmarc.example.org", "v=DMARC1; p=quarantine");
            let field = verifier(&stub)
                .authentication_results(
                    LISTED,
                    "mail.example.org",
                    "bounces@example.org",
                    MESSAGE.as_bytes(),
                )
                .await;
            assert_well_formed(&field);
            assert_eq!(result_of(&field, "dmarc"), ["pass"], "{field}");
            assert!(field.contains("policy.dmarc=quarantine"), "{field}");

            // From a listed address, but for another domain: not aligned.
            stub.add_txt("other.example", "v=spf1 ip4:127.0.0.1 -all");
            let field = verifier(&stub)
                .authentication_results(
                    LISTED,
                    "mail.example.org",
                    "bounces@other.example",
                    MESSAGE.as_bytes(),
                )
                .await;
            assert_eq!(result_of(&field, "spf")[0], "pass", "{field}");
            assert_eq!(result_of(&field, "dmarc"), ["fail"], "{field}");
        })
        .await;
    }

    #[tokio::test]
    async fn a_silent_nameserver_gives_temperror_in_bounded_time() {
        limited(async {
            // A port where nothing listens, and one where a socket takes the
            // queries but never answers.
            let closed = StdUdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
                .and_then(|socket| socket.local_addr())
                .expect("free port");
            let black_hole = StdUdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
            let silent = black_hole.local_addr().expect("address");
            // Sign with a key no server will ever be asked for.
            let stub = DnsStub::start().await.expect("start DNS stub");
            let message = signed_message(&stub);
            for nameserver in [closed, silent] {
                let verifier = Verifier::new(HOST, &[nameserver], QUERY_TIMEOUT).expect("verifier");
                let started = StdInstant::now();
                let field = verifier
                    .authentication_results(
                        LISTED,
                        "mail.example.org",
                        "anna@example.org",
                        &message,
                    )
                    .await;
                let elapsed = started.elapsed();
                assert_well_formed(&field);
                assert_eq!(
                    result_of(&field, "spf"),
                    ["temperror", "temperror"],
                    "{field}"
                );
                assert_eq!(result_of(&field, "dkim"), ["temperror"], "{field}");
                assert_eq!(result_of(&field, "dmarc"), ["temperror"], "{field}");
                // One query timeout for every check of the message, with a
                // margin for a loaded machine, not one per check or round.
                assert!(
                    elapsed < QUERY_TIMEOUT + QUERY_TIMEOUT / 2,
                    "took {elapsed:?} with {nameserver}"
                );
            }
        })
        .await;
    }

    #[tokio::test]
    async fn a_message_without_headers_still_gets_results() {
        limited(async {
            let stub = stub_with_spf().await;
            let field = verifier(&stub)
                .authentication_results(LISTED, "mail.example.org", "anna@example.org", b"")
                .await;
            assert_well_formed(&field);
            assert_eq!(result_of(&field, "spf")[0], "pass", "{field}");
            assert_eq!(result_of(&field, "dkim"), ["none"], "{field}");
            assert_eq!(result_of(&field, "dmarc"), ["none"], "{field}");
            assert!(field.ends_with("dmarc=none\r\n"), "{field}");
        })
        .await;
    }

    #[tokio::test]
    async fn arc_passes_for_a_sealed_forward() {
        limited(async {
            let stub = DnsStub::start().await.expect("start DNS stub");
            let message = signed_message(&stub);
            let verifier = verifier(&stub);

            // forwarder.example checks the message and seals its results.
            let pkcs8 = Ed25519Key::generate_pkcs8().expect("generate key");
            let key = Ed25519Key::from_pkcs8_der(&pkcs8).expect("load key");
            let record = format!("v=DKIM1; k=ed25519; p={}", BASE64.encode(key.public_key()));
            stub.add_txt("arc._domainkey.forwarder.example", &record);
            let parsed = AuthenticatedMessage::parse(&message).expect("parse");
            let auth = &verifier.authenticator;
            let arc = auth.verify_arc(&parsed).await;
            let dkim = auth.verify_dkim(&parsed).await;
            let results = AuthenticationResults::new("forwarder.example")
                .with_dkim_results(&dkim, "anna@example.org")
                .with_arc_result(&arc, LISTED);
            let set = ArcSealer::from_key(key)
                .domain("forwarder.example")
                .selector("arc")
                .headers(["From", "To", "Subject", "DKIM-Signature"])
                .seal(&parsed, &results, &arc)
                .expect("seal");
            let mut forwarded = set.to_header().into_bytes();
            forwarded.extend_from_slice(&message);

            let field = verifier
                .authentication_results(
                    UNLISTED,
                    "forwarder.example",
                    "anna@example.org",
                    &forwarded,
                )
                .await;
            assert_well_formed(&field);
            assert_eq!(result_of(&field, "arc"), ["pass"], "{field}");
            assert_eq!(result_of(&field, "dkim"), ["pass"], "{field}");
        })
        .await;
    }

    #[tokio::test]
    async fn peer_supplied_identities_cannot_break_the_header() {
        limited(async {
            let stub = stub_with_spf().await;
            let field = verifier(&stub)
                .authentication_results(
                    LISTED,
                    "evil\r\nX-Injected: 1",
                    "a\"b\r\nX-Injected: 2@example.org",
                    MESSAGE.as_bytes(),
                )
                .await;
            assert_well_formed(&field);
            assert!(!field.contains("\r\nX-Injected"), "{field}");
        })
        .await;
    }

    #[test]
    fn long_lines_are_folded_before_a_space() {
        let field = format!(
            "{FIELD_NAME}: {HOST};\r\n\tspf=pass ({HOST}: domain of someone.with.a.long.name@example.org designates 127.0.0.1 as permitted sender) smtp.mailfrom=someone.with.a.long.name@example.org\r\n"
        );
        let folded = fold(&field);
        assert_ne!(folded, field);
        assert_eq!(folded.replace("\r\n ", " "), field);
        for line in folded.trim_end().split("\r\n") {
            assert!(line.len() <= FOLD_AT, "{line:?}");
        }
        // A line without spaces is left alone; trailing spaces stay put.
        let unbreakable = format!("X:{}\r\n", "a".repeat(100));
        assert_eq!(fold(&unbreakable), unbreakable);
        let trailing = format!("X:{}   \r\n", "a".repeat(100));
        assert_eq!(fold(&trailing), trailing);
    }

    #[test]
    fn strip_removes_only_our_results() {
        let message = b"Received: from a by b; Mon, 3 Mar 2025 10:00:00 +0100\r\n\
            Authentication-Results: MX.Postino.Test; spf=pass\r\n\
            \tsmtp.mailfrom=anna@example.org\r\n\
            Authentication-Results: mx.example.net; dkim=pass\r\n\
            authentication-results :  (forged)\r\n (still forged) mx.postino.test.\r\n  1; none\r\n\
            Authentication-Results: \"mx.postino.test\"; dmarc=pass\r\n\
            Authentication-Results: mx.postino.test.evil; arc=pass\r\n\
            Subject: Authentication-Results: mx.postino.test; x\r\n\
            \r\n\
            Authentication-Results: mx.postino.test; in the body\r\n";
        let stripped = strip_forged_results(message, HOST);
        assert_eq!(
            String::from_utf8_lossy(&stripped),
            "Received: from a by b; Mon, 3 Mar 2025 10:00:00 +0100\r\n\
             Authentication-Results: mx.example.net; dkim=pass\r\n\
             Authentication-Results: mx.postino.test.evil; arc=pass\r\n\
             Subject: Authentication-Results: mx.postino.test; x\r\n\
             \r\n\
             Authentication-Results: mx.postino.test; in the body\r\n"
        );
    }

    #[test]
    fn strip_keeps_other_messages_byte_for_byte() {
        let cases: [&[u8]; 6] = [
            b"",
            b"Subject: no body",
            b"Subject: hi\n\nbare LF body\n",
            b"Authentication-Results: mx.example.net;\n\tspf=fail\n\nAuthentication-Results: mx.postino.test; x\n",
            b"\r\nAuthentication-Results: mx.postino.test; only a body\r\n",
            b"Authentication-Results: (unclosed comment mx.postino.test; x\r\n\r\n",
        ];
        for message in cases {
            assert_eq!(
                strip_forged_results(message, HOST),
                message,
                "{}",
                String::from_utf8_lossy(message)
            );
        }
        // Bare LF line endings and a field at the very end of the input.
        assert_eq!(
            strip_forged_results(
                b"From: a@b\nAuthentication-Results: mx.postino.test;\n spf=pass",
                HOST
            ),
            b"From: a@b\n"
        );
    }

    #[test]
    fn authserv_ids_are_read_past_comments_and_quotes() {
        let id =
            |value: &[u8]| authserv_id(value).map(|id| String::from_utf8_lossy(&id).into_owned());
        assert_eq!(
            id(b" mx.example.org; spf=pass").as_deref(),
            Some("mx.example.org")
        );
        assert_eq!(
            id(b" mx.example.org 1; none").as_deref(),
            Some("mx.example.org")
        );
        assert_eq!(
            id(b"(a (nested\\) one)) mx.example.org;").as_deref(),
            Some("mx.example.org")
        );
        assert_eq!(
            id(b" \"mx.ex\\\"ample.org\"; none").as_deref(),
            Some("mx.ex\"ample.org")
        );
        assert_eq!(id(b" ; none"), None);
        assert_eq!(id(b" (never closed"), None);
    }
}
