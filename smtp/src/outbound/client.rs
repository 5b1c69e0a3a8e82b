//! The SMTP client of outbound delivery: one connection to one address,
//! one transaction (RFC 5321 §3.3), then QUIT.
//!
//! STARTTLS (RFC 3207) is used whenever the server offers it. The
//! certificate is not checked: MX records are not authenticated either, so
//! checking would only make delivery fail where plain text would have gone
//! through (RFC 7435, opportunistic security); TLS still hides the mail
//! from passive listeners. A recipient domain with an MTA-STS policy
//! (`crate::mta_sts`) is the exception: then STARTTLS must be offered and
//! the certificate valid for the MX host, checked after the handshake and
//! before anything of the message is sent. PIPELINING (RFC 2920) batches MAIL, RCPT and
//! DATA when offered; SIZE (RFC 1870) announces the size and refuses early
//! what the server would refuse after sending. AUTH PLAIN is used only
//! towards a smarthost, and only over TLS or to a loopback address.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use postino_common::auth::Secret;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{
    CryptoProvider, verify_tls12_signature, verify_tls13_signature,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    ClientConfig, DigitallySignedStruct, Error as TlsError, SignatureScheme,
};

use crate::mta_sts::Check;
use crate::proto::client::{
    Extensions, MAX_REPLY_LINE, MAX_REPLY_LINES, ServerReply, dot_stuff, parse_reply_line,
};

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for a reply to a command (RFC 5321 §4.5.3.2 asks for
/// minutes; 5 is the MAIL and RCPT figure).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
/// How long to wait for the reply to the end of data (§4.5.3.2.6).
const DATA_END_TIMEOUT: Duration = Duration::from_secs(600);
/// How long QUIT may take; its answer changes nothing.
const QUIT_TIMEOUT: Duration = Duration::from_secs(5);

/// Credentials for AUTH PLAIN at a smarthost.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: String,
    pub password: Secret,
}

/// What every connection shares.
pub struct Client {
    /// Our name, said in EHLO.
    pub hostname: String,
    tls: TlsConnector,
}

impl Client {
    /// A client saying `hostname` in EHLO. Fails only if the TLS library
    /// supports none of its default protocol versions.
    pub fn new(hostname: String) -> Result<Client, TlsError> {
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth();
        Ok(Client {
            hostname,
            tls: TlsConnector::from(Arc::new(config)),
        })
    }
}

/// One message for one server.
pub struct Transaction<'a> {
    /// Empty for the null sender.
    pub sender: &'a str,
    pub recipients: &'a [String],
    /// The message as it is to be sent, signed, without `Return-Path`.
    pub message: &'a [u8],
    pub credentials: Option<&'a Credentials>,
}

/// How a connection to one address ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// No transaction took place (no connection, a refusal before MAIL, a
    /// dropped connection): another address may do better.
    NoTransaction(ServerReply),
    /// The reply that decided each recipient, in order.
    Done(Vec<ServerReply>),
}

/// Delivers `transaction` to `addr`, the server called `host`, as the
/// recipient domain's MTA-STS policy, if any, asks.
pub async fn deliver(
    client: &Client,
    addr: SocketAddr,
    host: &str,
    transaction: &Transaction<'_>,
    sts: Option<&Check>,
) -> Attempt {
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => {
            return Attempt::NoTransaction(local(format!("cannot connect to {addr}: {err}")));
        }
        Err(_) => {
            return Attempt::NoTransaction(local(format!(
                "no connection to {addr} within {CONNECT_TIMEOUT:?}"
            )));
        }
    };
    let mut connection = Connection {
        reader: BufReader::new(Box::new(stream)),
        tls: false,
    };
    match connection
        .transaction(client, addr, host, transaction, sts)
        .await
    {
        Ok(attempt) => {
            connection.quit().await;
            attempt
        }
        Err(err) => Attempt::NoTransaction(local(format!(
            "connection to {host} [{addr}] failed: {err}"
        ))),
    }
}

/// A reply for a failure of our own, temporary.
fn local(text: String) -> ServerReply {
    ServerReply::local(451, format!("4.4.0 {text}"))
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Connection {
    reader: BufReader<Box<dyn Io>>,
    tls: bool,
}

impl Connection {
    async fn transaction(
        &mut self,
        client: &Client,
        addr: SocketAddr,
        host: &str,
        transaction: &Transaction<'_>,
        sts: Option<&Check>,
    ) -> io::Result<Attempt> {
        let greeting = self.read_reply(COMMAND_TIMEOUT).await?;
        if greeting.code != 220 {
            return Ok(Attempt::NoTransaction(greeting));
        }
        let mut extensions = match self.ehlo(client).await? {
            Ok(extensions) => extensions,
            Err(refused) => return Ok(Attempt::NoTransaction(refused)),
        };
        if extensions.starttls {
            let reply = self.command("STARTTLS").await?;
            if reply.code != 220 {
                return Ok(Attempt::NoTransaction(reply));
            }
            let chain = self.start_tls(client, addr, host).await?;
            if let Some(Err(refusal)) = sts.map(|check| check.certificate(host, &chain)) {
                return Ok(Attempt::NoTransaction(refusal));
            }
            extensions = match self.ehlo(client).await? {
                Ok(extensions) => extensions,
                Err(refused) => return Ok(Attempt::NoTransaction(refused)),
            };
        } else if let Some(Err(refusal)) = sts.map(|check| check.no_starttls(host)) {
            return Ok(Attempt::NoTransaction(refusal));
        }
        if let Some(credentials) = transaction.credentials {
            if !(self.tls || addr.ip().is_loopback()) {
                return Ok(Attempt::NoTransaction(local(format!(
                    "{host} offers no TLS: not sending credentials in clear text"
                ))));
            }
            if !extensions.auth_plain {
                return Ok(Attempt::NoTransaction(local(format!(
                    "{host} does not offer AUTH PLAIN"
                ))));
            }
            let response = BASE64.encode(format!(
                "\0{}\0{}",
                credentials.user,
                credentials.password.expose()
            ));
            let reply = self.command(&format!("AUTH PLAIN {response}")).await?;
            if reply.code != 235 {
                return Ok(Attempt::NoTransaction(reply));
            }
        }
        let size = transaction.message.len() as u64;
        if let Some(limit) = extensions.size.filter(|&limit| limit > 0 && size > limit) {
            let refusal = ServerReply::local(
                552,
                format!("5.3.4 message of {size} bytes is larger than {host}'s limit of {limit}"),
            );
            return Ok(Attempt::Done(vec![refusal; transaction.recipients.len()]));
        }
        let international =
            !transaction.sender.is_ascii() || transaction.recipients.iter().any(|r| !r.is_ascii());
        if international && !extensions.smtputf8 {
            // RFC 6531 §3.2: such an envelope may go only to a server that
            // offers SMTPUTF8.
            let refusal = ServerReply::local(
                553,
                format!("5.6.7 {host} does not offer SMTPUTF8, which these addresses need"),
            );
            return Ok(Attempt::Done(vec![refusal; transaction.recipients.len()]));
        }
        let mut mail = format!("MAIL FROM:<{}>", transaction.sender);
        if extensions.size.is_some() {
            mail.push_str(&format!(" SIZE={size}"));
        }
        if extensions.eight_bit_mime && !transaction.message.is_ascii() {
            mail.push_str(" BODY=8BITMIME");
        }
        if international {
            mail.push_str(" SMTPUTF8");
        }
        let rcpts: Vec<String> = transaction
            .recipients
            .iter()
            .map(|r| format!("RCPT TO:<{r}>"))
            .collect();
        let (mail_reply, rcpt_replies, data_reply) = if extensions.pipelining {
            let mut batch = String::new();
            for line in std::iter::once(&mail).chain(&rcpts) {
                batch.push_str(line);
                batch.push_str("\r\n");
            }
            batch.push_str("DATA\r\n");
            self.write(batch.as_bytes()).await?;
            let mail_reply = self.read_reply(COMMAND_TIMEOUT).await?;
            let mut rcpt_replies = Vec::with_capacity(rcpts.len());
            for _ in &rcpts {
                rcpt_replies.push(self.read_reply(COMMAND_TIMEOUT).await?);
            }
            let data_reply = self.read_reply(COMMAND_TIMEOUT).await?;
            (mail_reply, rcpt_replies, Some(data_reply))
        } else {
            let mail_reply = self.command(&mail).await?;
            let mut rcpt_replies = Vec::with_capacity(rcpts.len());
            if mail_reply.is_positive() {
                for rcpt in &rcpts {
                    rcpt_replies.push(self.command(rcpt).await?);
                }
            }
            (mail_reply, rcpt_replies, None)
        };
        if !mail_reply.is_positive() {
            if data_reply.as_ref().is_some_and(|r| r.code == 354) {
                // A server that took DATA anyway gets an empty message's end.
                self.write(b".\r\n").await?;
                self.read_reply(DATA_END_TIMEOUT).await?;
            }
            return Ok(Attempt::Done(vec![
                mail_reply;
                transaction.recipients.len()
            ]));
        }
        let accepted = rcpt_replies.iter().filter(|r| r.is_positive()).count();
        let data_reply = match data_reply {
            Some(reply) => reply,
            None if accepted > 0 => self.command("DATA").await?,
            None => return Ok(Attempt::Done(rcpt_replies)),
        };
        if data_reply.code != 354 {
            let replies = rcpt_replies
                .into_iter()
                .map(|r| {
                    if r.is_positive() {
                        data_reply.clone()
                    } else {
                        r
                    }
                })
                .collect();
            return Ok(Attempt::Done(replies));
        }
        if accepted == 0 {
            self.write(b".\r\n").await?;
            self.read_reply(DATA_END_TIMEOUT).await?;
            return Ok(Attempt::Done(rcpt_replies));
        }
        self.write(&dot_stuff(transaction.message)).await?;
        let end = self.read_reply(DATA_END_TIMEOUT).await?;
        Ok(Attempt::Done(
            rcpt_replies
                .into_iter()
                .map(|r| if r.is_positive() { end.clone() } else { r })
                .collect(),
        ))
    }

    /// EHLO, falling back to HELO (RFC 5321 §3.2) with no extensions.
    async fn ehlo(&mut self, client: &Client) -> io::Result<Result<Extensions, ServerReply>> {
        let reply = self.command(&format!("EHLO {}", client.hostname)).await?;
        if reply.code == 250 {
            return Ok(Ok(Extensions::parse(&reply)));
        }
        let reply = self.command(&format!("HELO {}", client.hostname)).await?;
        Ok(if reply.code == 250 {
            Ok(Extensions::default())
        } else {
            Err(reply)
        })
    }

    /// Upgrades the connection; the certificate chain the server presented.
    async fn start_tls(
        &mut self,
        client: &Client,
        addr: SocketAddr,
        host: &str,
    ) -> io::Result<Vec<CertificateDer<'static>>> {
        if !self.reader.buffer().is_empty() {
            // Bytes sent before the handshake could be injected (RFC 3207 §6).
            return Err(io::Error::other("data after the STARTTLS reply"));
        }
        let name =
            ServerName::try_from(host.to_owned()).unwrap_or_else(|_| ServerName::from(addr.ip()));
        let plain = std::mem::replace(
            &mut self.reader,
            BufReader::new(Box::new(tokio::io::duplex(1).0)),
        )
        .into_inner();
        let tls = tokio::time::timeout(COMMAND_TIMEOUT, client.tls.connect(name, plain))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        let chain = tls
            .get_ref()
            .1
            .peer_certificates()
            .map(|chain| chain.iter().map(|c| c.clone().into_owned()).collect())
            .unwrap_or_default();
        self.reader = BufReader::new(Box::new(tls));
        self.tls = true;
        Ok(chain)
    }

    async fn command(&mut self, line: &str) -> io::Result<ServerReply> {
        self.write(format!("{line}\r\n").as_bytes()).await?;
        self.read_reply(COMMAND_TIMEOUT).await
    }

    async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let stream = self.reader.get_mut();
        let written = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        tokio::time::timeout(COMMAND_TIMEOUT, written)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timed out"))?
    }

    async fn read_reply(&mut self, limit: Duration) -> io::Result<ServerReply> {
        tokio::time::timeout(limit, self.read_reply_lines())
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no reply in time"))?
    }

    async fn read_reply_lines(&mut self) -> io::Result<ServerReply> {
        let mut lines = Vec::new();
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            let read = (&mut self.reader)
                .take(MAX_REPLY_LINE as u64)
                .read_until(b'\n', &mut buffer)
                .await?;
            if read == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            if buffer.last() != Some(&b'\n') {
                return Err(io::Error::other("reply line too long"));
            }
            let text = String::from_utf8_lossy(&buffer);
            let text = text.trim_end_matches(['\r', '\n']);
            let line = parse_reply_line(text)
                .ok_or_else(|| io::Error::other(format!("not an SMTP reply: {text:?}")))?;
            lines.push(line.text.to_owned());
            if line.last {
                return Ok(ServerReply {
                    code: line.code,
                    lines,
                });
            }
            if lines.len() >= MAX_REPLY_LINES {
                return Err(io::Error::other("reply with too many lines"));
            }
        }
    }

    /// Says goodbye; the server's answer does not matter any more.
    async fn quit(&mut self) {
        let _ = tokio::time::timeout(QUIT_TIMEOUT, async {
            self.write(b"QUIT\r\n").await?;
            self.read_reply_lines().await
        })
        .await;
    }
}

/// Accepts any certificate, but still checks that the server holds its key.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
