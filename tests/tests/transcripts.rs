//! The transcript tests: every file in `tests/transcripts/imap/` played
//! against the IMAP service over in-memory pipes, on a fresh store each,
//! on SQLite and on PostgreSQL. Adding a protocol test is adding a file;
//! the format is in `postino_tests::transcript`.

use std::path::Path;

use postino_tests::memory::MemorySite;
use postino_tests::transcript::Transcript;
use postino_tests::{Backend, within};

/// A whole directory's worth of transcripts.
const LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_on_sqlite() {
    within(LIMIT, play_all("imap", Backend::Sqlite)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_on_postgres() {
    within(LIMIT, play_all("imap", Backend::Postgres)).await;
}

/// Plays every transcript of `dir`, each on a site of its own, and fails
/// with the list of those that failed.
async fn play_all(dir: &str, backend: Backend) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("transcripts")
        .join(dir);
    let transcripts = Transcript::all_in(&dir);
    assert!(
        !transcripts.is_empty(),
        "no transcripts in {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for transcript in &transcripts {
        let site = MemorySite::new(backend).await;
        if let Err(failure) = transcript.play(|| site.connect_imap()).await {
            failures.push(failure);
        }
        site.finish().await;
    }
    assert!(
        failures.is_empty(),
        "{} of {} transcripts failed on {backend:?}:\n\n{}",
        failures.len(),
        transcripts.len(),
        failures.join("\n\n")
    );
}
