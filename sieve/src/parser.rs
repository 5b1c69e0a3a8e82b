//! Builds the generic syntax tree of RFC 5228 section 8.2 from tokens:
//! commands with arguments, tests and blocks. It knows the grammar only;
//! which commands exist and what they take is `validate`'s business.

use crate::ast::{Argument, Node, Value};
use crate::error::{CompileError, Pos, err};
use crate::lexer::{Token, Tokens};

/// Parses a whole script into its top-level commands, refusing nesting
/// deeper than `max_nesting` so that recursion stays bounded.
pub(crate) fn parse(tokens: Tokens, max_nesting: usize) -> Result<Vec<Node>, CompileError> {
    let mut parser = Parser {
        tokens: tokens.tokens.into_iter().peekable(),
        end: tokens.end,
        max_nesting,
    };
    let mut commands = Vec::new();
    while parser.tokens.peek().is_some() {
        commands.push(parser.command(0)?);
    }
    Ok(commands)
}

struct Parser {
    tokens: std::iter::Peekable<std::vec::IntoIter<(Token, Pos)>>,
    end: Pos,
    max_nesting: usize,
}

impl Parser {
    fn next(&mut self, expected: &str) -> Result<(Token, Pos), CompileError> {
        match self.tokens.next() {
            Some(token) => Ok(token),
            None => err(
                self.end,
                format!("unexpected end of script, expected {expected}"),
            ),
        }
    }

    fn peek(&mut self) -> Option<&Token> {
        self.tokens.peek().map(|(token, _)| token)
    }

    fn check_depth(&self, depth: usize, pos: Pos) -> Result<(), CompileError> {
        if depth > self.max_nesting {
            return err(
                pos,
                format!("nesting deeper than {} levels", self.max_nesting),
            );
        }
        Ok(())
    }

    fn command(&mut self, depth: usize) -> Result<Node, CompileError> {
        let (token, pos) = self.next("a command")?;
        let Token::Identifier(name) = token else {
            return err(
                pos,
                format!("expected a command, found {}", token.describe()),
            );
        };
        self.check_depth(depth, pos)?;
        let mut node = self.arguments(name, pos, depth)?;
        let (token, at) = self.next("\";\" or \"{\"")?;
        match token {
            Token::Semicolon => {}
            Token::LeftBrace => {
                let mut block = Vec::new();
                while self.peek() != Some(&Token::RightBrace) {
                    block.push(self.command(depth + 1)?);
                }
                self.tokens.next();
                node.block = Some(block);
            }
            other => {
                return err(
                    at,
                    format!("expected \";\" or \"{{\", found {}", other.describe()),
                );
            }
        }
        Ok(node)
    }

    /// The arguments, then an optional test or parenthesised test list.
    fn arguments(&mut self, name: String, pos: Pos, depth: usize) -> Result<Node, CompileError> {
        let mut node = Node {
            name: name.to_ascii_lowercase(),
            pos,
            arguments: Vec::new(),
            tests: Vec::new(),
            test_list: false,
            block: None,
        };
        loop {
            let Some((token, at)) = self.tokens.peek().cloned() else {
                return Ok(node);
            };
            let value = match token {
                Token::Tag(tag) => Value::Tag(tag.to_ascii_lowercase()),
                Token::Number(n) => Value::Number(n),
                Token::String(s) => Value::Strings(vec![s], false),
                Token::LeftBracket => {
                    self.tokens.next();
                    Value::Strings(self.string_list()?, true)
                }
                Token::Identifier(_) => {
                    node.tests.push(self.test(depth + 1)?);
                    return Ok(node);
                }
                Token::LeftParen => {
                    self.tokens.next();
                    node.test_list = true;
                    loop {
                        node.tests.push(self.test(depth + 1)?);
                        let (token, at) = self.next("\",\" or \")\"")?;
                        match token {
                            Token::Comma => {}
                            Token::RightParen => return Ok(node),
                            other => {
                                return err(
                                    at,
                                    format!("expected \",\" or \")\", found {}", other.describe()),
                                );
                            }
                        }
                    }
                }
                _ => return Ok(node),
            };
            if !matches!(value, Value::Strings(_, true)) {
                self.tokens.next();
            }
            node.arguments.push(Argument { value, pos: at });
        }
    }

    fn string_list(&mut self) -> Result<Vec<String>, CompileError> {
        let mut strings = Vec::new();
        loop {
            let (token, at) = self.next("a string")?;
            let Token::String(s) = token else {
                return err(
                    at,
                    format!("expected a string in the list, found {}", token.describe()),
                );
            };
            strings.push(s);
            let (token, at) = self.next("\",\" or \"]\"")?;
            match token {
                Token::Comma => {}
                Token::RightBracket => return Ok(strings),
                other => {
                    return err(
                        at,
                        format!("expected \",\" or \"]\", found {}", other.describe()),
                    );
                }
            }
        }
    }

    fn test(&mut self, depth: usize) -> Result<Node, CompileError> {
        let (token, pos) = self.next("a test")?;
        let Token::Identifier(name) = token else {
            return err(pos, format!("expected a test, found {}", token.describe()));
        };
        self.check_depth(depth, pos)?;
        self.arguments(name, pos, depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::tokenize;

    fn parse_str(source: &str) -> Result<Vec<Node>, CompileError> {
        parse(tokenize(source)?, 8)
    }

    #[test]
    fn commands_tests_and_blocks() {
        let nodes = parse_str(
            "if anyof (header :is \"x\" [\"a\", \"b\"], size :over 1K) { discard; } else { keep; }",
        )
        .expect("parses");
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].name, "if");
        assert!(nodes[0].arguments.is_empty());
        let anyof = &nodes[0].tests[0];
        assert!(anyof.test_list);
        assert_eq!(anyof.tests.len(), 2);
        assert_eq!(anyof.tests[0].arguments.len(), 3);
        assert_eq!(anyof.tests[1].arguments[1].value, Value::Number(1024));
        assert_eq!(nodes[1].block.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse_str("keep").unwrap_err();
        assert_eq!((e.line, e.column), (1, 5));
        assert!(e.message.contains("unexpected end"));
        let e = parse_str("if true {\n  keep;\n").unwrap_err();
        assert!(e.message.contains("unexpected end"), "{e}");
        let e = parse_str("fileinto [\"a\" \"b\"];").unwrap_err();
        assert_eq!((e.line, e.column), (1, 15));
        let e = parse_str("keep;\n\"x\";").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}keep;{}", "if true {".repeat(20), "}".repeat(20));
        let e = parse_str(&deep).unwrap_err();
        assert!(e.message.contains("nesting"), "{e}");
        let deep_tests = format!("if {}true{} {{ keep; }}", "not ".repeat(20), "");
        assert!(parse_str(&deep_tests).is_err());
    }
}
