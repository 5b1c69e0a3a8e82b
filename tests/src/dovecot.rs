//! Debian's Dovecot (`dovecot-imapd`), run by tests and benches as an IMAP
//! server of their own on loopback: the mixed-load bench beside Postino,
//! the migration tests and bench as the server mail is moved from.
//!
//! [`Setup`] makes a temporary directory whose `mail/` the caller fills
//! with one maildir per user ([`maildir_folder`], [`write_message`]), then
//! [`Setup::start`] writes the configuration and a passwd-file and starts
//! Dovecot. The configuration sets only what is needed: its own
//! `base_dir`, `state_dir` and log file; IMAP alone on a free loopback
//! port, no TLS, plaintext LOGIN; a passwd-file; a static userdb;
//! `mail_location = maildir:`; anything else the caller adds (such as a
//! namespace with special-use folders). Everything that bears on speed
//! stays at Dovecot's defaults (`mail_fsync = optimized`, index files
//! beside the mail, no auth cache, a login process per connection). The
//! one limit raised is `mail_max_userip_connections` (10 by default), since
//! all clients come from 127.0.0.1 and several may use one user.
//!
//! Run as root, Dovecot runs the mail processes as `nobody`, owner of the
//! maildirs (Dovecot refuses UIDs below `first_valid_uid`, 500, and root
//! is not a user to run mail as); login and auth processes run as Debian's
//! `dovenull` and `dovecot`. Run as another user, Dovecot runs rootless:
//! everything as that user, without chroot.
//!
//! Maildir files are named as Dovecot names its own (`S=` file size, `W=`
//! size with CRLF line ends, `:2,` and the flags), hold LF line ends as
//! Dovecot saves them, and have the INTERNALDATE as their mtime; keywords
//! go through each folder's `dovecot-keywords`. Dovecot indexes them on
//! first access.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use tempfile::TempDir;
use tokio::net::TcpStream;

use crate::bind_unused_port;

/// Where Debian installs the server.
const DOVECOT: &str = "/usr/sbin/dovecot";
/// The Debian package with the IMAP server.
const PACKAGE: &str = "dovecot-imapd";
/// How long Dovecot may take to listen, and to exit when asked.
const START_LIMIT: Duration = Duration::from_secs(20);
const STOP_LIMIT: Duration = Duration::from_secs(10);

/// Makes sure Dovecot is installed: with apt-get when running as root,
/// else it says what to install.
pub fn ensure_installed() -> Result<(), String> {
    if Path::new(DOVECOT).is_file() {
        return Ok(());
    }
    if !rustix::process::geteuid().is_root() {
        return Err(format!(
            "{DOVECOT} is missing: install Debian's {PACKAGE} (apt-get install {PACKAGE}), \
             or run as root to have it installed"
        ));
    }
    eprintln!("installing {PACKAGE} with apt-get");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", PACKAGE])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|status| status.success())
    };
    // A fresh machine may have no package lists yet.
    let installed = install()
        || (Command::new("apt-get")
            .arg("update")
            .status()
            .is_ok_and(|status| status.success())
            && install());
    if installed && Path::new(DOVECOT).is_file() {
        Ok(())
    } else {
        Err(format!("apt-get could not install {PACKAGE}"))
    }
}

/// A Dovecot being set up: its directory, mail not yet served.
pub struct Setup {
    dir: TempDir,
}

/// A running Dovecot; dropping it stops it.
pub struct Dovecot {
    dir: TempDir,
    child: Child,
    pub addr: SocketAddr,
    /// `dovecot --version`.
    pub version: String,
}

/// Who owns the mail, and the user and group Dovecot's own processes run
/// as when it is not started as root.
struct MailOwner {
    uid: u32,
    gid: u32,
    rootless: Option<(String, String)>,
}

impl MailOwner {
    fn find() -> Result<MailOwner, String> {
        let number = |field: &str| {
            field
                .parse()
                .map_err(|_| format!("bad number {field:?} in /etc/passwd"))
        };
        if rustix::process::geteuid().is_root() {
            let nobody = entry("/etc/passwd", 0, "nobody")
                .ok_or("no user nobody in /etc/passwd to run Dovecot's mail processes")?;
            return Ok(MailOwner {
                uid: number(&nobody[2])?,
                gid: number(&nobody[3])?,
                rootless: None,
            });
        }
        let uid = rustix::process::getuid().as_raw().to_string();
        let me = entry("/etc/passwd", 2, &uid)
            .ok_or_else(|| format!("no user with UID {uid} in /etc/passwd"))?;
        let group = entry("/etc/group", 2, &me[3])
            .ok_or_else(|| format!("no group with GID {} in /etc/group", me[3]))?;
        Ok(MailOwner {
            uid: number(&me[2])?,
            gid: number(&me[3])?,
            rootless: Some((me[0].clone(), group[0].clone())),
        })
    }
}

/// The fields of the first line of `file` (`/etc/passwd`, `/etc/group`)
/// whose field `at` is `value`, if it has four fields at least.
fn entry(file: &str, at: usize, value: &str) -> Option<Vec<String>> {
    let text = fs::read_to_string(file).ok()?;
    text.lines()
        .map(|line| line.split(':').map(str::to_string).collect::<Vec<_>>())
        .find(|fields| fields.len() > 3 && fields[at] == value)
}

impl Setup {
    pub fn new() -> Result<Setup, String> {
        let dir = TempDir::new().map_err(|err| format!("cannot make a directory: {err}"))?;
        // Dovecot's unprivileged processes read the passwd-file and the
        // mail under it.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))
            .map_err(|err| format!("cannot open up {}: {err}", dir.path().display()))?;
        Ok(Setup { dir })
    }

    /// The maildir of `user` (its INBOX), to fill before starting.
    pub fn home(&self, user: &str) -> PathBuf {
        self.dir.path().join("mail").join(user)
    }

    /// Starts Dovecot with `users` (name, and the password field of a
    /// passwd-file: `{PLAIN}secret`, `{ARGON2ID}$argon2id$...`) and
    /// `extra` configuration, once their mail is written.
    pub async fn start(self, users: &[(String, String)], extra: &str) -> Result<Dovecot, String> {
        let owner = MailOwner::find()?;
        let dir = self.dir;
        let mut passwd = String::new();
        for (user, password) in users {
            let _ = writeln!(passwd, "{user}:{password}::::::");
        }
        write(&dir.path().join("users"), passwd.as_bytes())?;
        let mail = dir.path().join("mail");
        fs::create_dir_all(&mail)
            .map_err(|err| format!("cannot make {}: {err}", mail.display()))?;
        if owner.rootless.is_none() {
            chown_all(&mail, owner.uid, owner.gid)?;
        }
        let addr = bind_unused_port()
            .local_addr()
            .map_err(|err| format!("no free port: {err}"))?;
        let conf = dir.path().join("dovecot.conf");
        let text = configuration(dir.path(), addr, &owner) + extra;
        write(&conf, text.as_bytes())?;
        let log = File::create(dir.path().join("dovecot.out"))
            .map_err(|err| format!("cannot create Dovecot's output file: {err}"))?;
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|err| err.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|err| format!("cannot run {DOVECOT}: {err}"))?;
        let version = Command::new(DOVECOT)
            .arg("--version")
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
            .unwrap_or_default();
        let mut dovecot = Dovecot {
            dir,
            child,
            addr,
            version,
        };
        dovecot.wait_listening().await?;
        Ok(dovecot)
    }
}

impl Dovecot {
    async fn wait_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_LIMIT;
        while TcpStream::connect(self.addr).await.is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "dovecot exited ({status}) before listening:\n{}{}",
                    self.read("dovecot.out"),
                    self.read("dovecot.log")
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "dovecot is not listening on {} after {START_LIMIT:?}:\n{}",
                    self.addr,
                    self.read("dovecot.log")
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    fn read(&self, file: &str) -> String {
        fs::read_to_string(self.dir.path().join(file)).unwrap_or_default()
    }

    /// The directory of every user's mail.
    pub fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// The master process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The lines of Dovecot's log that report a problem.
    pub fn problems(&self) -> Vec<String> {
        let log = self.read("dovecot.log") + &self.read("dovecot.out");
        log.lines()
            .filter(|line| {
                ["Error:", "Warning:", "Fatal:", "Panic:"]
                    .iter()
                    .any(|level| line.contains(level))
            })
            .map(str::to_string)
            .collect()
    }

    /// Asks the master process to stop (it stops the others) and waits for
    /// it; kills it if it takes longer than [`STOP_LIMIT`].
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32);
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + STOP_LIMIT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    fs::write(path, bytes).map_err(|err| format!("cannot write {}: {err}", path.display()))
}

fn configuration(dir: &Path, addr: SocketAddr, owner: &MailOwner) -> String {
    let dir = dir.display();
    let (uid, gid) = (owner.uid, owner.gid);
    // Rootless, there is no chroot to make.
    let chroot = if owner.rootless.is_some() {
        "  chroot =\n"
    } else {
        ""
    };
    let mut conf = format!(
        "base_dir = {dir}/run\n\
         state_dir = {dir}/state\n\
         log_path = {dir}/dovecot.log\n\
         protocols = imap\n\
         listen = {ip}\n\
         ssl = no\n\
         disable_plaintext_auth = no\n\
         auth_mechanisms = plain\n\
         mail_location = maildir:{dir}/mail/%u\n\
         passdb {{\n  driver = passwd-file\n  args = {dir}/users\n}}\n\
         userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={dir}/mail/%u\n}}\n\
         service imap-login {{\n{chroot}\
         \x20 inet_listener imap {{\n    address = {ip}\n    port = {port}\n  }}\n\
         \x20 inet_listener imaps {{\n    port = 0\n  }}\n\
         }}\n\
         protocol imap {{\n  mail_max_userip_connections = 1000\n}}\n",
        ip = addr.ip(),
        port = addr.port(),
    );
    if let Some((user, group)) = &owner.rootless {
        // Dovecot's rootless mode: no other users to switch to.
        let _ = write!(
            conf,
            "default_login_user = {user}\n\
             default_internal_user = {user}\n\
             default_internal_group = {group}\n\
             first_valid_uid = {uid}\n\
             service anvil {{\n  chroot =\n}}\n"
        );
    }
    conf
}

/// Makes a maildir folder's directories: the INBOX itself for `dir` the
/// user's home, or a `.Name` directory under it (marked with
/// `maildirfolder`); `keywords` become its `dovecot-keywords`, letter `a`
/// first.
pub fn maildir_folder(dir: &Path, inbox: bool, keywords: &[&str]) -> Result<(), String> {
    for sub in ["cur", "new", "tmp"] {
        let path = dir.join(sub);
        fs::create_dir_all(&path)
            .map_err(|err| format!("cannot make {}: {err}", path.display()))?;
    }
    if !inbox {
        write(&dir.join("maildirfolder"), b"")?;
    }
    if !keywords.is_empty() {
        let lines: String = (0..)
            .zip(keywords)
            .map(|(i, keyword)| format!("{i} {keyword}\n"))
            .collect();
        write(&dir.join("dovecot-keywords"), lines.as_bytes())?;
    }
    Ok(())
}

/// Writes one message (CRLF line ends, as clients see it) into a maildir
/// folder's `cur/`, as Dovecot would have saved it: LF line ends, its
/// `info` (flag letters in ASCII order, then keyword letters) in the name,
/// `date` as its mtime. `unique` tells it from the folder's other files.
pub fn write_message(
    dir: &Path,
    unique: &str,
    crlf: &[u8],
    info: &str,
    date: i64,
) -> Result<(), String> {
    let lf: Vec<u8> = crlf.iter().copied().filter(|&b| b != b'\r').collect();
    let name = format!("{date}.{unique},S={},W={}:2,{info}", lf.len(), crlf.len());
    let path = dir.join("cur").join(name);
    let file =
        File::create(&path).map_err(|err| format!("cannot create {}: {err}", path.display()))?;
    std::io::Write::write_all(&mut &file, &lf)
        .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(date as u64);
    file.set_modified(date)
        .map_err(|err| format!("cannot date {}: {err}", path.display()))
}

/// Gives `path` and everything under it to `uid`:`gid`.
fn chown_all(path: &Path, uid: u32, gid: u32) -> Result<(), String> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .map_err(|err| format!("cannot chown {}: {err}", path.display()))?;
    if path.is_dir() {
        let entries =
            fs::read_dir(path).map_err(|err| format!("cannot list {}: {err}", path.display()))?;
        for entry in entries {
            let entry = entry.map_err(|err| format!("cannot list {}: {err}", path.display()))?;
            chown_all(&entry.path(), uid, gid)?;
        }
    }
    Ok(())
}
