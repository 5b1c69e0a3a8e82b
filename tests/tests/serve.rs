//! `postino serve` from a configuration file: every listener answers, the
//! protocol greetings and the health check work, and SIGTERM shuts it down
//! cleanly, telling connected clients (SMTP `421`, RFC 5321 §3.8; IMAP
//! `* BYE`, RFC 9051 §7.1.5). Runs on both store backends.

use std::time::Instant;

use postino_tests::http::request;
use postino_tests::{LineClient, STOP_LIMIT, Server, TestConfig, on_both_backends};
use tokio::net::TcpStream;

on_both_backends!(serves_every_listener_and_stops_on_sigterm);

async fn serves_every_listener_and_stops_on_sigterm(config: &TestConfig) {
    let mut server = Server::start(config).await;
    let listeners = config.listeners;

    for addr in [listeners.smtp_mx, listeners.smtp_submission] {
        let mut smtp = LineClient::connect(addr).await;
        let greeting = smtp.read_line().await;
        assert!(greeting.starts_with("220 "), "SMTP greeting: {greeting}");
        assert!(greeting.contains("mx.postino.test"), "{greeting}");
        smtp.send("QUIT").await;
        let bye = smtp.read_line().await;
        assert!(bye.starts_with("221"), "reply to QUIT: {bye}");
    }
    let mut imap = LineClient::connect(listeners.imap).await;
    let greeting = imap.read_line().await;
    assert!(greeting.starts_with("* OK"), "IMAP greeting: {greeting}");
    // The implicit-TLS listeners want a handshake; accepting TCP is their part here.
    for addr in [listeners.smtp_submissions, listeners.imap_tls] {
        TcpStream::connect(addr)
            .await
            .expect("TLS listener accepts TCP");
    }
    let (status, body) = request(listeners.admin, "GET", "/healthz", "").await;
    assert_eq!(status, 200, "GET /healthz: {body}");

    // Clients idle in a session when the stop comes.
    let mut smtp = LineClient::connect(listeners.smtp_mx).await;
    assert!(smtp.read_line().await.starts_with("220 "));
    let mut imap = LineClient::connect(listeners.imap).await;
    assert!(imap.read_line().await.starts_with("* OK"));

    let asked = Instant::now();
    server.terminate();
    let last = smtp.read_line().await;
    assert!(last.starts_with("421 "), "SMTP at shutdown: {last}");
    let last = imap.read_line().await;
    assert!(last.starts_with("* BYE"), "IMAP at shutdown: {last}");
    let status = server.wait(STOP_LIMIT).await;
    assert!(status.success(), "exit after SIGTERM: {status}");
    assert!(asked.elapsed() < STOP_LIMIT);
}
