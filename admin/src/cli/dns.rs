//! `postino dns`: the records a domain needs in its zone, as zone-file
//! lines.

use super::print::{ListFormat, print_list};
use crate::ops::{DnsRecord, Ops, Publishing};

pub async fn run(
    ops: &Ops,
    domain: &str,
    publishing: &Publishing,
    format: &ListFormat,
) -> anyhow::Result<()> {
    let records = ops.dns_records(domain, publishing).await?;
    print_list(format, &records, zone_lines)
}

/// Records as zone-file lines, each after a comment saying what it is for.
fn zone_lines(records: &[DnsRecord]) {
    for r in records {
        println!("; {}", r.comment);
        println!("{}. IN {} {}", r.name, r.kind, r.data);
    }
}
