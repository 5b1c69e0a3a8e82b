//! The protocol without I/O: [`parse`] cuts what a client sent into lines
//! and reads a command from each, [`response`] writes what the server
//! answers, multi-line responses and their dot-stuffing included.

mod command;
pub mod parse;
pub mod response;

pub use command::Command;
pub use response::{Code, Reply};
