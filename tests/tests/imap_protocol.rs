//! The IMAP conversation over raw sockets, command by command: capabilities
//! and getting in (RFC 9051 §6.1-6.2, RFC 4959), ENABLE, ID and NAMESPACE
//! (RFC 5161, 2971, 2342), the mailbox list (RFC 9051 §6.3, RFC 5258,
//! 5819, 6154), STATUS, SELECT and EXAMINE, APPEND (RFC 4315, 7889),
//! QUOTA (RFC 9208), FETCH (RFC 9051 §6.4.5, RFC 3516), STORE, COPY and
//! MOVE (RFC 6851), EXPUNGE, CLOSE and UNSELECT, SEARCH and ESEARCH
//! (RFC 4731), CONDSTORE and QRESYNC (RFC 7162), mailbox names (RFC 3501
//! §5.1.3, RFC 6855) and IDLE (RFC 2177).
//!
//! Whatever depends on the store runs on SQLite and on PostgreSQL.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use postino_tests::dns::DnsStub;
use postino_tests::imap::{
    ImapClient, Response, append, code_value, deliver, expand_set, fetch_value, flags_in,
    imap_site, list_names, listed, login, message, number_after,
};
use postino_tests::smtp::{ANNA, BRUNO, CARLA, DOMAIN, PASSWORD, add_mailbox, plain, site};
use postino_tests::{Backend, Server, TEST_LIMIT, TestConfig, on_both_backends, within};

/// Starts a server for [`ANNA`] and [`BRUNO`], plaintext login allowed.
async fn started(config: &TestConfig, imap: &[&str]) -> (Server, DnsStub) {
    let dns = imap_site(config, imap, &[ANNA, BRUNO]).await;
    (Server::start(config).await, dns)
}

/// The capabilities of a `* CAPABILITY` line or of a `[CAPABILITY ...]` code.
#[track_caller]
fn capabilities(line: &str) -> Vec<String> {
    let list = match line.find("[CAPABILITY ") {
        Some(at) => {
            let rest = &line[at + "[CAPABILITY ".len()..];
            &rest[..rest.find(']').expect("code closed")]
        }
        None => line
            .strip_prefix("* CAPABILITY ")
            .unwrap_or_else(|| panic!("no capabilities in {line:?}")),
    };
    list.split_whitespace()
        .map(str::to_ascii_uppercase)
        .collect()
}

#[track_caller]
fn assert_capable(capabilities: &[String], wanted: &[&str]) {
    for name in wanted {
        assert!(
            capabilities.iter().any(|c| c.eq_ignore_ascii_case(name)),
            "{name} missing from {capabilities:?}"
        );
    }
}

#[track_caller]
fn assert_not_capable(capabilities: &[String], unwanted: &[&str]) {
    for name in unwanted {
        assert!(
            !capabilities.iter().any(|c| c.eq_ignore_ascii_case(name)),
            "{name} listed in {capabilities:?}"
        );
    }
}

/// What a logged-in client finds in CAPABILITY, APPENDLIMIT aside.
const EXTENSIONS: &[&str] = &[
    "IMAP4rev1",
    "IMAP4rev2",
    "LITERAL+",
    "ID",
    "ENABLE",
    "IDLE",
    "NAMESPACE",
    "UNSELECT",
    "UIDPLUS",
    "MOVE",
    "CHILDREN",
    "SPECIAL-USE",
    "CREATE-SPECIAL-USE",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "STATUS=SIZE",
    "ESEARCH",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "CONDSTORE",
    "QRESYNC",
    "UTF8=ACCEPT",
    "BINARY",
];

/// The one untagged FETCH for message `seq`.
#[track_caller]
fn fetched(response: &Response, seq: u32) -> String {
    response.line(&format!("* {seq} FETCH (")).to_string()
}

/// The numbers in `(KEY n KEY n ...)` of a STATUS line, by key.
#[track_caller]
fn status_item(line: &str, key: &str) -> u64 {
    let open = line
        .rfind('(')
        .unwrap_or_else(|| panic!("no items in {line:?}"));
    number_after(&line[open..], &format!("{key} "))
}

/// An IMAP date-time (`14-Jul-2025 10:30:00 +0200`) as seconds since the
/// epoch, for comparing instants written in different zones.
#[track_caller]
fn instant(date_time: &str) -> i64 {
    let bad = || panic!("not an IMAP date-time: {date_time:?}");
    let parts: Vec<&str> = date_time.trim().split([' ', '-', ':']).collect();
    let [day, month, year, hour, minute, second, zone] = parts[..] else {
        bad()
    };
    let number = |text: &str| -> i64 { text.parse().unwrap_or_else(|_| bad()) };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS
        .iter()
        .position(|m| *m == month)
        .unwrap_or_else(|| bad()) as i64
        + 1;
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m) = if month <= 2 {
        (number(year) - 1, month + 9)
    } else {
        (number(year), month - 3)
    };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + number(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let zone = number(&zone[1..]);
    let offset = sign * ((zone / 100) * 3600 + (zone % 100) * 60);
    days * 86_400 + number(hour) * 3600 + number(minute) * 60 + number(second) - offset
}

/// The single `* STATUS` line of a STATUS command.
#[track_caller]
fn status_of(response: &Response) -> String {
    response.ok();
    response.line("* STATUS ").to_string()
}

// --- capabilities and getting in ---------------------------------------

/// RFC 9051 §6.1.1, §7.2.2: the greeting and CAPABILITY list the
/// extensions; before login the ways in, after it everything else; LOGOUT
/// says BYE, then OK, then closes (§6.1.3).
#[tokio::test]
async fn capability_before_and_after_login() {
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        let (_server, _dns) = started(&config, &["max_message_size = \"2MB\""]).await;
        let mut client = ImapClient::connect(config.listeners.imap).await;
        assert!(
            client.greeting.starts_with("* OK "),
            "{:?}",
            client.greeting
        );
        let greeted = capabilities(&client.greeting);
        assert_capable(
            &greeted,
            &["IMAP4rev1", "STARTTLS", "AUTH=PLAIN", "SASL-IR"],
        );
        assert_not_capable(&greeted, &["LOGINDISABLED"]);

        let before = client.command("CAPABILITY").await;
        before.ok();
        let before = capabilities(before.line("* CAPABILITY "));
        assert_capable(&before, &["IMAP4rev2", "STARTTLS", "AUTH=PLAIN", "SASL-IR"]);
        assert_capable(&before, EXTENSIONS);

        let logged_in = client.command(&format!("LOGIN {ANNA} {PASSWORD}")).await;
        logged_in.ok();
        if logged_in
            .code()
            .is_some_and(|c| c.starts_with("CAPABILITY "))
        {
            let listed = capabilities(&logged_in.tagged);
            assert_capable(&listed, EXTENSIONS);
            assert_not_capable(&listed, &["LOGINDISABLED"]);
        }
        let after = client.command("CAPABILITY").await;
        after.ok();
        let after = capabilities(after.line("* CAPABILITY "));
        assert_capable(&after, EXTENSIONS);
        assert_capable(&after, &["APPENDLIMIT=2000000"]);
        assert_not_capable(&after, &["LOGINDISABLED"]);
        client.logout().await;
    })
    .await;
}

/// RFC 9051 §6.2.1, §6.2.3, §11.1: without TLS and without
/// `allow_plaintext_auth`, LOGINDISABLED is announced and passwords are
/// refused with PRIVACYREQUIRED; after STARTTLS, or on the implicit-TLS
/// listener, they are taken.
#[tokio::test]
async fn passwords_need_tls_unless_allowed() {
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        let _dns = site(&config, &[], &[ANNA]).await;
        let _server = Server::start(&config).await;

        let mut clear = ImapClient::connect(config.listeners.imap).await;
        let greeted = capabilities(&clear.greeting);
        assert_capable(&greeted, &["STARTTLS", "LOGINDISABLED"]);
        let listed = clear.command("CAPABILITY").await;
        assert_capable(
            &capabilities(listed.line("* CAPABILITY ")),
            &["STARTTLS", "LOGINDISABLED"],
        );
        clear
            .command(&format!("LOGIN {ANNA} {PASSWORD}"))
            .await
            .no("PRIVACYREQUIRED");
        clear
            .command(&format!("AUTHENTICATE PLAIN {}", plain(ANNA, PASSWORD)))
            .await
            .no("PRIVACYREQUIRED");
        // Commands sent with STARTTLS are not answered in clear: they
        // would be an attacker's (RFC 9051 §11.1, CVE-2011-0411).
        let tag = clear.tag();
        clear
            .send_raw(format!("{tag} STARTTLS\r\n{tag}x NOOP\r\n").as_bytes())
            .await;
        clear.read_response(&tag, Vec::new()).await.ok();
        let after = clear.line_within(Duration::from_millis(300)).await;
        assert_eq!(after, None, "answered in clear after STARTTLS");
        drop(clear);

        // s_client sends CAPABILITY and STARTTLS itself, then hands over.
        let mut tls = ImapClient::starttls(config.listeners.imap).await;
        let listed = tls.command("CAPABILITY").await;
        listed.ok();
        let listed = capabilities(listed.line("* CAPABILITY "));
        assert_capable(&listed, &["AUTH=PLAIN"]);
        assert_not_capable(&listed, &["STARTTLS", "LOGINDISABLED"]);
        tls.command(&format!("LOGIN {ANNA} {PASSWORD}")).await.ok();
        tls.command("SELECT INBOX").await.ok();
        tls.logout().await;

        let mut implicit = ImapClient::connect_tls(config.listeners.imap_tls).await;
        assert!(
            implicit.greeting.starts_with("* OK"),
            "{:?}",
            implicit.greeting
        );
        let listed = implicit.command("CAPABILITY").await;
        assert_not_capable(
            &capabilities(listed.line("* CAPABILITY ")),
            &["STARTTLS", "LOGINDISABLED"],
        );
        implicit
            .command(&format!("AUTHENTICATE PLAIN {}", plain(ANNA, PASSWORD)))
            .await
            .ok();
        implicit.logout().await;
    })
    .await;
}

/// RFC 9051 §6.2.2-3, RFC 4959, RFC 4616: wrong credentials get
/// `NO [AUTHENTICATIONFAILED]`; AUTHENTICATE PLAIN works with an initial
/// response and after a continuation request; `*` cancels with BAD; an
/// unknown mechanism gets NO; LOGIN takes literals.
#[tokio::test]
async fn login_and_authenticate_plain() {
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        let (_server, _dns) = started(&config, &[]).await;
        let addr = config.listeners.imap;

        let mut client = ImapClient::connect(addr).await;
        client
            .command(&format!("LOGIN {ANNA} sbagliata"))
            .await
            .no("AUTHENTICATIONFAILED");
        client
            .command(&format!("LOGIN nessuno@{DOMAIN} {PASSWORD}"))
            .await
            .no("AUTHENTICATIONFAILED");
        let refused = client.command("SELECT INBOX").await;
        assert_ne!(refused.status(), "OK", "SELECT before login: {refused:#?}");
        client
            .command(&format!("AUTHENTICATE PLAIN {}", plain(ANNA, "sbagliata")))
            .await
            .no("AUTHENTICATIONFAILED");
        client
            .command(&format!("AUTHENTICATE PLAIN {}", plain(ANNA, PASSWORD)))
            .await
            .ok();
        client.command("SELECT INBOX").await.ok();
        client.logout().await;

        // Without an initial response: an empty continuation request first.
        let mut client = ImapClient::connect(addr).await;
        let tag = client.tag();
        client.send_line(&format!("{tag} AUTHENTICATE PLAIN")).await;
        let go_ahead = client.read_line().await;
        assert!(go_ahead.starts_with('+'), "{go_ahead:?}");
        client.send_line(&plain(BRUNO, PASSWORD)).await;
        client.read_response(&tag, Vec::new()).await.ok();
        client.command("SELECT INBOX").await.ok();
        client.logout().await;

        let mut client = ImapClient::connect(addr).await;
        let tag = client.tag();
        client.send_line(&format!("{tag} AUTHENTICATE PLAIN")).await;
        let go_ahead = client.read_line().await;
        assert!(go_ahead.starts_with('+'), "{go_ahead:?}");
        client.send_line("*").await;
        client.read_response(&tag, Vec::new()).await.bad();
        client.command("AUTHENTICATE CRAM-MD5").await.no_any();
        // Non-synchronizing literals (LITERAL+, RFC 7888) outside APPEND.
        let mut plus = ImapClient::connect(addr).await;
        plus.command(&format!(
            "LOGIN {{{}+}}\r\n{ANNA} {{{}+}}\r\n{PASSWORD}",
            ANNA.len(),
            PASSWORD.len()
        ))
        .await
        .ok();
        plus.command("SELECT {5+}\r\nINBOX").await.ok();
        plus.logout().await;
        // Synchronizing literals for both arguments.
        client
            .command(&format!(
                "LOGIN {{{}}}\r\n{ANNA} {{{}}}\r\n{PASSWORD}",
                ANNA.len(),
                PASSWORD.len()
            ))
            .await
            .ok();
        client.logout().await;
    })
    .await;
}

/// ENABLE (RFC 5161 §3.1-3.2, RFC 9051 §6.3.1): the ENABLED response
/// lists every requested extension the command enabled, even when another
/// one in the same command implies it (IMAP4rev2 implies UTF8=ACCEPT,
/// QRESYNC implies CONDSTORE).
#[tokio::test]
async fn enable_lists_what_it_enabled() {
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        let (_server, _dns) = started(&config, &[]).await;
        let mut missing = Vec::new();
        for (command, wanted) in [
            (
                "ENABLE CONDSTORE QRESYNC IMAP4rev2 UTF8=ACCEPT",
                &["CONDSTORE", "QRESYNC", "IMAP4REV2", "UTF8=ACCEPT"][..],
            ),
            ("ENABLE QRESYNC CONDSTORE", &["QRESYNC", "CONDSTORE"][..]),
        ] {
            let mut client = login(config.listeners.imap, ANNA).await;
            let enabled = client.command(command).await;
            let line = enabled.ok().line("* ENABLED").to_string();
            let names: Vec<String> = line["* ENABLED".len()..]
                .split_whitespace()
                .map(str::to_ascii_uppercase)
                .collect();
            for name in wanted {
                if !names.iter().any(|n| n == name) {
                    missing.push(format!("`{command}` -> {line:?}: no {name}"));
                }
            }
            // Enabled all the same: UTF-8 names are accepted and sent.
            if command.contains("UTF8") {
                client.command("CREATE \"Città\"").await.ok();
                let names = list_names(client.command("LIST \"\" Citt*").await.ok());
                assert_eq!(names, ["Città"]);
            }
            client.logout().await;
        }
        assert!(missing.is_empty(), "{missing:#?}");
    })
    .await;
}

/// ID (RFC 2971 §3.1) and NAMESPACE (RFC 2342 §5, RFC 9051 §6.3.10).
#[tokio::test]
async fn id_and_namespace() {
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        let (_server, _dns) = started(&config, &[]).await;
        // ID is valid in every state (RFC 2971 §3.1).
        let mut anonymous = ImapClient::connect(config.listeners.imap).await;
        anonymous.command("ID NIL").await.ok().line("* ID ");
        drop(anonymous);
        let mut client = login(config.listeners.imap, ANNA).await;

        let id = client
            .command("ID (\"name\" \"postino-tests\" \"version\" \"1\")")
            .await;
        id.ok();
        let line = id.line("* ID ");
        assert!(line.starts_with("* ID (") || line == "* ID NIL", "{line:?}");
        client.command("ID NIL").await.ok().line("* ID ");

        client
            .command("NAMESPACE")
            .await
            .ok()
            .assert_has("* NAMESPACE ((\"\" \"/\")) ((\"Condivise/\" \"/\")) NIL");
        client.logout().await;
    })
    .await;
}

// --- the mailbox list ----------------------------------------------------

on_both_backends!(
    list_shows_special_use_and_children,
    create_delete_rename_and_subscribe,
    status_select_and_examine,
    append_with_flags_date_and_quota,
    fetch_data_items,
    store_flags,
    copy_move_expunge_close,
    search_criteria,
    condstore_and_qresync,
    mailbox_names_in_utf7_and_utf8,
    fetch_forwarded_message,
    idle_reports_new_mail,
);

const SPECIAL: &[(&str, &str)] = &[
    ("Sent", "\\Sent"),
    ("Drafts", "\\Drafts"),
    ("Trash", "\\Trash"),
    ("Junk", "\\Junk"),
    ("Archive", "\\Archive"),
];

/// RFC 9051 §6.3.9, RFC 3348 (CHILDREN), RFC 6154 §2 (SPECIAL-USE), RFC
/// 5258 §3 (LIST-EXTENDED), RFC 5819 (LIST-STATUS).
async fn list_shows_special_use_and_children(config: &TestConfig) {
    let (_server, _dns) = started(config, &[]).await;
    let mut client = login(config.listeners.imap, ANNA).await;
    client.command("CREATE Lavoro/2026/Q1").await.ok();
    append(
        &mut client,
        "INBOX",
        "(\\Seen)",
        &message(ANNA, "letto", "x"),
    )
    .await;
    append(&mut client, "INBOX", "", &message(ANNA, "nuovo", "y")).await;

    let all = client.command("LIST \"\" \"*\"").await;
    all.ok();
    let all = listed(&all, "LIST");
    let find = |name: &str| {
        all.iter()
            .find(|l| l.name == name)
            .unwrap_or_else(|| panic!("{name} not listed: {all:#?}"))
            .clone()
    };
    for entry in &all {
        assert_eq!(entry.delimiter, "/", "{entry:?}");
    }
    for (name, attribute) in SPECIAL {
        assert!(find(name).has(attribute), "{name} without {attribute}");
        assert!(find(name).has("\\HasNoChildren"), "{:?}", find(name));
    }
    assert!(find("INBOX").has("\\HasNoChildren"), "{:?}", find("INBOX"));
    assert!(find("Lavoro").has("\\HasChildren"), "{:?}", find("Lavoro"));
    assert!(find("Lavoro/2026").has("\\HasChildren"));
    assert!(find("Lavoro/2026/Q1").has("\\HasNoChildren"));
    assert_eq!(all.len(), 9, "{all:#?}");

    let mut top = list_names(client.command("LIST \"\" \"%\"").await.ok());
    top.sort();
    assert_eq!(
        top,
        [
            "Archive", "Drafts", "INBOX", "Junk", "Lavoro", "Sent", "Trash"
        ]
    );
    // INBOX matches in any case (§6.3.9).
    let inbox = client.command("LIST \"\" \"inbox\"").await;
    assert_eq!(list_names(inbox.ok()), ["INBOX"]);
    let below = client.command("LIST \"\" \"Lavoro/%\"").await;
    assert_eq!(list_names(below.ok()), ["Lavoro/2026"]);
    let referenced = client.command("LIST \"Lavoro/\" \"%\"").await;
    assert_eq!(list_names(referenced.ok()), ["Lavoro/2026"]);
    // An empty pattern asks for the delimiter (RFC 9051 §6.3.9).
    let root = client.command("LIST \"\" \"\"").await;
    let root = listed(root.ok(), "LIST");
    assert_eq!(root.len(), 1, "{root:?}");
    assert_eq!(
        (root[0].delimiter.as_str(), root[0].name.as_str()),
        ("/", "")
    );
    assert!(root[0].has("\\Noselect"), "{root:?}");

    // Several patterns at once (RFC 5258 §3).
    let mut both = list_names(client.command("LIST \"\" (\"INBOX\" \"Sent\")").await.ok());
    both.sort();
    assert_eq!(both, ["INBOX", "Sent"]);
    let special = client.command("LIST (SPECIAL-USE) \"\" \"*\"").await;
    let special = listed(special.ok(), "LIST");
    let mut names: Vec<&str> = special.iter().map(|l| l.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Archive", "Drafts", "Junk", "Sent", "Trash"]);
    for (name, attribute) in SPECIAL {
        let entry = special.iter().find(|l| l.name == *name).expect("listed");
        assert!(entry.has(attribute), "{entry:?}");
    }

    let with_status = client
        .command("LIST \"\" \"*\" RETURN (STATUS (MESSAGES UNSEEN))")
        .await;
    with_status.ok();
    assert_eq!(listed(&with_status, "LIST").len(), 9, "{with_status:#?}");
    let statuses = with_status.lines("* STATUS ");
    assert_eq!(
        statuses.len(),
        9,
        "one STATUS per mailbox: {with_status:#?}"
    );
    let inbox = statuses
        .iter()
        .find(|l| l.starts_with("* STATUS INBOX ") || l.starts_with("* STATUS \"INBOX\" "))
        .unwrap_or_else(|| panic!("no STATUS for INBOX: {with_status:#?}"));
    assert_eq!(status_item(inbox, "MESSAGES"), 2, "{inbox}");
    assert_eq!(status_item(inbox, "UNSEEN"), 1, "{inbox}");
    client.logout().await;
}

/// RFC 9051 §6.3.4-6.3.8, RFC 6154 §3, RFC 5258 §3.5 (SUBSCRIBED).
async fn create_delete_rename_and_subscribe(config: &TestConfig) {
    let (_server, _dns) = started(config, &[]).await;
    let mut client = login(config.listeners.imap, ANNA).await;
    let names =
        async |client: &mut ImapClient| list_names(client.command("LIST \"\" \"*\"").await.ok());

    client.command("CREATE Progetti").await.ok();
    client.command("CREATE Progetti").await.no("ALREADYEXISTS");
    client.command("CREATE INBOX").await.no_any();
    client.command("CREATE Lavoro/2026/Q1").await.ok();
    let now = names(&mut client).await;
    for name in ["Progetti", "Lavoro", "Lavoro/2026", "Lavoro/2026/Q1"] {
        assert!(now.iter().any(|n| n == name), "{name} missing: {now:?}");
    }

    // A second \Archive is allowed or refused with USEATTR (RFC 6154 §3).
    let storico = client.command("CREATE Storico (USE (\\Archive))").await;
    if storico.status() == "OK" {
        let special = client.command("LIST (SPECIAL-USE) \"\" \"*\"").await;
        let special = listed(special.ok(), "LIST");
        let entry = special
            .iter()
            .find(|l| l.name == "Storico")
            .unwrap_or_else(|| panic!("Storico not special: {special:#?}"));
        assert!(entry.has("\\Archive"), "{entry:?}");
    } else {
        storico.no("USEATTR");
    }
    client
        .command("CREATE Strano (USE (\\Inesistente))")
        .await
        .no_any();
    assert!(!names(&mut client).await.iter().any(|n| n == "Strano"));

    client.command("DELETE INBOX").await.no_any();
    client.command("DELETE Nessuna").await.no_any();
    // A mailbox with children goes alone; its level stays, \Noselect
    // (RFC 9051 §6.3.5).
    client.command("CREATE Temporanea/Figlia").await.ok();
    client.command("DELETE Temporanea").await.ok();
    let level = client.command("LIST \"\" Temporanea").await;
    level
        .ok()
        .assert_has("* LIST (\\Noselect \\HasChildren) \"/\" Temporanea");
    client.command("SELECT Temporanea").await.no("NONEXISTENT");
    let now = names(&mut client).await;
    assert!(now.iter().any(|n| n == "Temporanea/Figlia"), "{now:?}");
    assert!(now.iter().any(|n| n == "Lavoro/2026/Q1"), "{now:?}");

    client.command("RENAME Progetti Clienti").await.ok();
    client.command("RENAME Lavoro Ufficio").await.ok();
    let now = names(&mut client).await;
    for name in ["Clienti", "Ufficio", "Ufficio/2026", "Ufficio/2026/Q1"] {
        assert!(now.iter().any(|n| n == name), "{name} missing: {now:?}");
    }
    assert!(
        !now.iter()
            .any(|n| n == "Progetti" || n.starts_with("Lavoro")),
        "{now:?}"
    );
    // Quoting survives the round trip.
    client.command("CREATE \"Lavoro \\\"2026\\\"\"").await.ok();
    let quoted = client.command("LIST \"\" \"Lavoro *\"").await;
    assert_eq!(list_names(quoted.ok()), ["Lavoro \"2026\""]);
    // A new name's missing levels are created (§6.3.6).
    client.command("CREATE Progetti").await.ok();
    client.command("RENAME Progetti Nuovi/Progetti").await.ok();
    let now = names(&mut client).await;
    for name in ["Nuovi", "Nuovi/Progetti"] {
        assert!(now.iter().any(|n| n == name), "{name} missing: {now:?}");
    }
    client.command("RENAME Clienti Sent").await.no_any();
    client.command("RENAME Nessuna Altra").await.no_any();
    client.command("DELETE Ufficio/2026/Q1").await.ok();
    assert!(
        !names(&mut client)
            .await
            .iter()
            .any(|n| n == "Ufficio/2026/Q1")
    );

    // Renaming INBOX moves its messages and leaves it empty (§6.3.6).
    append(&mut client, "INBOX", "", &message(ANNA, "uno", "1")).await;
    append(&mut client, "INBOX", "", &message(ANNA, "due", "2")).await;
    client.command("RENAME INBOX \"Vecchia posta\"").await.ok();
    let old = status_of(&client.command("STATUS \"Vecchia posta\" (MESSAGES)").await);
    assert_eq!(status_item(&old, "MESSAGES"), 2, "{old}");
    let inbox = status_of(&client.command("STATUS INBOX (MESSAGES)").await);
    assert_eq!(status_item(&inbox, "MESSAGES"), 0, "{inbox}");
    client
        .command("SELECT INBOX")
        .await
        .ok()
        .assert_has("* 0 EXISTS");

    client.command("SUBSCRIBE Clienti").await.ok();
    let lsub = client.command("LSUB \"\" \"*\"").await;
    let lsub = listed(lsub.ok(), "LSUB");
    assert!(lsub.iter().any(|l| l.name == "Clienti"), "{lsub:#?}");
    let subscribed = client.command("LIST (SUBSCRIBED) \"\" \"*\"").await;
    let subscribed = listed(subscribed.ok(), "LIST");
    let entry = subscribed
        .iter()
        .find(|l| l.name == "Clienti")
        .unwrap_or_else(|| panic!("Clienti not subscribed: {subscribed:#?}"));
    assert!(entry.has("\\Subscribed"), "{entry:?}");
    // A subscribed child shows in CHILDINFO of its parent (RFC 5258 §3.5).
    client.command("UNSUBSCRIBE Nuovi").await.ok();
    client.command("SUBSCRIBE Nuovi/Progetti").await.ok();
    let recursive = client
        .command("LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"Nuovi\"")
        .await;
    let line = recursive.ok().line("* LIST (").to_string();
    assert!(
        line.contains("(CHILDINFO (\"SUBSCRIBED\"))") && !line.contains("\\Subscribed"),
        "{line}"
    );
    client.command("UNSUBSCRIBE Clienti").await.ok();
    let lsub = client.command("LSUB \"\" \"*\"").await;
    assert!(
        !listed(lsub.ok(), "LSUB")
            .iter()
            .any(|l| l.name == "Clienti"),
        "{lsub:#?}"
    );
    // A trailing delimiter only declares the name a parent; a server that
    // does not need the declaration ignores it (RFC 9051 §6.3.4).
    client.command("CREATE Cartella/").await.ok();
    let now = names(&mut client).await;
    assert!(now.iter().any(|n| n == "Cartella"), "{now:?}");
    client.logout().await;
}

/// RFC 9051 §6.3.11 (STATUS, with STATUS=SIZE RFC 8438 and HIGHESTMODSEQ
/// RFC 7162 §3.1.6), §6.3.2 (SELECT), §6.3.3 (EXAMINE: nothing changes).
async fn status_select_and_examine(config: &TestConfig) {
    let (_server, _dns) = started(config, &[]).await;
    let mut client = login(config.listeners.imap, ANNA).await;
    let seen = message(ANNA, "letto", "gia letto");
    let deleted = message(ANNA, "cancellato", "da cancellare, piu lungo");
    append(&mut client, "INBOX", "(\\Seen)", &seen).await;
    let last = append(&mut client, "INBOX", "(\\Deleted)", &deleted).await;

    let status = status_of(
        &client
            .command(
                "STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE HIGHESTMODSEQ DELETED)",
            )
            .await,
    );
    assert_eq!(status_item(&status, "MESSAGES"), 2, "{status}");
    assert_eq!(
        status_item(&status, "UIDNEXT"),
        u64::from(last) + 1,
        "{status}"
    );
    assert_eq!(status_item(&status, "UNSEEN"), 1, "{status}");
    assert_eq!(
        status_item(&status, "SIZE"),
        (seen.len() + deleted.len()) as u64,
        "{status}"
    );
    assert_eq!(status_item(&status, "DELETED"), 1, "{status}");
    let uidvalidity = status_item(&status, "UIDVALIDITY");
    let highest = status_item(&status, "HIGHESTMODSEQ");
    assert!(uidvalidity > 0 && highest > 0, "{status}");
    client.command("STATUS Nessuna (MESSAGES)").await.no_any();

    let selected = client.command("SELECT INBOX").await;
    selected.ok_with("READ-WRITE");
    let flags = flags_in(selected.line("* FLAGS "));
    for flag in ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"] {
        assert!(flags.iter().any(|f| f == flag), "{flag} not in {flags:?}");
    }
    selected.assert_has("* 2 EXISTS");
    // IMAP4rev1 clients get the first unseen message (RFC 3501 §6.3.1).
    assert_eq!(code_value(&selected, "UNSEEN"), 2);
    assert_eq!(code_value(&selected, "UIDVALIDITY"), uidvalidity);
    assert_eq!(code_value(&selected, "UIDNEXT"), u64::from(last) + 1);
    assert_eq!(code_value(&selected, "HIGHESTMODSEQ"), highest);
    let permanent = selected
        .untagged
        .iter()
        .find(|l| l.starts_with("* OK [PERMANENTFLAGS ("))
        .unwrap_or_else(|| panic!("no PERMANENTFLAGS: {selected:#?}"));
    assert!(
        permanent.contains("\\*") && permanent.contains("\\Seen"),
        "{permanent}"
    );

    let examined = client.command("EXAMINE INBOX").await;
    examined.ok_with("READ-ONLY");
    examined.assert_has("* 2 EXISTS");
    client.command("STORE 1 +FLAGS (\\Flagged)").await.no_any();
    let body = client.command("FETCH 2 BODY[]").await;
    body.ok();
    assert_eq!(
        fetch_value(&fetched(&body, 2), "BODY[]").as_deref(),
        Some(deleted.as_str())
    );
    let flags = client.command("FETCH 2 FLAGS").await;
    let flags = flags_in(&fetched(flags.ok(), 2));
    assert!(
        !flags.iter().any(|f| f == "\\Seen"),
        "EXAMINE set \\Seen: {flags:?}"
    );
    let expunge = client.command("EXPUNGE").await;
    assert_ne!(
        expunge.status(),
        "OK",
        "EXPUNGE on a read-only mailbox: {expunge:#?}"
    );
    // CLOSE on a read-only mailbox removes nothing (§6.4.1).
    client.command("CLOSE").await.ok();
    let status = status_of(&client.command("STATUS INBOX (MESSAGES)").await);
    assert_eq!(status_item(&status, "MESSAGES"), 2, "{status}");
    client.command("EXAMINE INBOX").await.ok();

    // A failed SELECT leaves no mailbox selected (§6.3.2).
    client.command("SELECT Nessuna").await.no_any();
    let fetch = client.command("FETCH 1 FLAGS").await;
    assert_ne!(
        fetch.status(),
        "OK",
        "FETCH with nothing selected: {fetch:#?}"
    );
    client.logout().await;
}

/// RFC 9051 §6.3.12 (APPEND with flags and date), RFC 4315 §3 (APPENDUID),
/// RFC 9051 §7.1 (TRYCREATE), RFC 9208 §4.2-4.3 and §5 (GETQUOTA,
/// GETQUOTAROOT, OVERQUOTA), and deleting a folder giving its space back.
async fn append_with_flags_date_and_quota(config: &TestConfig) {
    let (_server, _dns) = started(config, &[]).await;
    add_mailbox(config, CARLA, &["--quota", "10000"]).await;
    let mut client = login(config.listeners.imap, ANNA).await;

    let content = message(ANNA, "datato", "con data e flag");
    let appended = client
        .command(&format!(
            "APPEND INBOX (\\Flagged $Lavoro) \"14-Jul-2025 10:30:00 +0200\" {{{}}}\r\n{content}",
            content.len()
        ))
        .await;
    appended.ok_with("APPENDUID");
    let code = appended.code().expect("APPENDUID");
    let parts: Vec<&str> = code.split(' ').collect();
    assert_eq!(parts.len(), 3, "{code}");
    let uid: u32 = parts[2].parse().expect("one UID");
    let status = status_of(&client.command("STATUS INBOX (UIDVALIDITY)").await);
    assert_eq!(parts[1], status_item(&status, "UIDVALIDITY").to_string());

    client.command("SELECT INBOX").await.ok();
    let data = client
        .command(&format!("UID FETCH {uid} (INTERNALDATE FLAGS RFC822.SIZE)"))
        .await;
    let line = fetched(data.ok(), 1);
    // The same instant, in whatever zone the server keeps it.
    let date = line
        .split("INTERNALDATE \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no INTERNALDATE in {line}"));
    assert_eq!(
        instant(date),
        instant("14-Jul-2025 10:30:00 +0200"),
        "{line}"
    );
    let flags = flags_in(&line);
    assert!(flags.iter().any(|f| f == "\\Flagged"), "{flags:?}");
    assert!(flags.iter().any(|f| f == "$Lavoro"), "{flags:?}");
    assert_eq!(number_after(&line, "RFC822.SIZE "), content.len() as u64);
    client
        .command(&format!(
            "APPEND Inesistente {{{}+}}\r\n{content}",
            content.len()
        ))
        .await
        .no("TRYCREATE");
    // An impossible date is a syntax error (§9 date-time).
    let bad_date = client
        .command(&format!(
            "APPEND INBOX \"31-Feb-2025 10:00:00 +0000\" {{{}+}}\r\n{content}",
            content.len()
        ))
        .await;
    assert_ne!(bad_date.status(), "OK", "{bad_date:#?}");
    // No quota: INBOX has no quota root (RFC 9208 §4.3).
    let roots = client.command("GETQUOTAROOT INBOX").await;
    roots.ok().assert_none("* QUOTA ");
    let line = roots.line("* QUOTAROOT ");
    assert!(
        line == "* QUOTAROOT INBOX" || line == "* QUOTAROOT \"INBOX\"",
        "{line}"
    );
    client.logout().await;

    let mut client = login(config.listeners.imap, CARLA).await;
    let quota = |response: &Response| -> (u64, u64) {
        response.ok();
        let line = response
            .untagged
            .iter()
            .find(|l| l.starts_with("* QUOTA ") && l.contains("(STORAGE "))
            .unwrap_or_else(|| panic!("no STORAGE quota: {response:#?}"));
        let at = line.find("(STORAGE ").expect("found") + "(STORAGE ".len();
        let numbers: Vec<u64> = line[at..]
            .trim_end_matches(')')
            .split_whitespace()
            .map(|n| n.parse().expect("a number"))
            .collect();
        (numbers[0], numbers[1])
    };
    let roots = client.command("GETQUOTAROOT INBOX").await;
    let root_line = roots.line("* QUOTAROOT ").to_string();
    let roots_text = root_line
        .strip_prefix("* QUOTAROOT INBOX ")
        .or_else(|| root_line.strip_prefix("* QUOTAROOT \"INBOX\" "))
        .unwrap_or_else(|| panic!("not the roots of INBOX: {root_line}"));
    let (used, limit) = quota(&roots);
    assert_eq!(used, 0, "{roots:#?}");
    assert!((9..=10).contains(&limit), "10000 bytes is not {limit} KiB");
    let root = roots_text.split(' ').next().expect("a root").to_string();

    let heavy = message(CARLA, "pesante", &"x".repeat(6000));
    client.command("CREATE Pesante").await.ok();
    append(&mut client, "Pesante", "", &heavy).await;
    let (used, _) = quota(&client.command(&format!("GETQUOTA {root}")).await);
    assert!(used >= 5, "6000 bytes counted as {used} KiB");
    client
        .command(&format!("APPEND INBOX {{{}+}}\r\n{heavy}", heavy.len()))
        .await
        .no("OVERQUOTA");
    client.command("DELETE Pesante").await.ok();
    let (used, _) = quota(&client.command(&format!("GETQUOTA {root}")).await);
    assert_eq!(used, 0, "DELETE did not free the quota");
    append(&mut client, "INBOX", "", &heavy).await;
    // COPY over quota is refused the same way (RFC 9208 §5).
    client.command("SELECT INBOX").await.ok();
    client.command("COPY 1 INBOX").await.no("OVERQUOTA");
    client.logout().await;
}

// --- FETCH ---------------------------------------------------------------

/// The attachment of [`multipart`], before base64.
const ATTACHMENT: &[u8] = b"%PDF\x00\x01\x02 dati binari";

/// A message with a text part and a base64 attachment.
fn multipart() -> String {
    format!(
        "From: Anna Rossi <{ANNA}>\r\n\
         To: Bruno Bianchi <{BRUNO}>\r\n\
         Subject: Relazione mensile\r\n\
         Date: Mon, 14 Jul 2025 10:30:00 +0200\r\n\
         Message-ID: <relazione-1@{DOMAIN}>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"confine\"\r\n\
         \r\n\
         Preambolo.\r\n\
         --confine\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         Ecco la relazione.\r\n\
         --confine\r\n\
         {}\
         \r\n\
         {}\r\n\
         --confine--\r\n",
        attachment_header(),
        BASE64.encode(ATTACHMENT)
    )
}

fn attachment_header() -> &'static str {
    "Content-Type: application/octet-stream; name=\"dati.bin\"\r\n\
     Content-Transfer-Encoding: base64\r\n\
     Content-Disposition: attachment; filename=\"dati.bin\"\r\n"
}

/// RFC 9051 §6.4.5 and §7.5.2 (FETCH items and their responses), RFC 3516
/// §4 (BINARY), RFC 7162 §3.1.4 (MODSEQ), RFC 9051 §9 (a sequence number
/// beyond the mailbox is an error).
async fn fetch_data_items(config: &TestConfig) {
    let (_server, _dns) = started(config, &[]).await;
    let mut client = login(config.listeners.imap, ANNA).await;
    let whole = multipart();
    let simple = message(ANNA, "semplice", "Testo semplice.");
    append(&mut client, "INBOX", "", &whole).await;
    let simple_uid = append(&mut client, "INBOX", "", &simple).await;
    client.command("SELECT INBOX").await.ok();
    let (header, text) = whole.split_once("\r\n\r\n").expect("a header");
    let header = format!("{header}\r\n\r\n");

    // A body fetch without PEEK sets \Seen, and says so (§6.4.5).
    let text_fetch = client.command("FETCH 2 BODY[TEXT]").await;
    let line = fetched(text_fetch.ok(), 2);
    assert_eq!(
        fetch_value(&line, "BODY[TEXT]").as_deref(),
        Some("Testo semplice.\r\n")
    );
    assert!(flags_in(&line).iter().any(|f| f == "\\Seen"), "{line}");
    let uid_fetch = client
        .command(&format!("UID FETCH {simple_uid} FLAGS"))
        .await;
    let line = fetched(uid_fetch.ok(), 2);
    assert!(line.contains(&format!("UID {simple_uid}")), "{line}");
    assert!(flags_in(&line).iter().any(|f| f == "\\Seen"), "{line}");

    // The PEEK forms and RFC822.HEADER leave \Seen alone.
    let peeked = client
        .command("FETCH 1 (BODY.PEEK[HEADER] BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)] RFC822.HEADER)")
        .await;
    let line = fetched(peeked.ok(), 1);
    assert_eq!(fetch_value(&line, "BODY[HEADER]"), Some(header.clone()));
    assert_eq!(fetch_value(&line, "RFC822.HEADER"), Some(header.clone()));
    assert_eq!(
        fetch_value(&line, "BODY[HEADER.FIELDS (SUBJECT FROM)]").as_deref(),
        Some(format!("From: Anna Rossi <{ANNA}>\r\nSubject: Relazione mensile\r\n\r\n").as_str())
    );
    let without_subject = header.replace("Subject: Relazione mensile\r\n", "");
    assert_eq!(
        fetch_value(&line, "BODY[HEADER.FIELDS.NOT (SUBJECT)]"),
        Some(without_subject)
    );
    let flags = client
        .command("FETCH 1 (FLAGS UID RFC822.SIZE INTERNALDATE)")
        .await;
    let line = fetched(flags.ok(), 1);
    // The message is \Recent in this session, the first to select INBOX.
    assert_eq!(flags_in(&line), ["\\Recent"], "PEEK set a flag: {line}");
    assert_eq!(number_after(&line, "RFC822.SIZE "), whole.len() as u64);
    assert!(line.contains(" UID ") || line.contains("(UID "), "{line}");
    assert!(line.contains("INTERNALDATE \""), "{line}");

    // No Content-Type: text/plain in US-ASCII, 7BIT (RFC 2045 §5.2, §6.1).
    let simple_structure = client.command("FETCH 2 BODYSTRUCTURE").await;
    let line = fetched(simple_structure.ok(), 2).to_ascii_uppercase();
    assert!(
        line.contains(
            "BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 17 1"
        ),
        "{line}"
    );

    let structure = client.command("FETCH 1 (ENVELOPE BODYSTRUCTURE)").await;
    let line = fetched(structure.ok(), 1);
    let anna = "((\"Anna Rossi\" NIL \"anna\" \"comune.esempio.pu.it\"))";
    let envelope = format!(
        "ENVELOPE (\"Mon, 14 Jul 2025 10:30:00 +0200\" \"Relazione mensile\" {anna} {anna} {anna} \
         ((\"Bruno Bianchi\" NIL \"bruno\" \"comune.esempio.pu.it\")) NIL NIL NIL \
         \"<relazione-1@comune.esempio.pu.it>\")"
    );
    assert!(line.contains(&envelope), "{line}\nwanted {envelope}");
    let upper = line.to_ascii_uppercase();
    let encoded = BASE64.encode(ATTACHMENT);
    for part in [
        "BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") NIL NIL \"7BIT\" 18 "
            .to_string(),
        format!(
            "(\"APPLICATION\" \"OCTET-STREAM\" (\"NAME\" \"DATI.BIN\") NIL NIL \"BASE64\" {} ",
            encoded.len()
        ),
        "(\"ATTACHMENT\" (\"FILENAME\" \"DATI.BIN\"))".to_string(),
        " \"MIXED\" (\"BOUNDARY\" \"CONFINE\")".to_string(),
    ] {
        assert!(upper.contains(&part), "{part} not in {line}");
    }

    let parts = client
        .command("FETCH 1 (BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2.MIME] BODY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[2]<0.4>)")
        .await;
    let line = fetched(parts.ok(), 1);
    assert_eq!(
        fetch_value(&line, "BODY[1]").as_deref(),
        Some("Ecco la relazione.")
    );
    assert_eq!(
        fetch_value(&line, "BODY[2.MIME]"),
        Some(format!("{}\r\n", attachment_header()))
    );
    assert_eq!(fetch_value(&line, "BODY[2]"), Some(encoded.clone()));
    assert_eq!(
        fetch_value(&line, "BODY[1.MIME]").as_deref(),
        Some("Content-Type: text/plain; charset=utf-8\r\n\r\n")
    );
    assert_eq!(fetch_value(&line, "BINARY[2]<0>").as_deref(), Some("%PDF"));
    assert_eq!(
        number_after(&line, "BINARY.SIZE[2] "),
        ATTACHMENT.len() as u64
    );
    let partial = client.command("FETCH 1 BODY.PEEK[]<0.10>").await;
    let line = fetched(partial.ok(), 1);
    assert_eq!(
        fetch_value(&line, "BODY[]<0>").as_deref(),
        Some(&whole[..10])
    );
    // Starting past the end gives an empty string (§6.4.5).
    let past = client.command("FETCH 1 BODY.PEEK[]<100000.10>").await;
    let line = fetched(past.ok(), 1);
    assert_eq!(fetch_value(&line, "BODY[]<100000>").as_deref(), Some(""));
    // Unknown UIDs are no error, and give nothing (§6.4.9).
    let unknown = client.command("UID FETCH 9998:9999 FLAGS").await;
    unknown.ok().assert_none("* ");

    let macros = [
        ("ALL", true, false),
        ("FAST", false, false),
        ("FULL", true, true),
    ];
    for (name, envelope, body) in macros {
        let response = client.command(&format!("FETCH 1 {name}")).await;
        let line = fetched(response.ok(), 1);
        for item in ["FLAGS (", "INTERNALDATE \"", "RFC822.SIZE "] {
            assert!(line.contains(item), "{name}: no {item} in {line}");
        }
        assert_eq!(line.contains("ENVELOPE ("), envelope, "{name}: {line}");
        assert_eq!(line.contains("BODY ("), body, "{name}: {line}");
        assert!(!line.contains("BODYSTRUCTURE"), "{name}: {line}");
    }

    let modseq = client.command("FETCH 1 (MODSEQ)").await;
    let line = fetched(modseq.ok(), 1);
    assert!(number_after(&line, "MODSEQ (") > 0, "{line}");

    // The forms that set \Seen.
    let body = client.command("FETCH 1 (RFC822.TEXT)").await;
    let line = fetched(body.ok(), 1);
    assert_eq!(fetch_value(&line, "RFC822.TEXT").as_deref(), Some(text));
    assert!(flags_in(&line).iter().any(|f| f == "\\Seen"), "{line}");
    let body = client.command("FETCH 1 (RFC822 BODY[])").await;
    let line = fetched(body.ok(), 1);
    assert_eq!(fetch_value(&line, "RFC822"), Some(whole.clone()));
    assert_eq!(fetch_value(&line, "BODY[]"), Some(whole.clone()));
    let binary = client.command("FETCH 1 BINARY[2]").await;
    let line = fetched(binary.ok(), 1);
    assert_eq!(
        fetch_value(&line, "BINARY[2]")
            .map(String::into_bytes)
            .as_deref(),
        Some(ATTACHMENT)
    );

    client.command("FETCH 3 FLAGS").await.bad();

    // A binary literal with a NUL in it (RFC 3516 §4.4), read back decoded.
    let binary: &[u8] =
        b"From: a@esterno.example\r\nSubject: binario\r\nContent-Transfer-Encoding: binary\r\n\r\nnul\0qui\r\n";
    let mut command = format!("APPEND INBOX ~{{{}+}}\r\n", binary.len()).into_bytes();
    command.extend_from_slice(binary);
    let first = client.command_bytes(&command).await;
    first.ok_with("APPENDUID");
    // A message larger than one write of the server.
    let large = message(ANNA, "grande", &"0123456789abcdef\r\n".repeat(12_000));
    let second = client
        .command(&format!("APPEND INBOX {{{}+}}\r\n{large}", large.len()))
        .await;
    second.ok_with("APPENDUID");
    // The client hears of both, with APPEND (§6.3.12) or at the next NOOP.
    let noop = client.command("NOOP").await;
    assert!(
        [&first, &second, &noop].iter().any(|r| r.has("* 4 EXISTS")),
        "{first:#?}\n{second:#?}\n{noop:#?}"
    );
    let decoded = client.command("FETCH 3 (BINARY.PEEK[1] RFC822.SIZE)").await;
    let line = fetched(decoded.ok(), 3);
    assert_eq!(number_after(&line, "RFC822.SIZE "), binary.len() as u64);
    assert_eq!(
        fetch_value(&line, "BINARY[1]").as_deref(),
        Some("nul\0qui\r\n")
    );
    // `*` is the last message; `n:*` by UID always names the last one,
    // even when n is above every UID (§6.4.9, §9).
    let last = client.command("FETCH * (UID)").await;
    let last_uid = number_after(&fetched(last.ok(), 4), "UID ");
    let beyond = client.command("UID FETCH 999999:* (UID)").await;
    assert_eq!(beyond.ok().lines("* ").len(), 1, "{beyond:#?}");
    assert_eq!(number_after(&fetched(&beyond, 4), "UID "), last_uid);
    let found = client.command("UID SEARCH UID 999999:*").await;
    assert_eq!(found.ok().search(), [last_uid as u32]);
    client.command("FETCH 1 BODY.PEEK[0]").await.bad();

    let whole_large = client.command("FETCH 2:4 BODY.PEEK[]").await;
    whole_large.ok();
    let line = fetched(&whole_large, 4);
    assert_eq!(fetch_value(&line, "BODY[]"), Some(large));
    let line = fetched(&whole_large, 2);
    assert_eq!(fetch_value(&line, "BODY[]"), Some(simple));
    client.logout().await;
}

/// RFC 9051 §6.4.5 and §7.5.2: a message/rfc822 part has an envelope and a
/// body structure of its own, and part numbers that reach into it; header
/// fields folded over lines are unfolded in ENVELOPE and SEARCH (RFC 5322
/// §2.2.3) and kept as they are in BODY[HEADER.FIELDS].
async fn fetch_forwarded_message(config: &TestConfig) {
    let (_server, _dns) = started(config, &[]).await;
    let mut client = login(config.listeners.imap, ANNA).await;
    let inner = format!(
        "From: Carla <{CARLA}>\r\nTo: Anna <{ANNA}>\r\nSubject: Originale\r\n\
         Date: Tue, 1 Jul 2025 08:00:00 +0000\r\nMessage-ID: <orig@{DOMAIN}>\r\n\r\n\
         Testo originale.\r\n"
    );
    let outer = format!(
        "From: Bruno <{BRUNO}>\r\nTo: Anna <{ANNA}>\r\nSubject: Fwd:\r\n Originale\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nVedi sotto.\r\n\
         --b1\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--b1--\r\n"
    );
    append(&mut client, "INBOX", "", &outer).await;
    client.command("SELECT INBOX").await.ok();

    let parts = client
        .command(
            "FETCH 1 (BODY.PEEK[2] BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT] BODY.PEEK[2.1] \
             BODY.PEEK[HEADER.FIELDS (SUBJECT)] ENVELOPE)",
        )
        .await;
    let line = fetched(parts.ok(), 1);
    let (inner_header, inner_text) = inner.split_once("\r\n\r\n").expect("a header");
    assert_eq!(
        fetch_value(&line, "BODY[2]").as_deref(),
        Some(inner.as_str())
    );
    assert_eq!(
        fetch_value(&line, "BODY[2.HEADER]"),
        Some(format!("{inner_header}\r\n\r\n"))
    );
    assert_eq!(
        fetch_value(&line, "BODY[2.TEXT]").as_deref(),
        Some(inner_text)
    );
    assert_eq!(fetch_value(&line, "BODY[2.1]").as_deref(), Some(inner_text));
    assert_eq!(
        fetch_value(&line, "BODY[HEADER.FIELDS (SUBJECT)]").as_deref(),
        Some("Subject: Fwd:\r\n Originale\r\n\r\n")
    );
    assert!(line.contains("ENVELOPE (NIL \"Fwd: Originale\" "), "{line}");

    let structure = client.command("FETCH 1 BODYSTRUCTURE").await;
    let line = fetched(structure.ok(), 1).to_ascii_uppercase();
    let wanted = format!(
        "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" {} (\"TUE, 1 JUL 2025 08:00:00 +0000\" \
         \"ORIGINALE\" ((\"CARLA\" NIL \"CARLA\" \"COMUNE.ESEMPIO.PU.IT\"))",
        inner.len()
    );
    assert!(line.contains(&wanted), "{line}\nwanted {wanted}");
    assert!(
        line.contains("(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 18 1"),
        "{line}"
    );

    let found = client.command("SEARCH SUBJECT \"Fwd: Originale\"").await;
    assert_eq!(found.ok().search(), [1]);
    let found = client.command("SEARCH BODY \"Testo originale\"").await;
    assert_eq!(found.ok().search(), [1]);
    client.logout().await;
}

// --- STORE, COPY, MOVE, EXPUNGE --------------------------------------------

/// RFC 9051 §6.4.6 (STORE, .SILENT, keywords), §6.4.9 (UID STORE answers
/// with UIDs), RFC 7162 §3.1.3 (UNCHANGEDSINCE and MODIFIED).
async fn store_flags(config: &TestConfig) {
    let (_server, _dns) = started(config, &[]).await;
    let mut client = login(config.listeners.imap, ANNA).await;
    let mut uids = Vec::new();
    for n in 1..=3 {
        uids.push(
            append(
                &mut client,
                "INBOX",
                "",
                &message(ANNA, &format!("m{n}"), "x"),
            )
            .await,
        );
    }
    client.command("SELECT INBOX").await.ok();
    let store = async |client: &mut ImapClient, command: &str, seq: u32| -> Vec<String> {
        let response = client.command(command).await;
        let mut flags = flags_in(&fetched(response.ok(), seq));
        // What STORE changes; \Recent is no flag a client sets.
        flags.retain(|flag| flag != "\\Recent");
        flags.sort();
        flags
    };
    assert_eq!(
        store(&mut client, "STORE 1 +FLAGS (\\Flagged)", 1).await,
        ["\\Flagged"]
    );
    assert!(
        store(&mut client, "STORE 1 -FLAGS (\\Flagged)", 1)
            .await
            .is_empty()
    );
    assert_eq!(
        store(&mut client, "STORE 1 FLAGS (\\Seen \\Answered)", 1).await,
        ["\\Answered", "\\Seen"]
    );
    let silent = client.command("STORE 1:2 +FLAGS.SILENT (\\Draft)").await;
    silent
        .ok()
        .assert_none("* 1 FETCH")
        .assert_none("* 2 FETCH");
    let both = client.command("FETCH 1:2 FLAGS").await;
    both.ok();
    let mut first = flags_in(&fetched(&both, 1));
    first.sort();
    assert_eq!(first, ["\\Answered", "\\Draft", "\\Recent", "\\Seen"]);
    assert_eq!(flags_in(&fetched(&both, 2)), ["\\Draft", "\\Recent"]);

    assert_eq!(
        store(&mut client, "STORE 3 +FLAGS ($Importante Lavoro)", 3).await,
        ["$Importante", "Lavoro"]
    );
    assert_eq!(
        store(&mut client, "STORE 3 -FLAGS (Lavoro)", 3).await,
        ["$Importante"]
    );
    assert!(store(&mut client, "STORE 3 FLAGS ()", 3).await.is_empty());
    let by_uid = client
        .command(&format!("UID STORE {} +FLAGS (\\Flagged)", uids[1]))
        .await;
    let line = fetched(by_uid.ok(), 2);
    assert!(line.contains(&format!("UID {}", uids[1])), "{line}");

    let before = client.command("FETCH 1 (MODSEQ)").await;
    let m1 = number_after(&fetched(before.ok(), 1), "MODSEQ (");
    let changed = client
        .command(&format!("STORE 1 (UNCHANGEDSINCE {m1}) +FLAGS (\\Flagged)"))
        .await;
    let line = fetched(changed.ok(), 1);
    assert!(number_after(&line, "MODSEQ (") > m1, "{line}");
    let refused = client
        .command(&format!("STORE 1 (UNCHANGEDSINCE {m1}) -FLAGS (\\Flagged)"))
        .await;
    refused.ok_with("MODIFIED 1");
    refused.assert_none("* 1 FETCH (FLAGS ()");
    let refused = client
        .command(&format!(
            "UID STORE {} (UNCHANGEDSINCE {m1}) -FLAGS (\\Flagged)",
            uids[0]
        ))
        .await;
    refused.ok_with(&format!("MODIFIED {}", uids[0]));
    // UNCHANGEDSINCE 0 always fails (RFC 7162 §3.1.3).
    let zero = client
        .command("STORE 2 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)")
        .await;
    zero.ok_with("MODIFIED 2");
    let now = client.command("FETCH 1 FLAGS").await;
    assert!(
        flags_in(&fetched(now.ok(), 1))
            .iter()
            .any(|f| f == "\\Flagged"),
        "a refused STORE changed the flags"
    );

    // Several EXPUNGEs, applied in the order sent, leave what is left
    // (each renumbers the ones after it, §7.5.1).
    client
        .command("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
        .await
        .ok();
    let expunged = client.command("EXPUNGE").await;
    let mut numbered = uids.clone();
    // Each EXPUNGE, then the new RECENT count.
    for line in expunged
        .ok()
        .lines("* ")
        .iter()
        .filter(|l| !l.ends_with(" RECENT"))
    {
        let seq = line
            .strip_prefix("* ")
            .and_then(|rest| rest.strip_suffix(" EXPUNGE"))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("not an EXPUNGE: {line}"));
        assert!((1..=numbered.len()).contains(&seq), "{expunged:#?}");
        numbered.remove(seq - 1);
    }
    assert_eq!(numbered, [uids[1]], "{expunged:#?}");
    let left = client.command("UID FETCH 1:* (UID)").await;
    assert_eq!(left.ok().lines("* ").len(), 1, "{left:#?}");
    client.logout().await;
}

/// The UIDs of a `COPYUID uidvalidity source destination` code.
#[track_caller]
fn copyuid(text: &str) -> (u64, Vec<u32>, Vec<u32>) {
    let at = text
        .find("COPYUID ")
        .unwrap_or_else(|| panic!("no COPYUID in {text:?}"));
    let rest = &text[at + "COPYUID ".len()..];
    let rest = &rest[..rest.find(']').expect("code closed")];
    let parts: Vec<&str> = rest.split(' ').collect();
    assert_eq!(parts.len(), 3, "{text}");
    (
        parts[0].parse().expect("UIDVALIDITY"),
        expand_set(parts[1]),
        expand_set(parts[2]),
    )
}

/// RFC 9051 §6.4.7 (COPY), RFC 4315 §3 (COPYUID), RFC 6851 §3.3 and §4.3
/// (MOVE), §6.4.3 (EXPUNGE), RFC 4315 §2.1 (UID EXPUNGE), §6.4.1-2 (CLOSE
/// expunges silently, UNSELECT does not).
async fn copy_move_expunge_close(config: &TestConfig) {
    let (_server, _dns) = started(config, &[]).await;
    let mut client = login(config.listeners.imap, ANNA).await;
    let mut uids = Vec::new();
    for n in 1..=3 {
        uids.push(
            append(
                &mut client,
                "INBOX",
                "",
                &message(ANNA, &format!("m{n}"), "x"),
            )
            .await,
        );
    }
    let archive = status_of(&client.command("STATUS Archive (UIDVALIDITY)").await);
    let archive_validity = status_item(&archive, "UIDVALIDITY");
    client.command("SELECT INBOX").await.ok();
    client
        .command("STORE 1 +FLAGS.SILENT (\\Flagged)")
        .await
        .ok();

    let copied = client.command("COPY 1:2 Archive").await;
    copied.ok_with("COPYUID");
    let (validity, source, copies) = copyuid(&copied.tagged);
    assert_eq!(validity, archive_validity);
    assert_eq!(source, uids[..2]);
    assert_eq!(copies.len(), 2);

    let moved = client.command("MOVE 3 Archive").await;
    moved.ok();
    let copy_line = moved
        .untagged
        .iter()
        .position(|l| l.starts_with("* OK [COPYUID "))
        .unwrap_or_else(|| panic!("no untagged COPYUID: {moved:#?}"));
    let (validity, source, moved_to) = copyuid(&moved.untagged[copy_line]);
    assert_eq!((validity, source), (archive_validity, vec![uids[2]]));
    assert_eq!(moved_to.len(), 1);
    let expunge_line = moved
        .untagged
        .iter()
        .position(|l| l == "* 3 EXPUNGE")
        .unwrap_or_else(|| panic!("no EXPUNGE: {moved:#?}"));
    assert!(
        copy_line < expunge_line,
        "COPYUID after EXPUNGE: {moved:#?}"
    );

    client.command("COPY 1 Inesistente").await.no("TRYCREATE");
    client.command("MOVE 1 Inesistente").await.no("TRYCREATE");

    client
        .command("STORE 1 +FLAGS.SILENT (\\Deleted)")
        .await
        .ok();
    let expunged = client.command("EXPUNGE").await;
    expunged.ok().assert_has("* 1 EXPUNGE");
    let expunges = expunged.untagged.iter().filter(|l| l.ends_with(" EXPUNGE"));
    assert_eq!(expunges.count(), 1, "{expunged:#?}");
    let left = client.command("UID FETCH 1:* (UID)").await;
    assert_eq!(left.ok().lines("* ").len(), 1, "{left:#?}");
    let line = fetched(&left, 1);
    assert!(line.contains(&format!("UID {}", uids[1])), "{line}");
    // UID EXPUNGE removes only messages marked \Deleted (RFC 4315 §2.1).
    let kept = client.command(&format!("UID EXPUNGE {}", uids[1])).await;
    kept.ok().assert_none("* 1 EXPUNGE");
    client.command("CHECK").await.ok();

    let selected = client.command("SELECT Archive").await;
    selected.ok().assert_has("* 3 EXISTS");
    // COPY keeps the flags (§6.4.7).
    let flags = client.command("FETCH 1 FLAGS").await;
    let flags = flags_in(&fetched(flags.ok(), 1));
    assert!(flags.iter().any(|f| f == "\\Flagged"), "{flags:?}");
    client
        .command("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
        .await
        .ok();
    let one = client.command(&format!("UID EXPUNGE {}", copies[1])).await;
    one.ok().assert_has("* 2 EXPUNGE").assert_has("* 2 RECENT");
    assert_eq!(one.lines("* ").len(), 2, "{one:#?}");
    let unselected = client.command("UNSELECT").await;
    unselected.ok().assert_none("* ");
    let again = client.command("SELECT Archive").await;
    again.ok().assert_has("* 2 EXISTS");
    let closed = client.command("CLOSE").await;
    closed.ok().assert_none("* ");
    let status = status_of(&client.command("STATUS Archive (MESSAGES)").await);
    assert_eq!(status_item(&status, "MESSAGES"), 0, "{status}");
    client.command("FETCH 1 FLAGS").await.bad();
    // An empty mailbox: `1:*` by UID names nothing, and SEARCH finds nothing.
    client
        .command("SELECT Archive")
        .await
        .ok()
        .assert_has("* 0 EXISTS");
    client
        .command("UID FETCH 1:* FLAGS")
        .await
        .ok()
        .assert_none("* ");
    assert!(client.command("SEARCH ALL").await.ok().search().is_empty());
    client.logout().await;
}

// --- SEARCH ----------------------------------------------------------------

/// RFC 9051 §6.4.4 (criteria, CHARSET, BADCHARSET), RFC 4731 (ESEARCH
/// and SEARCH RETURN), RFC 7162 §3.1.5 (SEARCH MODSEQ), RFC 9051 §7.3.4
/// (an IMAP4rev2 client gets ESEARCH).
async fn search_criteria(config: &TestConfig) {
    let (_server, _dns) = started(config, &[]).await;
    let mut client = login(config.listeners.imap, ANNA).await;
    let first = format!(
        "From: Anna <{ANNA}>\r\nDate: Fri, 10 Jan 2025 09:00:00 +0000\r\nSubject: Bilancio 2025\r\nX-Priorita: alta\r\n\r\nIl bilancio preventivo.\r\n"
    );
    let second = format!(
        "From: Bruno <{BRUNO}>\r\nDate: Sat, 15 Mar 2025 09:00:00 +0000\r\nSubject: Verbale riunione\r\n\r\nVerbale della giunta.\r\n{}\r\n",
        "Punto all'ordine del giorno. ".repeat(100)
    );
    let third = format!(
        "From: Carla <{CARLA}>\r\nDate: Fri, 20 Jun 2025 09:00:00 +0000\r\nSubject: =?utf-8?q?Caff=C3=A8?=\r\n\r\nCi vediamo al bar.\r\n"
    );
    let mut uids: Vec<u32> = Vec::new();
    for (content, flags, date) in [
        (&first, "(\\Seen $Lavoro)", "10-Jan-2025 12:00:00 +0000"),
        (&second, "(\\Flagged)", "15-Mar-2025 12:00:00 +0000"),
        (&third, "(\\Deleted)", "20-Jun-2025 12:00:00 +0000"),
    ] {
        let appended = client
            .command(&format!(
                "APPEND INBOX {flags} \"{date}\" {{{}+}}\r\n{content}",
                content.len()
            ))
            .await;
        let code = appended.ok_with("APPENDUID").code().expect("code");
        uids.push(
            code.rsplit(' ')
                .next()
                .and_then(|u| u.parse().ok())
                .expect("a UID"),
        );
    }
    client.command("SELECT INBOX").await.ok();

    let cases: Vec<(String, Vec<u32>)> = vec![
        ("ALL".into(), vec![1, 2, 3]),
        ("SEEN".into(), vec![1]),
        ("UNSEEN".into(), vec![2, 3]),
        ("FLAGGED".into(), vec![2]),
        ("DELETED".into(), vec![3]),
        ("SUBJECT bilancio".into(), vec![1]),
        ("FROM bruno".into(), vec![2]),
        ("BODY giunta".into(), vec![2]),
        ("TEXT preventivo".into(), vec![1]),
        ("TEXT alta".into(), vec![1]),
        ("HEADER X-Priorita alta".into(), vec![1]),
        ("LARGER 2000".into(), vec![2]),
        ("SMALLER 2000".into(), vec![1, 3]),
        ("SINCE 1-Mar-2025".into(), vec![2, 3]),
        ("BEFORE 1-Mar-2025".into(), vec![1]),
        (format!("UID {}:{}", uids[1], uids[2]), vec![2, 3]),
        ("NOT SEEN".into(), vec![2, 3]),
        ("OR FLAGGED DELETED".into(), vec![2, 3]),
        ("SUBJECT nessuno".into(), vec![]),
        ("ON 15-Mar-2025".into(), vec![2]),
        ("SENTBEFORE 1-Feb-2025".into(), vec![1]),
        ("SENTSINCE 1-Jun-2025".into(), vec![3]),
        ("SENTON 15-Mar-2025".into(), vec![2]),
        ("KEYWORD $Lavoro".into(), vec![1]),
        ("UNKEYWORD $Lavoro".into(), vec![2, 3]),
        ("UNDELETED UNSEEN".into(), vec![2]),
        // A range may be written backwards (§9).
        (format!("UID {}:{}", uids[2], uids[0]), vec![1, 2, 3]),
        ("2:3 FLAGGED".into(), vec![2]),
    ];
    for (criteria, wanted) in &cases {
        let response = client.command(&format!("SEARCH {criteria}")).await;
        assert_eq!(
            &response.ok().search(),
            wanted,
            "SEARCH {criteria}: {response:#?}"
        );
    }
    let utf8 = client
        .command_bytes("SEARCH CHARSET UTF-8 SUBJECT {6}\r\ncaffè".as_bytes())
        .await;
    assert_eq!(utf8.ok().search(), [3], "{utf8:#?}");
    client
        .command("SEARCH CHARSET X-NESSUNO SUBJECT caffe")
        .await
        .no("BADCHARSET");
    client.command("SEARCH SINCE 32-Jan-2025").await.bad();
    // SEARCHRES (RFC 5182), when offered: SAVE alone answers nothing,
    // and `$` then names what was found.
    let capability = client.command("CAPABILITY").await;
    if capability.ok().line("* CAPABILITY ").contains(" SEARCHRES") {
        let saved = client.command("SEARCH RETURN (SAVE) FLAGGED").await;
        saved.ok().assert_none("* ESEARCH").assert_none("* SEARCH");
        let recalled = client.command("FETCH $ (UID)").await;
        assert_eq!(recalled.ok().lines("* ").len(), 1, "{recalled:#?}");
        let line = fetched(&recalled, 2);
        assert_eq!(number_after(&line, "UID "), u64::from(uids[1]));
    }
    let by_uid = client.command("UID SEARCH FLAGGED").await;
    assert_eq!(by_uid.ok().search(), [uids[1]]);

    let esearch = client
        .command("SEARCH RETURN (MIN MAX COUNT ALL) ALL")
        .await;
    let tag = esearch.tag.clone();
    let line = esearch.ok().line("* ESEARCH").to_string();
    esearch.assert_none("* SEARCH");
    assert!(
        line.starts_with(&format!("* ESEARCH (TAG \"{tag}\")")),
        "{line}"
    );
    assert_eq!(number_after(&line, " MIN "), 1, "{line}");
    assert_eq!(number_after(&line, " MAX "), 3, "{line}");
    assert_eq!(number_after(&line, " COUNT "), 3, "{line}");
    // The order of the return data is free (RFC 4731 §3.1).
    assert!(
        line.contains(" ALL 1:3 ") || line.ends_with(" ALL 1:3"),
        "{line}"
    );
    // RETURN () means RETURN (ALL) (RFC 4731 §3.1).
    let empty = client.command("UID SEARCH RETURN () FLAGGED").await;
    let line = empty.ok().line("* ESEARCH").to_string();
    assert!(line.ends_with(&format!(" UID ALL {}", uids[1])), "{line}");
    let counted = client.command("UID SEARCH RETURN (COUNT) UNSEEN").await;
    let line = counted.ok().line("* ESEARCH").to_string();
    assert!(line.contains(") UID COUNT 2"), "{line}");

    client.command("STORE 2 +FLAGS (\\Answered)").await.ok();
    let marked = client.command("FETCH 2 (MODSEQ)").await;
    let modseq = number_after(&fetched(marked.ok(), 2), "MODSEQ (");
    let by_modseq = client.command(&format!("SEARCH MODSEQ {modseq}")).await;
    by_modseq.ok();
    assert_eq!(by_modseq.search(), [2]);
    let line = by_modseq.line("* SEARCH");
    assert_eq!(number_after(line, "(MODSEQ "), modseq, "{line}");
    client.logout().await;

    let mut rev2 = login(config.listeners.imap, ANNA).await;
    rev2.command("ENABLE IMAP4rev2").await.ok();
    let selected = rev2.command("SELECT INBOX").await;
    selected
        .ok()
        .assert_none("* 0 RECENT")
        .assert_none("* OK [UNSEEN");
    let list = selected.line("* LIST (");
    assert!(
        list.ends_with(" INBOX") || list.ends_with(" \"INBOX\""),
        "{list}"
    );
    let flagged = rev2.command("SEARCH FLAGGED").await;
    let tag = flagged.tag.clone();
    flagged.ok().assert_none("* SEARCH");
    assert_eq!(
        flagged.line("* ESEARCH"),
        format!("* ESEARCH (TAG \"{tag}\") ALL 2")
    );
    let none = rev2.command("SEARCH SUBJECT nessuno").await;
    let tag = none.tag.clone();
    none.ok().assert_has(&format!("* ESEARCH (TAG \"{tag}\")"));
    rev2.logout().await;
}

// --- CONDSTORE and QRESYNC -------------------------------------------------

/// RFC 7162 §3.1.4.1 (FETCH CHANGEDSINCE), §3.2.5.1 (SELECT with QRESYNC:
/// VANISHED (EARLIER) and changed flags), §3.2.10 (VANISHED instead of
/// EXPUNGE once QRESYNC is enabled).
async fn condstore_and_qresync(config: &TestConfig) {
    let (_server, _dns) = started(config, &[]).await;
    let mut client = login(config.listeners.imap, ANNA).await;
    let mut uids = Vec::new();
    for n in 1..=3 {
        uids.push(
            append(
                &mut client,
                "INBOX",
                "",
                &message(ANNA, &format!("m{n}"), "x"),
            )
            .await,
        );
    }
    client.command("ENABLE QRESYNC").await.ok();
    let selected = client.command("SELECT INBOX").await;
    let validity = code_value(selected.ok(), "UIDVALIDITY");
    let since = code_value(&selected, "HIGHESTMODSEQ");

    client.command("STORE 1 +FLAGS (\\Seen)").await.ok();
    let changed = client
        .command(&format!("FETCH 1:* (FLAGS) (CHANGEDSINCE {since})"))
        .await;
    changed.ok();
    let lines = changed.lines("* ");
    assert_eq!(lines.len(), 1, "{changed:#?}");
    let line = fetched(&changed, 1);
    assert!(line.contains("MODSEQ ("), "{line}");
    assert!(flags_in(&line).iter().any(|f| f == "\\Seen"), "{line}");

    client
        .command("STORE 2 +FLAGS.SILENT (\\Deleted)")
        .await
        .ok();
    let expunged = client.command("EXPUNGE").await;
    expunged.ok().assert_none("* 2 EXPUNGE");
    expunged.assert_has(&format!("* VANISHED {}", uids[1]));
    client.logout().await;

    let mut client = login(config.listeners.imap, ANNA).await;
    client.command("ENABLE QRESYNC").await.ok();
    let resynced = client
        .command(&format!("SELECT INBOX (QRESYNC ({validity} {since}))"))
        .await;
    resynced.ok().assert_has("* 2 EXISTS");
    resynced.assert_has(&format!("* VANISHED (EARLIER) {}", uids[1]));
    let line = fetched(&resynced, 1);
    assert!(line.contains(&format!("UID {}", uids[0])), "{line}");
    assert!(flags_in(&line).iter().any(|f| f == "\\Seen"), "{line}");
    assert!(line.contains("MODSEQ ("), "{line}");
    resynced.assert_none("* 2 FETCH");

    // UID FETCH with VANISHED reports the same (§3.2.6).
    let vanished = client
        .command(&format!(
            "UID FETCH 1:* (FLAGS) (CHANGEDSINCE {since} VANISHED)"
        ))
        .await;
    vanished.ok();
    vanished.assert_has(&format!("* VANISHED (EARLIER) {}", uids[1]));
    let line = fetched(&vanished, 1);
    assert!(line.contains(&format!("UID {}", uids[0])), "{line}");
    vanished.assert_none("* 2 FETCH");

    // SELECT (CONDSTORE) in a session without it: STORE then answers with
    // MODSEQ (RFC 7162 §3.1.8, §3.1.3).
    let mut plain = login(config.listeners.imap, ANNA).await;
    let selected = plain.command("SELECT INBOX (CONDSTORE)").await;
    assert!(code_value(selected.ok(), "HIGHESTMODSEQ") > 0);
    let stored = plain.command("STORE 1 +FLAGS (\\Answered)").await;
    let line = fetched(stored.ok(), 1);
    assert!(line.contains("MODSEQ ("), "{line}");
    plain.logout().await;

    // With a stale UIDVALIDITY nothing is resynchronized (§3.2.5.1).
    let stale = client
        .command(&format!(
            "SELECT INBOX (QRESYNC ({} {since}))",
            validity + 1
        ))
        .await;
    stale.assert_has("* OK [CLOSED] Previous mailbox closed");
    stale
        .ok()
        .assert_none("* VANISHED")
        .assert_none("* 1 FETCH");
    // MOVE reports VANISHED too once QRESYNC is on (RFC 6851 §4.3).
    let moved = client.command("MOVE 2 Archive").await;
    moved.ok().assert_none("* 2 EXPUNGE");
    moved.assert_has(&format!("* VANISHED {}", uids[2]));
    assert_eq!(moved.lines("* OK [COPYUID ").len(), 1, "{moved:#?}");
    client.logout().await;
}

// --- mailbox names -------------------------------------------------------

/// RFC 3501 §5.1.3 (modified UTF-7 for an IMAP4rev1 client), RFC 6855 §3
/// (UTF-8 after ENABLE UTF8=ACCEPT): one mailbox, two spellings.
async fn mailbox_names_in_utf7_and_utf8(config: &TestConfig) {
    let (_server, _dns) = started(config, &[]).await;
    let mut rev1 = login(config.listeners.imap, ANNA).await;
    let mut utf8 = login(config.listeners.imap, ANNA).await;
    utf8.command("ENABLE UTF8=ACCEPT").await.ok();

    rev1.command("CREATE \"Caff&AOg-\"").await.ok();
    rev1.command("CREATE \"Soci &- Amici\"").await.ok();
    utf8.command("CREATE \"Città\"").await.ok();
    let eight_bit = rev1.command("CREATE \"Perché\"").await;
    assert_ne!(
        eight_bit.status(),
        "OK",
        "8-bit name from an IMAP4rev1 client: {eight_bit:#?}"
    );

    let mut seen_by_rev1 = list_names(rev1.command("LIST \"\" \"*\"").await.ok());
    seen_by_rev1.retain(|n| {
        n.starts_with("Caff")
            || n.starts_with("Citt")
            || n.starts_with("Soci")
            || n.starts_with("Perch")
    });
    seen_by_rev1.sort();
    assert_eq!(seen_by_rev1, ["Caff&AOg-", "Citt&AOA-", "Soci &- Amici"]);
    let mut seen_by_utf8 = list_names(utf8.command("LIST \"\" \"*\"").await.ok());
    seen_by_utf8.retain(|n| {
        n.starts_with("Caff")
            || n.starts_with("Citt")
            || n.starts_with("Soci")
            || n.starts_with("Perch")
    });
    seen_by_utf8.sort();
    assert_eq!(seen_by_utf8, ["Caffè", "Città", "Soci & Amici"]);

    rev1.command("SELECT \"Citt&AOA-\"").await.ok();
    utf8.command("SELECT \"Caffè\"").await.ok();
    let status = status_of(&rev1.command("STATUS \"Soci &- Amici\" (MESSAGES)").await);
    assert_eq!(status_item(&status, "MESSAGES"), 0);
    // APPEND UTF8 (~{n}) takes an internationalized message (RFC 6855 §4).
    let international =
        "From: Zoë <zoe@esempio.it>\r\nSubject: Perché così\r\n\r\nCiò è tutto.\r\n";
    let appended = utf8
        .command(&format!(
            "APPEND \"Città\" UTF8 (~{{{}+}}\r\n{international})",
            international.len()
        ))
        .await;
    appended.ok();
    rev1.command("SELECT \"Citt&AOA-\"").await.ok();
    let body = rev1.command("FETCH 1 BODY.PEEK[]").await;
    let line = fetched(body.ok(), 1);
    assert_eq!(fetch_value(&line, "BODY[]").as_deref(), Some(international));
    rev1.logout().await;
    utf8.logout().await;
}

// --- IDLE ------------------------------------------------------------------

/// RFC 2177 §3, RFC 9051 §6.3.13: a delivery reaches an idling client as
/// EXISTS within a second; DONE ends IDLE with OK.
async fn idle_reports_new_mail(config: &TestConfig) {
    let (_server, _dns) = started(config, &[]).await;
    let mut client = login(config.listeners.imap, ANNA).await;
    client
        .command("SELECT INBOX")
        .await
        .ok()
        .assert_has("* 0 EXISTS");
    let tag = client.tag();
    client.send_line(&format!("{tag} IDLE")).await;
    let go_ahead = client.read_line().await;
    assert!(go_ahead.starts_with("+ "), "{go_ahead:?}");

    deliver(config, ANNA, &message(ANNA, "in arrivo", "Nuova posta.")).await;
    let limit = Duration::from_secs(1);
    let mut seen = Vec::new();
    while !seen.iter().any(|l| l == "* 1 EXISTS") {
        match client.line_within(limit).await {
            Some(line) => seen.push(line),
            None => panic!("no * 1 EXISTS within {limit:?} of the delivery; got {seen:?}"),
        }
    }
    client.send_line("DONE").await;
    client.read_response(&tag, Vec::new()).await.ok();
    let subject = client
        .command("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        .await;
    let line = fetched(subject.ok(), 1);
    assert!(line.contains("Subject: in arrivo"), "{line}");
    client.logout().await;
}
