//! TLS server set-up: the configured certificate, or a self-signed one
//! generated into the data directory on first start.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot generate a self-signed certificate")]
    Generate(#[from] rcgen::Error),
    #[error("unusable certificate or key")]
    Rustls(#[from] rustls::Error),
}

/// Where the certificate and key come from.
#[derive(Debug, Clone)]
pub struct CertificateSource<'a> {
    /// Configured PEM files, certificate chain then private key.
    pub files: Option<(&'a Path, &'a Path)>,
    /// Where a self-signed pair is kept when no files are configured.
    pub data_dir: &'a Path,
    pub hostname: &'a str,
}

/// The server-side TLS configuration every listener shares.
pub fn server_config(source: &CertificateSource<'_>) -> Result<Arc<ServerConfig>, TlsError> {
    let (cert_path, key_path) = match source.files {
        Some((cert, key)) => (cert.to_path_buf(), key.to_path_buf()),
        None => self_signed(source.data_dir, source.hostname)?,
    };
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Read { path, source }
    };
    let chain = CertificateDer::pem_file_iter(&cert_path)
        .map_err(read_err(&cert_path))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_err(&cert_path))?;
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(read_err(&key_path))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

/// The self-signed pair under `data_dir/tls`, generated if missing.
fn self_signed(data_dir: &Path, hostname: &str) -> Result<(PathBuf, PathBuf), TlsError> {
    let dir = data_dir.join("tls");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    let names = vec![hostname.to_string(), "localhost".to_string()];
    let generated = rcgen::generate_simple_self_signed(names)?;
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Write { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(write_err(&dir))?;
    write_private(&key_path, generated.key_pair.serialize_pem().as_bytes())
        .map_err(write_err(&key_path))?;
    std::fs::write(&cert_path, generated.cert.pem()).map_err(write_err(&cert_path))?;
    tracing::info!(cert = %cert_path.display(), hostname, "generated a self-signed TLS certificate");
    Ok((cert_path, key_path))
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_pair_is_generated_once_and_loads() {
        let dir = tempfile::TempDir::new().unwrap();
        let source = CertificateSource {
            files: None,
            data_dir: dir.path(),
            hostname: "mail.example.it",
        };
        server_config(&source).unwrap();
        let first = std::fs::read(dir.path().join("tls/cert.pem")).unwrap();
        server_config(&source).unwrap();
        let second = std::fs::read(dir.path().join("tls/cert.pem")).unwrap();
        assert_eq!(first, second, "the certificate must be kept across starts");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join("tls/key.pem"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(
            mode & 0o077,
            0,
            "the private key must not be readable by others"
        );
    }

    #[test]
    fn unreadable_files_are_an_error() {
        let dir = tempfile::TempDir::new().unwrap();
        let missing = dir.path().join("missing.pem");
        let source = CertificateSource {
            files: Some((&missing, &missing)),
            data_dir: dir.path(),
            hostname: "mail.example.it",
        };
        assert!(matches!(server_config(&source), Err(TlsError::Read { .. })));
    }
}
