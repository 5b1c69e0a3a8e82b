//! `postino usage`: storage used by every domain, or one, and by its
//! mailboxes, against their quotas.

use super::print::{ListFormat, print_list, quota_text, size_text};
use crate::ops::{DomainUsage, Ops};

pub async fn run(ops: &Ops, domain: Option<&str>, format: &ListFormat) -> anyhow::Result<()> {
    let usage = ops.usage(domain).await?;
    print_list(format, &usage, usage_table)
}

/// Used of quota, as a percentage; none without a quota.
fn percent_text(used: i64, quota: i64) -> String {
    if quota > 0 {
        format!("{:.1}%", used as f64 * 100.0 / quota as f64)
    } else {
        "-".to_string()
    }
}

/// Each domain's line, then its mailboxes' lines, indented.
fn usage_table(usage: &[DomainUsage]) {
    println!(
        "{:<44} {:>10} {:>10} {:>7}",
        "ADDRESS", "USED", "QUOTA", "USE"
    );
    for u in usage {
        let d = &u.domain;
        println!(
            "{:<44} {:>10} {:>10} {:>7}",
            d.name,
            size_text(d.used_bytes),
            quota_text(d.quota_bytes),
            percent_text(d.used_bytes, d.quota_bytes)
        );
        for a in &u.accounts {
            let address = format!("  {}", a.address);
            let state = if a.active { "" } else { "  (disabled)" };
            println!(
                "{address:<44} {:>10} {:>10} {:>7}{state}",
                size_text(a.used_bytes),
                quota_text(a.quota_bytes),
                percent_text(a.used_bytes, a.quota_bytes)
            );
        }
    }
}
