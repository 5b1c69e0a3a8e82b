//! TLS server set-up: the configured certificate, or a self-signed one
//! generated into the data directory on first start, valid for a year and
//! generated again at a start (or a reload) within 30 days of its end.
//!
//! Every listener shares one rustls configuration whose certificate
//! [`ServerTls::reload`] replaces: handshakes after a reload present the new
//! pair, sessions already open keep the one they started with.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use thiserror::Error;
use time::{Duration, OffsetDateTime};

/// How long a generated certificate is valid.
const VALIDITY: Duration = Duration::days(365);
/// How far before its generation a certificate becomes valid, so that
/// clients whose clocks run a little behind accept it.
const BACKDATED: Duration = Duration::hours(1);
/// A generated certificate this close to its end is generated again.
const RENEW_BEFORE: Duration = Duration::days(30);

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
    #[error("{cert} and {key} are not a usable certificate and key")]
    Unusable {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("no usable TLS protocol version")]
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

/// The server-side TLS set-up every listener shares.
#[derive(Debug, Clone)]
pub struct ServerTls {
    config: Arc<ServerConfig>,
    certificate: Arc<CurrentCertificate>,
}

impl ServerTls {
    /// Loads the pair `source` names (generating a self-signed one if
    /// needed) and builds the configuration that presents it.
    pub fn load(source: &CertificateSource<'_>) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let source = OwnedSource {
            files: source
                .files
                .map(|(cert, key)| (cert.to_path_buf(), key.to_path_buf())),
            data_dir: source.data_dir.to_path_buf(),
            hostname: source.hostname.to_owned(),
        };
        let (key, _) = source.read(&provider)?;
        let certificate = Arc::new(CurrentCertificate {
            source,
            provider: provider.clone(),
            current: RwLock::new(Arc::new(key)),
        });
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(certificate.clone());
        Ok(Self {
            config: Arc::new(config),
            certificate,
        })
    }

    /// The rustls configuration, for the listeners' acceptors.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.config.clone()
    }

    /// Reads the certificate and key again (a self-signed pair is generated
    /// again if near its end) and presents them from the next handshake on.
    /// Returns the certificate file read. On error the current pair stays.
    pub fn reload(&self) -> Result<PathBuf, TlsError> {
        let certificate = &self.certificate;
        let (key, cert_path) = certificate.source.read(&certificate.provider)?;
        *certificate
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
        Ok(cert_path)
    }
}

/// [`CertificateSource`], kept for reloads.
#[derive(Debug)]
struct OwnedSource {
    files: Option<(PathBuf, PathBuf)>,
    data_dir: PathBuf,
    hostname: String,
}

impl OwnedSource {
    /// The pair as rustls presents it, and the certificate file it came from.
    fn read(&self, provider: &CryptoProvider) -> Result<(CertifiedKey, PathBuf), TlsError> {
        let (cert_path, key_path) = match &self.files {
            Some((cert, key)) => (cert.clone(), key.clone()),
            None => self_signed(&self.data_dir, &self.hostname)?,
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
        // Checks that the key is the certificate's, and that there is one.
        let key =
            CertifiedKey::from_der(chain, key, provider).map_err(|source| TlsError::Unusable {
                cert: cert_path.clone(),
                key: key_path.clone(),
                source,
            })?;
        Ok((key, cert_path))
    }
}

/// The pair presented now: every handshake asks for it, a reload replaces it.
#[derive(Debug)]
struct CurrentCertificate {
    source: OwnedSource,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for CurrentCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

/// The self-signed pair under `data_dir/tls`, generated if missing, near
/// its end, or valid for longer than this version makes them (older ones
/// were valid until the year 4096).
fn self_signed(data_dir: &Path, hostname: &str) -> Result<(PathBuf, PathBuf), TlsError> {
    let dir = data_dir.join("tls");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    let now = OffsetDateTime::now_utc();
    if key_path.exists() {
        match validity(&cert_path) {
            Some((from, until))
                if until - now > RENEW_BEFORE && until - from <= VALIDITY + BACKDATED =>
            {
                return Ok((cert_path, key_path));
            }
            Some((_, until)) => {
                tracing::info!(cert = %cert_path.display(), %until, "replacing the self-signed TLS certificate")
            }
            None => {}
        }
    }
    generate(&dir, hostname, now - BACKDATED, now + VALIDITY)?;
    tracing::info!(cert = %cert_path.display(), hostname, "generated a self-signed TLS certificate");
    Ok((cert_path, key_path))
}

/// Writes a self-signed pair for `hostname` and `localhost` into `dir`,
/// valid from `from` until `until`.
fn generate(
    dir: &Path,
    hostname: &str,
    from: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<(), TlsError> {
    let mut params =
        rcgen::CertificateParams::new(vec![hostname.to_string(), "localhost".to_string()])?;
    params.not_before = from;
    params.not_after = until;
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Write { path, source }
    };
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    write_private(&key_path, key.serialize_pem().as_bytes()).map_err(write_err(&key_path))?;
    std::fs::write(&cert_path, cert.pem()).map_err(write_err(&cert_path))
}

/// The validity (not before, not after) of the first certificate in a PEM
/// file, if it can be read (RFC 5280 §4.1.2.5).
fn validity(path: &Path) -> Option<(OffsetDateTime, OffsetDateTime)> {
    use yasna::tags::TAG_UTCTIME;
    let der = CertificateDer::pem_file_iter(path).ok()?.next()?.ok()?;
    let time = |r: yasna::BERReader<'_, '_>| {
        if r.lookahead_tag()? == TAG_UTCTIME {
            r.read_utctime().map(|t| *t.datetime())
        } else {
            r.read_generalized_time().map(|t| *t.datetime())
        }
    };
    let skip_rest = |r: &mut yasna::BERReaderSeq<'_, '_>| -> yasna::ASN1Result<()> {
        while r.read_optional(|r| r.read_der())?.is_some() {}
        Ok(())
    };
    yasna::parse_der(&der, |certificate| {
        certificate.read_sequence(|certificate| {
            let dates = certificate.next().read_sequence(|tbs| {
                tbs.read_optional(|r| r.read_tagged(yasna::Tag::context(0), |r| r.read_der()))?;
                // Serial number, signature algorithm, issuer.
                for _ in 0..3 {
                    tbs.next().read_der()?;
                }
                let dates = tbs
                    .next()
                    .read_sequence(|r| Ok((time(r.next())?, time(r.next())?)))?;
                skip_rest(tbs)?;
                Ok(dates)
            })?;
            skip_rest(certificate)?;
            Ok(dates)
        })
    })
    .ok()
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
        ServerTls::load(&source).unwrap();
        let first = std::fs::read(dir.path().join("tls/cert.pem")).unwrap();
        ServerTls::load(&source).unwrap();
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
        assert!(matches!(
            ServerTls::load(&source),
            Err(TlsError::Read { .. })
        ));
    }

    fn generated_validity(dir: &Path) -> (OffsetDateTime, OffsetDateTime) {
        validity(&dir.join("tls/cert.pem")).expect("a readable certificate")
    }

    #[test]
    fn a_generated_certificate_is_valid_for_a_year_from_now() {
        let dir = tempfile::TempDir::new().unwrap();
        let source = CertificateSource {
            files: None,
            data_dir: dir.path(),
            hostname: "mail.example.it",
        };
        let before = OffsetDateTime::now_utc();
        ServerTls::load(&source).unwrap();
        let after = OffsetDateTime::now_utc();
        let (from, until) = generated_validity(dir.path());
        // The certificate stores whole seconds.
        let second = Duration::seconds(1);
        assert!(
            from <= before && from >= before - BACKDATED - second,
            "{from}"
        );
        assert!(
            until >= before + VALIDITY - second && until <= after + VALIDITY,
            "{until}"
        );
    }

    #[test]
    fn old_or_expiring_generated_certificates_are_replaced_at_start() {
        let now = OffsetDateTime::now_utc();
        let year_4096 = OffsetDateTime::from_unix_timestamp(65_000_000_000).unwrap();
        for (from, until) in [
            (now - Duration::days(340), now + Duration::days(25)),
            (now - Duration::days(400), now - Duration::days(1)),
            (OffsetDateTime::UNIX_EPOCH, year_4096),
        ] {
            let dir = tempfile::TempDir::new().unwrap();
            generate(&dir.path().join("tls"), "mail.example.it", from, until).unwrap();
            let source = CertificateSource {
                files: None,
                data_dir: dir.path(),
                hostname: "mail.example.it",
            };
            ServerTls::load(&source).unwrap();
            let (_, renewed) = generated_validity(dir.path());
            assert!(
                renewed > now + VALIDITY - Duration::days(1),
                "{until}: {renewed}"
            );
        }
    }

    #[test]
    fn a_configured_certificate_is_left_as_it_is() {
        let dir = tempfile::TempDir::new().unwrap();
        let tls = dir.path().join("tls");
        let now = OffsetDateTime::now_utc();
        generate(
            &tls,
            "mail.example.it",
            now - Duration::days(360),
            now + Duration::days(5),
        )
        .unwrap();
        let (cert, key) = (tls.join("cert.pem"), tls.join("key.pem"));
        let given = std::fs::read(&cert).unwrap();
        let source = CertificateSource {
            files: Some((&cert, &key)),
            data_dir: dir.path(),
            hostname: "mail.example.it",
        };
        ServerTls::load(&source).unwrap();
        assert_eq!(std::fs::read(&cert).unwrap(), given);
    }

    /// The leaf certificate the next handshake presents.
    fn presented(tls: &ServerTls) -> Vec<u8> {
        let current = tls.certificate.current.read().unwrap().clone();
        current.cert[0].to_vec()
    }

    fn leaf(path: &Path) -> Vec<u8> {
        CertificateDer::pem_file_iter(path)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .to_vec()
    }

    fn install(from: &Path, to: &Path) {
        for name in ["cert.pem", "key.pem"] {
            std::fs::copy(from.join(name), to.join(name)).unwrap();
        }
    }

    #[test]
    fn a_reload_presents_the_new_pair_and_a_bad_one_keeps_the_current() {
        let dir = tempfile::TempDir::new().unwrap();
        let now = OffsetDateTime::now_utc();
        let (a, b, live) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("live"),
        );
        generate(&a, "a.example.it", now - BACKDATED, now + VALIDITY).unwrap();
        generate(&b, "b.example.it", now - BACKDATED, now + VALIDITY).unwrap();
        std::fs::create_dir(&live).unwrap();
        install(&a, &live);
        let (cert, key) = (live.join("cert.pem"), live.join("key.pem"));
        let tls = ServerTls::load(&CertificateSource {
            files: Some((&cert, &key)),
            data_dir: dir.path(),
            hostname: "a.example.it",
        })
        .unwrap();
        assert_eq!(presented(&tls), leaf(&a.join("cert.pem")));

        install(&b, &live);
        assert_eq!(tls.reload().unwrap(), cert);
        assert_eq!(presented(&tls), leaf(&b.join("cert.pem")));

        // A key that is not the certificate's, then no certificate at all.
        std::fs::copy(a.join("key.pem"), &key).unwrap();
        assert!(matches!(tls.reload(), Err(TlsError::Unusable { .. })));
        install(&b, &live);
        std::fs::write(&cert, "").unwrap();
        assert!(matches!(tls.reload(), Err(TlsError::Unusable { .. })));
        std::fs::remove_file(&cert).unwrap();
        assert!(matches!(tls.reload(), Err(TlsError::Read { .. })));
        assert_eq!(presented(&tls), leaf(&b.join("cert.pem")));
    }
}
