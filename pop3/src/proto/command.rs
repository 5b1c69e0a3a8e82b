//! The commands of RFC 1939 sections 4 to 7, with CAPA (RFC 2449), STLS
//! (RFC 2595) and AUTH (RFC 5034).

/// A command a client sent. Message numbers are as the client gave them,
/// counted from 1; whether such a message exists is the session's
/// business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Capa,
    Stls,
    User(String),
    /// The password: the whole rest of the line, spaces included, as
    /// Dovecot takes it.
    Pass(String),
    /// SASL: the mechanism and the initial response (base64, `=` for an
    /// empty one) if given; no mechanism asks for the list of them.
    Auth {
        mechanism: Option<String>,
        initial: Option<String>,
    },
    Stat,
    List(Option<u32>),
    Uidl(Option<u32>),
    /// RETR, or TOP with how many lines of the body to send after the
    /// header.
    Retrieve {
        number: u32,
        lines: Option<u64>,
    },
    Dele(u32),
    Rset,
    Noop,
    Quit,
}

impl Command {
    /// The command's name, as logged and counted.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Capa => "CAPA",
            Command::Stls => "STLS",
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Auth { .. } => "AUTH",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Uidl(_) => "UIDL",
            Command::Retrieve { lines: None, .. } => "RETR",
            Command::Retrieve { lines: Some(_), .. } => "TOP",
            Command::Dele(_) => "DELE",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
        }
    }
}
