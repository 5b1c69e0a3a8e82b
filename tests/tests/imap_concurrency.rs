//! Several sessions on one mailbox (RFC 9051 §5.2 and §7.5.1): what one
//! session changes reaches the others as untagged EXISTS, EXPUNGE and
//! FETCH responses at the points where they may be sent, sequence numbers
//! stay right in each session, a NOOP after another session's change
//! reports it, and IDLE (RFC 2177) wakes on another session's change. On
//! PostgreSQL, two `postino serve` processes share one database, and a
//! delivery to one wakes an IDLE session on the other.

use std::net::SocketAddr;
use std::time::Duration;

use postino_tests::dns::DnsStub;
use postino_tests::imap::{
    ImapClient, Response, append, deliver, flags_in, imap_site, login, message, number_after,
};
use postino_tests::smtp::ANNA;
use postino_tests::{Backend, Listeners, Server, TEST_LIMIT, TestConfig, on_both_backends, within};
use tempfile::TempDir;

/// How soon a change must reach another session, idling or polling.
const WAKE_LIMIT: Duration = Duration::from_secs(1);

/// A server for [`ANNA`], plaintext login allowed.
async fn started(config: &TestConfig) -> (Server, DnsStub) {
    let dns = imap_site(config, &[], &[ANNA]).await;
    (Server::start(config).await, dns)
}

/// The one untagged FETCH for message `seq`.
#[track_caller]
fn fetched(response: &Response, seq: u32) -> String {
    response.line(&format!("* {seq} FETCH (")).to_string()
}

/// The UID in a FETCH response line.
#[track_caller]
fn uid_in(line: &str) -> u32 {
    number_after(line, "UID ") as u32
}

/// Starts IDLE, asserting the continuation request; returns the tag.
async fn start_idle(client: &mut ImapClient) -> String {
    let tag = client.tag();
    client.send_line(&format!("{tag} IDLE")).await;
    let go_ahead = client.read_line().await;
    assert!(go_ahead.starts_with("+ "), "{go_ahead:?}");
    tag
}

/// Reads lines until one is `wanted`, failing if it does not come within
/// `limit` of the call.
async fn expect_within(client: &mut ImapClient, wanted: &str, limit: Duration) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match client.line_within(left).await {
            Some(line) if line == wanted => return seen,
            Some(line) => seen.push(line),
            None => panic!("no {wanted:?} within {limit:?}; got {seen:?}"),
        }
    }
}

/// How long a change takes at most to reach the other sessions' server side.
const SETTLE: Duration = Duration::from_millis(300);

/// Sends NOOP until an untagged line starts with `wanted`, for at most
/// [`WAKE_LIMIT`]; returns every untagged line up to and including it.
async fn noop_until(client: &mut ImapClient, wanted: &str) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + WAKE_LIMIT;
    let mut seen = Vec::new();
    loop {
        let response = client.command("NOOP").await;
        response.ok();
        for line in response.untagged {
            let found = line.starts_with(wanted);
            seen.push(line);
            if found {
                return seen;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {wanted:?} within {WAKE_LIMIT:?}; got {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Ends IDLE with DONE, asserting the tagged OK.
async fn stop_idle(client: &mut ImapClient, tag: &str) -> Response {
    client.send_line("DONE").await;
    let response = client.read_response(tag, Vec::new()).await;
    response.ok();
    response
}

on_both_backends!(two_sessions_on_one_mailbox, idle_wakes_on_another_session);

/// RFC 9051 §7.5.1: EXPUNGE is not sent during FETCH, STORE or SEARCH by
/// sequence number; NOOP reports it (§6.1.2), and flag changes as FETCH
/// and new messages as EXISTS (§7.4.1, §7.3.1).
async fn two_sessions_on_one_mailbox(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let addr = config.listeners.imap;
    let mut a = login(addr, ANNA).await;
    let mut uids = Vec::new();
    for n in 1..=3 {
        uids.push(append(&mut a, "INBOX", "", &message(ANNA, &format!("m{n}"), "x")).await);
    }
    let mut b = login(addr, ANNA).await;
    // C has QRESYNC: it hears of expunges as VANISHED and of flags with
    // MODSEQ (RFC 7162 §3.1.4, §3.2.10).
    let mut c = login(addr, ANNA).await;
    c.command("ENABLE QRESYNC").await.ok();
    for client in [&mut a, &mut b, &mut c] {
        client
            .command("SELECT INBOX")
            .await
            .ok()
            .assert_has("* 3 EXISTS");
    }

    a.command("STORE 2 +FLAGS.SILENT (\\Deleted)").await.ok();
    a.command("EXPUNGE").await.ok().assert_has("* 2 EXPUNGE");
    // Long enough for B's server side to have heard of it: what follows
    // checks what B may not be told, not how fast it is told.
    tokio::time::sleep(SETTLE).await;

    // B still numbers the expunged message until it is told.
    let during = b.command("FETCH 3 (UID)").await;
    during.ok().assert_none("* 2 EXPUNGE");
    assert_eq!(uid_in(&fetched(&during, 3)), uids[2]);
    let during = b.command("SEARCH ALL").await;
    during.ok().assert_none("* 2 EXPUNGE");
    let told = noop_until(&mut b, "* 2 EXPUNGE").await;
    assert_eq!(
        told.iter().filter(|l| *l == "* 2 EXPUNGE").count(),
        1,
        "{told:#?}"
    );
    let after = b.command("FETCH 2 (UID)").await;
    assert_eq!(uid_in(&fetched(after.ok(), 2)), uids[2]);
    b.command("FETCH 3 (UID)").await.bad();
    let again = b.command("NOOP").await;
    again.ok().assert_none("* ");
    let vanished = noop_until(&mut c, "* VANISHED").await;
    assert_eq!(vanished, [format!("* VANISHED {}", uids[1])]);

    // Flags changed by A reach B as FETCH.
    a.command("STORE 1 +FLAGS (\\Flagged)").await.ok();
    let told = noop_until(&mut b, "* 1 FETCH (").await;
    let line = told.last().expect("a FETCH");
    assert_eq!(flags_in(line), ["\\Flagged"], "{line}");
    let told = noop_until(&mut c, "* 1 FETCH (").await;
    let line = told.last().expect("a FETCH");
    assert!(line.contains("MODSEQ ("), "{line}");
    assert!(line.contains(&format!("UID {}", uids[0])), "{line}");

    // A message appended by A reaches B as EXISTS, with the next number.
    let content = message(ANNA, "m4", "x");
    let appended = a
        .command(&format!("APPEND INBOX {{{}+}}\r\n{content}", content.len()))
        .await;
    let code = appended.ok_with("APPENDUID").code().expect("a code");
    let new_uid: u32 = code
        .rsplit(' ')
        .next()
        .and_then(|uid| uid.parse().ok())
        .expect("one UID");
    noop_until(&mut b, "* 3 EXISTS").await;
    let last = b.command("FETCH 3 (UID)").await;
    assert_eq!(uid_in(&fetched(last.ok(), 3)), new_uid);
    // A is told of its own message too, by the APPEND or the next NOOP.
    let own = a.command("NOOP").await;
    assert!(
        appended.has("* 3 EXISTS") || own.has("* 3 EXISTS"),
        "{appended:#?}\n{own:#?}"
    );
    let a_last = a.command("FETCH 3 (UID)").await;
    assert_eq!(uid_in(&fetched(a_last.ok(), 3)), new_uid);

    // STORE by sequence number in B while A expunges: B's numbers hold.
    a.command("STORE 1 +FLAGS.SILENT (\\Deleted)").await.ok();
    a.command("EXPUNGE").await.ok().assert_has("* 1 EXPUNGE");
    tokio::time::sleep(SETTLE).await;
    let stored = b.command("STORE 3 +FLAGS (\\Seen)").await;
    stored.ok().assert_none("* 1 EXPUNGE");
    assert_eq!(flags_in(&fetched(&stored, 3)), ["\\Seen"], "{stored:#?}");
    let numbered = b.command("FETCH 3 (UID)").await;
    numbered.ok().assert_none("* 1 EXPUNGE");
    assert_eq!(uid_in(&fetched(&numbered, 3)), new_uid);
    noop_until(&mut b, "* 1 EXPUNGE").await;
    let both = b.command("FETCH 1:* (UID FLAGS)").await;
    both.ok();
    assert_eq!(uid_in(&fetched(&both, 1)), uids[2]);
    let line = fetched(&both, 2);
    assert_eq!(uid_in(&line), new_uid);
    // The new message is \Recent in the one session that heard of it
    // first (RFC 3501 §2.3.2): A or B, never both.
    let lasting = |line: &str| {
        let mut flags = flags_in(line);
        let recent = flags.iter().any(|f| f == "\\Recent");
        flags.retain(|f| f != "\\Recent");
        (flags, recent)
    };
    let (flags, recent_in_b) = lasting(&line);
    assert_eq!(flags, ["\\Seen"], "{line}");
    // A may hear of B's change besides its own FETCH: every FETCH agrees.
    let from_a = a.command("FETCH 2 (FLAGS)").await;
    let lines = from_a.ok().lines("* 2 FETCH (");
    assert!(!lines.is_empty(), "{from_a:#?}");
    for line in lines {
        let (flags, recent_in_a) = lasting(line);
        assert_eq!(flags, ["\\Seen"], "{line}");
        assert_ne!(recent_in_a, recent_in_b, "{line}");
    }
    a.logout().await;
    b.logout().await;
    c.logout().await;
}

/// RFC 2177 §3: an idling session hears of another session's STORE,
/// EXPUNGE and APPEND at once.
async fn idle_wakes_on_another_session(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let addr = config.listeners.imap;
    let mut a = login(addr, ANNA).await;
    for n in 1..=2 {
        append(&mut a, "INBOX", "", &message(ANNA, &format!("m{n}"), "x")).await;
    }
    let mut b = login(addr, ANNA).await;
    a.command("SELECT INBOX").await.ok();
    b.command("SELECT INBOX").await.ok();

    let tag = start_idle(&mut b).await;
    a.command("STORE 2 +FLAGS (\\Flagged)").await.ok();
    let line = expect_within_prefix(&mut b, "* 2 FETCH (", WAKE_LIMIT).await;
    assert_eq!(flags_in(&line), ["\\Flagged"], "{line}");

    a.command("STORE 1 +FLAGS.SILENT (\\Deleted)").await.ok();
    a.command("EXPUNGE").await.ok();
    expect_within(&mut b, "* 1 EXPUNGE", WAKE_LIMIT).await;

    append(&mut a, "INBOX", "", &message(ANNA, "m3", "x")).await;
    expect_within(&mut b, "* 2 EXISTS", WAKE_LIMIT).await;
    stop_idle(&mut b, &tag).await;
    let both = b.command("FETCH 1:* (FLAGS)").await;
    assert_eq!(both.ok().lines("* ").len(), 2, "{both:#?}");
    a.logout().await;
    b.logout().await;
}

/// Like [`expect_within`], for the first line starting with `prefix`.
async fn expect_within_prefix(client: &mut ImapClient, prefix: &str, limit: Duration) -> String {
    let deadline = tokio::time::Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match client.line_within(left).await {
            Some(line) if line.starts_with(prefix) => return line,
            Some(line) => seen.push(line),
            None => panic!("no {prefix:?}... within {limit:?}; got {seen:?}"),
        }
    }
}

/// A second configuration beside `config`: the same file (same database,
/// same DNS stub) with listeners of its own, in a directory of its own.
fn second_node(config: &TestConfig) -> (TempDir, std::path::PathBuf, Listeners) {
    let listeners = Listeners::free();
    let mut text = std::fs::read_to_string(&config.path).expect("read postino.toml");
    for ((_, old), (_, new)) in config.listeners.keyed().iter().zip(listeners.keyed()) {
        text = text.replace(&old.to_string(), &new.to_string());
    }
    let dir = TempDir::new().expect("create a temporary directory");
    let path = dir.path().join("postino.toml");
    std::fs::write(&path, text).expect("write the second postino.toml");
    (dir, path, listeners)
}

/// Two `postino serve` processes on one PostgreSQL database: a message
/// delivered through the first reaches a session idling on the second
/// within a second, and the second's sessions see the first's changes.
#[tokio::test]
async fn idle_on_one_node_wakes_on_delivery_to_another() {
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Postgres).await;
        let (_first, _dns) = started(&config).await;
        let (dir, path, listeners) = second_node(&config);
        let path_text = path.to_str().expect("temporary paths are UTF-8");
        let _second = Server::spawn(
            dir.path(),
            &["--config", path_text, "serve"],
            &listeners.addrs(),
        )
        .await;
        let second_imap: SocketAddr = listeners.imap;

        let mut idler = login(second_imap, ANNA).await;
        idler
            .command("SELECT INBOX")
            .await
            .ok()
            .assert_has("* 0 EXISTS");
        let tag = start_idle(&mut idler).await;
        deliver(&config, ANNA, &message(ANNA, "tra nodi", "consegna")).await;
        expect_within(&mut idler, "* 1 EXISTS", WAKE_LIMIT).await;
        stop_idle(&mut idler, &tag).await;

        // A flag set on the first node, seen on the second.
        let mut writer = login(config.listeners.imap, ANNA).await;
        writer.command("SELECT INBOX").await.ok();
        let tag = start_idle(&mut idler).await;
        writer.command("STORE 1 +FLAGS (\\Flagged)").await.ok();
        let line = expect_within_prefix(&mut idler, "* 1 FETCH (", WAKE_LIMIT).await;
        // The idler heard of the delivery first: the message is recent there.
        assert_eq!(flags_in(&line), ["\\Flagged", "\\Recent"], "{line}");
        stop_idle(&mut idler, &tag).await;
        writer.logout().await;
        idler.logout().await;
    })
    .await;
}

on_both_backends!(noop_sees_changes_committed_before_it);

/// STORE-then-NOOP rounds: enough to catch a race lost one time in twenty.
const ROUNDS: usize = 100;

/// RFC 9051 §5.2 and §6.1.2: once another session's STORE, APPEND or
/// EXPUNGE has completed, this session's next NOOP reports it. Repeated,
/// because a server that only learns of changes by notification misses
/// some of them.
async fn noop_sees_changes_committed_before_it(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let addr = config.listeners.imap;
    let mut a = login(addr, ANNA).await;
    append(&mut a, "INBOX", "", &message(ANNA, "m1", "x")).await;
    let mut b = login(addr, ANNA).await;
    a.command("SELECT INBOX").await.ok();
    b.command("SELECT INBOX").await.ok();
    let mut missed = Vec::new();
    for round in 0..ROUNDS {
        let (sign, flags): (&str, &[&str]) = if round % 2 == 0 {
            ("+", &["\\Flagged"])
        } else {
            ("-", &[])
        };
        a.command(&format!("STORE 1 {sign}FLAGS (\\Flagged)"))
            .await
            .ok();
        let told = b.command("NOOP").await;
        match told.ok().lines("* 1 FETCH (").as_slice() {
            [line] if flags_in(line) == flags => {}
            other => {
                missed.push(format!("round {round}: {other:?}"));
                // What was missed arrives late; take it before going on.
                tokio::time::sleep(Duration::from_millis(100)).await;
                b.command("NOOP").await.ok();
            }
        }
    }
    assert!(
        missed.is_empty(),
        "{} of {ROUNDS} NOOPs missed A's STORE: {missed:#?}",
        missed.len()
    );
    a.logout().await;
    b.logout().await;
}
