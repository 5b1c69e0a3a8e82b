//! The shapes of `postino serve`'s log: JSON lines with `[log] format =
//! "json"`; under systemd (`JOURNAL_STREAM` names standard error), events
//! sent to the journal's socket with their fields, or text lines without
//! a time stamp or colours when that socket is not there.

use std::os::unix::fs::MetadataExt;

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use postino_tests::imap::{deliver, message};
use postino_tests::smtp::{ANNA, site};
use postino_tests::{Backend, Listeners, Server, TEST_LIMIT, TestConfig, postino_binary, within};
use tokio::net::UnixDatagram;

#[tokio::test]
async fn json_format_writes_one_json_object_per_line() {
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        config.set("log", "format = \"json\"");
        let mut server = Server::start(&config).await;
        assert!(server.stop().await.success(), "{}", server.log());
        let log = server.log();
        let events: Vec<serde_json::Value> = log
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|err| panic!("not JSON ({err}): {line}\n{log}"))
            })
            .collect();
        let listening: Vec<_> = events
            .iter()
            .filter(|event| event["fields"]["message"] == "listening")
            .collect();
        assert_eq!(listening.len(), Listeners::COUNT, "{log}");
        let imap = config.listeners.imap.to_string();
        assert!(
            listening.iter().any(|event| event["level"] == "INFO"
                && event["fields"]["address"] == imap.as_str()
                && event["timestamp"].is_string()),
            "{log}"
        );
        assert!(
            events
                .iter()
                .any(|event| event["fields"]["message"] == "stopped")
        );
    })
    .await;
}

#[tokio::test]
async fn text_to_the_journal_stream_has_no_time_stamps() {
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        // The server's standard error is this file: made now, so that its
        // device and inode can be named (the server reopens it truncated).
        let log = config.dir().join("serve.log");
        std::fs::write(&log, "").expect("create the log");
        let stat = std::fs::metadata(&log).expect("stat the log");
        let stream = format!("{}:{}", stat.dev(), stat.ino());
        let path = config.path.to_str().expect("a UTF-8 path");
        let mut server = Server::spawn_with_env(
            config.dir(),
            &["--config", path, "serve"],
            &config.listeners.addrs(),
            &[("JOURNAL_STREAM", &stream)],
        )
        .await;
        assert!(server.stop().await.success(), "{}", server.log());
        let text = server.log();
        assert!(!text.is_empty());
        for line in text.lines() {
            // The level first: no time stamp before it.
            assert!(
                matches!(
                    line.split_whitespace().next(),
                    Some("DEBUG" | "INFO" | "WARN" | "ERROR")
                ),
                "{line:?}"
            );
            assert!(!line.contains('\u{1b}'), "{line:?}");
        }
    })
    .await;
}

/// The journal's socket is `/run/systemd/journal/socket`, a fixed path: the
/// server runs in a mount namespace of its own (hence root) where that
/// directory is the test's, and the test reads the datagrams it gets.
#[tokio::test]
async fn under_systemd_events_go_to_the_journal_with_their_fields() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: a mount namespace of its own needs root (CI runs as root)");
        return;
    }
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        let _dns = site(&config, &[], &[ANNA]).await;
        let journal = config.dir().join("journal");
        std::fs::create_dir(&journal).expect("make the journal's directory");
        let socket = UnixDatagram::bind(journal.join("socket")).expect("bind the journal's socket");
        let log = config.dir().join("serve.log");
        let stderr = std::fs::File::create(&log).expect("create the log");
        let stat = stderr.metadata().expect("stat the log");
        let script = format!(
            "mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd && \
             mkdir /run/systemd/journal && mount --bind {} /run/systemd/journal && exec \"$0\" \"$@\"",
            journal.display()
        );
        let mut server = tokio::process::Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .arg(postino_binary())
            .args(["--config", config.path.to_str().expect("UTF-8"), "serve"])
            .current_dir(config.dir())
            .env("JOURNAL_STREAM", format!("{}:{}", stat.dev(), stat.ino()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .expect("start postino serve in a namespace of its own");
        let listening = until_entry(&socket, |e| {
            e.get("MESSAGE").map(String::as_str) == Some("listening")
                && e.get("LISTENER").map(String::as_str) == Some("smtp.listen_mx")
        })
        .await;
        assert_eq!(listening["PRIORITY"], "5", "{listening:?}");
        assert_eq!(listening["SYSLOG_IDENTIFIER"], "postino", "{listening:?}");
        assert_eq!(listening["ADDRESS"], config.listeners.smtp_mx.to_string());
        // The start-up lines are read to the last: a journal socket's queue
        // holds few datagrams, and a server whose log waits for room
        // serves nobody.
        until_entry(&socket, |e| {
            e.get("MESSAGE").map(String::as_str) == Some("postino is running")
        })
        .await;
        deliver(&config, ANNA, &message(ANNA, "Registro", "Nel giornale.")).await;
        // A delivery's line carries its queue id, and its session's fields.
        let accepted = until_entry(&socket, |e| {
            e.get("MESSAGE").map(String::as_str) == Some("message accepted")
        })
        .await;
        let queue_id = &accepted["QUEUE_ID"];
        let session = &accepted["SESSION"];
        assert!(queue_id.starts_with(session.as_str()), "{accepted:?}");
        assert_eq!(accepted["KIND"], "Mx", "{accepted:?}");
        server.start_kill().expect("stop the server");
        server.wait().await.expect("wait for the server");
        let text = std::fs::read_to_string(&log).expect("read the log");
        assert!(!text.contains("listening"), "went to standard error: {text}");
    })
    .await;
}

/// Reads the journal's socket until an entry `wanted` accepts comes.
async fn until_entry(
    socket: &UnixDatagram,
    wanted: impl Fn(&HashMap<String, String>) -> bool,
) -> HashMap<String, String> {
    let mut buf = vec![0; 256 * 1024];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(30), socket.recv(&mut buf))
            .await
            .expect("an entry within 30 s")
            .expect("read the socket");
        let entry = journal_entry(&buf[..read]);
        if wanted(&entry) {
            return entry;
        }
    }
}

/// The fields of an entry in the journal's native protocol: `NAME=value`
/// lines, or a name line, a 64-bit little-endian length and the value.
fn journal_entry(mut bytes: &[u8]) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
        let line = &bytes[..end];
        if let Some(at) = line.iter().position(|&b| b == b'=') {
            let value = String::from_utf8_lossy(&line[at + 1..]).into_owned();
            fields.insert(String::from_utf8_lossy(&line[..at]).into_owned(), value);
            bytes = &bytes[end + 1..];
        } else {
            let name = String::from_utf8_lossy(line).into_owned();
            let length: [u8; 8] = bytes[end + 1..end + 9].try_into().expect("a length");
            let length = u64::from_le_bytes(length) as usize;
            let value = &bytes[end + 9..end + 9 + length];
            fields.insert(name, String::from_utf8_lossy(value).into_owned());
            bytes = &bytes[end + 10 + length..];
        }
    }
    fields
}
