//! Turns the generic syntax tree into a checked `Script`: every command,
//! test, tagged argument and comparator must be known and its extension
//! required (RFC 5228 sections 2.10.5 and 3.2), argument counts and types
//! must fit, and `include`d scripts (RFC 6609) are compiled beside the
//! script, refusing loops. Errors name the line and column.

use std::collections::{HashMap, HashSet};

use crate::ast::{Argument, Node, Value};
use crate::date::parse_zone;
use crate::error::{CompileError, Pos, err};
use crate::limits::Limits;
use crate::matching::{Comparator, Match, MatchKind, Relation};
use crate::script::{
    AddressPart, Block, BodyTransform, Command, DatePart, FlagOp, Index, Located, Modifier, Script,
    Strings, Test, VacationCommand, Zone,
};
use crate::template::{Template, decode_encoded_characters, variable_name};
use crate::{Includes, Location, lexer, parser};

/// Every capability this engine implements, as named in `require`.
pub const CAPABILITIES: &[&str] = &[
    "fileinto",
    "envelope",
    "encoded-character",
    "comparator-i;octet",
    "comparator-i;ascii-casemap",
    "comparator-i;ascii-numeric",
    "imap4flags",
    "vacation",
    "vacation-seconds",
    "copy",
    "body",
    "variables",
    "reject",
    "ereject",
    "relational",
    "subaddress",
    "date",
    "index",
    "mailbox",
    "include",
];

/// Compiles the script and everything it includes.
pub(crate) fn compile(
    source: &str,
    includes: &dyn Includes,
    limits: &Limits,
) -> Result<Script, CompileError> {
    let mut compiler = Compiler {
        includes,
        limits,
        units: vec![Vec::new()],
        by_name: HashMap::new(),
        stack: Vec::new(),
    };
    let main = compiler.unit(source)?;
    compiler.units[0] = main;
    Ok(Script {
        units: compiler.units,
    })
}

struct Compiler<'a> {
    includes: &'a dyn Includes,
    limits: &'a Limits,
    units: Vec<Block>,
    by_name: HashMap<(Location, String), usize>,
    /// The includes being compiled, outermost first, to refuse loops.
    stack: Vec<(Location, String)>,
}

impl Compiler<'_> {
    fn unit(&mut self, source: &str) -> Result<Block, CompileError> {
        if source.len() > self.limits.max_script_size {
            return err(
                Pos { line: 1, column: 1 },
                format!(
                    "script is {} bytes, more than the limit of {}",
                    source.len(),
                    self.limits.max_script_size
                ),
            );
        }
        let nodes = parser::parse(lexer::tokenize(source)?, self.limits.max_nesting)?;
        let mut checker = Checker {
            compiler: self,
            capabilities: HashSet::new(),
        };
        checker.top_level(&nodes)
    }

    /// The unit of an included script, compiling it on first use; `None`
    /// when it does not exist. Errors inside it are reported at `pos`, the
    /// `include` command, with the included script's own position in the text.
    fn include(
        &mut self,
        location: Location,
        name: &str,
        pos: Pos,
    ) -> Result<Option<usize>, CompileError> {
        let key = (location, name.to_string());
        if self.stack.contains(&key) {
            return err(pos, format!("script \"{name}\" includes itself"));
        }
        if let Some(&unit) = self.by_name.get(&key) {
            return Ok(Some(unit));
        }
        if self.stack.len() >= self.limits.max_include_depth {
            return err(
                pos,
                format!(
                    "includes nested deeper than {}",
                    self.limits.max_include_depth
                ),
            );
        }
        if self.by_name.len() >= self.limits.max_includes {
            return err(
                pos,
                format!("more than {} included scripts", self.limits.max_includes),
            );
        }
        let Some(source) = self.includes.script(location, name) else {
            return Ok(None);
        };
        self.stack.push(key.clone());
        let compiled = self.unit(&source);
        self.stack.pop();
        let block = compiled
            .map_err(|e| CompileError::new(pos, format!("in included script \"{name}\": {e}")))?;
        self.units.push(block);
        let unit = self.units.len() - 1;
        self.by_name.insert(key, unit);
        Ok(Some(unit))
    }
}

/// Checks one script: its own `require`s decide what it may use.
struct Checker<'c, 'a> {
    compiler: &'c mut Compiler<'a>,
    capabilities: HashSet<String>,
}

/// What positional argument a command or test expects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    StringList,
    Number,
}

/// The arguments of one node, read tag by tag; positional ones are set
/// aside as they are met and checked at the end.
struct Args<'n> {
    node: &'n Node,
    at: usize,
    positional: Vec<&'n Argument>,
}

impl<'n> Args<'n> {
    fn new(node: &'n Node) -> Self {
        Args {
            node,
            at: 0,
            positional: Vec::new(),
        }
    }

    fn next_tag(&mut self) -> Option<(&'n str, Pos)> {
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
    fn value(&mut self, tag: &str, pos: Pos, kind: Kind) -> Result<&'n Argument, CompileError> {
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

    fn number(&mut self, tag: &str, pos: Pos) -> Result<u64, CompileError> {
        match self.value(tag, pos, Kind::Number)?.value {
            Value::Number(n) => Ok(n),
            _ => err(pos, format!(":{tag} must be followed by a number")),
        }
    }

    fn strings(
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
    fn positional(
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

fn unknown_tag<T>(node: &Node, tag: &str, pos: Pos) -> Result<T, CompileError> {
    err(
        pos,
        format!("unknown tagged argument \":{tag}\" for {}", node.name),
    )
}

fn fits(value: &Value, kind: Kind) -> bool {
    matches!(
        (value, kind),
        (Value::Number(_), Kind::Number)
            | (Value::Strings(_, false), Kind::String)
            | (Value::Strings(..), Kind::StringList)
    )
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::String => "a string",
        Kind::StringList => "a string list",
        Kind::Number => "a number",
    }
}

fn strings_of(argument: &Argument) -> &[String] {
    match &argument.value {
        Value::Strings(strings, _) => strings,
        _ => &[],
    }
}

fn single(argument: &Argument) -> &str {
    strings_of(argument).first().map_or("", String::as_str)
}

/// Tagged arguments shared by the matching tests: comparator, match type,
/// address part, `:index`/`:last` and the date tests' zone.
#[derive(Default)]
struct Common {
    comparator: Option<Comparator>,
    kind: Option<MatchKind>,
    part: Option<AddressPart>,
    index: Option<(u64, Pos)>,
    last: Option<Pos>,
    zone: Option<Zone>,
}

/// Which of the shared tagged arguments a test accepts.
#[derive(Clone, Copy, Default)]
struct Accepts {
    address_part: bool,
    index: bool,
    zone: bool,
    original_zone: bool,
}

impl Checker<'_, '_> {
    fn has(&self, capability: &str) -> bool {
        self.capabilities.contains(capability)
    }

    fn need(&self, capability: &str, pos: Pos, what: &str) -> Result<(), CompileError> {
        if self.has(capability) {
            return Ok(());
        }
        err(pos, format!("{what} needs require \"{capability}\""))
    }

    /// A string argument as compiled: encoded characters decoded and, with
    /// `variables`, variable references split out.
    fn template(&self, text: &str, pos: Pos) -> Result<Template, CompileError> {
        let text = if self.has("encoded-character") {
            decode_encoded_characters(text, pos)?
        } else {
            text.to_string()
        };
        if self.has("variables") {
            Template::parse(&text, pos, self.has("include"))
        } else {
            Ok(Template::constant(text))
        }
    }

    fn templates(&self, argument: &Argument) -> Result<Strings, CompileError> {
        strings_of(argument)
            .iter()
            .map(|s| self.template(s, argument.pos))
            .collect()
    }

    /// A string that must be known at compile time (names, relations, comparators).
    fn constant(&self, text: &str, pos: Pos, what: &str) -> Result<String, CompileError> {
        self.template(text, pos)?
            .as_constant()
            .map_or_else(|| err(pos, format!("{what} cannot contain variables")), Ok)
    }

    fn top_level(&mut self, nodes: &[Node]) -> Result<Block, CompileError> {
        let mut rest = nodes;
        while let Some((node, tail)) = rest.split_first() {
            if node.name != "require" {
                break;
            }
            self.require(node)?;
            rest = tail;
        }
        self.block(rest)
    }

    fn require(&mut self, node: &Node) -> Result<(), CompileError> {
        self.no_test_or_block(node)?;
        let positional = Args::new(node).positional(&[Kind::StringList], 0)?;
        for name in strings_of(positional[0]) {
            let name = self
                .constant(name, positional[0].pos, "a capability")?
                .to_ascii_lowercase();
            if !CAPABILITIES.contains(&name.as_str()) {
                return err(
                    positional[0].pos,
                    format!("unsupported extension \"{name}\""),
                );
            }
            // RFC 6131 section 2: vacation-seconds brings vacation with it.
            if name == "vacation-seconds" {
                self.capabilities.insert("vacation".to_string());
            }
            self.capabilities.insert(name);
        }
        Ok(())
    }

    fn no_test_or_block(&self, node: &Node) -> Result<(), CompileError> {
        if let Some(test) = node.tests.first() {
            return err(test.pos, format!("{} takes no test", node.name));
        }
        if node.block.is_some() {
            return err(
                node.pos,
                format!("{} takes no block, expected \";\"", node.name),
            );
        }
        Ok(())
    }

    fn block(&mut self, nodes: &[Node]) -> Result<Block, CompileError> {
        let mut block: Block = Vec::new();
        // Whether the last command was an `if` or `elsif` an `elsif`/`else` may follow.
        let mut open_if = false;
        for node in nodes {
            match node.name.as_str() {
                "if" => {
                    let branch = self.branch(node)?;
                    block.push(Located {
                        command: Command::If(vec![branch], None),
                        line: node.pos.line,
                    });
                    open_if = true;
                }
                "elsif" | "else" => {
                    let chain = match block.last_mut() {
                        Some(Located {
                            command: Command::If(branches, otherwise),
                            ..
                        }) if open_if => (branches, otherwise),
                        _ => return err(node.pos, format!("{} without a preceding if", node.name)),
                    };
                    if node.name == "elsif" {
                        let branch = self.branch(node)?;
                        chain.0.push(branch);
                    } else {
                        if let Some(test) = node.tests.first() {
                            return err(test.pos, "else takes no test");
                        }
                        self.no_arguments(node)?;
                        *chain.1 = Some(self.body(node)?);
                        open_if = false;
                    }
                }
                _ => {
                    block.push(Located {
                        command: self.command(node)?,
                        line: node.pos.line,
                    });
                    open_if = false;
                }
            }
        }
        Ok(block)
    }

    fn no_arguments(&self, node: &Node) -> Result<(), CompileError> {
        match node.arguments.first() {
            Some(argument) => err(argument.pos, format!("{} takes no arguments", node.name)),
            None => Ok(()),
        }
    }

    fn body(&mut self, node: &Node) -> Result<Block, CompileError> {
        match &node.block {
            Some(nodes) => self.block(nodes),
            None => err(node.pos, format!("{} needs a block", node.name)),
        }
    }

    fn branch(&mut self, node: &Node) -> Result<(Test, Block), CompileError> {
        self.no_arguments(node)?;
        let test = match node.tests.as_slice() {
            [test] if !node.test_list => self.test(test)?,
            _ => return err(node.pos, format!("{} needs exactly one test", node.name)),
        };
        Ok((test, self.body(node)?))
    }

    fn command(&mut self, node: &Node) -> Result<Command, CompileError> {
        let pos = node.pos;
        if node.name != "require" {
            self.no_test_or_block(node)?;
        }
        let mut args = Args::new(node);
        let command = match node.name.as_str() {
            "require" => return err(pos, "require must come before any other command"),
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
                Command::FileInto {
                    mailbox: self.template(single(positional[0]), positional[0].pos)?,
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

    /// A variable name to assign: a constant identifier, lowercased.
    fn variable_name(&self, text: &str, pos: Pos) -> Result<String, CompileError> {
        let name = self.constant(text, pos, "a variable name")?;
        match variable_name(&name, self.has("include")) {
            Ok(Some(name)) => Ok(name),
            Ok(None) => err(pos, format!("\"{name}\" is not a valid variable name")),
            Err(message) => err(pos, message),
        }
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

    fn tests(&mut self, node: &Node) -> Result<Vec<Test>, CompileError> {
        if node.tests.is_empty() {
            return err(node.pos, format!("{} needs a list of tests", node.name));
        }
        node.tests.iter().map(|t| self.test(t)).collect()
    }

    fn test(&mut self, node: &Node) -> Result<Test, CompileError> {
        let pos = node.pos;
        match node.name.as_str() {
            "not" => {
                self.no_arguments(node)?;
                return match node.tests.as_slice() {
                    [test] if !node.test_list => Ok(Test::Not(Box::new(self.test(test)?))),
                    _ => err(pos, "not needs exactly one test"),
                };
            }
            "allof" | "anyof" => {
                self.no_arguments(node)?;
                let tests = self.tests(node)?;
                return Ok(if node.name == "allof" {
                    Test::AllOf(tests)
                } else {
                    Test::AnyOf(tests)
                });
            }
            _ => {}
        }
        if let Some(test) = node.tests.first() {
            return err(test.pos, format!("{} takes no test", node.name));
        }
        let mut args = Args::new(node);
        let test = match node.name.as_str() {
            "true" | "false" => {
                args.positional(&[], 0)?;
                if node.name == "true" {
                    Test::True
                } else {
                    Test::False
                }
            }
            "exists" => {
                let positional = args.positional(&[Kind::StringList], 0)?;
                Test::Exists(self.header_names(positional[0])?)
            }
            "size" => {
                let mut over = None;
                while let Some((tag, at)) = args.next_tag() {
                    match tag {
                        "over" | "under" if over.is_none() => over = Some(tag == "over"),
                        "over" | "under" => {
                            return err(at, "only one of :over and :under may be given");
                        }
                        _ => return unknown_tag(node, tag, at),
                    }
                }
                let positional = args.positional(&[Kind::Number], 0)?;
                let Some(over) = over else {
                    return err(pos, "size needs :over or :under");
                };
                let limit = match positional[0].value {
                    Value::Number(n) => n,
                    _ => 0,
                };
                Test::Size { over, limit }
            }
            "header" => {
                let accepts = Accepts {
                    index: true,
                    ..Accepts::default()
                };
                let (common, args) = self.shared_tags(node, args, accepts)?;
                let positional = args.positional(&[Kind::StringList, Kind::StringList], 0)?;
                Test::Header {
                    how: self.finish_match(&common),
                    index: self.index(&common)?,
                    headers: self.header_names(positional[0])?,
                    keys: self.templates(positional[1])?,
                }
            }
            "address" => {
                let accepts = Accepts {
                    address_part: true,
                    index: true,
                    ..Accepts::default()
                };
                let (common, args) = self.shared_tags(node, args, accepts)?;
                let positional = args.positional(&[Kind::StringList, Kind::StringList], 0)?;
                Test::Address {
                    how: self.finish_match(&common),
                    part: common.part.unwrap_or(AddressPart::All),
                    index: self.index(&common)?,
                    headers: self.header_names(positional[0])?,
                    keys: self.templates(positional[1])?,
                }
            }
            "envelope" => {
                self.need("envelope", pos, "envelope")?;
                let accepts = Accepts {
                    address_part: true,
                    ..Accepts::default()
                };
                let (common, args) = self.shared_tags(node, args, accepts)?;
                let positional = args.positional(&[Kind::StringList, Kind::StringList], 0)?;
                let fields = self.templates(positional[0])?;
                for field in &fields {
                    if let Some(name) = field.as_constant()
                        && !["from", "to"].contains(&name.to_ascii_lowercase().as_str())
                    {
                        return err(
                            positional[0].pos,
                            format!("unknown envelope part \"{name}\""),
                        );
                    }
                }
                Test::Envelope {
                    how: self.finish_match(&common),
                    part: common.part.unwrap_or(AddressPart::All),
                    fields,
                    keys: self.templates(positional[1])?,
                }
            }
            "body" => self.body_test(node, args)?,
            "date" | "currentdate" => self.date_test(node, args)?,
            "hasflag" => {
                self.need("imap4flags", pos, "hasflag")?;
                let (common, args) = self.shared_tags(node, args, Accepts::default())?;
                let positional = args.positional(&[Kind::StringList, Kind::StringList], 1)?;
                let variables = match positional.as_slice() {
                    [names, _] => {
                        self.need("variables", names.pos, "a flag variable")?;
                        let names = strings_of(names)
                            .iter()
                            .map(|n| self.variable_name(n, names.pos).map(Template::constant))
                            .collect::<Result<_, _>>()?;
                        Some(names)
                    }
                    _ => None,
                };
                let keys = positional
                    .last()
                    .map_or(Ok(Vec::new()), |a| self.templates(a))?;
                Test::HasFlag {
                    how: self.finish_match(&common),
                    variables,
                    keys,
                }
            }
            "mailboxexists" => {
                self.need("mailbox", pos, "mailboxexists")?;
                let positional = args.positional(&[Kind::StringList], 0)?;
                Test::MailboxExists(self.templates(positional[0])?)
            }
            "string" => {
                self.need("variables", pos, "string")?;
                let (common, args) = self.shared_tags(node, args, Accepts::default())?;
                let positional = args.positional(&[Kind::StringList, Kind::StringList], 0)?;
                Test::String {
                    how: self.finish_match(&common),
                    sources: self.templates(positional[0])?,
                    keys: self.templates(positional[1])?,
                }
            }
            other => return err(pos, format!("unknown test \"{other}\"")),
        };
        Ok(test)
    }

    /// Reads the shared tagged arguments; any other tag is unknown.
    fn shared_tags<'n>(
        &self,
        node: &'n Node,
        mut args: Args<'n>,
        accepts: Accepts,
    ) -> Result<(Common, Args<'n>), CompileError> {
        let mut common = Common::default();
        while let Some((tag, at)) = args.next_tag() {
            if !self.common_tag(&mut common, &mut args, tag, at, accepts)? {
                return unknown_tag(node, tag, at);
            }
        }
        Ok((common, args))
    }

    /// Handles one shared tag; `false` when `tag` is not one of them.
    fn common_tag(
        &self,
        common: &mut Common,
        args: &mut Args<'_>,
        tag: &str,
        at: Pos,
        accepts: Accepts,
    ) -> Result<bool, CompileError> {
        let kind = match tag {
            "is" => Some(MatchKind::Is),
            "contains" => Some(MatchKind::Contains),
            "matches" => Some(MatchKind::Matches),
            "value" | "count" => {
                self.need("relational", at, &format!(":{tag}"))?;
                let (relation, relation_pos) = args.strings(tag, at, Kind::String)?;
                let relation = self.constant(
                    relation.first().map_or("", String::as_str),
                    relation_pos,
                    "a relation",
                )?;
                let Some(relation) = Relation::parse(&relation) else {
                    return err(relation_pos, format!("unknown relation \"{relation}\""));
                };
                Some(if tag == "value" {
                    MatchKind::Value(relation)
                } else {
                    MatchKind::Count(relation)
                })
            }
            _ => None,
        };
        if let Some(kind) = kind {
            if common.kind.is_some() {
                return err(at, "only one match type may be given");
            }
            common.kind = Some(kind);
            return self.check_comparator(common, at).map(|()| true);
        }
        let part = match tag {
            "all" => Some(AddressPart::All),
            "localpart" => Some(AddressPart::LocalPart),
            "domain" => Some(AddressPart::Domain),
            "user" | "detail" => {
                self.need("subaddress", at, &format!(":{tag}"))?;
                Some(if tag == "user" {
                    AddressPart::User
                } else {
                    AddressPart::Detail
                })
            }
            _ => None,
        };
        if let Some(part) = part.filter(|_| accepts.address_part) {
            if common.part.is_some() {
                return err(at, "only one address part may be given");
            }
            common.part = Some(part);
            return Ok(true);
        }
        match tag {
            "comparator" => {
                if common.comparator.is_some() {
                    return err(at, "only one comparator may be given");
                }
                let (name, name_pos) = args.strings(tag, at, Kind::String)?;
                let name = self.constant(
                    name.first().map_or("", String::as_str),
                    name_pos,
                    "a comparator",
                )?;
                let Some(comparator) = Comparator::parse(&name) else {
                    return err(name_pos, format!("unknown comparator \"{name}\""));
                };
                if let Some(capability) = comparator.capability() {
                    self.need(capability, name_pos, &format!("comparator \"{name}\""))?;
                }
                common.comparator = Some(comparator);
                self.check_comparator(common, at)?;
            }
            "index" if accepts.index => {
                self.need("index", at, ":index")?;
                let n = args.number(tag, at)?;
                if n == 0 {
                    return err(at, ":index counts from 1");
                }
                common.index = Some((n, at));
            }
            "last" if accepts.index => {
                self.need("index", at, ":last")?;
                common.last = Some(at);
            }
            "zone" | "originalzone" if accepts.zone => {
                if common.zone.is_some() {
                    return err(at, "only one of :zone and :originalzone may be given");
                }
                common.zone = Some(if tag == "zone" {
                    let (zone, zone_pos) = args.strings(tag, at, Kind::String)?;
                    let zone =
                        self.constant(zone.first().map_or("", String::as_str), zone_pos, "a zone")?;
                    match parse_zone(&zone) {
                        Some(minutes) => Zone::Fixed(minutes),
                        None => {
                            return err(
                                zone_pos,
                                format!("\"{zone}\" is not a zone like \"+0100\""),
                            );
                        }
                    }
                } else if accepts.original_zone {
                    Zone::Original
                } else {
                    return err(at, ":originalzone is only for the date test");
                });
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// i;ascii-numeric orders but has no substrings (RFC 4790 section 9.1).
    fn check_comparator(&self, common: &Common, at: Pos) -> Result<(), CompileError> {
        if let (Some(c), Some(MatchKind::Contains | MatchKind::Matches)) =
            (common.comparator, common.kind)
            && !c.supports_substring()
        {
            return err(
                at,
                "i;ascii-numeric cannot be used with :contains or :matches",
            );
        }
        Ok(())
    }

    fn finish_match(&self, common: &Common) -> Match {
        let default = Match::default();
        Match {
            kind: common.kind.unwrap_or(default.kind),
            comparator: common.comparator.unwrap_or(default.comparator),
        }
    }

    fn index(&self, common: &Common) -> Result<Option<Index>, CompileError> {
        match (common.index, common.last) {
            (None, Some(at)) => err(at, ":last needs :index"),
            (None, None) => Ok(None),
            (Some((n, _)), last) => Ok(Some(Index {
                n: usize::try_from(n).unwrap_or(usize::MAX),
                last: last.is_some(),
            })),
        }
    }

    /// Header names; constant ones must be valid field names (RFC 5322 section 3.6.8).
    fn header_names(&self, argument: &Argument) -> Result<Strings, CompileError> {
        let names = self.templates(argument)?;
        for name in names.iter().filter_map(Template::as_constant) {
            if !valid_field_name(&name) {
                return err(
                    argument.pos,
                    format!("\"{name}\" is not a valid header name"),
                );
            }
        }
        Ok(names)
    }

    fn body_test(&self, node: &Node, mut args: Args<'_>) -> Result<Test, CompileError> {
        self.need("body", node.pos, "body")?;
        let mut common = Common::default();
        let mut transform = None;
        while let Some((tag, at)) = args.next_tag() {
            let this = match tag {
                "raw" => BodyTransform::Raw,
                "text" => BodyTransform::Text,
                "content" => {
                    let (types, types_pos) = args.strings(tag, at, Kind::StringList)?;
                    BodyTransform::Content(
                        types
                            .iter()
                            .map(|t| self.template(t, types_pos))
                            .collect::<Result<_, _>>()?,
                    )
                }
                _ => {
                    if self.common_tag(&mut common, &mut args, tag, at, Accepts::default())? {
                        continue;
                    }
                    return unknown_tag(node, tag, at);
                }
            };
            if transform.is_some() {
                return err(at, "only one of :raw, :content and :text may be given");
            }
            transform = Some(this);
        }
        let positional = args.positional(&[Kind::StringList], 0)?;
        Ok(Test::Body {
            how: self.finish_match(&common),
            transform: transform.unwrap_or(BodyTransform::Text),
            keys: self.templates(positional[0])?,
        })
    }

    fn date_test(&self, node: &Node, args: Args<'_>) -> Result<Test, CompileError> {
        self.need("date", node.pos, &node.name)?;
        let current = node.name == "currentdate";
        let accepts = Accepts {
            index: !current,
            zone: true,
            original_zone: !current,
            ..Accepts::default()
        };
        let (common, args) = self.shared_tags(node, args, accepts)?;
        let kinds: &[Kind] = if current {
            &[Kind::String, Kind::StringList]
        } else {
            &[Kind::String, Kind::String, Kind::StringList]
        };
        let positional = args.positional(kinds, 0)?;
        let (part_argument, keys) = (positional[kinds.len() - 2], positional[kinds.len() - 1]);
        let part_name = self.constant(single(part_argument), part_argument.pos, "a date part")?;
        let Some(part) = DatePart::parse(&part_name) else {
            return err(
                part_argument.pos,
                format!("unknown date part \"{part_name}\""),
            );
        };
        let how = self.finish_match(&common);
        let zone = common.zone.unwrap_or(Zone::Local);
        let keys = self.templates(keys)?;
        if current {
            return Ok(Test::CurrentDate {
                how,
                zone,
                part,
                keys,
            });
        }
        let header = self
            .header_names(positional[0])?
            .into_iter()
            .next()
            .unwrap_or_else(|| Template::constant(""));
        Ok(Test::Date {
            how,
            zone,
            index: self.index(&common)?,
            header,
            part,
            keys,
        })
    }
}

fn valid_field_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}
