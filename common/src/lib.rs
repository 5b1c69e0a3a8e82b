//! What every Postino service shares: the mailbox store, authentication,
//! address types, TLS set-up, and the check users' Sieve scripts pass
//! before they are stored.

pub mod acl;
pub mod address;
pub mod auth;
pub mod blobs;
pub mod buffered;
pub mod chain;
pub mod dkim;
pub mod listener;
pub mod mailbox_name;
pub mod metrics;
pub mod mime;
pub mod mta_sts;
pub mod sieve;
pub mod store;
pub mod stream;
pub mod tls;
