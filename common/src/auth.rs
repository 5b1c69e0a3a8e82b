//! Authentication: argon2id passwords and failed-login throttling.
//!
//! One API for mailbox users, admin principals and relay clients.
//! Hashing runs on the blocking pool, a bounded number at a time, so a
//! burst of logins cannot starve the async runtime. An unknown name is
//! checked against a dummy hash, so timing does not tell which names exist.
//!
//! Throttling counts failures per client IP and per name, in the store so
//! that every node sees them. Each failure is answered after a delay that
//! doubles with the count. Past the IP's limit, attempts from it are refused
//! without a password check until the lockout has passed. Past a name's
//! limit, attempts are only slowed, never refused, so that an attack cannot
//! lock the owner out; and clients the name logged in from lately (known
//! clients, also in the store) are not slowed by the name's failures at
//! all. Every failure is logged as one line a fail2ban filter can match:
//! `authentication failed service="imap" user="…" ip=192.0.2.1 reason="…"`.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use thiserror::Error;
use tokio::sync::{OnceCell, Semaphore};

use crate::metrics;
use crate::store::{Admin, RelayClient, Store, StoreError, now};

pub mod bearer;
mod login_log;

pub use login_log::LoginLog;

/// A password or other credential; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The service a login is for, as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Imap,
    Smtp,
    Admin,
    ManageSieve,
    Pop3,
}

impl Service {
    /// The protocol a user's login history names: the console and the
    /// API are `web`.
    fn protocol(self) -> &'static str {
        match self {
            Service::Admin => "web",
            other => other.name(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Service::Imap => "imap",
            Service::Smtp => "smtp",
            Service::Admin => "admin",
            Service::ManageSieve => "managesieve",
            Service::Pop3 => "pop3",
        }
    }
}

/// Why a password was not accepted.
#[derive(Debug, Clone, Copy)]
enum Failure {
    UnknownUser,
    UnknownRelayClient,
    RelayClientWithoutPassword,
    Disabled,
    BadPassword,
}

impl Failure {
    /// The `reason` of the log line, which fail2ban filters may match.
    fn logged(self) -> &'static str {
        match self {
            Failure::UnknownUser => "unknown user",
            Failure::UnknownRelayClient => "unknown relay client",
            Failure::RelayClientWithoutPassword => "relay client without password",
            Failure::Disabled => "disabled",
            Failure::BadPassword => "bad password",
        }
    }

    /// The `reason` label of the failed-login counter, one of a fixed few:
    /// a relay client is a user there, and one without a password never
    /// has the right one.
    fn label(self) -> &'static str {
        match self {
            Failure::UnknownUser | Failure::UnknownRelayClient => "unknown_user",
            Failure::Disabled => "disabled",
            Failure::BadPassword | Failure::RelayClientWithoutPassword => "bad_password",
        }
    }
}

#[derive(Debug, Error)]
pub enum AuthError {
    /// Wrong name or password, or a disabled account: the client is told
    /// no more than that.
    #[error("invalid credentials")]
    Invalid,
    #[error("too many failed logins; try again in {} seconds", retry_after.as_secs())]
    Throttled { retry_after: Duration },
    #[error("password hashing failed")]
    Hashing,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// When failed logins slow down and then stop further attempts.
#[derive(Debug, Clone)]
pub struct ThrottlePolicy {
    /// Failures from one IP address before it is locked out.
    pub max_failures_per_ip: u32,
    /// Failures under one name before attempts from clients it did not log
    /// in from lately are slowed.
    pub max_failures_per_account: u32,
    /// Failures older than this are forgotten.
    pub window: Duration,
    /// How long a locked-out IP address is refused.
    pub lockout: Duration,
    /// The delay before answering the first failure; it doubles with each
    /// further one, up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The delay before answering an unknown client once the name's limit is
    /// reached; it doubles with each further failure, up to
    /// `max_account_delay`.
    pub base_account_delay: Duration,
    pub max_account_delay: Duration,
    /// How long a client that logged in under a name stays known to it.
    pub known_for: Duration,
}

impl ThrottlePolicy {
    pub fn from_config(config: &postino_config::AuthConfig) -> ThrottlePolicy {
        ThrottlePolicy {
            max_failures_per_ip: config.max_failures_per_ip,
            max_failures_per_account: config.max_failures_per_account,
            window: config.failure_window.0,
            lockout: config.lockout.0,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
            base_account_delay: Duration::from_secs(1),
            max_account_delay: Duration::from_secs(30),
            known_for: Duration::from_secs(30 * 86_400),
        }
    }

    /// The given limits, with delays of a few milliseconds: tests count
    /// failures as a server does without waiting on them.
    #[cfg(any(test, feature = "testing"))]
    pub fn for_tests(max_failures_per_ip: u32, max_failures_per_account: u32) -> ThrottlePolicy {
        ThrottlePolicy {
            max_failures_per_ip,
            max_failures_per_account,
            window: Duration::from_secs(900),
            lockout: Duration::from_secs(900),
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
            base_account_delay: Duration::from_millis(1),
            max_account_delay: Duration::from_millis(4),
            known_for: Duration::from_secs(86_400),
        }
    }

    /// The delay after the `failures`th failure.
    fn delay(&self, failures: i64) -> Duration {
        doubled(self.base_delay, failures - 1, self.max_delay)
    }

    /// The delay before answering an unknown client, if the name has failed
    /// `failures` times.
    fn account_delay(&self, failures: i64) -> Option<Duration> {
        let over = failures - i64::from(self.max_failures_per_account);
        (over >= 0).then(|| doubled(self.base_account_delay, over, self.max_account_delay))
    }
}

/// `base` doubled `doublings` times, at most `max`.
fn doubled(base: Duration, doublings: i64, max: Duration) -> Duration {
    let doublings = u32::try_from(doublings.max(0)).unwrap_or(u32::MAX).min(16);
    base.saturating_mul(1 << doublings).min(max)
}

/// How a client stands with the name it logs in as.
#[derive(Debug, Clone, Copy)]
struct Standing {
    /// When the client last logged in under the name, if lately.
    known_since: Option<i64>,
}

/// How often a known client's last login is written down again: each login
/// would be a write, and a day is nothing next to `known_for`.
const KNOWN_CLIENT_REFRESH: i64 = 86_400;

/// A mailbox user who logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub account_id: i64,
    pub address: String,
}

#[derive(Clone)]
pub struct Authenticator {
    store: Store,
    policy: Arc<ThrottlePolicy>,
    hashing: Arc<Semaphore>,
    dummy_hash: Arc<OnceCell<String>>,
    verified: Arc<Verified>,
    scratch: Arc<Scratch>,
    logins: Arc<LoginLog>,
}

/// argon2's working memory (19 MiB with the default parameters), kept and
/// reused by the verifications. Allocated and freed for each one, it stays
/// stranded in glibc's per-thread arenas: hundreds of MiB after a burst of
/// logins on the blocking threads. The hashing semaphore bounds how many
/// buffers there are.
#[derive(Default)]
struct Scratch(std::sync::Mutex<Vec<Vec<Block>>>);

impl Scratch {
    fn buffers(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Block>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Checks `password` against a PHC string with a reused buffer.
    fn verify(&self, hash: &str, password: &[u8]) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        let (Ok(params), Some(salt), Some(expected)) =
            (Params::try_from(&parsed), parsed.salt, parsed.hash)
        else {
            return false;
        };
        let (Ok(algorithm), Ok(version)) = (
            Algorithm::try_from(parsed.algorithm),
            parsed
                .version
                .map_or(Ok(Version::default()), Version::try_from),
        ) else {
            return false;
        };
        let mut salt_bytes = [0; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
            return false;
        };
        let mut blocks = self.buffers().pop().unwrap_or_default();
        blocks.resize(params.block_count(), Block::default());
        let mut out = vec![0; expected.len()];
        let hashed = Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password, salt, &mut out, &mut blocks[..])
            .is_ok();
        self.buffers().push(blocks);
        // Output compares in constant time.
        hashed && Output::new(&out).is_ok_and(|out| out == expected)
    }
}

/// Passwords verified lately. Mail clients open several connections and
/// reconnect often; without this each login costs an argon2 hash (tens of
/// milliseconds of CPU). An entry is the stored PHC string, which changes
/// with the password, and a SHA-256 of the password keyed with a secret of
/// this process, so the cache never holds a password; memory only, like
/// Dovecot's auth cache.
struct Verified {
    key: [u8; 32],
    entries: std::sync::Mutex<HashMap<String, ([u8; 32], Instant)>>,
}

/// How long a verified password is trusted without hashing it again.
const VERIFIED_FOR: Duration = Duration::from_secs(600);
/// Most entries; the cache starts over when full.
const MAX_VERIFIED: usize = 10_000;

impl Verified {
    fn new() -> Verified {
        let mut key = [0; 32];
        OsRng.fill_bytes(&mut key);
        Verified {
            key,
            entries: std::sync::Mutex::default(),
        }
    }

    fn digest(&self, password: &Secret) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        hasher.update(password.expose().as_bytes());
        hasher.finalize().into()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, ([u8; 32], Instant)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn contains(&self, hash: &str, password: &Secret) -> bool {
        let digest = self.digest(password);
        self.entries()
            .get(hash)
            .is_some_and(|(known, at)| *known == digest && at.elapsed() < VERIFIED_FOR)
    }

    fn insert(&self, hash: String, password: &Secret) {
        let digest = self.digest(password);
        let mut entries = self.entries();
        if entries.len() >= MAX_VERIFIED {
            entries.clear();
        }
        entries.insert(hash, (digest, Instant::now()));
    }
}

impl Authenticator {
    pub fn new(
        store: Store,
        policy: ThrottlePolicy,
        max_concurrent_hashes: usize,
    ) -> Authenticator {
        Authenticator {
            store,
            policy: Arc::new(policy),
            hashing: Arc::new(Semaphore::new(max_concurrent_hashes.max(1))),
            dummy_hash: Arc::new(OnceCell::new()),
            verified: Arc::new(Verified::new()),
            scratch: Arc::default(),
            logins: Arc::default(),
        }
    }

    /// The users' logins not yet written to the store.
    pub fn login_log(&self) -> &LoginLog {
        &self.logins
    }

    /// An argon2id PHC string for `password`, with a fresh salt.
    pub async fn hash_password(&self, password: &Secret) -> Result<String, AuthError> {
        let password = password.clone();
        self.blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|_| AuthError::Hashing)
        })
        .await
    }

    /// Checks a mailbox user's address and password.
    pub async fn login_user(
        &self,
        service: Service,
        address: &str,
        password: &Secret,
        ip: IpAddr,
    ) -> Result<User, AuthError> {
        let address = address.trim().to_lowercase();
        let key = format!("account:{address}");
        let standing = self.check_throttle(service, &address, &key, ip).await?;
        let credentials = self.store.credentials(&address).await?;
        let (hash, user) = match &credentials {
            Some(c) if c.active => (
                c.password_hash.clone(),
                Some(User {
                    account_id: c.account_id,
                    address: c.address.clone(),
                }),
            ),
            _ => (None, None),
        };
        let matched = self.verify(hash, password).await?;
        match user {
            Some(user) if matched => {
                self.succeed(&key, ip, standing).await?;
                self.logins.note(user.account_id, ip, service.protocol());
                Ok(user)
            }
            _ => {
                let reason = match &credentials {
                    None => Failure::UnknownUser,
                    Some(c) if !c.active => Failure::Disabled,
                    Some(_) => Failure::BadPassword,
                };
                Err(self
                    .fail(service, &address, &key, ip, standing, reason)
                    .await)
            }
        }
    }

    /// Checks an admin principal's name and password.
    pub async fn login_admin(
        &self,
        username: &str,
        password: &Secret,
        ip: IpAddr,
    ) -> Result<Admin, AuthError> {
        let key = format!("admin:{username}");
        let standing = self
            .check_throttle(Service::Admin, username, &key, ip)
            .await?;
        let admin = self.store.admin(username).await?;
        let matched = self
            .verify(admin.as_ref().map(|a| a.password_hash.clone()), password)
            .await?;
        match admin {
            Some(admin) if matched => {
                self.succeed(&key, ip, standing).await?;
                Ok(admin)
            }
            other => {
                let reason = if other.is_some() {
                    Failure::BadPassword
                } else {
                    Failure::UnknownUser
                };
                Err(self
                    .fail(Service::Admin, username, &key, ip, standing, reason)
                    .await)
            }
        }
    }

    /// Checks a relay client's name and password. A client recognised by
    /// its networks only has no password, and never logs in.
    pub async fn login_relay(
        &self,
        service: Service,
        name: &str,
        password: &Secret,
        ip: IpAddr,
    ) -> Result<RelayClient, AuthError> {
        let name = name.trim().to_lowercase();
        let key = format!("relay:{name}");
        let standing = self.check_throttle(service, &name, &key, ip).await?;
        let client = self.store.relay_client(&name).await?;
        let hash = client.as_ref().and_then(|c| c.password_hash.clone());
        let matched = self.verify(hash, password).await?;
        match client {
            Some(client) if matched => {
                self.succeed(&key, ip, standing).await?;
                Ok(client)
            }
            other => {
                let reason = match other {
                    None => Failure::UnknownRelayClient,
                    Some(c) if c.password_hash.is_none() => Failure::RelayClientWithoutPassword,
                    Some(_) => Failure::BadPassword,
                };
                Err(self.fail(service, &name, &key, ip, standing, reason).await)
            }
        }
    }

    /// Refuses a locked-out IP address; otherwise slows an unknown client
    /// down once the name has failed too often, and says how the client
    /// stands with the name.
    async fn check_throttle(
        &self,
        service: Service,
        user: &str,
        key: &str,
        ip: IpAddr,
    ) -> Result<Standing, AuthError> {
        let now = now();
        let since = now - self.policy.window.as_secs() as i64;
        if let Some(counts) = self.store.failures(&ip_key(ip), since).await? {
            let until = counts.last_at + self.policy.lockout.as_secs() as i64;
            if counts.failures >= i64::from(self.policy.max_failures_per_ip) && until > now {
                tracing::warn!(
                    target: "postino::auth",
                    service = service.name(),
                    user,
                    %ip,
                    reason = "throttled",
                    "authentication failed"
                );
                metrics::login_failed(service.name(), "throttled");
                return Err(AuthError::Throttled {
                    retry_after: Duration::from_secs((until - now) as u64),
                });
            }
        }
        let known_after = now - self.policy.known_for.as_secs() as i64;
        let standing = Standing {
            known_since: self
                .store
                .known_client(key, &client_key(ip), known_after)
                .await?,
        };
        if standing.known_since.is_none()
            && let Some(counts) = self.store.failures(key, since).await?
            && let Some(delay) = self.policy.account_delay(counts.failures)
        {
            tracing::info!(
                target: "postino::auth",
                service = service.name(),
                user,
                %ip,
                failures = counts.failures,
                ?delay,
                "login slowed: too many failures for this name from elsewhere"
            );
            tokio::time::sleep(delay).await;
        }
        Ok(standing)
    }

    /// Records and logs a failure, then waits the growing delay: the IP's,
    /// and the name's too for a client the name does not know.
    async fn fail(
        &self,
        service: Service,
        user: &str,
        key: &str,
        ip: IpAddr,
        standing: Standing,
        reason: Failure,
    ) -> AuthError {
        tracing::warn!(
            target: "postino::auth",
            service = service.name(),
            user,
            %ip,
            reason = reason.logged(),
            "authentication failed"
        );
        metrics::login_failed(service.name(), reason.label());
        let now = now();
        let since = now - self.policy.window.as_secs() as i64;
        let mut worst = 0;
        for (key, counts_here) in [
            (ip_key(ip), true),
            (key.to_string(), standing.known_since.is_none()),
        ] {
            match self.store.record_failure(&key, now, since).await {
                Ok(counts) if counts_here => worst = worst.max(counts.failures),
                Ok(_) => {}
                Err(err) => return AuthError::Store(err),
            }
        }
        tokio::time::sleep(self.policy.delay(worst)).await;
        AuthError::Invalid
    }

    /// After a success, the client is known to the name. The name's
    /// failures stay: forgiving them would give an attacker elsewhere a
    /// fresh start each time the owner logs in.
    async fn succeed(&self, key: &str, ip: IpAddr, standing: Standing) -> Result<(), AuthError> {
        let now = now();
        if standing
            .known_since
            .is_some_and(|at| now - at < KNOWN_CLIENT_REFRESH)
        {
            return Ok(());
        }
        let known_after = now - self.policy.known_for.as_secs() as i64;
        self.store
            .remember_client(key, &client_key(ip), now, known_after)
            .await?;
        Ok(())
    }

    /// Verifies `password` against `hash`, or against a dummy hash when there
    /// is none, so that both take the same time.
    async fn verify(&self, hash: Option<String>, password: &Secret) -> Result<bool, AuthError> {
        if let Some(hash) = &hash
            && self.verified.contains(hash, password)
        {
            return Ok(true);
        }
        let known = hash.is_some();
        let dummy = Secret::new("postino-dummy");
        let hash = match hash {
            Some(hash) => hash,
            None => self
                .dummy_hash
                .get_or_try_init(|| self.hash_password(&dummy))
                .await?
                .clone(),
        };
        let secret = password.clone();
        let checked = hash.clone();
        let scratch = self.scratch.clone();
        let matched = self
            .blocking(move || Ok(scratch.verify(&checked, secret.expose().as_bytes())))
            .await?;
        if known && matched {
            self.verified.insert(hash, password);
        }
        Ok(known && matched)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
    ) -> Result<T, AuthError> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|_| AuthError::Hashing)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|_| AuthError::Hashing)?
    }
}

/// Why a SASL PLAIN message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PlainError {
    #[error("malformed PLAIN credentials")]
    Malformed,
    /// The client asked to act as another user, which nobody may.
    #[error("authorization identity not allowed")]
    OtherIdentity,
}

/// Takes a SASL PLAIN message (RFC 4616) apart: `authzid NUL authcid NUL
/// password`, where an authzid, if given, must be the authcid. Returns the
/// user name and the password.
pub fn parse_plain(message: &[u8]) -> Result<(String, Secret), PlainError> {
    let parts: Vec<&[u8]> = message.split(|&b| b == 0).collect();
    let [authzid, authcid, password] = parts.as_slice() else {
        return Err(PlainError::Malformed);
    };
    let (Ok(authzid), Ok(user), Ok(password)) = (
        std::str::from_utf8(authzid),
        std::str::from_utf8(authcid),
        std::str::from_utf8(password),
    ) else {
        return Err(PlainError::Malformed);
    };
    if !authzid.is_empty() && !authzid.eq_ignore_ascii_case(user) {
        return Err(PlainError::OtherIdentity);
    }
    Ok((user.to_string(), Secret::new(password)))
}

fn ip_key(ip: IpAddr) -> String {
    format!("ip:{ip}")
}

/// A client as a name knows it: its IPv4 address, or its IPv6 /64, within
/// which a host picks new temporary addresses (RFC 8981).
fn client_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = v6.to_bits() & !u128::from(u64::MAX);
            format!("{}/64", std::net::Ipv6Addr::from_bits(prefix))
        }
    }
}

#[cfg(test)]
mod tests;
