//! The shapes of `postino serve`'s log: JSON lines with `[log] format =
//! "json"`, and text lines without a time stamp or colours when standard
//! error is the journal (`JOURNAL_STREAM` names it, as systemd does).

use std::os::unix::fs::MetadataExt;

use postino_tests::{Backend, Server, TEST_LIMIT, TestConfig, within};

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
        assert_eq!(listening.len(), 6, "{log}");
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
async fn text_to_the_journal_has_no_time_stamps() {
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
