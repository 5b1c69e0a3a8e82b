//! What `postino backup` and `postino restore` cost on each store, beside
//! what an installation of Dovecot with PostgreSQL would run for the same
//! mail: `tar` of Dovecot's maildirs, and `pg_dump` of the database.
//!
//! The store is filled from Dovecot as the migration bench fills it
//! (`BACKUP_BENCH_USERS` users of `BACKUP_BENCH_MESSAGES` messages, about
//! 24 KB each, with three large ones). Then, with the release build: a
//! full backup; 1% more messages, imported from an mbox; an incremental
//! backup on the full one; `backup verify` of the incremental one (which
//! reads the whole chain); and a restore of it into a fresh store of the
//! same kind. Each row gives the seconds and the bytes written (read, for
//! verify; for a restore, the store's size after it). Beside
//! them: `tar` of the source's maildirs (the backup of a Dovecot
//! installation), and on PostgreSQL `pg_dump -Fc` of the store's database.
//! It fails if a step fails.
//!
//! ```text
//! cargo bench -p postino-tests --bench backup
//! BACKUP_BENCH_BACKENDS=postgres BACKUP_BENCH_MESSAGES=10000 cargo bench -p postino-tests --bench backup
//! ```

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use postino_tests::bench::{env_backends, env_number, settings};
use postino_tests::migration::{self, User};
use postino_tests::{Backend, TestConfig, cli_within, corpus, dovecot, run_program};

/// The longest one step may take.
const STEP_LIMIT: Duration = Duration::from_secs(3_600);

struct Settings {
    backends: Vec<Backend>,
    users: usize,
    messages: usize,
}

fn from_env() -> Result<Settings, String> {
    Ok(Settings {
        backends: env_backends("BACKUP_BENCH_BACKENDS")?,
        users: env_number("BACKUP_BENCH_USERS", 4)?.max(1),
        messages: env_number("BACKUP_BENCH_MESSAGES", 2_500)?,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let Some(settings) = settings(
        "backup",
        "BACKUP_BENCH_BACKENDS, _USERS, _MESSAGES",
        from_env,
    ) else {
        return ExitCode::FAILURE;
    };
    if let Err(message) = dovecot::ensure_installed() {
        eprintln!("backup bench: {message}");
        return ExitCode::FAILURE;
    }
    postino_tests::postino_binary();
    let (source, users) = match migration::source(settings.users, settings.messages, 3).await {
        Ok(started) => started,
        Err(message) => {
            eprintln!("backup bench: {message}");
            return ExitCode::FAILURE;
        }
    };
    let total: usize = users.iter().map(User::messages).sum();
    let bytes: usize = users.iter().map(User::bytes).sum();
    println!(
        "{} users, {total} messages, {:.1} MB; 1% more before the incremental backup",
        users.len(),
        bytes as f64 / 1e6
    );
    println!(
        "{:<10} {:<26} {:>8} {:>10}",
        "store", "step", "seconds", "MB"
    );
    let work = match tempfile::TempDir::new() {
        Ok(dir) => dir,
        Err(err) => {
            eprintln!("backup bench: {err}");
            return ExitCode::FAILURE;
        }
    };
    let tar = work.path().join("maildirs.tar");
    let mail_dir = source.mail_dir();
    let tar_args = ["-cf", path(&tar), "-C", path(&mail_dir), "."];
    let step = Step::timed(run_program("tar", &tar_args, None)).await;
    row("dovecot", "tar of the maildirs", step, size(&tar));
    let mut ok = step.ok;
    for backend in &settings.backends {
        ok &= bench(*backend, &source, &users, work.path(), total / 100).await;
    }
    match ok {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    }
}

/// One store's run; false if a step failed.
async fn bench(
    backend: Backend,
    source: &dovecot::Dovecot,
    users: &[User],
    work: &Path,
    more: usize,
) -> bool {
    let name = backend.name();
    let config = TestConfig::new(backend).await;
    let args = migration::migration_args(&config, source, users, 4).await;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if !cli_within(&config.path, &args, None, STEP_LIMIT)
        .await
        .status
        .success()
    {
        eprintln!("backup bench: the migration into {name} failed");
        return false;
    }
    let full = work.join(format!("{name}-full"));
    let step = Step::timed(cli_within(
        &config.path,
        &["backup", path(&full)],
        None,
        STEP_LIMIT,
    ))
    .await;
    row(name, "full backup", step, size(&full));
    let mut ok = step.ok;
    if backend == Backend::Postgres {
        let dump = work.join("postgres.dump");
        let url = config.database_url();
        let dump_args = ["-Fc", "-f", path(&dump), &url];
        let step = Step::timed(run_program("pg_dump", &dump_args, None)).await;
        row(name, "pg_dump -Fc (peer)", step, size(&dump));
        ok &= step.ok;
    }

    let mbox = work.join(format!("{name}-more.mbox"));
    if let Err(err) = std::fs::write(&mbox, more_mail(more, &users[0].address)) {
        eprintln!("backup bench: {err}");
        return false;
    }
    let import = ["mailbox", "import", &users[0].address, path(&mbox)];
    ok &= cli_within(&config.path, &import, None, STEP_LIMIT)
        .await
        .status
        .success();
    let incremental = work.join(format!("{name}-incremental"));
    let args = ["backup", path(&incremental), "--base", path(&full)];
    let step = Step::timed(cli_within(&config.path, &args, None, STEP_LIMIT)).await;
    row(name, "incremental backup (+1%)", step, size(&incremental));
    ok &= step.ok;

    let args = ["backup", "verify", path(&incremental)];
    let step = Step::timed(cli_within(&config.path, &args, None, STEP_LIMIT)).await;
    let chain = size(&full) + size(&incremental);
    row(name, "verify (reads the chain)", step, chain);
    ok &= step.ok;

    let target = TestConfig::new(backend).await;
    let args = ["restore", path(&incremental)];
    let step = Step::timed(cli_within(&target.path, &args, None, STEP_LIMIT)).await;
    let stored = match backend {
        Backend::Sqlite => size(&target.data_dir()),
        Backend::Postgres => database_size(&target).await,
    };
    row(name, "restore", step, stored);
    ok & step.ok
}

/// The bytes of a PostgreSQL store's database.
async fn database_size(config: &TestConfig) -> u64 {
    let url = config.database_url();
    let sql = "SELECT pg_database_size(current_database())";
    let out = run_program("psql", &[&url, "-tAc", sql], None).await;
    out.stdout.trim().parse().unwrap_or(0)
}

/// How one step went.
#[derive(Clone, Copy)]
struct Step {
    seconds: f64,
    ok: bool,
}

impl Step {
    async fn timed(run: impl Future<Output = postino_tests::Output>) -> Step {
        let started = Instant::now();
        let output = run.await;
        let step = Step {
            seconds: started.elapsed().as_secs_f64(),
            ok: output.status.success(),
        };
        if !step.ok {
            eprintln!("backup bench: a step failed: {output:#?}");
        }
        step
    }
}

/// Prints a step with the bytes it wrote (read, for verify).
fn row(store: &str, step: &str, timed: Step, bytes: u64) {
    let mb = bytes as f64 / 1e6;
    println!("{store:<10} {step:<26} {:>8.2} {mb:>10.1}", timed.seconds);
}

/// The bytes of a file, or of every file under a directory.
fn size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| size(&e.path())).sum())
        .unwrap_or(0)
}

/// `count` corpus messages to `to` as an mboxrd file.
fn more_mail(count: usize, to: &str) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut mbox = Vec::new();
    for n in 0..count {
        mbox.extend_from_slice(b"From mittente@esterno.example Mon Dec  7 10:00:00 2026\n");
        let message = corpus::message(&mut rng, to, 1_796_000_000 + n as i64);
        for line in message.split_inclusive(|&b| b == b'\n') {
            let quoted = line.iter().take_while(|&&b| b == b'>').count();
            if line[quoted..].starts_with(b"From ") {
                mbox.push(b'>');
            }
            mbox.extend_from_slice(line);
        }
        mbox.extend_from_slice(b"\n");
    }
    mbox
}

fn path(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}
