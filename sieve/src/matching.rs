//! Comparators (RFC 4790 as used by RFC 5228 section 2.7.3) and match types:
//! `:is`, `:contains`, `:matches` with `*`, `?` and `\` escapes and the
//! match variables they capture (RFC 5229 section 3.2), and the relational
//! `:value`/`:count` of RFC 5231.

use std::cmp::Ordering;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Comparator {
    Octet,
    AsciiCasemap,
    AsciiNumeric,
}

impl Comparator {
    pub(crate) fn parse(name: &str) -> Option<Comparator> {
        match name.to_ascii_lowercase().as_str() {
            "i;octet" => Some(Comparator::Octet),
            "i;ascii-casemap" => Some(Comparator::AsciiCasemap),
            "i;ascii-numeric" => Some(Comparator::AsciiNumeric),
            _ => None,
        }
    }

    /// The capability a script must `require` to use this comparator.
    pub(crate) fn capability(self) -> Option<&'static str> {
        match self {
            Comparator::AsciiNumeric => Some("comparator-i;ascii-numeric"),
            Comparator::Octet | Comparator::AsciiCasemap => None,
        }
    }

    /// Substring and wildcard matching; i;ascii-numeric only orders.
    pub(crate) fn supports_substring(self) -> bool {
        self != Comparator::AsciiNumeric
    }

    pub(crate) fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Comparator::Octet => a.as_bytes().cmp(b.as_bytes()),
            Comparator::AsciiCasemap => a
                .bytes()
                .map(|c| c.to_ascii_uppercase())
                .cmp(b.bytes().map(|c| c.to_ascii_uppercase())),
            Comparator::AsciiNumeric => numeric_key(a).cmp(&numeric_key(b)),
        }
    }

    fn chars_equal(self, a: char, b: char) -> bool {
        match self {
            Comparator::AsciiCasemap => a.eq_ignore_ascii_case(&b),
            Comparator::Octet | Comparator::AsciiNumeric => a == b,
        }
    }
}

/// i;ascii-numeric (RFC 4790 section 9.1): the leading digits as a number,
/// a string without them being positive infinity (`None` sorts last here).
/// Leading zeros are stripped and the digits compared by length then value,
/// so numbers of any length compare correctly.
fn numeric_key(s: &str) -> (bool, usize, &str) {
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if digits_end == 0 {
        return (true, 0, "");
    }
    let digits = s[..digits_end].trim_start_matches('0');
    (false, digits.len(), digits)
}

/// Relational operators of RFC 5231 section 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Relation {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl Relation {
    pub(crate) fn parse(name: &str) -> Option<Relation> {
        Some(match name.to_ascii_lowercase().as_str() {
            "gt" => Relation::Gt,
            "ge" => Relation::Ge,
            "lt" => Relation::Lt,
            "le" => Relation::Le,
            "eq" => Relation::Eq,
            "ne" => Relation::Ne,
            _ => return None,
        })
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Relation::Gt => ordering == Ordering::Greater,
            Relation::Ge => ordering != Ordering::Less,
            Relation::Lt => ordering == Ordering::Less,
            Relation::Le => ordering != Ordering::Greater,
            Relation::Eq => ordering == Ordering::Equal,
            Relation::Ne => ordering != Ordering::Equal,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MatchKind {
    Is,
    Contains,
    Matches,
    Value(Relation),
    Count(Relation),
}

/// A match type with its comparator, as every matching test takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Match {
    pub kind: MatchKind,
    pub comparator: Comparator,
}

impl Default for Match {
    fn default() -> Self {
        Match {
            kind: MatchKind::Is,
            comparator: Comparator::AsciiCasemap,
        }
    }
}

impl Match {
    /// Whether one value matches one key (not for `:count`, which is decided
    /// on the number of values, see `count_matches`). For `:matches` the
    /// captured text of the whole value and of each wildcard is returned.
    pub(crate) fn test(&self, value: &str, key: &str) -> Option<Vec<String>> {
        let c = self.comparator;
        let hit = match self.kind {
            MatchKind::Is => c.compare(value, key) == Ordering::Equal,
            MatchKind::Contains => contains(c, value, key),
            MatchKind::Matches => return wildcard(c, value, key),
            MatchKind::Value(relation) => relation.holds(c.compare(value, key)),
            MatchKind::Count(_) => false,
        };
        hit.then(Vec::new)
    }

    /// `:count`: whether the number of values stands in the relation to the key.
    pub(crate) fn count_matches(&self, count: usize, key: &str) -> bool {
        match self.kind {
            MatchKind::Count(relation) => {
                relation.holds(self.comparator.compare(&count.to_string(), key))
            }
            _ => false,
        }
    }
}

fn contains(c: Comparator, value: &str, key: &str) -> bool {
    match c {
        Comparator::AsciiCasemap => {
            let (value, key) = (value.as_bytes(), key.as_bytes());
            key.is_empty()
                || value
                    .windows(key.len())
                    .any(|w| w.eq_ignore_ascii_case(key))
        }
        Comparator::Octet | Comparator::AsciiNumeric => value.contains(key),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Glob {
    Char(char),
    One,
    Any,
}

/// `:matches`. Scans left to right; on a mismatch only the last `*` met is
/// stretched by one character, which finds a match whenever one exists in
/// time proportional to value × pattern. Every `*` but the last thus takes
/// as little as it can, as in RFC 5229's "[*] *" example. Returns the
/// whole value, then each wildcard's text.
fn wildcard(c: Comparator, value: &str, pattern: &str) -> Option<Vec<String>> {
    let mut globs = Vec::new();
    let mut chars = pattern.chars();
    while let Some(ch) = chars.next() {
        globs.push(match ch {
            '*' => Glob::Any,
            '?' => Glob::One,
            '\\' => Glob::Char(chars.next().unwrap_or('\\')),
            other => Glob::Char(other),
        });
    }
    let text: Vec<char> = value.chars().collect();
    // Where each wildcard of the pattern starts and ends in the text.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let (mut g, mut t) = (0, 0);
    // The last `*`: its index in `globs`, in `spans`, and how far it reaches.
    let mut last_star: Option<(usize, usize, usize)> = None;
    while t < text.len() || g < globs.len() {
        match globs.get(g) {
            Some(Glob::Any) => {
                spans.push((t, t));
                last_star = Some((g, spans.len() - 1, t));
                g += 1;
                continue;
            }
            Some(Glob::One) if t < text.len() => {
                spans.push((t, t + 1));
                g += 1;
                t += 1;
                continue;
            }
            Some(Glob::Char(p)) if t < text.len() && c.chars_equal(*p, text[t]) => {
                g += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        let (star_g, star_span, reach) = last_star?;
        if reach >= text.len() {
            return None;
        }
        spans.truncate(star_span + 1);
        spans[star_span].1 = reach + 1;
        last_star = Some((star_g, star_span, reach + 1));
        g = star_g + 1;
        t = reach + 1;
    }
    let mut captures = vec![value.to_string()];
    captures.extend(
        spans
            .into_iter()
            .map(|(from, to)| text[from..to].iter().collect::<String>()),
    );
    Some(captures)
}

/// Escapes the wildcard characters of `value` (the `:quotewildcard` modifier).
pub(crate) fn quote_wildcards(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kind: MatchKind, comparator: Comparator) -> Match {
        Match { kind, comparator }
    }

    #[test]
    fn is_and_contains_follow_the_comparator() {
        let casemap = m(MatchKind::Is, Comparator::AsciiCasemap);
        assert!(casemap.test("Hello", "hELLO").is_some());
        assert!(
            m(MatchKind::Is, Comparator::Octet)
                .test("Hello", "hello")
                .is_none()
        );
        assert!(
            m(MatchKind::Contains, Comparator::AsciiCasemap)
                .test("Free MONEY", "money")
                .is_some()
        );
        assert!(
            m(MatchKind::Contains, Comparator::Octet)
                .test("x", "")
                .is_some()
        );
    }

    #[test]
    fn numeric_comparator() {
        let c = Comparator::AsciiNumeric;
        assert_eq!(c.compare("10", "9"), Ordering::Greater);
        assert_eq!(c.compare("007", "7abc"), Ordering::Equal);
        assert_eq!(
            c.compare("abc", "99999999999999999999999"),
            Ordering::Greater
        );
        assert_eq!(c.compare("abc", "x"), Ordering::Equal);
        let ge = m(MatchKind::Value(Relation::Ge), c);
        assert!(ge.test("5", "5").is_some());
        assert!(ge.test("4", "5").is_none());
        let count = m(MatchKind::Count(Relation::Gt), c);
        assert!(count.count_matches(3, "2"));
        assert!(!count.count_matches(2, "2"));
    }

    #[test]
    fn wildcards_but_the_last_capture_as_little_as_they_can() {
        let matches = m(MatchKind::Matches, Comparator::AsciiCasemap);
        let caps = matches
            .test("[acme-users] [fwd] version 1.0 is out", "[*] *")
            .expect("matches");
        assert_eq!(caps[1..], ["acme-users", "[fwd] version 1.0 is out"]);
        let caps = matches
            .test("coyote@ACME.Example.COM", "coyote@**.com")
            .expect("matches");
        assert_eq!(caps, vec!["coyote@ACME.Example.COM", "", "ACME.Example"]);
        let caps = matches
            .test("coyote@example.com", "*@*.c?m")
            .expect("matches");
        assert_eq!(caps[1..], ["coyote", "example", "o"]);
        let caps = matches.test("a.b.c", "*.*").expect("matches");
        assert_eq!(caps[1..], ["a", "b.c"]);
        assert!(matches.test("abc", "a\\*c").is_none());
        assert!(matches.test("a*c", "a\\*c").is_some());
        assert!(matches.test("", "*").is_some());
        assert!(matches.test("", "?").is_none());
        assert!(matches.test("aXbXc", "*x*x*").is_some());
        assert!(matches.test("abcd", "*x*").is_none());
        assert!(matches.test(&"a".repeat(2000), &"*a".repeat(50)).is_some());
        assert!(
            matches
                .test(&"a".repeat(2000), &format!("{}b", "*a".repeat(50)))
                .is_none()
        );
    }

    #[test]
    fn quoting_wildcards() {
        let matches = m(MatchKind::Matches, Comparator::Octet);
        let quoted = quote_wildcards("a*b?c\\");
        assert_eq!(quoted, "a\\*b\\?c\\\\");
        assert!(matches.test("a*b?c\\", &quoted).is_some());
        assert!(matches.test("axbyc\\", &quoted).is_none());
    }
}
