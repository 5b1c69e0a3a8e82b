//! `[antispam]`: content scanning of the mail that arrives on the MX, by
//! ClamAV's clamd and rspamd, what to do when they cannot answer, and
//! rspamd's controller, which learns from what users file in and out of
//! Junk.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::{self, Deserializer};

use crate::delivery::HostPort;
use crate::duration::HumanDuration;
use crate::password::Password;
use crate::size::ByteSize;

/// `[antispam]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AntispamConfig {
    /// Attachments refused on the MX by the extension of their file name
    /// (`554 5.7.1`), whatever a scanner says; each with its dot, any
    /// case. Default: programs, scripts and disk images (`.exe`, `.scr`,
    /// `.com`, `.bat`, `.cmd`, `.js`, `.vbs`, `.jar`, `.msi`, `.iso`,
    /// `.img`); `[]` accepts any. They are refused inside ZIP archives
    /// too.
    pub blocked_attachments: Vec<String>,
    /// Files refused on the MX when they come inside a ZIP archive
    /// (`554 5.7.1`), as well as those of `blocked_attachments`; each with
    /// its dot, any case. Only the archive's own entries are looked at,
    /// not archives within it. Default: the macro-enabled Office formats
    /// (`.docm`, `.dotm`, `.xlsm`, `.xltm`, `.xlam`, `.pptm`, `.potm`,
    /// `.ppam`, `.ppsm`, `.sldm`), which phishing zips so that no scanner
    /// sees the macro (a password-protected archive cannot be opened by
    /// one); attached as they are, scanners do see them, so they pass
    /// unless listed in `blocked_attachments`. `[]`: none but those.
    pub blocked_in_archives: Vec<String>,
    /// clamd, for malware: `host:port` (its `TCPSocket`) or `unix:PATH`
    /// (its `LocalSocket`, `unix:/run/clamav/clamd.ctl` on Debian).
    /// Default: none, no malware scanning.
    pub clamd: Option<ClamdAddress>,
    /// DNS blocklists (zones such as `zen.spamhaus.org`) asked about the
    /// MX's clients other than relay clients; a listed client is refused.
    /// Default `[]`.
    pub dnsbl: Vec<String>,
    /// DNS allowlists: a client listed in one is never refused by a
    /// blocklist. Default `[]`.
    pub dnswl: Vec<String>,
    /// rspamd's normal workers, as `http://host:port`, tried in order
    /// until one answers. Default `[]`: no scanning.
    pub rspamd_url: Vec<RspamdUrl>,
    /// How long one scan may take, connecting included, at least 1s;
    /// past it the next server is tried. Default `"15s"`.
    pub timeout: HumanDuration,
    /// Larger messages are delivered unscanned (and marked so), at least
    /// 1 byte. Default `"20MB"`.
    pub max_size: ByteSize,
    /// When no server answers: `"tempfail"` refuses the message for now
    /// (`451 4.7.1`, the sender retries), `"accept"` delivers it unscanned
    /// and marked so. Default `"tempfail"`.
    pub on_failure: OnFailure,
    /// Whether the mail that logged-in mailboxes and relay clients send is
    /// scanned too, by clamd and rspamd (told the user, as its outbound
    /// rules want): malware is refused (`554 5.7.1`), and so is what
    /// rspamd says to reject (`550 5.7.1`), so that a stolen password
    /// cannot spread either. Attachment types are not refused: employees
    /// may send what they must. Default `true`.
    pub scan_outbound: bool,
    /// The rspamd settings id to scan outbound mail with, letters, digits,
    /// `-` and `_`. Default: none, rspamd's own handling of authenticated
    /// senders.
    pub outbound_profile: Option<SettingsId>,
    /// How long Junk and Trash folders keep a message, from when it was
    /// filed or moved there; older ones are expunged by a sweep on one
    /// node at a time. Domains may have their own (`postino domain update
    /// --junk-retention-days`). `"0s"` keeps them forever. Default `"30d"`.
    pub junk_retention: HumanDuration,
    /// rspamd's controller workers, as `http://host:port`, tried in order
    /// until one answers. A message a user moves or copies over IMAP into
    /// Junk (special use `\Junk`) from another folder is taught to rspamd
    /// as spam, one moved from Junk into a folder other than Trash as ham,
    /// in the background. Default `[]`: no learning.
    pub rspamd_controller_url: Vec<RspamdUrl>,
    /// The controller's password (its `enable_password`, or `password` if
    /// it has no other), sent as the `Password` header; not needed from an
    /// address in its `secure_ip`. Default: none.
    pub rspamd_password: Option<Password>,
    /// The waits between attempts to teach rspamd a message while no
    /// controller answers: the first after the first failure, and so on;
    /// after the last the message is given up. At least one, each at
    /// least 1s. Default `["1m", "5m", "30m", "2h", "6h", "12h"]`.
    pub learn_retry: Vec<HumanDuration>,
}

/// An rspamd settings id: letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsId(pub String);

impl<'de> Deserialize<'de> for SettingsId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let valid = !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(de::Error::custom(format!(
                "invalid settings id `{text}` (letters, digits, - and _)"
            )));
        }
        Ok(SettingsId(text))
    }
}

impl Default for AntispamConfig {
    fn default() -> Self {
        AntispamConfig {
            blocked_attachments: crate::defaults::antispam_blocked_attachments(),
            blocked_in_archives: crate::defaults::antispam_blocked_in_archives(),
            clamd: None,
            dnsbl: crate::defaults::antispam_dns_lists(),
            dnswl: crate::defaults::antispam_dns_lists(),
            rspamd_url: Vec::new(),
            timeout: crate::defaults::antispam_timeout(),
            max_size: crate::defaults::antispam_max_size(),
            on_failure: OnFailure::Tempfail,
            scan_outbound: true,
            outbound_profile: None,
            junk_retention: crate::defaults::antispam_junk_retention(),
            rspamd_controller_url: Vec::new(),
            rspamd_password: None,
            learn_retry: crate::defaults::antispam_learn_retry(),
        }
    }
}

impl AntispamConfig {
    /// Whether the MX looks into mail at all.
    pub fn enabled(&self) -> bool {
        !self.blocked_attachments.is_empty()
            || !self.blocked_in_archives.is_empty()
            || self.clamd.is_some()
            || !self.rspamd_url.is_empty()
    }

    /// Whether rspamd learns from what users file in and out of Junk.
    pub fn learning(&self) -> bool {
        !self.rspamd_controller_url.is_empty()
    }
}

/// What the MX does with a message no scanner could look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    Tempfail,
    Accept,
}

/// Where clamd listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClamdAddress {
    Tcp(HostPort),
    Unix(PathBuf),
}

impl std::str::FromStr for ClamdAddress {
    type Err = String;

    fn from_str(value: &str) -> Result<ClamdAddress, String> {
        match value.strip_prefix("unix:") {
            Some(path) if path.starts_with('/') => Ok(ClamdAddress::Unix(PathBuf::from(path))),
            Some(_) => Err(format!(
                "invalid socket `{value}` (expected unix:/absolute/path)"
            )),
            None => value.parse().map(ClamdAddress::Tcp).map_err(|_| {
                format!("invalid address `{value}` (expected host:port or unix:/path)")
            }),
        }
    }
}

impl<'de> Deserialize<'de> for ClamdAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// The address of an rspamd worker: `http://host:port`. rspamd speaks
/// plain HTTP; a path other than `/` is refused, since the requests' paths
/// are fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RspamdUrl(pub HostPort);

impl fmt::Display for RspamdUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}", self.0)
    }
}

impl std::str::FromStr for RspamdUrl {
    type Err = String;

    fn from_str(value: &str) -> Result<RspamdUrl, String> {
        let bad = || format!("invalid URL `{value}` (expected http://host:port)");
        let rest = value.strip_prefix("http://").ok_or_else(bad)?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        let host_port = authority.parse().map_err(|_| bad())?;
        Ok(RspamdUrl(host_port))
    }
}

impl<'de> Deserialize<'de> for RspamdUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AntispamConfig, String> {
        crate::parse(text, std::path::Path::new("postino.toml"))
            .map(|config| config.antispam)
            .map_err(|err| err.to_string())
    }

    #[test]
    fn scanning_is_off_unless_a_server_is_named() {
        let default = parse("[antispam]\nblocked_attachments = []\nblocked_in_archives = []\n")
            .expect("valid");
        assert!(!default.enabled());
        let archives = parse("[antispam]\nblocked_attachments = []\n").expect("valid");
        assert!(
            archives.enabled(),
            "macros in archives are refused by default"
        );
        assert!(parse("").expect("the defaults are valid").enabled());
        assert_eq!(default.on_failure, OnFailure::Tempfail);
        let on = parse(
            "[antispam]\nrspamd_url = [\"http://127.0.0.1:11333\", \"http://[::1]:11333/\"]\n\
             on_failure = \"accept\"\n",
        )
        .expect("valid");
        assert!(on.enabled());
        let urls: Vec<String> = on.rspamd_url.iter().map(ToString::to_string).collect();
        assert_eq!(urls, ["http://127.0.0.1:11333", "http://[::1]:11333"]);
        assert_eq!(on.on_failure, OnFailure::Accept);
        let clamd = |text: &str| {
            parse(&format!("[antispam]\nclamd = \"{text}\"\n")).map(|config| config.clamd)
        };
        assert_eq!(
            clamd("unix:/run/clamav/clamd.ctl").expect("valid"),
            Some(ClamdAddress::Unix(PathBuf::from("/run/clamav/clamd.ctl")))
        );
        assert!(matches!(
            clamd("127.0.0.1:3310").expect("valid"),
            Some(ClamdAddress::Tcp(_))
        ));
        assert!(
            parse("[antispam]\nclamd = \"unix:/x\"\n")
                .expect("valid")
                .enabled()
        );
    }

    #[test]
    fn learning_needs_a_controller() {
        let off = parse("").expect("the defaults are valid");
        assert!(!off.learning());
        assert_eq!(off.learn_retry.len(), 6);
        let on = parse(
            "[antispam]\nrspamd_controller_url = [\"http://127.0.0.1:11334\"]\n\
             rspamd_password = \"q1\"\nlearn_retry = [\"2s\"]\n",
        )
        .expect("valid");
        assert!(on.learning());
        let urls: Vec<String> = on
            .rspamd_controller_url
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(urls, ["http://127.0.0.1:11334"]);
        assert_eq!(on.rspamd_password, Some(Password("q1".to_owned())));
        assert_eq!(on.learn_retry, [HumanDuration::from_secs(2)]);
    }

    #[test]
    fn bad_urls_and_values_name_the_key() {
        for (text, key) in [
            ("rspamd_url = [\"127.0.0.1:11333\"]", "antispam.rspamd_url"),
            ("rspamd_url = [\"https://x:1\"]", "antispam.rspamd_url"),
            (
                "rspamd_url = [\"http://x:1/checkv2\"]",
                "antispam.rspamd_url",
            ),
            ("on_failure = \"drop\"", "antispam.on_failure"),
            ("outbound_profile = \"a b\"", "antispam.outbound_profile"),
            (
                "rspamd_controller_url = [\"127.0.0.1:11334\"]",
                "antispam.rspamd_controller_url",
            ),
            ("learn_retry = []", "antispam.learn_retry"),
            ("learn_retry = [\"1m\", \"0s\"]", "antispam.learn_retry"),
            ("rspamd_password = \"secret\"", "antispam.rspamd_password"),
            ("clamd = \"unix:relative\"", "antispam.clamd"),
            ("clamd = \"localhost\"", "antispam.clamd"),
            ("timeout = \"0s\"", "antispam.timeout"),
            ("max_size = 0", "antispam.max_size"),
            (
                "blocked_attachments = [\"exe\"]",
                "antispam.blocked_attachments",
            ),
            (
                "blocked_attachments = [\".e x\"]",
                "antispam.blocked_attachments",
            ),
            (
                "blocked_in_archives = [\"docm\"]",
                "antispam.blocked_in_archives",
            ),
        ] {
            let error = parse(&format!("[antispam]\n{text}\n")).expect_err(text);
            assert!(error.contains(key), "{text}: {error}");
        }
    }
}
