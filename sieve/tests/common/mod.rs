//! Helpers shared by the integration tests: sample messages, a runner with
//! a fixed clock, and short constructors for the expected actions.

// Each test file uses only some of these helpers.
#![allow(dead_code)]

use std::collections::HashMap;

use postino_sieve::{
    Action, CompileError, Context, Envelope, Includes, Limits, Location, Outcome, Script,
};

/// The message of RFC 5228 section 3.1.
pub const COYOTE: &str = "Date: Tue, 1 Apr 1997 09:06:31 -0800 (PST)\r\n\
From: coyote@desert.example.org\r\n\
To: roadrunner@acme.example.com\r\n\
Subject: I have a present for you\r\n\
\r\n\
Look, I'm sorry about the whole anvil thing, and I really\r\n\
didn't mean to try and drop it on you from the top of the\r\n\
cliff.  I want to try to make it up to you.  I've got some\r\n\
great birdseed over here at my place--top of the line\r\n\
stuff--and if you come by, I'll have it all wrapped up\r\n\
for you.  I'm really sorry for all the problems I've caused.\r\n\
I know it wasn't very neighborly.\r\n\
\r\n\
-- Wile E. Coyote   \"Super Genius\"   coyote@desert.example.org\r\n";

/// 2008-01-02 03:04:05 UTC, a Wednesday: the clock of every run.
pub const NOW: i64 = 1_199_243_045;

/// A test run: script, message and what the caller would supply.
pub struct Case<'a> {
    pub script: &'a str,
    pub message: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub zone: i32,
    pub mailboxes: &'a [&'a str],
    pub includes: Scripts,
    pub limits: Limits,
}

impl<'a> Case<'a> {
    pub fn new(script: &'a str, message: &'a str) -> Self {
        Case {
            script,
            message,
            from: "coyote@desert.example.org",
            to: "roadrunner@acme.example.com",
            zone: 0,
            mailboxes: &["INBOX"],
            includes: Scripts::default(),
            limits: Limits::default(),
        }
    }

    pub fn compile(&self) -> Result<Script, CompileError> {
        postino_sieve::compile(self.script, &self.includes, &self.limits)
    }

    pub fn run(&self) -> Outcome {
        let script = self
            .compile()
            .unwrap_or_else(|e| panic!("script does not compile: {e}\n{}", self.script));
        let envelope = Envelope {
            from: self.from.to_string(),
            to: self.to.to_string(),
        };
        let mailbox_exists = |name: &str| self.mailboxes.contains(&name);
        let context = Context {
            message: self.message.as_bytes(),
            envelope: &envelope,
            now: NOW,
            zone_offset_minutes: self.zone,
            mailbox_exists: &mailbox_exists,
        };
        postino_sieve::run(&script, &context)
    }

    /// The actions of a run that must not fail.
    pub fn actions(&self) -> Vec<Action> {
        let outcome = self.run();
        assert_eq!(outcome.error, None, "runtime error in\n{}", self.script);
        outcome.actions
    }
}

/// Scripts available to `include`, by location and name.
#[derive(Default)]
pub struct Scripts(pub HashMap<(Location, String), String>);

impl Scripts {
    pub fn with(mut self, location: Location, name: &str, source: &str) -> Self {
        self.0
            .insert((location, name.to_string()), source.to_string());
        self
    }
}

impl Includes for Scripts {
    fn script(&self, location: Location, name: &str) -> Option<String> {
        self.0.get(&(location, name.to_string())).cloned()
    }
}

pub fn actions(script: &str, message: &str) -> Vec<Action> {
    Case::new(script, message).actions()
}

pub fn compile_error(script: &str) -> CompileError {
    match Case::new(script, COYOTE).compile() {
        Ok(_) => panic!("script compiled but should not:\n{script}"),
        Err(e) => e,
    }
}

pub fn keep() -> Action {
    Action::Keep { flags: Vec::new() }
}

pub fn keep_flags(flags: &[&str]) -> Action {
    Action::Keep {
        flags: flags.iter().map(|f| f.to_string()).collect(),
    }
}

pub fn fileinto(mailbox: &str) -> Action {
    fileinto_flags(mailbox, &[])
}

pub fn fileinto_flags(mailbox: &str, flags: &[&str]) -> Action {
    Action::FileInto {
        mailbox: mailbox.to_string(),
        flags: flags.iter().map(|f| f.to_string()).collect(),
        create: false,
    }
}

pub fn redirect(address: &str) -> Action {
    Action::Redirect {
        address: address.to_string(),
    }
}

/// A message with the given header lines and a short body.
pub fn message(headers: &[&str]) -> String {
    format!("{}\r\n\r\nHello.\r\n", headers.join("\r\n"))
}
