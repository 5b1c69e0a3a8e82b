//! The protocol without I/O: [`parse`] reads one command from what a
//! client sent, [`response`] writes what the server answers.

mod command;
pub mod parse;
pub mod response;

pub use command::Command;
pub use response::{Code, Response, Status};
