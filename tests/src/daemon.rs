//! Outside daemons the tests start (rspamd, clamd): each runs under `sh`,
//! which stops it when its standard input closes, that is when the test
//! process ends, however it ends. A test binary starts one of each and its
//! tests share it, since they take seconds to start.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `command` (a shell command line starting the daemon in the
/// foreground) until this process ends. `package` names the Debian package
/// it comes from, for the error when it is missing.
pub fn tied_to_this_process(command: &str, package: &str) -> Child {
    Command::new("sh")
        .args(["-c", &format!("{command} & read _; kill $!; wait")])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|err| panic!("start {package} (scripts/test installs it): {err}"))
}

/// Waits until `ready` says the daemon answers, for at most `limit`;
/// the panic quotes `log`, the daemon's log file.
pub fn wait_until_ready(
    name: &str,
    limit: Duration,
    log: &std::path::Path,
    mut ready: impl FnMut() -> bool,
) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < limit,
            "{name} did not answer within {limit:?}; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Sends `request` to `addr` and reads the whole reply, with a short
/// bound on each: how the daemons are asked whether they are up.
pub fn ask(addr: std::net::SocketAddr, request: &[u8]) -> Option<Vec<u8>> {
    use std::io::{Read, Write};
    let limit = Duration::from_secs(2);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, limit).ok()?;
    stream.set_read_timeout(Some(limit)).ok()?;
    stream.write_all(request).ok()?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).ok()?;
    Some(reply)
}
