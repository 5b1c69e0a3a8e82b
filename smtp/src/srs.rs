//! The Sender Rewriting Scheme, for mail a mailbox's filter redirects to
//! another server. Sent on with its original envelope sender, such mail
//! would fail SPF at the destination, since our address is not among the
//! sender domain's. So the sender is rewritten into an address of ours that
//! carries the original, signed and dated; a bounce to it comes back here,
//! is checked, and goes on to the original sender. Addresses of ours that
//! are not genuine, or too old, are refused, so nobody can use the scheme to
//! send through us.
//!
//! The forms are the usual ones (Shevek's scheme, as libsrs2 and postsrsd
//! write them):
//!
//! - `SRS0=HHHH=TT=example.org=anna@forwarder`: `anna@example.org`, rewritten
//!   on `TT`, a day number in two base32 characters, with `HHHH` the start of
//!   an HMAC-SHA256 of the rest under our secret;
//! - `SRS1=HHHH=first.example==HHHH=TT=example.org=anna@forwarder`: an
//!   address another forwarder already rewrote (`SRS0…@first.example`),
//!   rewritten again without growing: a bounce to it goes back to the first
//!   forwarder, which knows the original.
//!
//! Secrets rotate: the first signs, every one is accepted when checking, so
//! a new secret can be put first while bounces to addresses signed with the
//! old one still come back within the maximum age.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

/// Characters of the signature: 24 bits, enough against forgery at the
/// rate an attacker can try addresses on us.
const HASH_LENGTH: usize = 4;
/// The day number's alphabet (RFC 4648 base32), two characters of it:
/// days modulo 1,024.
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const DAY: i64 = 86_400;

/// Why a reverse rewrite was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SrsError {
    #[error("not an SRS address")]
    NotSrs,
    #[error("malformed SRS address")]
    Malformed,
    #[error("the SRS signature does not match")]
    BadSignature,
    #[error("the SRS address has expired")]
    Expired,
}

/// Rewrites senders into addresses at `domain`, and back.
pub struct Srs {
    domain: String,
    secrets: Vec<Vec<u8>>,
    max_age_days: i64,
}

impl Srs {
    /// `secrets` are tried in order, the first signs; at least one.
    /// Addresses older than `max_age_days` are refused.
    pub fn new(domain: &str, secrets: Vec<Vec<u8>>, max_age_days: i64) -> Srs {
        assert!(!secrets.is_empty(), "SRS needs a secret");
        Srs {
            domain: domain.to_ascii_lowercase(),
            secrets,
            max_age_days,
        }
    }

    /// The envelope sender to use for `sender` redirected at `now` (Unix
    /// seconds). The null sender stays null, and an address of ours is
    /// left as it is: it passes SPF already.
    pub fn forward(&self, sender: &str, now: i64) -> String {
        let Some((local, domain)) = sender.rsplit_once('@') else {
            return sender.to_string();
        };
        if domain.eq_ignore_ascii_case(&self.domain) {
            return sender.to_string();
        }
        if let Some(rest) = strip_tag(local, "SRS1") {
            // Already rewritten twice: the first forwarder's part is kept.
            if let Some((host, inner)) =
                split_hash(rest).and_then(|(_, tail)| tail.split_once("=="))
            {
                let hash = self.sign(&[host, inner]);
                return format!("SRS1={hash}={host}=={inner}@{}", self.domain);
            }
        }
        if let Some(rest) = strip_tag(local, "SRS0") {
            let hash = self.sign(&[domain, rest]);
            return format!("SRS1={hash}={domain}=={rest}@{}", self.domain);
        }
        let day = day_stamp(now);
        let hash = self.sign(&[&day, domain, local]);
        format!("SRS0={hash}={day}={domain}={local}@{}", self.domain)
    }

    /// The address a bounce to `address`, one of ours, goes on to: the
    /// original sender for SRS0, the first forwarder's SRS0 address for
    /// SRS1.
    pub fn reverse(&self, address: &str, now: i64) -> Result<String, SrsError> {
        let (local, domain) = address.rsplit_once('@').ok_or(SrsError::NotSrs)?;
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return Err(SrsError::NotSrs);
        }
        if let Some(rest) = strip_tag(local, "SRS0") {
            let (hash, tail) = split_hash(rest).ok_or(SrsError::Malformed)?;
            let mut fields = tail.splitn(3, '=');
            let (Some(day), Some(host), Some(user)) = (fields.next(), fields.next(), fields.next())
            else {
                return Err(SrsError::Malformed);
            };
            if day.len() != 2 || host.is_empty() || user.is_empty() {
                return Err(SrsError::Malformed);
            }
            self.check(hash, &[day, host, user])?;
            self.check_age(day, now)?;
            return Ok(format!("{user}@{host}"));
        }
        if let Some(rest) = strip_tag(local, "SRS1") {
            let (hash, tail) = split_hash(rest).ok_or(SrsError::Malformed)?;
            let (host, inner) = tail.split_once("==").ok_or(SrsError::Malformed)?;
            if host.is_empty() || inner.is_empty() {
                return Err(SrsError::Malformed);
            }
            self.check(hash, &[host, inner])?;
            return Ok(format!("SRS0={inner}@{host}"));
        }
        Err(SrsError::NotSrs)
    }

    /// The signature of `parts` under the first secret.
    fn sign(&self, parts: &[&str]) -> String {
        signature(&self.secrets[0], parts)
    }

    /// Accepts `hash` if one of the secrets made it; case does not count,
    /// since some servers lower the case of addresses on the way.
    fn check(&self, hash: &str, parts: &[&str]) -> Result<(), SrsError> {
        let genuine = self
            .secrets
            .iter()
            .any(|secret| signature(secret, parts).eq_ignore_ascii_case(hash));
        if genuine {
            Ok(())
        } else {
            Err(SrsError::BadSignature)
        }
    }

    fn check_age(&self, stamp: &str, now: i64) -> Result<(), SrsError> {
        let stamped = decode_day(stamp).ok_or(SrsError::Malformed)?;
        let today = (now / DAY).rem_euclid(1024);
        // The day number wraps every 1,024 days.
        let age = (today - stamped).rem_euclid(1024);
        if age > self.max_age_days {
            return Err(SrsError::Expired);
        }
        Ok(())
    }
}

/// `rest` of `local` after `tag` and its separator (`=`, or `-` and `+`
/// which some forwarders use), case aside.
fn strip_tag<'a>(local: &'a str, tag: &str) -> Option<&'a str> {
    let head = local.get(..tag.len())?;
    if !head.eq_ignore_ascii_case(tag) {
        return None;
    }
    let rest = &local[tag.len()..];
    let mut chars = rest.chars();
    matches!(chars.next(), Some('=' | '-' | '+')).then(|| chars.as_str())
}

/// `HHHH=rest` split at the signature.
fn split_hash(text: &str) -> Option<(&str, &str)> {
    let (hash, rest) = text.split_once('=')?;
    (hash.len() == HASH_LENGTH && !rest.is_empty()).then_some((hash, rest))
}

/// The first [`HASH_LENGTH`] characters of the base64 HMAC of the parts,
/// lower-cased (addresses are compared without case), each part followed
/// by a separator so that the parts cannot be shifted into one another.
fn signature(secret: &[u8], parts: &[&str]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    for part in parts {
        mac.update(part.to_ascii_lowercase().as_bytes());
        mac.update(b"\0");
    }
    let digest = mac.finalize().into_bytes();
    let text = base64::engine::general_purpose::STANDARD.encode(digest);
    // `/` and `+` are fine in a local part, but `=` padding never reaches
    // the first characters.
    text[..HASH_LENGTH].to_string()
}

/// Today's day number in two base32 characters.
fn day_stamp(now: i64) -> String {
    let day = (now / DAY).rem_euclid(1024) as usize;
    let chars = [BASE32[day >> 5], BASE32[day & 31]];
    String::from_utf8_lossy(&chars).into_owned()
}

fn decode_day(stamp: &str) -> Option<i64> {
    let value = |c: u8| {
        BASE32
            .iter()
            .position(|&b| b == c.to_ascii_uppercase())
            .map(|v| v as i64)
    };
    match stamp.as_bytes() {
        [high, low] => Some(value(*high)? * 32 + value(*low)?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_600_000;

    fn srs() -> Srs {
        Srs::new("mx.comune.test", vec![b"segreto".to_vec()], 21)
    }

    #[test]
    fn a_sender_goes_out_rewritten_and_its_bounce_comes_back() {
        let rewritten = srs().forward("anna@esempio.it", NOW);
        assert!(rewritten.starts_with("SRS0="), "{rewritten}");
        assert!(
            rewritten.ends_with("=esempio.it=anna@mx.comune.test"),
            "{rewritten}"
        );
        assert_eq!(
            srs().reverse(&rewritten, NOW),
            Ok("anna@esempio.it".to_string())
        );
        // Servers may change the case of what they send back.
        let lowered = rewritten.to_ascii_lowercase();
        assert_eq!(
            srs().reverse(&lowered, NOW),
            Ok("anna@esempio.it".to_string())
        );
    }

    #[test]
    fn forged_and_old_addresses_are_refused() {
        let rewritten = srs().forward("anna@esempio.it", NOW);
        let forged = rewritten.replace("=anna@", "=bruno@");
        assert_eq!(srs().reverse(&forged, NOW), Err(SrsError::BadSignature));
        let other = Srs::new("mx.comune.test", vec![b"altro".to_vec()], 21);
        assert_eq!(other.reverse(&rewritten, NOW), Err(SrsError::BadSignature));
        assert!(srs().reverse(&rewritten, NOW + 21 * DAY).is_ok());
        assert_eq!(
            srs().reverse(&rewritten, NOW + 22 * DAY),
            Err(SrsError::Expired)
        );
        assert_eq!(
            srs().reverse("anna@mx.comune.test", NOW),
            Err(SrsError::NotSrs)
        );
        assert_eq!(
            srs().reverse(&rewritten.replace("mx.comune", "altro"), NOW),
            Err(SrsError::NotSrs)
        );
        for broken in [
            "SRS0=abcd@mx.comune.test",
            "SRS0=ab=AB=x=y@mx.comune.test",
            "SRS1=abcd=x@mx.comune.test",
        ] {
            assert_eq!(
                srs().reverse(broken, NOW),
                Err(SrsError::Malformed),
                "{broken}"
            );
        }
    }

    #[test]
    fn an_old_secret_still_takes_bounces_back() {
        let rewritten = srs().forward("anna@esempio.it", NOW);
        let rotated = Srs::new(
            "mx.comune.test",
            vec![b"nuovo".to_vec(), b"segreto".to_vec()],
            21,
        );
        assert_eq!(
            rotated.reverse(&rewritten, NOW),
            Ok("anna@esempio.it".to_string())
        );
        assert_ne!(rotated.forward("anna@esempio.it", NOW), rewritten);
    }

    #[test]
    fn the_day_number_wraps() {
        let late = 1023 * DAY + 5;
        let rewritten = srs().forward("anna@esempio.it", late);
        assert!(srs().reverse(&rewritten, late + 3 * DAY).is_ok());
        assert_eq!(decode_day(&day_stamp(late)), Some(1023));
    }

    #[test]
    fn addresses_rewritten_elsewhere_become_srs1_and_go_back_there() {
        let first = Srs::new("primo.example", vec![b"suo".to_vec()], 21);
        let once = first.forward("anna@esempio.it", NOW);
        let twice = srs().forward(&once, NOW);
        assert!(twice.starts_with("SRS1="), "{twice}");
        assert!(twice.contains("=primo.example=="), "{twice}");
        assert_eq!(srs().reverse(&twice, NOW), Ok(once.clone()));
        assert_eq!(first.reverse(&once, NOW), Ok("anna@esempio.it".to_string()));
        // A third forwarder keeps the first one's part: no growth.
        let third = Srs::new("terzo.example", vec![b"terzo".to_vec()], 21);
        let thrice = third.forward(&twice, NOW);
        assert!(thrice.contains("=primo.example=="), "{thrice}");
        assert_eq!(
            thrice.len(),
            twice.len() - "mx.comune.test".len() + "terzo.example".len()
        );
        assert_eq!(third.reverse(&thrice, NOW), Ok(once));
    }

    #[test]
    fn the_null_sender_and_our_own_addresses_are_left_alone() {
        assert_eq!(srs().forward("", NOW), "");
        assert_eq!(
            srs().forward("carla@mx.comune.test", NOW),
            "carla@mx.comune.test"
        );
    }
}
