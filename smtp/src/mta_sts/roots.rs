//! The certificates MTA-STS trusts (RFC 8461 §3.3, §4.2): the system's
//! roots, and the CA file the configuration may add. One verifier checks
//! both the policy hosts' certificates and the MX hosts'.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::ServerCertVerifier;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{Error as TlsError, RootCertStore};

/// Why the trusted certificates could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RootsError {
    #[error("cannot read the CA file {path}")]
    CaFile {
        path: String,
        #[source]
        source: tokio_rustls::rustls::pki_types::pem::Error,
    },
    #[error("no trusted certificate: the system has none and no CA file is configured")]
    Empty(#[source] tokio_rustls::rustls::client::VerifierBuilderError),
}

/// A verifier trusting the system's roots and those of `ca_file`.
pub fn verifier(
    ca_file: Option<&Path>,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, RootsError> {
    let mut roots = RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    for error in &system.errors {
        tracing::warn!(%error, "cannot read some of the system's trusted certificates");
    }
    roots.add_parsable_certificates(system.certs);
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|source| RootsError::CaFile {
                path: path.display().to_string(),
                source,
            })?;
        roots.add_parsable_certificates(certs);
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(RootsError::Empty)
}

/// Whether the chain a server presented is valid for `host` now: `Err`
/// says why not.
pub fn check_chain(
    verifier: &WebPkiServerVerifier,
    chain: &[CertificateDer<'_>],
    host: &str,
) -> Result<(), String> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| format!("`{host}` is not a name a certificate can be checked for"))?;
    let (end_entity, intermediates) = chain
        .split_first()
        .ok_or_else(|| "no certificate was presented".to_string())?;
    verifier
        .verify_server_cert(end_entity, intermediates, &name, &[], UnixTime::now())
        .map(drop)
        .map_err(|err: TlsError| format!("the certificate is not valid for {host}: {err}"))
}
