//! Checks the commands: control (`stop`, `return`), actions (`keep`,
//! `discard`, `redirect`, `fileinto`, `reject`, `vacation`), flags,
//! variables and `include` (RFC 5228 section 4 and the extensions).

use crate::Location;
use crate::ast::Node;
use crate::error::{CompileError, Pos, err};
use crate::script::{Command, FlagOp, Modifier, Strings, VacationCommand};
use crate::template::Template;

use super::Checker;
use super::args::{Args, Kind, single, strings_of, unknown_tag};

impl Checker<'_, '_> {
    pub(super) fn command(&mut self, node: &Node) -> Result<Command, CompileError> {
        let pos = node.pos;
        if node.name == "require" {
            return err(pos, "require must come before any other command");
        }
        self.no_test_or_block(node)?;
        let mut args = Args::new(node);
        let command = match node.name.as_str() {
            "stop" => {
                args.positional(&[], 0)?;
                Command::Stop
            }
            "discard" => {
                args.positional(&[], 0)?;
                Command::Discard
            }
            "keep" => {
                let mut flags = None;
                while let Some((tag, at)) = args.next_tag() {
                    match tag {
                        "flags" => flags = Some(self.flags_tag(&mut args, at)?),
                        _ => return unknown_tag(node, tag, at),
                    }
                }
                args.positional(&[], 0)?;
                Command::Keep { flags }
            }
            "redirect" => {
                let mut copy = false;
                while let Some((tag, at)) = args.next_tag() {
                    match tag {
                        "copy" => copy = self.copy_tag(at)?,
                        _ => return unknown_tag(node, tag, at),
                    }
                }
                let positional = args.positional(&[Kind::String], 0)?;
                let address = self.template(single(positional[0]), positional[0].pos)?;
                if let Some(constant) = address.as_constant()
                    && !crate::address::valid_redirect(&constant)
                {
                    return err(
                        positional[0].pos,
                        format!("\"{constant}\" is not a valid redirect address"),
                    );
                }
                Command::Redirect { address, copy }
            }
            "fileinto" => {
                self.need("fileinto", pos, "fileinto")?;
                let (mut copy, mut create, mut flags) = (false, false, None);
                while let Some((tag, at)) = args.next_tag() {
                    match tag {
                        "copy" => copy = self.copy_tag(at)?,
                        "flags" => flags = Some(self.flags_tag(&mut args, at)?),
                        "create" => {
                            self.need("mailbox", at, ":create")?;
                            create = true;
                        }
                        _ => return unknown_tag(node, tag, at),
                    }
                }
                let positional = args.positional(&[Kind::String], 0)?;
                let mailbox = self.template(single(positional[0]), positional[0].pos)?;
                if mailbox.as_constant().is_some_and(|m| m.is_empty()) {
                    return err(positional[0].pos, "the mailbox name is empty");
                }
                Command::FileInto {
                    mailbox,
                    flags,
                    copy,
                    create,
                }
            }
            "setflag" | "addflag" | "removeflag" => {
                self.need("imap4flags", pos, &node.name)?;
                let positional = args.positional(&[Kind::String, Kind::StringList], 1)?;
                let variable = match positional.as_slice() {
                    [name, _] => {
                        self.need("variables", name.pos, "a flag variable")?;
                        Some(self.variable_name(single(name), name.pos)?)
                    }
                    _ => None,
                };
                let op = match node.name.as_str() {
                    "setflag" => FlagOp::Set,
                    "addflag" => FlagOp::Add,
                    _ => FlagOp::Remove,
                };
                let flags = positional
                    .last()
                    .map_or(Ok(Vec::new()), |a| self.templates(a))?;
                Command::Flags {
                    op,
                    variable: variable.map(Template::constant),
                    flags,
                }
            }
            "set" => self.set(node, args)?,
            "reject" | "ereject" => {
                self.need(&node.name, pos, &node.name)?;
                let positional = args.positional(&[Kind::String], 0)?;
                Command::Reject {
                    reason: self.template(single(positional[0]), positional[0].pos)?,
                    extended: node.name == "ereject",
                }
            }
            "vacation" => self.vacation(node, args)?,
            "include" => self.include(node, args)?,
            "return" => {
                self.need("include", pos, "return")?;
                args.positional(&[], 0)?;
                Command::Return
            }
            "global" => {
                self.need("include", pos, "global")?;
                self.need("variables", pos, "global")?;
                let positional = args.positional(&[Kind::StringList], 0)?;
                let names = strings_of(positional[0])
                    .iter()
                    .map(|n| self.variable_name(n, positional[0].pos))
                    .collect::<Result<_, _>>()?;
                Command::Global(names)
            }
            other => return err(pos, format!("unknown command \"{other}\"")),
        };
        Ok(command)
    }

    fn copy_tag(&self, pos: Pos) -> Result<bool, CompileError> {
        self.need("copy", pos, ":copy")?;
        Ok(true)
    }

    fn flags_tag(&self, args: &mut Args<'_>, pos: Pos) -> Result<Strings, CompileError> {
        self.need("imap4flags", pos, ":flags")?;
        let (flags, at) = args.strings("flags", pos, Kind::StringList)?;
        flags.iter().map(|f| self.template(f, at)).collect()
    }

    fn set(&self, node: &Node, mut args: Args<'_>) -> Result<Command, CompileError> {
        self.need("variables", node.pos, "set")?;
        let mut modifiers: Vec<Modifier> = Vec::new();
        while let Some((tag, at)) = args.next_tag() {
            let modifier = match tag {
                "lower" => Modifier::Lower,
                "upper" => Modifier::Upper,
                "lowerfirst" => Modifier::LowerFirst,
                "upperfirst" => Modifier::UpperFirst,
                "quotewildcard" => Modifier::QuoteWildcard,
                "length" => Modifier::Length,
                _ => return unknown_tag(node, tag, at),
            };
            if modifiers
                .iter()
                .any(|m| m.precedence() == modifier.precedence())
            {
                return err(
                    at,
                    format!(":{tag} conflicts with another modifier of the same precedence"),
                );
            }
            modifiers.push(modifier);
        }
        modifiers.sort_by_key(|m| std::cmp::Reverse(m.precedence()));
        let positional = args.positional(&[Kind::String, Kind::String], 0)?;
        Ok(Command::Set {
            name: self.variable_name(single(positional[0]), positional[0].pos)?,
            modifiers,
            value: self.template(single(positional[1]), positional[1].pos)?,
        })
    }

    fn vacation(&self, node: &Node, mut args: Args<'_>) -> Result<Command, CompileError> {
        self.need("vacation", node.pos, "vacation")?;
        let mut command = VacationCommand {
            period: None,
            subject: None,
            from: None,
            addresses: Vec::new(),
            mime: false,
            handle: None,
            reason: Template::constant(""),
        };
        while let Some((tag, at)) = args.next_tag() {
            match tag {
                "days" | "seconds" => {
                    if command.period.is_some() {
                        return err(at, "only one of :days and :seconds may be given");
                    }
                    let n = args.number(tag, at)?;
                    command.period = Some(if tag == "days" {
                        // RFC 5230 section 4.1: at least one day.
                        n.max(1).saturating_mul(86_400)
                    } else {
                        self.need("vacation-seconds", at, ":seconds")?;
                        n
                    });
                }
                "subject" | "from" | "handle" => {
                    let (value, value_pos) = args.strings(tag, at, Kind::String)?;
                    let template =
                        Some(self.template(value.first().map_or("", String::as_str), value_pos)?);
                    match tag {
                        "subject" => command.subject = template,
                        "from" => command.from = template,
                        _ => command.handle = template,
                    }
                }
                "addresses" => {
                    let (list, list_pos) = args.strings(tag, at, Kind::StringList)?;
                    command.addresses = list
                        .iter()
                        .map(|a| self.template(a, list_pos))
                        .collect::<Result<_, _>>()?;
                }
                "mime" => command.mime = true,
                _ => return unknown_tag(node, tag, at),
            }
        }
        let positional = args.positional(&[Kind::String], 0)?;
        command.reason = self.template(single(positional[0]), positional[0].pos)?;
        Ok(Command::Vacation(Box::new(command)))
    }

    fn include(&mut self, node: &Node, mut args: Args<'_>) -> Result<Command, CompileError> {
        self.need("include", node.pos, "include")?;
        let (mut location, mut once, mut optional) = (None, false, false);
        while let Some((tag, at)) = args.next_tag() {
            match tag {
                "personal" | "global" if location.is_some() => {
                    return err(at, "only one of :personal and :global may be given");
                }
                "personal" => location = Some(Location::Personal),
                "global" => location = Some(Location::Global),
                "once" => once = true,
                "optional" => optional = true,
                _ => return unknown_tag(node, tag, at),
            }
        }
        let positional = args.positional(&[Kind::String], 0)?;
        let name_pos = positional[0].pos;
        let name = single(positional[0]);
        if name.is_empty() || name.contains(['/', '\0']) || name.chars().any(char::is_control) {
            return err(name_pos, format!("\"{name}\" is not a valid script name"));
        }
        // A missing script is an error only when the include runs, so that
        // scripts can be uploaded in any order.
        let unit = self
            .compiler
            .include(location.unwrap_or(Location::Personal), name, node.pos)?;
        Ok(Command::Include {
            unit,
            name: name.to_string(),
            once,
            optional,
        })
    }
}
