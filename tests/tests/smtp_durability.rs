//! Nothing acknowledged is ever lost (DESIGN.md, "The store"): the server is
//! killed with SIGKILL while eight clients are sending, restarted, and every
//! message that got its 250 must be in each of its recipients' INBOX, whole
//! and once, with only the trace fields before the bytes sent. Messages
//! still in flight at the kill may be missing, but never partly stored,
//! and every body is where its row says (`postino blobs verify`). Runs on
//! both store backends with their default body stores (files for SQLite,
//! rows for PostgreSQL), and with each other body store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postino_common::store::Store;
use postino_tests::smtp::{DOMAIN, data, envelope, greeted, inbox, site};
use postino_tests::{Server, TestConfig, on_both_backends};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

on_both_backends!(acknowledged_mail_survives_sigkill);

/// The same with the body stores that are not the backend's default.
mod other_body_stores {
    use postino_tests::{Backend, TEST_LIMIT, TestConfig, s3, within};

    async fn run(backend: Backend, blobs: &str) {
        let config = TestConfig::new(backend).await;
        match blobs {
            "s3" => {
                for (table, line) in s3::shared().config_lines() {
                    config.set(table, &line);
                }
            }
            other => config.set("blobs", &format!("backend = \"{other}\"")),
        }
        within(
            TEST_LIMIT,
            super::acknowledged_mail_survives_sigkill(&config),
        )
        .await;
    }

    #[tokio::test]
    async fn sqlite_database() {
        run(Backend::Sqlite, "database").await;
    }

    #[tokio::test]
    async fn sqlite_s3() {
        run(Backend::Sqlite, "s3").await;
    }

    #[tokio::test]
    async fn postgres_filesystem() {
        run(Backend::Postgres, "filesystem").await;
    }

    #[tokio::test]
    async fn postgres_s3() {
        run(Backend::Postgres, "s3").await;
    }
}

const MAILBOXES: usize = 4;
const CLIENTS: usize = 8;
/// Acknowledged messages to wait for before the kill.
const ACKED_BEFORE_KILL: usize = 40;
/// How long one client waits for one reply.
const REPLY_LIMIT: Duration = Duration::from_secs(20);

fn mailbox(i: usize) -> String {
    format!("casella{}@{DOMAIN}", i % MAILBOXES)
}

/// A message that got (or was waiting for) its reply.
#[derive(Debug, Clone)]
struct Sent {
    recipients: Vec<String>,
    content: String,
}

/// The content of client `client`'s `n`th message: sizes from 1 KB to
/// about 130 KB, so that the kill finds messages at every stage.
fn content(client: usize, n: usize) -> String {
    let lines = 12 + (client * 37 + n * 101) % 1700;
    let mut text = format!(
        "From: <mittente{client}@esterno.example>\r\nSubject: durata c{client} n{n}\r\n\
         Message-ID: <c{client}.n{n}@esterno.example>\r\n\r\n"
    );
    for line in 0..lines {
        text.push_str(&format!(
            "c{client} n{n} riga {line:05} {}\r\n",
            "d".repeat(50)
        ));
    }
    text
}

/// Why a sending client stopped: the server went away, as it will.
struct Gone;

/// A client that tolerates the server vanishing: every error is [`Gone`].
struct Sender {
    stream: BufReader<TcpStream>,
}

impl Sender {
    async fn connect(addr: std::net::SocketAddr) -> Result<Sender, Gone> {
        let stream = TcpStream::connect(addr).await.map_err(|_| Gone)?;
        let mut sender = Sender {
            stream: BufReader::new(stream),
        };
        sender.expect(220).await?;
        sender.command("EHLO client.example", 250).await?;
        Ok(sender)
    }

    /// Reads one reply; `Err` unless its code is `code`.
    async fn expect(&mut self, code: u16) -> Result<(), Gone> {
        loop {
            let mut line = String::new();
            let read = tokio::time::timeout(REPLY_LIMIT, self.stream.read_line(&mut line)).await;
            match read {
                Ok(Ok(n)) if n >= 4 => {}
                _ => return Err(Gone),
            }
            if line.as_bytes()[3] == b' ' {
                return if line.starts_with(&code.to_string()) {
                    Ok(())
                } else {
                    Err(Gone)
                };
            }
        }
    }

    async fn command(&mut self, line: &str, code: u16) -> Result<(), Gone> {
        self.write(format!("{line}\r\n").as_bytes()).await?;
        self.expect(code).await
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), Gone> {
        self.stream
            .get_mut()
            .write_all(bytes)
            .await
            .map_err(|_| Gone)
    }

    /// One whole transaction; `Ok` once the server said 250 to the end of data.
    async fn send(&mut self, message: &Sent) -> Result<(), Gone> {
        self.command("MAIL FROM:<mittente@esterno.example>", 250)
            .await?;
        for rcpt in &message.recipients {
            self.command(&format!("RCPT TO:<{rcpt}>"), 250).await?;
        }
        self.command("DATA", 354).await?;
        self.write(message.content.as_bytes()).await?;
        self.command(".", 250).await
    }
}

/// Client `client` sends until told to stop or until the server is gone,
/// recording each message before sending it and again once acknowledged.
async fn run_client(
    client: usize,
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    attempted: Arc<Mutex<Vec<Sent>>>,
    acked: Arc<Mutex<Vec<Sent>>>,
) {
    let Ok(mut sender) = Sender::connect(addr).await else {
        return;
    };
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let mut recipients = vec![mailbox(client)];
        if n % 3 == 0 {
            recipients.push(mailbox(client + 1));
        }
        let message = Sent {
            recipients,
            content: content(client, n),
        };
        attempted.lock().expect("lock").push(message.clone());
        if sender.send(&message).await.is_err() {
            return;
        }
        acked.lock().expect("lock").push(message);
        n += 1;
    }
}

/// The messages of every test mailbox's INBOX, by mailbox.
async fn inboxes(store: &Store) -> Vec<(String, Vec<Vec<u8>>)> {
    let mut all = Vec::new();
    for i in 0..MAILBOXES {
        let address = mailbox(i);
        let bodies = inbox(store, &address).await;
        all.push((address, bodies));
    }
    all
}

/// True if `stored` is `sent` with only trace header fields before it.
fn is_stored_form_of(stored: &[u8], sent: &[u8]) -> bool {
    if !stored.ends_with(sent) {
        return false;
    }
    let prefix = String::from_utf8_lossy(&stored[..stored.len() - sent.len()]).into_owned();
    prefix.split_terminator("\r\n").all(|line| {
        ["Return-Path:", "Received:", "Authentication-Results:"]
            .iter()
            .any(|name| line.starts_with(name))
            || line.starts_with([' ', '\t'])
    }) && prefix.starts_with("Return-Path: <mittente@esterno.example>\r\n")
}

async fn acknowledged_mail_survives_sigkill(config: &TestConfig) {
    let mailboxes: Vec<String> = (0..MAILBOXES).map(mailbox).collect();
    let mailboxes: Vec<&str> = mailboxes.iter().map(String::as_str).collect();
    let _dns = site(config, &[], &mailboxes).await;
    let mut server = Server::start(config).await;

    let stop = Arc::new(AtomicBool::new(false));
    let attempted = Arc::new(Mutex::new(Vec::new()));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        clients.spawn(run_client(
            client,
            config.listeners.smtp_mx,
            stop.clone(),
            attempted.clone(),
            acked.clone(),
        ));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().expect("lock").len() < ACKED_BEFORE_KILL {
        assert!(
            Instant::now() < deadline,
            "only {} messages acknowledged in 60 s",
            acked.lock().expect("lock").len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill();
    stop.store(true, Ordering::Relaxed);
    while let Some(done) = clients.join_next().await {
        done.expect("a sending client panicked");
    }
    let acked = acked.lock().expect("lock").clone();
    let attempted = attempted.lock().expect("lock").clone();
    let in_flight = attempted.len() - acked.len();
    eprintln!(
        "killed with {} acknowledged, {in_flight} in flight",
        acked.len()
    );

    // The restarted server comes up on the same store and takes mail.
    let mut server = Server::start(config).await;
    let mut client = greeted(config.listeners.smtp_mx).await;
    envelope(&mut client, "dopo@esterno.example", &[&mailbox(0)]).await;
    data(
        &mut client,
        b"Subject: dopo il riavvio\r\n\r\nancora qui\r\n",
    )
    .await
    .expect(250, "2.0.0");
    client.command("QUIT").await;
    let status = server.stop().await;
    assert!(status.success(), "exit after SIGTERM: {status}");

    let store = config.open_store().await;
    let inboxes = inboxes(&store).await;
    for message in &acked {
        for rcpt in &message.recipients {
            let (_, bodies) = inboxes
                .iter()
                .find(|(address, _)| address == rcpt)
                .expect("a test mailbox");
            let copies = bodies
                .iter()
                .filter(|stored| is_stored_form_of(stored, message.content.as_bytes()))
                .count();
            let subject = message.content.lines().nth(1).unwrap_or_default();
            assert_eq!(
                copies, 1,
                "acknowledged `{subject}` for {rcpt}: {copies} whole copies"
            );
        }
    }
    // Nothing stored is partial or foreign.
    for (address, bodies) in &inboxes {
        for stored in bodies {
            let whole = attempted.iter().any(|m| {
                m.recipients.contains(address) && is_stored_form_of(stored, m.content.as_bytes())
            });
            let after_restart = stored.ends_with(b"Subject: dopo il riavvio\r\n\r\nancora qui\r\n");
            assert!(
                whole || after_restart,
                "a stored message in {address} is not one sent whole:\n{}",
                String::from_utf8_lossy(&stored[..stored.len().min(600)])
            );
        }
    }
    let drift = store.usage_drift().await.expect("check usage");
    assert!(
        drift.is_empty(),
        "usage counters disagree with the messages: {drift:?}"
    );
    store.close().await;
    let verified = config.cli(&["blobs", "verify"], None).await;
    assert!(
        verified.ok().contains(": 0 missing or damaged"),
        "{verified:#?}"
    );
}
