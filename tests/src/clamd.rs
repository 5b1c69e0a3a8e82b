//! A real clamd (Debian's `clamav-daemon`) on loopback, for the malware
//! tests. Signature downloads are impossible here, so it runs on a database
//! of the tests' own, which is also how an operator adds local signatures:
//! one `.ndb` file with the EICAR test string and [`TEST_MALWARE`]. A test
//! binary starts one and its tests share it ([`shared`]).

use std::net::SocketAddr;
use std::process::Child;
use std::sync::OnceLock;
use std::time::Duration;

use tempfile::TempDir;

use crate::bind_unused_port;
use crate::daemon::{ask, tied_to_this_process, wait_until_ready};

/// The EICAR anti-virus test file (68 bytes), which every scanner detects.
pub const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
/// A string the tests' own signature `Postino-Test-Signature` matches.
pub const TEST_MALWARE: &str = "postino-malware-test";
/// How long clamd may take to answer its first PING.
const START_LIMIT: Duration = Duration::from_secs(120);

/// A running clamd; see the module documentation.
pub struct Clamd {
    pub addr: SocketAddr,
    _dir: TempDir,
    _process: Child,
}

/// The clamd of this test process, started by the first caller.
pub fn shared() -> &'static Clamd {
    static CLAMD: OnceLock<Clamd> = OnceLock::new();
    CLAMD.get_or_init(Clamd::start)
}

impl Clamd {
    fn start() -> Clamd {
        let addr = bind_unused_port()
            .local_addr()
            .expect("address of a bound socket");
        let dir = TempDir::new().expect("a directory for clamd");
        let root = dir.path();
        std::fs::create_dir(root.join("db")).expect("create clamd's database directory");
        let signatures = [
            ("Eicar-Test-Signature", EICAR),
            ("Postino-Test-Signature", TEST_MALWARE),
        ]
        .map(|(name, text)| format!("{name}:0:*:{}\n", hex(text.as_bytes())))
        .concat();
        std::fs::write(root.join("db/test.ndb"), signatures).expect("write the signatures");
        let log = root.join("clamd.log");
        let config = format!(
            "Foreground yes\nTCPSocket {}\nTCPAddr {}\nDatabaseDirectory {}\nLogFile {}\n",
            addr.port(),
            addr.ip(),
            root.join("db").display(),
            log.display()
        );
        std::fs::write(root.join("clamd.conf"), config).expect("write clamd.conf");
        let process = tied_to_this_process(
            &format!("/usr/sbin/clamd -c {}", root.join("clamd.conf").display()),
            "clamav-daemon",
        );
        wait_until_ready("clamd", START_LIMIT, &log, || {
            ask(addr, b"zPING\0").is_some_and(|reply| reply.starts_with(b"PONG"))
        });
        Clamd {
            addr,
            _dir: dir,
            _process: process,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
