//! Bearer secrets: API tokens and session cookies. Each is 256 random bits
//! the client holds; the store keeps only its SHA-256, which is enough for
//! a secret nobody can guess and lets a lookup be one indexed query.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use super::Secret;

/// A new random secret with `prefix` (such as `pst_`), and its digest.
pub fn generate(prefix: &str) -> (Secret, String) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let secret = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let digest = digest(&secret);
    (Secret::new(secret), digest)
}

/// The digest the store keeps for `secret`, in hex.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_distinct_and_digested() {
        let (a, a_digest) = generate("pst_");
        let (b, _) = generate("pst_");
        assert!(a.expose().starts_with("pst_"));
        assert_eq!(a.expose().len(), 4 + 43);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(digest(a.expose()), a_digest);
        assert_eq!(a_digest.len(), 64);
    }
}
