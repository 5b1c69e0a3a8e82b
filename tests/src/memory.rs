//! Postino's IMAP, SMTP and ManageSieve services inside the test process,
//! on a fresh store, each connection an in-memory pipe: what the transcript
//! tests talk to.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use postino_common::address::Address;
use postino_common::auth::{Authenticator, Secret, ThrottlePolicy};
use postino_common::listener::ConnectionLimits;
use postino_common::store::testing::TestStore;
use postino_common::store::{NewAccount, NewDomain};
use postino_common::stream::Stream;
use postino_common::tls::{CertificateSource, ServerTls};
use postino_smtp::authres::Verifier;
use postino_smtp::dnsbl::Blocklists;
use postino_smtp::{ListenerKind, Timeouts};
use tokio::io::DuplexStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::Backend;
use crate::dns::DnsStub;
use crate::smtp::{ANNA, BRUNO, DOMAIN, PASSWORD};

/// Room in each direction of a pipe, as a socket's buffers would have.
const PIPE: usize = 64 * 1024;
/// The server's name.
const HOSTNAME: &str = "mail.comune.esempio.pu.it";
/// The address sessions see as their client's.
const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A store with [`DOMAIN`], [`ANNA`] (its postmaster) and [`BRUNO`]
/// (password [`PASSWORD`]),
/// and the IMAP, SMTP and ManageSieve services over it; SMTP's DNS is a
/// stub on loopback that knows no name.
pub struct MemorySite {
    store: Option<TestStore>,
    imap: Arc<postino_imap::Context>,
    smtp: Arc<postino_smtp::Context>,
    managesieve: Arc<postino_managesieve::Context>,
    _dns: DnsStub,
    shutdown: CancellationToken,
}

impl MemorySite {
    pub async fn new(backend: Backend) -> MemorySite {
        let store = match backend {
            Backend::Sqlite => TestStore::sqlite().await,
            Backend::Postgres => TestStore::postgres().await,
        };
        let auth = Authenticator::new(store.store.clone(), throttle(), 2);
        add_users(&store, &auth).await;
        let imap = postino_imap::Context {
            settings: postino_imap::Settings {
                limits: ConnectionLimits {
                    total: 100,
                    per_ip: 100,
                },
                idle_timeout: Duration::from_secs(60),
                max_message_size: 10 * 1024 * 1024,
                max_errors: 10,
                allow_plaintext_auth: true,
                spam_learning: false,
            },
            store: store.store.clone(),
            auth,
            tls: acceptor(),
        };
        let dns = DnsStub::start().await.expect("DNS stub");
        let smtp = smtp_context(&store, &imap.auth, &dns);
        let managesieve = managesieve_context(&store, &imap.auth);
        MemorySite {
            store: Some(store),
            imap: Arc::new(imap),
            smtp: Arc::new(smtp),
            managesieve: Arc::new(managesieve),
            _dns: dns,
            shutdown: CancellationToken::new(),
        }
    }

    /// A new IMAP connection: the client's end of a pipe whose other end
    /// a session serves.
    pub async fn connect_imap(&self) -> DuplexStream {
        let (client, server) = tokio::io::duplex(PIPE);
        let (imap, shutdown) = (self.imap.clone(), self.shutdown.clone());
        tokio::spawn(async move {
            postino_imap::converse(Stream::plain(server), PEER, &imap, &shutdown).await
        });
        client
    }

    /// A new SMTP connection to a `kind` listener, as from 127.0.0.1.
    pub async fn connect_smtp(&self, kind: ListenerKind) -> DuplexStream {
        let (client, server) = tokio::io::duplex(PIPE);
        let (smtp, shutdown) = (self.smtp.clone(), self.shutdown.clone());
        tokio::spawn(postino_smtp::converse(
            Stream::plain(server),
            kind,
            PEER,
            smtp,
            shutdown,
        ));
        client
    }

    /// A new ManageSieve connection, as from 127.0.0.1.
    pub async fn connect_managesieve(&self) -> DuplexStream {
        let (client, server) = tokio::io::duplex(PIPE);
        let (managesieve, shutdown) = (self.managesieve.clone(), self.shutdown.clone());
        tokio::spawn(async move {
            postino_managesieve::converse(Stream::plain(server), PEER, &managesieve, &shutdown)
                .await
        });
        client
    }

    /// Ends the sessions and removes the store.
    pub async fn finish(mut self) {
        self.shutdown.cancel();
        if let Some(store) = self.store.take() {
            store.finish().await;
        }
    }
}

/// The SMTP service as `serve` sets it up by default, with short waits.
fn smtp_context(store: &TestStore, auth: &Authenticator, dns: &DnsStub) -> postino_smtp::Context {
    let timeout = Duration::from_secs(1);
    let verifier = Verifier::new(HOSTNAME, &[dns.addr()], timeout).expect("DNS checks");
    postino_smtp::Context {
        settings: postino_smtp::Settings {
            hostname: HOSTNAME.into(),
            limits: ConnectionLimits {
                total: 100,
                per_ip: 100,
            },
            timeouts: Timeouts {
                idle: Duration::from_secs(60),
                command: Duration::from_secs(60),
                min_data_rate: 500,
                session: Duration::from_secs(600),
            },
            max_message_size: 1024 * 1024,
            max_recipients: 10,
            max_errors: 10,
            allow_plaintext_auth: true,
            postmaster: None,
            bare_newline_allow: Vec::new(),
            pregreet_wait: Duration::ZERO,
            sending_limits: postino_smtp::SendingLimits {
                messages_per_hour: 200,
                recipients_per_day: 1000,
            },
        },
        store: store.store.clone(),
        auth: auth.clone(),
        tls: acceptor(),
        verifier,
        scanner: None,
        blocklists: Blocklists::none(),
        filters: postino_smtp::filter::Filters::new(postino_sieve::Limits::default(), HOSTNAME),
    }
}

/// ManageSieve as `serve` sets it up, passwords allowed over the pipe, and
/// script sizes a transcript can reach: 1 KiB a script, 2 KiB a mailbox.
fn managesieve_context(store: &TestStore, auth: &Authenticator) -> postino_managesieve::Context {
    let scripts = postino_config::SieveConfig {
        max_script_size: postino_config::ByteSize(1024),
        max_scripts_size: postino_config::ByteSize(2048),
        ..postino_config::SieveConfig::default()
    };
    postino_managesieve::Context {
        settings: postino_managesieve::Settings {
            limits: ConnectionLimits {
                total: 100,
                per_ip: 100,
            },
            idle_timeout: Duration::from_secs(60),
            max_errors: 10,
            allow_plaintext_auth: true,
            scripts,
        },
        store: store.store.clone(),
        auth: auth.clone(),
        tls: acceptor(),
    }
}

/// Failed logins are few in a transcript: the limits stay out of the way
/// unless a transcript is about them.
fn throttle() -> ThrottlePolicy {
    ThrottlePolicy::for_tests(20, 10)
}

async fn add_users(store: &TestStore, auth: &Authenticator) {
    // One hash for every store of the run: argon2 is slow on purpose.
    static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let hash = HASH
        .get_or_init(|| async {
            let hashed = auth.hash_password(&Secret::new(PASSWORD)).await;
            hashed.expect("hash the test password")
        })
        .await;
    let mut tx = store.store.begin().await.expect("begin");
    let domain = tx
        .create_domain(&NewDomain {
            name: DOMAIN.parse().expect("domain name"),
            quota_bytes: 0,
            max_mailboxes: 0,
        })
        .await
        .expect("create the domain");
    for user in [ANNA, BRUNO] {
        let address: Address = user.parse().expect("address");
        tx.create_account(&NewAccount {
            address,
            display_name: String::new(),
            password_hash: Some(hash.clone()),
            quota_bytes: 0,
        })
        .await
        .expect("create an account");
    }
    // The domain's postmaster is Anna, as an installation sets one up.
    let postmaster = format!("postmaster@{DOMAIN}");
    tx.add_alias(domain.id, &postmaster, &[ANNA.to_string()])
        .await
        .expect("postmaster alias");
    tx.commit().await.expect("commit");
}

/// One self-signed certificate for every site of the run, for STARTTLS.
fn acceptor() -> TlsAcceptor {
    static CONFIG: OnceLock<TlsAcceptor> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let dir = tempfile::TempDir::new().expect("temporary directory");
            let source = CertificateSource {
                files: None,
                data_dir: dir.path(),
                hostname: HOSTNAME,
            };
            TlsAcceptor::from(
                ServerTls::load(&source)
                    .expect("TLS configuration")
                    .config(),
            )
        })
        .clone()
}
