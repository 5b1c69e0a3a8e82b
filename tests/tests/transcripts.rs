//! The transcript tests: every file in `tests/transcripts/imap/` played
//! against the IMAP service, `smtp/` against the MX listener's SMTP,
//! `submission/` against submission's and `managesieve/` against
//! ManageSieve, over in-memory pipes, on a fresh
//! store each, on SQLite and on PostgreSQL. Adding a protocol test is
//! adding a file; the format is in `postino_tests::transcript`.

use std::path::Path;
use std::time::Duration;

use postino_smtp::ListenerKind;
use postino_tests::memory::MemorySite;
use postino_tests::transcript::Transcript;
use postino_tests::{Backend, within};

/// A whole directory's worth of transcripts.
const LIMIT: Duration = Duration::from_secs(600);

/// What a directory's transcripts talk to.
#[derive(Debug, Clone, Copy)]
enum Service {
    Imap,
    Smtp(ListenerKind),
    ManageSieve,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_on_sqlite() {
    within(LIMIT, play_all("imap", Service::Imap, Backend::Sqlite)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_on_postgres() {
    within(LIMIT, play_all("imap", Service::Imap, Backend::Postgres)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_on_sqlite() {
    let mx = Service::Smtp(ListenerKind::Mx);
    within(LIMIT, play_all("smtp", mx, Backend::Sqlite)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_on_postgres() {
    let mx = Service::Smtp(ListenerKind::Mx);
    within(LIMIT, play_all("smtp", mx, Backend::Postgres)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submission_on_sqlite() {
    let submission = Service::Smtp(ListenerKind::Submission);
    within(LIMIT, play_all("submission", submission, Backend::Sqlite)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submission_on_postgres() {
    let submission = Service::Smtp(ListenerKind::Submission);
    within(LIMIT, play_all("submission", submission, Backend::Postgres)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managesieve_on_sqlite() {
    let managesieve = Service::ManageSieve;
    within(LIMIT, play_all("managesieve", managesieve, Backend::Sqlite)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managesieve_on_postgres() {
    let managesieve = Service::ManageSieve;
    within(
        LIMIT,
        play_all("managesieve", managesieve, Backend::Postgres),
    )
    .await;
}

/// Plays every transcript of `dir`, each on a site of its own, and fails
/// with the list of those that failed.
async fn play_all(dir: &str, service: Service, backend: Backend) {
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
        let connect = || async {
            match service {
                Service::Imap => site.connect_imap().await,
                Service::Smtp(kind) => site.connect_smtp(kind).await,
                Service::ManageSieve => site.connect_managesieve().await,
            }
        };
        if let Err(failure) = transcript.play(connect).await {
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
