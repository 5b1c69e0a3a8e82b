//! `postino audit`: the audit log, newest first, as a table, JSON or CSV.

use clap::Args;
use postino_common::store::AuditRecord;

use super::print::{ListFormat, print_list};
use crate::ops::{self, AuditFilter, Ops, Time};

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only the entries about this domain (it may have been removed since).
    #[arg(long, value_name = "NAME")]
    domain: Option<String>,
    /// Only the entries of this actor, such as an admin's username or
    /// cli:root.
    #[arg(long, value_name = "NAME")]
    actor: Option<String>,
    /// Only the entries from this time on: RFC 3339, YYYY-MM-DD for
    /// midnight UTC, or seconds since the epoch.
    #[arg(long, value_name = "TIME")]
    since: Option<Time>,
    /// Only the entries before this time: RFC 3339, YYYY-MM-DD for
    /// midnight UTC (that day is not included), or seconds since the
    /// epoch.
    #[arg(long, value_name = "TIME")]
    until: Option<Time>,
    /// At most this many entries, 1 to 1000.
    #[arg(long, value_name = "N", default_value_t = 100)]
    limit: i64,
    /// Print JSON instead of a table.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV (RFC 4180), for a spreadsheet.
    #[arg(long)]
    csv: bool,
}

pub async fn run(ops: &Ops, args: AuditArgs) -> anyhow::Result<()> {
    let records = ops
        .audit_log(&AuditFilter {
            domain: args.domain,
            actor: args.actor,
            since: args.since.map(Time::start),
            until: args.until.map(Time::start),
            before_id: None,
            limit: Some(args.limit),
        })
        .await?;
    if args.csv {
        print!("{}", ops::audit_csv(&records));
        Ok(())
    } else {
        print_list(&ListFormat { json: args.json }, &records, audit_table)
    }
}

fn audit_table(records: &[AuditRecord]) {
    println!(
        "{:>6} {:<20} {:<24} {:<16} {:<16} TARGET",
        "ID", "AT", "ACTOR", "ORIGIN", "ACTION"
    );
    for r in records {
        println!(
            "{:>6} {:<20} {:<24} {:<16} {:<16} {}",
            r.id,
            ops::utc(r.at),
            r.actor,
            r.origin,
            r.action,
            r.target
        );
    }
}
