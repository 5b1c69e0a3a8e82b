//! `postino serve` with no configuration at all (no `--config`, no
//! `/etc/postino/postino.toml`) runs on the embedded default: data in
//! `./postino-data`, SQLite, a self-signed certificate generated on first
//! start, every listener on a fixed loopback port.
//!
//! The ports are fixed, so this is the only test that uses them.

use std::net::{SocketAddr, TcpListener};

use postino_tests::{LineClient, Server, TEST_LIMIT, within};
use tempfile::TempDir;

/// The embedded listeners: SMTP MX, submission, submissions; IMAP, IMAPS;
/// POP3, POP3S; ManageSieve; admin HTTP.
const EMBEDDED_PORTS: [u16; 9] = [2525, 2587, 2465, 2143, 2993, 2110, 2995, 4190, 8080];
const SMTP: u16 = 2525;
const IMAP: u16 = 2143;

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[tokio::test]
async fn serve_without_a_config_runs_the_embedded_default() {
    within(TEST_LIMIT, async {
        // A port held by something else would make the start fail, or
        // worse, answer in postino's place: say so plainly.
        for port in EMBEDDED_PORTS {
            if let Err(err) = TcpListener::bind(loopback(port)) {
                panic!("embedded-default port {port} is not free on 127.0.0.1: {err}");
            }
        }
        // Without --config, an installed package's file comes first.
        let system = std::path::Path::new("/etc/postino/postino.toml");
        assert!(
            !system.exists(),
            "{} exists: postino reads it instead of running on the embedded default",
            system.display()
        );
        let cwd = TempDir::new().unwrap();
        let mut server =
            Server::spawn(cwd.path(), &["serve"], &[loopback(SMTP), loopback(IMAP)]).await;

        // The MX greets in two lines, a second apart (the pregreet test).
        let mut smtp = LineClient::connect(loopback(SMTP)).await;
        let greeting = smtp.read_reply().await;
        assert!(
            greeting.code == 220
                && greeting
                    .lines
                    .iter()
                    .all(|l| l[4..].starts_with("localhost ")),
            "SMTP greeting: {greeting:?}"
        );
        let mut imap = LineClient::connect(loopback(IMAP)).await;
        let greeting = imap.read_line().await;
        assert!(greeting.starts_with("* OK"), "IMAP greeting: {greeting}");

        let data = cwd.path().join("postino-data");
        assert!(
            data.join("postino.db").is_file(),
            "no SQLite store in {}",
            data.display()
        );
        assert!(
            data.join("tls/cert.pem").is_file(),
            "no certificate in {}",
            data.display()
        );
        assert!(
            server.log().contains("embedded default"),
            "{}",
            server.log()
        );

        let status = server.stop().await;
        assert!(status.success(), "exit after SIGTERM: {status}");
    })
    .await;
}
