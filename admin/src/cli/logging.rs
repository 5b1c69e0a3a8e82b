//! The process's log: to standard error, filtered by `POSTINO_LOG`.

/// rustls warns of every client that sends an IP address or a malformed
/// name as its TLS server name, as clients set up with the server's address
/// do: noise, unless debugging.
const QUIET_SNI: &str = "rustls::msgs::handshake=error";

pub fn init(serving: bool) {
    let wanted = std::env::var("POSTINO_LOG").ok();
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(wanted.as_deref(), serving))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
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
}
