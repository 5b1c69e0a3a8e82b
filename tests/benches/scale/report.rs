//! The printed figures: a table per scale, then how each operation's p50
//! and p99 at every scale compare with the first scale's.

use postino_tests::bench::percentile;

use crate::database::Size;
use crate::probe::Timings;

/// One scale's figures.
pub struct Scale {
    pub mailboxes: usize,
    pub size: Size,
    /// How long growing the database to this scale took, if it was grown.
    pub load_seconds: Option<f64>,
    pub timings: Vec<Timings>,
}

fn millis(timings: &Timings, percent: usize) -> f64 {
    percentile(&timings.latencies, percent).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
}

pub fn scale(scale: &Scale) {
    let size = &scale.size;
    println!();
    println!(
        "== {} mailboxes: {} domains, {} folders, {} messages, database {:.1} GB{} ==",
        scale.mailboxes,
        size.domains,
        size.folders,
        size.messages,
        size.bytes as f64 / 1e9,
        scale
            .load_seconds
            .map_or(String::new(), |s| format!(", loaded in {s:.0} s")),
    );
    println!(
        "{:<34} {:>7} {:>9} {:>9} {:>9} {:>9}",
        "operation", "samples", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for t in &scale.timings {
        println!(
            "{:<34} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            t.operation,
            t.latencies.len(),
            millis(t, 50),
            millis(t, 90),
            millis(t, 99),
            millis(t, 100),
        );
    }
}

/// Each operation's p50 and p99 at every scale over the first scale's.
pub fn ratios(scales: &[Scale]) {
    let Some(first) = scales.first() else {
        return;
    };
    if scales.len() < 2 {
        return;
    }
    println!();
    println!("== compared with {} mailboxes ==", first.mailboxes);
    let mut header = format!("{:<34}", "operation");
    for s in &scales[1..] {
        header.push_str(&format!(
            " {:>13} {:>13}",
            format!("p50 {}", s.mailboxes),
            format!("p99 {}", s.mailboxes)
        ));
    }
    println!("{header}");
    for (i, base) in first.timings.iter().enumerate() {
        let mut row = format!("{:<34}", base.operation);
        for s in &scales[1..] {
            let t = &s.timings[i];
            row.push_str(&format!(
                " {:>12.2}x {:>12.2}x",
                millis(t, 50) / millis(base, 50),
                millis(t, 99) / millis(base, 99)
            ));
        }
        println!("{row}");
    }
}
