//! String values after compilation: `${hex:…}`/`${unicode:…}` decoded once
//! (encoded-character, RFC 5228 section 2.4.2.4) and, with `variables`
//! (RFC 5229 section 3), split into literal text and variable references that
//! are expanded at run time.

use crate::error::{CompileError, Pos, err};

/// A string whose variable references are expanded when the script runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Template {
    pub pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    /// `${1}`: a match variable from the last successful `:matches`.
    Match(usize),
    /// `${name}`, lowercased (variable names are case-insensitive).
    Variable(String),
}

impl Template {
    pub(crate) fn constant(text: impl Into<String>) -> Template {
        Template {
            pieces: vec![Piece::Text(text.into())],
        }
    }

    /// The text when the template has no variable reference.
    pub(crate) fn as_constant(&self) -> Option<String> {
        let mut text = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => text.push_str(t),
                Piece::Match(_) | Piece::Variable(_) => return None,
            }
        }
        Some(text)
    }

    /// Splits `text` at its variable references (RFC 5229 section 3). A "${"
    /// that does not start a well-formed reference is literal text.
    /// `global_namespace` allows `${global.name}` (RFC 6609).
    pub(crate) fn parse(
        text: &str,
        pos: Pos,
        global_namespace: bool,
    ) -> Result<Template, CompileError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("${") {
            literal.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            let reference = after.find('}').map(|end| &after[..end]);
            match reference
                .map(|name| reference_piece(name, pos, global_namespace))
                .transpose()?
            {
                Some(Some(piece)) => {
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(piece);
                    rest = &after[reference.map_or(0, str::len) + 1..];
                }
                _ => {
                    literal.push_str("${");
                    rest = after;
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() || pieces.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template { pieces })
    }
}

/// The piece a `${…}` body names, `None` if it is not a variable reference
/// at all; an error for references to namespaces nothing here provides.
fn reference_piece(
    name: &str,
    pos: Pos,
    global_namespace: bool,
) -> Result<Option<Piece>, CompileError> {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(name.parse().ok().map(Piece::Match));
    }
    match variable_name(name, global_namespace) {
        Ok(name) => Ok(name.map(Piece::Variable)),
        Err(message) => err(pos, message),
    }
}

/// A variable name, lowercased: an identifier or, when `global_namespace`
/// is allowed, "global." and an identifier. `Ok(None)` when `name` is not a
/// variable name at all, an error for a namespace nothing here provides.
pub(crate) fn variable_name(name: &str, global_namespace: bool) -> Result<Option<String>, String> {
    let parts: Vec<&str> = name.split('.').collect();
    if !parts.iter().all(|p| is_identifier(p)) {
        return Ok(None);
    }
    match parts.as_slice() {
        [variable] => Ok(Some(variable.to_ascii_lowercase())),
        [namespace, variable] if global_namespace && namespace.eq_ignore_ascii_case("global") => {
            Ok(Some(format!("global.{}", variable.to_ascii_lowercase())))
        }
        _ => Err(format!("variable namespace in \"{name}\" is not supported")),
    }
}

/// RFC 5228 identifier: a letter or "_", then letters, digits or "_".
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Replaces every well-formed `${hex:…}` and `${unicode:…}` in `text`;
/// malformed ones stay as written, as RFC 5228 section 2.4.2.4 asks.
pub(crate) fn decode_encoded_characters(text: &str, pos: Pos) -> Result<String, CompileError> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let decoded = match after.find('}') {
            Some(end) => decode_one(&after[..end], pos)?.map(|s| (s, end)),
            None => None,
        };
        match decoded {
            Some((s, end)) => {
                out.push_str(&s);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn decode_one(body: &str, pos: Pos) -> Result<Option<String>, CompileError> {
    let Some((kind, values)) = body.split_once(':') else {
        return Ok(None);
    };
    let units: Vec<&str> = values
        .split([' ', '\t', '\r', '\n'])
        .filter(|s| !s.is_empty())
        .collect();
    if units
        .iter()
        .any(|u| !u.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Ok(None);
    }
    if kind.eq_ignore_ascii_case("hex") {
        let mut bytes = Vec::new();
        for unit in units {
            if unit.len() > 2 {
                return Ok(None);
            }
            bytes
                .push(u8::from_str_radix(unit, 16).map_err(|_| CompileError::new(pos, "bad hex"))?);
        }
        return match String::from_utf8(bytes) {
            Ok(s) => Ok(Some(s)),
            Err(_) => err(pos, format!("\"${{{body}}}\" is not valid UTF-8")),
        };
    }
    if kind.eq_ignore_ascii_case("unicode") {
        let mut decoded = String::new();
        for unit in units {
            let c = u32::from_str_radix(unit, 16).ok().and_then(char::from_u32);
            match c {
                Some(c) => decoded.push(c),
                None => {
                    return err(
                        pos,
                        format!("\"{unit}\" in \"${{{body}}}\" is not a Unicode character"),
                    );
                }
            }
        }
        return Ok(Some(decoded));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Pos = Pos { line: 1, column: 1 };

    #[test]
    fn encoded_characters() {
        assert_eq!(
            decode_encoded_characters("${hex: 24 24}", P).expect("ok"),
            "$$"
        );
        assert_eq!(decode_encoded_characters("${hex:40}", P).expect("ok"), "@");
        assert_eq!(
            decode_encoded_characters("${unicode:40}", P).expect("ok"),
            "@"
        );
        assert_eq!(
            decode_encoded_characters("${Unicode:263a}x", P).expect("ok"),
            "\u{263a}x"
        );
        assert_eq!(
            decode_encoded_characters("${hex:4g}", P).expect("ok"),
            "${hex:4g}"
        );
        assert_eq!(
            decode_encoded_characters("${ hex:40}", P).expect("ok"),
            "${ hex:40}"
        );
        assert_eq!(decode_encoded_characters("${hex:}", P).expect("ok"), "");
        assert!(decode_encoded_characters("${unicode:D800}", P).is_err());
        assert!(decode_encoded_characters("${unicode:110000}", P).is_err());
    }

    #[test]
    fn variable_references() {
        let t = Template::parse("a${b}c${1}${}${no-t}${", P, false).expect("ok");
        assert_eq!(
            t.pieces,
            vec![
                Piece::Text("a".into()),
                Piece::Variable("b".into()),
                Piece::Text("c".into()),
                Piece::Match(1),
                Piece::Text("${}${no-t}${".into()),
            ]
        );
        assert!(Template::parse("${env.x}", P, true).is_err());
        assert!(Template::parse("${global.x}", P, false).is_err());
        assert_eq!(
            Template::parse("${Global.X}", P, true).expect("ok").pieces,
            vec![Piece::Variable("global.x".into())]
        );
        assert_eq!(
            Template::parse("", P, false)
                .expect("ok")
                .as_constant()
                .as_deref(),
            Some("")
        );
    }
}
