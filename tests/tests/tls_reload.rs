//! `systemctl reload`: on SIGHUP `postino serve` presents the pair now in
//! its `[tls]` files to new connections, on every TLS listener, while a
//! session opened before goes on; a pair that cannot be used is logged and
//! the current one kept. Certificates are made by openssl, and read back
//! from each handshake by `openssl s_client`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use postino_tests::imap::ImapClient;
use postino_tests::{Backend, Server, TEST_LIMIT, TestConfig, run_program, self_signed, within};

/// How long a reload may take to show in new handshakes.
const RELOAD_LIMIT: Duration = Duration::from_secs(10);

/// Makes a self-signed pair `NAME-cert.pem`, `NAME-key.pem` in `dir`.
async fn make_pair(dir: &Path, name: &str) {
    let (cert, key) = (format!("{name}-cert.pem"), format!("{name}-key.pem"));
    self_signed(
        &format!("{name}.postino.test"),
        &dir.join(cert),
        &dir.join(key),
    )
    .await;
}

/// Puts pair `name` where the configuration names its certificate and key.
fn install(dir: &Path, name: &str) {
    for part in ["cert", "key"] {
        std::fs::copy(
            dir.join(format!("{name}-{part}.pem")),
            dir.join(format!("{part}.pem")),
        )
        .expect("install a certificate file");
    }
}

/// The SHA-256 fingerprint of a certificate, as openssl prints it.
async fn fingerprint(pem: &[u8]) -> String {
    let out = run_program(
        "openssl",
        &["x509", "-noout", "-fingerprint", "-sha256"],
        Some(pem),
    )
    .await;
    assert!(out.status.success(), "{out:#?}");
    out.stdout.trim().to_owned()
}

async fn fingerprint_of(dir: &Path, name: &str) -> String {
    let pem = std::fs::read(dir.join(format!("{name}-cert.pem"))).expect("read a certificate");
    fingerprint(&pem).await
}

/// The fingerprint of the certificate a new TLS connection to `addr` gets.
async fn presented(addr: SocketAddr) -> String {
    let out = run_program(
        "openssl",
        &["s_client", "-connect", &addr.to_string()],
        Some(b""),
    )
    .await;
    assert!(out.stdout.contains("BEGIN CERTIFICATE"), "{out:#?}");
    fingerprint(out.stdout.as_bytes()).await
}

/// Waits until a new connection to `addr` gets the certificate `wanted`.
async fn wait_presented(addr: SocketAddr, wanted: &str) {
    let deadline = Instant::now() + RELOAD_LIMIT;
    loop {
        let now = presented(addr).await;
        if now == wanted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{addr} still presents {now}, not {wanted}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn hang_up(server: &Server) {
    let out = run_program("kill", &["-HUP", &server.id().to_string()], None).await;
    assert!(out.status.success(), "{out:#?}");
}

#[tokio::test]
async fn sighup_presents_the_new_certificate_and_keeps_sessions() {
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        let dir = config.dir();
        make_pair(dir, "first").await;
        make_pair(dir, "second").await;
        install(dir, "first");
        config.set("tls", "cert = \"cert.pem\"\nkey = \"key.pem\"");
        let mut server = Server::start(&config).await;
        let (first, second) = (
            fingerprint_of(dir, "first").await,
            fingerprint_of(dir, "second").await,
        );
        let tls_listeners = [config.listeners.imap_tls, config.listeners.smtp_submissions];
        for addr in tls_listeners {
            assert_eq!(presented(addr).await, first, "{addr}");
        }
        let mut session = ImapClient::connect_tls(config.listeners.imap_tls).await;
        assert!(session.greeting.starts_with("* OK"), "{}", session.greeting);

        install(dir, "second");
        hang_up(&server).await;
        for addr in tls_listeners {
            wait_presented(addr, &second).await;
        }
        session.command("NOOP").await.ok();

        // The second certificate with the first one's key: refused, and
        // the second pair stays.
        std::fs::copy(dir.join("first-key.pem"), dir.join("key.pem")).expect("replace the key");
        hang_up(&server).await;
        let deadline = Instant::now() + RELOAD_LIMIT;
        while !server.log().contains("cannot reload the TLS certificate") {
            assert!(
                Instant::now() < deadline,
                "no error logged:\n{}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for addr in tls_listeners {
            assert_eq!(presented(addr).await, second, "{addr}");
        }
        session.command("NOOP").await.ok();
        session.logout().await;
        assert!(server.stop().await.success(), "{}", server.log());
    })
    .await;
}
