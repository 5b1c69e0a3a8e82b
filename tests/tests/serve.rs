//! `postino serve` from a configuration file: every listener answers, the
//! protocol greetings and the health check work, and SIGTERM shuts it down
//! cleanly, telling connected clients (SMTP `421`, RFC 5321 §3.8; IMAP
//! `* BYE`, RFC 9051 §7.1.5). Runs on both store backends.

use std::net::SocketAddr;
use std::time::Instant;

use postino_tests::{LineClient, READ_LIMIT, STOP_LIMIT, Server, TestConfig, on_both_backends};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    let (status, body) = http_get(listeners.admin, "/healthz").await;
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

/// `GET path` over a raw HTTP/1.1 connection: the status code and the body.
async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect to admin");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    let mut response = String::new();
    tokio::time::timeout(READ_LIMIT, stream.read_to_string(&mut response))
        .await
        .expect("HTTP response within the read limit")
        .expect("read the response");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers: {response:?}"));
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP/1.1 status line: {head:?}"));
    (status, body.to_string())
}
