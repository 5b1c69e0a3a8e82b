//! How management commands print what they did or found: a table for
//! people, or JSON (`--json`) for scripts; sizes and quotas in the words
//! of the tables.

use clap::Args;
use postino_config::ByteSize;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct ListFormat {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn print_list<T: Serialize>(
    format: &ListFormat,
    items: &[T],
    table: fn(&[T]),
) -> anyhow::Result<()> {
    if format.json {
        print_json(&items)
    } else {
        table(items);
        Ok(())
    }
}

pub fn size_text(bytes: i64) -> String {
    ByteSize(u64::try_from(bytes).unwrap_or(0)).to_string()
}

pub fn quota_text(bytes: i64) -> String {
    if bytes == 0 {
        "unlimited".to_string()
    } else {
        size_text(bytes)
    }
}
