//! Limits on what one client can take: connections per IP address and in
//! total, idle time (between commands, inside a command, in DATA, in an
//! AUTH exchange, in a TLS handshake), time for a whole command line, for
//! message content and for the whole session however the client trickles
//! its bytes, errors per session; and whatever one client sends, the others
//! are served. Everything runs on SQLite and on PostgreSQL.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use postino_tests::dns::DnsStub;
use postino_tests::smtp::{ANNA, data, envelope, greeted, inbox_len};
use postino_tests::{LineClient, Server, TestConfig, on_both_backends};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

on_both_backends!(
    connections_are_limited_per_address_and_in_total,
    idle_clients_are_disconnected,
    a_steady_sender_is_not_idle,
    trickling_clients_are_cut_off,
    idle_limit_holds_inside_an_auth_exchange,
    idle_limit_holds_in_the_starttls_handshake,
    too_many_errors_end_the_session,
    misbehaving_clients_do_not_stop_the_others,
);

/// What the tests set `smtp.idle_timeout` to, and how long they wait for
/// the server to act on it.
const IDLE: &str = "1s";
const IDLE_NOTICED: Duration = Duration::from_secs(4);

/// Sets `config` up with a DNS stub, the domain and Anna's mailbox, plus
/// `smtp` settings.
async fn site(config: &TestConfig, smtp: &[&str]) -> DnsStub {
    postino_tests::smtp::site(config, smtp, &[ANNA]).await
}

/// Starts the server and waits until the probes `Server::start` made are
/// gone, so that they do not count against connection limits.
async fn start_settled(config: &TestConfig) -> Server {
    let server = Server::start(config).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server
}

async fn connections_are_limited_per_address_and_in_total(config: &TestConfig) {
    let _dns = site(
        config,
        &["max_connections_per_ip = 2", "max_connections = 3"],
    )
    .await;
    let _server = start_settled(config).await;
    let (mx, submission) = (config.listeners.smtp_mx, config.listeners.smtp_submission);
    let one = Ipv4Addr::new(127, 0, 0, 1);

    let mut first = LineClient::connect_from(one, mx).await;
    assert_eq!(first.read_reply().await.code, 220);
    let mut second = LineClient::connect_from(one, submission).await;
    assert_eq!(second.read_reply().await.code, 220);
    // A third from the same address, on either listener, is turned away.
    for addr in [mx, submission] {
        let mut refused = LineClient::connect_from(one, addr).await;
        let lines = refused.closed_within(Duration::from_secs(5)).await;
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("421 4."), "{lines:?}");
    }
    // Another address still gets in, up to the total.
    let mut third = LineClient::connect_from(Ipv4Addr::new(127, 0, 0, 2), mx).await;
    assert_eq!(third.read_reply().await.code, 220);
    let mut over = LineClient::connect_from(Ipv4Addr::new(127, 0, 0, 3), mx).await;
    let lines = over.closed_within(Duration::from_secs(5)).await;
    assert!(
        lines.len() == 1 && lines[0].starts_with("421 4."),
        "{lines:?}"
    );

    // The admitted sessions work, and a closed one frees its place.
    first.command("NOOP").await.expect(250, "2.0.0");
    first.command("QUIT").await.expect(221, "2.0.0");
    first.closed_within(Duration::from_secs(5)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = LineClient::connect_from(one, mx).await;
        let reply = again.read_reply().await;
        if reply.code == 220 {
            again.command("NOOP").await.expect(250, "2.0.0");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slot was not freed: {reply:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.command("NOOP").await.expect(250, "2.0.0");
    third.command("NOOP").await.expect(250, "2.0.0");
}

async fn idle_clients_are_disconnected(config: &TestConfig) {
    let _dns = site(config, &[&format!("idle_timeout = \"{IDLE}\"")]).await;
    let server = Server::start(config).await;
    let mx = config.listeners.smtp_mx;

    // Silent after the greeting: told why, then closed.
    let mut silent = LineClient::connect(mx).await;
    assert_eq!(silent.read_reply().await.code, 220);
    let lines = silent.closed_within(IDLE_NOTICED).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("421 4.4.2 "), "{lines:?}");

    // Half a command, then nothing.
    let mut partial = LineClient::connect(mx).await;
    assert_eq!(partial.read_reply().await.code, 220);
    partial.send_raw(b"EHLO client.exa").await;
    partial.closed_within(IDLE_NOTICED).await;

    // Silent in the middle of DATA: closed, and nothing is stored.
    let mut data = greeted(mx).await;
    envelope(&mut data, "mittente@esterno.example", &[ANNA]).await;
    assert_eq!(data.command("DATA").await.code, 354);
    data.send_raw(b"Subject: a meta\r\n\r\nincompiuto\r\n")
        .await;
    let lines = data.closed_within(IDLE_NOTICED).await;
    assert!(lines.iter().all(|l| l.starts_with("421 ")), "{lines:?}");

    // A TLS listener's client that never starts the handshake.
    let mut tls = TcpStream::connect(config.listeners.smtp_submissions)
        .await
        .expect("connect to submissions");
    let started = Instant::now();
    let mut buffer = [0; 64];
    let read = tokio::time::timeout(
        IDLE_NOTICED,
        tokio::io::AsyncReadExt::read(&mut tls, &mut buffer),
    )
    .await
    .expect("submissions kept a silent client");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "{read:?} after {:?}",
        started.elapsed()
    );

    let mut server = server;
    server.stop().await;
    let store = config.open_store().await;
    assert_eq!(inbox_len(&store, ANNA).await, 0);
}

/// The idle limit is about silence: a client that keeps sending a long
/// message, faster than `min_data_rate` (500 bytes a second), is not
/// idle, however long the whole DATA takes.
async fn a_steady_sender_is_not_idle(config: &TestConfig) {
    let _dns = site(config, &[&format!("idle_timeout = \"{IDLE}\"")]).await;
    let _server = Server::start(config).await;
    let mut client = greeted(config.listeners.smtp_mx).await;
    envelope(&mut client, "mittente@esterno.example", &[ANNA]).await;
    assert_eq!(client.command("DATA").await.code, 354);
    client.send_raw(b"Subject: lento\r\n\r\n").await;
    for i in 0..10 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let line = format!("riga {i} {}\r\n", "x".repeat(900));
        client.send_raw(line.as_bytes()).await;
    }
    client.command(".").await.expect(250, "2.0.0");
}

/// What a trickling client heard before the server closed the connection,
/// and how long after it began to trickle.
struct Trickled {
    lines: Vec<String>,
    after: Duration,
}

/// Connects to `addr`, sends `before` at once, then `bytes` one at a time,
/// `every` apart, until the server closes the connection.
async fn trickle(addr: SocketAddr, before: &str, bytes: &[u8], every: Duration) -> Trickled {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (read, mut write) = stream.into_split();
    let started = Instant::now();
    let reading = tokio::spawn(async move {
        let mut reader = BufReader::new(read);
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line).await {
                Ok(0) | Err(_) => return (lines, started.elapsed()),
                Ok(_) => lines.push(line.trim_end().to_owned()),
            }
        }
    });
    write.write_all(before.as_bytes()).await.expect("write");
    for &byte in bytes {
        tokio::time::sleep(every).await;
        if reading.is_finished() || write.write_all(&[byte]).await.is_err() {
            break;
        }
    }
    let (lines, after) = tokio::time::timeout(Duration::from_secs(5), reading)
        .await
        .expect("the server kept a trickling client to the end")
        .expect("the reading task panicked");
    Trickled { lines, after }
}

/// A client that sends a byte now and then is never idle, but a command
/// line must still be whole within `command_timeout`, DATA content and a
/// BDAT chunk must come at `min_data_rate`, and a session ends after
/// `session_timeout`: each is told `421 4.4.2` and closed, and the log
/// names the limit with the session id.
async fn trickling_clients_are_cut_off(config: &TestConfig) {
    let _dns = site(
        config,
        &[
            "idle_timeout = \"2s\"",
            "command_timeout = \"3s\"",
            "session_timeout = \"6s\"",
        ],
    )
    .await;
    let mut server = Server::start(config).await;
    let mx = config.listeners.smtp_mx;
    let every = Duration::from_millis(250);
    let transaction = format!(
        "EHLO client.example\r\nMAIL FROM:<mittente@esterno.example>\r\nRCPT TO:<{ANNA}>\r\n"
    );
    let content = "Subject: goccia a goccia\r\n\r\n".repeat(10);
    let noops = "NOOP\r\n".repeat(40);
    let cases = [
        (
            "command line too slow",
            3,
            String::new(),
            "NOOP ".repeat(40),
        ),
        (
            "message content too slow",
            2,
            format!("{transaction}DATA\r\n"),
            content.clone(),
        ),
        (
            "message content too slow",
            2,
            format!("{transaction}BDAT 1000 LAST\r\n"),
            content,
        ),
        // Whole commands, each well within its time.
        ("session too long", 6, String::new(), noops),
    ];
    for (limit, seconds, before, bytes) in cases {
        let trickled = trickle(mx, &before, bytes.as_bytes(), every).await;
        let last = trickled.lines.last().map_or("", String::as_str);
        assert_eq!(
            last,
            format!("421 4.4.2 Timeout: {limit}, closing connection"),
            "{:?}",
            trickled.lines
        );
        let expected = Duration::from_secs(seconds);
        assert!(
            trickled.after > expected - Duration::from_millis(500)
                && trickled.after < expected + Duration::from_secs(2),
            "{limit}: closed after {:?}",
            trickled.after
        );
    }
    server.stop().await;
    let log = server.log();
    for limit in ["command line", "message content", "session"] {
        let needle = format!("closing: timeout limit={limit} too");
        assert!(
            log.lines()
                .any(|line| line.contains(&needle) && line.contains("session=")),
            "no {needle:?} with the session id in:\n{log}"
        );
    }
    let store = config.open_store().await;
    assert_eq!(inbox_len(&store, ANNA).await, 0);
}

/// An AUTH exchange waiting for the client's response is not a way around
/// the idle limit.
async fn idle_limit_holds_inside_an_auth_exchange(config: &TestConfig) {
    let _dns = site(
        config,
        &[
            &format!("idle_timeout = \"{IDLE}\""),
            "allow_plaintext_auth = true",
        ],
    )
    .await;
    let _server = Server::start(config).await;
    let mut client = greeted(config.listeners.smtp_submission).await;
    assert_eq!(client.command("AUTH LOGIN").await.code, 334);
    client.command(&BASE64.encode(ANNA)).await;
    client.closed_within(IDLE_NOTICED).await;
}

/// A client that says STARTTLS and then never starts the handshake is
/// closed like any silent client.
async fn idle_limit_holds_in_the_starttls_handshake(config: &TestConfig) {
    let _dns = site(config, &[&format!("idle_timeout = \"{IDLE}\"")]).await;
    let _server = Server::start(config).await;
    let mut client = greeted(config.listeners.smtp_mx).await;
    client.command("STARTTLS").await.expect(220, "2.0.0");
    client.closed_within(IDLE_NOTICED).await;
}

/// `max_errors` (default 10) error replies end the session with 421.
async fn too_many_errors_end_the_session(config: &TestConfig) {
    let _dns = site(config, &[]).await;
    let _server = Server::start(config).await;
    let mut client = greeted(config.listeners.smtp_mx).await;
    client
        .command("MAIL FROM:<mittente@esterno.example>")
        .await
        .expect(250, "2.1.0");
    for i in 0..9 {
        let reply = if i % 2 == 0 {
            client.command("FROB").await
        } else {
            client.command("RCPT TO:<vittima@esterno.example>").await
        };
        assert!(reply.code >= 500, "{reply:?}");
        // Good commands do not reset the count.
        client.command("NOOP").await.expect(250, "2.0.0");
    }
    client.send("FROB").await;
    let lines = client.closed_within(Duration::from_secs(5)).await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("500 "), "{lines:?}");
    assert!(lines[1].starts_with("421 4."), "{lines:?}");
}

/// Floods, garbage, broken TLS, half-sent messages and abrupt closes from
/// some clients, while another delivers mail: it is served throughout and
/// the server neither dies nor panics.
async fn misbehaving_clients_do_not_stop_the_others(config: &TestConfig) {
    let _dns = site(config, &["max_message_size = \"1MB\""]).await;
    let mut server = Server::start(config).await;
    let listeners = config.listeners;

    let mut attackers = tokio::task::JoinSet::new();
    // A line that never ends.
    attackers.spawn(async move {
        let mut stream = TcpStream::connect(listeners.smtp_mx)
            .await
            .expect("connect");
        let junk = vec![b'A'; 64 * 1024];
        for _ in 0..80 {
            if stream.write_all(&junk).await.is_err() {
                break;
            }
        }
    });
    // Binary garbage with NULs and bare line ends, as commands.
    attackers.spawn(async move {
        let mut stream = TcpStream::connect(listeners.smtp_submission)
            .await
            .expect("connect");
        let junk: Vec<u8> = (0..200_000u32).map(|i| (i * 7919 % 256) as u8).collect();
        let _ = stream.write_all(&junk).await;
    });
    // Garbage instead of a TLS handshake.
    attackers.spawn(async move {
        let mut stream = TcpStream::connect(listeners.smtp_submissions)
            .await
            .expect("connect");
        let _ = stream
            .write_all(b"EHLO not-tls\r\n\x16\x03\x01\x00\xff garbage")
            .await;
    });
    // A message too big, then an abrupt close in the middle of DATA.
    attackers.spawn(async move {
        let mut client = LineClient::connect(listeners.smtp_mx).await;
        client.read_reply().await;
        client.command("EHLO client.example").await;
        client.command("MAIL FROM:<mittente@esterno.example>").await;
        client.command(&format!("RCPT TO:<{ANNA}>")).await;
        client.command("DATA").await;
        let line = format!("{}\r\n", "x".repeat(900));
        for _ in 0..2000 {
            client.send_raw(line.as_bytes()).await;
        }
    });
    // Connections opened and dropped at once.
    attackers.spawn(async move {
        for _ in 0..50 {
            let _ = TcpStream::connect(listeners.smtp_mx).await;
        }
    });

    let mut client = greeted(listeners.smtp_mx).await;
    for i in 0..5 {
        envelope(&mut client, "mittente@esterno.example", &[ANNA]).await;
        data(
            &mut client,
            format!("Subject: buono {i}\r\n\r\nciao\r\n").as_bytes(),
        )
        .await
        .expect(250, "2.0.0");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.command("QUIT").await.expect(221, "2.0.0");
    while let Some(done) = attackers.join_next().await {
        done.expect("an attacking client panicked");
    }
    // Still serving after all of it.
    let mut late = LineClient::connect(listeners.smtp_mx).await;
    assert_eq!(late.read_reply().await.code, 220);
    late.command("EHLO client.example").await;
    late.command("NOOP").await.expect(250, "2.0.0");

    let status = server.stop().await;
    assert!(status.success(), "exit after SIGTERM: {status}");
    assert!(!server.log().contains("panicked"), "{}", server.log());
    let store = config.open_store().await;
    assert_eq!(inbox_len(&store, ANNA).await, 5);
}
