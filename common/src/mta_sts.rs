//! MTA-STS (RFC 8461) without I/O: the `_mta-sts` TXT record (§3.1), the
//! policy file (§3.2) and which MX hosts a policy names (§4.1).
//!
//! Outbound delivery parses what other domains publish; the admin service
//! writes the policies of hosted domains with [`Policy::render`], so both
//! sides follow one reading of the format. Parsing is strict where the RFC
//! says MUST (the version, a known mode, MX patterns, `max_age` within a
//! year) and lenient where it says so (unknown fields, the first of
//! repeated fields, LF or CRLF line ends).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::address::DomainName;

/// The longest `max_age` a policy may have, in seconds (§3.2).
pub const MAX_MAX_AGE: u64 = postino_config::defaults::MTA_STS_MAX_MAX_AGE;
/// The largest policy file read (§3.3 suggests 64 KiB).
pub const MAX_POLICY_SIZE: usize = 64 * 1024;
/// The longest policy id of a TXT record (§3.1).
const MAX_ID: usize = 32;

/// What a sending server does with a policy (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deliver only to the MX hosts named, over TLS with a valid
    /// certificate.
    Enforce,
    /// Deliver as without a policy, but report what would have failed.
    Testing,
    /// The domain has withdrawn its policy.
    None,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mode that is not `enforce`, `testing` or `none`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an MTA-STS mode (enforce, testing or none)")]
pub struct UnknownMode(pub String);

impl FromStr for Mode {
    type Err = UnknownMode;

    fn from_str(text: &str) -> Result<Mode, UnknownMode> {
        match text {
            "enforce" => Ok(Mode::Enforce),
            "testing" => Ok(Mode::Testing),
            "none" => Ok(Mode::None),
            _ => Err(UnknownMode(text.to_string())),
        }
    }
}

impl TryFrom<String> for Mode {
    type Error = UnknownMode;

    fn try_from(text: String) -> Result<Mode, UnknownMode> {
        text.parse()
    }
}

/// Why a policy file is not a valid policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy is larger than {MAX_POLICY_SIZE} bytes")]
    TooLarge,
    #[error("the policy is not UTF-8")]
    NotUtf8,
    #[error("the policy has no `version: STSv1`")]
    Version,
    #[error(transparent)]
    Mode(#[from] UnknownMode),
    #[error("the policy has no mode")]
    NoMode,
    #[error("`{0}` is not a max_age of 0 to {MAX_MAX_AGE} seconds")]
    MaxAge(String),
    #[error("the policy has no max_age")]
    NoMaxAge,
    #[error("`{0}` is not an MX pattern")]
    Mx(String),
    #[error("the policy names no MX host")]
    NoMx,
}

/// A policy file's meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    /// MX patterns, lowercase: a name, or `*.` and a name.
    pub mx: Vec<String>,
    /// How long the policy may be cached, in seconds.
    pub max_age: u64,
}

impl Policy {
    /// Parses a policy file (§3.2).
    pub fn parse(body: &[u8]) -> Result<Policy, PolicyError> {
        if body.len() > MAX_POLICY_SIZE {
            return Err(PolicyError::TooLarge);
        }
        let text = std::str::from_utf8(body).map_err(|_| PolicyError::NotUtf8)?;
        let (mut version, mut mode, mut max_age) = (None, None, None);
        let mut mx = Vec::new();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim_matches([' ', '\t', '\r']);
            match key {
                "version" => {
                    version.get_or_insert(value);
                }
                "mode" => {
                    mode.get_or_insert(value);
                }
                "max_age" => {
                    max_age.get_or_insert(value);
                }
                "mx" => mx.push(mx_pattern(value).ok_or_else(|| PolicyError::Mx(value.into()))?),
                // Unknown fields are for later versions (§3.2).
                _ => {}
            }
        }
        if version != Some("STSv1") {
            return Err(PolicyError::Version);
        }
        let mode: Mode = mode.ok_or(PolicyError::NoMode)?.parse()?;
        let max_age = max_age.ok_or(PolicyError::NoMaxAge)?;
        let seconds = max_age
            .parse::<u64>()
            .ok()
            .filter(|&s| s <= MAX_MAX_AGE && max_age.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| PolicyError::MaxAge(max_age.to_string()))?;
        if mx.is_empty() && mode != Mode::None {
            return Err(PolicyError::NoMx);
        }
        Ok(Policy {
            mode,
            mx,
            max_age: seconds,
        })
    }

    /// The policy file, with CRLF line ends (§3.2).
    pub fn render(&self) -> String {
        let mut text = format!("version: STSv1\r\nmode: {}\r\n", self.mode);
        for mx in &self.mx {
            text.push_str(&format!("mx: {mx}\r\n"));
        }
        text.push_str(&format!("max_age: {}\r\n", self.max_age));
        text
    }

    /// An id for the `_mta-sts` record that changes whenever the policy
    /// does: hex of a hash of its file.
    pub fn id(&self) -> String {
        hex::encode(&Sha256::digest(self.render().as_bytes())[..10])
    }

    /// Whether `host` is one of the MX hosts the policy names (§4.1): equal
    /// to a pattern, or one label more to the left of a `*.` pattern.
    pub fn names(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.mx
            .iter()
            .any(|pattern| match pattern.strip_prefix("*.") {
                Some(parent) => host
                    .split_once('.')
                    .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
                None => *pattern == host,
            })
    }
}

/// An MX pattern as a policy may give it, lowercase: `mx.example.org` or
/// `*.example.org`.
fn mx_pattern(value: &str) -> Option<String> {
    let name = value.strip_prefix("*.").unwrap_or(value);
    let domain: DomainName = name.parse().ok()?;
    Some(if value.starts_with("*.") {
        format!("*.{domain}")
    } else {
        domain.to_string()
    })
}

/// The policy id of a domain's `_mta-sts` TXT records (§3.1): the one
/// record starting `v=STSv1`, with an `id` of 1 to 32 letters and digits.
/// None when there is no such record, more than one, or a bad one: the
/// domain then has no (new) policy to fetch.
pub fn record_id<'a>(records: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut ours = records.into_iter().filter(|r| {
        r.split(';')
            .next()
            .is_some_and(|first| first.trim_matches([' ', '\t']) == "v=STSv1")
    });
    let record = ours.next()?;
    if ours.next().is_some() {
        return None;
    }
    record.split(';').skip(1).find_map(|field| {
        let (key, value) = field.trim_matches([' ', '\t']).split_once('=')?;
        let valid = key == "id"
            && (1..=MAX_ID).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_alphanumeric());
        valid.then(|| value.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of RFC 8461 §3.2.
    const RFC_EXAMPLE: &str = "version: STSv1\nmode: enforce\nmx: mail.example.com\n\
        mx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\n";

    #[test]
    fn the_rfc_example_parses_and_renders_back() {
        let policy = Policy::parse(RFC_EXAMPLE.as_bytes()).expect("a valid policy");
        assert_eq!(policy.mode, Mode::Enforce);
        assert_eq!(
            policy.mx,
            ["mail.example.com", "*.example.net", "backupmx.example.com"]
        );
        assert_eq!(policy.max_age, 604_800);
        assert_eq!(Policy::parse(policy.render().as_bytes()), Ok(policy));
    }

    #[test]
    fn mx_patterns_match_one_label_under_a_wildcard() {
        let policy = Policy::parse(RFC_EXAMPLE.as_bytes()).expect("a valid policy");
        for named in ["mail.example.com", "MAIL.example.com.", "a.example.net"] {
            assert!(policy.names(named), "{named}");
        }
        for other in [
            "example.net",
            "a.b.example.net",
            "mail.example.org",
            ".example.net",
        ] {
            assert!(!policy.names(other), "{other}");
        }
    }

    #[test]
    fn bad_policies_are_refused() {
        let cases: [(&str, PolicyError); 6] = [
            (
                "mode: enforce\nmx: a.example\nmax_age: 1\n",
                PolicyError::Version,
            ),
            (
                "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n",
                PolicyError::Mode(UnknownMode("strict".into())),
            ),
            (
                "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n",
                PolicyError::MaxAge("31557601".into()),
            ),
            (
                "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n",
                PolicyError::MaxAge("-1".into()),
            ),
            (
                "version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n",
                PolicyError::Mx("a..example".into()),
            ),
            (
                "version: STSv1\nmode: testing\nmax_age: 1\n",
                PolicyError::NoMx,
            ),
        ];
        for (text, error) in cases {
            assert_eq!(Policy::parse(text.as_bytes()), Err(error), "{text}");
        }
        let none = Policy::parse(b"version: STSv1\r\nmode: none\r\nmax_age: 0\r\n");
        assert_eq!(none.map(|p| p.mode), Ok(Mode::None));
        let large = vec![b'x'; MAX_POLICY_SIZE + 1];
        assert_eq!(Policy::parse(&large), Err(PolicyError::TooLarge));
    }

    #[test]
    fn the_txt_record_gives_one_id() {
        assert_eq!(
            record_id(["v=spf1 -all", "v=STSv1; id=20160831085700Z;"]).as_deref(),
            Some("20160831085700Z")
        );
        assert_eq!(
            record_id(["v=STSv1;ext=1 ; id=abc"]).as_deref(),
            Some("abc")
        );
        assert_eq!(record_id(["v=STSv1; id=a; ", "v=STSv1; id=b"]), None);
        assert_eq!(record_id(["v=STSv1; id=not-alnum"]), None);
        assert_eq!(record_id(["v=STSv1"]), None);
        assert_eq!(record_id(["v=STSv10; id=a"]), None);
    }

    #[test]
    fn the_published_id_follows_the_policy() {
        let mut policy = Policy {
            mode: Mode::Testing,
            mx: vec!["mx.example.org".into()],
            max_age: 604_800,
        };
        let testing = policy.id();
        assert!(record_id([format!("v=STSv1; id={testing}").as_str()]).is_some());
        policy.mode = Mode::Enforce;
        assert_ne!(policy.id(), testing);
    }
}
