//! SORT (RFC 5256, RFC 5957 SORT=DISPLAY, RFC 5267 ESORT), THREAD
//! (RFC 5256 ORDEREDSUBJECT and REFERENCES) and MULTIAPPEND (RFC 3502)
//! over raw sockets and through Python's imaplib (`IMAP4.sort`,
//! `IMAP4.thread`), on SQLite and on PostgreSQL.
//!
//! The corpus holds what threading has to get right: a reply by
//! References, one by In-Reply-To only, a `Re: Fwd:` subject, an
//! encoded-word subject and name, a message with no Date (sorted by its
//! INTERNALDATE), two with the same date, one with no From, a duplicate
//! Message-ID and two replies to a message that is not in the mailbox.
//! The expected answers were worked out by hand from RFC 5256 §2 and §4.

use postino_tests::dns::DnsStub;
use postino_tests::imap::{ImapClient, imap_site, login};
use postino_tests::smtp::{ANNA, BRUNO, PASSWORD};
use postino_tests::{Server, TestConfig, on_both_backends, run_program};
use serde_json::{Value, json};

on_both_backends!(
    sort_and_thread_over_raw_protocol,
    sort_and_thread_with_imaplib,
    multiappend_stores_all_or_nothing,
);

async fn started(config: &TestConfig) -> (Server, DnsStub) {
    let dns = imap_site(config, &[], &[ANNA, BRUNO]).await;
    (Server::start(config).await, dns)
}

/// The corpus, as `(INTERNALDATE, message)` in mailbox order.
fn corpus() -> Vec<(&'static str, String)> {
    let m = |headers: &str| format!("{headers}\r\n\r\nTesto.\r\n");
    vec![
        (
            "10-Mar-2026 10:01:00 +0000",
            m(
                "From: Anna Rossi <anna@example.org>\r\nTo: bruno@example.org\r\n\
               Subject: Budget 2026\r\nMessage-ID: <1@x>\r\nDate: Mon, 2 Feb 2026 10:00:00 +0100",
            ),
        ),
        (
            "10-Mar-2026 10:02:00 +0000",
            m(
                "From: Bruno <bruno@example.org>\r\nSubject: Re: Budget 2026\r\n\
               Message-ID: <2@x>\r\nReferences: <1@x>\r\nDate: Mon, 2 Feb 2026 11:00:00 +0000",
            ),
        ),
        (
            "01-Feb-2026 08:00:00 +0000",
            m(
                "From: =?utf-8?q?Carla_=C3=80lfieri?= <carla@example.org>\r\n\
               Subject: =?utf-8?q?Caff=C3=A8?=",
            ),
        ),
        (
            "10-Mar-2026 10:04:00 +0000",
            m(
                "From: dario@example.org\r\nSubject: Re: Fwd: Budget 2026\r\n\
               Message-ID: <4@x>\r\nIn-Reply-To: <2@x>\r\nDate: Tue, 3 Feb 2026 09:00:00 +0000",
            ),
        ),
        (
            "10-Mar-2026 10:05:00 +0000",
            m("Subject: Lunch\r\nMessage-ID: <1@x>\r\nDate: Mon, 2 Feb 2026 09:00:00 +0000"),
        ),
        (
            "10-Mar-2026 10:06:00 +0000",
            m(
                "From: Anna Rossi <anna@example.org>\r\nSubject: Re: Lunch\r\n\
               Message-ID: <6@x>\r\nReferences: <gone@x>\r\nDate: Wed, 4 Feb 2026 09:00:00 +0000",
            ),
        ),
        (
            "10-Mar-2026 10:07:00 +0000",
            m("From: Zeno <bruno@example.org>\r\nSubject: re: lunch\r\n\
               Message-ID: <7@x>\r\nReferences: <gone@x>\r\nDate: Wed, 4 Feb 2026 08:00:00 +0000"),
        ),
    ]
}

/// One MULTIAPPEND of the corpus into INBOX, after a message appended and
/// expunged so that UIDs are sequence numbers plus one.
async fn fill(client: &mut ImapClient) {
    client
        .command("APPEND INBOX (\\Deleted) {12+}\r\nSubject: x\r\n")
        .await
        .ok();
    client.command("SELECT INBOX").await.ok();
    client.command("EXPUNGE").await.ok();
    let mut command = String::from("APPEND INBOX");
    for (date, message) in corpus() {
        command.push_str(&format!(" \"{date}\" {{{}+}}\r\n{message}", message.len()));
    }
    let appended = client.command(&command).await;
    let code = appended.ok_with("APPENDUID").code().unwrap_or_default();
    assert!(code.ends_with(" 2:8"), "{appended:#?}");
    client
        .command("SELECT INBOX")
        .await
        .assert_has("* 7 EXISTS");
}

async fn sort_and_thread_over_raw_protocol(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let mut client = login(config.listeners.imap, ANNA).await;
    client.command("SORT (DATE) UTF-8 ALL").await.bad();
    fill(&mut client).await;
    let caps = client.command("CAPABILITY").await;
    let caps = caps.line("* CAPABILITY");
    for cap in [
        " SORT ",
        " SORT=DISPLAY ",
        " ESORT ",
        " THREAD=ORDEREDSUBJECT ",
        " THREAD=REFERENCES ",
        " MULTIAPPEND ",
    ] {
        assert!(caps.contains(cap), "{cap} missing from {caps}");
    }
    let sorted = |expected: &'static str| {
        move |r: &postino_tests::imap::Response| {
            r.ok();
            assert_eq!(r.line("* SORT"), expected, "{r:#?}");
        }
    };
    for (command, expected) in [
        ("SORT (ARRIVAL) UTF-8 ALL", "* SORT 3 1 2 4 5 6 7"),
        // Without a Date, INTERNALDATE; 1 and 5 were sent at the same time.
        ("SORT (DATE) UTF-8 ALL", "* SORT 3 1 5 2 4 7 6"),
        ("SORT (REVERSE DATE) UTF-8 ALL", "* SORT 6 7 4 2 1 5 3"),
        ("SORT (SUBJECT) UTF-8 ALL", "* SORT 1 2 4 3 5 6 7"),
        (
            "SORT (REVERSE SUBJECT DATE) UTF-8 ALL",
            "* SORT 5 7 6 3 1 2 4",
        ),
        ("SORT (FROM) UTF-8 ALL", "* SORT 5 1 6 2 7 3 4"),
        ("SORT (DISPLAYFROM) UTF-8 ALL", "* SORT 5 1 6 2 3 4 7"),
        ("SORT (TO CC) UTF-8 ALL", "* SORT 2 3 4 5 6 7 1"),
        ("UID SORT (SUBJECT) UTF-8 ALL", "* SORT 2 3 5 4 6 7 8"),
        ("SORT (DATE) UTF-8 FROM anna", "* SORT 1 6"),
        ("SORT (SUBJECT) US-ASCII SUBJECT lunch", "* SORT 5 6 7"),
        ("SORT (DATE) UTF-8 SUBJECT nessuno", "* SORT"),
    ] {
        sorted(expected)(&client.command(command).await);
    }
    // ESORT: MIN and MAX are the first and last in sort order.
    let r = client
        .command("SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL")
        .await;
    let tag = r.tag.clone();
    assert_eq!(
        r.ok().line("* ESEARCH"),
        format!("* ESEARCH (TAG \"{tag}\") MIN 3 MAX 6 COUNT 7")
    );
    let r = client
        .command("UID SORT RETURN () (SUBJECT) UTF-8 ALL")
        .await;
    let tag = r.tag.clone();
    assert_eq!(
        r.ok().line("* ESEARCH"),
        format!("* ESEARCH (TAG \"{tag}\") UID ALL 2:3,5,4,6:8")
    );
    // THREAD.
    for (command, expected) in [
        (
            "THREAD REFERENCES UTF-8 ALL",
            "* THREAD (3)(1 2 4)((5)(7)(6))",
        ),
        (
            "UID THREAD REFERENCES UTF-8 ALL",
            "* THREAD (4)(2 3 5)((6)(8)(7))",
        ),
        (
            "THREAD ORDEREDSUBJECT UTF-8 ALL",
            "* THREAD (3)(1 (2)(4))(5 (7)(6))",
        ),
        ("THREAD REFERENCES UTF-8 SUBJECT budget", "* THREAD (1 2 4)"),
    ] {
        let r = client.command(command).await;
        assert_eq!(r.ok().line("* THREAD"), expected, "{command}");
    }
    // Errors.
    client.command("SORT (FROB) UTF-8 ALL").await.bad();
    client.command("SORT (REVERSE) UTF-8 ALL").await.bad();
    client.command("SORT (DATE) ALL").await.bad();
    client.command("THREAD FROB UTF-8 ALL").await.bad();
    client
        .command("SORT (DATE) KOI8-R ALL")
        .await
        .no("BADCHARSET");
    client
        .command("THREAD REFERENCES KOI8-R ALL")
        .await
        .no("BADCHARSET");
    client.command("UNSELECT").await.ok();
    client.command("THREAD REFERENCES UTF-8 ALL").await.bad();
    client.command("LOGOUT").await.ok();
}

const STEPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/imap_steps.py");

fn call(method: &str, args: Value) -> Value {
    json!({"op": "call", "method": method, "args": args})
}

async fn sort_and_thread_with_imaplib(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let mut client = login(config.listeners.imap, ANNA).await;
    fill(&mut client).await;
    client.command("LOGOUT").await.ok();
    let steps = json!([
        {"op": "connect", "port": config.listeners.imap.port()},
        call("login", json!([ANNA, PASSWORD])),
        call("select", json!(["INBOX"])),
        call("sort", json!(["(REVERSE DATE)", "UTF-8", "ALL"])),
        call("uid", json!(["SORT", "(SUBJECT)", "UTF-8", "ALL"])),
        call("thread", json!(["REFERENCES", "UTF-8", "ALL"])),
        call("thread", json!(["ORDEREDSUBJECT", "UTF-8", "SUBJECT", "lunch"])),
        call("sort", json!(["(DATE)", "ISO-8859-2", "ALL"])),
        call("logout", json!([])),
    ]);
    let out = run_program("python3", &[STEPS], Some(steps.to_string().as_bytes())).await;
    let r: Vec<Value> = serde_json::from_str(out.ok()).expect("imap_steps.py gives JSON");
    let data = |n: usize| {
        assert_eq!(r[n]["typ"], "OK", "{:#}", r[n]);
        r[n]["data"][0].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(data(3), "6 7 4 2 1 5 3");
    assert_eq!(data(4), "2 3 5 4 6 7 8");
    assert_eq!(data(5), "(3)(1 2 4)((5)(7)(6))");
    assert_eq!(data(6), "(5 (7)(6))");
    // NO, naming the charsets SORT reads.
    assert_eq!(r[7]["typ"], "NO", "{:#}", r[7]);
    assert_eq!(r[7]["untagged"]["BADCHARSET"][0], "(UTF-8 US-ASCII)");
}

async fn multiappend_stores_all_or_nothing(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let mut client = login(config.listeners.imap, ANNA).await;
    client.command("SELECT INBOX").await.ok();
    // A synchronizing literal for each message: a continuation for each.
    client.send_raw(b"m1 APPEND INBOX (\\Seen) {14}\r\n").await;
    assert!(client.read_line().await.starts_with("+ "));
    client.send_raw(b"Subject: uno\r\n {14}\r\n").await;
    assert!(client.read_line().await.starts_with("+ "));
    client.send_raw(b"Subject: due\r\n\r\n").await;
    let r = client.read_response("m1", Vec::new()).await;
    let code = r.ok_with("APPENDUID").code().unwrap_or_default();
    assert!(code.ends_with(" 1:2"), "{r:#?}");
    // One bad message refuses the others: nothing is stored.
    let r = client
        .command("APPEND INBOX {14+}\r\nSubject: tre\r\n {0+}\r\n")
        .await;
    r.no("CANNOT");
    let r = client
        .command("APPEND Nessuna {14+}\r\nSubject: tre\r\n {14+}\r\nSubject: tre\r\n")
        .await;
    r.no("TRYCREATE");
    let r = client
        .command("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        .await;
    assert_eq!(
        r.ok()
            .lines("* ")
            .iter()
            .filter(|l| l.contains("FETCH"))
            .count(),
        2,
        "{r:#?}"
    );
    // Messages after the first must be literals, the command must end.
    client
        .command("APPEND INBOX {14+}\r\nSubject: tre\r\n junk")
        .await
        .bad();
    client.command("NOOP").await.ok().assert_none("* 3 EXISTS");
    client.command("LOGOUT").await.ok();
}
