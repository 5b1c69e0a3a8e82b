//! Maildir++ trees, one mailbox each (as Dovecot and Courier keep them):
//! the INBOX in `cur/` and `new/` at the top, each other folder in a
//! directory `.Name.Sub` (levels joined by `.`, names in modified UTF-7),
//! one file per message. Flags are in the file name after `:2,` (see
//! [`super::file_flags`]), keywords named in the folder's
//! `dovecot-keywords`, and the INTERNALDATE is the file's mtime, as
//! Dovecot keeps it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use postino_common::mailbox_name;
use postino_common::store::{Flags, Keywords};

use super::file_flags;
use super::folder_names::Listed;

/// A message file found in a folder.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    pub flags: Flags,
    pub keywords: Keywords,
    /// The file's mtime, Unix seconds.
    pub internal_date: i64,
}

/// The folders of the tree at `root`, each as LIST would give it (its
/// name without the leading `.`, delimiter `.`) with its directory.
pub fn folders(root: &Path) -> io::Result<Vec<(Listed, PathBuf)>> {
    if !root.join("cur").is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a maildir: it has no cur/", root.display()),
        ));
    }
    let listed = |raw: String| Listed {
        raw,
        delimiter: Some('.'),
        selectable: true,
        special_use: None,
    };
    let mut found = vec![(listed("INBOX".to_string()), root.to_path_buf())];
    let mut others = Vec::new();
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(folder) = name.strip_prefix('.') else {
            continue;
        };
        if folder.is_empty() || folder == "." || !entry.path().join("cur").is_dir() {
            continue;
        }
        others.push((listed(folder.to_string()), entry.path()));
    }
    others.sort_by(|a, b| a.0.raw.cmp(&b.0.raw));
    found.extend(others);
    Ok(found)
}

/// The messages of one folder directory, in `cur/` and `new/`, oldest
/// first.
pub fn messages(dir: &Path) -> io::Result<Vec<Found>> {
    let keywords = known_keywords(dir)?;
    let mut found = Vec::new();
    for sub in ["cur", "new"] {
        let Ok(entries) = fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries {
            let entry = entry?;
            let metadata = entry.metadata()?;
            if !metadata.is_file() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let info = name.rsplit_once(":2,").map_or("", |(_, info)| info);
            let (flags, named) = file_flags::from_maildir(info, &keywords);
            let internal_date = metadata
                .modified()
                .ok()
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs() as i64);
            found.push(Found {
                path: entry.path(),
                flags,
                keywords: named,
                internal_date,
            });
        }
    }
    found.sort_by(|a, b| (a.internal_date, &a.path).cmp(&(b.internal_date, &b.path)));
    Ok(found)
}

/// The keywords of a folder's `dovecot-keywords` (`N name` lines), by
/// letter position; none if it has no such file.
fn known_keywords(dir: &Path) -> io::Result<Vec<String>> {
    let text = match fs::read_to_string(dir.join("dovecot-keywords")) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut known = Vec::new();
    for line in text.lines() {
        let Some((number, name)) = line.split_once(' ') else {
            continue;
        };
        let Ok(at) = number.parse::<usize>() else {
            continue;
        };
        if at < 26 {
            if known.len() <= at {
                known.resize(at + 1, String::new());
            }
            known[at] = name.trim().to_string();
        }
    }
    Ok(known)
}

/// Writes folders of one mailbox as a Maildir++ tree.
pub struct Writer {
    root: PathBuf,
    /// Distinguishes file names written in the same second.
    counter: u64,
}

/// One folder being written.
pub struct FolderWriter {
    dir: PathBuf,
    keywords: Vec<String>,
}

impl Writer {
    pub fn new(root: &Path) -> Writer {
        Writer {
            root: root.to_path_buf(),
            counter: 0,
        }
    }

    /// Makes folder `name`'s directory, with `keywords` (the folder's, at
    /// most 26 kept as letters) in its `dovecot-keywords`.
    pub fn folder(&self, name: &str, keywords: &Keywords) -> io::Result<FolderWriter> {
        let dir = match name {
            "INBOX" => self.root.clone(),
            _ => self
                .root
                .join(format!(".{}", mailbox_name::encode(name).replace('/', "."))),
        };
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        if name != "INBOX" {
            fs::write(dir.join("maildirfolder"), b"")?;
        }
        let keywords: Vec<String> = keywords.iter().take(26).map(str::to_string).collect();
        if !keywords.is_empty() {
            let lines: String = keywords
                .iter()
                .enumerate()
                .map(|(at, k)| format!("{at} {k}\n"))
                .collect();
            fs::write(dir.join("dovecot-keywords"), lines)?;
        }
        Ok(FolderWriter { dir, keywords })
    }

    /// Writes one message into `folder`'s `cur/`, dated `internal_date`.
    pub fn message(
        &mut self,
        folder: &FolderWriter,
        raw: &[u8],
        flags: Flags,
        keywords: &Keywords,
        internal_date: i64,
    ) -> io::Result<()> {
        self.counter += 1;
        let info = file_flags::to_maildir(flags, keywords, &folder.keywords);
        let name = format!(
            "{internal_date}.M{}P{}.postino,S={}:2,{info}",
            self.counter,
            std::process::id(),
            raw.len()
        );
        let path = folder.dir.join("cur").join(name);
        let file = fs::File::create(&path)?;
        io::Write::write_all(&mut &file, raw)?;
        let date = SystemTime::UNIX_EPOCH + Duration::from_secs(internal_date.max(0) as u64);
        file.set_modified(date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_tree_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = Writer::new(dir.path());
        let mut keywords = Keywords::default();
        keywords.insert("$Label1");
        let inbox = writer.folder("INBOX", &Keywords::default()).unwrap();
        let nested = writer.folder("Lavoro/Città", &keywords).unwrap();
        writer
            .message(
                &inbox,
                b"Subject: a\r\n\r\n",
                Flags::SEEN,
                &Keywords::default(),
                1000,
            )
            .unwrap();
        writer
            .message(
                &nested,
                b"Subject: b\r\n\r\n",
                Flags::FLAGGED,
                &keywords,
                2000,
            )
            .unwrap();
        let found = folders(dir.path()).unwrap();
        let names: Vec<&str> = found.iter().map(|(l, _)| l.raw.as_str()).collect();
        assert_eq!(names, ["INBOX", "Lavoro.Citt&AOA-"]);
        let inbox = messages(&found[0].1).unwrap();
        assert_eq!(
            (inbox[0].flags, inbox[0].internal_date),
            (Flags::SEEN, 1000)
        );
        let nested = messages(&found[1].1).unwrap();
        assert_eq!(nested[0].flags, Flags::FLAGGED);
        assert!(nested[0].keywords.contains("$Label1"));
        assert_eq!(nested[0].internal_date, 2000);
    }

    #[test]
    fn a_directory_without_cur_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(folders(dir.path()).is_err());
    }
}
