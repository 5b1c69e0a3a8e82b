//! Moving a comune in, end to end: `postino migrate imap` against a real
//! Dovecot (Debian's, on loopback, with a generated corpus of nested and
//! non-ASCII folders, flags, keywords, 10,000 messages and a few large
//! ones), stopped with SIGKILL midway and run again, then run a third
//! time; a master login over STARTTLS into a mailbox whose quota is too
//! small; and the file formats: an mbox imported, exported and imported
//! again, a maildir exported and imported, on both stores.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use postino_common::store::Store;
use postino_tests::migration::{self, DOMAIN, Expected, User};
use postino_tests::{Backend, TestConfig, cli_command, cli_within, dovecot, self_signed, within};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

/// Users at the source, and messages each (spread over eight folders),
/// with three large ones in the first user's INBOX: 10,003 in all.
const USERS: usize = 4;
const MESSAGES: usize = 2_500;
const LARGE: usize = 3;
/// The whole test, and each migration run.
const LIMIT: Duration = Duration::from_secs(600);
/// Messages stored before the first run is killed.
const KILL_AFTER: i64 = 2_000;

#[tokio::test]
async fn imap_sqlite() {
    within(LIMIT, async {
        copies_mailboxes_from_dovecot(&TestConfig::new(Backend::Sqlite).await).await
    })
    .await
}

#[tokio::test]
async fn imap_postgres() {
    within(LIMIT, async {
        copies_mailboxes_from_dovecot(&TestConfig::new(Backend::Postgres).await).await
    })
    .await
}

async fn copies_mailboxes_from_dovecot(config: &TestConfig) {
    dovecot::ensure_installed().expect("Dovecot for the migration tests");
    let started = Instant::now();
    let (dovecot, users) = migration::source(USERS, MESSAGES, LARGE)
        .await
        .expect("start Dovecot with the corpus");
    let total: usize = users.iter().map(User::messages).sum();
    eprintln!(
        "source ready: {total} messages in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let args = migration::migration_args(config, &dovecot, &users, 4).await;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // A first run, killed once some messages are in.
    let mut first = cli_command(&config.path, &args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the migration");
    let pool = database(config).await;
    loop {
        if count(&pool, "SELECT COUNT(*) FROM messages").await >= KILL_AFTER {
            break;
        }
        if let Some(status) = first.try_wait().expect("poll the migration") {
            panic!("the migration ended ({status}) before {KILL_AFTER} messages were stored");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.start_kill().expect("kill the migration");
    first.wait().await.expect("wait for the killed migration");
    let before = count(&pool, "SELECT COUNT(*) FROM messages").await;
    eprintln!("killed after {before} messages");

    // Run again: it copies the rest, and nothing twice.
    let resumed = cli_within(&config.path, &args, None, LIMIT).await;
    let report = resumed.json();
    let copied: u64 = mailboxes(&report)
        .map(|m| m["messages"].as_u64().expect("a count"))
        .sum();
    let skipped: u64 = mailboxes(&report)
        .map(|m| m["skipped"].as_u64().expect("a count"))
        .sum();
    assert_eq!(copied + skipped, total as u64, "{report:#}");
    assert_eq!(skipped, before as u64, "{report:#}");
    for m in mailboxes(&report) {
        assert_eq!(m["failed"], 0, "{m:#}");
        assert_eq!(m["folders"], migration::FOLDERS.len(), "{m:#}");
    }
    eprintln!(
        "resumed: {copied} copied in {:.1} s",
        report["seconds"].as_f64().expect("seconds")
    );

    let store = config.open_store().await;
    for user in &users {
        check_mailbox(&store, user).await;
    }
    store.close().await;

    // A third run copies nothing; a wrong password and a bad line are
    // reported, each as its own mailbox, and fail the command.
    let again = cli_within(&config.path, &args, None, LIMIT).await;
    for (m, user) in mailboxes(&again.json()).zip(&users) {
        assert_eq!(m["messages"], 0, "{m:#}");
        assert_eq!(m["skipped"], user.messages(), "{m:#}");
    }
    let bad = config.dir().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "{},{},sbagliata\nsolo-un-campo\n",
            users[0].address, users[0].login
        ),
    )
    .expect("write the CSV");
    let bad_path = bad.to_str().expect("UTF-8 path");
    let source = dovecot.addr.to_string();
    let refused = cli_within(
        &config.path,
        &[
            "migrate", "imap", "--source", &source, "--plain", "--json", bad_path,
        ],
        None,
        LIMIT,
    )
    .await;
    assert!(!refused.status.success(), "{refused:#?}");
    let report: Value = serde_json::from_str(&refused.stdout).expect("a JSON report");
    let errors: Vec<&str> = mailboxes(&report)
        .map(|m| m["error"].as_str().expect("an error"))
        .collect();
    assert!(errors[0].contains("refused LOGIN"), "{errors:?}");
    assert!(errors[1].starts_with("line 2:"), "{errors:?}");
    assert!(dovecot.problems().is_empty(), "{:?}", dovecot.problems());
}

/// The mailboxes of a report.
fn mailboxes(report: &Value) -> impl Iterator<Item = &Value> {
    report["mailboxes"].as_array().expect("mailboxes").iter()
}

/// Checks that `user`'s mailbox holds exactly what the source had, folder
/// by folder: the same messages (bytes, size, date), flags and keywords.
async fn check_mailbox(store: &Store, user: &User) {
    let account = store
        .account(&user.address)
        .await
        .expect("read the account")
        .expect("the mailbox exists");
    let mut held: BTreeMap<String, Vec<Expected>> = BTreeMap::new();
    for folder in store.folders(account.id).await.expect("read the folders") {
        let messages = store.messages(folder.id).await.expect("read the messages");
        let mut list = Vec::with_capacity(messages.len());
        for chunk in messages.chunks(100) {
            let uids: Vec<i64> = chunk.iter().map(|m| m.uid).collect();
            let bodies = store
                .message_bodies(folder.id, &uids)
                .await
                .expect("read the bodies");
            for (summary, (_, body)) in chunk.iter().zip(bodies) {
                let mut flags: Vec<String> = summary
                    .flags
                    .names()
                    .chain(summary.keywords.iter())
                    .map(str::to_string)
                    .collect();
                flags.sort();
                list.push(Expected {
                    date: summary.internal_date,
                    size: body.len(),
                    hash: migration::hash(&body),
                    flags,
                });
            }
        }
        list.sort();
        if !list.is_empty() || user.folders.contains_key(&folder.name) {
            held.insert(folder.name, list);
        }
    }
    assert_eq!(
        held.keys().collect::<Vec<_>>(),
        user.folders.keys().collect::<Vec<_>>(),
        "{}: folders",
        user.address
    );
    for (name, expected) in &user.folders {
        let got = &held[name];
        assert_eq!(
            got.len(),
            expected.len(),
            "{} {name}: messages",
            user.address
        );
        for (got, expected) in got.iter().zip(expected) {
            assert_eq!(got, expected, "{} {name}", user.address);
        }
    }
}

async fn database(config: &TestConfig) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(&config.database_url())
        .await
        .expect("connect to the store's database")
}

async fn count(pool: &sqlx::AnyPool, sql: &'static str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await.unwrap_or((0,));
    n
}

postino_tests::on_both_backends!(files_round_trip);

/// An mbox imported, exported and imported again into another mailbox
/// gives the same messages, flags and dates and the same mbox; a maildir
/// export imports back the same; a broken mbox is refused.
async fn files_round_trip(config: &TestConfig) {
    config.cli(&["domain", "add", DOMAIN], None).await.ok();
    for name in ["primo", "secondo", "terzo"] {
        let address = format!("{name}@{DOMAIN}");
        config.cli(&["mailbox", "add", &address], None).await.ok();
    }
    let dir = config.dir();
    let mbox = dir.join("posta.mbox");
    std::fs::write(&mbox, sample_mbox()).expect("write the mbox");
    let import = |address: &'static str, file: &Path, folder: &str| {
        let file = file.to_str().expect("UTF-8 path").to_string();
        let folder = folder.to_string();
        async move {
            let address = format!("{address}@{DOMAIN}");
            config
                .cli(
                    &[
                        "mailbox", "import", &address, &file, "--folder", &folder, "--json",
                    ],
                    None,
                )
                .await
                .json()
        }
    };
    let export = |address: &'static str, format: &'static str, dest: &Path| {
        let dest = dest.to_str().expect("UTF-8 path").to_string();
        async move {
            let address = format!("{address}@{DOMAIN}");
            config
                .cli(
                    &[
                        "mailbox", "export", &address, "--format", format, &dest, "--json",
                    ],
                    None,
                )
                .await
                .json()
        }
    };
    let first = import("primo", &mbox, "Lavoro/Città").await;
    assert_eq!(
        (first["messages"].as_u64(), first["failed"].as_u64()),
        (Some(3), Some(0))
    );
    export("primo", "mbox", &dir.join("out1")).await;
    let written = dir.join("out1/Lavoro/Città.mbox");
    import("secondo", &written, "Lavoro/Città").await;
    export("secondo", "mbox", &dir.join("out2")).await;
    let once = std::fs::read(&written).expect("read the first export");
    let twice = std::fs::read(dir.join("out2/Lavoro/Città.mbox")).expect("read the second");
    assert_eq!(once, twice);

    export("primo", "maildir", &dir.join("maildir")).await;
    let maildir = dir
        .join("maildir")
        .to_str()
        .expect("UTF-8 path")
        .to_string();
    let imported = config
        .cli(
            &[
                "migrate",
                "maildir",
                &format!("terzo@{DOMAIN}"),
                &maildir,
                "--json",
            ],
            None,
        )
        .await
        .json();
    assert_eq!(imported["messages"], 3, "{imported:#}");

    let store = config.open_store().await;
    let mut seen = Vec::new();
    for name in ["primo", "secondo", "terzo"] {
        let account = store
            .account(&format!("{name}@{DOMAIN}"))
            .await
            .expect("read the account")
            .expect("the mailbox exists");
        let folder = store
            .folder(account.id, "Lavoro/Città")
            .await
            .expect("read the folder")
            .expect("the folder exists");
        let messages = store.messages(folder.id).await.expect("read the messages");
        let uids: Vec<i64> = messages.iter().map(|m| m.uid).collect();
        let bodies = store
            .message_bodies(folder.id, &uids)
            .await
            .expect("read the bodies");
        let held: Vec<_> = messages
            .iter()
            .zip(bodies)
            .map(|(m, (_, body))| (m.internal_date, m.flags, m.keywords.clone(), body))
            .collect();
        seen.push(held);
    }
    store.close().await;
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0], seen[2]);
    assert!(seen[0][0].3.starts_with(b"Subject: uno\r\n"));

    let broken = dir.join("rotto.mbox");
    std::fs::write(&broken, b"Subject: not an mbox\n\nbody\n").expect("write");
    let refused = config
        .cli(
            &[
                "mailbox",
                "import",
                &format!("primo@{DOMAIN}"),
                broken.to_str().expect("UTF-8 path"),
            ],
            None,
        )
        .await;
    assert!(
        refused.refused().contains("not an mbox file"),
        "{refused:#?}"
    );
}

fn sample_mbox() -> &'static str {
    "From anna@esempio.it Mon Dec  7 10:00:00 2026\n\
     Subject: uno\n\
     Status: RO\n\
     X-Status: AF\n\
     X-Keywords: $Label1 Urgente\n\
     \n\
     >From the start of a line\n\
     corpo\n\
     \n\
     From bruno@esempio.it Tue Dec  8 11:30:00 2026\n\
     Subject: due\n\
     \n\
     secondo\n\
     \n\
     From carla@esempio.it Wed Dec  9 12:45:00 2026\n\
     Subject: tre\n\
     Status: O\n\
     \n\
     terzo, non letto\n"
}

/// A master login over STARTTLS, then over TLS from the start, the server's certificate checked against
/// the roots (here the test's own, through `SSL_CERT_FILE`); a mailbox whose
/// quota is too small for its mail gets what fits, and the report names
/// every message left out.
#[tokio::test]
async fn a_master_login_over_starttls_copies_within_quota() {
    within(LIMIT, async {
        dovecot::ensure_installed().expect("Dovecot for the migration tests");
        let keys = tempfile::TempDir::new().expect("a directory");
        std::fs::set_permissions(keys.path(), std::fs::Permissions::from_mode(0o755))
            .expect("open it up to Dovecot");
        let (cert, key, masters) = (
            keys.path().join("cert.pem"),
            keys.path().join("key.pem"),
            keys.path().join("masters"),
        );
        self_signed("127.0.0.1", &cert, &key).await;
        std::fs::write(&masters, "migratore:{PLAIN}chiave-di-servizio::::::\n")
            .expect("write the master passdb");
        for file in [&key, &masters] {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644))
                .expect("let Dovecot read it");
        }
        let imaps = postino_tests::bind_unused_port()
            .local_addr()
            .expect("a free port");
        let extra = format!(
            "ssl = yes\nssl_cert = <{}\nssl_key = <{}\nauth_master_user_separator = *\n\
             passdb {{\n  driver = passwd-file\n  args = {}\n  master = yes\n}}\n\
             service imap-login {{\n  inet_listener imaps {{\n    address = {}\n    port = {}\n  }}\n}}\n",
            cert.display(),
            key.display(),
            masters.display(),
            imaps.ip(),
            imaps.port()
        );
        let (dovecot, users) = migration::source_with(2, 40, 0, &extra)
            .await
            .expect("start Dovecot with TLS and a master user");
        let config = TestConfig::new(Backend::Sqlite).await;
        let args = migration::migration_args(&config, &dovecot, &users, 2).await;
        let mut args: Vec<&str> = args
            .iter()
            .map(|arg| if arg == "--plain" { "--starttls" } else { arg.as_str() })
            .collect();
        args.extend(["--master-user", "migratore"]);
        config
            .cli(&["mailbox", "quota", &users[1].address, "100KB"], None)
            .await
            .ok();

        // Without the certificate among the roots, nothing is copied.
        let untrusted = run(&config, &args, None).await;
        assert!(!untrusted.status.success());
        assert!(untrusted.stdout.contains("certificate"), "{untrusted:#?}");

        let out = run(&config, &args, Some(&cert)).await;
        assert!(!out.status.success(), "one mailbox is over quota: {out:#?}");
        assert!(out.stderr.contains("1 of 2 mailboxes"), "{out:#?}");
        let report: Value = serde_json::from_str(&out.stdout).expect("a JSON report");
        let reports: Vec<&Value> = mailboxes(&report).collect();
        assert_eq!(reports[0]["messages"], users[0].messages(), "{report:#}");
        assert_eq!(reports[0]["failed"], 0, "{report:#}");
        let failed = reports[1]["failed"].as_u64().expect("a count");
        let copied = reports[1]["messages"].as_u64().expect("a count");
        assert!(failed > 0 && copied + failed == users[1].messages() as u64, "{report:#}");
        let failures = reports[1]["failures"].as_array().expect("a list");
        assert_eq!(failures.len() as u64, failed, "{report:#}");
        assert!(failures.iter().all(|f| f.as_str().is_some_and(|f| f.contains("quota"))), "{report:#}");

        // Again over TLS from the start: everything is there already.
        let source = imaps.to_string();
        let mut tls_args = args.clone();
        let at = tls_args.iter().position(|a| *a == "--source").expect("--source") + 1;
        tls_args[at] = &source;
        tls_args.retain(|a| *a != "--starttls");
        let again = run(&config, &tls_args, Some(&cert)).await;
        let report: Value = serde_json::from_str(&again.stdout).expect("a JSON report");
        let first = mailboxes(&report).next().expect("a mailbox");
        assert_eq!(first["messages"], 0, "{again:#?}");
        assert_eq!(first["skipped"], users[0].messages(), "{again:#?}");
        assert!(dovecot.problems().is_empty(), "{:?}", dovecot.problems());
    })
    .await;
}

/// Runs the migration with the master password on standard input, and
/// `roots` as the only trusted certificates.
async fn run(config: &TestConfig, args: &[&str], roots: Option<&Path>) -> postino_tests::Output {
    let empty = config.dir().join("no-roots.pem");
    std::fs::write(&empty, "").expect("write an empty root list");
    let mut command = cli_command(&config.path, args);
    command
        .env("SSL_CERT_FILE", roots.unwrap_or(&empty))
        .env_remove("SSL_CERT_DIR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("start the migration");
    let mut stdin = child.stdin.take().expect("its input");
    stdin
        .write_all(b"chiave-di-servizio\n")
        .await
        .expect("send the password");
    drop(stdin);
    let output = child
        .wait_with_output()
        .await
        .expect("wait for the migration");
    postino_tests::Output {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
