//! The printed results: one table per backend and mode with Postino and
//! Dovecot side by side, then what went wrong, quoted.

use std::time::Duration;

use postino_tests::bench::percentile;

use crate::load::{Measured, SLOW};
use crate::session::Kind;

/// Failures, violations and log lines quoted per run, at most.
const QUOTED: usize = 5;
/// Width of one server's half of a table.
const HALF: usize = 36;

/// A summary row: its label, and its value from a run.
type Row = (&'static str, fn(&Measured) -> String);

/// One server's run, named.
pub struct Side<'a> {
    pub name: String,
    pub measured: &'a Measured,
    /// Lines of its log that report a problem.
    pub problems: &'a [String],
}

/// Prints `title`, then the two runs side by side.
pub fn table(title: &str, left: &Side<'_>, right: &Side<'_>) {
    println!("{title}");
    println!("{:<18} {:<HALF$} {}", "", left.name, right.name);
    let head = format!(
        "{:>7} {:>8} {:>8} {:>8}",
        "count", "p50 ms", "p99 ms", "max ms"
    );
    println!("{:<18} {head:<HALF$} {head}", "command");
    for kind in Kind::ALL {
        let [l, r] =
            [left, right].map(|side| latencies(&side.measured.figures.latencies[kind.index()]));
        println!("{:<18} {l:<HALF$} {r}", kind.name());
    }
    let [l, r] = [left, right].map(|side| latencies(&side.measured.figures.all));
    println!("{:<18} {l:<HALF$} {r}", "all commands");
    let rows: [Row; 9] = [
        ("commands/s", |m| format!("{:.1}", m.figures.per_second())),
        ("slower than 1 s", |m| m.figures.slow.to_string()),
        ("longest stall ms", |m| millis(m.figures.stall)),
        ("warm-up SELECTs", |m| {
            format!("{:.1} s", m.warm_up.as_secs_f64())
        }),
        ("RSS MiB", |m| {
            let each: Vec<String> = m.rss.iter().map(|&kib| mib(kib)).collect();
            each.join(" / ")
        }),
        ("failures", |m| m.failures.len().to_string()),
        ("violations", |m| m.violations.len().to_string()),
        ("expunge races", |m| m.races.expunged.to_string()),
        ("left after EXPUNGE", |m| m.races.left.to_string()),
    ];
    for (label, value) in rows {
        println!(
            "{label:<18} {:<HALF$} {}",
            value(left.measured),
            value(right.measured)
        );
    }
    for side in [left, right] {
        quote(&side.name, "failed sessions", &side.measured.failures);
        quote(&side.name, "violations", &side.measured.violations);
        quote(&side.name, "log lines reporting problems", side.problems);
    }
    println!();
}

fn latencies(sorted: &[Duration]) -> String {
    let at = |percent| percentile(sorted, percent).map_or("-".to_string(), millis);
    format!(
        "{:>7} {:>8} {:>8} {:>8}",
        sorted.len(),
        at(50),
        at(99),
        at(100)
    )
}

fn quote(name: &str, what: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    println!("  {name}: {} {what}, the first:", lines.len());
    for line in lines.iter().take(QUOTED) {
        println!("    {line}");
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1e3)
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".to_string(), |kib| {
        format!("{:.0}", kib as f64 / 1024.0)
    })
}

/// The legend printed under the tables.
pub fn legend() {
    println!(
        "Latency is from sending a command to its tagged OK; only commands answered OK and sent \
         in the measured window count. A stall is the longest time in the window during which \
         no command of any client completed. Slow: over {} s. RSS: the server's processes (for \
         Dovecot, the master and its children), before the load and at the end of each quarter \
         of the measured window. \
         Expunge races: NO [EXPUNGEISSUED], or COPY answered OK without COPYUID, because another \
         session expunged the messages. Left after EXPUNGE: messages a session marked \\Deleted \
         and still saw after its EXPUNGE, expunged by another session and not yet reported.",
        SLOW.as_secs()
    );
}
