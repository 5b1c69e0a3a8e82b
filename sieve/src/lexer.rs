//! Turns script text into tokens (RFC 5228 section 8.1): identifiers, tags,
//! numbers with K/M/G quantifiers, quoted and `text:` multi-line strings,
//! punctuation; comments and white space are dropped. Every token carries
//! the position where it starts.

use crate::error::{CompileError, Pos, err};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    Identifier(String),
    Tag(String),
    Number(u64),
    String(String),
    Semicolon,
    Comma,
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    LeftBrace,
    RightBrace,
}

impl Token {
    /// How the token is named in error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Token::Identifier(name) => format!("identifier \"{name}\""),
            Token::Tag(name) => format!("tag \":{name}\""),
            Token::Number(n) => format!("number {n}"),
            Token::String(_) => "string".to_string(),
            Token::Semicolon => "\";\"".to_string(),
            Token::Comma => "\",\"".to_string(),
            Token::LeftParen => "\"(\"".to_string(),
            Token::RightParen => "\")\"".to_string(),
            Token::LeftBracket => "\"[\"".to_string(),
            Token::RightBracket => "\"]\"".to_string(),
            Token::LeftBrace => "\"{\"".to_string(),
            Token::RightBrace => "\"}\"".to_string(),
        }
    }
}

/// The tokens of a script and the position just past its end.
#[derive(Debug)]
pub(crate) struct Tokens {
    pub tokens: Vec<(Token, Pos)>,
    pub end: Pos,
}

/// Splits the whole source into tokens, or fails at the first lexical error.
pub(crate) fn tokenize(source: &str) -> Result<Tokens, CompileError> {
    let mut lexer = Lexer {
        chars: source.chars().collect(),
        at: 0,
        pos: Pos { line: 1, column: 1 },
    };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next_token()? {
        tokens.push(token);
    }
    Ok(Tokens {
        tokens,
        end: lexer.pos,
    })
}

struct Lexer {
    chars: Vec<char>,
    at: usize,
    pos: Pos,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    fn next_token(&mut self) -> Result<Option<(Token, Pos)>, CompileError> {
        self.skip_blanks()?;
        let start = self.pos;
        let Some(c) = self.bump() else {
            return Ok(None);
        };
        let token = match c {
            ';' => Token::Semicolon,
            ',' => Token::Comma,
            '(' => Token::LeftParen,
            ')' => Token::RightParen,
            '[' => Token::LeftBracket,
            ']' => Token::RightBracket,
            '{' => Token::LeftBrace,
            '}' => Token::RightBrace,
            '"' => Token::String(self.quoted(start)?),
            ':' => match self.peek() {
                Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                    Token::Tag(self.identifier_rest(None))
                }
                _ => return err(start, "expected a tag name after \":\""),
            },
            c if c.is_ascii_digit() => Token::Number(self.number(c, start)?),
            c if c.is_ascii_alphabetic() || c == '_' => {
                let word = self.identifier_rest(Some(c));
                if word.eq_ignore_ascii_case("text") && self.peek() == Some(':') {
                    self.bump();
                    Token::String(self.multiline(start)?)
                } else {
                    Token::Identifier(word)
                }
            }
            other => return err(start, format!("unexpected character {other:?}")),
        };
        Ok(Some((token, start)))
    }

    fn skip_blanks(&mut self) -> Result<(), CompileError> {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\r' | '\n') => {
                    self.bump();
                }
                Some('#') => self.skip_line(),
                Some('/') if self.peek_at(1) == Some('*') => {
                    let start = self.pos;
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            Some('*') if self.peek() == Some('/') => {
                                self.bump();
                                break;
                            }
                            Some(_) => {}
                            None => return err(start, "unterminated \"/*\" comment"),
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    fn identifier_rest(&mut self, first: Option<char>) -> String {
        let mut word: String = first.into_iter().collect();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                word.push(c);
                self.bump();
            } else {
                break;
            }
        }
        word
    }

    fn number(&mut self, first: char, start: Pos) -> Result<u64, CompileError> {
        let mut digits = first.to_string();
        while let Some(c) = self.peek().filter(char::is_ascii_digit) {
            digits.push(c);
            self.bump();
        }
        let shift = match self.peek().map(|c| c.to_ascii_uppercase()) {
            Some('K') => 10,
            Some('M') => 20,
            Some('G') => 30,
            _ => 0,
        };
        if shift > 0 {
            self.bump();
        }
        digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(1 << shift))
            .map_or_else(|| err(start, format!("number {digits} is too large")), Ok)
    }

    /// A quoted string; `\"` and `\\` are the defined escapes, and any other
    /// backslash is dropped in front of the character it precedes (section 2.4.2).
    fn quoted(&mut self, start: Pos) -> Result<String, CompileError> {
        let mut value = String::new();
        loop {
            match self.bump() {
                Some('"') => return Ok(value),
                Some('\\') => match self.bump() {
                    Some(c) => value.push(c),
                    None => break,
                },
                Some(c) => value.push(c),
                None => break,
            }
        }
        err(start, "unterminated string")
    }

    /// A `text:` string: the rest of the first line is blank or a comment,
    /// then lines up to one holding only ".", with a leading "." removed from
    /// the others (dot-stuffing). Line ends become CRLF whatever the source used.
    fn multiline(&mut self, start: Pos) -> Result<String, CompileError> {
        while let Some(' ' | '\t') = self.peek() {
            self.bump();
        }
        match self.peek() {
            Some('#') => self.skip_line(),
            Some('\r') if self.peek_at(1) == Some('\n') => {
                self.bump();
                self.bump();
            }
            Some('\n') => {
                self.bump();
            }
            _ => return err(self.pos, "expected the end of the line after \"text:\""),
        }
        let mut value = String::new();
        loop {
            let mut line = String::new();
            let mut ended = false;
            while let Some(c) = self.bump() {
                if c == '\n' {
                    ended = true;
                    break;
                }
                line.push(c);
            }
            if line.ends_with('\r') {
                line.pop();
            }
            if line == "." {
                return Ok(value);
            }
            if !ended {
                return err(
                    start,
                    "unterminated \"text:\" string: no line with a single \".\"",
                );
            }
            value.push_str(line.strip_prefix('.').unwrap_or(&line));
            value.push_str("\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<Token> {
        tokenize(source)
            .expect("lexes")
            .tokens
            .into_iter()
            .map(|(token, _)| token)
            .collect()
    }

    #[test]
    fn numbers_take_quantifiers() {
        assert_eq!(
            kinds("1 2K 3m 4G"),
            vec![
                Token::Number(1),
                Token::Number(2048),
                Token::Number(3 << 20),
                Token::Number(4 << 30)
            ]
        );
        assert!(tokenize("99999999999999999999").is_err());
        assert!(tokenize("17179869184G").is_err());
    }

    #[test]
    fn quoted_strings_unescape() {
        assert_eq!(
            kinds(r#""a\"b\\c\d""#),
            vec![Token::String("a\"b\\cd".into())]
        );
    }

    #[test]
    fn comments_are_skipped_and_positions_kept() {
        let tokens = tokenize("# one\n/* two\n */ keep;").expect("lexes").tokens;
        assert_eq!(
            tokens[0],
            (Token::Identifier("keep".into()), Pos { line: 3, column: 5 })
        );
        assert_eq!(tokens[1].1, Pos { line: 3, column: 9 });
    }

    #[test]
    fn multiline_strings_unstuff_dots() {
        let source = "text: # comment\r\nHello\r\n..dot\r\n.\r\n;";
        assert_eq!(
            kinds(source),
            vec![Token::String("Hello\r\n.dot\r\n".into()), Token::Semicolon]
        );
        assert_eq!(
            kinds("TEXT:\nbare lf\n.\n"),
            vec![Token::String("bare lf\r\n".into())]
        );
    }

    #[test]
    fn lexical_errors_have_positions() {
        let e = tokenize("keep;\n  \"open").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        let e = tokenize("/* never closed").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        let e = tokenize("text:\nno end\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        let e = tokenize("keep @").unwrap_err();
        assert_eq!(
            (e.line, e.column, e.message.as_str()),
            (1, 6, "unexpected character '@'")
        );
    }
}
