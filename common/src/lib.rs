//! What every Postino service shares: the mailbox store, authentication,
//! address types and TLS set-up.

pub mod address;
pub mod auth;
pub mod blobs;
pub mod dkim;
pub mod listener;
pub mod mailbox_name;
pub mod metrics;
pub mod mime;
pub mod store;
pub mod stream;
pub mod tls;
