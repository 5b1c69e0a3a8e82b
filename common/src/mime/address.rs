//! Address-list header fields (From, To, Cc…), parsed by hand from their raw
//! value for the IMAP ENVELOPE and written back out for SEARCH FROM/TO/CC/BCC.
//!
//! The grammar is RFC 5322 §3.4 with the obsolete forms of §4.4: CFWS
//! between any two tokens (`user (c)@ (c) domain.org`, `rcpt @ x.org`),
//! quoted-string words in local parts, source routes (`<@a,@b:user@host>`,
//! kept for the envelope's adl), null list members (ignored), and
//! domain literals, kept with their brackets. Where the RFC gives no answer,
//! Dovecot 2.3's does, since clients are used to it:
//!
//! - a comment becomes the display name of an address written without one,
//!   the last comment when there are several (`user@host (Name)`);
//! - a missing local part or domain is `MISSING_MAILBOX` / `MISSING_DOMAIN`
//!   (`foo`, `foo@`, `@bar.org`, `<joe>`, and `<>`, which is an address,
//!   not an absent one); an unclosed `<…` has domain `SYNTAX_ERROR`;
//! - words without any `@` (`foo bar`, or a lone quoted string) are a display
//!   name with neither local part nor domain;
//! - parsing stops at the first thing that is no address or list separator,
//!   keeping the addresses before it, and closes a group left open.
//!
//! Display and group names are RFC 2047-decoded (by mail-parser, as for the
//! rest of the envelope); bytes that are not UTF-8 are read as ISO-8859-1.

use mail_parser::HeaderValue;
use mail_parser::parsers::MessageStream;

use super::{Address, Group, Mailbox};

/// The local part of an address that has none.
pub const MISSING_MAILBOX: &str = "MISSING_MAILBOX";
/// The domain of an address that has none.
pub const MISSING_DOMAIN: &str = "MISSING_DOMAIN";
/// The domain of an address whose `<…>` is not closed.
pub const SYNTAX_ERROR: &str = "SYNTAX_ERROR";

/// The addresses of an address-list field value (what follows the colon,
/// possibly folded). Total: garbage gives fewer addresses, never an error.
pub fn parse_list(value: &[u8]) -> Vec<Address> {
    let text = String::from_utf8(value.to_vec())
        .unwrap_or_else(|e| e.into_bytes().iter().map(|&b| char::from(b)).collect());
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
        comment: None,
    };
    let mut list = Vec::new();
    loop {
        p.skip_cfws();
        match p.peek() {
            None => break,
            Some(b',') => p.pos += 1,
            Some(_) => {
                let Some(address) = p.address(false) else {
                    break;
                };
                list.push(address);
                p.skip_cfws();
                if p.peek() != Some(b',') {
                    break;
                }
            }
        }
    }
    list
}

/// Whether a field holds addresses, so that SEARCH matches it through
/// [`search_text`]: Dovecot's list.
pub fn is_address_field(name: &str) -> bool {
    [
        "From",
        "Sender",
        "Reply-To",
        "To",
        "Cc",
        "Bcc",
        "Resent-From",
        "Resent-Sender",
        "Resent-To",
        "Resent-Cc",
        "Resent-Bcc",
    ]
    .iter()
    .any(|field| field.eq_ignore_ascii_case(name))
}

/// An address list as SEARCH sees it, written the way Dovecot normalises it
/// before matching: `"Display Name" <local@domain>, group: <a@b>;`, so that
/// comments and spaces around `@` no longer matter.
pub fn search_text(list: &[Address]) -> String {
    let mut out = String::new();
    for (i, address) in list.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match address {
            Address::Mailbox(mailbox) => write_mailbox(&mut out, mailbox),
            Address::Group(group) => {
                if group.name.is_empty() {
                    out.push_str("\"\"");
                } else {
                    write_quoted(&mut out, &group.name, false);
                }
                out.push(':');
                for (j, member) in group.members.iter().enumerate() {
                    out.push_str(if j == 0 { " " } else { ", " });
                    write_mailbox(&mut out, member);
                }
                out.push(';');
            }
        }
    }
    out
}

fn write_mailbox(out: &mut String, mailbox: &Mailbox) {
    let name = mailbox.name.as_deref().unwrap_or_default();
    write_quoted(out, name, false);
    if mailbox.mailbox.is_empty() && mailbox.host.is_empty() {
        return;
    }
    if !name.is_empty() {
        out.push(' ');
    }
    out.push('<');
    if let Some(route) = &mailbox.route {
        out.push_str(route);
        out.push(':');
    }
    if mailbox.mailbox.is_empty() {
        out.push_str("\"\"");
    } else {
        write_quoted(out, &mailbox.mailbox, true);
    }
    if !mailbox.host.is_empty() {
        out.push('@');
        out.push_str(&mailbox.host);
    }
    out.push('>');
}

/// `text` as an atom when it is one (dots allowed when `dots`), else as a
/// quoted string. Dovecot also escapes `'`, which keeps `O'Brien Pat` from
/// matching "O'Brien"; only what RFC 5322 needs is escaped here.
fn write_quoted(out: &mut String, text: &str, dots: bool) {
    if text.bytes().all(|b| is_atext(b) || (dots && b == b'.')) {
        out.push_str(text);
        return;
    }
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// RFC 5322 atext, plus every non-ASCII byte (RFC 6532 allows UTF-8 there).
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || !b.is_ascii()
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    /// The text of the last comment skipped, for the display name of an
    /// address that has none.
    comment: Option<Vec<u8>>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    /// Skips folding white space and comments (nested, with quoted-pairs);
    /// an unclosed comment runs to the end.
    fn skip_cfws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'(' => self.skip_comment(),
                _ => break,
            }
        }
    }

    fn skip_comment(&mut self) {
        let mut text = Vec::new();
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'\\' => {
                    if let Some(escaped) = self.peek() {
                        text.push(escaped);
                        self.pos += 1;
                    }
                    continue;
                }
                b'\r' | b'\n' => continue,
                // The outer parentheses are not part of the text; nested
                // ones are.
                b'(' => {
                    depth += 1;
                    if depth == 1 {
                        continue;
                    }
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            text.push(b);
        }
        self.comment = Some(text);
    }

    /// The content of the quoted string at `pos`, unescaped and unfolded;
    /// an unclosed one runs to the end.
    fn quoted(&mut self) -> Vec<u8> {
        let mut text = Vec::new();
        self.pos += 1;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(escaped) = self.peek() {
                        text.push(escaped);
                        self.pos += 1;
                    }
                }
                b'\r' | b'\n' => {}
                _ => text.push(b),
            }
        }
        text
    }

    /// A run of atext (and of dots, when `dots`).
    fn atom(&mut self, dots: bool) -> &[u8] {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| is_atext(b) || (dots && b == b'.'))
        {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    /// A phrase (RFC 5322 obs-phrase: words and dots), its words joined by
    /// single spaces, and the CFWS after it.
    fn phrase(&mut self) -> Vec<u8> {
        let mut text = Vec::new();
        loop {
            self.skip_cfws();
            let word = match self.peek() {
                Some(b'"') => self.quoted(),
                Some(b) if is_atext(b) || b == b'.' => self.atom(true).to_vec(),
                _ => break,
            };
            if !text.is_empty() {
                text.push(b' ');
            }
            text.extend(word);
        }
        text
    }

    /// Words joined by dots, CFWS allowed around each (obs-local-part with
    /// `quoted`, obs-domain without); None when there is not a single one.
    fn dotted(&mut self, quoted: bool) -> Option<Vec<u8>> {
        let mut text = Vec::new();
        let mut seen = false;
        loop {
            match self.peek() {
                Some(b'"') if quoted => text.extend(self.quoted()),
                Some(b) if is_atext(b) => text.extend_from_slice(self.atom(false)),
                _ if !seen => return None,
                _ => {}
            }
            seen = true;
            self.skip_cfws();
            if self.peek() != Some(b'.') {
                return Some(text);
            }
            text.push(b'.');
            self.pos += 1;
            self.skip_cfws();
        }
    }

    /// The domain after an `@` (already consumed), and the CFWS after it.
    fn domain(&mut self) -> Option<Vec<u8>> {
        self.skip_cfws();
        if self.peek() != Some(b'[') {
            return self.dotted(false);
        }
        let start = self.pos;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b']' => {
                    let literal = self.s[start..self.pos].to_vec();
                    self.skip_cfws();
                    return Some(literal);
                }
                b'\\' => self.pos = (self.pos + 1).min(self.s.len()),
                _ => {}
            }
        }
        None
    }

    /// The address at `pos` (not CFWS, not a comma): a group, unless
    /// `in_group`, or a mailbox. None, having consumed nothing, when there
    /// is no address there.
    fn address(&mut self, in_group: bool) -> Option<Address> {
        let start = self.pos;
        let phrase = self.phrase();
        match self.peek() {
            Some(b':') if !in_group => {
                self.pos += 1;
                let name = decode(&phrase).unwrap_or_default();
                return Some(Address::Group(self.group(name)));
            }
            Some(b'<') => {
                self.pos += 1;
                return Some(Address::Mailbox(self.angle_addr(decode(&phrase))));
            }
            _ => {}
        }
        let after_phrase = self.pos;
        self.pos = start;
        self.comment = None;
        let starts_quoted = self.peek() == Some(b'"');
        let local = self.dotted(true);
        let host = if self.peek() == Some(b'@') {
            self.pos += 1;
            Some(self.domain())
        } else {
            None
        };
        let comment = self.comment.take();
        if host.is_none() && comment.is_none() && (self.pos < after_phrase || starts_quoted) {
            // Several words, or one quoted string, and no `@`: a name
            // without an address, as Dovecot has it.
            self.pos = after_phrase;
            return Some(Address::Mailbox(mailbox(decode(&phrase), None, None)));
        }
        if local.is_none() && host.is_none() {
            return None;
        }
        let name = comment.and_then(|c| decode(&c));
        Some(Address::Mailbox(mailbox(name, local, host.flatten())))
    }

    /// The rest of a group after its colon: members up to `;`, or up to
    /// the end or the first thing that is not a member.
    fn group(&mut self, name: String) -> Group {
        let mut members = Vec::new();
        loop {
            self.skip_cfws();
            match self.peek() {
                None => break,
                Some(b';') => {
                    self.pos += 1;
                    break;
                }
                Some(b',') => self.pos += 1,
                Some(_) => {
                    let Some(Address::Mailbox(member)) = self.address(true) else {
                        break;
                    };
                    members.push(member);
                    self.skip_cfws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b';') => {
                            self.pos += 1;
                            break;
                        }
                        _ => break,
                    }
                }
            }
        }
        Group { name, members }
    }

    /// The rest of a `<…>` after its `<`: an optional source route, then an
    /// addr-spec, possibly empty.
    fn angle_addr(&mut self, name: Option<String>) -> Mailbox {
        self.skip_cfws();
        let route = self.route();
        let (local, mut host) = match self.peek() {
            Some(b'>') => (None, None),
            _ => {
                let local = self.dotted(true);
                let host = if self.peek() == Some(b'@') {
                    self.pos += 1;
                    self.domain()
                } else {
                    None
                };
                (local, host)
            }
        };
        if self.peek() == Some(b'>') {
            self.pos += 1;
        } else {
            host = Some(SYNTAX_ERROR.into());
        }
        Mailbox {
            route,
            ..mailbox(name, local, host)
        }
    }

    /// An obsolete source route (`@a,@b:`, RFC 5322 §4.4), written back as
    /// Dovecot gives it in the envelope's adl: `@a,@b`.
    fn route(&mut self) -> Option<String> {
        let mut hops = Vec::new();
        while self.peek() == Some(b'@') {
            self.pos += 1;
            if let Some(hop) = self.domain() {
                hops.push(format!("@{}", String::from_utf8_lossy(&hop)));
            }
            while self.peek() == Some(b',') {
                self.pos += 1;
                self.skip_cfws();
            }
        }
        if self.peek() == Some(b':') {
            self.pos += 1;
            self.skip_cfws();
        }
        (!hops.is_empty()).then(|| hops.join(","))
    }
}

fn mailbox(name: Option<String>, local: Option<Vec<u8>>, host: Option<Vec<u8>>) -> Mailbox {
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    Mailbox {
        name,
        route: None,
        mailbox: local.map_or_else(|| MISSING_MAILBOX.into(), text),
        host: host
            .filter(|h| !h.is_empty())
            .map_or_else(|| MISSING_DOMAIN.into(), text),
    }
}

/// A phrase or comment with its RFC 2047 encoded-words decoded; None when
/// empty.
fn decode(words: &[u8]) -> Option<String> {
    let mut line = words.to_vec();
    // mail-parser reads a header value up to its line end.
    line.push(b'\n');
    match MessageStream::new(&line).parse_unstructured() {
        HeaderValue::Text(text) if !text.is_empty() => Some(text.into_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(name: Option<&str>, mailbox: &str, host: &str) -> Mailbox {
        Mailbox {
            name: name.map(str::to_string),
            route: None,
            mailbox: mailbox.into(),
            host: host.into(),
        }
    }

    fn one(name: Option<&str>, mailbox: &str, host: &str) -> Vec<Address> {
        vec![Address::Mailbox(mb(name, mailbox, host))]
    }

    fn group(name: &str, members: Vec<Mailbox>) -> Address {
        Address::Group(Group {
            name: name.into(),
            members,
        })
    }

    fn parse(value: &str) -> Vec<Address> {
        parse_list(value.as_bytes())
    }

    #[test]
    fn plain_forms() {
        assert_eq!(parse("a@b.org"), one(None, "a", "b.org"));
        assert_eq!(
            parse("\"Foo Bar\" <foo@bar.org>"),
            one(Some("Foo Bar"), "foo", "bar.org")
        );
        assert_eq!(
            parse(" Foo \"Bar\" Baz\r\n\t<a@b>"),
            one(Some("Foo Bar Baz"), "a", "b")
        );
        assert_eq!(parse("Foo.Bar <a@b>"), one(Some("Foo.Bar"), "a", "b"));
        assert_eq!(parse("\"\" <a@b>"), one(None, "a", "b"));
        assert_eq!(parse("<a@b>"), one(None, "a", "b"));
        assert_eq!(
            parse("\"q, r\" <q@r.org>, <s@t.org>"),
            [
                Address::Mailbox(mb(Some("q, r"), "q", "r.org")),
                Address::Mailbox(mb(None, "s", "t.org")),
            ]
        );
        assert_eq!(parse("\"a b\"@c.d"), one(None, "a b", "c.d"));
        assert_eq!(parse("\"a\\\"b\" <c@d>"), one(Some("a\"b"), "c", "d"));
        assert_eq!(parse("x@[1.2.3.4]"), one(None, "x", "[1.2.3.4]"));
        assert_eq!(parse("\"\"@b"), one(None, "", "b"));
    }

    /// Dovecot's answers in the comparison of item 7.
    #[test]
    fn comments_and_spaces_around_the_at_sign() {
        assert_eq!(
            parse("user (comment)@ (comment) domain.org"),
            one(Some("comment"), "user", "domain.org")
        );
        assert_eq!(
            parse("Name <user (c)@ (c) domain.org>"),
            one(Some("Name"), "user", "domain.org")
        );
        assert_eq!(
            parse("\"R\" <rcpt @ x.org>"),
            one(Some("R"), "rcpt", "x.org")
        );
        // The last comment is the name.
        assert_eq!(parse("c1 (x) @ (y) cc.org"), one(Some("y"), "c1", "cc.org"));
        assert_eq!(parse("user (one) (two) @d"), one(Some("two"), "user", "d"));
        assert_eq!(
            parse("user@domain (Real Name)"),
            one(Some("Real Name"), "user", "domain")
        );
        assert_eq!(
            parse("a@b (c (nested) \\) q)"),
            one(Some("c (nested) ) q"), "a", "b")
        );
        assert_eq!(parse("a@(x)b(y).(z)c"), one(Some("z"), "a", "b.c"));
        // A comment before the address, or after `<…>`, names nothing.
        assert_eq!(parse("(c) a@b"), one(None, "a", "b"));
        assert_eq!(parse("<a@b> (c)"), one(None, "a", "b"));
        assert_eq!(parse("(only comment)"), []);
        assert_eq!(parse("a@b (unclosed"), one(Some("unclosed"), "a", "b"));
    }

    #[test]
    fn obsolete_local_parts_and_domains() {
        assert_eq!(parse("a .b@c"), one(None, "a.b", "c"));
        assert_eq!(parse("a (x) .b@c"), one(Some("x"), "a.b", "c"));
        assert_eq!(parse("a..b@c"), one(None, "a..b", "c"));
        assert_eq!(parse("a@b . c"), one(None, "a", "b.c"));
        // RFC 5322 §4.4 allows what Dovecot reads as a display name.
        assert_eq!(parse("a. b@c"), one(None, "a.b", "c"));
        assert_eq!(parse("a.\"b\"@c"), one(None, "a.b", "c"));
        assert_eq!(parse("\"a.b\"@c"), one(None, "a.b", "c"));
    }

    /// Dovecot's answers in the comparison of item 8.
    #[test]
    fn groups() {
        assert_eq!(parse("group: (comment) ;"), [group("group", vec![])]);
        assert_eq!(
            parse("undisclosed-recipients:;"),
            [group("undisclosed-recipients", vec![])]
        );
        assert_eq!(
            parse("a@b, grp: c@d, e@f;, g@h"),
            [
                Address::Mailbox(mb(None, "a", "b")),
                group("grp", vec![mb(None, "c", "d"), mb(None, "e", "f")]),
                Address::Mailbox(mb(None, "g", "h")),
            ]
        );
        assert_eq!(
            parse("Grp: c1@cc.org;"),
            [group("Grp", vec![mb(None, "c1", "cc.org")])]
        );
        assert_eq!(
            parse("=?utf-8?q?J=C3=BCrgen?= und Co: =?iso-8859-1?q?Ren=E9?= <r@x>;"),
            [group("Jürgen und Co", vec![mb(Some("René"), "r", "x")])]
        );
        // An unclosed group ends with the value.
        assert_eq!(
            parse("x: y"),
            [group("x", vec![mb(None, "y", MISSING_DOMAIN)])]
        );
        assert_eq!(parse(": a@b;"), [group("", vec![mb(None, "a", "b")])]);
    }

    /// Dovecot's answers in the comparison of item 8, and to more probes.
    #[test]
    fn missing_parts() {
        assert_eq!(parse("foo"), one(None, "foo", MISSING_DOMAIN));
        assert_eq!(parse("foo@"), one(None, "foo", MISSING_DOMAIN));
        assert_eq!(parse("@bar.org"), one(None, MISSING_MAILBOX, "bar.org"));
        assert_eq!(parse("Joe <joe>"), one(Some("Joe"), "joe", MISSING_DOMAIN));
        assert_eq!(parse("<>"), one(None, MISSING_MAILBOX, MISSING_DOMAIN));
        assert_eq!(parse("@"), one(None, MISSING_MAILBOX, MISSING_DOMAIN));
        assert_eq!(
            parse("foo bar"),
            one(Some("foo bar"), MISSING_MAILBOX, MISSING_DOMAIN)
        );
        assert_eq!(
            parse("\"quoted\""),
            one(Some("quoted"), MISSING_MAILBOX, MISSING_DOMAIN)
        );
        assert_eq!(parse("foo (Foo)"), one(Some("Foo"), "foo", MISSING_DOMAIN));
        assert_eq!(parse("Name <foo"), one(Some("Name"), "foo", SYNTAX_ERROR));
        assert_eq!(parse("Name <a@b"), one(Some("Name"), "a", SYNTAX_ERROR));
    }

    #[test]
    fn source_routes_are_kept() {
        let routed = |route: &str, mailbox: &str, host: &str| {
            vec![Address::Mailbox(Mailbox {
                route: Some(route.into()),
                ..mb(None, mailbox, host)
            })]
        };
        assert_eq!(
            parse("<@route,@r2:s@t.org>"),
            routed("@route,@r2", "s", "t.org")
        );
        assert_eq!(
            parse("Name < @a , @b (c) : s @ t.org >"),
            vec![Address::Mailbox(Mailbox {
                route: Some("@a,@b".into()),
                ..mb(Some("Name"), "s", "t.org")
            })]
        );
        assert_eq!(parse("<@a c@d>"), routed("@a", "c", "d"));
        assert_eq!(parse("<@>"), one(None, MISSING_MAILBOX, MISSING_DOMAIN));
    }

    #[test]
    fn empty_values_and_null_members() {
        assert_eq!(parse(""), []);
        assert_eq!(parse("  \r\n "), []);
        // RFC 5322 §4.4: null members are ignored (Dovecot makes them
        // MISSING_MAILBOX@MISSING_DOMAIN addresses).
        assert_eq!(
            parse(",a@b, , c@d,"),
            [
                Address::Mailbox(mb(None, "a", "b")),
                Address::Mailbox(mb(None, "c", "d")),
            ]
        );
        assert_eq!(
            parse("g: a@b, (c) ;"),
            [group("g", vec![mb(None, "a", "b")])]
        );
    }

    #[test]
    fn garbage_ends_the_list() {
        assert_eq!(parse("a@b c@d"), one(None, "a", "b"));
        assert_eq!(parse("a@b <c@d>"), one(None, "a", "b"));
        assert_eq!(parse("a@b; c@d"), one(None, "a", "b"));
        assert_eq!(
            parse("g: a@b c@d; e@f"),
            [group("g", vec![mb(None, "a", "b")])]
        );
        assert_eq!(parse("g: ; x@y"), [group("g", vec![])]);
        assert_eq!(parse("> a@b"), []);
        assert_eq!(
            parse("Name <a@b c>, d@e"),
            one(Some("Name"), "a", SYNTAX_ERROR)
        );
    }

    #[test]
    fn encoded_words_and_8bit() {
        assert_eq!(
            parse("=?utf-8?q?J=C3=BCrgen?= <jx@domain.org>"),
            one(Some("Jürgen"), "jx", "domain.org")
        );
        assert_eq!(
            parse("=?UTF-8?B?SsO8cmdlbg==?= =?UTF-8?Q?_M=C3=BCller?= <j@x>"),
            one(Some("Jürgen Müller"), "j", "x")
        );
        assert_eq!(
            parse("a@b (=?utf-8?q?Zo=C3=AB?=)"),
            one(Some("Zoë"), "a", "b")
        );
        // Raw UTF-8, and bytes that are not UTF-8, read as ISO-8859-1.
        assert_eq!(parse("René <r@x>"), one(Some("René"), "r", "x"));
        assert_eq!(
            parse_list(b"Ren\xe9 <r@x\xe9.fr>"),
            one(Some("René"), "r", "xé.fr")
        );
    }

    #[test]
    fn never_panics_nor_loops() {
        let pieces: [&[u8]; 16] = [
            b"a", b"@", b"<", b">", b"(", b")", b"\"", b"\\", b",", b";", b":", b".", b" ", b"[",
            b"]", b"\xc3",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut value = Vec::new();
            for _ in 0..(seed % 12) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                value.extend_from_slice(pieces[(seed % 16) as usize]);
            }
            search_text(&parse_list(&value));
        }
    }

    #[test]
    fn search_text_as_dovecot_writes_it() {
        let text = |value: &str| search_text(&parse(value));
        assert_eq!(
            text("user (comment)@ (comment) domain.org"),
            "comment <user@domain.org>"
        );
        assert_eq!(text("user@domain.org"), "<user@domain.org>");
        assert_eq!(text("a@b, c@d"), "<a@b>, <c@d>");
        assert_eq!(
            text("\"Foo Bar\" <foo@bar.org>"),
            "\"Foo Bar\" <foo@bar.org>"
        );
        assert_eq!(text("Foo.Bar <a@b>"), "\"Foo.Bar\" <a@b>");
        assert_eq!(text("\"a\\\"b\" <c@d>"), "\"a\\\"b\" <c@d>");
        assert_eq!(text("\"a.b\"@c"), "<a.b@c>");
        assert_eq!(text("\"a b\"@c"), "<\"a b\"@c>");
        assert_eq!(text("\"\"@b"), "<\"\"@b>");
        assert_eq!(text("foo"), "<foo@MISSING_DOMAIN>");
        assert_eq!(
            text("foo bar"),
            "\"foo bar\" <MISSING_MAILBOX@MISSING_DOMAIN>"
        );
        assert_eq!(
            text("=?utf-8?q?J=C3=BCrgen?= <jx@domain.org>"),
            "Jürgen <jx@domain.org>"
        );
        assert_eq!(text("g: a@b, c@d;, e@f"), "g: <a@b>, <c@d>;, <e@f>");
        assert_eq!(text("undisclosed-recipients:;"), "undisclosed-recipients:;");
        assert_eq!(text(": a@b;"), "\"\": <a@b>;");
        // Dovecot would write "O\'Brien Pat", which no search for O'Brien
        // finds.
        assert_eq!(text("O'Brien Pat <o@b.c>"), "\"O'Brien Pat\" <o@b.c>");
    }

    /// The envelope's fallbacks with these addresses, as Dovecot answers
    /// item 8: an empty Sender is From, `<>` in Reply-To is an address.
    #[test]
    fn envelope_fallbacks() {
        let raw = b"From: \"Foo Bar\" <foo@bar.org>\r\nSender: \r\nReply-To: <>\r\n\
To: \"q, r\" <q@r.org>, <@route,@r2:s@t.org>\r\nSubject: e6\r\n\r\nx\r\n";
        let envelope = crate::mime::parse(raw).envelope;
        let from = one(Some("Foo Bar"), "foo", "bar.org");
        assert_eq!(envelope.from, from);
        assert_eq!(envelope.sender, from);
        assert_eq!(
            envelope.reply_to,
            one(None, MISSING_MAILBOX, MISSING_DOMAIN)
        );
        assert_eq!(
            envelope.to,
            [
                Address::Mailbox(mb(Some("q, r"), "q", "r.org")),
                Address::Mailbox(Mailbox {
                    route: Some("@route,@r2".into()),
                    ..mb(None, "s", "t.org")
                }),
            ]
        );
        let envelope = crate::mime::parse(b"From:\r\nTo: x@y.org\r\n\r\nx\r\n").envelope;
        assert_eq!(envelope.from, []);
        assert_eq!(envelope.sender, []);
        assert_eq!(envelope.reply_to, []);
        // Folded, and the last of two fields.
        let raw = b"Cc: a@b\r\nCc: \"Doe,\r\n John\" (x)\r\n <john@ex.org>\r\n\r\nx";
        let envelope = crate::mime::parse(raw).envelope;
        assert_eq!(envelope.cc, one(Some("Doe, John"), "john", "ex.org"));
    }

    #[test]
    fn address_fields() {
        for name in ["From", "to", "CC", "bcc", "Sender", "reply-to", "Resent-Cc"] {
            assert!(is_address_field(name), "{name}");
        }
        for name in ["Subject", "Message-ID", "X-From", "Return-Path"] {
            assert!(!is_address_field(name), "{name}");
        }
    }
}
