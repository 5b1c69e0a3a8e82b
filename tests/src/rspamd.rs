//! A real rspamd (Debian's `rspamd` package) on loopback, for the content
//! scanning tests.
//!
//! rspamd takes many seconds to start (it compiles its rules), so a test
//! binary starts one and its tests share it ([`shared`]). It runs Debian's
//! configuration with overrides in a temporary directory:
//!
//! - its normal and controller workers on free loopback ports, no proxy;
//! - its DNS through a [`DnsStub`] of its own, and Redis on the machine's
//!   `127.0.0.1:6379`;
//! - the modules that would ask the Internet off (external RBLs, fuzzy
//!   storage, ASN and URL look-ups);
//! - one rule of the tests' own: a Subject containing [`JUNK_SUBJECT`] adds
//!   8 points, which is past `add header` (6) and below `reject` (15);
//! - one settings id, [`STRICT_PROFILE`], under which any message is spam.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;
use std::sync::OnceLock;
use std::time::Duration;

use tempfile::TempDir;

use crate::bind_unused_port;
use crate::daemon::{ask, tied_to_this_process, wait_until_ready};
use crate::dns::DnsStub;

/// A word that makes rspamd score a message as spam to be filed, not refused.
pub const JUNK_SUBJECT: &str = "postino-junk-test";
/// An rspamd settings id (a domain's spam profile) under which every
/// message is spam to be filed in Junk.
pub const STRICT_PROFILE: &str = "postino-strict";
/// GTUBE, the standard test pattern every rspamd refuses.
pub const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
/// How long rspamd may take to answer its first ping.
const START_LIMIT: Duration = Duration::from_secs(120);

/// A running rspamd; see the module documentation.
pub struct Rspamd {
    /// The normal worker: `POST /checkv2`.
    pub normal: SocketAddr,
    /// The controller: statistics and learning.
    pub controller: SocketAddr,
    _dir: TempDir,
    _process: Child,
}

/// The rspamd of this test process, started by the first caller.
pub fn shared() -> &'static Rspamd {
    static RSPAMD: OnceLock<Rspamd> = OnceLock::new();
    RSPAMD.get_or_init(|| {
        // Its DNS stub and process outlive any one test's runtime: they get
        // a thread and a runtime of their own, for as long as the process.
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for rspamd");
            runtime.block_on(async move {
                let dns = DnsStub::start().await.expect("start rspamd's DNS stub");
                let rspamd = Rspamd::start(dns.addr()).await;
                if sender.send(rspamd).is_ok() {
                    std::future::pending::<()>().await;
                }
            });
        });
        receiver
            .recv()
            .expect("rspamd started (see the panic above)")
    })
}

impl Rspamd {
    async fn start(dns: SocketAddr) -> Rspamd {
        let [normal, controller] = [(); 2].map(|()| {
            bind_unused_port()
                .local_addr()
                .expect("address of a bound socket")
        });
        let dir = TempDir::new().expect("a directory for rspamd");
        write_overrides(dir.path(), normal, controller, dns);
        let root = dir.path().display();
        let process = tied_to_this_process(
            &format!(
                "/usr/bin/rspamd -f -i -c /etc/rspamd/rspamd.conf --var LOCAL_CONFDIR={root} \
                 --var RUNDIR={root} --var DBDIR={root} --var LOGDIR={root}"
            ),
            "rspamd",
        );
        let log = dir.path().join("rspamd.log");
        // Off the runtime: the DNS stub answers rspamd meanwhile.
        tokio::task::spawn_blocking(move || {
            wait_until_ready("rspamd", START_LIMIT, &log, || {
                ask(normal, b"GET /ping HTTP/1.0\r\n\r\n")
                    .is_some_and(|reply| reply.windows(4).any(|w| w == b"pong"))
            });
        })
        .await
        .expect("rspamd started");
        Rspamd {
            normal,
            controller,
            _dir: dir,
            _process: process,
        }
    }
}

fn write_overrides(dir: &Path, normal: SocketAddr, controller: SocketAddr, dns: SocketAddr) {
    let files = [
        (
            "override.d/worker-normal.inc",
            format!("bind_socket = \"{normal}\";\ncount = 1;\n"),
        ),
        (
            "override.d/worker-controller.inc",
            format!("bind_socket = \"{controller}\";\ncount = 1;\nsecure_ip = [\"127.0.0.1\"];\n"),
        ),
        (
            "override.d/worker-proxy.inc",
            "count = 0;\nenabled = false;\n".to_string(),
        ),
        (
            "local.d/options.inc",
            format!("dns {{ nameserver = [\"{dns}\"]; timeout = 1s; retransmits = 1; }}\n"),
        ),
        (
            "local.d/redis.conf",
            "servers = \"127.0.0.1:6379\";\n".to_string(),
        ),
        ("override.d/rbl.conf", "enabled = false;\n".to_string()),
        (
            "override.d/fuzzy_check.conf",
            "enabled = false;\n".to_string(),
        ),
        ("override.d/asn.conf", "enabled = false;\n".to_string()),
        (
            "override.d/url_reputation.conf",
            "enabled = false;\n".to_string(),
        ),
        (
            "local.d/multimap.conf",
            format!(
                "POSTINO_TEST_JUNK {{\n  type = \"header\";\n  header = \"Subject\";\n  \
                 regexp = true;\n  map = \"{}/junk_subjects.map\";\n  score = 8.0;\n}}\n",
                dir.display()
            ),
        ),
        ("junk_subjects.map", format!("/{JUNK_SUBJECT}/i\n")),
        (
            "local.d/settings.conf",
            format!(
                "strict {{\n  id = \"{STRICT_PROFILE}\";\n  apply {{\n    \
                 actions {{\n      \"add header\" = -1000.0;\n      greylist = null;\n    }}\n  \
                 }}\n}}\n"
            ),
        ),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("a file in a directory"))
            .expect("create rspamd's configuration directory");
        std::fs::write(path, text).expect("write rspamd's configuration");
    }
}
