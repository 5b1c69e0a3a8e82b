//! Postino's Sieve engine (RFC 5228 and extensions): compile a script,
//! run it against one message and its envelope, get the actions to take.
//! It does no I/O: the caller supplies included scripts, the time and
//! whether mailboxes exist, and carries out the actions.
//!
//! Capabilities (see [`CAPABILITIES`]): fileinto, envelope, encoded-character,
//! the comparators i;octet, i;ascii-casemap and i;ascii-numeric, imap4flags
//! (RFC 5232), vacation (RFC 5230) and vacation-seconds (RFC 6131), copy
//! (RFC 3894), body (RFC 5173), variables (RFC 5229), reject and ereject
//! (RFC 5429), relational (RFC 5231), subaddress (RFC 5233, separator "+"),
//! date and index (RFC 5260), mailbox (RFC 5490), include (RFC 6609).
//!
//! Choices where the RFCs leave room:
//! - `fileinto "INBOX"` is a keep; duplicate keeps and fileintos to one
//!   mailbox merge, with the union of their flags.
//! - `reject`/`ereject` with any other action, a second reject, or a second
//!   vacation is a runtime error: the message is kept and the error reported.
//! - In `:matches`, every wildcard but the last takes as little as it can,
//!   as RFC 5229's "[*] *" example has it; the comment of its
//!   "coyote@**.com" example, which expects the opposite, is not followed.
//! - A script named by `include` that does not exist fails the run when the
//!   include is reached (so scripts can be uploaded in any order); one that
//!   exists is compiled with the script, and loops are refused then.
//! - Vacation periods given in days are at least one day; replies to a sender
//!   are counted per `handle`, which defaults to a hash of the arguments.
//!
//! ```
//! use postino_sieve::{compile, run, Action, Context, Envelope, Limits, NoIncludes};
//!
//! let limits = Limits::default();
//! let script = compile(
//!     "require \"fileinto\";\nif header :contains \"subject\" \"[spam]\" { fileinto \"Junk\"; }",
//!     &NoIncludes,
//!     &limits,
//! )
//! .expect("valid script");
//! let envelope = Envelope { from: "a@example.org".into(), to: "b@example.org".into() };
//! let context = Context {
//!     message: b"Subject: [SPAM] offer\r\n\r\nbuy\r\n",
//!     envelope: &envelope,
//!     now: 0,
//!     zone_offset_minutes: 60,
//!     mailbox_exists: &|_| true,
//! };
//! let outcome = run(&script, &context);
//! assert_eq!(
//!     outcome.actions,
//!     vec![Action::FileInto { mailbox: "Junk".into(), flags: vec![], create: false }]
//! );
//! ```

mod action;
mod address;
mod ast;
mod date;
mod error;
mod lexer;
mod limits;
mod matching;
mod message;
mod parser;
mod run;
mod script;
mod template;
mod vacation;
mod validate;

pub use action::{Action, Outcome, Vacation};
pub use error::CompileError;
pub use limits::Limits;
pub use script::Script;
pub use vacation::{NoReply, vacation_allowed};
pub use validate::CAPABILITIES;

/// The SMTP envelope of the message: addresses without angle brackets,
/// `from` empty for the null sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub from: String,
    pub to: String,
}

/// Everything a run may look at besides the script.
pub struct Context<'a> {
    /// The whole message, header and body, as received.
    pub message: &'a [u8],
    pub envelope: &'a Envelope,
    /// The current time, in seconds since the Unix epoch (`currentdate`).
    pub now: i64,
    /// The local zone, in minutes east of UTC (default zone of `date` tests).
    pub zone_offset_minutes: i32,
    /// Whether the user has a mailbox of this name (`mailboxexists`).
    pub mailbox_exists: &'a dyn Fn(&str) -> bool,
}

/// Where an included script lives (RFC 6609).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Location {
    /// The user's own scripts.
    Personal,
    /// Scripts shared by the administrators.
    Global,
}

/// Supplies the scripts that `include` names.
pub trait Includes {
    /// The source of the script, `None` if there is none by that name.
    fn script(&self, location: Location, name: &str) -> Option<String>;
}

/// For scripts compiled without access to other scripts: every include is missing.
pub struct NoIncludes;

impl Includes for NoIncludes {
    fn script(&self, _location: Location, _name: &str) -> Option<String> {
        None
    }
}

/// A mailbox's own scripts by name, as `include :personal` sees them;
/// there are no global scripts.
#[derive(Clone, Debug, Default)]
pub struct PersonalScripts(pub std::collections::HashMap<String, String>);

impl Includes for PersonalScripts {
    fn script(&self, location: Location, name: &str) -> Option<String> {
        match location {
            Location::Personal => self.0.get(name).cloned(),
            Location::Global => None,
        }
    }
}

/// Parses and checks a script and the scripts it includes; `limits` bound
/// the compilation and, kept in the `Script`, its runs.
pub fn compile(
    source: &str,
    includes: &dyn Includes,
    limits: &Limits,
) -> Result<Script, CompileError> {
    validate::compile(source, includes, limits)
}

/// Runs a compiled script within the limits it was compiled with; never
/// fails: a runtime error gives an implicit keep and the error in
/// `Outcome::error`.
pub fn run(script: &Script, context: &Context<'_>) -> Outcome {
    run::run(script, context, &script.limits)
}

#[cfg(test)]
mod tests {
    /// Compiled scripts are cached and shared between delivery threads.
    #[test]
    fn scripts_are_send_and_sync() {
        fn shareable<T: Send + Sync>() {}
        shareable::<super::Script>();
        shareable::<super::Outcome>();
    }
}
