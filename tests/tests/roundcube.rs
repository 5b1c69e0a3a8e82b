//! Roundcube's managesieve plugin against the real binary: Debian's
//! Roundcube, served by PHP's built-in web server on loopback with a
//! configuration of its own, logs in over IMAP (STARTTLS) and speaks
//! ManageSieve (STARTTLS, the certificate verified) as a user's browser
//! asks it to: `tests/python/roundcube_steps.py` reads Roundcube's pages
//! and sends their forms back, as a browser does. Through Roundcube the
//! user makes a folder, a filter set with a filter ("subject contains
//! delibera: move to Delibere"), activates the set and turns on an
//! out-of-office reply. Then `postino sieve` shows the set stored and
//! active, a message with that subject is filed by it at delivery, and
//! senders outside get the reply; Roundcube's error log stays empty of
//! errors. With its acl plugin the user shares the new folder with a
//! colleague, who then sees it in `Condivise/`, and takes the share back
//! (IMAP ACL, RFC 4314).
//!
//! It runs on SQLite only: what Roundcube sees goes through the protocols,
//! whatever the store. Roundcube keeps its own database (SQLite), session
//! files and logs in the test's directory; it reads nothing of
//! `/etc/roundcube` but the defaults every configuration starts from.
//!
//! Roundcube comes from Debian (`roundcube-core`, `roundcube-plugins`,
//! `roundcube-sqlite3`, `php-cli`, installed by `scripts/test`). Without
//! it the test is skipped with a note, or fails when `CI` is set.

use std::fs::{self, File};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use postino_tests::imap::login;
use postino_tests::sink::Sink;
use postino_tests::smtp::{
    ANNA, BRUNO, PASSWORD, folder_messages, inbox, message, send, site, stopped, subjects,
};
use postino_tests::{
    Backend, Server, TEST_LIMIT, TestConfig, bind_unused_port, run_program, within,
};
use serde_json::{Value, json};

/// Debian's web root of Roundcube, whose `index.php` finds the rest.
const WEB_ROOT: &str = "/var/lib/roundcube/public_html";
/// The defaults every Roundcube configuration starts from.
const DEFAULTS: &str = "/etc/roundcube/defaults.inc.php";
const PLUGIN: &str = "/usr/share/roundcube/plugins/managesieve";
const PACKAGES: &str = "roundcube-core roundcube-plugins roundcube-sqlite3 php-cli";
const STEPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/roundcube_steps.py");
/// The name in the certificate Postino makes for itself on first start:
/// [`TestConfig`]'s `hostname`.
const HOSTNAME: &str = "mx.postino.test";
/// How long PHP's server may take to listen, and a reply to arrive.
const WAIT: Duration = Duration::from_secs(20);
const OUTSIDE: &str = "amico@esterno.example";
const COLLEAGUE: &str = "collega@esterno.example";
const REASON: &str = "Sono in ferie fino a lunedì.";

#[tokio::test]
async fn filters_and_vacation_set_in_roundcube_run_at_delivery() {
    if !roundcube_installed() {
        return;
    }
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        let sink = Sink::start(&["250 2.0.0 ok"]).await.expect("start a sink");
        let _dns = site(&config, &[], &[ANNA, BRUNO]).await;
        config.set("imap", "allow_plaintext_auth = true");
        config.set("delivery", "retry = [\"1s\"]");
        config.set(
            "delivery.routes",
            &format!("\"esterno.example\" = \"{}\"", sink.addr()),
        );
        let server = Server::start(&config).await;
        let roundcube = Roundcube::start(&config).await;

        roundcube.run(&steps()).await;

        // The acl plugin's share, as the colleague and the owner see it.
        let shared = format!("Condivise/{ANNA}/Delibere");
        let mut bruno = login(config.listeners.imap, BRUNO).await;
        bruno
            .command(&format!("MYRIGHTS \"{shared}\""))
            .await
            .assert_has(&format!("* MYRIGHTS {shared} lrs"));
        let mut anna = login(config.listeners.imap, ANNA).await;
        anna.command("GETACL Delibere")
            .await
            .assert_has(&format!("* ACL Delibere {ANNA} lrswipkxtea {BRUNO} lrs"));
        let unshare = json!({"op": "ajax", "task": "settings", "action": "plugin.acl",
            "fields": {"_act": "delete", "_mbox": "Delibere", "_user": BRUNO}});
        roundcube
            .run(&[
                login_step(),
                (unshare, "Successfully deleted access rights"),
            ])
            .await;
        bruno
            .command(&format!("MYRIGHTS \"{shared}\""))
            .await
            .no("NONEXISTENT");

        let delibera = message(OUTSIDE, ANNA, "delibera 7", "");
        send(&config, OUTSIDE, &[ANNA], &delibera, 250).await;
        let saluti = message(COLLEAGUE, ANNA, "saluti", "");
        send(&config, COLLEAGUE, &[ANNA], &saluti, 250).await;
        let replies = sink.wait_received(2, WAIT).await;
        let store = stopped(server, &config).await;

        let filed = subjects(&folder_messages(&store, ANNA, "Delibere").await);
        assert_eq!(filed, ["delibera 7"]);
        assert_eq!(subjects(&inbox(&store, ANNA).await), ["saluti"]);
        store.close().await;
        let mut answered: Vec<&str> = replies
            .iter()
            .map(|reply| reply.recipients[0].as_str())
            .collect();
        answered.sort_unstable();
        assert_eq!(answered, [OUTSIDE, COLLEAGUE]);
        for reply in &replies {
            let text = String::from_utf8_lossy(&reply.content);
            assert!(text.contains("Subject: Assente"), "{text}");
            assert!(text.contains("Auto-Submitted: auto-replied"), "{text}");
            assert!(body_text(&text).contains(REASON), "{text}");
        }

        let listed = config
            .cli(&["sieve", "list", ANNA, "--json"], None)
            .await
            .json();
        let sets: Vec<(&str, bool)> = listed
            .as_array()
            .expect("a list of scripts")
            .iter()
            .map(|s| (s["name"].as_str().unwrap_or(""), s["active"] == true))
            .collect();
        // Roundcube made `roundcube`, its default set, on first use.
        assert_eq!(sets, [("filtri", true), ("roundcube", false)], "{listed}");
        let script = config.cli(&["sieve", "get", ANNA, "filtri"], None).await;
        let script = script.ok();
        for written in [
            "header :contains \"subject\" \"delibera\"",
            "fileinto \"Delibere\"",
            &format!("vacation :days 1 :subject \"Assente\" \"{REASON}\""),
        ] {
            assert!(
                script.contains(written),
                "`{written}` missing in:\n{script}"
            );
        }
        let problems = roundcube.problems();
        assert!(
            problems.is_empty(),
            "Roundcube logged errors:\n{}",
            problems.join("\n")
        );
    })
    .await
}

/// What the user does in Roundcube, each step with the one message
/// Roundcube must confirm it with. The field names are those of
/// Roundcube's forms (the steps fail if a form lacks one).
fn steps() -> Vec<(Value, &'static str)> {
    let filters = "?_task=settings&_action=plugin.managesieve-action&_framed=1&_nav=hide";
    vec![
        login_step(),
        (
            json!({"op": "submit", "page": "?_task=settings&_action=edit-folder&_mbox=&_framed=1",
                   "form": "form", "fields": {"_name": "Delibere"}}),
            "Folder created successfully.",
        ),
        // The acl plugin's "Sharing" dialog, saving a colleague's rights.
        (
            json!({"op": "ajax", "task": "settings", "action": "plugin.acl",
                   "fields": {"_act": "save", "_mbox": "Delibere", "_user": BRUNO, "_acl": "lrs"}}),
            "Successfully added access rights",
        ),
        (
            json!({"op": "submit", "page": format!("{filters}&_newset=1"),
                   "form": "filtersetform", "fields": {"_name": "filtri"}}),
            "Filter set created successfully.",
        ),
        (
            json!({"op": "submit", "page": format!("{filters}&_set=filtri"),
            "form": "filterform",
            "fields": {
                "_name": "Delibere",
                "_header[0]": "subject",
                "_rule_op[0]": "contains",
                "_rule_target[0][]": "delibera",
                "_action_type[0]": "fileinto",
                // The folder made above, which Roundcube must list.
                "_action_mailbox[0]": "Delibere",
            }}),
            "Filter saved successfully.",
        ),
        (
            json!({"op": "ajax", "task": "settings", "action": "plugin.managesieve-action",
                   "fields": {"_act": "setact", "_set": "filtri"}}),
            "Filter set activated successfully.",
        ),
        (
            json!({"op": "submit", "page": "?_task=settings&_action=plugin.managesieve-vacation",
            "form": "vacationform", "ajax": "plugin.managesieve-vacation",
            "fields": {
                "vacation_status": "on",
                "vacation_subject": "Assente",
                "vacation_reason": REASON,
                "vacation_interval": "1",
            }}),
            "Out-of-office data saved successfully.",
        ),
    ]
}

/// Logging in as Anna, which leads to the mail view.
fn login_step() -> (Value, &'static str) {
    (
        json!({"op": "submit", "page": "?_task=login", "form": "login-form",
               "fields": {"_user": ANNA, "_pass": PASSWORD, "_timezone": "Europe/Rome"}}),
        "",
    )
}

/// The body of a reply, which Postino sends in base64 (it may hold any
/// text), decoded.
fn body_text(reply: &str) -> String {
    let (_, body) = reply.split_once("\r\n\r\n").unwrap_or_default();
    let body: String = body.split_whitespace().collect();
    let body = BASE64.decode(body).unwrap_or_default();
    String::from_utf8_lossy(&body).into_owned()
}

/// Whether Roundcube and PHP are installed; without them, CI fails and
/// anywhere else the test is skipped.
fn roundcube_installed() -> bool {
    let php = Command::new("php")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if php && Path::new(PLUGIN).is_dir() && Path::new(DEFAULTS).is_file() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the Roundcube test needs Debian's Roundcube (apt-get install {PACKAGES}; \
         scripts/test installs it)"
    );
    eprintln!("skipping the Roundcube test: Roundcube not installed (apt-get install {PACKAGES})");
    false
}

/// Roundcube under `php -S`, with its configuration, database and logs in
/// a directory of the test's; dropping it kills PHP's server and, if the
/// test failed, prints Roundcube's logs.
struct Roundcube {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl Roundcube {
    /// Writes the configuration for `config`'s running server and starts
    /// PHP's server on a free loopback port.
    async fn start(config: &TestConfig) -> Roundcube {
        let dir = config.dir().join("roundcube");
        for sub in ["logs", "temp"] {
            fs::create_dir_all(dir.join(sub)).expect("make Roundcube's directories");
        }
        write_configuration(config, &dir);
        let addr = bind_unused_port().local_addr().expect("a free port");
        let log = File::create(dir.join("php.log")).expect("create PHP's log");
        // Roundcube (iniset.php) reads its configuration from the
        // directory this variable names, instead of /etc/roundcube.
        let child = Command::new("php")
            .args(["-S", &addr.to_string(), "-t", WEB_ROOT])
            .env("ROUNDCUBE_CONFIG_DIR", &dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("share PHP's log"))
            .stderr(log)
            .spawn()
            .expect("start php -S");
        let mut roundcube = Roundcube {
            child,
            dir,
            url: format!("http://{addr}/"),
        };
        roundcube.wait_listening(addr).await;
        roundcube
    }

    async fn wait_listening(&mut self, addr: SocketAddr) {
        let deadline = Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("php -S exited ({status})");
            }
            assert!(
                Instant::now() < deadline,
                "php -S is not listening on {addr} after {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `steps` in one browser session, asserting that each is
    /// confirmed with its message; the login, with none, must lead to the
    /// mail view instead.
    async fn run(&self, steps: &[(Value, &str)]) {
        let input: Vec<&Value> = steps.iter().map(|(step, _)| step).collect();
        let input = serde_json::to_string(&input).expect("steps as JSON");
        let out = run_program("python3", &[STEPS, &self.url], Some(input.as_bytes())).await;
        assert!(out.status.success(), "{out:#?}");
        let results: Vec<Value> = serde_json::from_str(&out.stdout).expect("results as JSON");
        for ((step, confirmed), result) in steps.iter().zip(&results) {
            let confirmed = if confirmed.is_empty() {
                let url = result["url"].as_str().unwrap_or_default();
                result["messages"] == json!([]) && url.contains("_task=mail")
            } else {
                result["messages"] == json!([["confirmation", confirmed]])
            };
            assert!(
                result["status"] == 200 && confirmed,
                "step {step}\ngave {result:#}"
            );
        }
        assert_eq!(results.len(), steps.len(), "{}", out.stdout);
    }

    /// The lines of Roundcube's error log ("IMAP Error", "PHP Error:
    /// Unable to connect to managesieve", PHP's warnings) but PHP's
    /// notices of deprecated code, which say nothing of the servers.
    fn problems(&self) -> Vec<String> {
        self.read("logs/errors.log")
            .lines()
            .filter(|line| !line.trim().is_empty() && !line.contains("PHP Deprecated:"))
            .map(str::to_string)
            .collect()
    }

    /// Roundcube's error log, the ManageSieve conversation it logs, and
    /// PHP's server log: for failure messages.
    fn logs(&self) -> String {
        ["logs/errors.log", "logs/sieve.log", "php.log"]
            .iter()
            .map(|file| format!("---- {file} ----\n{}", self.read(file)))
            .collect()
    }

    fn read(&self, file: &str) -> String {
        fs::read_to_string(self.dir.join(file)).unwrap_or_default()
    }
}

impl Drop for Roundcube {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        if std::thread::panicking() {
            eprintln!(
                "---- Roundcube ----\n{}---- end of Roundcube ----",
                self.logs()
            );
        }
    }
}

/// Writes `dir/config.inc.php` and `dir/defaults.inc.php` (Debian's
/// defaults, read where Roundcube looks for them).
fn write_configuration(config: &TestConfig, dir: &Path) {
    let path = |p: &Path| php_string(p.to_str().expect("UTF-8 temporary paths"));
    let listeners = &config.listeners;
    // The certificate Postino made on first start, trusted as it is, for
    // its name: IMAP, SMTP and ManageSieve all verify it.
    let cert = path(&config.data_dir().join("tls").join("cert.pem"));
    let text = format!(
        "<?php\n\
         $tls = ['ssl' => ['cafile' => {cert}, 'peer_name' => '{HOSTNAME}']];\n\
         $config['db_dsnw'] = {db};\n\
         $config['imap_host'] = 'tls://{imap}';\n\
         $config['imap_conn_options'] = $tls;\n\
         $config['smtp_host'] = 'tls://{submission}';\n\
         $config['smtp_conn_options'] = $tls;\n\
         $config['plugins'] = ['managesieve', 'acl'];\n\
         $config['managesieve_host'] = 'tls://{sieve}';\n\
         $config['managesieve_conn_options'] = $tls;\n\
         $config['managesieve_vacation'] = 1;\n\
         $config['managesieve_debug'] = true;\n\
         $config['language'] = 'en_US';\n\
         $config['des_key'] = 'roundcube-test-des-key24';\n\
         $config['log_driver'] = 'file';\n\
         $config['log_dir'] = {logs};\n\
         $config['temp_dir'] = {temp};\n",
        db = php_string(&format!(
            "sqlite:///{}?mode=0600",
            dir.join("roundcube.db").display()
        )),
        imap = listeners.imap,
        submission = listeners.smtp_submission,
        sieve = listeners.sieve,
        logs = path(&dir.join("logs")),
        temp = path(&dir.join("temp")),
    );
    fs::write(dir.join("config.inc.php"), text).expect("write config.inc.php");
    let defaults = format!("<?php\nrequire {};\n", php_string(DEFAULTS));
    fs::write(dir.join("defaults.inc.php"), defaults).expect("write defaults.inc.php");
}

/// `text` as a single-quoted PHP string.
fn php_string(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}
