//! `postino restore SRC`: loads a backup into an empty store.

use std::path::Path;

use anyhow::{Context, bail};
use postino_common::store::{BLOB_COLUMNS, IMAGE_TABLES, Load, Store};
use serde::Serialize;

use super::{Backup, TableFile, blob_entry};

/// Rows loaded per batch.
const BATCH: usize = 1000;
/// Bodies loaded per batch, and the bytes at which a batch ends sooner.
const BODY_BATCH: usize = 100;
const BODY_BATCH_BYTES: usize = 16 << 20;

/// What a restore loaded.
#[derive(Debug, Default, Serialize)]
pub struct Restored {
    pub tables: usize,
    pub rows: u64,
    pub bodies: u64,
    pub body_bytes: u64,
}

/// Loads the backup at `src` into `store`, in one transaction, after
/// checking that it was taken with the same schema and that every table
/// file matches its checksum; every body is checked against its hash as it
/// is loaded. A store that is not empty is refused, unless `replace`,
/// which replaces what it held. On any error the store is left as it was.
pub async fn restore(
    store: &Store,
    src: &Path,
    replace: bool,
    mut progress: impl FnMut(&str, u64),
) -> anyhow::Result<Restored> {
    let backup = Backup::open(src)?;
    let schema = store.schema_version().await?;
    if backup.manifest.schema != schema {
        bail!(
            "{} was taken with schema {} (Postino {}); this store has schema {schema}. \
             Restore it with the release that took it, then upgrade",
            src.display(),
            backup.manifest.schema,
            backup.manifest.postino
        );
    }
    let mut files = Vec::new();
    for table in IMAGE_TABLES {
        let file = backup.table(table)?;
        backup.check_table(file)?;
        files.push(file);
    }
    let mut load = store.load(replace).await?;
    let mut restored = Restored::default();
    for file in files {
        let rows = if file.table == "blobs" {
            load_blobs(&backup, file, &mut load, &mut restored).await?
        } else {
            load_table(&backup, file, &mut load).await?
        };
        if rows != file.rows {
            bail!(
                "{}: {rows} rows, the manifest says {}",
                file.file,
                file.rows
            );
        }
        progress(&file.table, rows);
        restored.tables += 1;
        restored.rows += rows;
    }
    load.commit().await?;
    Ok(restored)
}

async fn load_table(backup: &Backup, file: &TableFile, load: &mut Load) -> anyhow::Result<u64> {
    let mut reader = backup.read_table(file)?;
    let mut rows = 0;
    loop {
        let batch = reader.batch(BATCH).with_context(|| file.file.clone())?;
        if batch.is_empty() {
            return Ok(rows);
        }
        rows += batch.len() as u64;
        load.insert(&file.table, &reader.columns, &batch).await?;
    }
}

async fn load_blobs(
    backup: &Backup,
    file: &TableFile,
    load: &mut Load,
    restored: &mut Restored,
) -> anyhow::Result<u64> {
    let mut reader = backup.read_table(file)?;
    if reader.columns != BLOB_COLUMNS {
        bail!("{}: the columns are not {BLOB_COLUMNS:?}", file.file);
    }
    let mut rows = 0;
    let mut pending = Vec::new();
    let mut pending_bytes = 0;
    loop {
        let batch = reader
            .batch(BODY_BATCH)
            .with_context(|| file.file.clone())?;
        let last = batch.is_empty();
        for row in batch {
            let entry = blob_entry(&row)?;
            let body = backup.read_body(&entry.hash, entry.size)?;
            rows += 1;
            restored.bodies += 1;
            restored.body_bytes += body.len() as u64;
            pending_bytes += body.len();
            pending.push((entry, body));
            if pending.len() >= BODY_BATCH || pending_bytes >= BODY_BATCH_BYTES {
                load.insert_blobs(std::mem::take(&mut pending)).await?;
                pending_bytes = 0;
            }
        }
        if last {
            load.insert_blobs(pending).await?;
            return Ok(rows);
        }
    }
}
