//! Command syntax that imap-codec 2.0.0-alpha.10 does not parse, read here
//! and cut out of the command before imap-codec parses the rest:
//!
//! - `SEARCH RETURN (MIN MAX ALL COUNT SAVE)`: ESEARCH (RFC 4731 §3.1,
//!   RFC 9051 §6.4.4);
//! - LIST selection options `LIST (SUBSCRIBED REMOTE RECURSIVEMATCH
//!   SPECIAL-USE) ...` and return options `... RETURN (SUBSCRIBED CHILDREN
//!   SPECIAL-USE STATUS (...))`: LIST-EXTENDED (RFC 5258 §3), LIST-STATUS
//!   (RFC 5819 §2), SPECIAL-USE (RFC 6154 §5.1);
//! - `CREATE name (USE (\Sent ...))`: CREATE-SPECIAL-USE (RFC 6154 §3);
//! - `[UID] SORT [RETURN (...)] (criteria) charset search`: SORT and
//!   SORT=DISPLAY (RFC 5256 §3, RFC 5957), ESORT (RFC 5267 §3.2);
//!   `[UID] THREAD algorithm charset search` (RFC 5256 §3). Both become
//!   `[UID] SEARCH CHARSET charset search` for imap-codec, which reads the
//!   search keys as it does for SEARCH;
//! - `APPEND mailbox [flags] [date] message [flags] [date] message ...`:
//!   MULTIAPPEND (RFC 3502 §6.3.11); the first message stays in the
//!   command, the others go into the options.
//!
//! - the ACL commands (RFC 4314 §3), read by `acl`.
//!
//! - LIST with several patterns `("a" "b")` (RFC 5258 §3): the first
//!   pattern is left for imap-codec, all of them go into the options.
//!
//! The SEARCHRES `$` set (RFC 5182) is rewritten by `searchres`.
//!
//! Options sit at the start of the first line (SEARCH RETURN, LIST
//! selection) or at the end of the text after the last literal (LIST
//! RETURN, CREATE USE); cutting them there leaves every literal and its
//! announcement whole.

use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::datetime::DateTime;
use imap_codec::imap_types::extensions::binary::LiteralOrLiteral8;
use imap_codec::imap_types::flag::Flag;
use imap_codec::imap_types::status::StatusDataItemName;

use super::acl::{AclCommand, acl};
use super::decode::decode_command_only;
use super::framing::{last_text_start, literal_ends};

/// What a command asked beyond what imap-types' `Command` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Options {
    #[default]
    None,
    /// `SEARCH RETURN (...)`: answer with `* ESEARCH`. An empty list means
    /// `ALL` (RFC 4731 §3.1).
    SearchReturn(Vec<SearchReturn>),
    /// LIST with selection and/or return options.
    List(ListOptions),
    /// CREATE with the special-use attributes to give the new mailbox, as
    /// sent (`\Sent`), in the order sent.
    CreateUse(Vec<String>),
    /// The command is SORT: its criteria, and the ESORT return options
    /// when it had `RETURN (...)` (an empty list meaning `ALL`).
    Sort {
        criteria: Vec<SortCriterion>,
        returns: Option<Vec<SearchReturn>>,
    },
    /// The command is THREAD, with this algorithm.
    Thread(ThreadAlgorithm),
    /// MULTIAPPEND: the messages after the first, in order.
    MoreMessages(Vec<AppendMessage>),
    /// An ACL command (RFC 4314), which imap-codec reads as a NOOP.
    Acl(AclCommand),
}

/// What SORT compares (RFC 5256 §3, RFC 5957 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
    DisplayFrom,
    DisplayTo,
}

/// A sort key, and whether `REVERSE` came before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortCriterion {
    pub key: SortKey,
    pub reverse: bool,
}

/// A THREAD algorithm (RFC 5256 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    OrderedSubject,
    References,
}

/// One message of a MULTIAPPEND after the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage {
    pub flags: Vec<Flag<'static>>,
    pub date: Option<DateTime>,
    pub message: Vec<u8>,
}

/// A SEARCH return option (RFC 4731 §3.1, RFC 5182 §2 for SAVE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchReturn {
    Min,
    Max,
    All,
    Count,
    Save,
}

/// The options of an extended LIST (RFC 5258 §3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Selection options, empty when the command had none (or `()`).
    pub selection: Vec<ListSelect>,
    /// Return options, empty when the command had none (or `RETURN ()`).
    pub returns: Vec<ListReturn>,
    /// Every pattern of `LIST ref (pat1 pat2 ...)` (RFC 5258 §3), as sent
    /// (quoted strings unquoted); empty for the usual single pattern, which
    /// imap-types' command holds.
    pub patterns: Vec<Vec<u8>>,
}

/// A LIST selection option (RFC 5258 §3.1, RFC 6154 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListSelect {
    Subscribed,
    Remote,
    RecursiveMatch,
    SpecialUse,
}

/// A LIST return option (RFC 5258 §3.2, RFC 5819 §2, RFC 6154 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListReturn {
    Subscribed,
    Children,
    SpecialUse,
    Status(Vec<StatusDataItemName>),
}

/// The options syntax is present but malformed or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Malformed;

/// Cuts the options this module reads out of a command: `None` when it
/// has none, else the command without them and the options.
pub(super) fn split(command: &[u8]) -> Result<Option<(Vec<u8>, Options)>, Malformed> {
    let Some(tag_end) = command.iter().position(|&b| b == b' ') else {
        return Ok(None);
    };
    let (name, mut name_end) = word(command, tag_end + 1);
    let mut name_start = tag_end + 1;
    if let Some(acl) = acl(command, name, name_end) {
        let mut noop = command[..name_start].to_vec();
        noop.extend_from_slice(b"NOOP\r\n");
        return Ok(Some((noop, Options::Acl(acl?))));
    }
    let name = if name.eq_ignore_ascii_case(b"UID") {
        name_start = name_end + 1;
        let (sub, end) = word(command, name_start);
        name_end = end;
        sub
    } else {
        name
    };
    if name.eq_ignore_ascii_case(b"SORT") {
        sort(command, name_start, name_end)
    } else if name.eq_ignore_ascii_case(b"THREAD") {
        thread(command, name_start, name_end)
    } else if name.eq_ignore_ascii_case(b"SEARCH") {
        search(command, name_end)
    } else if name.eq_ignore_ascii_case(b"LIST") {
        list(command, name_end)
    } else if name.eq_ignore_ascii_case(b"CREATE") {
        create(command)
    } else if name.eq_ignore_ascii_case(b"APPEND") {
        if let Some(rewritten) = append_utf8(command) {
            return Ok(Some((rewritten, Options::None)));
        }
        multiappend(command)
    } else {
        Ok(None)
    }
}

/// `APPEND mailbox [flags] [date] UTF8 (~{n}...)` (UTF8=ACCEPT, RFC 6855
/// §4): the message is a literal8 inside `UTF8 (` `)`; without them it is
/// the APPEND imap-codec reads.
fn append_utf8(command: &[u8]) -> Option<Vec<u8>> {
    const UTF8: &[u8] = b" UTF8 (~{";
    let first_line = &command[..command.iter().position(|&b| b == b'\n')?];
    let at = first_line
        .windows(UTF8.len())
        .rposition(|w| w.eq_ignore_ascii_case(UTF8))?;
    let tail = last_text_start(command);
    if command.get(tail) != Some(&b')') || tail <= at {
        return None;
    }
    let mut rewritten = command[..at + 1].to_vec();
    rewritten.extend_from_slice(&command[at + UTF8.len() - 2..tail]);
    rewritten.extend_from_slice(&command[tail + 1..]);
    Some(rewritten)
}

/// `[UID] SORT [RETURN (...)] (criteria) charset search`, rewritten as
/// `[UID] SEARCH CHARSET charset search`.
fn sort(
    command: &[u8],
    name_start: usize,
    name_end: usize,
) -> Result<Option<(Vec<u8>, Options)>, Malformed> {
    let mut at = name_end;
    let mut returns = None;
    const RETURN: &[u8] = b" RETURN (";
    if command
        .get(at..at + RETURN.len())
        .is_some_and(|r| r.eq_ignore_ascii_case(RETURN))
    {
        let open = at + RETURN.len() - 1;
        let close = closing(command, open).ok_or(Malformed)?;
        returns = Some(search_returns(&command[open + 1..close])?);
        at = close + 1;
    }
    if command.get(at..at + 2) != Some(b" (") {
        return Err(Malformed);
    }
    let close = closing(command, at + 1).ok_or(Malformed)?;
    let mut criteria = Vec::new();
    let mut reverse = false;
    for atom in atoms(&command[at + 2..close])? {
        let key = match atom.to_ascii_uppercase().as_slice() {
            b"REVERSE" if !reverse => {
                reverse = true;
                continue;
            }
            b"ARRIVAL" => SortKey::Arrival,
            b"CC" => SortKey::Cc,
            b"DATE" => SortKey::Date,
            b"FROM" => SortKey::From,
            b"SIZE" => SortKey::Size,
            b"SUBJECT" => SortKey::Subject,
            b"TO" => SortKey::To,
            b"DISPLAYFROM" => SortKey::DisplayFrom,
            b"DISPLAYTO" => SortKey::DisplayTo,
            _ => return Err(Malformed),
        };
        criteria.push(SortCriterion { key, reverse });
        reverse = false;
    }
    // At least one key, and REVERSE only before one (RFC 5256 §5).
    if criteria.is_empty() || reverse {
        return Err(Malformed);
    }
    let rewritten = as_search(command, name_start, close + 1);
    Ok(Some((rewritten, Options::Sort { criteria, returns })))
}

/// `[UID] THREAD algorithm charset search`, rewritten as
/// `[UID] SEARCH CHARSET charset search`.
fn thread(
    command: &[u8],
    name_start: usize,
    name_end: usize,
) -> Result<Option<(Vec<u8>, Options)>, Malformed> {
    let (name, end) = word(command, name_end + 1);
    let algorithm = match name.to_ascii_uppercase().as_slice() {
        b"ORDEREDSUBJECT" => ThreadAlgorithm::OrderedSubject,
        b"REFERENCES" => ThreadAlgorithm::References,
        _ => return Err(Malformed),
    };
    let rewritten = as_search(command, name_start, end);
    Ok(Some((rewritten, Options::Thread(algorithm))))
}

/// The command with the text from `name_start` to `rest` replaced by
/// `SEARCH CHARSET`: the charset and search keys follow.
fn as_search(command: &[u8], name_start: usize, rest: usize) -> Vec<u8> {
    let mut rewritten = command[..name_start].to_vec();
    rewritten.extend_from_slice(b"SEARCH CHARSET");
    rewritten.extend_from_slice(&command[rest..]);
    rewritten
}

/// MULTIAPPEND: the command cut after its first message, and the other
/// messages; `None` for an APPEND of one message. Each message ends at the
/// end of a literal; its flags, date and literal are read by imap-codec as
/// those of an APPEND of its own.
fn multiappend(command: &[u8]) -> Result<Option<(Vec<u8>, Options)>, Malformed> {
    let ends = literal_ends(command);
    if ends.len() < 2 {
        return Ok(None);
    }
    let with_end = |prefix: &[u8], part: &[u8]| [prefix, part, b"\r\n"].concat();
    let Some(first) = ends
        .iter()
        .position(|&end| append_message(&with_end(&command[..end], b"")).is_some())
    else {
        return Ok(None);
    };
    let mut more = Vec::new();
    let mut at = ends[first];
    for &end in &ends[first + 1..] {
        if let Some(message) = append_message(&with_end(b"a APPEND INBOX", &command[at..end])) {
            more.push(message);
            at = end;
        }
    }
    if more.is_empty() {
        return Ok(None);
    }
    if !matches!(&command[at..], b"\r\n" | b"\n") {
        return Err(Malformed);
    }
    let first_command = with_end(&command[..ends[first]], b"");
    Ok(Some((first_command, Options::MoreMessages(more))))
}

/// The message of an APPEND command of one message.
fn append_message(command: &[u8]) -> Option<AppendMessage> {
    let Some(CommandBody::Append {
        flags,
        date,
        message,
        ..
    }) = decode_command_only(command).map(|c| c.body)
    else {
        return None;
    };
    let message = match message {
        LiteralOrLiteral8::Literal(literal) => literal.data().to_vec(),
        LiteralOrLiteral8::Literal8(literal) => literal.data.to_vec(),
    };
    Some(AppendMessage {
        flags: flags.into_iter().map(IntoStatic::into_static).collect(),
        date,
        message,
    })
}

/// The options of `RETURN (...)` of SEARCH and SORT.
fn search_returns(inside: &[u8]) -> Result<Vec<SearchReturn>, Malformed> {
    atoms(inside)?
        .into_iter()
        .map(|atom| match atom.to_ascii_uppercase().as_slice() {
            b"MIN" => Ok(SearchReturn::Min),
            b"MAX" => Ok(SearchReturn::Max),
            b"ALL" => Ok(SearchReturn::All),
            b"COUNT" => Ok(SearchReturn::Count),
            b"SAVE" => Ok(SearchReturn::Save),
            _ => Err(Malformed),
        })
        .collect()
}

/// `[UID] SEARCH RETURN (...) criteria`.
fn search(command: &[u8], name_end: usize) -> Result<Option<(Vec<u8>, Options)>, Malformed> {
    let rest = &command[name_end..];
    const RETURN: &[u8] = b" RETURN (";
    if !rest
        .get(..RETURN.len())
        .is_some_and(|r| r.eq_ignore_ascii_case(RETURN))
    {
        return Ok(None);
    }
    let open = name_end + RETURN.len() - 1;
    let close = closing(command, open).ok_or(Malformed)?;
    let options = search_returns(&command[open + 1..close])?;
    let mut rewritten = command[..name_end].to_vec();
    rewritten.extend_from_slice(&command[close + 1..]);
    Ok(Some((rewritten, Options::SearchReturn(options))))
}

/// `LIST [(selection)] reference pattern [RETURN (return)]`.
fn list(command: &[u8], name_end: usize) -> Result<Option<(Vec<u8>, Options)>, Malformed> {
    let mut options = ListOptions::default();
    let mut found = false;
    let mut rewritten = command.to_vec();
    if command.get(name_end..name_end + 2) == Some(b" (") {
        let open = name_end + 1;
        let close = closing(command, open).ok_or(Malformed)?;
        options.selection = atoms(&command[open + 1..close])?
            .into_iter()
            .map(|atom| match atom.to_ascii_uppercase().as_slice() {
                b"SUBSCRIBED" => Ok(ListSelect::Subscribed),
                b"REMOTE" => Ok(ListSelect::Remote),
                b"RECURSIVEMATCH" => Ok(ListSelect::RecursiveMatch),
                b"SPECIAL-USE" => Ok(ListSelect::SpecialUse),
                _ => Err(Malformed),
            })
            .collect::<Result<_, _>>()?;
        // RECURSIVEMATCH refines another selection option; alone (or with
        // only REMOTE) it is an error (RFC 5258 §3).
        let refines =
            |o: &ListSelect| !matches!(o, ListSelect::RecursiveMatch | ListSelect::Remote);
        if options.selection.contains(&ListSelect::RecursiveMatch)
            && !options.selection.iter().any(refines)
        {
            return Err(Malformed);
        }
        rewritten.drain(name_end..=close);
        found = true;
    }
    if let Some((open, close)) = trailing_group(&rewritten)
        && ends_with_ignore_case(&rewritten[..open], b" RETURN ")
    {
        options.returns = list_returns(&rewritten[open + 1..close])?;
        rewritten.drain(open - b" RETURN ".len()..=close);
        found = true;
    }
    if let Some((open, close, patterns)) = pattern_list(&rewritten) {
        // imap-types takes one pattern: give it the first, keep them all.
        let first = quoted(&patterns[0]);
        rewritten.splice(open..=close, first);
        options.patterns = patterns;
        found = true;
    }
    Ok(found.then_some((rewritten, Options::List(options))))
}

/// A parenthesized list of patterns ending the command's last line:
/// `(open, close, patterns)`. Patterns are atoms or quoted strings.
fn pattern_list(command: &[u8]) -> Option<(usize, usize, Vec<Vec<u8>>)> {
    let start = last_text_start(command);
    let text = command.get(start..)?;
    let text = text.strip_suffix(b"\n")?;
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    if !text.ends_with(b")") {
        return None;
    }
    // The group opens after the last space outside quoted strings.
    let mut in_quote = false;
    let mut escaped = false;
    let mut open = None;
    for (i, &b) in text.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if in_quote => escaped = true,
            b'"' => in_quote = !in_quote,
            b'(' if !in_quote && i > 0 && text[i - 1] == b' ' => open = Some(i),
            _ => {}
        }
    }
    let open = open?;
    let mut patterns = Vec::new();
    let inside = &text[open + 1..text.len() - 1];
    let mut i = 0;
    while i < inside.len() {
        match inside[i] {
            b' ' => i += 1,
            b'"' => {
                let mut pattern = Vec::new();
                i += 1;
                while i < inside.len() && inside[i] != b'"' {
                    if inside[i] == b'\\' {
                        i += 1;
                    }
                    pattern.push(*inside.get(i)?);
                    i += 1;
                }
                if i >= inside.len() {
                    return None;
                }
                i += 1;
                patterns.push(pattern);
            }
            b'(' | b')' | b'{' => return None,
            _ => {
                let end = inside[i..]
                    .iter()
                    .position(|&b| b == b' ')
                    .map_or(inside.len(), |n| i + n);
                patterns.push(inside[i..end].to_vec());
                i = end;
            }
        }
    }
    (!patterns.is_empty()).then_some((start + open, start + text.len() - 1, patterns))
}

/// `bytes` as a quoted string.
fn quoted(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    for &b in bytes {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
    out
}

fn list_returns(inside: &[u8]) -> Result<Vec<ListReturn>, Malformed> {
    let mut returns = Vec::new();
    let mut items = atoms_and_groups(inside)?.into_iter();
    while let Some(item) = items.next() {
        returns.push(match item.to_ascii_uppercase().as_slice() {
            b"SUBSCRIBED" => ListReturn::Subscribed,
            b"CHILDREN" => ListReturn::Children,
            b"SPECIAL-USE" => ListReturn::SpecialUse,
            b"STATUS" => ListReturn::Status(status_items(items.next().ok_or(Malformed)?)?),
            _ => return Err(Malformed),
        });
    }
    Ok(returns)
}

/// The STATUS items of `RETURN (STATUS (...))`, read by imap-codec as
/// those of a STATUS command.
fn status_items(group: &[u8]) -> Result<Vec<StatusDataItemName>, Malformed> {
    let mut status = b"s STATUS INBOX ".to_vec();
    status.extend_from_slice(group);
    status.extend_from_slice(b"\r\n");
    match decode_command_only(&status).map(|command| command.body) {
        Some(CommandBody::Status { item_names, .. }) => Ok(item_names.into_owned()),
        _ => Err(Malformed),
    }
}

/// `CREATE name (USE (attributes))`.
fn create(command: &[u8]) -> Result<Option<(Vec<u8>, Options)>, Malformed> {
    let Some((open, close)) = trailing_group(command) else {
        return Ok(None);
    };
    let inside = &command[open + 1..close];
    const USE: &[u8] = b"USE (";
    if !inside
        .get(..USE.len())
        .is_some_and(|u| u.eq_ignore_ascii_case(USE))
        || !command[..open].ends_with(b" ")
    {
        return Ok(None);
    }
    let use_open = open + USE.len();
    if closing(command, use_open) != Some(close - 1) {
        return Err(Malformed);
    }
    let attributes = atoms(&command[use_open + 1..close - 1])?
        .into_iter()
        .map(|atom| match atom.strip_prefix(b"\\") {
            Some(name) if !name.is_empty() => Ok(String::from_utf8_lossy(atom).into_owned()),
            _ => Err(Malformed),
        })
        .collect::<Result<_, _>>()?;
    let mut rewritten = command[..open - 1].to_vec();
    rewritten.extend_from_slice(&command[close + 1..]);
    Ok(Some((rewritten, Options::CreateUse(attributes))))
}

/// The word starting at `start`, up to a space or line end, and its end.
fn word(bytes: &[u8], start: usize) -> (&[u8], usize) {
    let rest = bytes.get(start..).unwrap_or_default();
    let len = rest
        .iter()
        .position(|&b| matches!(b, b' ' | b'\r' | b'\n'))
        .unwrap_or(rest.len());
    (&rest[..len], start + len)
}

/// The index of the `)` closing the `(` at `open`, counting nested parens;
/// quoted strings and literals are not expected inside options.
fn closing(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            b'"' | b'{' | b'\r' | b'\n' => return None,
            _ => {}
        }
    }
    None
}

/// The parenthesized group ending the command's last line, after its last
/// literal: the indexes of its `(` and `)`.
fn trailing_group(command: &[u8]) -> Option<(usize, usize)> {
    let start = last_text_start(command);
    let text = command.get(start..)?;
    let text = text.strip_suffix(b"\n")?;
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    if !text.ends_with(b")") {
        return None;
    }
    let close = text.len() - 1;
    let mut depth = 0usize;
    for i in (0..=close).rev() {
        match text[i] {
            b')' => depth += 1,
            b'(' => {
                depth -= 1;
                if depth == 0 {
                    return Some((start + i, start + close));
                }
            }
            b'"' => return None,
            _ => {}
        }
    }
    None
}

fn ends_with_ignore_case(bytes: &[u8], suffix: &[u8]) -> bool {
    bytes.len() >= suffix.len() && bytes[bytes.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// Space-separated atoms, without nested groups.
fn atoms(inside: &[u8]) -> Result<Vec<&[u8]>, Malformed> {
    let items = atoms_and_groups(inside)?;
    if items.iter().any(|item| item.starts_with(b"(")) {
        return Err(Malformed);
    }
    Ok(items)
}

/// Space-separated atoms and parenthesized groups (kept with their parens).
fn atoms_and_groups(inside: &[u8]) -> Result<Vec<&[u8]>, Malformed> {
    let mut items = Vec::new();
    let mut i = 0;
    while i < inside.len() {
        let end = if inside[i] == b'(' {
            closing(inside, i).ok_or(Malformed)? + 1
        } else {
            inside[i..]
                .iter()
                .position(|&b| b == b' ')
                .map_or(inside.len(), |n| i + n)
        };
        let item = &inside[i..end];
        if item.is_empty()
            || item
                .iter()
                .any(|&b| !b.is_ascii_graphic() && b != b' ' || b == b'"' || b == b'{')
        {
            return Err(Malformed);
        }
        items.push(item);
        i = end;
        match inside.get(i) {
            None => {}
            Some(b' ') if i + 1 < inside.len() => i += 1,
            Some(_) => return Err(Malformed),
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use imap_codec::imap_types::mailbox::Mailbox;
    use imap_codec::imap_types::search::SearchKey;

    use super::*;
    use crate::proto::{DecodeError, Decoded, decode_command};

    fn decode(bytes: &[u8]) -> Decoded<'_> {
        match decode_command(bytes) {
            Ok(decoded) => decoded,
            Err(err) => panic!("{}: {err}", String::from_utf8_lossy(bytes)),
        }
    }

    fn refused(bytes: &[u8]) -> DecodeError {
        match decode_command(bytes) {
            Ok(decoded) => panic!("{}: {decoded:?}", String::from_utf8_lossy(bytes)),
            Err(err) => err,
        }
    }

    #[test]
    fn append_utf8_literals() {
        // RFC 6855 §4.
        let decoded = decode(b"A1 APPEND INBOX (\\Seen) UTF8 (~{5+}\r\nh\xc3\xa8y!)\r\n");
        let CommandBody::Append { message, flags, .. } = &decoded.command.body else {
            panic!("{decoded:?}");
        };
        assert_eq!(flags.len(), 1);
        let bytes: &[u8] = match message {
            imap_codec::imap_types::extensions::binary::LiteralOrLiteral8::Literal8(l) => &l.data,
            other => panic!("{other:?}"),
        };
        assert_eq!(bytes, "hèy!".as_bytes());
        assert!(decode_command(b"A2 APPEND INBOX UTF8 (~{1+}\r\nx\r\n").is_err());
    }

    #[test]
    fn list_with_several_patterns() {
        // RFC 5258 §5, example 9.
        let decoded = decode(b"A01 LIST \"\" (\"INBOX\" Drafts \"Sent/%\") RETURN (CHILDREN)\r\n");
        let Options::List(options) = &decoded.options else {
            panic!("{decoded:?}");
        };
        assert_eq!(options.patterns, [&b"INBOX"[..], b"Drafts", b"Sent/%"]);
        assert_eq!(options.returns, [ListReturn::Children]);
        assert!(matches!(decoded.command.body, CommandBody::List { .. }));
        let plain = decode(b"A02 LIST \"\" \"(x\"\r\n");
        assert_eq!(plain.options, Options::None);
    }

    #[test]
    fn search_return() {
        // RFC 4731 §3.1.
        let decoded = decode(
            b"A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
        );
        assert_eq!(
            decoded.options,
            Options::SearchReturn(vec![SearchReturn::Min, SearchReturn::Count])
        );
        let CommandBody::Search {
            criteria,
            uid: false,
            ..
        } = decoded.command.body
        else {
            panic!()
        };
        assert_eq!(criteria.as_ref().len(), 3);
        assert_eq!(decoded.command.tag.inner(), "A282");
        let decoded =
            decode(b"A283 UID search return () CHARSET UTF-8 TEXT {6}\r\ncitt\xc3\xa0\r\n");
        assert_eq!(decoded.options, Options::SearchReturn(vec![]));
        let CommandBody::Search {
            criteria,
            uid: true,
            ..
        } = decoded.command.body
        else {
            panic!()
        };
        assert!(matches!(criteria.as_ref(), [SearchKey::Text(_)]));
        let decoded = decode(b"A284 SEARCH RETURN (ALL MAX SAVE) 1:5\r\n");
        assert_eq!(
            decoded.options,
            Options::SearchReturn(vec![
                SearchReturn::All,
                SearchReturn::Max,
                SearchReturn::Save
            ])
        );
        assert_eq!(decode(b"A285 SEARCH ALL\r\n").options, Options::None);
        // A search key named RETURN does not exist, so this is not ours.
        assert_eq!(
            refused(b"A286 SEARCH RETURN (PARTIAL 1:10) ALL\r\n").command,
            Some("SEARCH")
        );
        assert_eq!(
            refused(b"A287 SEARCH RETURN (MIN\r\n")
                .tag
                .map(|t| t.inner().to_string()),
            Some("A287".to_string())
        );
        assert!(decode_command(b"A288 SEARCH RETURN (MIN)\r\n").is_err());
    }

    #[test]
    fn list_extended() {
        // RFC 5258 §5, RFC 5819 §3, RFC 6154 §5.1.
        let decoded = decode(b"A02 LIST (SUBSCRIBED) \"\" \"*\"\r\n");
        assert_eq!(
            decoded.options,
            Options::List(ListOptions {
                selection: vec![ListSelect::Subscribed],
                returns: vec![],
                patterns: Vec::new(),
            })
        );
        assert!(matches!(decoded.command.body, CommandBody::List { .. }));
        let decoded = decode(b"A03 LIST () \"\" \"%\" RETURN (CHILDREN)\r\n");
        assert_eq!(
            decoded.options,
            Options::List(ListOptions {
                selection: vec![],
                returns: vec![ListReturn::Children],
                patterns: Vec::new(),
            })
        );
        let decoded = decode(
            b"A04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" % RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN) subscribed)\r\n",
        );
        assert_eq!(
            decoded.options,
            Options::List(ListOptions {
                selection: vec![ListSelect::Subscribed, ListSelect::RecursiveMatch],
                returns: vec![
                    ListReturn::SpecialUse,
                    ListReturn::Status(vec![
                        StatusDataItemName::Messages,
                        StatusDataItemName::Unseen
                    ]),
                    ListReturn::Subscribed,
                ],
                patterns: Vec::new(),
            })
        );
        // A pattern in a literal, the options around it.
        let decoded = decode(b"A05 LIST (SPECIAL-USE) \"\" {3}\r\n*)\" RETURN (CHILDREN)\r\n");
        let CommandBody::List {
            mailbox_wildcard, ..
        } = &decoded.command.body
        else {
            panic!()
        };
        let imap_codec::imap_types::mailbox::ListMailbox::String(pattern) = mailbox_wildcard else {
            panic!("{mailbox_wildcard:?}")
        };
        assert_eq!(pattern.as_ref(), b"*)\"");
        assert_eq!(
            decoded.options,
            Options::List(ListOptions {
                selection: vec![ListSelect::SpecialUse],
                returns: vec![ListReturn::Children],
                patterns: Vec::new(),
            })
        );
        // A literal that looks like options is left alone.
        let decoded = decode(b"A06 LIST \"\" {19}\r\nx RETURN (CHILDREN)\r\n");
        assert_eq!(decoded.options, Options::None);
        assert_eq!(decode(b"A07 LIST \"\" *\r\n").options, Options::None);
        assert!(decode_command(b"A08 LIST (FROB) \"\" *\r\n").is_err());
        assert!(decode_command(b"A11 LIST (RECURSIVEMATCH) \"\" *\r\n").is_err());
        assert!(decode_command(b"A12 LIST (REMOTE RECURSIVEMATCH) \"\" *\r\n").is_err());
        assert!(decode_command(b"A09 LIST \"\" * RETURN (STATUS)\r\n").is_err());
        assert!(decode_command(b"A10 LIST \"\" * RETURN (STATUS (FROB))\r\n").is_err());
    }

    #[test]
    fn create_special_use() {
        // RFC 6154 §5.3.
        let decoded = decode(b"t1 CREATE \"Important Messages\" (USE (\\Important))\r\n");
        assert_eq!(
            decoded.options,
            Options::CreateUse(vec!["\\Important".to_string()])
        );
        assert_eq!(
            decoded.command.body,
            CommandBody::Create {
                mailbox: Mailbox::try_from("Important Messages").expect("valid")
            }
        );
        let decoded = decode(b"t2 CREATE Sent (use (\\Sent \\Archive))\r\n");
        assert_eq!(
            decoded.options,
            Options::CreateUse(vec!["\\Sent".to_string(), "\\Archive".to_string()])
        );
        assert_eq!(decode(b"t3 CREATE Sent\r\n").options, Options::None);
        assert!(decode_command(b"t4 CREATE Sent (USE (Sent))\r\n").is_err());
        assert!(decode_command(b"t5 CREATE Sent (USE (\\Sent) X)\r\n").is_err());
    }

    #[test]
    fn sort_and_thread() {
        // RFC 5256 §4, RFC 5267 §4.
        let decoded = decode(b"A282 SORT (SUBJECT REVERSE DATE) UTF-8 SINCE 1-Feb-1994\r\n");
        let reversed = |key, reverse| SortCriterion { key, reverse };
        assert_eq!(
            decoded.options,
            Options::Sort {
                criteria: vec![
                    reversed(SortKey::Subject, false),
                    reversed(SortKey::Date, true)
                ],
                returns: None,
            }
        );
        let CommandBody::Search {
            charset: Some(charset),
            criteria,
            uid: false,
        } = &decoded.command.body
        else {
            panic!("{decoded:?}");
        };
        assert_eq!(charset.as_ref(), "UTF-8");
        assert!(matches!(criteria.as_ref(), [SearchKey::Since(_)]));
        let decoded = decode(b"A1 UID sort return (min count) (displayfrom) US-ASCII ALL\r\n");
        assert_eq!(
            decoded.options,
            Options::Sort {
                criteria: vec![reversed(SortKey::DisplayFrom, false)],
                returns: Some(vec![SearchReturn::Min, SearchReturn::Count]),
            }
        );
        assert!(matches!(
            decoded.command.body,
            CommandBody::Search { uid: true, .. }
        ));
        let decoded = decode(b"A2 UID THREAD REFERENCES UTF-8 SUBJECT {3}\r\nabc\r\n");
        assert_eq!(
            decoded.options,
            Options::Thread(ThreadAlgorithm::References)
        );
        for bad in [
            &b"A3 SORT (FROB) UTF-8 ALL\r\n"[..],
            b"A4 SORT () UTF-8 ALL\r\n",
            b"A5 SORT (REVERSE) UTF-8 ALL\r\n",
            b"A6 SORT (DATE) ALL\r\n",
            b"A7 SORT DATE UTF-8 ALL\r\n",
            b"A8 THREAD FROB UTF-8 ALL\r\n",
            b"A9 SORT RETURN (FROB) (DATE) UTF-8 ALL\r\n",
        ] {
            let error = refused(bad);
            assert!(error.tag.is_some(), "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(
            refused(b"A3 UID SORT (FROB) UTF-8 ALL\r\n").command,
            Some("UID SORT")
        );
    }

    #[test]
    fn multiappend() {
        // RFC 3502 §6.3.11.
        let decoded =
            decode(b"A003 APPEND saved {5}\r\nfirst (\\Seen) \"07-Feb-1994 21:52:25 -0800\" {6+}\r\nsecond ~{5}\r\nthird\r\n");
        let CommandBody::Append { message, .. } = &decoded.command.body else {
            panic!("{decoded:?}");
        };
        let LiteralOrLiteral8::Literal(first) = message else {
            panic!("{message:?}");
        };
        assert_eq!(first.data(), b"first");
        let Options::MoreMessages(more) = &decoded.options else {
            panic!("{decoded:?}");
        };
        assert_eq!(more.len(), 2);
        assert_eq!(more[0].message, b"second");
        assert_eq!(more[0].flags.len(), 1);
        assert!(more[0].date.is_some());
        assert_eq!(more[1].message, b"third");
        // A mailbox name in a literal is not a message.
        let decoded = decode(b"A4 APPEND {5}\r\nINBOX {2}\r\nhi\r\n");
        assert_eq!(decoded.options, Options::None);
        assert!(decode_command(b"A5 APPEND INBOX {2}\r\nhi junk\r\n").is_err());
        assert!(decode_command(b"A6 APPEND INBOX {2}\r\nhi {1}\r\nx junk\r\n").is_err());
    }

    #[test]
    fn text_after_the_last_literal() {
        assert_eq!(last_text_start(b"a NOOP\r\n"), 0);
        assert_eq!(last_text_start(b"a LOGIN {1}\r\nx {2+}\r\nyy\r\n"), 23);
        assert_eq!(last_text_start(b"a LOGIN {1}\r\nx {2+}\r\nyy z\r\n"), 23);
        // A truncated literal leaves the start where it was.
        assert_eq!(last_text_start(b"a LOGIN {1}\r\nx {9}\r\ny\r\n"), 14);
    }
}
