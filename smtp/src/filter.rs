//! Mailbox filters at delivery: the mailboxes' active Sieve scripts
//! (RFC 5228), compiled once and kept while their source is unchanged, and
//! the sender rewriting (SRS) of the mail they redirect elsewhere, with
//! secrets every node reads from the store.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postino_common::store::{Store, StoreError};
use postino_sieve::{Includes, Limits, Location, PersonalScripts, Script};

use crate::srs::{Srs, SrsError};

/// Compiled scripts kept at most; past this the cache starts afresh.
const MAX_COMPILED: usize = 10_000;
/// How long an address rewritten by SRS can come back as a bounce.
pub const SRS_MAX_AGE_DAYS: i64 = 21;
/// A new SRS secret signs after this long.
const SRS_ROTATE_AFTER: i64 = 30 * 86_400;
/// How long the SRS secrets read from the store are used before reading
/// them again (a rotation by another node is seen within this).
const SRS_REFRESH: Duration = Duration::from_secs(3600);

/// What every delivery shares to run filters.
pub struct Filters {
    limits: Limits,
    /// The domain of rewritten senders; bounces to it must reach us.
    srs_domain: String,
    compiled: Mutex<HashMap<i64, Compiled>>,
    srs: tokio::sync::Mutex<Option<(Arc<Srs>, Instant)>>,
}

/// A mailbox's script as compiled from `source`.
struct Compiled {
    source: Arc<str>,
    script: Arc<Script>,
}

/// Records whether a compilation asked for any included script.
#[derive(Default)]
struct AskedForIncludes(Cell<bool>);

impl Includes for AskedForIncludes {
    fn script(&self, _location: Location, _name: &str) -> Option<String> {
        self.0.set(true);
        None
    }
}

impl Filters {
    /// Filters with `limits` on each run, rewriting senders into addresses
    /// at `srs_domain`.
    pub fn new(limits: Limits, srs_domain: &str) -> Filters {
        Filters {
            limits,
            srs_domain: srs_domain.to_ascii_lowercase(),
            compiled: Mutex::new(HashMap::new()),
            srs: tokio::sync::Mutex::new(None),
        }
    }

    /// The domain of rewritten senders.
    pub fn srs_domain(&self) -> &str {
        &self.srs_domain
    }

    /// A mailbox's active script compiled from `source`, or why it does
    /// not compile (a script stored before a change of limits, say). A
    /// script that includes others is compiled with the mailbox's scripts
    /// each time, since they may change without it; others are kept.
    pub(crate) async fn script(
        &self,
        store: &Store,
        account_id: i64,
        source: &Arc<str>,
    ) -> Result<Arc<Script>, String> {
        if let Some(kept) = self.compiled().get(&account_id)
            && kept.source == *source
        {
            return Ok(kept.script.clone());
        }
        let asked = AskedForIncludes::default();
        let alone = postino_sieve::compile(source, &asked, &self.limits);
        if !asked.0.get() {
            let script = Arc::new(alone.map_err(|err| err.to_string())?);
            let mut compiled = self.compiled();
            if compiled.len() >= MAX_COMPILED {
                compiled.clear();
            }
            let kept = Compiled {
                source: source.clone(),
                script: script.clone(),
            };
            compiled.insert(account_id, kept);
            return Ok(script);
        }
        let scripts = store
            .sieve_sources(account_id)
            .await
            .map_err(|err| format!("cannot read the included scripts: {err}"))?;
        let scripts = PersonalScripts(scripts.into_iter().map(|s| (s.name, s.source)).collect());
        postino_sieve::compile(source, &scripts, &self.limits)
            .map(Arc::new)
            .map_err(|err| err.to_string())
    }

    fn compiled(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Compiled>> {
        self.compiled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The sender rewriter, with the store's current secrets.
    pub(crate) async fn srs(&self, store: &Store, now: i64) -> Result<Arc<Srs>, StoreError> {
        self.srs_read(store, now, SRS_REFRESH).await
    }

    /// The original address an SRS address of ours stands for. A
    /// signature no secret known here matches is checked again with the
    /// store's secrets as of now, in case another node has just rotated.
    pub(crate) async fn srs_reverse(
        &self,
        store: &Store,
        address: &str,
        now: i64,
    ) -> Result<Result<String, SrsError>, StoreError> {
        let reversed = self.srs(store, now).await?.reverse(address, now);
        if reversed != Err(SrsError::BadSignature) {
            return Ok(reversed);
        }
        let fresh = self.srs_read(store, now, Duration::from_secs(60)).await?;
        Ok(fresh.reverse(address, now))
    }

    /// The rewriter, read anew from the store if it was read more than
    /// `fresh_for` ago.
    async fn srs_read(
        &self,
        store: &Store,
        now: i64,
        fresh_for: Duration,
    ) -> Result<Arc<Srs>, StoreError> {
        let mut kept = self.srs.lock().await;
        if let Some((srs, read)) = kept.as_ref()
            && read.elapsed() < fresh_for
        {
            return Ok(srs.clone());
        }
        let keep_for = SRS_ROTATE_AFTER + (SRS_MAX_AGE_DAYS + 1) * 86_400;
        let secrets = store.srs_secrets(now, SRS_ROTATE_AFTER, keep_for).await?;
        let srs = Arc::new(Srs::new(&self.srs_domain, secrets, SRS_MAX_AGE_DAYS));
        *kept = Some((srs.clone(), Instant::now()));
        Ok(srs)
    }
}
