//! Learning from users with the real binary and a real rspamd (see
//! `postino_tests::rspamd`): a message moved over IMAP into Junk reaches
//! rspamd's learn count as spam, one moved out of Junk as ham, each once,
//! in the background; while no controller answers, the lesson waits and is
//! retried, and it is taught once one answers. Everything runs on SQLite
//! and on PostgreSQL.
//!
//! rspamd and its Redis are shared by every test of every process: counts
//! are compared before and after, never read as absolute values, and each
//! message is unique to its test and run, since rspamd learns a message
//! only once.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use postino_tests::http::Request;
use postino_tests::imap::{ImapClient, append, deliver, fetch_value, imap_site, login};
use postino_tests::rspamd;
use postino_tests::scrape::scrape_until;
use postino_tests::smtp::ANNA;
use postino_tests::{Server, TestConfig, bind_unused_port, on_both_backends};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

on_both_backends!(
    moving_in_and_out_of_junk_teaches_rspamd,
    lessons_wait_until_a_controller_answers,
);

/// How long a lesson may take to reach rspamd: the worker sleeps up to
/// ten seconds between looks at its jobs.
const WAIT: Duration = Duration::from_secs(60);
const LEARNED: &str = "postino_antispam_learned_total";

/// A message with enough words for rspamd's Bayes classifier (at least 11
/// tokens), unique to this backend and run.
fn unique_message(config: &TestConfig, subject: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let run = format!("{}-{}-{nanos}", config.backend.name(), std::process::id());
    format!(
        "From: Offerte <promo@esterno.example>\r\nTo: <{ANNA}>\r\nSubject: {subject}\r\n\
         Message-ID: <{run}@esterno.example>\r\n\r\n\
         Gentile cliente, approfitta subito della nostra offerta straordinaria: orologi, \
         borse e profumi di marca scontati fino al novanta per cento, spedizione gratuita \
         in tutta Italia, pagamento alla consegna. Clicca sul collegamento, inserisci i \
         dati della carta e ricevi un buono regalo immediato. Codice promozione {run}.\r\n"
    )
}

/// rspamd's count of messages learned since it started.
async fn rspamd_learned(controller: SocketAddr) -> u64 {
    let response = Request::get("/stat").send(controller).await;
    assert_eq!(response.status, 200, "GET /stat: {response:?}");
    response.json()["learned"]
        .as_u64()
        .unwrap_or_else(|| panic!("no learn count in {}", response.body))
}

/// Asserts that rspamd already knows `message` as `class` (spam or ham):
/// asked to learn it again, it answers 208.
async fn assert_known_as(controller: SocketAddr, message: &str, class: &str) {
    let response = Request::post(&format!("/learn{class}"))
        .body("message/rfc822", message)
        .send(controller)
        .await;
    assert_eq!(
        response.status, 208,
        "rspamd does not know the message as {class}: {response:?}"
    );
    assert!(
        response
            .body
            .contains(&format!("already learned as {class}")),
        "{response:?}"
    );
}

/// The stored bytes of message `uid` of the selected folder, as rspamd
/// gets them.
async fn stored(client: &mut ImapClient, uid: u32) -> String {
    let response = client
        .command(&format!("UID FETCH {uid} BODY.PEEK[]"))
        .await;
    response.ok();
    let line = response.line("* ");
    fetch_value(line, "BODY[]").unwrap_or_else(|| panic!("no body in {line:?}"))
}

/// The labels of one series of [`LEARNED`].
fn learned_as(lesson: &'static str, result: &'static str) -> [(&'static str, &'static str); 2] {
    [("as", lesson), ("result", result)]
}

/// Forwards the connections made to `at` to `to` from now on, until the
/// task is aborted (or the test's runtime ends).
async fn forward(at: SocketAddr, to: SocketAddr) -> JoinHandle<()> {
    let listener = TcpListener::bind(at)
        .await
        .expect("listen where the controller was");
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut server) = TcpStream::connect(to).await {
                    tokio::io::copy_bidirectional(&mut client, &mut server)
                        .await
                        .ok();
                }
            });
        }
    })
}

async fn moving_in_and_out_of_junk_teaches_rspamd(config: &TestConfig) {
    let controller = rspamd::shared().controller;
    let _dns = imap_site(config, &[], &[ANNA]).await;
    config.set(
        "antispam",
        &format!("rspamd_controller_url = [\"http://{controller}\"]"),
    );
    let _server = Server::start(config).await;
    let admin = config.listeners.admin;
    deliver(config, ANNA, &unique_message(config, "Offerta imperdibile")).await;
    let mut client = login(config.listeners.imap, ANNA).await;
    client.command("SELECT INBOX").await.ok();
    let spam = stored(&mut client, 1).await;

    // Into Junk: spam, taught once, after the command's answer.
    let before = rspamd_learned(controller).await;
    client.command("UID MOVE 1 Junk").await.ok();
    let scrape = scrape_until(admin, WAIT, "spam learned", |s| {
        s.get(LEARNED, &learned_as("spam", "ok")) >= 1.0
    })
    .await;
    assert_eq!(scrape.get(LEARNED, &learned_as("spam", "ok")), 1.0);
    assert_eq!(scrape.get(LEARNED, &learned_as("spam", "error")), 0.0);
    assert!(rspamd_learned(controller).await > before);
    assert_known_as(controller, &spam, "spam").await;

    // Out of Junk into the INBOX: ham. A copy within Junk, and a move
    // from Junk to Trash, teach nothing.
    let uid = append(
        &mut client,
        "Junk",
        "",
        &unique_message(config, "Buone notizie"),
    )
    .await;
    client.command("SELECT Junk").await.ok();
    let ham = stored(&mut client, uid).await;
    client.command("UID COPY 1 Junk").await.ok();
    client.command("UID MOVE 1 Trash").await.ok();
    let before = rspamd_learned(controller).await;
    client.command(&format!("UID MOVE {uid} INBOX")).await.ok();
    let scrape = scrape_until(admin, WAIT, "ham learned", |s| {
        s.get(LEARNED, &learned_as("ham", "ok")) >= 1.0
    })
    .await;
    assert_eq!(scrape.get(LEARNED, &learned_as("ham", "ok")), 1.0);
    assert_eq!(scrape.get(LEARNED, &learned_as("spam", "ok")), 1.0);
    assert!(rspamd_learned(controller).await > before);
    assert_known_as(controller, &ham, "ham").await;
    client.logout().await;
}

async fn lessons_wait_until_a_controller_answers(config: &TestConfig) {
    let controller = rspamd::shared().controller;
    // Nothing listens there until the test says so.
    let down = bind_unused_port().local_addr().expect("a bound address");
    let _dns = imap_site(config, &[], &[ANNA]).await;
    config.set(
        "antispam",
        &format!("rspamd_controller_url = [\"http://{down}\"]"),
    );
    // A second between attempts, for a minute.
    let waits = vec!["\"1s\""; 60].join(", ");
    config.set("antispam", &format!("learn_retry = [{waits}]"));
    let _server = Server::start(config).await;
    let admin = config.listeners.admin;
    deliver(config, ANNA, &unique_message(config, "Vinci un premio")).await;
    let mut client = login(config.listeners.imap, ANNA).await;
    client.command("SELECT INBOX").await.ok();
    let spam = stored(&mut client, 1).await;
    client.command("UID MOVE 1 Junk").await.ok();
    client.logout().await;

    // Tried, failed, and tried again.
    scrape_until(admin, WAIT, "two failed attempts", |s| {
        s.get(LEARNED, &learned_as("spam", "error")) >= 2.0
    })
    .await;
    let before = rspamd_learned(controller).await;
    let proxy = forward(down, controller).await;
    let scrape = scrape_until(admin, WAIT, "spam learned once rspamd answers", |s| {
        s.get(LEARNED, &learned_as("spam", "ok")) >= 1.0
    })
    .await;
    assert_eq!(scrape.get(LEARNED, &learned_as("spam", "ok")), 1.0);
    assert!(rspamd_learned(controller).await > before);
    assert_known_as(controller, &spam, "spam").await;
    proxy.abort();
}
