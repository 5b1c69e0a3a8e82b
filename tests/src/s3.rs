//! An S3 service on loopback for the body store tests: moto's server mode
//! (Apache-2.0, from PyPI; `scripts/test` installs it), as no S3 server in
//! Debian runs without a Ceph cluster. A test binary starts one and its
//! tests share it, each with a bucket of its own ([`S3Service::bucket`]).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use postino_common::blobs::S3Options;
use tempfile::TempDir;

use crate::bind_unused_port;
use crate::daemon::{ask, tied_to_this_process, wait_until_ready};

const START_LIMIT: Duration = Duration::from_secs(60);

pub struct S3Service {
    pub addr: SocketAddr,
    _dir: TempDir,
    _process: Child,
}

/// The S3 service of this test process, started by the first caller.
pub fn shared() -> &'static S3Service {
    static S3: OnceLock<S3Service> = OnceLock::new();
    S3.get_or_init(S3Service::start)
}

/// moto's server: where `scripts/test` installs it, else on the `PATH`.
fn moto_server() -> String {
    let installed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/moto-venv/bin/moto_server");
    match installed.exists() {
        true => installed.display().to_string(),
        false => "moto_server".to_string(),
    }
}

impl S3Service {
    fn start() -> S3Service {
        let addr = bind_unused_port()
            .local_addr()
            .expect("address of a bound socket");
        let dir = TempDir::new().expect("a directory for the S3 service");
        let log = dir.path().join("moto.log");
        let process = tied_to_this_process(
            &format!(
                "{} -H 127.0.0.1 -p {} >{} 2>&1",
                moto_server(),
                addr.port(),
                log.display()
            ),
            "moto[server] (PyPI)",
        );
        wait_until_ready("moto_server", START_LIMIT, &log, || {
            ask(addr, b"GET / HTTP/1.0\r\n\r\n").is_some_and(|reply| reply.starts_with(b"HTTP/1"))
        });
        S3Service {
            addr,
            _dir: dir,
            _process: process,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Creates a bucket no other test uses and returns its name.
    pub fn bucket(&self) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "postino-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let request = format!(
            "PUT /{name} HTTP/1.0\r\nHost: {}\r\nContent-Length: 0\r\n\r\n",
            self.addr
        );
        let reply = ask(self.addr, request.as_bytes()).expect("the S3 service answers");
        assert!(
            reply.starts_with(b"HTTP/1.0 200") || reply.starts_with(b"HTTP/1.1 200"),
            "creating bucket {name}: {}",
            String::from_utf8_lossy(&reply)
        );
        name
    }

    /// How the store reaches a new bucket of this service.
    pub fn options(&self) -> S3Options {
        S3Options {
            endpoint: self.endpoint(),
            bucket: self.bucket(),
            region: "us-east-1".to_string(),
            access_key: "test".to_string(),
            secret_key: "test".to_string(),
            prefix: "bodies".to_string(),
            max_connections: 8,
        }
    }

    /// `[blobs]` lines for a test configuration (`TestConfig::set`) with
    /// bodies in a new bucket of this service.
    pub fn config_lines(&self) -> Vec<(&'static str, String)> {
        let options = self.options();
        vec![
            ("blobs", "backend = \"s3\"".to_string()),
            ("blobs.s3", format!("endpoint = \"{}\"", options.endpoint)),
            ("blobs.s3", format!("bucket = \"{}\"", options.bucket)),
            ("blobs.s3", "access_key = \"test\"".to_string()),
            ("blobs.s3", "secret_key = \"test\"".to_string()),
        ]
    }
}
