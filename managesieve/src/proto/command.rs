//! The commands of RFC 5804 section 2, with their arguments.

/// A command a client sent. Strings are given as sent, quoted strings
/// unescaped and literals as their bytes (scripts need not be UTF-8 until
/// they are checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// SASL: the mechanism, and the initial response (base64) if given.
    Authenticate {
        mechanism: String,
        initial: Option<String>,
    },
    StartTls,
    Logout,
    Capability,
    /// Whether a script of `size` bytes named `name` would fit.
    HaveSpace {
        name: String,
        size: u64,
    },
    PutScript {
        name: String,
        script: Vec<u8>,
    },
    ListScripts,
    /// The script to make active; an empty name makes none active.
    SetActive {
        name: String,
    },
    GetScript {
        name: String,
    },
    DeleteScript {
        name: String,
    },
    RenameScript {
        old: String,
        new: String,
    },
    CheckScript {
        script: Vec<u8>,
    },
    /// NOOP, with a tag to echo back if the client gave one.
    Noop {
        tag: Option<String>,
    },
    Unauthenticate,
}

impl Command {
    /// The command's name, as logged.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Authenticate { .. } => "AUTHENTICATE",
            Command::StartTls => "STARTTLS",
            Command::Logout => "LOGOUT",
            Command::Capability => "CAPABILITY",
            Command::HaveSpace { .. } => "HAVESPACE",
            Command::PutScript { .. } => "PUTSCRIPT",
            Command::ListScripts => "LISTSCRIPTS",
            Command::SetActive { .. } => "SETACTIVE",
            Command::GetScript { .. } => "GETSCRIPT",
            Command::DeleteScript { .. } => "DELETESCRIPT",
            Command::RenameScript { .. } => "RENAMESCRIPT",
            Command::CheckScript { .. } => "CHECKSCRIPT",
            Command::Noop { .. } => "NOOP",
            Command::Unauthenticate => "UNAUTHENTICATE",
        }
    }
}
