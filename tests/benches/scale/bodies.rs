//! The message bodies the loaded messages share: [`COUNT`] distinct
//! office messages from [`postino_tests::corpus`], each stored once and
//! referred to by many messages, as one message sent to many recipients
//! is. Each comes with the parse cache the store keeps beside a delivered
//! message (envelope, body structure, subject, sent date), computed by
//! the store's own parser as delivery computes it.
//!
//! [`store`] is the one place bodies are written: as files of the
//! filesystem body store in [`DIR`], which every node of the bench reads
//! (`[blobs] backend = "filesystem"`, see [`configure`]), as nodes on a
//! shared directory would.

use std::sync::Arc;

use fastrand::Rng;
use postino_common::blobs::BlobStore;
use postino_common::mime;
use postino_tests::TestConfig;
use postino_tests::corpus;
use sqlx::PgConnection;

/// Distinct bodies.
pub const COUNT: usize = 300;

/// The body directory, kept with the database between runs.
pub const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/scale-blobs");

/// The body store the bench's own store handles use.
pub fn blob_store() -> BlobStore {
    BlobStore::filesystem(DIR.into())
}

/// Points a node at the body directory.
pub fn configure(config: &TestConfig) {
    config.set("blobs", "backend = \"filesystem\"");
    config.set("blobs", &format!("dir = {DIR:?}"));
}

/// The first message's date (2024-01-02T08:00:00Z); the others follow
/// an hour apart.
const FIRST_DATE: i64 = 1_704_182_400;

/// A body with its parse cache, in the form the `messages` columns hold.
pub struct Body {
    pub raw: Vec<u8>,
    pub envelope: Option<String>,
    pub body_structure: Option<String>,
    pub subject: String,
    pub sent_at: Option<i64>,
    pub sent_zone: i64,
}

/// The [`COUNT`] bodies, the same on every run.
pub fn all() -> Vec<Body> {
    let mut rng = Rng::with_seed(0xb0d1e5);
    (0..COUNT)
        .map(|n| {
            let to = format!("ufficio{}@comune00000.esempio.it", n % 40);
            let raw = corpus::message(&mut rng, &to, FIRST_DATE + n as i64 * 3_600);
            describe(raw)
        })
        .collect()
}

/// What delivery stores beside `raw`: the same parser, the same JSON, and
/// an empty envelope or structure stored as NULL, as the store does.
fn describe(raw: Vec<u8>) -> Body {
    let parsed = mime::parse(&raw);
    let json = |text: String| Some(text).filter(|t| !t.is_empty());
    Body {
        envelope: json(serde_json::to_string(&parsed.envelope).unwrap_or_default()),
        body_structure: json(serde_json::to_string(&parsed.structure).unwrap_or_default()),
        subject: parsed.subject,
        sent_at: parsed.sent_at,
        sent_zone: parsed.sent_zone,
        raw,
    }
}

/// Stores the bodies not stored yet, as files, with no references (the
/// loader counts them as it adds messages), and returns each one's hash,
/// the SHA-256 the store names bodies by.
pub async fn store(conn: &mut PgConnection, bodies: &[Body]) -> sqlx::Result<Vec<String>> {
    let raw: Vec<&[u8]> = bodies.iter().map(|b| b.raw.as_slice()).collect();
    let hashes: Vec<String> = sqlx::query_scalar(
        "SELECT encode(sha256(data), 'hex') FROM unnest($1::bytea[]) WITH ORDINALITY AS b(data, n) \
         ORDER BY n",
    )
    .bind(&raw)
    .fetch_all(&mut *conn)
    .await?;
    let stored: Vec<String> = sqlx::query_scalar("SELECT hash FROM blobs WHERE hash = ANY($1)")
        .bind(&hashes)
        .fetch_all(&mut *conn)
        .await?;
    let files = blob_store();
    let (mut new, mut sizes, mut locations) = (Vec::new(), Vec::new(), Vec::new());
    for (hash, body) in hashes.iter().zip(bodies) {
        if stored.contains(hash) {
            continue;
        }
        let location = files
            .put(hash, Arc::from(body.raw.as_slice()))
            .await
            .map_err(|err| sqlx::Error::Io(std::io::Error::other(err.to_string())))?;
        new.push(hash.clone());
        sizes.push(body.raw.len() as i64);
        locations.push(location);
    }
    sqlx::query(
        "INSERT INTO blobs (hash, size, refcount, data, location) \
         SELECT hash, size, 0, '', location \
         FROM unnest($1::text[], $2::bigint[], $3::text[]) AS b(hash, size, location)",
    )
    .bind(&new)
    .bind(&sizes)
    .bind(&locations)
    .execute(&mut *conn)
    .await?;
    Ok(hashes)
}
