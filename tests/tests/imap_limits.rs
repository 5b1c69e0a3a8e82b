//! Bad and hostile input on the IMAP listener: unknown commands and
//! garbage (RFC 9051 §7.1.3), literals and lines over the limits (RFC 9051
//! §4.3 and §7.1, RFC 7888 §4, RFC 7889), clients that stall or keep
//! failing, too many connections, password guessing, random bytes, and
//! one account reaching for another's folders.
//!
//! Every refusal is followed by a command that must still work, or by a
//! check that the server closed the connection on purpose.

use std::time::{Duration, Instant};

use postino_tests::dns::DnsStub;
use postino_tests::imap::{ImapClient, append, deliver, imap_site, list_names, login, message};
use postino_tests::smtp::{ANNA, BRUNO, DOMAIN, PASSWORD};
use postino_tests::{Backend, Server, TEST_LIMIT, TestConfig, on_both_backends, within};

/// A server for [`ANNA`] and [`BRUNO`] with `imap` settings.
async fn started(config: &TestConfig, imap: &[&str]) -> (Server, DnsStub) {
    let dns = imap_site(config, imap, &[ANNA, BRUNO]).await;
    (Server::start(config).await, dns)
}

/// [`started`] on a fresh SQLite configuration.
async fn sqlite_started(imap: &[&str]) -> (TestConfig, Server, DnsStub) {
    let config = TestConfig::new(Backend::Sqlite).await;
    let (server, dns) = started(&config, imap).await;
    (config, server, dns)
}

/// RFC 9051 §7.1.3: an unknown command gets a tagged BAD, a line without a
/// tag an untagged BAD, and the session goes on.
#[tokio::test]
async fn unknown_commands_and_garbage_get_bad() {
    within(TEST_LIMIT, async {
        let (config, _server, _dns) = sqlite_started(&[]).await;
        let mut client = login(config.listeners.imap, ANNA).await;
        client.command("FROBNICATE INBOX").await.bad();
        client.command("SELECT").await.bad();
        client.command("FETCH x FLAGS").await.bad();
        client.command("NOOP").await.ok();

        for garbage in ["(((\r\n", "\r\n", "{}\r\n", "\"\r\n"] {
            client.send_raw(garbage.as_bytes()).await;
            let line = client.read_line().await;
            assert!(line.starts_with("* BAD"), "{garbage:?} got {line:?}");
        }
        client.command("SELECT INBOX").await.ok();

        // Commands sent together are answered in order (RFC 9051 §5.5),
        // a bad one among them included.
        client
            .send_raw(b"p1 NOOP\r\np2 FROB\r\np3 SEARCH ALL\r\np4 CHECK\r\n")
            .await;
        let mut tagged = Vec::new();
        while tagged.len() < 4 {
            let line = client.read_line().await;
            if !line.starts_with('*') {
                tagged.push(line.split(' ').take(2).collect::<Vec<_>>().join(" "));
            }
        }
        assert_eq!(tagged, ["p1 OK", "p2 BAD", "p3 OK", "p4 OK"]);
        client.logout().await;
    })
    .await;
}

/// RFC 9051 §4.3 and §7.5, RFC 7889 §4: a synchronizing literal over the
/// limit is refused instead of the `+`, so it is never sent; APPEND gets
/// `NO [TOOBIG]`. A non-synchronizing one is read and dropped, and the
/// command refused the same way. What fits is taken.
#[tokio::test]
async fn literals_over_the_limits_are_refused() {
    within(TEST_LIMIT, async {
        let (config, _server, _dns) = sqlite_started(&["max_message_size = \"1000\""]).await;
        let mut client = login(config.listeners.imap, ANNA).await;
        let capability = client.command("CAPABILITY").await;
        let line = capability.ok().line("* CAPABILITY ");
        assert!(line.split(' ').any(|c| c == "APPENDLIMIT=1000"), "{line}");

        let tag = client.tag();
        client
            .send_raw(format!("{tag} APPEND INBOX {{5000}}\r\n").as_bytes())
            .await;
        let answer = client.read_response(&tag, Vec::new()).await;
        assert!(answer.untagged.is_empty(), "{answer:#?}");
        answer.no("TOOBIG");
        client.command("NOOP").await.ok();

        let big = message(ANNA, "grande", &"x".repeat(5000));
        let refused = client
            .command(&format!("APPEND INBOX {{{}+}}\r\n{big}", big.len()))
            .await;
        refused.no("TOOBIG").assert_none("* BAD");
        client.command("NOOP").await.ok().assert_none("* BAD");

        // Any command: the literal limit of the framing (25 MiB).
        let tag = client.tag();
        client
            .send_raw(format!("{tag} LOGIN {{30000000}}\r\n").as_bytes())
            .await;
        let answer = client.read_response(&tag, Vec::new()).await;
        assert!(answer.untagged.is_empty(), "{answer:#?}");
        assert_ne!(answer.status(), "OK", "{answer:#?}");
        client.command("NOOP").await.ok();

        let small = message(ANNA, "piccolo", "poco");
        let tag = client.tag();
        client
            .send_raw(format!("{tag} APPEND INBOX {{{}}}\r\n", small.len()).as_bytes())
            .await;
        let go_ahead = client.read_line().await;
        assert!(go_ahead.starts_with('+'), "{go_ahead:?}");
        client.send_raw(format!("{small}\r\n").as_bytes()).await;
        client.read_response(&tag, Vec::new()).await.ok();
        client.logout().await;
    })
    .await;
}

/// A command line over the 64 KiB limit is refused with a tagged BAD once
/// it ends, and nothing of it is read as another command.
#[tokio::test]
async fn a_70_kb_command_line_gets_bad() {
    within(TEST_LIMIT, async {
        let (config, _server, _dns) = sqlite_started(&[]).await;
        let mut client = login(config.listeners.imap, ANNA).await;
        client.command("SELECT INBOX").await.ok();
        let long = format!("SEARCH TEXT \"{}\"", "a1 NOOP ".repeat(70 * 1024 / 8));
        let refused = client.command(&long).await;
        refused.bad().assert_none("* ");
        let next = client.command("NOOP").await;
        next.ok().assert_none("* ");
        client.command("SEARCH TEXT \"a1 NOOP\"").await.ok();
        client.logout().await;
    })
    .await;
}

/// A client that stops in the middle of a literal, or idles past
/// `idle_timeout` in IDLE, is logged out with BYE (RFC 9051 §7.1.5, RFC
/// 2177 §3).
#[tokio::test]
async fn a_client_stalled_mid_literal_is_disconnected() {
    within(TEST_LIMIT, async {
        let (config, _server, _dns) = sqlite_started(&["idle_timeout = \"2s\""]).await;
        let mut idler = login(config.listeners.imap, ANNA).await;
        idler.command("SELECT INBOX").await.ok();
        let idle_tag = idler.tag();
        idler.send_line(&format!("{idle_tag} IDLE")).await;
        let go_ahead = idler.read_line().await;
        assert!(go_ahead.starts_with('+'), "{go_ahead:?}");
        let mut client = login(config.listeners.imap, ANNA).await;
        let tag = client.tag();
        client
            .send_raw(format!("{tag} APPEND INBOX {{100}}\r\n").as_bytes())
            .await;
        let go_ahead = client.read_line().await;
        assert!(go_ahead.starts_with('+'), "{go_ahead:?}");
        client.send_raw(b"From: a\r\n").await;
        let started = Instant::now();
        let said = client.closed_within(Duration::from_secs(6)).await;
        assert!(
            started.elapsed() >= Duration::from_millis(1500),
            "closed after {:?}",
            started.elapsed()
        );
        assert!(said.iter().any(|l| l.starts_with("* BYE")), "{said:?}");
        let said = idler.closed_within(Duration::from_secs(2)).await;
        assert!(said.iter().any(|l| l.starts_with("* BYE")), "{said:?}");

        // The message was not stored in part.
        let mut other = login(config.listeners.imap, ANNA).await;
        other
            .command("SELECT INBOX")
            .await
            .ok()
            .assert_has("* 0 EXISTS");
        other.logout().await;
    })
    .await;
}

/// After `max_errors` failed or bad commands the server says BYE and
/// closes; before that, the session goes on.
#[tokio::test]
async fn too_many_errors_end_the_session() {
    within(TEST_LIMIT, async {
        let (config, _server, _dns) = sqlite_started(&["max_errors = 3"]).await;
        let mut client = login(config.listeners.imap, ANNA).await;
        client.command("FROB").await.bad();
        client.command("SELECT Nessuna").await.no_any();
        client.command("NOOP").await.ok();
        let tag = client.tag();
        client.send_line(&format!("{tag} FROB")).await;
        let said = client.closed_within(Duration::from_secs(5)).await;
        assert!(
            said.first()
                .is_some_and(|l| l.starts_with(&format!("{tag} BAD"))),
            "{said:?}"
        );
        assert!(said.iter().any(|l| l.starts_with("* BYE")), "{said:?}");
        login(config.listeners.imap, ANNA).await.logout().await;
    })
    .await;
}

/// `max_connections_per_ip`: the connection over the limit gets BYE
/// instead of a greeting (RFC 9051 §7.1.5) and is closed; once one closes,
/// a new one is served.
#[tokio::test]
async fn connections_per_ip_are_limited() {
    within(TEST_LIMIT, async {
        let (config, _server, _dns) = sqlite_started(&["max_connections_per_ip = 2"]).await;
        let addr = config.listeners.imap;
        let first = ImapClient::connect(addr).await;
        let mut second = ImapClient::connect(addr).await;
        for client in [&first, &second] {
            assert!(client.greeting.starts_with("* OK"), "{:?}", client.greeting);
        }
        let mut third = ImapClient::connect_quiet(addr).await;
        let said = third.closed_within(Duration::from_secs(5)).await;
        assert!(
            said.len() == 1 && said[0].starts_with("* BYE"),
            "the third connection got {said:?}"
        );
        second.command("NOOP").await.ok();

        drop(first);
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let mut fourth = ImapClient::connect(addr).await;
            if fourth.greeting.starts_with("* OK") {
                fourth
                    .command(&format!("LOGIN {ANNA} {PASSWORD}"))
                    .await
                    .ok();
                fourth.logout().await;
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no slot freed: {:?}",
                fourth.greeting
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

/// `[auth]`: past `max_failures_per_account` the account's logins are
/// slowed down, the right password still accepted; past
/// `max_failures_per_ip` the address is refused until `lockout` has passed.
#[tokio::test]
async fn password_guessing_is_throttled() {
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        config.set("auth", "max_failures_per_account = 2");
        config.set("auth", "max_failures_per_ip = 3");
        config.set("auth", "failure_window = \"1m\"");
        config.set("auth", "lockout = \"2s\"");
        let (_server, _dns) = started(&config, &[]).await;
        let mut client = ImapClient::connect(config.listeners.imap).await;
        for _ in 0..2 {
            client
                .command(&format!("LOGIN {ANNA} sbagliata"))
                .await
                .no("AUTHENTICATIONFAILED");
        }
        let asked = Instant::now();
        client
            .command(&format!("LOGIN {ANNA} {PASSWORD}"))
            .await
            .ok();
        assert!(asked.elapsed() >= Duration::from_secs(1));
        client.logout().await;

        let mut client = ImapClient::connect(config.listeners.imap).await;
        client
            .command(&format!("LOGIN {ANNA} sbagliata"))
            .await
            .no("AUTHENTICATIONFAILED");
        client
            .command(&format!("LOGIN {BRUNO} {PASSWORD}"))
            .await
            .no_any();
        tokio::time::sleep(Duration::from_millis(2500)).await;
        client
            .command(&format!("LOGIN {BRUNO} {PASSWORD}"))
            .await
            .ok();
        client.logout().await;
    })
    .await;
}

/// xorshift64*: fixed seeds, so that a failure reproduces.
fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

/// Random bytes, alone or after a command's start, never stop the server:
/// the next client is served, and the log shows no panic.
#[tokio::test]
async fn random_bytes_do_not_hurt_the_server() {
    within(TEST_LIMIT, async {
        let (config, server, _dns) = sqlite_started(&[]).await;
        let addr = config.listeners.imap;
        let prefixes: [&[u8]; 5] = [
            b"",
            b"a1 APPEND INBOX {70+}\r\n",
            b"a1 LOGIN ",
            b"a1 AUTHENTICATE PLAIN\r\n",
            b"a1 ID (\"",
        ];
        for (seed, prefix) in prefixes.iter().enumerate() {
            let mut client = ImapClient::connect(addr).await;
            let mut bytes = prefix.to_vec();
            bytes.extend(random_bytes(seed as u64 + 1, 64 * 1024));
            // The server may close on the garbage before all of it is sent.
            for chunk in bytes.chunks(4096) {
                if client.try_send_raw(chunk).await.is_err() {
                    break;
                }
            }
            let _ = client.line_within(Duration::from_millis(100)).await;
        }
        // A logged-in session too.
        let mut client = login(addr, ANNA).await;
        client.command("SELECT INBOX").await.ok();
        for chunk in random_bytes(99, 64 * 1024).chunks(4096) {
            if client.try_send_raw(chunk).await.is_err() {
                break;
            }
        }
        drop(client);

        let mut client = login(addr, ANNA).await;
        client.command("SELECT INBOX").await.ok();
        append(
            &mut client,
            "INBOX",
            "",
            &message(ANNA, "dopo", "ancora vivo"),
        )
        .await;
        client.logout().await;
        let log = server.log();
        assert!(!log.contains("panicked"), "{log}");
    })
    .await;
}

on_both_backends!(accounts_never_reach_each_others_folders);

/// Mailbox names are per account: no spelling of a name lets one user
/// select, append to, copy into or list another user's folders.
async fn accounts_never_reach_each_others_folders(config: &TestConfig) {
    // Every refused attempt counts as an error.
    let (_server, _dns) = started(config, &["max_errors = 1000"]).await;
    let addr = config.listeners.imap;
    deliver(config, ANNA, &message(ANNA, "Segreto di Anna", "riservato")).await;

    let mut bruno = login(addr, BRUNO).await;
    append(&mut bruno, "INBOX", "", &message(BRUNO, "di Bruno", "mio")).await;
    let selected = bruno.command("SELECT INBOX").await;
    selected.ok().assert_has("* 1 EXISTS");
    let subject = bruno
        .command("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        .await;
    let line = subject.ok().line("* 1 FETCH").to_string();
    assert!(line.contains("di Bruno"), "{line}");
    let search = bruno.command("SEARCH SUBJECT Segreto").await;
    assert!(search.ok().search().is_empty(), "{search:#?}");

    let others = [
        "../anna".to_string(),
        "../anna/INBOX".to_string(),
        format!("{ANNA}/INBOX"),
        ANNA.to_string(),
        "anna/INBOX".to_string(),
        "/anna/INBOX".to_string(),
        "~anna/INBOX".to_string(),
        format!("#user/{ANNA}/INBOX"),
        format!("Other Users/{ANNA}/INBOX"),
        format!("{DOMAIN}/anna/INBOX"),
    ];
    let content = message(ANNA, "intruso", "da Bruno");
    bruno.command("SELECT INBOX").await.ok();
    for name in &others {
        for command in [
            format!("SELECT \"{name}\""),
            format!("EXAMINE \"{name}\""),
            format!("STATUS \"{name}\" (MESSAGES)"),
            format!("APPEND \"{name}\" {{{}+}}\r\n{content}", content.len()),
            format!("GETQUOTAROOT \"{name}\""),
            format!("DELETE \"{name}\""),
        ] {
            let response = bruno.command(&command).await;
            assert_ne!(response.status(), "OK", "`{command}`: {response:#?}");
        }
        bruno.command("SELECT INBOX").await.ok();
        for command in [format!("COPY 1 \"{name}\""), format!("MOVE 1 \"{name}\"")] {
            let response = bruno.command(&command).await;
            assert_ne!(response.status(), "OK", "`{command}`: {response:#?}");
        }
    }
    for (reference, pattern) in [
        ("", "*"),
        ("", "*anna*"),
        ("../", "*"),
        ("~anna/", "*"),
        ("#user/", "*"),
    ] {
        let listed = bruno
            .command(&format!("LIST \"{reference}\" \"{pattern}\""))
            .await;
        let names = list_names(listed.ok());
        assert!(
            !names.iter().any(|n| n.contains("anna")),
            "LIST {reference:?} {pattern:?}: {names:?}"
        );
    }
    bruno.logout().await;

    let mut anna = login(addr, ANNA).await;
    let selected = anna.command("SELECT INBOX").await;
    selected.ok().assert_has("* 1 EXISTS");
    let subject = anna
        .command("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        .await;
    let line = subject.ok().line("* 1 FETCH").to_string();
    assert!(line.contains("Segreto di Anna"), "{line}");
    let folders = list_names(anna.command("LIST \"\" \"*\"").await.ok());
    assert_eq!(folders.len(), 6, "{folders:?}");
    anna.logout().await;
}
