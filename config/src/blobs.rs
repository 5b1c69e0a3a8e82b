//! `[blobs]`: where message bodies are kept. The database keeps every
//! body's row (hash, size, references); the body itself is in that row, in
//! a file under a directory, or in an S3 bucket.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::duration::HumanDuration;
use crate::password::Password;
use crate::schema::Backend;

/// Where new bodies go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobBackend {
    /// In the database's own rows: simplest, for small installations.
    Database,
    /// Files under `dir`; on a shared file system (CephFS, NFS) when
    /// several nodes share the store.
    Filesystem,
    /// Objects in an S3-compatible bucket, `[blobs.s3]`.
    S3,
}

/// `[blobs]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlobsConfig {
    /// `"database"`, `"filesystem"` or `"s3"`. Bodies already stored stay
    /// readable where they are after a change; `postino blobs migrate`
    /// moves them. Default: `"filesystem"` on SQLite; `"database"` on
    /// PostgreSQL, whose nodes would otherwise each keep bodies the others
    /// cannot read (choose `"filesystem"` on a shared directory, or
    /// `"s3"`).
    pub backend: Option<BlobBackend>,
    /// The directory of `"filesystem"` bodies (read too after a move to
    /// S3); relative paths are relative to the configuration file's
    /// directory. Default: `blobs` in `data_dir`.
    pub dir: Option<PathBuf>,
    /// How long a body no message uses any more, or one no row names, is
    /// kept before it is deleted, at least 1h. Database backups restored
    /// within this time find every body they name: back up the database
    /// first, then the bodies, within it. Default `"1d"`.
    pub gc_grace: HumanDuration,
    /// `[blobs.s3]`: the bucket, for `backend = "s3"`.
    pub s3: Option<S3Config>,
}

impl Default for BlobsConfig {
    fn default() -> Self {
        BlobsConfig {
            backend: None,
            dir: None,
            gc_grace: crate::defaults::blobs_gc_grace(),
            s3: None,
        }
    }
}

impl BlobsConfig {
    /// Where new bodies go, the default depending on the store.
    pub fn backend_for(&self, store: Backend) -> BlobBackend {
        self.backend.unwrap_or(match store {
            Backend::Sqlite => BlobBackend::Filesystem,
            Backend::Postgres => BlobBackend::Database,
        })
    }

    /// The directory of file bodies.
    pub fn dir_in(&self, data_dir: &Path) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| data_dir.join("blobs"))
    }
}

/// `[blobs.s3]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The service, `https://host[:port]` (`http://` only on a trusted
    /// network). Required.
    pub endpoint: String,
    /// The bucket, which must exist. Required.
    pub bucket: String,
    /// The region requests are signed for. Default `"us-east-1"`, which
    /// Ceph RGW, MinIO and Garage accept unless configured otherwise.
    #[serde(default = "crate::defaults::blobs_s3_region")]
    pub region: String,
    /// The access key id. Required.
    pub access_key: String,
    /// The secret key. Required.
    pub secret_key: Password,
    /// Put before every key, so that one bucket serves several
    /// installations. Default: none.
    #[serde(default)]
    pub prefix: String,
    /// Requests to the service at once, at most; at least 1. Default 32.
    #[serde(default = "crate::defaults::blobs_s3_max_connections")]
    pub max_connections: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<crate::Config, String> {
        crate::parse(text, Path::new("/etc/postino/postino.toml")).map_err(|err| err.to_string())
    }

    #[test]
    fn the_default_store_follows_the_database() {
        let config = parse("").expect("the defaults are valid");
        assert_eq!(
            config.blobs.backend_for(Backend::Sqlite),
            BlobBackend::Filesystem
        );
        assert_eq!(
            config.blobs.backend_for(Backend::Postgres),
            BlobBackend::Database
        );
        assert_eq!(
            config.blobs.dir_in(Path::new("/var/lib/postino")),
            Path::new("/var/lib/postino/blobs")
        );
        assert_eq!(config.blobs.gc_grace, HumanDuration::from_secs(86_400));
        let chosen = parse("[blobs]\nbackend = \"database\"\ndir = \"corpi\"\n").expect("valid");
        assert_eq!(
            chosen.blobs.backend_for(Backend::Sqlite),
            BlobBackend::Database
        );
        assert_eq!(chosen.blobs.dir, Some(PathBuf::from("/etc/postino/corpi")));
    }

    #[test]
    fn a_bucket_is_described_whole() {
        let config = parse(
            "[blobs]\nbackend = \"s3\"\n[blobs.s3]\nendpoint = \"https://rgw.example.org\"\n\
             bucket = \"posta\"\naccess_key = \"k\"\nsecret_key = \"s\"\n",
        )
        .expect("valid");
        let s3 = config.blobs.s3.expect("a bucket");
        assert_eq!((s3.region.as_str(), s3.max_connections), ("us-east-1", 32));
        assert_eq!(s3.secret_key, Password("s".to_owned()));
        assert!(
            !format!("{s3:?}").contains("\"s\""),
            "the secret stays out of logs"
        );
    }

    #[test]
    fn bad_body_stores_are_refused() {
        for (text, needle) in [
            (
                "[blobs]\nbackend = \"s3\"\n",
                "blobs.s3: required when blobs.backend is \"s3\"",
            ),
            ("[blobs]\nbackend = \"tape\"\n", "unknown variant `tape`"),
            (
                "[blobs]\ngc_grace = \"10m\"\n",
                "blobs.gc_grace: must be at least 1h",
            ),
            (
                "[blobs.s3]\nendpoint = \"ftp://x\"\nbucket = \"b\"\naccess_key = \"k\"\nsecret_key = \"s\"\n",
                "blobs.s3.endpoint: must start with https:// or http://",
            ),
            (
                "[blobs.s3]\nendpoint = \"http://x\"\n",
                "missing field `bucket`",
            ),
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
