//! Where message bodies live: in the database's `blobs` rows, as files in
//! a directory, or as objects in an S3 bucket (`[blobs] backend`).
//!
//! The database always keeps one row per distinct body, with its hash, size
//! and reference count; a body kept elsewhere has its `location` there.
//! A location is unique to the row that names it (the body's hash and a
//! random suffix), never reused: a body written twice is two objects. That
//! is what makes collecting them safe on several nodes. When its row goes,
//! a location is put in `blob_trash`, and is deleted only after a grace
//! period, so that a reader that found the row just before still finds the
//! body, and so does a database restored from a recent backup.
//!
//! Durability order: the body is written and flushed before the
//! transaction that inserts its row commits. A crash in between leaves an
//! object no row names, an orphan, which the collector deletes once it is
//! older than the grace period; never a row without its body.

mod filesystem;
mod s3;

use std::path::PathBuf;
use std::sync::Arc;

use postino_config::{BlobBackend, Config};
use rand_core::{OsRng, RngCore};
use thiserror::Error;

pub use filesystem::Filesystem;
pub use s3::{S3, S3Options};

/// Where new bodies are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Database,
    Filesystem,
    S3,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Database => "database",
            Target::Filesystem => "filesystem",
            Target::S3 => "s3",
        }
    }
}

/// A body store operation that failed.
#[derive(Debug, Error)]
pub enum BlobError {
    #[error("body {location}: {source}")]
    Io {
        location: String,
        source: std::io::Error,
    },
    #[error("body {location}: {message}")]
    S3 { location: String, message: String },
    #[error("body {location} is missing")]
    Missing { location: String },
    #[error("body {location} does not match its hash")]
    Corrupt { location: String },
    #[error("`{0}` is not a body location")]
    BadLocation(String),
    #[error("body {location} is in {store}, which is not configured")]
    NotConfigured {
        location: String,
        store: &'static str,
    },
}

pub type Result<T, E = BlobError> = std::result::Result<T, E>;

/// A parsed location: which backend, and the key there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place<'a> {
    Filesystem(&'a str),
    S3(&'a str),
}

const FILESYSTEM_PREFIX: &str = "fs:";
const S3_PREFIX: &str = "s3:";

impl<'a> Place<'a> {
    fn parse(location: &'a str) -> Result<Place<'a>> {
        let place = if let Some(key) = location.strip_prefix(FILESYSTEM_PREFIX) {
            Place::Filesystem(key)
        } else if let Some(key) = location.strip_prefix(S3_PREFIX) {
            Place::S3(key)
        } else {
            return Err(BlobError::BadLocation(location.to_string()));
        };
        let (Place::Filesystem(key) | Place::S3(key)) = place;
        // Keys are made by `new_key`; anything else (a row written by hand,
        // a tampered database) must not reach outside the store's directory.
        if !is_key(key) {
            return Err(BlobError::BadLocation(location.to_string()));
        }
        Ok(place)
    }
}

/// A new key for a body: two levels of directories from the hash's first
/// four digits, so that no directory grows past a few thousand entries per
/// million bodies, then the hash and a random suffix.
fn new_key(hash: &str) -> String {
    let suffix = OsRng.next_u64();
    format!("{}/{}/{hash}-{suffix:016x}", &hash[..2], &hash[2..4])
}

/// Whether `key` has the shape `new_key` gives: `xx/yy/HASH-SUFFIX`, lower
/// hexadecimal digits.
fn is_key(key: &str) -> bool {
    let parts: Vec<&str> = key.split('/').collect();
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match parts.as_slice() {
        [a, b, name] => {
            a.len() == 2
                && b.len() == 2
                && hex(a)
                && hex(b)
                && name
                    .split_once('-')
                    .is_some_and(|(hash, suffix)| hex(hash) && hex(suffix))
        }
        _ => false,
    }
}

/// The configured body stores: the one new bodies go to, and those stored
/// bodies are read from. The directory is always readable, so that bodies
/// written before a move to S3 stay readable during it.
#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<Stores>,
}

struct Stores {
    target: Target,
    filesystem: Option<Filesystem>,
    s3: Option<S3>,
}

impl BlobStore {
    /// Bodies in the database only.
    pub fn database() -> BlobStore {
        BlobStore::new(Target::Database, None, None)
    }

    /// Bodies in files under `dir`.
    pub fn filesystem(dir: PathBuf) -> BlobStore {
        BlobStore::new(Target::Filesystem, Some(Filesystem::new(dir)), None)
    }

    /// New bodies to `target`; bodies read from `dir` and `s3` when
    /// given. A target needs its store: `Filesystem` a directory, `S3` a
    /// bucket.
    pub fn new(target: Target, dir: Option<Filesystem>, s3: Option<S3>) -> BlobStore {
        BlobStore {
            inner: Arc::new(Stores {
                target,
                filesystem: dir,
                s3,
            }),
        }
    }

    /// The stores `config` names: `[blobs]`, the directory always.
    pub fn configured(config: &Config) -> Result<BlobStore> {
        let target = match config.blobs.backend_for(config.store.backend) {
            BlobBackend::Database => Target::Database,
            BlobBackend::Filesystem => Target::Filesystem,
            BlobBackend::S3 => Target::S3,
        };
        let dir = Filesystem::new(config.blobs.dir_in(&config.data_dir));
        let s3 = match &config.blobs.s3 {
            Some(s3) => Some(S3::new(&S3Options {
                endpoint: s3.endpoint.clone(),
                bucket: s3.bucket.clone(),
                region: s3.region.clone(),
                access_key: s3.access_key.clone(),
                secret_key: s3.secret_key.0.clone(),
                prefix: s3.prefix.clone(),
                max_connections: s3.max_connections as usize,
            })?),
            None => None,
        };
        Ok(BlobStore::new(target, Some(dir), s3))
    }

    pub fn target(&self) -> Target {
        self.inner.target
    }

    /// Writes a body (SHA-256 `hash`, hex) to the target, durably, and
    /// returns its location; `None` when bodies go to the database.
    pub async fn put(&self, hash: &str, body: Arc<[u8]>) -> Result<Option<String>> {
        self.put_to(self.inner.target, hash, body).await
    }

    /// Writes a body to the given store, as [`BlobStore::put`].
    pub async fn put_to(
        &self,
        target: Target,
        hash: &str,
        body: Arc<[u8]>,
    ) -> Result<Option<String>> {
        let key = new_key(hash);
        match target {
            Target::Database => Ok(None),
            Target::Filesystem => {
                let location = format!("{FILESYSTEM_PREFIX}{key}");
                self.directory_for(&location)?.put(&key, body).await?;
                Ok(Some(location))
            }
            Target::S3 => {
                let location = format!("{S3_PREFIX}{key}");
                self.bucket_for(&location)?.put(&key, body).await?;
                Ok(Some(location))
            }
        }
    }

    /// Reads the body at `location`.
    pub async fn get(&self, location: &str) -> Result<Vec<u8>> {
        match Place::parse(location)? {
            Place::Filesystem(key) => self.directory_for(location)?.get(key).await,
            Place::S3(key) => self.bucket_for(location)?.get(key).await,
        }
    }

    /// Deletes the body at `location`; one already gone is not an error.
    pub async fn delete(&self, location: &str) -> Result<()> {
        match Place::parse(location)? {
            Place::Filesystem(key) => self.directory_for(location)?.delete(key).await,
            Place::S3(key) => self.bucket_for(location)?.delete(key).await,
        }
    }

    /// The locations in the target older than `age` seconds, a page at a
    /// time: those after `after` (a location from the previous page, or
    /// `None` to start), in order, up to `limit`.
    pub async fn list_old(
        &self,
        after: Option<&str>,
        age: u64,
        limit: usize,
    ) -> Result<Vec<String>> {
        let after_key = match after {
            Some(location) => match Place::parse(location)? {
                Place::Filesystem(key) | Place::S3(key) => Some(key.to_string()),
            },
            None => None,
        };
        let (prefix, keys) = match self.inner.target {
            Target::Database => return Ok(Vec::new()),
            Target::Filesystem => {
                let store = self.directory_for("the blob directory")?;
                (
                    FILESYSTEM_PREFIX,
                    store.list_old(after_key, age, limit).await?,
                )
            }
            Target::S3 => {
                let store = self.bucket_for("the bucket")?;
                (S3_PREFIX, store.list_old(after_key, age, limit).await?)
            }
        };
        Ok(keys
            .into_iter()
            .map(|key| format!("{prefix}{key}"))
            .collect())
    }

    fn directory_for(&self, location: &str) -> Result<&Filesystem> {
        self.inner
            .filesystem
            .as_ref()
            .ok_or_else(|| BlobError::NotConfigured {
                location: location.to_string(),
                store: "a directory",
            })
    }

    fn bucket_for(&self, location: &str) -> Result<&S3> {
        self.inner
            .s3
            .as_ref()
            .ok_or_else(|| BlobError::NotConfigured {
                location: location.to_string(),
                store: "an S3 bucket",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn keys_are_sharded_unique_and_recognised() {
        let a = new_key(HASH);
        let b = new_key(HASH);
        assert_ne!(a, b, "every write gets a location of its own");
        assert!(a.starts_with("9f/86/9f86d081"), "{a}");
        assert!(is_key(&a));
        assert_eq!(
            Place::parse(&format!("fs:{a}")).unwrap(),
            Place::Filesystem(&a)
        );
        assert_eq!(Place::parse(&format!("s3:{a}")).unwrap(), Place::S3(&a));
    }

    #[test]
    fn locations_cannot_leave_the_store() {
        for bad in [
            "fs:../../etc/passwd",
            "fs:9f/86/../../x-1",
            "fs:/etc/passwd",
            "fs:9f/86/9F86-1",
            "fs:9f/86/9f86",
            "fs:9f/86/a/9f86-1",
            "http:9f/86/9f86-1",
            "",
        ] {
            assert!(Place::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
