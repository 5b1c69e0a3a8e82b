//! The Debian package, installed on this machine. `scripts/deb` packages
//! the debug build the other tests use (a release build would take
//! minutes); lintian and systemd-analyze check the package and its unit;
//! `dpkg -i` installs it. The test then checks the user, directories, modes
//! and conffile, runs `/usr/bin/postino serve` as `postino.service` does
//! (user postino, only CAP_NET_BIND_SERVICE, umask 0027, no writable and
//! executable memory, the installed configuration) on the real ports of a
//! loopback address of its own, delivers a message with smtplib, reads it
//! back with imaplib, and purges the package: only the postino user and
//! group are left, as Debian leaves system users, and the test removes
//! them too.
//!
//! It needs root and dpkg, and says so and passes without them; CI runs as
//! root on Debian. It refuses to touch a machine where a postino package,
//! /etc/postino or /var/lib/postino is there already, and undoes what it
//! did even when it fails.

use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use postino_tests::dns::DnsStub;
use postino_tests::{Output, postino_binary, run_program, within};
use serde_json::{Value, json};
use tempfile::TempDir;

/// Packaging, linting, installing, a run and a purge.
const LIMIT: Duration = Duration::from_secs(600);
const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const SMTP_STEPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/smtp_steps.py");
const IMAP_STEPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/imap_steps.py");

const BINARY: &str = "/usr/bin/postino";
const CONFIG: &str = "/etc/postino/postino.toml";
const CONFIG_DIR: &str = "/etc/postino";
const DATA: &str = "/var/lib/postino";
const UNIT: &str = "/lib/systemd/system/postino.service";
/// The link that enables the unit, and the one that would mask it.
const ENABLED: &str = "/etc/systemd/system/multi-user.target.wants/postino.service";
const MASKED: &str = "/etc/systemd/system/postino.service";

/// The loopback address the server listens on: one of its own, so that
/// the real ports are free on it even where a local MTA holds
/// 127.0.0.1:25.
const ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 25, 1);
const DOMAIN: &str = "comune.esempio.pu.it";
const MAILBOX: &str = "anna@comune.esempio.pu.it";
const PASSWORD: &str = "password-robusta";
/// CAP_NET_BIND_SERVICE (bit 10) alone, as /proc/PID/status shows a set.
const ONLY_NET_BIND_SERVICE: &str = "0000000000000400";

#[tokio::test]
async fn the_package_installs_runs_as_the_unit_does_and_purges() {
    if let Some(reason) = cannot_install() {
        eprintln!("skipped: {reason}");
        return;
    }
    within(LIMIT, async {
        let work = TempDir::new().expect("temporary directory");
        // The postino user reads the test's configuration from here.
        std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755))
            .expect("open the temporary directory");
        let deb = build(work.path()).await;
        lint(&deb).await;

        let installation = Installation::begin();
        ok(run_program("dpkg", &["--install", path_str(&deb)], None).await);
        if Path::new("/run/systemd/system").exists() {
            // systemd runs this machine and the postinst started the
            // service: stop it, so that the test's own run has the ports.
            ok(run_program("systemctl", &["stop", "postino.service"], None).await);
        }
        check_installed().await;
        check_unit().await;
        run_as_the_unit_does(work.path()).await;

        ok(run_program("dpkg", &["--purge", "postino"], None).await);
        check_purged().await;
        drop(installation);
    })
    .await;
}

/// Why this machine cannot run the test, if it cannot.
fn cannot_install() -> Option<&'static str> {
    if !rustix::process::geteuid().is_root() {
        return Some("installing a package needs root");
    }
    if !Path::new("/usr/bin/dpkg").exists() {
        return Some("no dpkg: not Debian");
    }
    None
}

/// `scripts/deb` on the debug build, into `dir`; the package's path.
async fn build(dir: &Path) -> PathBuf {
    let script = format!("{WORKSPACE}/scripts/deb");
    let out = run_program(
        &script,
        &[
            "--binary",
            path_str(postino_binary()),
            "--out",
            path_str(dir),
        ],
        None,
    )
    .await;
    let deb = PathBuf::from(ok(out).trim());
    assert!(deb.exists(), "no package at {}", deb.display());
    deb
}

/// lintian finds no error or warning that the package does not explain in
/// its overrides.
async fn lint(deb: &Path) {
    let out = run_program(
        "lintian",
        &["--fail-on", "error,warning", path_str(deb)],
        None,
    )
    .await;
    let text = ok(out);
    let tags: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("E:") || line.starts_with("W:"))
        .collect();
    assert!(tags.is_empty(), "lintian: {tags:#?}");
}

/// What `dpkg -i` must have made: the binary, the conffile readable by
/// the service's group only, the system user and its data directory.
async fn check_installed() {
    let status = ok(run_program("dpkg-query", &["-W", "-f=${Status}", "postino"], None).await);
    assert_eq!(status, "install ok installed");
    let conffiles =
        ok(run_program("dpkg-query", &["-W", "-f=${Conffiles}", "postino"], None).await);
    assert!(conffiles.contains(CONFIG), "conffiles: {conffiles}");

    let entry = ok(run_program("getent", &["passwd", "postino"], None).await);
    let fields: Vec<&str> = entry.trim().split(':').collect();
    let uid: u32 = fields[2].parse().expect("a uid");
    assert!(uid < 1000, "not a system user: {entry}");
    assert_eq!(fields[5], DATA, "home: {entry}");
    assert_eq!(fields[6], "/usr/sbin/nologin", "shell: {entry}");
    let gid = group_id("postino").await;

    assert_mode(BINARY, 0o755, 0, 0);
    assert_mode(CONFIG, 0o640, 0, gid);
    assert_mode(DATA, 0o750, uid, gid);
    assert_mode(UNIT, 0o644, 0, 0);
    let enabled = std::fs::read_link(ENABLED).expect("the unit is enabled");
    assert_eq!(enabled, Path::new(UNIT));

    // With no --config, the installed file is the one read.
    let checked = ok(run_program(BINARY, &["check-config"], None).await);
    assert!(checked.starts_with(&format!("{CONFIG}: ok")), "{checked}");
}

/// systemd-analyze finds nothing wrong with the unit, and rates its
/// exposure at 2.0 or less.
async fn check_unit() {
    // The manual page check runs man, which minimal systems lack.
    let man = if Path::new("/usr/bin/man").exists() {
        "--man=yes"
    } else {
        "--man=no"
    };
    let verified = run_program("systemd-analyze", &["verify", man, UNIT], None).await;
    assert!(
        verified.status.success() && verified.stderr.trim().is_empty(),
        "{verified:#?}"
    );
    let security = run_program(
        "systemd-analyze",
        &["security", "--offline=true", "--no-pager", UNIT],
        None,
    )
    .await;
    assert!(security.status.success(), "{security:#?}");
    let text = format!("{}{}", security.stdout, security.stderr);
    let exposure: f64 = text
        .lines()
        .find_map(|line| line.strip_prefix("→ Overall exposure level for postino.service: "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|level| level.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(exposure <= 2.0, "exposure {exposure}:\n{text}");
}

/// The installed configuration with the test's listeners, DNS stub and
/// host name, written in `dir`: the service's own, as far as a test may.
async fn run_as_the_unit_does(dir: &Path) {
    let dns = DnsStub::start().await.expect("start the DNS stub");
    let ports = Ports::choose();
    let config = dir.join("postino.toml");
    let mut text = std::fs::read_to_string(CONFIG).expect("read the installed configuration");
    for (line, port) in [
        ("listen_mx = [\"0.0.0.0:25\"]", ports.mx),
        ("listen_submission = [\"0.0.0.0:587\"]", ports.submission),
        ("listen_submissions = [\"0.0.0.0:465\"]", ports.submissions),
        ("listen = [\"0.0.0.0:143\"]", ports.imap),
        ("listen_tls = [\"0.0.0.0:993\"]", ports.imap_tls),
        ("listen = [\"0.0.0.0:110\"]", ports.pop3),
        ("listen_tls = [\"0.0.0.0:995\"]", ports.pop3_tls),
        ("listen = [\"0.0.0.0:4190\"]", ports.sieve),
        ("listen = [\"127.0.0.1:8080\"]", ports.admin),
    ] {
        assert!(text.contains(line), "`{line}` is not in {CONFIG}");
        let (key, _) = line.split_once(" = ").expect("a key");
        text = text.replacen(line, &format!("{key} = [\"{ADDRESS}:{port}\"]"), 1);
    }
    text = text.replacen(
        "# hostname = \"mail.provincia.esempio.it\"",
        "hostname = \"mx.postino.test\"",
        1,
    );
    text.push_str(&format!(
        "\n[dns]\nnameservers = [\"{}\"]\ntimeout = \"2s\"\n",
        dns.addr()
    ));
    std::fs::write(&config, text).expect("write the test configuration");
    let config = path_str(&config);

    // The server first, so that it makes the store, with the unit's umask.
    let mut server = Unit::start(config, &dir.join("serve.log"), &ports.all()).await;
    // It listens before it opens the store: the store's first migration
    // must be over before a command opens it too.
    server.wait_log("postino is running").await;
    let uid = user_id("postino").await;
    server.check_privileges(uid);
    ok(as_postino(&["--config", config, "domain", "add", DOMAIN], None).await);
    let password = format!("{PASSWORD}\n");
    let mailbox = [
        "--config",
        config,
        "mailbox",
        "add",
        MAILBOX,
        "--password-stdin",
    ];
    ok(as_postino(&mailbox, Some(password.as_bytes())).await);

    let message = format!(
        "From: <mittente@esterno.example>\r\nTo: <{MAILBOX}>\r\nSubject: Dal pacchetto\r\n\
         Message-ID: <pacchetto@esterno.example>\r\n\r\nConsegnato e letto.\r\n"
    );
    deliver(ports.mx, &message).await;
    let read = read_first(ports.imap_tls).await;
    assert!(
        read.ends_with(&message),
        "read back:\n{read}\nsent:\n{message}"
    );

    // systemctl reload: the (generated) certificate is read again, and
    // the server goes on.
    server.signal("HUP");
    server.wait_log("reloaded the TLS certificate").await;
    assert!(read_first(ports.imap_tls).await.ends_with(&message));
    server.stop().await;
    assert_private(Path::new(DATA), uid);
}

/// Sends `message` to [`MAILBOX`] through the MX on `port`, with smtplib.
async fn deliver(port: u16, message: &str) {
    let results = python(
        SMTP_STEPS,
        json!([
            {"op": "connect", "host": ADDRESS.to_string(), "port": port},
            {"op": "sendmail", "from": "mittente@esterno.example", "to": [MAILBOX], "message": message},
            {"op": "quit"},
        ]),
    )
    .await;
    assert_eq!(results[1], json!({"refused": {}}), "{results:#?}");
}

/// The first message of [`MAILBOX`]'s INBOX, read with imaplib over
/// implicit TLS on `port`.
async fn read_first(port: u16) -> String {
    let call = |method: &str, args: Value| json!({"op": "call", "method": method, "args": args});
    let results = python(
        IMAP_STEPS,
        json!([
            {"op": "connect", "host": ADDRESS.to_string(), "port": port, "tls": "implicit"},
            call("login", json!([MAILBOX, PASSWORD])),
            call("select", json!(["INBOX"])),
            call("fetch", json!(["1", "(BODY.PEEK[])"])),
            call("logout", json!([])),
        ]),
    )
    .await;
    for result in &results[1..4] {
        assert_eq!(result["typ"], "OK", "{results:#?}");
    }
    results[3]["data"][0][1]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {results:#?}"))
        .to_owned()
}

/// Runs a `tests/python` steps script; one result per step.
async fn python(script: &str, steps: Value) -> Vec<Value> {
    let input = steps.to_string();
    let out = run_program("python3", &[script], Some(input.as_bytes())).await;
    serde_json::from_str(&ok(out)).expect("the script's results are JSON")
}

/// After the purge: no package, binary, unit, configuration or data left.
async fn check_purged() {
    let status = run_program("dpkg-query", &["-W", "-f=${Status}", "postino"], None).await;
    assert!(
        !status.status.success() || status.stdout.contains("not-installed"),
        "{status:#?}"
    );
    // Links too: a dangling one does not "exist".
    for path in [BINARY, UNIT, CONFIG, CONFIG_DIR, DATA, ENABLED, MASKED] {
        assert!(
            std::fs::symlink_metadata(path).is_err(),
            "{path} is left after the purge"
        );
    }
    let entry = run_program("getent", &["passwd", "postino"], None).await;
    assert!(
        entry.status.success(),
        "Debian keeps system users: {entry:#?}"
    );
}

/// `postino ARGS` as the postino user, as an administrator runs
/// management commands (`sudo -u postino postino ...`).
async fn as_postino(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut all = vec![
        "--reuid=postino",
        "--regid=postino",
        "--init-groups",
        "--",
        BINARY,
    ];
    all.extend_from_slice(args);
    run_program("setpriv", &all, stdin).await
}

/// The listeners' ports on [`ADDRESS`]: the standard ones, which the
/// package's configuration uses. Port 25 must be free there, as it tests
/// the capability to bind below 1024; any other taken port (a wildcard
/// listener of another service on this machine) is replaced by a free one.
struct Ports {
    mx: u16,
    submission: u16,
    submissions: u16,
    imap: u16,
    imap_tls: u16,
    pop3: u16,
    pop3_tls: u16,
    sieve: u16,
    admin: u16,
}

impl Ports {
    fn choose() -> Ports {
        let free = |wanted: u16| match StdTcpListener::bind((ADDRESS, wanted)) {
            Ok(_) => wanted,
            Err(_) => StdTcpListener::bind((ADDRESS, 0))
                .and_then(|listener| listener.local_addr())
                .expect("a free port")
                .port(),
        };
        let ports = Ports {
            mx: free(25),
            submission: free(587),
            submissions: free(465),
            imap: free(143),
            imap_tls: free(993),
            pop3: free(110),
            pop3_tls: free(995),
            sieve: free(4190),
            admin: free(8080),
        };
        assert_eq!(
            ports.mx, 25,
            "port 25 is taken on {ADDRESS} (a wildcard listener?)"
        );
        ports
    }

    fn all(&self) -> Vec<SocketAddr> {
        [
            self.mx,
            self.submission,
            self.submissions,
            self.imap,
            self.imap_tls,
            self.pop3,
            self.pop3_tls,
            self.sieve,
            self.admin,
        ]
        .into_iter()
        .map(|port| SocketAddr::from((ADDRESS, port)))
        .collect()
    }
}

/// Starts the rest of its command line the way postino.service would as
/// far as a test can without systemd: with umask 0027 and no memory that
/// is both writable and executable (PR_SET_MDWE, what
/// `MemoryDenyWriteExecute=` enforces; kernels before 6.3 lack it, and
/// then the run goes on without).
const SANDBOX: &str = r#"
import ctypes, os, sys
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
if ctypes.CDLL(None).prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    print("PR_SET_MDWE unavailable", file=sys.stderr)
os.umask(0o027)
os.execvp(sys.argv[1], sys.argv[1:])
"#;

/// `postino serve` started the way postino.service starts it: as user and
/// group postino with their groups, CAP_NET_BIND_SERVICE as its only
/// capability (ambient, so it survives the exec, and bounding), no new
/// privileges, and [`SANDBOX`]'s limits, in /, with an empty environment.
/// Dropping it kills the process, and prints its log if the test failed.
struct Unit {
    child: Child,
    log: PathBuf,
}

impl Unit {
    async fn start(config: &str, log: &Path, listeners: &[SocketAddr]) -> Unit {
        let file = std::fs::File::create(log).expect("create the server log");
        let child = Command::new("python3")
            .args(["-c", SANDBOX, "setpriv"])
            .args([
                "--reuid=postino",
                "--regid=postino",
                "--init-groups",
                "--inh-caps=-all,+net_bind_service",
                "--ambient-caps=-all,+net_bind_service",
                "--bounding-set=-all,+net_bind_service",
                "--no-new-privs",
                "--",
                BINARY,
                "--config",
                config,
                "serve",
            ])
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("share the log"))
            .stderr(file)
            .spawn()
            .expect("start postino serve");
        let mut unit = Unit {
            child,
            log: log.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        for &addr in listeners {
            while TcpStream::connect(addr).is_err() {
                let exited = unit.child.try_wait().expect("poll the server");
                assert!(exited.is_none(), "postino serve exited: {exited:?}");
                assert!(Instant::now() < deadline, "nothing listens on {addr}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        unit
    }

    /// The process runs as `uid` with CAP_NET_BIND_SERVICE and nothing else.
    fn check_privileges(&self, uid: u32) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read the server's status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::trim)
                .unwrap_or_else(|| panic!("no {name} in {status}"))
                .to_owned()
        };
        let ids: Vec<String> = field("Uid:")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        assert!(ids.iter().all(|id| *id == uid.to_string()), "Uid: {ids:?}");
        for set in ["CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
            assert_eq!(field(set), ONLY_NET_BIND_SERVICE, "{set}");
        }
        assert_eq!(field("NoNewPrivs:"), "1");
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name}: {status}");
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.log_text().contains(needle) {
            assert!(Instant::now() < deadline, "`{needle}` not logged");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, as `systemctl stop` sends, and a clean exit.
    async fn stop(&mut self) {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll the server") {
                break status;
            }
            assert!(Instant::now() < deadline, "postino serve did not stop");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(status.success(), "postino serve exited with {status}");
    }
}

impl Drop for Unit {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.child.kill().ok();
            self.child.wait().ok();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- postino serve log ----\n{}---- end ----",
                self.log_text()
            );
        }
    }
}

/// The machine as the test found it, restored on drop whatever happened:
/// the package purged, and the user, group and directories it made gone.
struct Installation;

impl Installation {
    /// Refuses a machine that has Postino installed, or had it.
    fn begin() -> Installation {
        let status = Command::new("dpkg-query")
            .args(["-W", "-f=${Status}", "postino"])
            .output()
            .expect("run dpkg-query");
        let status = String::from_utf8_lossy(&status.stdout);
        assert!(
            status.is_empty() || status.contains("not-installed"),
            "a postino package is on this machine ({status}); this test installs and purges its own"
        );
        for path in [CONFIG_DIR, DATA] {
            assert!(
                !Path::new(path).exists(),
                "{path} exists; this test would remove it"
            );
        }
        let user = Command::new("getent")
            .args(["passwd", "postino"])
            .output()
            .expect("run getent");
        assert!(
            !user.status.success(),
            "a postino user exists; this test would remove it"
        );
        Installation
    }
}

impl Drop for Installation {
    fn drop(&mut self) {
        let quiet = |program: &str, args: &[&str]| {
            Command::new(program)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .ok();
        };
        quiet("dpkg", &["--purge", "postino"]);
        quiet("deluser", &["--system", "postino"]);
        quiet("delgroup", &["--system", "postino"]);
        for path in [CONFIG_DIR, DATA] {
            std::fs::remove_dir_all(path).ok();
        }
    }
}

/// Every file under `dir` belongs to `uid` and is closed to others: the
/// unit's umask at work.
fn assert_private(dir: &Path, uid: u32) {
    for entry in std::fs::read_dir(dir).expect("read the data directory") {
        let path = entry.expect("a directory entry").path();
        let meta = std::fs::symlink_metadata(&path).expect("stat a data file");
        assert_eq!(
            meta.uid(),
            uid,
            "{} belongs to {}",
            path.display(),
            meta.uid()
        );
        assert_eq!(
            meta.mode() & 0o007,
            0,
            "{} is open to others",
            path.display()
        );
        if meta.is_dir() {
            assert_private(&path, uid);
        }
    }
}

#[track_caller]
fn assert_mode(path: &str, mode: u32, uid: u32, gid: u32) {
    let meta = std::fs::metadata(path).unwrap_or_else(|err| panic!("{path}: {err}"));
    assert_eq!(meta.mode() & 0o7777, mode, "mode of {path}");
    assert_eq!((meta.uid(), meta.gid()), (uid, gid), "owner of {path}");
}

async fn user_id(name: &str) -> u32 {
    ok(run_program("id", &["-u", name], None).await)
        .trim()
        .parse()
        .expect("a uid")
}

async fn group_id(name: &str) -> u32 {
    let entry = ok(run_program("getent", &["group", name], None).await);
    entry
        .split(':')
        .nth(2)
        .and_then(|gid| gid.parse().ok())
        .expect("a gid")
}

#[track_caller]
fn ok(out: Output) -> String {
    out.ok().to_owned()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}
