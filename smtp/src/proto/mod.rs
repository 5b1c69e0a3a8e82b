//! The SMTP protocol as bytes: commands in, replies out, and the DATA
//! content decoder. No I/O and no store access here, so all of it can be
//! tested and fuzzed alone.

pub mod client;
mod command;
mod data;
mod reply;

pub use command::{Body, Command, MailFrom, RcptTo, SyntaxError, parse};
pub use data::{BareLf, DataError, DataReader, LfToCrlf, LineCheck, MAX_TEXT_LINE};
pub use reply::Reply;
