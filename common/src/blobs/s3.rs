//! Bodies as objects in an S3-compatible bucket (Ceph RGW, MinIO, Garage,
//! AWS), through `object_store`'s S3 client: path-style requests, signed
//! with the configured keys, retried with backoff on errors and timeouts,
//! at most `max_connections` at a time. A PUT that S3 answers is durable,
//! so nothing more is needed before the row is committed. Large bodies go
//! up in parts.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::limit::LimitStore;
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};

use super::{BlobError, Result, S3_PREFIX, is_key};

/// Bodies from this size go up in parts of this size (S3's smallest part
/// is 5 MiB).
const PART_SIZE: usize = 8 << 20;
/// How long one request may take, connecting included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a failed request is tried again, and for how long at most.
const MAX_RETRIES: usize = 4;
const RETRY_FOR: Duration = Duration::from_secs(60);

/// What `[blobs.s3]` says.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// `http(s)://host:port` of the S3 service.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    /// Prepended to every key, so that one bucket can serve several
    /// installations; empty for none.
    pub prefix: String,
    /// Requests in flight at most.
    pub max_connections: usize,
}

/// A bucket of bodies; cheap to clone.
#[derive(Debug, Clone)]
pub struct S3 {
    client: Arc<LimitStore<AmazonS3>>,
    prefix: String,
}

impl S3 {
    pub fn new(options: &S3Options) -> Result<S3> {
        // The HTTP client takes the process's rustls provider and has none
        // of its own: ring's, as everywhere in Postino. Already installed
        // is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = AmazonS3Builder::new()
            .with_endpoint(&options.endpoint)
            .with_virtual_hosted_style_request(false)
            .with_bucket_name(&options.bucket)
            .with_region(&options.region)
            .with_access_key_id(&options.access_key)
            .with_secret_access_key(&options.secret_key)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(options.endpoint.starts_with("http://"))
                    .with_timeout(REQUEST_TIMEOUT)
                    .with_pool_max_idle_per_host(options.max_connections),
            )
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: MAX_RETRIES,
                retry_timeout: RETRY_FOR,
            })
            .build()
            .map_err(|err| BlobError::S3 {
                location: format!("bucket {}", options.bucket),
                message: err.to_string(),
            })?;
        Ok(S3 {
            client: Arc::new(LimitStore::new(client, options.max_connections.max(1))),
            prefix: options.prefix.trim_matches('/').to_string(),
        })
    }

    fn path(&self, key: &str) -> ObjectPath {
        match self.prefix.is_empty() {
            true => ObjectPath::from(key),
            false => ObjectPath::from(format!("{}/{key}", self.prefix)),
        }
    }

    /// The key of an object's path, if it has our prefix.
    fn key_of<'a>(&self, path: &'a str) -> Option<&'a str> {
        match self.prefix.is_empty() {
            true => Some(path),
            false => path.strip_prefix(&self.prefix)?.strip_prefix('/'),
        }
    }

    pub(super) async fn put(&self, key: &str, body: Arc<[u8]>) -> Result<()> {
        let path = self.path(key);
        let error = |err: object_store::Error| failed(key, err);
        if body.len() < PART_SIZE {
            self.client
                .put(&path, PutPayload::from(body.to_vec()))
                .await
                .map_err(error)?;
            return Ok(());
        }
        let mut upload = self.client.put_multipart(&path).await.map_err(error)?;
        for part in body.chunks(PART_SIZE) {
            if let Err(err) = upload.put_part(PutPayload::from(part.to_vec())).await {
                let _ = upload.abort().await;
                return Err(error(err));
            }
        }
        if let Err(err) = upload.complete().await {
            let _ = upload.abort().await;
            return Err(error(err));
        }
        Ok(())
    }

    pub(super) async fn get(&self, key: &str) -> Result<Vec<u8>> {
        let error = |err: object_store::Error| failed(key, err);
        let object = self.client.get(&self.path(key)).await.map_err(error)?;
        Ok(object.bytes().await.map_err(error)?.to_vec())
    }

    pub(super) async fn delete(&self, key: &str) -> Result<()> {
        match self.client.delete(&self.path(key)).await {
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            other => other.map_err(|err| failed(key, err)),
        }
    }

    pub(super) async fn list_old(
        &self,
        after: Option<String>,
        age: u64,
        limit: usize,
    ) -> Result<Vec<String>> {
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        let mut objects = match &after {
            Some(after) => self
                .client
                .list_with_offset(prefix.as_ref(), &self.path(after)),
            None => self.client.list(prefix.as_ref()),
        };
        let cutoff = super::super::store::now() - age as i64;
        let mut keys = Vec::new();
        while let Some(object) = objects.next().await {
            let object = object.map_err(|err| failed("", err))?;
            let Some(key) = self.key_of(object.location.as_ref()) else {
                continue;
            };
            if is_key(key) && object.last_modified.timestamp() < cutoff {
                keys.push(key.to_string());
                if keys.len() == limit {
                    break;
                }
            }
        }
        // Listings come in key order from S3 itself; the bucket's order is
        // what the next page starts after.
        keys.sort();
        Ok(keys)
    }
}

fn failed(key: &str, err: object_store::Error) -> BlobError {
    let location = format!("{S3_PREFIX}{key}");
    match err {
        object_store::Error::NotFound { .. } => BlobError::Missing { location },
        other => BlobError::S3 {
            location,
            message: other.to_string(),
        },
    }
}
