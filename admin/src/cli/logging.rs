//! The process's log: to standard error, filtered by `POSTINO_LOG`, as
//! text or JSON lines (`[log] format`). Under systemd, whose journal is
//! then standard error, text goes to the journal natively instead: each
//! event with its priority and its fields and its spans' fields as journal
//! fields (`journalctl -u postino QUEUE_ID=…`, `SESSION=…`). Should the
//! journal's socket not open, text lines go to standard error without a
//! time or colours, which the journal adds itself.

use std::io::IsTerminal;

use postino_config::LogFormat;

/// rustls warns of every client that sends an IP address or a malformed
/// name as its TLS server name, as clients set up with the server's address
/// do: noise, unless debugging.
const QUIET_SNI: &str = "rustls::msgs::handshake=error";

pub fn init(serving: bool, format: LogFormat) {
    use tracing_subscriber::prelude::*;
    let wanted = std::env::var("POSTINO_LOG").ok();
    let filter = log_filter(wanted.as_deref(), serving);
    let journal = format == LogFormat::Text && stderr_is_journal();
    if journal && let Ok(layer) = tracing_journald::layer() {
        // Fields keep their own names: QUEUE_ID, not F_QUEUE_ID.
        let layer = layer
            .with_field_prefix(None)
            .with_syslog_identifier("postino".to_string());
        tracing_subscriber::registry()
            .with(layer.with_filter(filter))
            .init();
        return;
    }
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => log.json().with_ansi(false).init(),
        LogFormat::Text if journal => log.without_time().with_ansi(false).init(),
        LogFormat::Text => log.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

/// Whether standard error is a stream to the journal: systemd names it in
/// `JOURNAL_STREAM` as `device:inode`. A child whose standard error was
/// redirected inherits the variable but not the stream, hence the check.
fn stderr_is_journal() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(stderr) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    std::fs::File::from(stderr)
        .metadata()
        .is_ok_and(|stat| names_stream(&stream.to_string_lossy(), stat.dev(), stat.ino()))
}

/// Whether `JOURNAL_STREAM`'s value names the file `device`, `inode`.
fn names_stream(value: &str, device: u64, inode: u64) -> bool {
    value
        .split_once(':')
        .is_some_and(|(dev, ino)| dev.parse() == Ok(device) && ino.parse() == Ok(inode))
}

/// The log filter: `POSTINO_LOG` if set and valid, else `info` when
/// serving and `warn` otherwise; rustls's complaints about server names are
/// left out below debug.
fn log_filter(wanted: Option<&str>, serving: bool) -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::filter::LevelFilter;
    let default = if serving { "info" } else { "warn" };
    let filter = wanted
        .and_then(|wanted| EnvFilter::try_new(wanted).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    if filter
        .max_level_hint()
        .is_some_and(|level| level >= LevelFilter::DEBUG)
    {
        filter
    } else {
        filter.add_directive(QUIET_SNI.parse().expect("a valid directive"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_name_complaints_are_quiet_unless_debugging() {
        for (wanted, quiet) in [
            (None, true),
            (Some("info"), true),
            (Some("warn,postino::auth=info"), true),
            (Some("debug"), false),
            (Some("info,rustls=trace"), false),
        ] {
            let filter = log_filter(wanted, true).to_string();
            assert_eq!(filter.contains(QUIET_SNI), quiet, "{wanted:?}: {filter}");
        }
    }

    #[test]
    fn journal_stream_names_a_device_and_inode() {
        assert!(names_stream("64769:123456", 64769, 123456));
        assert!(!names_stream("64769:123456", 64769, 123457));
        assert!(!names_stream("64769", 64769, 123456));
        assert!(!names_stream("", 0, 0));
    }
}
