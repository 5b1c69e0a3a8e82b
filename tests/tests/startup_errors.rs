//! Configurations that cannot run: `postino serve` on a port that is taken,
//! and `postino check-config` on files with bad values. Each must stop with
//! one error line that names the file and the configuration key (and the
//! line, when the key is in the file), and a good file must pass: the
//! example and the one the Debian package installs among them.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

use postino_tests::{Backend, Listeners, TEST_LIMIT, TestConfig, cli, postino, within};
use tempfile::TempDir;

/// How long a start that cannot succeed may take to say so.
const FAIL_FAST: Duration = Duration::from_secs(5);

#[tokio::test]
async fn serve_on_a_taken_port_names_the_key() {
    within(TEST_LIMIT, async {
        for index in 0..Listeners::COUNT {
            // A fresh configuration for each key, its port taken at once: the
            // ports of a configuration are free only for a moment, and other
            // test binaries pick from the same range.
            let (config, key, addr, _taken) = config_with_taken(index).await;
            let started = Instant::now();
            let out = cli(&config.path, &["serve"], None).await;
            assert!(
                started.elapsed() < FAIL_FAST,
                "{key}: took {:?}",
                started.elapsed()
            );
            let error = out.refused();
            let at = format!("postino: {}: {key}: ", config.path.display());
            assert!(
                error.starts_with(&at),
                "error does not name the file and {key}: {error}"
            );
            assert!(error.contains(&addr.to_string()), "{error}");
            assert!(error.contains("already in use"), "{error}");
            if key == "smtp.listen_mx" {
                // Bound first, so nothing can have been logged before.
                assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
            }
        }
    })
    .await;
}

/// A new configuration whose listener number `index` this test holds, with
/// that listener's key and address.
async fn config_with_taken(index: usize) -> (TestConfig, &'static str, SocketAddr, TcpListener) {
    loop {
        let config = TestConfig::new(Backend::Sqlite).await;
        let (key, addr) = config.listeners.keyed()[index];
        match TcpListener::bind(addr) {
            Ok(taken) => return (config, key, addr, taken),
            Err(error) if error.kind() == ErrorKind::AddrInUse => continue,
            Err(error) => panic!("bind {addr}: {error}"),
        }
    }
}

/// `check-config` on `text`, expected to fail on `key` at `line`.
async fn assert_bad_config(text: &str, key: &str, line: usize, needle: &str) {
    let dir = TempDir::new().expect("temporary directory");
    let path = dir.path().join("postino.toml");
    std::fs::write(&path, text).expect("write the configuration");
    let out = check_config(dir.path(), &path).await;
    let error = out.refused();
    let at = format!("postino: {}:{line}: {key}: ", path.display());
    assert!(error.starts_with(&at), "expected `{at}...`, got: {error}");
    assert!(error.contains(needle), "expected `{needle}` in: {error}");
}

async fn check_config(cwd: &Path, file: &Path) -> postino_tests::Output {
    postino(
        cwd,
        &["check-config", file.to_str().expect("UTF-8 path")],
        None,
    )
    .await
}

#[tokio::test]
async fn check_config_names_the_key_and_line_of_a_bad_value() {
    within(TEST_LIMIT, async {
        assert_bad_config(
            "data_dir = \"data\"\n\n[smtp]\nmax_connections = 10\nmax_message_size = \"12 parsecs\"\n",
            "smtp.max_message_size",
            5,
            "12 parsecs",
        )
        .await;
        assert_bad_config(
            "data_dir = \"data\"\n\n[imap]\nlisten = []\nfrobnicate = true\n",
            "imap.frobnicate",
            5,
            "unknown key",
        )
        .await;
        assert_bad_config(
            "data_dir = \"data\"\ncolour = \"blue\"\n",
            "colour",
            2,
            "unknown key",
        )
        .await;
        assert_bad_config(
            "data_dir = \"data\"\n[admin]\nlisten = [\"127.0.0.1:8080\", \"localhost:8080\"]\n",
            "admin.listen",
            3,
            "localhost:8080",
        )
        .await;
        assert_bad_config(
            "[smtp]\nlisten_mx = [\"127.0.0.1:2525\"]\n[imap]\nlisten = [\"127.0.0.1:2525\"]\n",
            "imap.listen",
            4,
            "already used by smtp.listen_mx",
        )
        .await;
        assert_bad_config(
            "data_dir = \"data\"\n\n[store]\nbackend = \"postgres\"\n",
            "store.url",
            4,
            "required",
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn check_config_accepts_good_files() {
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let example = workspace.join("config/postino.example.toml");
        let packaged = workspace.join("dist/debian/postino.toml");
        for file in [config.path.as_path(), example.as_path(), packaged.as_path()] {
            let out = check_config(config.dir(), file).await;
            assert!(out.ok().contains(": ok"), "{out:#?}");
            assert!(out.stderr.is_empty(), "{out:#?}");
        }
        // Checking starts nothing: no store was created.
        assert!(!config.data_dir().exists());
    })
    .await;
}
