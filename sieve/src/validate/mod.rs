//! Turns the generic syntax tree into a checked `Script`: every command,
//! test, tagged argument and comparator must be known and its extension
//! required (RFC 5228 sections 2.10.5 and 3.2), argument counts and types
//! must fit, and `include`d scripts (RFC 6609) are compiled beside the
//! script, refusing loops. Errors name the line and column. Arguments are
//! read in `args`, commands checked in `commands`, tests in `conditions`.

mod args;
mod commands;
mod conditions;

use std::collections::{HashMap, HashSet};

use crate::ast::{Argument, Node};
use crate::error::{CompileError, Pos, err};
use crate::limits::Limits;
use crate::script::{Block, Command, Located, Script, Strings, Test};
use crate::template::{Template, decode_encoded_characters, variable_name};
use crate::{Includes, Location, lexer, parser};

use args::{Args, Kind, strings_of};

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
        limits: limits.clone(),
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

    /// A variable name to assign: a constant identifier, lowercased.
    fn variable_name(&self, text: &str, pos: Pos) -> Result<String, CompileError> {
        let name = self.constant(text, pos, "a variable name")?;
        match variable_name(&name, self.has("include")) {
            Ok(Some(name)) => Ok(name),
            Ok(None) => err(pos, format!("\"{name}\" is not a valid variable name")),
            Err(message) => err(pos, message),
        }
    }
}
