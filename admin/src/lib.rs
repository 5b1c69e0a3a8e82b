//! Postino management: the CLI and its commands (`cli`, over the rules in
//! `ops`), the admin HTTP service (`http`), the `serve` launcher, and
//! `migrate`, which moves mail in from other servers. The
//! `postino` binary is a thin `main` over [`run`]; [`fuzzing`] opens the
//! HTTP service's request parsers to the fuzz targets.

mod backup;
mod blob_collector;
mod cli;
mod expiry;
pub mod fuzzing;
mod http;
mod leased;
mod login_history;
mod migrate;
mod ops;
mod reload;
mod retention;
mod serve;

pub use cli::{Args, run};
