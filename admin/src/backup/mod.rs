//! Backups of the whole store: `postino backup`, `backup verify` and
//! `restore`.
//!
//! A backup is a directory:
//!
//! - `tables/<table>.jsonl.gz`: one file per table of the store's image
//!   (see [`postino_common::store::IMAGE_TABLES`]), gzip-compressed JSON
//!   lines, the column names first and then one array of values per row;
//! - `bodies/<2 hex>/<sha-256>`: the message bodies, each named by its
//!   hash, so that a body is its own checksum;
//! - `manifest.json`, written last: the format, the schema version, each
//!   table file's row count, size and SHA-256, and the backup this one adds
//!   to, if any. A directory without one is a backup that did not finish.
//!
//! An incremental backup (`--base`) holds every table, which are small
//! beside the bodies, and only the bodies its base chain does not have. Its
//! base is named as a sibling directory, with the SHA-256 of the base's
//! manifest, so a chain can be moved or copied as one directory of
//! backups and a base replaced by another is noticed.

mod restore;
mod take;
mod verify;

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use restore::restore;
pub use take::take;
pub use verify::{Verified, verify};

/// The version of the layout above.
const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The release that took it.
    pub postino: String,
    /// Unix seconds when its snapshot was taken.
    pub created_at: i64,
    /// The backend it was taken from: `sqlite` or `postgres`.
    pub backend: String,
    /// The last schema migration of the store it was taken from.
    pub schema: i64,
    pub base: Option<BaseRef>,
    pub tables: Vec<TableFile>,
    /// The bodies in this directory (not in its bases).
    pub bodies: Bodies,
}

/// The backup an incremental one adds to.
#[derive(Debug, Serialize, Deserialize)]
pub struct BaseRef {
    /// Its directory's name, beside this one.
    pub name: String,
    pub manifest_sha256: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct TableFile {
    pub table: String,
    /// Relative to the backup's directory.
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Bodies {
    pub count: u64,
    pub bytes: u64,
}

/// An opened backup: its manifest, and the directories of its chain, this
/// one first.
pub struct Backup {
    pub manifest: Manifest,
    chain: Vec<PathBuf>,
}

impl Backup {
    /// Reads the manifests of a backup and of its bases, checking that each
    /// base is the one the backup was taken on.
    pub fn open(dir: &Path) -> anyhow::Result<Backup> {
        let manifest = read_manifest(dir)?;
        let mut chain = vec![dir.to_path_buf()];
        let mut next = manifest
            .base
            .as_ref()
            .map(|b| (b.name.clone(), b.manifest_sha256.clone()));
        while let Some((name, expected)) = next {
            if chain.len() > 1000 {
                bail!("{}: a chain of more than 1000 backups", dir.display());
            }
            let parent = chain
                .last()
                .and_then(|d| d.parent())
                .unwrap_or(Path::new("."));
            if name.contains('/') || name == ".." || name == "." {
                bail!("{}: base `{name}` is not a directory name", dir.display());
            }
            let base = parent.join(&name);
            let (sha256, _) = file_sha256(&base.join(MANIFEST))
                .with_context(|| format!("base backup {} of {}", base.display(), dir.display()))?;
            if sha256 != expected {
                bail!(
                    "base backup {} is not the one {} was taken on (its manifest changed)",
                    base.display(),
                    dir.display()
                );
            }
            let base_manifest = read_manifest(&base)?;
            next = base_manifest.base.map(|b| (b.name, b.manifest_sha256));
            chain.push(base);
        }
        Ok(Backup { manifest, chain })
    }

    /// The directory of the backup itself.
    pub fn dir(&self) -> &Path {
        &self.chain[0]
    }

    /// Where the chain keeps the body with this hash, if it does.
    pub fn body_path(&self, hash: &str) -> anyhow::Result<Option<PathBuf>> {
        let relative = body_file(hash)?;
        Ok(self
            .chain
            .iter()
            .map(|dir| dir.join(&relative))
            .find(|path| path.exists()))
    }

    /// Reads a body of the chain, checking its size and hash.
    pub fn read_body(&self, hash: &str, size: i64) -> anyhow::Result<Vec<u8>> {
        let Some(path) = self.body_path(hash)? else {
            bail!("body {hash} is missing");
        };
        let body =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if body.len() as i64 != size {
            bail!("body {hash} has {} bytes, not {size}", body.len());
        }
        if hex::encode(Sha256::digest(&body)) != hash {
            bail!("body {hash} does not match its hash");
        }
        Ok(body)
    }

    /// The manifest's entry for a table.
    pub fn table(&self, table: &str) -> anyhow::Result<&TableFile> {
        self.manifest
            .tables
            .iter()
            .find(|t| t.table == table)
            .with_context(|| format!("the backup has no table {table}"))
    }

    /// Checks a table file against its size and checksum.
    pub fn check_table(&self, file: &TableFile) -> anyhow::Result<()> {
        let path = self.table_path(file)?;
        let (sha256, bytes) =
            file_sha256(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if bytes != file.bytes || sha256 != file.sha256 {
            bail!("{} does not match its checksum", file.file);
        }
        Ok(())
    }

    /// Opens a table file for reading.
    pub fn read_table(&self, file: &TableFile) -> anyhow::Result<TableReader> {
        TableReader::open(&self.table_path(file)?)
    }

    fn table_path(&self, file: &TableFile) -> anyhow::Result<PathBuf> {
        if file.file != table_file(&file.table) {
            bail!(
                "`{}` is not where a backup keeps table {}",
                file.file,
                file.table
            );
        }
        Ok(self.dir().join(&file.file))
    }
}

fn read_manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            bail!(
                "{} is not a finished backup: it has no {MANIFEST}",
                dir.display()
            )
        }
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    };
    let manifest: Manifest = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a backup manifest", path.display()))?;
    if manifest.format != FORMAT {
        bail!(
            "{} is in backup format {}; this release reads format {FORMAT}",
            dir.display(),
            manifest.format
        );
    }
    Ok(manifest)
}

/// Where a backup keeps a table, relative to its directory.
fn table_file(table: &str) -> String {
    format!("tables/{table}.jsonl.gz")
}

/// Where a backup keeps a body, relative to its directory; the hash comes
/// from a file that may have been tampered with, so it is checked first.
fn body_file(hash: &str) -> anyhow::Result<PathBuf> {
    if hash.len() != 64
        || !hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        bail!("`{hash}` is not a body hash");
    }
    Ok(Path::new("bodies").join(&hash[..2]).join(hash))
}

/// The SHA-256 (hex) and size of a file.
fn file_sha256(path: &Path) -> io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let bytes = io::copy(&mut file, &mut hasher)?;
    Ok((hex::encode(hasher.finalize()), bytes))
}

/// Writes a table file, counting and hashing what it writes.
struct TableWriter {
    table: String,
    out: GzEncoder<Hashing<BufWriter<File>>>,
    rows: u64,
}

impl TableWriter {
    fn create(dir: &Path, table: &str, columns: &[String]) -> anyhow::Result<TableWriter> {
        let path = dir.join(table_file(table));
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let hashing = Hashing {
            inner: BufWriter::new(file),
            hasher: Sha256::new(),
            bytes: 0,
        };
        let mut writer = TableWriter {
            table: table.to_string(),
            out: GzEncoder::new(hashing, Compression::fast()),
            rows: 0,
        };
        serde_json::to_writer(&mut writer.out, columns)?;
        writer.out.write_all(b"\n")?;
        Ok(writer)
    }

    fn row(&mut self, values: &[Value]) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.out, values)?;
        self.out.write_all(b"\n")?;
        self.rows += 1;
        Ok(())
    }

    fn finish(self) -> anyhow::Result<TableFile> {
        let mut hashing = self.out.finish()?;
        hashing.inner.flush()?;
        Ok(TableFile {
            file: table_file(&self.table),
            table: self.table,
            rows: self.rows,
            bytes: hashing.bytes,
            sha256: hex::encode(hashing.hasher.finalize()),
        })
    }
}

/// A writer that hashes and counts the bytes it passes on.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads a table file: its columns, then its rows a batch at a time.
pub struct TableReader {
    pub columns: Vec<String>,
    lines: io::Lines<BufReader<GzDecoder<File>>>,
}

impl TableReader {
    fn open(path: &Path) -> anyhow::Result<TableReader> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut lines = BufReader::new(GzDecoder::new(file)).lines();
        let first = lines
            .next()
            .transpose()?
            .with_context(|| format!("{} is empty", path.display()))?;
        let columns = serde_json::from_str(&first).with_context(|| {
            format!(
                "{}: the first line is not a list of columns",
                path.display()
            )
        })?;
        Ok(TableReader { columns, lines })
    }

    /// Up to `count` rows; none at the end.
    pub fn batch(&mut self, count: usize) -> anyhow::Result<Vec<Vec<Value>>> {
        let mut rows = Vec::new();
        for line in self.lines.by_ref().take(count) {
            let line = line?;
            let row: Vec<Value> =
                serde_json::from_str(&line).context("a row that is not a JSON array")?;
            if row.len() != self.columns.len() {
                bail!(
                    "a row of {} values for {} columns",
                    row.len(),
                    self.columns.len()
                );
            }
            rows.push(row);
        }
        Ok(rows)
    }
}

/// A `blobs` row of a table file: hash, size and reference count.
fn blob_entry(row: &[Value]) -> anyhow::Result<postino_common::store::BlobEntry> {
    match row {
        [Value::String(hash), size, refcount] => Ok(postino_common::store::BlobEntry {
            hash: hash.clone(),
            size: size
                .as_i64()
                .context("a body size that is not an integer")?,
            refcount: refcount
                .as_i64()
                .context("a reference count that is not an integer")?,
        }),
        _ => bail!("a blobs row that is not hash, size, reference count"),
    }
}

/// Flushes everything written under `dir` to disk, then the directory.
fn sync_tree(dir: &Path) -> io::Result<()> {
    let handle = File::open(dir)?;
    rustix::fs::syncfs(&handle)?;
    handle.sync_all()
}
