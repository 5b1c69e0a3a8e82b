//! What a mailbox tells every session that has it selected, as Dovecot
//! does: its keywords in FLAGS and PERMANENTFLAGS (RFC 9051 §7.3.5),
//! `\Recent` given to one session only (RFC 3501 §2.3.2), CONDSTORE turned
//! on by the commands that use it (RFC 7162 §3.1), SENT* searches in the
//! sender's time zone (RFC 3501 §6.4.4), and a folder deleted and created
//! again getting a new UIDVALIDITY (RFC 9051 §2.3.1.1), mailbox names of
//! any ATOM-CHAR and LIST patterns that match nothing (RFC 9051 §5.1,
//! §6.3.9), and subscriptions kept apart from mailboxes (RFC 9051 §6.3.7,
//! RFC 3501 §6.3.9, RFC 5258 §3), and a COPY or MOVE of messages another
//! session expunged failing whole (RFC 9051 §7.1, EXPUNGEISSUED).
//!
//! Everything runs on SQLite and on PostgreSQL.

use postino_tests::dns::DnsStub;
use postino_tests::imap::{
    ImapClient, Response, append, code_value, flags_in, imap_site, login, message,
};
use postino_tests::smtp::{ANNA, BRUNO};
use postino_tests::{Server, TestConfig, on_both_backends};

on_both_backends!(
    keywords_are_announced_before_they_are_shown,
    recent_goes_to_one_session,
    condstore_is_turned_on_by_its_commands,
    sent_dates_are_the_senders_days,
    a_folder_created_again_gets_a_new_uidvalidity,
    names_and_patterns_as_dovecot_has_them,
    subscriptions_outlive_their_mailboxes,
    a_copy_of_messages_expunged_elsewhere_copies_nothing,
);

async fn started(config: &TestConfig) -> (Server, DnsStub) {
    let dns = imap_site(config, &[], &[ANNA, BRUNO]).await;
    (Server::start(config).await, dns)
}

/// The flags of an untagged `* FLAGS (...)` line, and of PERMANENTFLAGS.
#[track_caller]
fn announced(response: &Response) -> (Vec<String>, Vec<String>) {
    let flags = flags_in(response.line("* FLAGS ("));
    let permanent = response.line("* OK [PERMANENTFLAGS (");
    let open = permanent.find('(').unwrap_or_default() + 1;
    let close = permanent[open..].find(')').unwrap_or_default() + open;
    let permanent = permanent[open..close]
        .split_whitespace()
        .map(str::to_string)
        .collect();
    (flags, permanent)
}

/// The position of the first untagged line starting with `prefix`.
#[track_caller]
fn position(response: &Response, prefix: &str) -> usize {
    response
        .untagged
        .iter()
        .position(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in {response:#?}"))
}

async fn keywords_are_announced_before_they_are_shown(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let mut anna = login(config.listeners.imap, ANNA).await;
    let mut other = login(config.listeners.imap, ANNA).await;
    append(
        &mut anna,
        "INBOX",
        "($Label1)",
        &message(ANNA, "uno", "primo"),
    )
    .await;

    // SELECT lists the keywords the mailbox has, settable ones before \*.
    let selected = anna.command("SELECT INBOX").await;
    selected.ok();
    let (flags, permanent) = announced(&selected);
    assert!(flags.contains(&"$Label1".to_string()), "{flags:?}");
    assert_eq!(permanent.last().map(String::as_str), Some("\\*"));
    assert!(permanent.contains(&"$Label1".to_string()), "{permanent:?}");
    other.command("SELECT INBOX").await.ok();

    // A new keyword: FLAGS comes before the FETCH that shows it, to the
    // session that stored it and, at its next command, to the other.
    let stored = anna.command("STORE 1 +FLAGS (Urgente)").await;
    stored.ok();
    let (flags, permanent) = announced(&stored);
    assert!(flags.contains(&"Urgente".to_string()), "{flags:?}");
    assert!(permanent.contains(&"Urgente".to_string()), "{permanent:?}");
    assert!(position(&stored, "* FLAGS (") < position(&stored, "* 1 FETCH ("));
    let noop = other.command("NOOP").await;
    noop.ok();
    let (flags, _) = announced(&noop);
    assert!(flags.contains(&"Urgente".to_string()), "{flags:?}");
    assert!(position(&noop, "* FLAGS (") < position(&noop, "* 1 FETCH ("));
    // Once told, not again.
    anna.command("STORE 1 -FLAGS (Urgente)").await.ok();
    anna.command("STORE 1 +FLAGS (urgente)")
        .await
        .ok()
        .assert_none("* FLAGS");

    // A keyword arriving by COPY and by APPEND is announced with it.
    anna.command("CREATE Pratiche").await.ok();
    append(
        &mut anna,
        "Pratiche",
        "(Protocollo)",
        &message(ANNA, "due", "x"),
    )
    .await;
    anna.command("SELECT Pratiche").await.ok();
    anna.command("COPY 1 INBOX").await.ok();
    let noop = other.command("NOOP").await;
    let (flags, _) = announced(noop.ok());
    for keyword in ["$Label1", "Urgente", "Protocollo"] {
        assert!(flags.contains(&keyword.to_string()), "{keyword}: {flags:?}");
    }
    assert!(position(&noop, "* FLAGS (") < position(&noop, "* 2 EXISTS"));
    anna.logout().await;
    other.logout().await;
}

async fn recent_goes_to_one_session(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let mut anna = login(config.listeners.imap, ANNA).await;
    for n in 0..2 {
        append(
            &mut anna,
            "INBOX",
            "",
            &message(ANNA, &format!("m{n}"), "x"),
        )
        .await;
    }
    let status = anna.command("STATUS INBOX (RECENT)").await;
    status.ok().assert_has("* STATUS INBOX (RECENT 2)");

    // EXAMINE shows them without taking them; SELECT takes them.
    let examined = anna.command("EXAMINE INBOX").await;
    examined.ok().assert_has("* 2 RECENT");
    assert_eq!(anna.command("SEARCH RECENT").await.ok().search(), [1, 2]);
    let selected = anna.command("SELECT INBOX").await;
    selected.ok().assert_has("* 2 RECENT");
    let fetched = anna.command("FETCH 1 FLAGS").await;
    let flags = flags_in(fetched.ok().line("* 1 FETCH"));
    assert!(flags.contains(&"\\Recent".to_string()), "{flags:?}");
    assert_eq!(anna.command("SEARCH RECENT").await.ok().search(), [1, 2]);
    assert_eq!(anna.command("SEARCH NEW").await.ok().search(), [1, 2]);
    anna.command("STORE 1 +FLAGS (\\Seen)").await.ok();
    assert_eq!(anna.command("SEARCH NEW").await.ok().search(), [2]);
    assert!(anna.command("SEARCH OLD").await.ok().search().is_empty());

    // Another session finds them taken.
    let mut other = login(config.listeners.imap, ANNA).await;
    other
        .command("STATUS INBOX (RECENT)")
        .await
        .ok()
        .assert_has("* STATUS INBOX (RECENT 0)");
    let selected = other.command("SELECT INBOX").await;
    selected.ok().assert_has("* 0 RECENT");
    assert!(
        other
            .command("SEARCH RECENT")
            .await
            .ok()
            .search()
            .is_empty()
    );
    assert_eq!(other.command("SEARCH OLD").await.ok().search(), [1, 2]);

    // New mail goes to the first session that hears of it.
    let mut third = login(config.listeners.imap, ANNA).await;
    append(&mut third, "INBOX", "", &message(ANNA, "m3", "x")).await;
    let noop = anna.command("NOOP").await;
    noop.ok().assert_has("* 3 EXISTS").assert_has("* 3 RECENT");
    let noop = other.command("NOOP").await;
    noop.ok().assert_has("* 3 EXISTS").assert_none("* 0 RECENT");
    assert_eq!(anna.command("SEARCH RECENT").await.ok().search(), [1, 2, 3]);

    // IMAP4rev2 has no \Recent.
    third.command("ENABLE IMAP4rev2").await.ok();
    append(&mut third, "INBOX", "", &message(ANNA, "m4", "x")).await;
    let selected = third.command("SELECT INBOX").await;
    selected
        .ok()
        .assert_none("* 4 RECENT")
        .assert_none("* 1 RECENT");
    anna.logout().await;
    other.logout().await;
    third.logout().await;
}

async fn condstore_is_turned_on_by_its_commands(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let mut anna = login(config.listeners.imap, ANNA).await;
    append(&mut anna, "INBOX", "", &message(ANNA, "uno", "x")).await;
    append(&mut anna, "INBOX", "", &message(ANNA, "due", "x")).await;
    let checks: [(&str, &str); 3] = [
        ("FETCH 1 (MODSEQ)", "* 1 FETCH (MODSEQ ("),
        ("SEARCH MODSEQ 1", "* SEARCH 1 2 (MODSEQ "),
        (
            "UID STORE 1 (UNCHANGEDSINCE 1000) +FLAGS (\\Flagged)",
            "* 1 FETCH (",
        ),
    ];
    for (command, answer) in checks {
        let mut client = login(config.listeners.imap, ANNA).await;
        let selected = client.command("SELECT INBOX").await;
        let highest = code_value(selected.ok(), "HIGHESTMODSEQ");
        let enabling = client.command(command).await;
        enabling.ok();
        assert!(
            enabling.has(&format!("* OK [HIGHESTMODSEQ {highest}] Highest")),
            "{command}: {enabling:#?}"
        );
        assert!(
            enabling.untagged.iter().any(|l| l.starts_with(answer)),
            "{command}: {enabling:#?}"
        );
        // From then on flag changes come with their MODSEQ, SILENT too.
        let stored = client.command("STORE 2 +FLAGS (\\Seen)").await;
        let line = stored.ok().line("* 2 FETCH (");
        assert!(line.contains("MODSEQ ("), "{command}: {line}");
        let silent = client.command("STORE 2 -FLAGS.SILENT (\\Seen)").await;
        let line = silent.ok().line("* 2 FETCH (");
        assert!(line.starts_with("* 2 FETCH (MODSEQ ("), "{command}: {line}");
        // The second enabling command says nothing more.
        client
            .command("FETCH 1 (MODSEQ)")
            .await
            .ok()
            .assert_none("* OK [HIGHESTMODSEQ");
        client.logout().await;
    }
    anna.logout().await;
}

/// Appends a message whose `Date:` header is `date`.
async fn append_dated(client: &mut ImapClient, subject: &str, date: &str) -> u32 {
    let content = format!("Date: {date}\r\n{}", message(ANNA, subject, "x"));
    append(client, "INBOX", "", &content).await
}

async fn sent_dates_are_the_senders_days(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let mut anna = login(config.listeners.imap, ANNA).await;
    // Late on 1 January where written: 2 January in UTC.
    append_dated(&mut anna, "ovest", "Mon, 01 Jan 2024 23:30:00 -0800").await;
    // Early on 2 January where written: 1 January in UTC.
    append_dated(&mut anna, "est", "Tue, 02 Jan 2024 08:00:00 +1200").await;
    append(&mut anna, "INBOX", "", &message(ANNA, "senza data", "x")).await;
    anna.command("SELECT INBOX").await.ok();
    let search = async |client: &mut ImapClient, criteria: &str| {
        client
            .command(&format!("SEARCH {criteria}"))
            .await
            .ok()
            .search()
    };
    assert_eq!(search(&mut anna, "SENTON 1-Jan-2024").await, [1]);
    assert_eq!(search(&mut anna, "SENTON 2-Jan-2024").await, [2]);
    assert_eq!(search(&mut anna, "SENTSINCE 2-Jan-2024").await, [2]);
    // Undated mail counts as sent on the first day of 1970, as in Dovecot.
    assert_eq!(search(&mut anna, "SENTBEFORE 2-Jan-2024").await, [1, 3]);
    assert_eq!(search(&mut anna, "SENTON 1-Jan-1970").await, [3]);
    anna.logout().await;
}

async fn a_folder_created_again_gets_a_new_uidvalidity(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let mut anna = login(config.listeners.imap, ANNA).await;
    let mut previous = 0;
    for round in 0..3 {
        anna.command("CREATE Delibere").await.ok();
        append(&mut anna, "Delibere", "", &message(ANNA, "atto", "x")).await;
        let selected = anna.command("SELECT Delibere").await;
        let uidvalidity = code_value(selected.ok(), "UIDVALIDITY");
        assert!(
            uidvalidity > previous,
            "round {round}: {uidvalidity} after {previous}"
        );
        previous = uidvalidity;
        anna.command("UNSELECT").await.ok();
        anna.command("DELETE Delibere").await.ok();
    }
    anna.logout().await;
}

async fn names_and_patterns_as_dovecot_has_them(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let mut anna = login(config.listeners.imap, ANNA).await;
    let odd = "!#$&-'+,-.:;<=>?@^_|}~[0123";
    // As an atom and quoted; the wildcards are allowed in names too.
    anna.command(&format!("CREATE {odd}")).await.ok();
    anna.command("CREATE \"Atti (2026)\"").await.ok();
    anna.command("CREATE \"50% * sconto\"").await.ok();
    let listed = anna.command("LIST \"\" *").await;
    listed.ok();
    for name in [
        " !#$&-'+,-.:;<=>?@^_|}~[0123",
        "\"Atti (2026)\"",
        "\"50% * sconto\"",
    ] {
        assert!(
            listed.untagged.iter().any(|l| l.ends_with(name)),
            "{name}: {listed:#?}"
        );
    }
    // A pattern no name can match is answered OK, with nothing.
    let nothing = anna.command("LIST \"\" \"&Jjo\"").await;
    nothing.ok().assert_none("* LIST");
    let nothing = anna.command("LSUB \"\" \"&Jjo\"").await;
    nothing.ok().assert_none("* LSUB");
    // Selecting another mailbox says where the first one's responses end.
    anna.command("SELECT INBOX").await.ok();
    let second = anna.command("SELECT \"Atti (2026)\"").await;
    second.ok();
    assert_eq!(
        second.untagged.first().map(String::as_str),
        Some("* OK [CLOSED] Previous mailbox closed")
    );
    // `.` and `..` levels are refused, wherever a name is taken.
    for command in [
        "CREATE Atti/../Delibere",
        "CREATE ..",
        "RENAME \"Atti (2026)\" Atti/./2026",
        "APPEND ../Atti {1+}\r\nx",
    ] {
        anna.command(command).await.no("CANNOT");
    }
    // A name is one mailbox however its accents are composed: `Attività`
    // with U+0300 after the `a` is `Attività` with U+00E0.
    anna.command("CREATE Attivita&AwA-").await.ok();
    anna.command("CREATE Attivit&AOA-")
        .await
        .no("ALREADYEXISTS");
    let message = message(ANNA, "atto", "x");
    let appended = anna
        .command(&format!(
            "APPEND Attivita&AwA- {{{}+}}\r\n{message}",
            message.len()
        ))
        .await;
    appended.ok();
    let listed = anna.command("LIST \"\" Attivit*").await;
    listed.ok();
    assert_eq!(
        listed.lines("* LIST"),
        ["* LIST (\\HasNoChildren) \"/\" Attivit&AOA-"]
    );
    anna.command("STATUS Attivit&AOA- (MESSAGES)")
        .await
        .ok()
        .assert_has("* STATUS Attivit&AOA- (MESSAGES 1)");
    anna.logout().await;
}

async fn subscriptions_outlive_their_mailboxes(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let mut anna = login(config.listeners.imap, ANNA).await;
    anna.command("CREATE Progetti/2026").await.ok();
    anna.command("CREATE Vecchia").await.ok();
    // CREATE subscribes to nothing; only a mailbox can be subscribed.
    let lsub = anna.command("LSUB \"\" \"Progetti*\"").await;
    lsub.ok().assert_none("* LSUB");
    anna.command("SUBSCRIBE Futura/Bozze")
        .await
        .no("NONEXISTENT");
    anna.command("CREATE Futura/Bozze").await.ok();
    anna.command("SUBSCRIBE Progetti/2026").await.ok();
    anna.command("SUBSCRIBE Vecchia").await.ok();
    anna.command("SUBSCRIBE Futura/Bozze").await.ok();
    anna.command("DELETE Futura/Bozze").await.ok();
    // LSUB with % shows the unsubscribed parents of subscribed children.
    let lsub = anna.command("LSUB \"\" %").await;
    lsub.ok()
        .assert_has("* LSUB (\\Noselect) \"/\" Progetti")
        .assert_has("* LSUB (\\Noselect) \"/\" Futura")
        .assert_has("* LSUB () \"/\" Vecchia");
    // A deleted mailbox stays subscribed, shown \NonExistent.
    anna.command("DELETE Vecchia").await.ok();
    let subscribed = anna.command("LIST (SUBSCRIBED) \"\" *").await;
    subscribed
        .ok()
        .assert_has("* LIST (\\Subscribed \\NonExistent) \"/\" Vecchia")
        .assert_has("* LIST (\\Subscribed \\NonExistent) \"/\" Futura/Bozze")
        .assert_has("* LIST (\\Subscribed \\HasNoChildren) \"/\" Progetti/2026")
        .assert_none("* LIST (\\HasChildren) \"/\" Progetti");
    // RECURSIVEMATCH: a parent of a subscribed child, with CHILDINFO.
    let recursive = anna
        .command("LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %")
        .await;
    recursive
        .ok()
        .assert_has("* LIST (\\HasChildren) \"/\" Progetti (CHILDINFO (\"SUBSCRIBED\"))");
    anna.command("UNSUBSCRIBE Vecchia").await.ok();
    let subscribed = anna.command("LIST (SUBSCRIBED) \"\" Vecchia").await;
    subscribed.ok().assert_none("* LIST");
    anna.logout().await;
}

async fn a_copy_of_messages_expunged_elsewhere_copies_nothing(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let mut anna = login(config.listeners.imap, ANNA).await;
    let mut other = login(config.listeners.imap, ANNA).await;
    for subject in ["uno", "due", "tre"] {
        append(&mut anna, "INBOX", "", &message(ANNA, subject, "x")).await;
    }
    anna.command("CREATE Archivio").await.ok();
    anna.command("SELECT INBOX").await.ok();
    other.command("SELECT INBOX").await.ok();
    other
        .command("STORE 2 +FLAGS.SILENT (\\Deleted)")
        .await
        .ok();
    other.command("EXPUNGE").await.ok();

    // Anna has not been told yet: message 2 is still hers to name. The
    // COPY fails whole, and she hears of the expunge with the NO.
    let refused = anna.command("COPY 1:3 Archivio").await;
    refused.no("EXPUNGEISSUED").assert_has("* 2 EXPUNGE");
    refused.assert_none("* OK [COPYUID");
    let status = other.command("STATUS Archivio (MESSAGES)").await;
    status.ok().assert_has("* STATUS Archivio (MESSAGES 0)");

    // So does a MOVE, by UID too.
    other
        .command("STORE 1 +FLAGS.SILENT (\\Deleted)")
        .await
        .ok();
    other.command("EXPUNGE").await.ok();
    anna.command("UID MOVE 1:3 Archivio")
        .await
        .no("EXPUNGEISSUED")
        .assert_has("* 1 EXPUNGE");
    let status = other.command("STATUS Archivio (MESSAGES)").await;
    status.ok().assert_has("* STATUS Archivio (MESSAGES 0)");

    // What is left copies.
    anna.command("COPY 1 Archivio").await.ok_with("COPYUID");
    anna.logout().await;
    other.logout().await;
}
