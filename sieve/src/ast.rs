//! The generic syntax tree: what the grammar of RFC 5228 section 8.2 says,
//! before any command or test is known. `validate` turns it into a `Script`.

use crate::error::Pos;

/// A command or a test: identifier, arguments, tests and (for commands) a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Node {
    /// Lowercased: identifiers are case-insensitive.
    pub name: String,
    pub pos: Pos,
    pub arguments: Vec<Argument>,
    pub tests: Vec<Node>,
    /// Whether the tests were written as a parenthesised list.
    pub test_list: bool,
    /// `None` when the command ended with ";".
    pub block: Option<Vec<Node>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Argument {
    pub value: Value,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// Lowercased, without the colon.
    Tag(String),
    Number(u64),
    /// The strings, and whether they were written as a bracketed list.
    Strings(Vec<String>, bool),
}
