//! Shared mailboxes and IMAP ACLs (RFC 4314, RFC 2342), on SQLite and on
//! PostgreSQL: an office's role mailbox `protocollo@`, which has no login,
//! shared by the CLI with employees of its comune, each with their rights;
//! what each sees and may do over IMAP; rights given and taken back with
//! SETACL and DELETEACL, through raw commands and Python's imaplib; a
//! delivery to the shared INBOX waking an IDLE session of an employee;
//! quota charged to the owner; sending as the role mailbox, with its copy
//! in the role mailbox's Sent; and no right ever reaching another domain.
//! Debian's mbsync (isync, installed by `scripts/test`) syncs a shared
//! folder both ways.

use std::time::Duration;

use postino_tests::dns::DnsStub;
use postino_tests::imap::{ImapClient, imap_site, login};
use postino_tests::smtp::{ANNA, BRUNO, CARLA, PASSWORD, data, envelope, logged_in, message, send};
use postino_tests::{Server, TestConfig, on_both_backends, run_program};

on_both_backends!(
    a_role_mailbox_is_shared,
    rights_change_over_imap,
    mbsync_syncs_a_shared_folder
);

const PROTOCOLLO: &str = "protocollo@comune.esempio.pu.it";
const OUTSIDER: &str = "ugo@altro.esempio.it";

fn shared(folder: &str) -> String {
    format!("\"Condivise/{PROTOCOLLO}/{folder}\"")
}

async fn started(config: &TestConfig) -> (Server, DnsStub) {
    config.set("smtp", "allow_plaintext_auth = true");
    let dns = imap_site(config, &[], &[ANNA, BRUNO, CARLA]).await;
    config.cli(&["mailbox", "add", PROTOCOLLO], None).await.ok();
    config
        .cli(&["domain", "add", "altro.esempio.it"], None)
        .await
        .ok();
    config
        .cli(
            &["mailbox", "add", OUTSIDER, "--password-stdin"],
            Some(&format!("{PASSWORD}\n")),
        )
        .await
        .ok();
    (Server::start(config).await, dns)
}

async fn share(config: &TestConfig, user: &str, rights: &str, extra: &[&str]) {
    let mut args = vec!["mailbox", "share", PROTOCOLLO, user, "--rights", rights];
    args.extend(extra);
    config.cli(&args, None).await.ok();
}

/// The used bytes of a mailbox, from the CLI.
async fn used_bytes(config: &TestConfig, address: &str) -> i64 {
    let shown = config
        .cli(&["mailbox", "show", address, "--json"], None)
        .await
        .json();
    shown["used_bytes"].as_i64().expect("used_bytes")
}

async fn a_role_mailbox_is_shared(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let addr = config.listeners.imap;
    share(config, ANNA, "lrswite", &["--send-as"]).await;
    share(config, BRUNO, "lr", &[]).await;
    // A mailbox of another comune gets nothing, whatever is asked.
    let refused = config
        .cli(
            &["mailbox", "share", PROTOCOLLO, OUTSIDER, "--rights", "lr"],
            None,
        )
        .await;
    assert!(!refused.status.success(), "{refused:?}");
    assert!(
        refused.stderr.contains("only within its domain"),
        "{refused:?}"
    );
    let shares = config
        .cli(&["mailbox", "shares", PROTOCOLLO, "--json"], None)
        .await
        .json();
    assert_eq!(shares.as_array().map(Vec::len), Some(2), "{shares}");

    // The role mailbox cannot log in; Anna reaches it in her namespace.
    let mut direct = ImapClient::connect(addr).await;
    direct
        .command(&format!("LOGIN \"{PROTOCOLLO}\" \"{PASSWORD}\""))
        .await
        .no_any();
    let mut anna = login(addr, ANNA).await;
    anna.command("NAMESPACE")
        .await
        .assert_has("* NAMESPACE ((\"\" \"/\")) ((\"Condivise/\" \"/\")) NIL");
    let listed = anna.command("LIST \"\" \"*\"").await;
    listed
        .assert_has("* LIST (\\Noselect \\HasChildren) \"/\" Condivise")
        .assert_has(&format!(
            "* LIST (\\HasNoChildren) \"/\" Condivise/{PROTOCOLLO}/INBOX"
        ))
        .assert_has(&format!(
            "* LIST (\\HasNoChildren \\Sent) \"/\" Condivise/{PROTOCOLLO}/Sent"
        ));
    anna.command(&format!("MYRIGHTS {}", shared("INBOX")))
        .await
        .assert_has(&format!("* MYRIGHTS Condivise/{PROTOCOLLO}/INBOX lrswite"));
    // She may not see or change who else has rights.
    anna.command(&format!("GETACL {}", shared("INBOX")))
        .await
        .no("NOPERM");

    // She files a message in: the owner's quota pays for it.
    let before = (
        used_bytes(config, PROTOCOLLO).await,
        used_bytes(config, ANNA).await,
    );
    let note = message(ANNA, PROTOCOLLO, "pratica 12", "");
    anna.command(&format!(
        "APPEND {} (\\Seen) {{{}+}}\r\n{note}",
        shared("INBOX"),
        note.len()
    ))
    .await
    .ok_with("APPENDUID");
    assert_eq!(
        used_bytes(config, PROTOCOLLO).await,
        before.0 + note.len() as i64
    );
    assert_eq!(used_bytes(config, ANNA).await, before.1);
    // The owner's root, named by its address, holds what she filed.
    config
        .cli(&["mailbox", "quota", PROTOCOLLO, "1GB"], None)
        .await
        .ok();
    anna.command(&format!("GETQUOTAROOT {}", shared("INBOX")))
        .await
        .assert_has(&format!(
            "* QUOTAROOT Condivise/{PROTOCOLLO}/INBOX \"{PROTOCOLLO}\""
        ));
    let quota = anna.command(&format!("GETQUOTA \"{PROTOCOLLO}\"")).await;
    assert!(
        quota
            .line("* QUOTA")
            .starts_with(&format!("* QUOTA \"{PROTOCOLLO}\" (STORAGE 1 ")),
        "{quota:#?}"
    );
    let mut carla = login(addr, CARLA).await;
    carla
        .command(&format!("GETQUOTA \"{PROTOCOLLO}\""))
        .await
        .no("NONEXISTENT");

    // Bruno reads only: the mailbox is read-only for him and reading
    // marks nothing seen.
    let mut bruno = login(addr, BRUNO).await;
    let selected = bruno.command(&format!("SELECT {}", shared("INBOX"))).await;
    selected
        .ok_with("READ-ONLY")
        .assert_has("* OK [PERMANENTFLAGS ()] Read-only mailbox");
    bruno.command("FETCH 1 (BODY[])").await.ok();
    bruno
        .command("STORE 1 +FLAGS (\\Flagged)")
        .await
        .no("READ-ONLY");
    bruno
        .command(&format!("APPEND {} {{4+}}\r\ntest", shared("INBOX")))
        .await
        .no("NOPERM");
    bruno
        .command(&format!("CREATE {}", shared("INBOX/Sotto")))
        .await
        .no("NOPERM");

    // Anna's session shows her rights: no `k`, and flags but \Deleted
    // with `t` and \Seen with `s`.
    let selected = anna.command(&format!("SELECT {}", shared("INBOX"))).await;
    selected.ok_with("READ-WRITE");
    anna.command("STORE 1 -FLAGS (\\Seen)").await.ok();
    anna.command(&format!("CREATE {}", shared("Pratiche")))
        .await
        .no("NOPERM");

    // A delivery to the role mailbox wakes Bruno's IDLE on it.
    let tag = bruno.tag();
    bruno.send_line(&format!("{tag} IDLE")).await;
    assert!(bruno.read_line().await.starts_with("+ "));
    send(
        config,
        "esterno@esempio.org",
        &[PROTOCOLLO],
        &message("esterno@esempio.org", PROTOCOLLO, "istanza", ""),
        250,
    )
    .await;
    let mut woke = Vec::new();
    loop {
        let line = bruno
            .line_within(Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("no EXISTS during IDLE; got {woke:?}"));
        if line == "* 2 EXISTS" {
            break;
        }
        woke.push(line);
    }
    bruno.send_line("DONE").await;
    bruno.read_response(&tag, Vec::new()).await.ok();

    // Carla was given nothing: the mailbox does not exist for her.
    carla
        .command("LIST \"\" \"*\"")
        .await
        .assert_none("* LIST (\\Noselect \\HasChildren) \"/\" Condivise");
    carla
        .command(&format!("SELECT {}", shared("INBOX")))
        .await
        .no("NONEXISTENT");
    carla
        .command(&format!("MYRIGHTS {}", shared("INBOX")))
        .await
        .no("NONEXISTENT");

    // Anna may send as the office, and its Sent keeps a copy; Bruno may not.
    let mut submission = logged_in(config.listeners.smtp_submission, ANNA).await;
    envelope(&mut submission, PROTOCOLLO, &["esterno@esempio.org"]).await;
    let sent = message(PROTOCOLLO, "esterno@esempio.org", "risposta", "");
    let reply = data(&mut submission, sent.as_bytes()).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    anna.command(&format!("STATUS {} (MESSAGES UNSEEN)", shared("Sent")))
        .await
        .assert_has(&format!(
            "* STATUS Condivise/{PROTOCOLLO}/Sent (MESSAGES 1 UNSEEN 0)"
        ));
    let mut refused = logged_in(config.listeners.smtp_submission, BRUNO).await;
    let reply = refused.command(&format!("MAIL FROM:<{PROTOCOLLO}>")).await;
    assert_eq!(reply.code, 553, "{reply:?}");

    // Unshared, the folders are gone from Bruno's view.
    config
        .cli(&["mailbox", "unshare", PROTOCOLLO, BRUNO], None)
        .await
        .ok();
    bruno
        .command(&format!("STATUS {} (MESSAGES)", shared("INBOX")))
        .await
        .no("NONEXISTENT");
}

async fn rights_change_over_imap(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let addr = config.listeners.imap;
    share(config, ANNA, "lrswipkxtea", &[]).await;
    let mut anna = login(addr, ANNA).await;
    let inbox = shared("INBOX");
    anna.command(&format!("SETACL {inbox} {CARLA} lr"))
        .await
        .ok();
    anna.command(&format!("GETACL {inbox}")).await.assert_has(&format!(
        "* ACL Condivise/{PROTOCOLLO}/INBOX {PROTOCOLLO} lrswipkxtea {ANNA} lrswipkxtea {CARLA} lr"
    ));
    anna.command(&format!("SETACL {inbox} {CARLA} +s"))
        .await
        .ok();
    anna.command(&format!("LISTRIGHTS {inbox} {CARLA}"))
        .await
        .assert_has(&format!(
            "* LISTRIGHTS Condivise/{PROTOCOLLO}/INBOX {CARLA} \"\" l r s w i p k x t e a"
        ));
    // Only mailboxes of the domain, by address; never the owner's rights.
    anna.command(&format!("SETACL {inbox} {OUTSIDER} lr"))
        .await
        .no("CANNOT");
    anna.command(&format!("SETACL {inbox} anyone lr"))
        .await
        .no("CANNOT");
    anna.command(&format!("SETACL {inbox} {PROTOCOLLO} l"))
        .await
        .no("CANNOT");
    anna.command(&format!("SETACL {inbox} {CARLA} lrz"))
        .await
        .bad();
    let mut outsider = login(addr, OUTSIDER).await;
    outsider
        .command(&format!("STATUS {inbox} (MESSAGES)"))
        .await
        .no("NONEXISTENT");
    let mut carla = login(addr, CARLA).await;
    carla
        .command(&format!("MYRIGHTS {inbox}"))
        .await
        .assert_has(&format!("* MYRIGHTS Condivise/{PROTOCOLLO}/INBOX lrs"));
    // A folder made in the shared mailbox by Anna, and Carla's share of
    // the INBOX does not reach it.
    anna.command(&format!("CREATE {}", shared("Pratiche")))
        .await
        .ok();
    carla
        .command(&format!("SELECT {}", shared("Pratiche")))
        .await
        .no("NONEXISTENT");
    // DELETEACL takes Carla's rights away.
    anna.command(&format!("DELETEACL {inbox} {CARLA}"))
        .await
        .ok();
    carla
        .command(&format!("MYRIGHTS {inbox}"))
        .await
        .no("NONEXISTENT");

    // A user shares a folder of her own: Bruno then sees Anna's INBOX.
    anna.command(&format!("SETACL INBOX {BRUNO} lr")).await.ok();
    let mut bruno = login(addr, BRUNO).await;
    bruno
        .command("LIST \"\" \"Condivise/*\"")
        .await
        .assert_has(&format!(
            "* LIST (\\HasNoChildren) \"/\" Condivise/{ANNA}/INBOX"
        ));

    // The same through Python's imaplib, as a client library sees it.
    let script = format!(
        r#"
import imaplib, sys
m = imaplib.IMAP4("{host}", {port})
m.login("{ANNA}", "{PASSWORD}")
box = '"Condivise/{PROTOCOLLO}/INBOX"'
typ, data = m.setacl(box, "{BRUNO}", "lrw")
assert typ == "OK", (typ, data)
typ, data = m.getacl(box)
assert typ == "OK" and b"{BRUNO} lrw" in data[0], data
typ, data = m.myrights(box)
assert typ == "OK" and data[0].endswith(b" lrswipkxtea"), data
typ, data = m.deleteacl(box, "{BRUNO}")
assert typ == "OK", (typ, data)
typ, data = m.getacl(box)
assert b"{BRUNO}" not in data[0], data
typ, data = m.setacl(box, "{OUTSIDER}", "lr")
assert typ == "NO", (typ, data)
m.logout()
print("imaplib ok")
"#,
        host = addr.ip(),
        port = addr.port(),
    );
    let output = run_program("python3", &["-c", &script], None).await;
    assert!(output.stdout.contains("imaplib ok"), "{output:#?}");
}

/// mbsync copies the shared INBOX into a Maildir, and a flag set there
/// comes back to the server.
async fn mbsync_syncs_a_shared_folder(config: &TestConfig) {
    let (_server, _dns) = started(config).await;
    let addr = config.listeners.imap;
    share(config, ANNA, "lrswite", &[]).await;
    send(
        config,
        "esterno@esempio.org",
        &[PROTOCOLLO],
        &message("esterno@esempio.org", PROTOCOLLO, "istanza 7", ""),
        250,
    )
    .await;
    let dir = tempfile::tempdir().expect("a directory");
    let maildir = dir.path().join("mail");
    std::fs::create_dir(&maildir).expect("the Maildir's directory");
    let rc = dir.path().join("mbsyncrc");
    let rc_text = format!(
        "IMAPAccount anna\nHost {host}\nPort {port}\nUser {ANNA}\nPass {PASSWORD}\n\
         SSLType None\nAuthMechs LOGIN\n\n\
         IMAPStore remote\nAccount anna\n\n\
         MaildirStore local\nPath {maildir}/\nInbox {maildir}/INBOX\nSubFolders Verbatim\n\n\
         Channel shared\nFar :remote:\nNear :local:\nPatterns \"Condivise/*\"\n\
         Create Near\nSync All\nSyncState *\n",
        host = addr.ip(),
        port = addr.port(),
        maildir = maildir.display(),
    );
    std::fs::write(&rc, rc_text).expect("write mbsyncrc");
    let rc = rc.display().to_string();
    let synced = run_program("mbsync", &["-c", &rc, "-a"], None).await;
    assert!(synced.status.success(), "{synced:#?}");
    let inbox = maildir.join(format!("Condivise/{PROTOCOLLO}/INBOX"));
    let files: Vec<_> = std::fs::read_dir(inbox.join("new"))
        .expect("the shared INBOX synced")
        .chain(std::fs::read_dir(inbox.join("cur")).expect("cur"))
        .map(|entry| entry.expect("an entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).expect("the message");
    assert!(text.contains("Subject: istanza 7"), "{text}");
    // Seen in the Maildir (the `S` info flag), then synced back.
    let cur = inbox.join("cur");
    let name = files[0]
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a name");
    let base = name.split(":2,").next().unwrap_or(name);
    std::fs::rename(&files[0], cur.join(format!("{base}:2,S"))).expect("mark it seen");
    let synced = run_program("mbsync", &["-c", &rc, "-a"], None).await;
    assert!(synced.status.success(), "{synced:#?}");
    let mut anna = login(addr, ANNA).await;
    anna.command(&format!("STATUS {} (MESSAGES UNSEEN)", shared("INBOX")))
        .await
        .assert_has(&format!(
            "* STATUS Condivise/{PROTOCOLLO}/INBOX (MESSAGES 1 UNSEEN 0)"
        ));
}
