//! The end-to-end harness: it runs the real `postino` binary as an operator
//! and as mail clients would, and nothing else. No product crate is linked in
//! except the PostgreSQL helpers of `postino-common`, which create and drop
//! the test databases.
//!
//! - [`postino_binary`] builds the binary once per test process and finds it
//!   in the target directory the tests run from.
//! - [`TestConfig`] writes a `postino.toml` into a temporary directory, with
//!   listeners on free loopback ports and the store on SQLite, on a fresh
//!   PostgreSQL database, or on an existing one the bench keeps.
//! - [`Server`] runs `postino serve` until it is stopped or dropped; if the
//!   test failed, dropping it prints the server's log.
//! - [`cli`] runs one management command to completion.
//! - [`LineClient`] speaks the line-based protocols (SMTP, IMAP) over TCP;
//!   [`SmtpReply`] is one SMTP reply, read whole.
//! - [`run_program`] runs an installed client (swaks, python3) to completion.
//! - [`smtp`] holds what the SMTP tests share: a hosted domain with its
//!   mailboxes, transactions, and reading the store afterwards.
//! - [`webdriver`] drives a headless Chromium, for the web console's tests.
//! - [`rspamd`] and [`clamd`] run a real rspamd and clamd for the
//!   content-scanning tests, through [`daemon`].
//! - [`scrape`] reads the server's `/metrics`.
//! - [`corpus`] writes synthetic office mail for the benches.
//! - [`dovecot`] runs Debian's Dovecot on loopback with maildirs the caller
//!   writes: beside Postino in the mixed-load bench, and as the server the
//!   migration tests move mail from; [`migration`] fills it with their
//!   corpus.
//! - [`bench`] holds what the benches share: settings from the environment,
//!   percentiles, a process's resident set.
//!
//! Nothing here waits without a bound: commands, start-up and shutdown have
//! their own limits, and every test runs inside [`within`].

use std::fs::File;
use std::future::Future;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

/// The longest any one test may run.
pub const TEST_LIMIT: Duration = Duration::from_secs(120);
/// How long `postino serve` may take until every listener accepts.
pub const START_LIMIT: Duration = Duration::from_secs(20);
/// How long `postino serve` may take to exit after SIGTERM.
pub const STOP_LIMIT: Duration = Duration::from_secs(5);
/// How long a management command may take.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(60);
/// How long a client waits for one line from a server.
pub const READ_LIMIT: Duration = Duration::from_secs(10);
/// How long building the binary may take.
const BUILD_LIMIT: Duration = Duration::from_secs(30 * 60);

/// Runs a test body, failing the test if it takes longer than `limit`.
///
/// The binary is built first, outside the clock. On a timeout the body is
/// dropped while the panic unwinds, so its servers are killed and print
/// their logs.
pub async fn within<F: Future>(limit: Duration, test: F) -> F::Output {
    postino_binary();
    let mut test = std::pin::pin!(test);
    match tokio::time::timeout(limit, test.as_mut()).await {
        Ok(output) => output,
        Err(_) => panic!("test timed out after {limit:?}"),
    }
}

/// The `postino` binary of this build profile, `target/<profile>/postino`
/// beside the test executable (`target/<profile>/deps/<test>`).
///
/// `cargo test -p postino-tests` does not build another package's binary,
/// so the first call runs `cargo build` for it. It runs even when the file
/// exists, because a binary left over from before a change would make the
/// tests pass against old code; when nothing changed it returns at once.
pub fn postino_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test executable has a path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test executable is in target/<profile>/deps");
        build_binary(profile_dir);
        let binary = profile_dir.join("postino");
        assert!(
            binary.is_file(),
            "cargo build succeeded but {} does not exist",
            binary.display()
        );
        binary
    })
}

fn build_binary(profile_dir: &Path) {
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") => "dev",
        Some(name) => name,
        None => panic!("no build profile in {}", profile_dir.display()),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is inside the workspace");
    let mut build = StdCommand::new(cargo);
    build
        // The whole workspace, as `cargo test --workspace` resolves it: the
        // same features, so the libraries that run built are reused as they
        // are instead of being compiled again with other features.
        .args(["build", "--workspace", "--bins"])
        .args(["--profile", profile])
        .current_dir(workspace)
        .stdin(Stdio::null());
    // Cargo gives a test the variables of the test's own package. A build
    // script that watches one (ring watches CARGO_MANIFEST_DIR) would see
    // it change, and every build, this one and the next outer one, would
    // recompile half the dependency tree.
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(is_package_variable) {
            build.env_remove(key);
        }
    }
    let mut build = build
        .spawn()
        .expect("run cargo build for the postino binary");
    let status = wait_child(&mut build, BUILD_LIMIT)
        .unwrap_or_else(|| panic!("building postino took longer than {BUILD_LIMIT:?}"));
    assert!(status.success(), "building postino failed: {status}");
}

/// Whether `key` is one of the variables cargo sets for a package's tests.
fn is_package_variable(key: &str) -> bool {
    key.starts_with("CARGO_PKG_")
        || key.starts_with("CARGO_MANIFEST_")
        || matches!(
            key,
            "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE"
        )
}

/// Waits for a child process at most `limit`, killing it if it is still
/// running then. It blocks the thread, which is fine only before a test
/// has anything else to do.
fn wait_child(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("poll a child process") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            // It may exit on its own meanwhile; then there is nothing to kill.
            child.kill().ok();
            child.wait().ok();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `postino` command running in `cwd`, isolated from the caller's
/// environment: no `POSTINO_CONFIG`, no `USER` nor `SUDO_USER` (as under
/// cron or systemd), and plain-text logs.
fn postino_command(cwd: &Path) -> StdCommand {
    let mut command = StdCommand::new(postino_binary());
    command
        .current_dir(cwd)
        .env_remove("POSTINO_CONFIG")
        .env_remove("USER")
        .env_remove("SUDO_USER")
        .env("NO_COLOR", "1");
    command
}

/// What a finished command did.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts that the command succeeded and returns its standard output.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert!(self.status.success(), "command failed: {self:#?}");
        &self.stdout
    }

    /// Asserts that the command succeeded and parses its output as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.ok())
            .unwrap_or_else(|err| panic!("output is not JSON ({err}): {self:#?}"))
    }

    /// Asserts that the command failed with exactly one error line,
    /// `postino: ...`, and returns that line.
    ///
    /// Lines logged before it are allowed (`serve` logs as it starts), but
    /// no second error and nothing after the error.
    #[track_caller]
    pub fn refused(&self) -> &str {
        assert!(!self.status.success(), "command succeeded: {self:#?}");
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.is_empty()).collect();
        let errors = lines.iter().filter(|l| l.starts_with("postino:")).count();
        assert_eq!(errors, 1, "not one error line: {self:#?}");
        let last = lines.last().expect("an error line");
        assert!(
            last.starts_with("postino:"),
            "output after the error: {self:#?}"
        );
        last
    }
}

/// Runs `postino ARGS` in `cwd` to completion, with `stdin` as its input.
pub async fn postino(cwd: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::from(postino_command(cwd));
    command.args(args);
    let shown = format!("postino {}", args.join(" "));
    run_to_end(command, stdin.map(str::as_bytes), &shown, COMMAND_LIMIT).await
}

/// Runs `command` to completion within `limit`, with `stdin` as its
/// input; `shown`, its command line, names it in a panic.
async fn run_to_end(
    mut command: Command,
    stdin: Option<&[u8]>,
    shown: &str,
    limit: Duration,
) -> Output {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run `{shown}` (is it installed?): {err}"));
    if let (Some(bytes), Some(mut input)) = (stdin, child.stdin.take()) {
        // A command that refuses its arguments exits without reading; the
        // resulting broken pipe is not the caller's concern.
        input.write_all(bytes).await.ok();
    }
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("`{shown}` did not finish within {limit:?}"))
        .unwrap_or_else(|err| panic!("wait for `{shown}`: {err}"));
    Output {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs the management command `postino --config CONFIG ARGS`.
pub async fn cli(config: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    cli_within(config, args, stdin, COMMAND_LIMIT).await
}

/// Runs `postino --config CONFIG ARGS` like [`cli`], for a command that
/// may take longer than [`COMMAND_LIMIT`] (a migration), within `limit`.
pub async fn cli_within(
    config: &Path,
    args: &[&str],
    stdin: Option<&str>,
    limit: Duration,
) -> Output {
    let shown = format!("postino {}", args.join(" "));
    run_to_end(
        cli_command(config, args),
        stdin.map(str::as_bytes),
        &shown,
        limit,
    )
    .await
}

/// The command `postino --config CONFIG ARGS`, not yet started: for a test
/// that watches it run, or stops it midway.
pub fn cli_command(config: &Path, args: &[&str]) -> Command {
    let config = config.to_str().expect("temporary paths are UTF-8");
    let cwd = Path::new(config)
        .parent()
        .expect("config file in a directory");
    let mut command = Command::from(postino_command(cwd));
    command.arg("--config").arg(config).args(args);
    command
}

/// Which database a [`TestConfig`] puts the store in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Its name in bench settings and reports: `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A loopback listener on a port below the kernel's ephemeral range
/// (32768 and up on Linux). A port the kernel hands out for port 0 can be
/// taken again at once as the source port of some other test's outgoing
/// connection between the moment we release it and the moment the server
/// binds it; ports below that range are only ever taken by explicit binds.
pub fn bind_unused_port() -> StdTcpListener {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000;
    // Test binaries run side by side: start each one at its own offset.
    let seed = std::process::id().wrapping_mul(7_919);
    for _ in 0..SPAN {
        let port = FIRST + seed.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)) % SPAN;
        if let Ok(listener) = StdTcpListener::bind(("127.0.0.1", port as u16)) {
            return listener;
        }
    }
    panic!("no free loopback port between {FIRST} and {}", FIRST + SPAN);
}

/// The nine listeners of a configuration.
#[derive(Debug, Clone, Copy)]
pub struct Listeners {
    pub smtp_mx: SocketAddr,
    pub smtp_submission: SocketAddr,
    pub smtp_submissions: SocketAddr,
    pub imap: SocketAddr,
    pub imap_tls: SocketAddr,
    pub pop3: SocketAddr,
    pub pop3_tls: SocketAddr,
    pub sieve: SocketAddr,
    pub admin: SocketAddr,
}

impl Listeners {
    /// How many listeners a configuration has.
    pub const COUNT: usize = 9;

    /// Nine distinct loopback ports that were free a moment ago: bound
    /// together, then released for the server to take.
    pub fn free() -> Listeners {
        let sockets: Vec<StdTcpListener> = (0..Self::COUNT).map(|_| bind_unused_port()).collect();
        let addr = |i: usize| sockets[i].local_addr().expect("address of a bound socket");
        Listeners {
            smtp_mx: addr(0),
            smtp_submission: addr(1),
            smtp_submissions: addr(2),
            imap: addr(3),
            imap_tls: addr(4),
            pop3: addr(5),
            pop3_tls: addr(6),
            sieve: addr(7),
            admin: addr(8),
        }
    }

    /// Each listener with its configuration key, in the order `serve` binds them.
    pub fn keyed(&self) -> [(&'static str, SocketAddr); Self::COUNT] {
        [
            ("smtp.listen_mx", self.smtp_mx),
            ("smtp.listen_submission", self.smtp_submission),
            ("smtp.listen_submissions", self.smtp_submissions),
            ("imap.listen", self.imap),
            ("imap.listen_tls", self.imap_tls),
            ("pop3.listen", self.pop3),
            ("pop3.listen_tls", self.pop3_tls),
            ("sieve.listen", self.sieve),
            ("admin.listen", self.admin),
        ]
    }

    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.keyed().iter().map(|&(_, addr)| addr).collect()
    }
}

/// A `postino.toml` in a temporary directory of its own, with the data
/// directory `data/` beside it and every listener on a free loopback port.
/// A PostgreSQL store gets a fresh database, dropped with the `TestConfig`,
/// unless the configuration was made on an existing one
/// ([`TestConfig::on_postgres`]).
pub struct TestConfig {
    pub backend: Backend,
    pub listeners: Listeners,
    pub path: PathBuf,
    dir: TempDir,
    database: Database,
}

/// Where a [`TestConfig`]'s store lives, and whether it goes with it.
enum Database {
    /// SQLite under the data directory.
    Sqlite,
    /// A PostgreSQL database made for this configuration, by name: dropped
    /// with it.
    Fresh(String),
    /// A PostgreSQL database that outlives the configuration, by URL.
    Kept(String),
}

impl TestConfig {
    pub async fn new(backend: Backend) -> TestConfig {
        match backend {
            Backend::Sqlite => TestConfig::write(backend, Database::Sqlite, ""),
            Backend::Postgres => {
                let (url, name) = postino_common::store::testing::create_postgres_database().await;
                TestConfig::write(backend, Database::Fresh(name), &url)
            }
        }
    }

    /// A configuration whose store is the PostgreSQL database at `url`,
    /// left as it is when the configuration goes: for benches that fill a
    /// database once and run several servers on it, one after another or
    /// side by side.
    pub fn on_postgres(url: &str) -> TestConfig {
        TestConfig::write(Backend::Postgres, Database::Kept(url.to_string()), url)
    }

    /// Writes the configuration; `url` is the PostgreSQL store's, unused
    /// for SQLite.
    fn write(backend: Backend, database: Database, url: &str) -> TestConfig {
        let store = match backend {
            Backend::Sqlite => String::new(),
            Backend::Postgres => format!("[store]\nbackend = \"postgres\"\nurl = {url:?}\n\n"),
        };
        let listeners = Listeners::free();
        let mut text = format!("data_dir = \"data\"\nhostname = \"mx.postino.test\"\n\n{store}");
        let mut section = "";
        for (key, addr) in listeners.keyed() {
            let (table, name) = key.split_once('.').expect("keys are table.name");
            if table != section {
                text.push_str(&format!("\n[{table}]\n"));
                section = table;
                if table == "smtp" {
                    // The MX's pregreet pause would slow every test down by
                    // a second a connection; the tests of it set their own.
                    text.push_str("pregreet_wait = \"0s\"\n");
                }
            }
            text.push_str(&format!("{name} = [\"{addr}\"]\n"));
        }
        let dir = TempDir::new().expect("create a temporary directory");
        let path = dir.path().join("postino.toml");
        std::fs::write(&path, text).expect("write postino.toml");
        TestConfig {
            backend,
            listeners,
            path,
            dir,
            database,
        }
    }

    /// The directory holding the configuration file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir().join("data")
    }

    /// Adds `line` (`key = value`) to table `[table]` of the configuration,
    /// creating the table at the end if it is not there yet. Call it before
    /// starting a server or running a command.
    pub fn set(&self, table: &str, line: &str) {
        let text = std::fs::read_to_string(&self.path).expect("read postino.toml");
        let header = format!("[{table}]\n");
        let text = match text.find(&header) {
            Some(at) => {
                let at = at + header.len();
                format!("{}{line}\n{}", &text[..at], &text[at..])
            }
            None => format!("{text}\n{header}{line}\n"),
        };
        std::fs::write(&self.path, text).expect("write postino.toml");
    }

    /// Replaces `from`, which must be in the configuration, with `to`: for
    /// a key written when the configuration was made (`hostname`, and the
    /// MX's `pregreet_wait`).
    pub fn replace(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.path).expect("read postino.toml");
        assert!(text.contains(from), "`{from}` is not in postino.toml");
        std::fs::write(&self.path, text.replacen(from, to, 1)).expect("write postino.toml");
    }

    /// Opens this configuration's store directly, as the server does: for
    /// checking what was stored, best while no server runs.
    pub async fn open_store(&self) -> postino_common::store::Store {
        use postino_common::blobs::BlobStore;
        use postino_common::store::{Location, Store};
        let config = postino_config::load(&self.path).expect("load postino.toml");
        let blobs = BlobStore::configured(&config).expect("reach the body store");
        let (path, url) = (self.data_dir().join("postino.db"), self.database_url());
        let location = match &self.database {
            Database::Sqlite => Location::Sqlite(&path),
            Database::Fresh(_) | Database::Kept(_) => Location::Postgres(&url),
        };
        Store::open(location, 4, blobs)
            .await
            .expect("open the store")
    }

    /// The store's database as a URL: `sqlite://...` or `postgres://...`,
    /// for looking at tables directly.
    pub fn database_url(&self) -> String {
        use postino_common::store::testing;
        match &self.database {
            Database::Sqlite => {
                format!("sqlite://{}", self.data_dir().join("postino.db").display())
            }
            Database::Fresh(name) => testing::with_database(&testing::postgres_url(), name),
            Database::Kept(url) => url.clone(),
        }
    }

    /// Runs the management command `postino --config THIS ARGS`.
    pub async fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        cli(&self.path, args, stdin).await
    }
}

impl Drop for TestConfig {
    fn drop(&mut self) {
        let Database::Fresh(name) = std::mem::replace(&mut self.database, Database::Sqlite) else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot be blocked on;
        // a thread with a runtime of its own can.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .expect("start a runtime")
                .block_on(postino_common::store::testing::drop_postgres_database(
                    &name,
                ));
        })
        .join();
        if dropped.is_err() {
            eprintln!("could not drop a test database; see the panic above");
        }
    }
}

/// A running `postino serve`, its standard output and error in a log file.
/// Dropping it kills the process, and prints the log if the test failed.
pub struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Starts `postino --config CONFIG serve` and waits until every listener
    /// of the configuration accepts connections.
    pub async fn start(config: &TestConfig) -> Server {
        let path = config.path.to_str().expect("temporary paths are UTF-8");
        let args = ["--config", path, "serve"];
        Server::spawn(config.dir(), &args, &config.listeners.addrs()).await
    }

    /// Starts `postino ARGS` in `cwd`, logging to `cwd/serve.log`, and waits
    /// until each of `listeners` accepts connections.
    pub async fn spawn(cwd: &Path, args: &[&str], listeners: &[SocketAddr]) -> Server {
        Server::spawn_with_env(cwd, args, listeners, &[]).await
    }

    /// [`Server::spawn`] with variables `env` added to its environment.
    pub async fn spawn_with_env(
        cwd: &Path,
        args: &[&str],
        listeners: &[SocketAddr],
        env: &[(&str, &str)],
    ) -> Server {
        let log = cwd.join("serve.log");
        let file = File::create(&log).expect("create the server log");
        let child = postino_command(cwd)
            .envs(env.iter().copied())
            .args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("share the server log"))
            .stderr(file)
            .spawn()
            .expect("start postino serve");
        let mut server = Server { child, log };
        server.wait_listening(listeners).await;
        server
    }

    async fn wait_listening(&mut self, listeners: &[SocketAddr]) {
        let deadline = Instant::now() + START_LIMIT;
        for &addr in listeners {
            while TcpStream::connect(addr).await.is_err() {
                if let Some(status) = self.try_wait() {
                    panic!(
                        "postino serve exited ({status}) before listening on {addr}:\n{}",
                        self.log()
                    );
                }
                assert!(
                    Instant::now() < deadline,
                    "postino serve is not listening on {addr} after {START_LIMIT:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("poll postino serve")
    }

    /// Sends SIGTERM, the service manager's request to stop.
    pub fn terminate(&self) {
        let status = StdCommand::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// Sends SIGKILL, as a crash or an OOM kill would, and reaps the process.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill postino serve");
        self.child.wait().expect("reap postino serve");
    }

    /// Waits at most `limit` for the process to exit.
    pub async fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "postino serve still running {limit:?} after being asked to stop"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM and waits at most [`STOP_LIMIT`] for the exit.
    pub async fn stop(&mut self) -> ExitStatus {
        self.terminate();
        self.wait(STOP_LIMIT).await
    }

    /// Everything the server wrote so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The server's process id, for reading `/proc/<pid>/status`.
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.try_wait().is_none() {
            self.child.kill().ok();
            self.child.wait().ok();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- postino serve log ({}) ----\n{}---- end of log ----",
                self.log.display(),
                self.log()
            );
        }
    }
}

/// A client of a line-based protocol (SMTP, IMAP) on a plain TCP connection.
pub struct LineClient {
    stream: BufReader<TcpStream>,
}

impl LineClient {
    pub async fn connect(addr: SocketAddr) -> LineClient {
        let stream = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|err| panic!("cannot connect to {addr}: {err}"));
        LineClient {
            stream: BufReader::new(stream),
        }
    }

    /// The next line from the server, without its line end; panics at the
    /// end of the stream or after [`READ_LIMIT`].
    pub async fn read_line(&mut self) -> String {
        let mut line = String::new();
        let read = tokio::time::timeout(READ_LIMIT, self.stream.read_line(&mut line))
            .await
            .unwrap_or_else(|_| panic!("no line from the server within {READ_LIMIT:?}"))
            .expect("read from the server");
        assert!(read > 0, "the server closed the connection");
        assert!(line.ends_with("\r\n"), "line not ended by CRLF: {line:?}");
        line.truncate(line.len() - 2);
        line
    }

    /// Sends one command line, adding CRLF.
    pub async fn send(&mut self, line: &str) {
        let stream = self.stream.get_mut();
        stream
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .expect("write to the server");
    }

    /// A connection from `source`, one of the loopback addresses
    /// (127.0.0.0/8), so that a test can be several clients.
    pub async fn connect_from(source: std::net::Ipv4Addr, addr: SocketAddr) -> LineClient {
        let socket = tokio::net::TcpSocket::new_v4().expect("create a socket");
        socket
            .bind(SocketAddr::from((source, 0)))
            .expect("bind a loopback address");
        let stream = socket
            .connect(addr)
            .await
            .unwrap_or_else(|err| panic!("connect from {source} to {addr}: {err}"));
        LineClient::from_stream(stream)
    }

    /// A client on a connection opened by the caller, such as one bound to
    /// another loopback address.
    pub fn from_stream(stream: TcpStream) -> LineClient {
        LineClient {
            stream: BufReader::new(stream),
        }
    }

    /// Sends bytes as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let stream = self.stream.get_mut();
        stream.write_all(bytes).await.expect("write to the server");
    }

    /// The next SMTP reply (RFC 5321 §4.2), all its lines.
    pub async fn read_reply(&mut self) -> SmtpReply {
        let mut lines = Vec::new();
        loop {
            let line = self.read_line().await;
            let code = line.get(..3).and_then(|c| c.parse().ok());
            let (Some(code), Some(separator)) = (code, line.as_bytes().get(3).copied()) else {
                panic!("not an SMTP reply line: {line:?}");
            };
            let last = separator == b' ';
            assert!(
                last || separator == b'-',
                "not an SMTP reply line: {line:?}"
            );
            lines.push(line);
            if last {
                return SmtpReply { code, lines };
            }
        }
    }

    /// Sends one command line and reads its reply.
    pub async fn command(&mut self, line: &str) -> SmtpReply {
        self.send(line).await;
        self.read_reply().await
    }

    /// Waits at most `limit` for the server to close the connection, and
    /// returns the lines it sent before; panics if it is still open then.
    pub async fn closed_within(&mut self, limit: Duration) -> Vec<String> {
        let mut lines = Vec::new();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let mut line = String::new();
            match tokio::time::timeout_at(deadline, self.stream.read_line(&mut line)).await {
                Err(_) => panic!("connection still open after {limit:?}; it sent {lines:?}"),
                Ok(Ok(0) | Err(_)) => return lines,
                Ok(Ok(_)) => lines.push(line.trim_end().to_string()),
            }
        }
    }

    /// The next line if one comes within `limit`, else `None`; for checking
    /// that the server stays silent. Panics at the end of the stream.
    pub async fn line_within(&mut self, limit: Duration) -> Option<String> {
        let mut line = String::new();
        let read = tokio::time::timeout(limit, self.stream.read_line(&mut line))
            .await
            .ok()?
            .expect("read from the server");
        assert!(read > 0, "the server closed the connection");
        Some(line.trim_end().to_string())
    }
}

/// An SMTP reply: its code and its lines as sent, code included.
#[derive(Debug, Clone)]
pub struct SmtpReply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl SmtpReply {
    /// The enhanced status code of the last line (RFC 3463), if any.
    pub fn status(&self) -> Option<&str> {
        let text = self.lines.last()?.get(4..)?;
        let status = text.split(' ').next()?;
        let parts: Vec<&str> = status.split('.').collect();
        let numeric = parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        numeric.then_some(status)
    }

    /// Asserts the code and the enhanced status code.
    #[track_caller]
    pub fn expect(&self, code: u16, status: &str) -> &SmtpReply {
        assert!(
            self.code == code && self.status() == Some(status),
            "expected {code} {status}, got {self:?}"
        );
        self
    }
}

/// Makes a self-signed EC certificate for `host` (a name or an IP
/// address), valid two days, with openssl: its PEM files at `cert` and
/// `key`. It is no CA's, so that clients on rustls, which take no CA
/// certificate as a server's, may have it as their one root.
pub async fn self_signed(host: &str, cert: &Path, key: &Path) {
    self_signed_for(&[host], cert, key).await;
}

/// [`self_signed`] for several names, the first one its subject's.
pub async fn self_signed_for(hosts: &[&str], cert: &Path, key: &Path) {
    let path = |p: &Path| p.to_str().expect("a UTF-8 temporary path").to_string();
    let subject = format!("/CN={}", hosts.first().expect("a name"));
    let names: Vec<String> = hosts
        .iter()
        .map(|host| match host.parse::<std::net::IpAddr>() {
            Ok(_) => format!("IP:{host}"),
            Err(_) => format!("DNS:{host}"),
        })
        .collect();
    let names = format!("subjectAltName={}", names.join(","));
    let (key, cert) = (path(key), path(cert));
    let args = [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        &subject,
        "-addext",
        &names,
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-keyout",
        &key,
        "-out",
        &cert,
    ];
    let made = run_program("openssl", &args, None).await;
    assert!(made.status.success(), "{made:#?}");
}

/// Runs an installed client program (swaks, python3) to completion, with
/// `stdin` as its input, within [`COMMAND_LIMIT`].
pub async fn run_program(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut command = Command::new(program);
    command.args(args);
    let shown = format!("{program} {}", args.join(" "));
    run_to_end(command, stdin, &shown, COMMAND_LIMIT).await
}

/// Runs each named `async fn(&TestConfig)` as two tests, `NAME::sqlite` and
/// `NAME::postgres`, each with a fresh configuration and store, inside
/// [`within`]`(`[`TEST_LIMIT`]`)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::{Backend, TEST_LIMIT, TestConfig, within};

                #[tokio::test]
                async fn sqlite() {
                    within(TEST_LIMIT, async {
                        super::$name(&TestConfig::new(Backend::Sqlite).await).await
                    })
                    .await
                }

                #[tokio::test]
                async fn postgres() {
                    within(TEST_LIMIT, async {
                        super::$name(&TestConfig::new(Backend::Postgres).await).await
                    })
                    .await
                }
            }
        )*
    };
}

pub mod bench;
pub mod clamd;
pub mod corpus;
pub mod daemon;
pub mod dns;
pub mod dovecot;
pub mod http;
pub mod imap;
pub mod memory;
pub mod migration;
pub mod rspamd;
pub mod s3;
pub mod scrape;
pub mod sink;
pub mod smtp;
pub mod transcript;
pub mod webdriver;
