//! Reading a command's or test's arguments: tags with their values, then
//! the positional arguments checked for number and type (RFC 5228
//! section 2.6).

use crate::ast::{Argument, Node, Value};
use crate::error::{CompileError, Pos, err};

/// What positional argument a command or test expects.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    String,
    StringList,
    Number,
}

/// The arguments of one node, read tag by tag; positional ones are set
/// aside as they are met and checked at the end.
pub(super) struct Args<'n> {
    node: &'n Node,
    at: usize,
    positional: Vec<&'n Argument>,
}

impl<'n> Args<'n> {
    pub(super) fn new(node: &'n Node) -> Self {
        Args {
            node,
            at: 0,
            positional: Vec::new(),
        }
    }

    pub(super) fn next_tag(&mut self) -> Option<(&'n str, Pos)> {
        while let Some(argument) = self.node.arguments.get(self.at) {
            self.at += 1;
            match &argument.value {
                Value::Tag(tag) => return Some((tag, argument.pos)),
                _ => self.positional.push(argument),
            }
        }
        None
    }

    /// The argument after a tag, which the tag takes as its value.
    pub(super) fn value(
        &mut self,
        tag: &str,
        pos: Pos,
        kind: Kind,
    ) -> Result<&'n Argument, CompileError> {
        let argument = self.node.arguments.get(self.at);
        self.at += 1;
        match argument {
            Some(a) if fits(&a.value, kind) => Ok(a),
            _ => err(
                pos,
                format!(":{tag} must be followed by {}", kind_name(kind)),
            ),
        }
    }

    pub(super) fn number(&mut self, tag: &str, pos: Pos) -> Result<u64, CompileError> {
        match self.value(tag, pos, Kind::Number)?.value {
            Value::Number(n) => Ok(n),
            _ => err(pos, format!(":{tag} must be followed by a number")),
        }
    }

    pub(super) fn strings(
        &mut self,
        tag: &str,
        pos: Pos,
        kind: Kind,
    ) -> Result<(&'n [String], Pos), CompileError> {
        let argument = self.value(tag, pos, kind)?;
        Ok((strings_of(argument), argument.pos))
    }

    /// Checks the positional arguments against `kinds`, some of which may
    /// be left out from the front when fewer are given (`optional`).
    /// A tag still unread here is one the command or test does not know.
    pub(super) fn positional(
        mut self,
        kinds: &[Kind],
        optional: usize,
    ) -> Result<Vec<&'n Argument>, CompileError> {
        if let Some((tag, at)) = self.next_tag() {
            return unknown_tag(self.node, tag, at);
        }
        let name = &self.node.name;
        let given = self.positional.len();
        if given > kinds.len() || given + optional < kinds.len() {
            let wanted = if optional == 0 {
                kinds.len().to_string()
            } else {
                format!("{} to {}", kinds.len() - optional, kinds.len())
            };
            return err(
                self.node.pos,
                format!("{name} takes {wanted} positional arguments, {given} given"),
            );
        }
        let kinds = &kinds[kinds.len() - given..];
        for (argument, &kind) in self.positional.iter().zip(kinds) {
            if !fits(&argument.value, kind) {
                return err(
                    argument.pos,
                    format!("{name} expects {} here", kind_name(kind)),
                );
            }
        }
        Ok(self.positional)
    }
}

pub(super) fn unknown_tag<T>(node: &Node, tag: &str, pos: Pos) -> Result<T, CompileError> {
    err(
        pos,
        format!("unknown tagged argument \":{tag}\" for {}", node.name),
    )
}

pub(super) fn fits(value: &Value, kind: Kind) -> bool {
    matches!(
        (value, kind),
        (Value::Number(_), Kind::Number)
            | (Value::Strings(_, false), Kind::String)
            | (Value::Strings(..), Kind::StringList)
    )
}

pub(super) fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::String => "a string",
        Kind::StringList => "a string list",
        Kind::Number => "a number",
    }
}

pub(super) fn strings_of(argument: &Argument) -> &[String] {
    match &argument.value {
        Value::Strings(strings, _) => strings,
        _ => &[],
    }
}

pub(super) fn single(argument: &Argument) -> &str {
    strings_of(argument).first().map_or("", String::as_str)
}
