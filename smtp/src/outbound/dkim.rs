//! DKIM signing (RFC 6376) of outgoing mail with the sender domain's active
//! keys: one signature per key (RSA-SHA256 and Ed25519-SHA256, RFC 8463),
//! relaxed/relaxed canonicalisation, over the header fields that identify
//! and describe the message. Keys come from the store; a key is loaded
//! into a signer once and kept while it stays active.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::Chain;
use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256, SigningKey};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner, Done};
use postino_common::dkim::{Algorithm, private_key_der};
use postino_common::store::{DkimKey, Store};
use tokio_rustls::rustls::pki_types::PrivateKeyDer;

/// The header fields signed when present (RFC 6376 §5.4.1).
const SIGNED_HEADERS: [&str; 11] = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
];

enum Signer {
    Rsa(DkimSigner<RsaKey<Sha256>, Done>),
    Ed25519(DkimSigner<Ed25519Key, Done>),
}

impl Signer {
    fn load(key: &DkimKey) -> Result<Signer, String> {
        let der = private_key_der(&key.private_key).map_err(|e| e.to_string())?;
        Ok(match key.algorithm {
            Algorithm::RsaSha256 => {
                let loaded = RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs8(der))
                    .map_err(|e| e.to_string())?;
                Signer::Rsa(relaxed(
                    DkimSigner::from_key(loaded)
                        .domain(&key.domain)
                        .selector(&key.selector)
                        .headers(SIGNED_HEADERS),
                ))
            }
            Algorithm::Ed25519Sha256 => {
                let loaded = Ed25519Key::from_pkcs8_der(der.secret_pkcs8_der())
                    .map_err(|e| e.to_string())?;
                Signer::Ed25519(relaxed(
                    DkimSigner::from_key(loaded)
                        .domain(&key.domain)
                        .selector(&key.selector)
                        .headers(SIGNED_HEADERS),
                ))
            }
        })
    }

    /// The `DKIM-Signature:` field for `message`, CRLF-ended.
    fn sign(&self, message: &[u8]) -> Result<String, mail_auth::Error> {
        Ok(match self {
            Signer::Rsa(signer) => signer.sign(message)?.to_header(),
            Signer::Ed25519(signer) => signer.sign(message)?.to_header(),
        })
    }
}

/// A signer with relaxed/relaxed canonicalisation (RFC 6376 §3.4).
fn relaxed<T: SigningKey>(signer: DkimSigner<T, Done>) -> DkimSigner<T, Done> {
    signer
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
}

/// The domain whose keys sign a message: the envelope sender's, or for
/// mail from the null sender (bounces, vacation replies) the `From`
/// address's, in lower case.
pub(super) fn signing_domain(sender: &str, content: &[u8]) -> Option<String> {
    let from_header = || {
        let parsed = mail_parser::MessageParser::new().parse_headers(content)?;
        let address = parsed.from()?.first()?.address()?.to_string();
        Some(address)
    };
    let address = match sender {
        "" => from_header()?,
        sender => sender.to_string(),
    };
    let (_, domain) = address.rsplit_once('@')?;
    Some(domain.to_ascii_lowercase())
}

/// Signs messages with the keys in the store.
#[derive(Default)]
pub struct Signing {
    /// Loaded signers by key id.
    loaded: Mutex<HashMap<i64, Arc<Signer>>>,
}

impl Signing {
    /// `message` with a signature by each active key of `domain` in front;
    /// as it is when the domain has no key or a key cannot sign (the
    /// message still goes, unsigned, and the reason is logged).
    pub async fn sign(&self, store: &Store, domain: &str, message: &[u8]) -> Vec<u8> {
        let keys = match store.active_dkim_keys(domain).await {
            Ok(keys) => keys,
            Err(err) => {
                tracing::warn!(domain, error = %Chain(&err), "cannot read DKIM keys; sending unsigned");
                return message.to_vec();
            }
        };
        let mut signatures = String::new();
        for key in &keys {
            let signer = match self.signer(key) {
                Ok(signer) => signer,
                Err(err) => {
                    tracing::warn!(domain, selector = %key.selector, error = %err, "cannot load DKIM key");
                    continue;
                }
            };
            match signer.sign(message) {
                Ok(field) => signatures.push_str(&field),
                Err(err) => {
                    tracing::warn!(domain, selector = %key.selector, error = %Chain(&err), "cannot DKIM-sign");
                }
            }
        }
        let mut signed = Vec::with_capacity(signatures.len() + message.len());
        signed.extend_from_slice(signatures.as_bytes());
        signed.extend_from_slice(message);
        signed
    }

    fn signer(&self, key: &DkimKey) -> Result<Arc<Signer>, String> {
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(signer) = loaded.get(&key.id) {
            return Ok(signer.clone());
        }
        let signer = Arc::new(Signer::load(key)?);
        loaded.insert(key.id, signer.clone());
        Ok(signer)
    }
}
