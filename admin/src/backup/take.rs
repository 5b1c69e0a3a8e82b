//! `postino backup DEST`: a consistent backup while the server runs.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, bail};
use futures_util::TryStreamExt;
use postino_common::store::{BLOB_COLUMNS, Backend, IMAGE_TABLES, Snapshot, Store, now};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{
    Backup, BaseRef, Bodies, FORMAT, MANIFEST, Manifest, TableWriter, body_file, file_sha256,
    sync_tree,
};

/// Bodies read from the store at a time.
const BODY_PAGE: i64 = 200;

/// What a backup took.
#[derive(Debug, Serialize)]
pub struct Taken {
    pub tables: usize,
    pub rows: u64,
    /// Bodies written to this backup.
    pub bodies: Bodies,
    /// Bodies left to the base chain, which has them.
    pub in_base: u64,
}

/// Backs the store up into `dest`, a directory that does not exist yet or
/// is empty; with `base`, only the bodies that chain does not hold.
/// `progress` is told each table as it is done.
pub async fn take(
    store: &Store,
    dest: &Path,
    base: Option<&Path>,
    mut progress: impl FnMut(&str, u64),
) -> anyhow::Result<Taken> {
    let base = match base {
        Some(dir) => Some((open_base(dest, dir)?, dir)),
        None => None,
    };
    prepare(dest)?;
    let mut snapshot = store.snapshot().await?;
    let created_at = now();
    let schema = snapshot.schema_version().await?;
    let mut taken = Taken {
        tables: 0,
        rows: 0,
        bodies: Bodies::default(),
        in_base: 0,
    };
    let mut tables = Vec::new();
    for table in IMAGE_TABLES {
        let file = if *table == "blobs" {
            let chain = base.as_ref().map(|(backup, _)| backup);
            back_up_blobs(&mut snapshot, dest, chain, &mut taken).await?
        } else {
            let columns = snapshot.columns(table).await?;
            let mut writer = TableWriter::create(dest, table, &columns)?;
            let mut rows = snapshot.rows(table, &columns);
            while let Some(row) = rows.try_next().await? {
                writer.row(&row)?;
            }
            writer.finish()?
        };
        progress(table, file.rows);
        taken.tables += 1;
        taken.rows += file.rows;
        tables.push(file);
    }
    drop(snapshot);
    let base = match base {
        Some((_, dir)) => Some(BaseRef {
            name: dir_name(dir)?,
            manifest_sha256: file_sha256(&dir.join(MANIFEST))?.0,
        }),
        None => None,
    };
    let manifest = Manifest {
        format: FORMAT,
        postino: env!("CARGO_PKG_VERSION").to_string(),
        created_at,
        backend: match store.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
        .to_string(),
        schema,
        base,
        tables,
        bodies: Bodies {
            count: taken.bodies.count,
            bytes: taken.bodies.bytes,
        },
    };
    write_manifest(dest, &manifest)?;
    Ok(taken)
}

/// The base of an incremental backup, which must be a finished backup in
/// the same directory as the new one.
fn open_base(dest: &Path, base: &Path) -> anyhow::Result<Backup> {
    let parent_of = |dir: &Path| -> anyhow::Result<std::path::PathBuf> {
        let absolute = std::path::absolute(dir)?;
        Ok(absolute.parent().map(Path::to_path_buf).unwrap_or_default())
    };
    if parent_of(dest)? != parent_of(base)? {
        bail!(
            "the base {} must be in the same directory as {}",
            base.display(),
            dest.display()
        );
    }
    Backup::open(base)
}

fn dir_name(dir: &Path) -> anyhow::Result<String> {
    std::path::absolute(dir)?
        .file_name()
        .and_then(|name| name.to_str())
        .map(str::to_string)
        .with_context(|| format!("{} has no usable name", dir.display()))
}

/// Creates the backup's directories; one already there must be empty.
fn prepare(dest: &Path) -> anyhow::Result<()> {
    if dest.exists() {
        let mut entries =
            std::fs::read_dir(dest).with_context(|| format!("cannot read {}", dest.display()))?;
        if entries.next().is_some() {
            bail!("{} is not empty", dest.display());
        }
    }
    for sub in ["tables", "bodies"] {
        let dir = dest.join(sub);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(())
}

/// Writes the `blobs` rows, and the bodies the base chain lacks, a page
/// at a time in hash order.
async fn back_up_blobs(
    snapshot: &mut Snapshot,
    dest: &Path,
    base: Option<&Backup>,
    taken: &mut Taken,
) -> anyhow::Result<super::TableFile> {
    let columns: Vec<String> = BLOB_COLUMNS.iter().map(|c| c.to_string()).collect();
    let mut writer = TableWriter::create(dest, "blobs", &columns)?;
    let mut made = HashSet::new();
    let mut after = String::new();
    loop {
        let page = snapshot.blob_page(&after, BODY_PAGE).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.hash.clone();
        let mut wanted = Vec::new();
        for entry in &page {
            writer.row(&[
                entry.hash.clone().into(),
                entry.size.into(),
                entry.refcount.into(),
            ])?;
            match base {
                Some(chain) if chain.body_path(&entry.hash)?.is_some() => taken.in_base += 1,
                _ => wanted.push(entry.hash.as_str()),
            }
        }
        for (hash, body) in snapshot.bodies(&wanted).await? {
            if hex::encode(Sha256::digest(&body)) != hash {
                bail!(
                    "body {hash} in the store does not match its hash; `postino blobs verify` lists such bodies"
                );
            }
            let path = dest.join(body_file(&hash)?);
            let dir = path.parent().expect("a body file is in a directory");
            if made.insert(dir.to_path_buf()) {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&path, &body)
                .with_context(|| format!("cannot write {}", path.display()))?;
            taken.bodies.count += 1;
            taken.bodies.bytes += body.len() as u64;
        }
    }
    writer.finish()
}

/// Makes everything written durable, then writes the manifest that marks
/// the backup finished: to a temporary name, flushed, then renamed.
fn write_manifest(dest: &Path, manifest: &Manifest) -> anyhow::Result<()> {
    sync_tree(dest).with_context(|| format!("cannot flush {}", dest.display()))?;
    let temporary = dest.join(format!("{MANIFEST}.partial"));
    let file = std::fs::File::create(&temporary)?;
    serde_json::to_writer_pretty(&file, manifest)?;
    file.sync_all()?;
    std::fs::rename(&temporary, dest.join(MANIFEST))?;
    std::fs::File::open(dest)?.sync_all()?;
    Ok(())
}
