//! Mail in from files and out to files, for servers that can only hand
//! over files and for a comune that leaves: a Maildir++ tree or an mbox
//! file into a mailbox, and a mailbox out as a Maildir++ tree or as one
//! mbox file per folder. Importing what an export wrote gives back the
//! same messages, byte for byte, with the same flags, keywords and dates.

use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use super::folder_names;
use super::line_ends::to_crlf;
use super::maildir::{self, Found};
use super::mbox;
use super::report::MailboxReport;
use crate::ops::{BODIES_AT_ONCE, Exported, Importer, Incoming, NotImported, Ops};

/// Messages appended at once.
const APPEND_AT_ONCE: usize = 200;

/// The formats of `mailbox export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Mbox,
    Maildir,
}

/// Imports the Maildir++ tree at `root` into `address`.
pub async fn import_maildir(ops: &Ops, address: &str, root: &Path) -> MailboxReport {
    let started = Instant::now();
    let mut report = MailboxReport::new(address);
    let source = format!("maildir:{}", root.display());
    match maildir_into(ops, address, root, &mut report).await {
        Ok(importer) => audit(ops, &importer, source, &report).await,
        Err(err) => report.error = Some(format!("{err:#}")),
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

async fn maildir_into(
    ops: &Ops,
    address: &str,
    root: &Path,
    report: &mut MailboxReport,
) -> anyhow::Result<Importer> {
    let mut importer = ops.importer(address).await?;
    let owned = root.to_path_buf();
    let found = tokio::task::spawn_blocking(move || maildir::folders(&owned))
        .await
        .context("the maildir reader stopped")??;
    let (listed, dirs): (Vec<_>, Vec<_>) = found.into_iter().unzip();
    for (folder, dir) in folder_names::map(&listed).into_iter().zip(dirs) {
        let folder_id = importer.folder(&folder.name, folder.special_use).await?;
        let owned = dir.clone();
        let messages = tokio::task::spawn_blocking(move || maildir::messages(&owned))
            .await
            .context("the maildir reader stopped")?
            .with_context(|| format!("cannot list {}", dir.display()))?;
        for batch in messages.chunks(APPEND_AT_ONCE) {
            let mut incoming = Vec::with_capacity(batch.len());
            for found in batch {
                incoming.push(read_found(found).await?);
            }
            let names: Vec<String> = batch.iter().map(|f| f.path.display().to_string()).collect();
            let sizes: Vec<u64> = incoming.iter().map(|m| m.raw.len() as u64).collect();
            let outcomes = importer.append(folder_id, incoming).await;
            count(report, names, sizes, outcomes);
        }
        report.folders += 1;
    }
    Ok(importer)
}

async fn read_found(found: &Found) -> anyhow::Result<Incoming> {
    let raw = tokio::fs::read(&found.path)
        .await
        .with_context(|| format!("cannot read {}", found.path.display()))?;
    Ok(Incoming {
        raw: to_crlf(raw),
        flags: found.flags,
        keywords: found.keywords.clone(),
        internal_date: found.internal_date,
        origin: None,
    })
}

/// Imports the mbox file `file` into folder `folder` of `address`.
pub async fn import_mbox(ops: &Ops, address: &str, file: &Path, folder: &str) -> MailboxReport {
    let started = Instant::now();
    let mut report = MailboxReport::new(address);
    let source = format!("mbox:{}", file.display());
    match mbox_into(ops, address, file, folder, &mut report).await {
        Ok(importer) => audit(ops, &importer, source, &report).await,
        Err(err) => report.error = Some(format!("{err:#}")),
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

async fn mbox_into(
    ops: &Ops,
    address: &str,
    file: &Path,
    folder: &str,
    report: &mut MailboxReport,
) -> anyhow::Result<Importer> {
    let mut importer = ops.importer(address).await?;
    let bytes = tokio::fs::read(file)
        .await
        .with_context(|| format!("cannot read {}", file.display()))?;
    let messages = mbox::read(&bytes, postino_common::store::now())
        .with_context(|| format!("cannot import {}", file.display()))?;
    drop(bytes);
    let folder_id = importer.folder(folder, None).await?;
    let mut number = 0;
    let mut messages = messages.into_iter().peekable();
    while messages.peek().is_some() {
        let batch: Vec<Incoming> = messages.by_ref().take(APPEND_AT_ONCE).collect();
        let names = (0..batch.len())
            .map(|_| {
                number += 1;
                format!("{} message {number}", file.display())
            })
            .collect();
        let sizes = batch.iter().map(|m| m.raw.len() as u64).collect();
        let outcomes = importer.append(folder_id, batch).await;
        count(report, names, sizes, outcomes);
    }
    report.folders = 1;
    Ok(importer)
}

/// Adds a batch's outcomes to a report.
fn count(
    report: &mut MailboxReport,
    names: Vec<String>,
    sizes: Vec<u64>,
    outcomes: Vec<Result<(), NotImported>>,
) {
    for ((name, size), outcome) in names.into_iter().zip(sizes).zip(outcomes) {
        match outcome {
            Ok(()) => {
                report.messages += 1;
                report.bytes += size;
            }
            Err(why) => report.fail(format!("{name} ({size} bytes): {why}")),
        }
    }
}

async fn audit(ops: &Ops, importer: &Importer, source: String, report: &MailboxReport) {
    let imported = crate::ops::Imported {
        source,
        folders: report.folders,
        messages: report.messages,
        bytes: report.bytes,
        failures: report.failed,
    };
    if let Err(err) = ops.record_import(importer, &imported).await {
        tracing::warn!(address = %report.address, error = %err, "cannot audit an import");
    }
}

/// Writes every folder of `address` under `dest`, which must not exist
/// or be empty: a Maildir++ tree, or one mbox file per folder
/// (`Lavoro/Progetti.mbox`).
pub async fn export(
    ops: &Ops,
    address: &str,
    format: Format,
    dest: &Path,
) -> anyhow::Result<Exported> {
    let exporter = ops.exporter(address).await?;
    make_empty_dir(dest)?;
    let mut exported = Exported {
        format: format!("{format:?}").to_lowercase(),
        destination: dest.display().to_string(),
        ..Exported::default()
    };
    let mut tree = maildir::Writer::new(dest);
    for folder in &exporter.folders {
        let messages = exporter.messages(folder).await?;
        let maildir_folder = match format {
            Format::Maildir => Some(tree.folder(&folder.name, &folder.keywords)?),
            Format::Mbox => None,
        };
        let mut mbox_file = match format {
            Format::Mbox => {
                let path = mbox_path(dest, &folder.name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let file = std::fs::File::create(&path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                Some(std::io::BufWriter::new(file))
            }
            Format::Maildir => None,
        };
        for batch in messages.chunks(BODIES_AT_ONCE) {
            let uids: Vec<i64> = batch.iter().map(|m| m.uid).collect();
            let bodies = exporter.bodies(folder, &uids).await?;
            for (summary, (_, raw)) in batch
                .iter()
                .filter_map(|m| bodies.iter().find(|(uid, _)| *uid == m.uid).map(|b| (m, b)))
            {
                if let Some(writer) = &maildir_folder {
                    tree.message(
                        writer,
                        raw,
                        summary.flags,
                        &summary.keywords,
                        summary.internal_date,
                    )?;
                }
                if let Some(file) = &mut mbox_file {
                    mbox::write(
                        file,
                        raw,
                        summary.flags,
                        &summary.keywords,
                        summary.internal_date,
                    )?;
                }
                exported.messages += 1;
                exported.bytes += raw.len() as u64;
            }
        }
        if let Some(mut file) = mbox_file {
            std::io::Write::flush(&mut file)?;
        }
        exported.folders += 1;
    }
    ops.record_export(&exporter, &exported).await?;
    Ok(exported)
}

/// Makes `dest`, refusing one that holds anything: an export never
/// overwrites or mixes with other files.
fn make_empty_dir(dest: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    let mut entries =
        std::fs::read_dir(dest).with_context(|| format!("cannot read {}", dest.display()))?;
    if entries.next().is_some() {
        anyhow::bail!("{} is not empty", dest.display());
    }
    Ok(())
}

/// The mbox file of folder `name` under `dest`: its levels as
/// directories, the last with `.mbox`. A level that would leave `dest`
/// (`..`) or mean nothing (`.`) is written `_`.
fn mbox_path(dest: &Path, name: &str) -> PathBuf {
    let mut path = dest.to_path_buf();
    let levels: Vec<&str> = name.split('/').collect();
    for (at, level) in levels.iter().enumerate() {
        let safe = match Path::new(level).components().next() {
            Some(Component::Normal(_)) if !level.is_empty() => *level,
            _ => "_",
        };
        match at + 1 == levels.len() {
            true => path.push(format!("{safe}.mbox")),
            false => path.push(safe),
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_paths_stay_inside_the_destination() {
        let dest = Path::new("/out");
        assert_eq!(mbox_path(dest, "INBOX"), Path::new("/out/INBOX.mbox"));
        assert_eq!(
            mbox_path(dest, "Lavoro/Città"),
            Path::new("/out/Lavoro/Città.mbox")
        );
        assert_eq!(mbox_path(dest, "../x/./y"), Path::new("/out/_/x/_/y.mbox"));
    }
}
