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

/// `value` as JSON, or as `text` prints it for people.
pub fn print<T: Serialize + ?Sized>(
    format: &ListFormat,
    value: &T,
    text: fn(&T),
) -> anyhow::Result<()> {
    if format.json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        text(value);
    }
    Ok(())
}

/// `items` as a JSON array, or as `table` prints them.
pub fn print_list<T: Serialize>(
    format: &ListFormat,
    items: &[T],
    table: fn(&[T]),
) -> anyhow::Result<()> {
    print(format, items, table)
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
