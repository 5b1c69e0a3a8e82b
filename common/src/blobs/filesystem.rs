//! Bodies as files under one directory, each at its key (`xx/yy/NAME`).
//! A directory on a shared file system (CephFS, NFS) serves several nodes:
//! keys are unique, so no two writers ever touch the same file.
//!
//! A file is written under its final name and flushed, and so is the
//! directory entry naming it, before its location is handed out: a
//! half-written file can only be one no row names yet, an orphan.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{BlobError, Result, is_key};

/// Bodies are mail: readable by the service's user only.
const FILE_MODE: u32 = 0o600;
const DIR_MODE: u32 = 0o700;

/// A directory of bodies; cheap to clone.
#[derive(Debug, Clone)]
pub struct Filesystem {
    root: Arc<PathBuf>,
}

impl Filesystem {
    pub fn new(root: PathBuf) -> Filesystem {
        Filesystem {
            root: Arc::new(root),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(super) async fn put(&self, key: &str, body: Arc<[u8]>) -> Result<()> {
        let path = self.root.join(key);
        self.blocking(key, move |root| write_durably(root, &path, &body))
            .await
    }

    pub(super) async fn get(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.root.join(key);
        self.blocking(key, move |_| fs::read(&path)).await
    }

    pub(super) async fn delete(&self, key: &str) -> Result<()> {
        let path = self.root.join(key);
        self.blocking(key, move |_| match fs::remove_file(&path) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        })
        .await
    }

    pub(super) async fn list_old(
        &self,
        after: Option<String>,
        age: u64,
        limit: usize,
    ) -> Result<Vec<String>> {
        let cutoff = SystemTime::now() - Duration::from_secs(age);
        self.blocking("", move |root| {
            list_old(root, after.as_deref(), cutoff, limit)
        })
        .await
    }

    /// Runs file work off the async threads, naming `key` in its error; a
    /// missing file is [`BlobError::Missing`].
    async fn blocking<T, F>(&self, key: &str, work: F) -> Result<T>
    where
        F: FnOnce(&Path) -> io::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let root = self.root.clone();
        let location = format!("{}{key}", super::FILESYSTEM_PREFIX);
        let done = tokio::task::spawn_blocking(move || work(&root)).await;
        let result = done.unwrap_or_else(|err| Err(io::Error::other(err.to_string())));
        result.map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => BlobError::Missing { location },
            _ => BlobError::Io { location, source },
        })
    }
}

/// Writes `body` to the new file `path`, then flushes it and its directory.
fn write_durably(root: &Path, path: &Path, body: &[u8]) -> io::Result<()> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(path)
    };
    let dir = path.parent().unwrap_or(root);
    let mut file = match open() {
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            make_dirs(root, dir)?;
            open()?
        }
        other => other?,
    };
    let written = file.write_all(body).and_then(|()| file.sync_all());
    if let Err(err) = written {
        let _ = fs::remove_file(path);
        return Err(err);
    }
    sync_dir(dir)
}

/// Creates `dir` and the directories between it and `root` that are
/// missing, each flushed into its parent.
fn make_dirs(root: &Path, dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.mode(DIR_MODE);
    if !root.is_dir() {
        builder.recursive(true).create(root)?;
        builder.recursive(false);
    }
    let mut at = root.to_path_buf();
    for part in dir.strip_prefix(root).unwrap_or(dir).components() {
        let parent = at.clone();
        at.push(part);
        match builder.create(&at) {
            Ok(()) => sync_dir(&parent)?,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The keys of files last changed before `cutoff`, in key order, after
/// `after`, up to `limit`. Files whose names are not keys are left alone.
fn list_old(
    root: &Path,
    after: Option<&str>,
    cutoff: SystemTime,
    limit: usize,
) -> io::Result<Vec<String>> {
    // Whether a directory's keys (all starting with `prefix`) may come
    // after `after`: a prefix of it, or greater.
    let wanted =
        |prefix: &str| after.is_none_or(|after| prefix >= &after[..prefix.len().min(after.len())]);
    let mut keys = Vec::new();
    for first in sorted_names(root)? {
        if first.len() != 2 || !wanted(&first) {
            continue;
        }
        for second in sorted_names(&root.join(&first))? {
            let prefix = format!("{first}/{second}");
            if second.len() != 2 || !wanted(&prefix) {
                continue;
            }
            for name in sorted_names(&root.join(&prefix))? {
                let key = format!("{prefix}/{name}");
                if !is_key(&key) || after.is_some_and(|after| key.as_str() <= after) {
                    continue;
                }
                let modified = match fs::metadata(root.join(&key)).and_then(|m| m.modified()) {
                    Ok(modified) => modified,
                    // Deleted meanwhile.
                    Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                    Err(err) => return Err(err),
                };
                if modified < cutoff {
                    keys.push(key);
                    if keys.len() == limit {
                        return Ok(keys);
                    }
                }
            }
        }
    }
    Ok(keys)
}

/// The names in a directory, sorted; none if it does not exist.
fn sorted_names(dir: &Path) -> io::Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut names = Vec::new();
    for entry in entries {
        if let Ok(name) = entry?.file_name().into_string() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[tokio::test]
    async fn bodies_are_written_read_listed_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Filesystem::new(dir.path().join("blobs"));
        let key = super::super::new_key(HASH);
        store.put(&key, Arc::from(&b"hello"[..])).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), b"hello");
        let mode = fs::metadata(dir.path().join("blobs").join(&key))
            .unwrap()
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            FILE_MODE
        );

        // A stray file is not a body, and a new one is not old yet.
        fs::write(dir.path().join("blobs/9f/86/notes.txt"), "x").unwrap();
        assert_eq!(
            store.list_old(None, 3600, 10).await.unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            store.list_old(None, 0, 10).await.unwrap(),
            vec![key.clone()]
        );
        let other = super::super::new_key(&HASH.replace("9f86", "0a0b"));
        store.put(&other, Arc::from(&b"x"[..])).await.unwrap();
        assert_eq!(
            store.list_old(None, 0, 1).await.unwrap(),
            vec![other.clone()]
        );
        assert_eq!(
            store.list_old(Some(other.clone()), 0, 10).await.unwrap(),
            vec![key.clone()]
        );

        store.delete(&key).await.unwrap();
        store.delete(&key).await.unwrap();
        assert!(matches!(
            store.get(&key).await,
            Err(BlobError::Missing { .. })
        ));
        // The same key is never written twice.
        store.put(&other, Arc::from(&b"y"[..])).await.unwrap_err();
    }
}
