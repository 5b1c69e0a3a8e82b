//! DKIM keys: generating them and the DNS records that publish them.
//!
//! Two algorithms, as receivers expect: `rsa-sha256`
//! with 2048-bit keys (RFC 6376 §3.3.1, RFC 8301 §3.2) and `ed25519-sha256`
//! (RFC 8463). Both private keys are kept as PKCS#8 PEM (`-----BEGIN PRIVATE
//! KEY-----`), the form `openssl pkey` reads and writes; [`private_key_der`]
//! turns one back into the DER that mail-auth's signing keys load
//! (`RsaKey::from_key_der(PrivateKeyDer::Pkcs8(..))`,
//! `Ed25519Key::from_pkcs8_der`). Public keys are kept as the base64 value of
//! the `p=` tag (RFC 6376 §3.6.1): for RSA the DER SubjectPublicKeyInfo, as
//! `opendkim-genkey` publishes it; for Ed25519 the raw 32-byte key (RFC 8463
//! §4.2).
//!
//! RSA keys come from the `rsa` crate, because ring cannot generate them;
//! it only generates them here; signing loads them into ring. Ed25519 keys
//! come from ring through rcgen. Storing keys and deciding which ones sign
//! is the store's and the management rules' business, not this module's.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use postino_config::is_dns_label;
use rand_core::OsRng;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject;
use serde::Serialize;
use thiserror::Error;

use crate::auth::Secret;

/// Size of generated RSA keys: RFC 8301 §3.2 asks signers for at least 2048.
pub const RSA_BITS: usize = 2048;

/// Longest character-string in a TXT record (RFC 1035 §3.3.14: a length
/// byte, then the text).
pub const TXT_STRING_MAX: usize = 255;

/// Why a key could not be generated or read, or a selector was refused.
#[derive(Debug, Error)]
pub enum DkimError {
    #[error("cannot generate an {algorithm} key: {message}")]
    Generate {
        algorithm: Algorithm,
        message: String,
    },
    #[error("the stored private key is not PKCS#8 PEM")]
    BadPrivateKey(#[source] rustls::pki_types::pem::Error),
    #[error(
        "`{0}` is not a valid selector (letters, digits and `-`, in dot-separated labels of at most 63)"
    )]
    Selector(String),
    #[error("`{0}` is not a DKIM algorithm (expected rsa-sha256 or ed25519-sha256)")]
    Algorithm(String),
}

/// A DKIM signing algorithm, named as in the `a=` tag of a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Algorithm {
    #[serde(rename = "rsa-sha256")]
    RsaSha256,
    #[serde(rename = "ed25519-sha256")]
    Ed25519Sha256,
}

impl Algorithm {
    pub const ALL: [Algorithm; 2] = [Algorithm::RsaSha256, Algorithm::Ed25519Sha256];

    /// The `a=` name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RsaSha256 => "rsa-sha256",
            Algorithm::Ed25519Sha256 => "ed25519-sha256",
        }
    }

    /// The key type of the `k=` tag of the key record.
    pub fn key_type(self) -> &'static str {
        match self {
            Algorithm::RsaSha256 => "rsa",
            Algorithm::Ed25519Sha256 => "ed25519",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = DkimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| DkimError::Algorithm(s.to_string()))
    }
}

/// A freshly generated key pair, in the forms the store keeps.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    pub algorithm: Algorithm,
    /// PKCS#8 PEM.
    pub private_key: Secret,
    /// Base64, the value of the `p=` tag.
    pub public_key: String,
}

/// Generates a key pair. An RSA key takes a noticeable fraction of a
/// second: async callers should run this on the blocking pool.
pub fn generate(algorithm: Algorithm) -> Result<GeneratedKey, DkimError> {
    let failed = |message: String| DkimError::Generate { algorithm, message };
    let (private_key, public_key) = match algorithm {
        Algorithm::RsaSha256 => {
            let key =
                rsa::RsaPrivateKey::new(&mut OsRng, RSA_BITS).map_err(|e| failed(e.to_string()))?;
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| failed(e.to_string()))?;
            let spki = key
                .to_public_key()
                .to_public_key_der()
                .map_err(|e| failed(e.to_string()))?;
            (Secret::new(pem.as_str()), STANDARD.encode(spki.as_bytes()))
        }
        Algorithm::Ed25519Sha256 => {
            let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519)
                .map_err(|e| failed(e.to_string()))?;
            (
                Secret::new(pair.serialize_pem()),
                STANDARD.encode(pair.public_key_raw()),
            )
        }
    };
    Ok(GeneratedKey {
        algorithm,
        private_key,
        public_key,
    })
}

/// The PKCS#8 DER of a stored private key, for loading into a signer.
pub fn private_key_der(private_key: &Secret) -> Result<PrivatePkcs8KeyDer<'static>, DkimError> {
    PrivatePkcs8KeyDer::from_pem_slice(private_key.expose().as_bytes())
        .map_err(DkimError::BadPrivateKey)
}

/// Checks a selector (RFC 6376 §3.1: DNS labels, here letters, digits and
/// hyphens) and returns it in lowercase, as DNS compares it.
pub fn parse_selector(selector: &str) -> Result<String, DkimError> {
    // The selector and `._domainkey.` must leave room for the domain.
    if selector.len() <= 128 && selector.split('.').all(is_dns_label) {
        Ok(selector.to_ascii_lowercase())
    } else {
        Err(DkimError::Selector(selector.to_string()))
    }
}

/// The key record of a selector (RFC 6376 §3.6.2.1): its owner name,
/// `SELECTOR._domainkey.DOMAIN` without a trailing dot, and its text.
pub fn dns_record(
    domain: &str,
    selector: &str,
    algorithm: Algorithm,
    public_key: &str,
) -> (String, String) {
    (
        format!("{selector}._domainkey.{domain}"),
        format!("v=DKIM1; k={}; p={public_key}", algorithm.key_type()),
    )
}

/// Cuts a TXT value into the character-strings of one record, each at most
/// [`TXT_STRING_MAX`] bytes; receivers join them without separator (RFC 6376
/// §3.6.2.2). An RSA-2048 key record needs two.
pub fn txt_strings(value: &str) -> Vec<&str> {
    let mut strings = Vec::new();
    let mut rest = value;
    while rest.len() > TXT_STRING_MAX {
        let mut cut = TXT_STRING_MAX;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        strings.push(head);
        rest = tail;
    }
    if !rest.is_empty() || strings.is_empty() {
        strings.push(rest);
    }
    strings
}

#[cfg(test)]
mod tests {
    use std::borrow::Borrow;
    use std::collections::HashMap;
    use std::hash::Hash;
    use std::sync::Mutex;

    use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256, SigningKey};
    use mail_auth::common::headers::HeaderWriter;
    use mail_auth::common::parse::TxtRecordParser;
    use mail_auth::common::verify::DomainKey;
    use mail_auth::dkim::{Canonicalization, DkimSigner};
    use mail_auth::{
        AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, ResolverCache, Txt,
    };
    use rustls::pki_types::PrivateKeyDer;

    use super::*;

    const DOMAIN: &str = "comune.esempio.pu.it";
    const MESSAGE: &str = "From: Ufficio Protocollo <protocollo@comune.esempio.pu.it>\r\n\
        To: cittadino@example.org\r\n\
        Subject: Notifica di avvio del procedimento\r\n\
        Date: Mon, 3 Mar 2025 10:00:00 +0100\r\n\
        Message-ID: <avvio-42@comune.esempio.pu.it>\r\n\
        \r\n\
        Gentile cittadino,\r\nsi comunica l'avvio del procedimento n. 42.\r\n";

    /// A DNS cache holding the TXT records a test publishes, so the
    /// verifier finds them without a resolver.
    struct Published(Mutex<HashMap<Box<str>, Txt>>);

    impl ResolverCache<Box<str>, Txt> for Published {
        fn get<Q>(&self, name: &Q) -> Option<Txt>
        where
            Box<str>: Borrow<Q>,
            Q: Hash + Eq + ?Sized,
        {
            self.0.lock().ok()?.get(name).cloned()
        }

        fn remove<Q>(&self, name: &Q) -> Option<Txt>
        where
            Box<str>: Borrow<Q>,
            Q: Hash + Eq + ?Sized,
        {
            self.0.lock().ok()?.remove(name)
        }

        fn insert(&self, key: Box<str>, value: Txt, _: std::time::Instant) {
            if let Ok(mut map) = self.0.lock() {
                map.insert(key, value);
            }
        }
    }

    impl Published {
        /// Publishes a record as a zone would: its character-strings,
        /// which the verifier receives joined.
        fn new(records: &[(String, String)]) -> Published {
            let mut map = HashMap::new();
            for (name, value) in records {
                let joined = txt_strings(value).concat();
                let key = DomainKey::parse(joined.as_bytes()).expect("a valid key record");
                map.insert(format!("{name}.").into_boxed_str(), Txt::from(key));
            }
            Published(Mutex::new(map))
        }
    }

    /// Signs `MESSAGE` as the SMTP service will: relaxed/relaxed, over the
    /// usual headers.
    fn sign(key: impl SigningKey<Hasher = Sha256>, selector: &str) -> String {
        let signature = DkimSigner::from_key(key)
            .domain(DOMAIN)
            .selector(selector)
            .headers(["From", "To", "Subject", "Date", "Message-ID"])
            .header_canonicalization(Canonicalization::Relaxed)
            .body_canonicalization(Canonicalization::Relaxed)
            .sign(MESSAGE.as_bytes())
            .expect("sign");
        format!("{}{MESSAGE}", signature.to_header())
    }

    /// What mail-auth's verifier says of each signature of `message`.
    async fn verify(message: &str, published: &Published) -> Vec<DkimResult> {
        let parsed = AuthenticatedMessage::parse(message.as_bytes()).expect("parse message");
        // Every lookup is answered from `published`; this resolver is never asked.
        let verifier = MessageAuthenticator::new_cloudflare().expect("resolver");
        verifier
            .verify_dkim(Parameters::new(&parsed).with_txt_cache(published))
            .await
            .iter()
            .map(|output| output.result().clone())
            .collect()
    }

    fn load_rsa(key: &GeneratedKey) -> RsaKey<Sha256> {
        let der = private_key_der(&key.private_key).expect("PKCS#8 PEM");
        RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs8(der)).expect("ring loads the key")
    }

    fn load_ed25519(key: &GeneratedKey) -> Ed25519Key {
        let der = private_key_der(&key.private_key).expect("PKCS#8 PEM");
        Ed25519Key::from_pkcs8_der(der.secret_pkcs8_der()).expect("ring loads the key")
    }

    fn record(selector: &str, key: &GeneratedKey) -> (String, String) {
        dns_record(DOMAIN, selector, key.algorithm, &key.public_key)
    }

    #[tokio::test]
    async fn generated_rsa_keys_sign_and_verify_against_their_record() {
        let key = generate(Algorithm::RsaSha256).expect("generate");
        assert!(
            key.private_key
                .expose()
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        let signer = load_rsa(&key);
        // The modulus is 2048 bits: 256 bytes, after the DER header.
        let spki = STANDARD.decode(&key.public_key).expect("base64");
        assert!((290..300).contains(&spki.len()), "{} bytes", spki.len());
        assert!(signer.public_key().len() > 256);

        let published = Published::new(&[record("2025-rsa", &key)]);
        let signed = sign(signer, "2025-rsa");
        assert!(signed.contains("a=rsa-sha256"), "{signed}");
        assert_eq!(verify(&signed, &published).await, [DkimResult::Pass]);

        // A changed signed header no longer verifies.
        let forged = signed.replace("n. 42.", "n. 43.");
        assert_ne!(verify(&forged, &published).await, [DkimResult::Pass]);
        let forged = signed.replace("Subject: Notifica", "Subject: Falsa notifica");
        assert!(matches!(
            verify(&forged, &published).await[..],
            [DkimResult::Fail(_)]
        ));
    }

    #[tokio::test]
    async fn generated_ed25519_keys_sign_and_verify_against_their_record() {
        let key = generate(Algorithm::Ed25519Sha256).expect("generate");
        assert_eq!(STANDARD.decode(&key.public_key).expect("base64").len(), 32);
        let signer = load_ed25519(&key);
        assert_eq!(STANDARD.encode(signer.public_key()), key.public_key);

        let published = Published::new(&[record("2025-ed", &key)]);
        let signed = sign(signer, "2025-ed");
        assert!(signed.contains("a=ed25519-sha256"), "{signed}");
        assert_eq!(verify(&signed, &published).await, [DkimResult::Pass]);

        let forged = signed.replace("Subject: Notifica", "Subject: Falsa notifica");
        assert!(matches!(
            verify(&forged, &published).await[..],
            [DkimResult::Fail(_)]
        ));
    }

    #[tokio::test]
    async fn a_signature_does_not_verify_against_another_keys_record() {
        let key = generate(Algorithm::Ed25519Sha256).expect("generate");
        let other = generate(Algorithm::Ed25519Sha256).expect("generate");
        assert_ne!(key.public_key, other.public_key);
        let published = Published::new(&[record("sel", &other)]);
        let signed = sign(load_ed25519(&key), "sel");
        assert!(matches!(
            verify(&signed, &published).await[..],
            [DkimResult::Fail(_)]
        ));
    }

    #[test]
    fn key_records_name_the_selector_and_key_type() {
        let (name, value) = dns_record(DOMAIN, "20250303-ed", Algorithm::Ed25519Sha256, "AbC=");
        assert_eq!(name, "20250303-ed._domainkey.comune.esempio.pu.it");
        assert_eq!(value, "v=DKIM1; k=ed25519; p=AbC=");
        let (_, value) = dns_record(DOMAIN, "s", Algorithm::RsaSha256, "MIIB");
        assert_eq!(value, "v=DKIM1; k=rsa; p=MIIB");
    }

    #[test]
    fn txt_values_are_cut_into_255_byte_strings() {
        assert_eq!(txt_strings(""), [""]);
        assert_eq!(txt_strings("v=DKIM1"), ["v=DKIM1"]);
        let long = "x".repeat(600);
        let strings = txt_strings(&long);
        assert_eq!(
            strings.iter().map(|s| s.len()).collect::<Vec<_>>(),
            [255, 255, 90]
        );
        assert_eq!(strings.concat(), long);
        assert_eq!(txt_strings(&long[..510]).len(), 2);
        // Never inside a character.
        let accented = "è".repeat(200);
        assert!(txt_strings(&accented).iter().all(|s| s.len() <= 255));
        assert_eq!(txt_strings(&accented).concat(), accented);
    }

    #[test]
    fn selectors_are_dns_labels_in_lowercase() {
        assert_eq!(
            parse_selector("20250303-RSA").expect("valid"),
            "20250303-rsa"
        );
        assert_eq!(parse_selector("mail.2025").expect("valid"), "mail.2025");
        for bad in [
            "",
            "-x",
            "x-",
            "a..b",
            "a_b",
            "sel ector",
            "ä",
            &"x".repeat(64),
        ] {
            assert!(parse_selector(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn algorithms_parse_from_their_names_only() {
        for algorithm in Algorithm::ALL {
            assert_eq!(
                algorithm.as_str().parse::<Algorithm>().ok(),
                Some(algorithm)
            );
        }
        assert!("rsa".parse::<Algorithm>().is_err());
        assert!("RSA-SHA256".parse::<Algorithm>().is_err());
    }

    #[test]
    fn stored_keys_that_are_not_pem_are_refused() {
        assert!(private_key_der(&Secret::new("not a key")).is_err());
    }
}
