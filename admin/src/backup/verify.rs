//! `postino backup verify SRC`: checks a backup without restoring it.

use std::path::Path;

use serde::Serialize;

use super::{Backup, blob_entry};

/// Rows read from a table file at a time.
const BATCH: usize = 1000;

/// What a verification found.
#[derive(Debug, Default, Serialize)]
pub struct Verified {
    pub tables: usize,
    pub rows: u64,
    /// Bodies checked, in this backup and its bases.
    pub bodies: u64,
    pub body_bytes: u64,
    /// Empty when the backup is whole.
    pub problems: Vec<String>,
}

/// Checks every table file against its checksum and row count, and every
/// body the `blobs` rows name against its size and hash, wherever in the
/// chain it is. A manifest that cannot be read, or a base that is missing
/// or not the one the backup was taken on, is an error.
pub fn verify(dir: &Path) -> anyhow::Result<Verified> {
    let backup = Backup::open(dir)?;
    let mut verified = Verified::default();
    for file in &backup.manifest.tables {
        verified.tables += 1;
        if let Err(err) = backup.check_table(file) {
            verified.problems.push(format!("{err:#}"));
            continue;
        }
        let mut reader = match backup.read_table(file) {
            Ok(reader) => reader,
            Err(err) => {
                verified.problems.push(format!("{}: {err:#}", file.file));
                continue;
            }
        };
        let mut rows = 0;
        loop {
            let batch = match reader.batch(BATCH) {
                Ok(batch) if batch.is_empty() => break,
                Ok(batch) => batch,
                Err(err) => {
                    verified.problems.push(format!("{}: {err:#}", file.file));
                    break;
                }
            };
            rows += batch.len() as u64;
            if file.table == "blobs" {
                check_bodies(&backup, &batch, &mut verified);
            }
        }
        if rows != file.rows {
            verified.problems.push(format!(
                "{}: {rows} rows, the manifest says {}",
                file.file, file.rows
            ));
        }
        verified.rows += rows;
    }
    Ok(verified)
}

fn check_bodies(backup: &Backup, rows: &[Vec<serde_json::Value>], verified: &mut Verified) {
    for row in rows {
        let checked = blob_entry(row).and_then(|entry| backup.read_body(&entry.hash, entry.size));
        match checked {
            Ok(body) => {
                verified.bodies += 1;
                verified.body_bytes += body.len() as u64;
            }
            Err(err) => verified.problems.push(format!("{err:#}")),
        }
    }
}
