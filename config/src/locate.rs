//! Where each key of a TOML file is: turns byte offsets (from toml errors)
//! into 1-based lines and dotted keys, and dotted keys (from validation) into
//! lines.
//!
//! toml 0.8 reports a span on its errors but not the key path, and the typed
//! configuration keeps no spans at all, so the document is walked once with
//! toml_edit, which keeps the span of every key and value.

use std::ops::Range;

use toml_edit::{ImDocument, InlineTable, Item, Key, Table, TomlError, Value};

/// The keys of one document with their positions.
pub(crate) struct SourceMap<'a> {
    text: &'a str,
    entries: Vec<Entry>,
}

/// One key at one place in the document.
struct Entry {
    /// Dotted path, e.g. `smtp.listen_mx`.
    path: String,
    key_span: Option<Range<usize>>,
    /// Only for values: a table's span covers its header, not its keys.
    value_span: Option<Range<usize>>,
}

impl<'a> SourceMap<'a> {
    /// Parses `text` as TOML and records where every key is.
    pub(crate) fn parse(text: &'a str) -> Result<Self, TomlError> {
        let document = ImDocument::parse(text)?;
        let mut map = SourceMap {
            text,
            entries: Vec::new(),
        };
        map.walk_table("", document.as_table());
        Ok(map)
    }

    /// 1-based line of the byte at `offset`.
    pub(crate) fn line_at(&self, offset: usize) -> usize {
        line_at(self.text, offset)
    }

    /// 1-based line of the first occurrence of the dotted key `path`, or
    /// `None` when the file does not set it.
    pub(crate) fn line_of(&self, path: &str) -> Option<usize> {
        self.entries
            .iter()
            .filter(|entry| entry.path == path)
            .find_map(|entry| entry.key_span.as_ref().or(entry.value_span.as_ref()))
            .map(|span| self.line_at(span.start))
    }

    /// The innermost key whose name or value contains `span`.
    pub(crate) fn key_at(&self, span: &Range<usize>) -> Option<&str> {
        let contains = |range: &Range<usize>| {
            range.start <= span.start && (span.start < range.end || range.is_empty())
        };
        self.entries
            .iter()
            .flat_map(|entry| {
                [&entry.key_span, &entry.value_span]
                    .into_iter()
                    .flatten()
                    .filter(|range| contains(range))
                    .map(move |range| (range.len(), entry.path.as_str()))
            })
            .min_by_key(|&(len, path)| (len, std::cmp::Reverse(path.len())))
            .map(|(_, path)| path)
    }

    fn walk_table(&mut self, prefix: &str, table: &Table) {
        for (name, _) in table.iter() {
            if let Some((key, item)) = table.get_key_value(name) {
                self.walk_entry(prefix, key, item);
            }
        }
    }

    fn walk_inline_table(&mut self, prefix: &str, table: &InlineTable) {
        for (name, _) in table.iter() {
            if let Some((key, item)) = table.get_key_value(name) {
                self.walk_entry(prefix, key, item);
            }
        }
    }

    fn walk_entry(&mut self, prefix: &str, key: &Key, item: &Item) {
        let path = join(prefix, key.get());
        let value_span = match item {
            Item::Value(value) => value.span(),
            Item::None | Item::Table(_) | Item::ArrayOfTables(_) => None,
        };
        self.entries.push(Entry {
            path: path.clone(),
            key_span: key.span(),
            value_span,
        });
        match item {
            Item::Table(table) => self.walk_table(&path, table),
            Item::ArrayOfTables(tables) => {
                for (index, table) in tables.iter().enumerate() {
                    self.walk_table(&format!("{path}[{index}]"), table);
                }
            }
            Item::Value(value) => self.walk_value(&path, value),
            Item::None => {}
        }
    }

    fn walk_value(&mut self, path: &str, value: &Value) {
        match value {
            Value::InlineTable(table) => self.walk_inline_table(path, table),
            Value::Array(array) => {
                for (index, element) in array.iter().enumerate() {
                    if matches!(element, Value::InlineTable(_) | Value::Array(_)) {
                        self.walk_value(&format!("{path}[{index}]"), element);
                    }
                }
            }
            Value::String(_)
            | Value::Integer(_)
            | Value::Float(_)
            | Value::Boolean(_)
            | Value::Datetime(_) => {}
        }
    }
}

/// 1-based line of the byte at `offset` in `text`.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Appends `name` to a dotted path, quoting it when it is not a bare key.
fn join(prefix: &str, name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let segment = if bare {
        name.to_owned()
    } else {
        format!("{name:?}")
    };
    if prefix.is_empty() {
        segment
    } else {
        format!("{prefix}.{segment}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
hostname = \"mx.example.org\"
smtp.enabled = true

[imap]
listen = [\"127.0.0.1:143\", \"nonsense\"]
limits = { idle = \"5m\", odd = 1 }

[[relay]]
name = \"protocollo\"
\"odd key\" = 1
";

    fn offset_of(needle: &str) -> Range<usize> {
        let start = TEXT.find(needle).unwrap_or(usize::MAX);
        start..start + needle.len()
    }

    #[test]
    fn finds_the_line_of_each_key() {
        let map = SourceMap::parse(TEXT).expect("valid toml");
        assert_eq!(map.line_of("hostname"), Some(1));
        assert_eq!(map.line_of("smtp.enabled"), Some(2));
        assert_eq!(map.line_of("imap"), Some(4));
        assert_eq!(map.line_of("imap.listen"), Some(5));
        assert_eq!(map.line_of("imap.limits.odd"), Some(6));
        assert_eq!(map.line_of("relay[0].name"), Some(9));
        assert_eq!(map.line_of("relay[0].\"odd key\""), Some(10));
        assert_eq!(map.line_of("admin"), None);
    }

    #[test]
    fn finds_the_innermost_key_of_a_span() {
        let map = SourceMap::parse(TEXT).expect("valid toml");
        assert_eq!(map.key_at(&offset_of("\"nonsense\"")), Some("imap.listen"));
        assert_eq!(map.key_at(&offset_of("odd = 1")), Some("imap.limits.odd"));
        assert_eq!(map.key_at(&offset_of("\"5m\"")), Some("imap.limits.idle"));
        assert_eq!(map.key_at(&offset_of("enabled")), Some("smtp.enabled"));
        assert_eq!(
            map.key_at(&offset_of("\"mx.example.org\"")),
            Some("hostname")
        );
        assert_eq!(map.key_at(&(0..0)), Some("hostname"));
    }

    #[test]
    fn counts_lines_from_one() {
        let map = SourceMap::parse(TEXT).expect("valid toml");
        assert_eq!(map.line_at(0), 1);
        assert_eq!(map.line_at(offset_of("[imap]").start), 4);
        assert_eq!(map.line_at(usize::MAX), TEXT.lines().count() + 1);
    }

    #[test]
    fn reports_syntax_errors() {
        assert!(SourceMap::parse("hostname = \n").is_err());
        assert!(SourceMap::parse("a = 1\na = 2\n").is_err());
    }
}
