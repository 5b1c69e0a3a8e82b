//! The SMTP protocol as bytes: command lines and commands in, replies out,
//! AUTH responses, and the DATA content decoder. No I/O and no store access here, so all of it can be
//! tested and fuzzed alone.

pub mod client;
mod command;
mod data;
mod line;
mod reply;
mod sasl;

pub use command::{Body, Command, MailFrom, RcptTo, SyntaxError, parse};
pub use data::{BareLf, DataError, DataReader, LfToCrlf, LineCheck, MAX_TEXT_LINE};
pub use line::{Line, LineReader};
pub use reply::Reply;
pub use sasl::{SaslResponse, decode_response};
