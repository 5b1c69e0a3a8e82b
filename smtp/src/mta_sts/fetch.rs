//! Fetching a policy file (RFC 8461 §3.3): `GET
//! /.well-known/mta-sts.txt` from `mta-sts.DOMAIN` over HTTPS, the
//! certificate valid for that name, no redirects followed, at most
//! [`MAX_POLICY_SIZE`] bytes, within [`FETCH_TIMEOUT`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use postino_common::mta_sts::MAX_POLICY_SIZE;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, Error as TlsError};

use crate::error::Chain;

/// How long one fetch may take, connection and all.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// The policy's path on its host.
const PATH: &str = "/.well-known/mta-sts.txt";

/// Fetches policies over HTTPS.
pub struct Fetcher {
    tls: TlsConnector,
    /// The port of the policy hosts: 443 but in tests.
    port: u16,
}

impl Fetcher {
    pub fn new(
        verifier: Arc<WebPkiServerVerifier>,
        provider: Arc<CryptoProvider>,
        port: u16,
    ) -> Result<Fetcher, TlsError> {
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_webpki_verifier(verifier)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Fetcher {
            tls: TlsConnector::from(Arc::new(config)),
            port,
        })
    }

    /// The port policies are fetched from.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The policy file of the domain whose policy host is `host`, from the
    /// first of `addresses` that answers; `Err` says why none gave it.
    pub async fn fetch(&self, host: &str, addresses: &[SocketAddr]) -> Result<Bytes, String> {
        let mut last = format!("{host} has no address");
        for &addr in addresses {
            match tokio::time::timeout(FETCH_TIMEOUT, self.fetch_from(host, addr)).await {
                Ok(Ok(body)) => return Ok(body),
                Ok(Err(reason)) => last = reason,
                Err(_) => last = format!("no policy from {host} [{addr}] within {FETCH_TIMEOUT:?}"),
            }
        }
        Err(last)
    }

    async fn fetch_from(&self, host: &str, addr: SocketAddr) -> Result<Bytes, String> {
        let failed = |what: &str, err: &dyn std::error::Error| {
            format!("{what} https://{host}{PATH} [{addr}]: {}", Chain(err))
        };
        let name = ServerName::try_from(host.to_owned())
            .map_err(|err| failed("bad host name for", &err))?;
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|err| failed("cannot connect to", &err))?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|err| failed("no TLS with", &err))?;
        let (mut sender, connection) = http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|err| failed("no HTTP with", &err))?;
        // The connection runs beside the request and ends with it.
        let driver = tokio::spawn(connection);
        let authority = if self.port == 443 {
            host.to_string()
        } else {
            format!("{host}:{}", self.port)
        };
        let request = Request::get(PATH)
            .header(header::HOST, authority)
            .body(Empty::<Bytes>::new())
            .map_err(|err| failed("cannot ask", &err))?;
        let result = async {
            let response = sender
                .send_request(request)
                .await
                .map_err(|err| failed("no answer from", &err))?;
            // A redirect is not followed (§3.3): only 200 gives a policy.
            if response.status() != StatusCode::OK {
                return Err(format!(
                    "https://{host}{PATH} [{addr}] answered {}",
                    response.status()
                ));
            }
            let text_plain = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| {
                    value
                        .split(';')
                        .next()
                        .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("text/plain"))
                });
            if !text_plain {
                return Err(format!("https://{host}{PATH} [{addr}] is not text/plain"));
            }
            Limited::new(response.into_body(), MAX_POLICY_SIZE)
                .collect()
                .await
                .map(|body| body.to_bytes())
                .map_err(|err| failed("cannot read", &*err))
        }
        .await;
        driver.abort();
        result
    }
}
