//! `postino audit`: the audit log, newest first, as a table, JSON or CSV;
//! `audit verify` checks the hash chains of the audit and access logs, and
//! `audit export` writes both for an inspection.

use clap::{Args, Subcommand, ValueEnum};
use postino_common::store::AuditRecord;

use super::print::{ListFormat, print_list};
use crate::ops::{self, AuditFilter, Ops, Time};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: Option<AuditCommand>,
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

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the hash chains of the audit log and of the administrators'
    /// access log; fails naming the first entry altered, removed or moved.
    Verify {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write both logs between two times, with every entry's hashes and
    /// the chains' verification, for an inspection.
    Export {
        /// From this time on: RFC 3339, YYYY-MM-DD for midnight UTC, or
        /// seconds since the epoch (default: the oldest entry).
        #[arg(long, value_name = "TIME")]
        since: Option<Time>,
        /// Before this time, in the same forms (default: now).
        #[arg(long, value_name = "TIME")]
        until: Option<Time>,
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    Json,
    Csv,
}

pub async fn run(ops: &Ops, args: AuditArgs) -> anyhow::Result<()> {
    match args.command {
        Some(AuditCommand::Verify { json }) => verify(ops, json).await,
        Some(AuditCommand::Export {
            since,
            until,
            format,
        }) => {
            let export = ops
                .export_logs(since.map(Time::start), until.map(Time::start))
                .await?;
            match format {
                ExportFormat::Json => println!("{}", serde_json::to_string_pretty(&export)?),
                ExportFormat::Csv => print!("{}", export.csv()),
            }
            Ok(())
        }
        None => list(ops, args).await,
    }
}

/// Prints each chain's state; fails if one is broken.
async fn verify(ops: &Ops, json: bool) -> anyhow::Result<()> {
    let reports = ops.verify_logs().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for report in &reports {
            let before = match report.unchained {
                0 => String::new(),
                n => format!(", {n} older entries not chained"),
            };
            let state = match &report.broken {
                None => "ok".to_string(),
                Some(broken) => format!("BROKEN: {broken}"),
            };
            println!(
                "{}: {state} ({} entries checked{before})",
                report.chain, report.entries
            );
        }
    }
    if let Some(report) = reports.iter().find(|r| r.broken.is_some()) {
        let broken = report.broken.as_ref().map(ToString::to_string);
        anyhow::bail!(
            "the {} log has been tampered with: {}",
            report.chain,
            broken.unwrap_or_default()
        );
    }
    Ok(())
}

async fn list(ops: &Ops, args: AuditArgs) -> anyhow::Result<()> {
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
