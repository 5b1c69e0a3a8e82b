//! ManageSieve (RFC 5804), the protocol mail clients (Thunderbird's Sieve
//! add-on, Roundcube's managesieve plugin, `sieve-connect`) use to upload,
//! list and activate a mailbox's Sieve scripts. Shaped like the `smtp` and
//! `imap` crates: [`proto`] turns bytes into commands and responses into
//! bytes, with no I/O, so that it is unit-tested and fuzzed alone.

pub mod proto;
