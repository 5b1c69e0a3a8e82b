//! Runs a compiled script against one message: executes commands, keeps
//! the variables, counts steps, and turns any runtime error into an
//! implicit keep with the error for the caller to log (RFC 5228 section
//! 2.10.6). Tests are evaluated in `conditions`, actions collected in
//! `actions`.

mod actions;
mod conditions;

use std::cell::Cell;
use std::collections::{HashMap, HashSet};

use crate::Context;
use crate::action::{Action, Outcome};
use crate::address::valid_redirect;
use crate::limits::Limits;
use crate::matching::quote_wildcards;
use crate::message::MessageView;
use crate::script::{Block, Command, FlagOp, Modifier, Script};
use crate::template::{Piece, Template};

use actions::{merge_flags, split_flags};

pub(crate) fn run(script: &Script, context: &Context<'_>, limits: &Limits) -> Outcome {
    let mut runner = Runner {
        script,
        context,
        limits,
        message: MessageView::new(context.message),
        steps: Cell::new(0),
        actions: Vec::new(),
        implicit_keep: true,
        flags: Vec::new(),
        globals: HashMap::new(),
        done_once: HashSet::new(),
    };
    match runner.unit(0) {
        Ok(_) => {
            let mut actions = runner.actions;
            if runner.implicit_keep {
                // After `fileinto :copy "INBOX"` the implicit keep is the
                // same action, and merges with it.
                match actions
                    .iter_mut()
                    .find(|a| matches!(a, Action::Keep { .. }))
                {
                    Some(Action::Keep { flags }) => merge_flags(flags, &runner.flags),
                    _ => actions.push(Action::Keep {
                        flags: runner.flags,
                    }),
                }
            }
            Outcome {
                actions,
                error: None,
            }
        }
        Err(error) => Outcome {
            actions: vec![Action::Keep { flags: Vec::new() }],
            error: Some(error.to_string()),
        },
    }
}

/// A runtime error, with the line of the command that failed; its text
/// goes to the caller's log.
#[derive(Debug)]
struct Failure {
    message: String,
    line: Option<u32>,
}

impl Failure {
    /// Places the error at `line` unless a nested command already did.
    fn at(mut self, line: u32) -> Self {
        self.line.get_or_insert(line);
        self
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure {
            message,
            line: None,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// How control leaves a command.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Next,
    Stop,
    Return,
}

/// The variables of one script being run: each included script has its
/// own, apart from the names it declares `global` (RFC 6609).
#[derive(Default)]
struct Frame {
    variables: HashMap<String, String>,
    global_names: HashSet<String>,
    /// `${0}`, `${1}`…: set by the last successful `:matches`.
    matches: Vec<String>,
}

struct Runner<'s, 'c> {
    script: &'s Script,
    context: &'c Context<'c>,
    limits: &'c Limits,
    message: MessageView<'c>,
    /// Interpreter steps so far; a `Cell` so that string expansion, which
    /// only reads the runner, can charge for the bytes it builds.
    steps: Cell<u64>,
    actions: Vec<Action>,
    implicit_keep: bool,
    /// The internal flags variable of RFC 5232 section 3.
    flags: Vec<String>,
    globals: HashMap<String, String>,
    /// Units already run by `include :once`.
    done_once: HashSet<usize>,
}

impl Runner<'_, '_> {
    fn step(&self) -> Result<(), Failure> {
        self.charge(1)
    }

    fn charge(&self, cost: u64) -> Result<(), Failure> {
        let steps = self.steps.get().saturating_add(cost);
        self.steps.set(steps);
        if steps > self.limits.max_steps {
            return Err(format!("script ran more than {} steps", self.limits.max_steps).into());
        }
        Ok(())
    }

    fn unit(&mut self, unit: usize) -> Result<Flow, Failure> {
        let mut frame = Frame::default();
        let script = self.script;
        let block = script
            .units
            .get(unit)
            .ok_or_else(|| Failure::from(format!("no script unit {unit}")))?;
        match self.block(block, &mut frame)? {
            Flow::Stop => Ok(Flow::Stop),
            Flow::Next | Flow::Return => Ok(Flow::Next),
        }
    }

    fn block(&mut self, block: &Block, frame: &mut Frame) -> Result<Flow, Failure> {
        for located in block {
            let flow = self
                .command(&located.command, frame)
                .map_err(|f| f.at(located.line))?;
            if flow != Flow::Next {
                return Ok(flow);
            }
        }
        Ok(Flow::Next)
    }

    fn command(&mut self, command: &Command, frame: &mut Frame) -> Result<Flow, Failure> {
        self.step()?;
        match command {
            Command::If(branches, otherwise) => {
                for (test, block) in branches {
                    if self.test(test, frame)? {
                        return self.block(block, frame);
                    }
                }
                if let Some(block) = otherwise {
                    return self.block(block, frame);
                }
            }
            Command::Stop => return Ok(Flow::Stop),
            Command::Return => return Ok(Flow::Return),
            Command::Keep { flags } => {
                let flags = self.action_flags(flags.as_ref(), frame);
                self.add(Action::Keep { flags })?;
                self.implicit_keep = false;
            }
            Command::Discard => self.implicit_keep = false,
            Command::Redirect { address, copy } => {
                let address = self.expand(address, frame);
                if !valid_redirect(&address) {
                    return Err(format!("\"{address}\" is not a valid redirect address").into());
                }
                let redirects = self
                    .actions
                    .iter()
                    .filter(|a| matches!(a, Action::Redirect { .. }))
                    .count();
                let duplicate = self
                    .actions
                    .iter()
                    .any(|a| matches!(a, Action::Redirect { address: known } if known.eq_ignore_ascii_case(&address)));
                if !duplicate {
                    if redirects >= self.limits.max_redirects {
                        return Err(
                            format!("more than {} redirects", self.limits.max_redirects).into()
                        );
                    }
                    self.add(Action::Redirect { address })?;
                }
                if !copy {
                    self.implicit_keep = false;
                }
            }
            Command::FileInto {
                mailbox,
                flags,
                copy,
                create,
            } => {
                let mailbox = self.expand(mailbox, frame);
                if mailbox.is_empty() {
                    return Err(String::from("the mailbox name is empty").into());
                }
                let flags = self.action_flags(flags.as_ref(), frame);
                // Filing into INBOX is keeping (RFC 5228 section 4.1), so
                // that it merges with a keep as the same action.
                let action = if mailbox.eq_ignore_ascii_case("inbox") {
                    Action::Keep { flags }
                } else {
                    Action::FileInto {
                        mailbox,
                        flags,
                        create: *create,
                    }
                };
                self.add(action)?;
                if !copy {
                    self.implicit_keep = false;
                }
            }
            Command::Flags {
                op,
                variable,
                flags,
            } => {
                let given = split_flags(flags.iter().map(|f| self.expand(f, frame)));
                let target = variable.as_ref().map(|v| self.expand(v, frame));
                let current = match &target {
                    Some(name) => split_flags([self.variable(name, frame).to_string()]),
                    None => self.flags.clone(),
                };
                let updated = match op {
                    FlagOp::Set => given,
                    FlagOp::Add => split_flags(current.into_iter().chain(given)),
                    FlagOp::Remove => current
                        .into_iter()
                        .filter(|f| !given.iter().any(|g| g.eq_ignore_ascii_case(f)))
                        .collect(),
                };
                match target {
                    Some(name) => self.assign(&name, updated.join(" "), frame),
                    None => self.flags = updated,
                }
            }
            Command::Set {
                name,
                modifiers,
                value,
            } => {
                let mut value = self.expand(value, frame);
                for modifier in modifiers {
                    value = modify(*modifier, &value);
                }
                self.assign(name, value, frame);
            }
            Command::Reject { reason, extended } => {
                let reason = self.expand(reason, frame);
                self.add(Action::Reject {
                    reason,
                    extended: *extended,
                })?;
                self.implicit_keep = false;
            }
            Command::Vacation(vacation) => {
                let vacation = self.vacation(vacation, frame);
                self.add(Action::Vacation(vacation))?;
            }
            Command::Include {
                unit,
                name,
                once,
                optional,
            } => match unit {
                None if *optional => {}
                None => return Err(format!("included script \"{name}\" does not exist").into()),
                Some(unit) => {
                    if *once && !self.done_once.insert(*unit) {
                        return Ok(Flow::Next);
                    }
                    let flow = self.unit(*unit).map_err(|f| {
                        Failure::from(format!("in included script \"{name}\": {f}"))
                    })?;
                    if flow == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                }
            },
            Command::Global(names) => {
                for name in names {
                    frame.global_names.insert(name.clone());
                }
            }
        }
        Ok(Flow::Next)
    }

    /// The template with its variables filled in. Variables add at most
    /// `max_variable_size` bytes to the script's own text, so that a string
    /// naming one long variable many times stays small; every 4 KiB built
    /// costs a step, charged to the next `step`.
    fn expand(&self, template: &Template, frame: &Frame) -> String {
        let mut out = String::new();
        let mut room = self.limits.max_variable_size;
        for piece in &template.pieces {
            let value = match piece {
                Piece::Text(text) => {
                    out.push_str(text);
                    continue;
                }
                Piece::Match(n) => frame.matches.get(*n).map_or("", String::as_str),
                Piece::Variable(name) => self.variable(name, frame),
            };
            let mut value = value.to_string();
            truncate(&mut value, room);
            room -= value.len();
            out.push_str(&value);
        }
        let steps = self.steps.get().saturating_add(out.len() as u64 / 4096);
        self.steps.set(steps);
        out
    }

    /// The value of a variable: "global.x" and the names this script
    /// declared `global` are shared by every script, the others are its own.
    fn variable<'f>(&'f self, name: &str, frame: &'f Frame) -> &'f str {
        let value = match shared_name(name, frame) {
            Some(name) => self.globals.get(name),
            None => frame.variables.get(name),
        };
        value.map_or("", String::as_str)
    }

    fn assign(&mut self, name: &str, mut value: String, frame: &mut Frame) {
        truncate(&mut value, self.limits.max_variable_size);
        match shared_name(name, frame) {
            Some(name) => self.globals.insert(name.to_string(), value),
            None => frame.variables.insert(name.to_string(), value),
        };
    }
}

/// The name in the global namespace `name` refers to, if it is global
/// (RFC 6609).
fn shared_name<'n>(name: &'n str, frame: &Frame) -> Option<&'n str> {
    match name.strip_prefix("global.") {
        Some(global) => Some(global),
        None => frame.global_names.contains(name).then_some(name),
    }
}

fn modify(modifier: Modifier, value: &str) -> String {
    let first_changed = |f: fn(&char) -> String| {
        let mut chars = value.chars();
        chars
            .next()
            .map_or_else(String::new, |c| f(&c) + chars.as_str())
    };
    match modifier {
        Modifier::Lower => value.to_lowercase(),
        Modifier::Upper => value.to_uppercase(),
        Modifier::LowerFirst => first_changed(|c| c.to_lowercase().collect()),
        Modifier::UpperFirst => first_changed(|c| c.to_uppercase().collect()),
        Modifier::QuoteWildcard => quote_wildcards(value),
        Modifier::Length => value.chars().count().to_string(),
    }
}

fn truncate(value: &mut String, max: usize) {
    if value.len() > max {
        let mut end = max;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        value.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modifiers() {
        assert_eq!(modify(Modifier::UpperFirst, "élan"), "Élan");
        assert_eq!(modify(Modifier::LowerFirst, ""), "");
        assert_eq!(modify(Modifier::Length, "été"), "3");
        assert_eq!(modify(Modifier::QuoteWildcard, "a?b"), "a\\?b");
    }

    #[test]
    fn truncation_respects_characters() {
        let mut value = "aé".to_string();
        truncate(&mut value, 2);
        assert_eq!(value, "a");
    }
}
