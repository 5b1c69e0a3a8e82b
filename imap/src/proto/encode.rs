//! Responses into bytes: the one place that writes what the server says.
//!
//! The bytes are Dovecot's wherever RFC 9051 leaves a choice, as clients
//! are known to read them: mailbox names as atoms when they can be,
//! STATUS items in a fixed order, CHILDINFO's name as an atom, a literal
//! for a string too long or too odd to quote. `utf8` says the client
//! enabled UTF8=ACCEPT or IMAP4rev2: mailbox names and strings then go out
//! as UTF-8, else names in modified UTF-7 (RFC 9051 §5.1.3).

use std::borrow::Cow;
use std::io::Write as _;
use std::num::NonZeroU32;

use imap_codec::imap_types::fetch::{Part as PartSpec, Section};
use postino_common::store::{Flags, Keywords};

use super::mailbox_name;
use super::render::{write_body_structure, write_envelope, write_string};
use super::response::{
    Capabilities, Code, Data, Esearch, FetchItem, List, MessageFlags, Resource, Response, Status,
    StatusItem, StatusKind, Thread,
};

/// Appends `response` to `out`, CRLF included.
pub fn encode(response: &Response<'_>, utf8: bool, out: &mut Vec<u8>) {
    match response {
        Response::Tagged(tag, status) => {
            out.extend_from_slice(tag.inner().as_bytes());
            write_status(out, status);
        }
        Response::Untagged(status) => {
            out.push(b'*');
            write_status(out, status);
        }
        Response::Continue(text) => {
            out.extend_from_slice(b"+ ");
            out.extend_from_slice(text.as_bytes());
        }
        Response::Data(data) => {
            out.extend_from_slice(b"* ");
            write_data(out, data, utf8);
        }
    }
    out.extend_from_slice(b"\r\n");
}

fn write_status(out: &mut Vec<u8>, status: &Status<'_>) {
    out.extend_from_slice(match status.kind {
        StatusKind::Ok => b" OK",
        StatusKind::No => b" NO",
        StatusKind::Bad => b" BAD",
        StatusKind::Bye => b" BYE",
    });
    if let Some(code) = &status.code {
        out.extend_from_slice(b" [");
        write_code(out, code);
        out.push(b']');
    }
    out.push(b' ');
    out.extend_from_slice(status.text.as_bytes());
}

fn write_code(out: &mut Vec<u8>, code: &Code<'_>) {
    let name: &str = match code {
        Code::AppendUid { uid_validity, uids } => {
            let _ = write!(out, "APPENDUID {uid_validity} ");
            write_set(out, uids);
            return;
        }
        Code::BadCharset(charsets) => {
            out.extend_from_slice(b"BADCHARSET (");
            write_joined(out, charsets.iter().copied());
            out.push(b')');
            return;
        }
        Code::Capability(capabilities) => {
            out.extend_from_slice(b"CAPABILITY ");
            write_capabilities(out, capabilities);
            return;
        }
        Code::CopyUid {
            uid_validity,
            from,
            to,
        } => {
            let _ = write!(out, "COPYUID {uid_validity} ");
            write_set(out, from);
            out.push(b' ');
            write_set(out, to);
            return;
        }
        Code::HighestModSeq(modseq) => {
            let _ = write!(out, "HIGHESTMODSEQ {modseq}");
            return;
        }
        Code::Modified(set) => {
            out.extend_from_slice(b"MODIFIED ");
            write_set(out, set);
            return;
        }
        Code::PermanentFlags { flags, keywords } => {
            let keywords = *keywords;
            out.extend_from_slice(b"PERMANENTFLAGS (");
            write_joined(
                out,
                flags
                    .names()
                    .chain(keywords.into_iter().flatten())
                    .chain(keywords.map(|_| "\\*")),
            );
            out.push(b')');
            return;
        }
        Code::UidNext(uid) => {
            let _ = write!(out, "UIDNEXT {uid}");
            return;
        }
        Code::UidValidity(uid_validity) => {
            let _ = write!(out, "UIDVALIDITY {uid_validity}");
            return;
        }
        Code::Unseen(seq) => {
            let _ = write!(out, "UNSEEN {seq}");
            return;
        }
        Code::AlreadyExists => "ALREADYEXISTS",
        Code::AuthenticationFailed => "AUTHENTICATIONFAILED",
        Code::Cannot => "CANNOT",
        Code::ClientBug => "CLIENTBUG",
        Code::Closed => "CLOSED",
        Code::ExpungeIssued => "EXPUNGEISSUED",
        Code::NonExistent => "NONEXISTENT",
        Code::NoPerm => "NOPERM",
        Code::OverQuota => "OVERQUOTA",
        Code::PrivacyRequired => "PRIVACYREQUIRED",
        Code::ReadOnly => "READ-ONLY",
        Code::ReadWrite => "READ-WRITE",
        Code::ServerBug => "SERVERBUG",
        Code::TooBig => "TOOBIG",
        Code::TryCreate => "TRYCREATE",
        Code::Unavailable => "UNAVAILABLE",
        Code::UnknownCte => "UNKNOWN-CTE",
        Code::UseAttr => "USEATTR",
    };
    out.extend_from_slice(name.as_bytes());
}

fn write_capabilities(out: &mut Vec<u8>, capabilities: &Capabilities) {
    out.extend_from_slice(b"IMAP4rev1 IMAP4rev2");
    if let Some(login) = capabilities.login {
        if login.starttls {
            out.extend_from_slice(b" STARTTLS");
        }
        out.extend_from_slice(if login.auth {
            b" AUTH=PLAIN SASL-IR"
        } else {
            b" LOGINDISABLED"
        });
    }
    out.extend_from_slice(
        b" LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN \
          SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS STATUS=SIZE ESEARCH \
          SEARCHRES QUOTA QUOTA=RES-STORAGE CONDSTORE QRESYNC UTF8=ACCEPT BINARY SORT \
          SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES MULTIAPPEND ACL \
          RIGHTS=texk",
    );
    let _ = write!(out, " APPENDLIMIT={}", capabilities.append_limit);
}

fn write_data(out: &mut Vec<u8>, data: &Data<'_>, utf8: bool) {
    match data {
        Data::Capability(capabilities) => {
            out.extend_from_slice(b"CAPABILITY ");
            write_capabilities(out, capabilities);
        }
        Data::Enabled(extensions) => {
            out.extend_from_slice(b"ENABLED");
            for extension in *extensions {
                out.push(b' ');
                out.extend_from_slice(extension.name().as_bytes());
            }
        }
        Data::Id(fields) => {
            out.extend_from_slice(b"ID ");
            if fields.is_empty() {
                out.extend_from_slice(b"NIL");
                return;
            }
            out.push(b'(');
            for (n, (field, value)) in fields.iter().enumerate() {
                if n > 0 {
                    out.push(b' ');
                }
                write_string(out, field.as_bytes(), false);
                out.push(b' ');
                write_string(out, value.as_bytes(), false);
            }
            out.push(b')');
        }
        Data::Namespace { other_users } => {
            out.extend_from_slice(b"NAMESPACE ((\"\" \"/\")) ((");
            write_string(out, format!("{other_users}/").as_bytes(), utf8);
            out.extend_from_slice(b" \"/\")) NIL");
        }
        Data::Flags(keywords) => {
            out.extend_from_slice(b"FLAGS ");
            write_mailbox_flags(out, keywords, false);
        }
        Data::Exists(n) => {
            let _ = write!(out, "{n} EXISTS");
        }
        Data::Recent(n) => {
            let _ = write!(out, "{n} RECENT");
        }
        Data::Expunge(seq) => {
            let _ = write!(out, "{seq} EXPUNGE");
        }
        Data::Vanished { earlier, uids } => {
            out.extend_from_slice(if *earlier {
                b"VANISHED (EARLIER) "
            } else {
                b"VANISHED "
            });
            write_set(out, uids);
        }
        Data::Fetch { seq, items } => {
            let _ = write!(out, "{seq} FETCH (");
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(b' ');
                }
                write_fetch_item(out, item, utf8);
            }
            out.push(b')');
        }
        Data::List(list) => write_list(out, list, utf8),
        Data::Status { mailbox, items } => {
            out.extend_from_slice(b"STATUS ");
            write_mailbox(out, mailbox, utf8);
            out.extend_from_slice(b" (");
            write_status_items(out, items);
            out.push(b')');
        }
        Data::Search { numbers, modseq } | Data::Sort { numbers, modseq } => {
            out.extend_from_slice(match data {
                Data::Sort { .. } => b"SORT",
                _ => b"SEARCH",
            });
            for number in *numbers {
                let _ = write!(out, " {number}");
            }
            if let Some(modseq) = modseq {
                let _ = write!(out, " (MODSEQ {modseq})");
            }
        }
        Data::Esearch(esearch) => write_esearch(out, esearch),
        Data::Thread(threads) => {
            out.extend_from_slice(b"THREAD");
            if !threads.is_empty() {
                out.push(b' ');
            }
            for thread in *threads {
                write_thread(out, thread);
            }
        }
        Data::QuotaRoot { mailbox, roots } => {
            out.extend_from_slice(b"QUOTAROOT ");
            write_mailbox(out, mailbox, utf8);
            for root in *roots {
                out.push(b' ');
                write_string(out, root.as_bytes(), false);
            }
        }
        Data::Acl { mailbox, entries } => {
            out.extend_from_slice(b"ACL ");
            write_mailbox(out, mailbox, utf8);
            for (identifier, rights) in *entries {
                out.push(b' ');
                write_astring(out, identifier, utf8);
                out.push(b' ');
                write_astring(out, rights, utf8);
            }
        }
        Data::ListRights {
            mailbox,
            identifier,
            required,
            optional,
        } => {
            out.extend_from_slice(b"LISTRIGHTS ");
            write_mailbox(out, mailbox, utf8);
            out.push(b' ');
            write_astring(out, identifier, utf8);
            out.push(b' ');
            write_astring(out, required, utf8);
            for rights in *optional {
                out.push(b' ');
                write_astring(out, rights, utf8);
            }
        }
        Data::MyRights { mailbox, rights } => {
            out.extend_from_slice(b"MYRIGHTS ");
            write_mailbox(out, mailbox, utf8);
            out.push(b' ');
            write_astring(out, rights, utf8);
        }
        Data::Quota { root, resources } => {
            out.extend_from_slice(b"QUOTA ");
            write_string(out, root.as_bytes(), false);
            out.extend_from_slice(b" (");
            for (n, resource) in resources.iter().enumerate() {
                if n > 0 {
                    out.push(b' ');
                }
                match resource {
                    Resource::Storage { used, limit } => {
                        let _ = write!(out, "STORAGE {used} {limit}");
                    }
                }
            }
            out.push(b')');
        }
    }
}

/// The system flags and `keywords`, with `\*` when `any` (new keywords may
/// be made).
fn write_mailbox_flags(out: &mut Vec<u8>, keywords: &Keywords, any: bool) {
    out.push(b'(');
    write_joined(
        out,
        Flags::ALL
            .names()
            .chain(keywords)
            .chain(any.then_some("\\*")),
    );
    out.push(b')');
}

fn write_message_flags(out: &mut Vec<u8>, flags: &MessageFlags<'_>) {
    out.push(b'(');
    write_joined(
        out,
        flags
            .flags
            .names()
            .chain(flags.recent.then_some("\\Recent"))
            .chain(flags.keywords),
    );
    out.push(b')');
}

fn write_joined<'a>(out: &mut Vec<u8>, words: impl Iterator<Item = &'a str>) {
    for (n, word) in words.enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(word.as_bytes());
    }
}

fn write_list(out: &mut Vec<u8>, list: &List<'_>, utf8: bool) {
    out.extend_from_slice(if list.lsub { b"LSUB (" } else { b"LIST (" });
    write_joined(out, list.attributes.iter().map(|a| a.name()));
    out.extend_from_slice(b") \"/\" ");
    write_mailbox(out, list.mailbox, utf8);
    if list.subscribed_child {
        out.extend_from_slice(b" (CHILDINFO (\"SUBSCRIBED\"))");
    }
}

/// Where Dovecot puts an item in a STATUS response.
fn status_rank(item: &StatusItem) -> u8 {
    match item {
        StatusItem::Messages(_) => 0,
        StatusItem::Recent(_) => 1,
        StatusItem::UidNext(_) => 2,
        StatusItem::UidValidity(_) => 3,
        StatusItem::Unseen(_) => 4,
        StatusItem::HighestModSeq(_) => 5,
        StatusItem::Size(_) => 6,
        StatusItem::Deleted(_) => 7,
        StatusItem::DeletedStorage(_) => 8,
    }
}

fn write_status_items(out: &mut Vec<u8>, items: &[StatusItem]) {
    let ranked = (0..=8).filter_map(|rank| items.iter().find(|i| status_rank(i) == rank));
    for (n, item) in ranked.enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        let _ = match item {
            StatusItem::Messages(n) => write!(out, "MESSAGES {n}"),
            StatusItem::Recent(n) => write!(out, "RECENT {n}"),
            StatusItem::UidNext(n) => write!(out, "UIDNEXT {n}"),
            StatusItem::UidValidity(n) => write!(out, "UIDVALIDITY {n}"),
            StatusItem::Unseen(n) => write!(out, "UNSEEN {n}"),
            StatusItem::HighestModSeq(n) => write!(out, "HIGHESTMODSEQ {n}"),
            StatusItem::Size(n) => write!(out, "SIZE {n}"),
            StatusItem::Deleted(n) => write!(out, "DELETED {n}"),
            StatusItem::DeletedStorage(n) => write!(out, "DELETED-STORAGE {n}"),
        };
    }
}

/// A thread in parentheses (RFC 5256 §4): a message followed by its only
/// reply's chain, or by each of its replies in parentheses; a dummy is
/// only its children, each in parentheses.
fn write_thread(out: &mut Vec<u8>, thread: &Thread) {
    out.push(b'(');
    write_thread_members(out, thread);
    out.push(b')');
}

fn write_thread_members(out: &mut Vec<u8>, thread: &Thread) {
    if let Some(number) = thread.number {
        let _ = write!(out, "{number}");
    }
    match (thread.number, thread.children.as_slice()) {
        (_, []) => {}
        (Some(_), [only]) => {
            out.push(b' ');
            write_thread_members(out, only);
        }
        (number, children) => {
            if number.is_some() {
                out.push(b' ');
            }
            for child in children {
                write_thread(out, child);
            }
        }
    }
}

/// `ESEARCH [(TAG "t")] [UID] [MIN n] [MAX n] [ALL set] [COUNT n] [MODSEQ n]`.
fn write_esearch(out: &mut Vec<u8>, esearch: &Esearch<'_>) {
    out.extend_from_slice(b"ESEARCH");
    // A tag has no `"` or `\`, so it needs no escaping when quoted.
    if let Some(tag) = esearch.tag {
        let _ = write!(out, " (TAG \"{}\")", tag.inner());
    }
    if esearch.uid {
        out.extend_from_slice(b" UID");
    }
    if let Some(min) = esearch.min {
        let _ = write!(out, " MIN {min}");
    }
    if let Some(max) = esearch.max {
        let _ = write!(out, " MAX {max}");
    }
    if let Some(all) = esearch.all.filter(|all| !all.is_empty()) {
        out.extend_from_slice(b" ALL ");
        write_set(out, all);
    }
    if let Some(count) = esearch.count {
        let _ = write!(out, " COUNT {count}");
    }
    if let Some(modseq) = esearch.modseq {
        let _ = write!(out, " MODSEQ {modseq}");
    }
}

/// Writes numbers as a sequence set, runs of consecutive ones as ranges
/// (`1:3,7`).
pub(super) fn write_set(out: &mut Vec<u8>, numbers: &[u32]) {
    let runs = numbers.chunk_by(|&a, &b| a.checked_add(1) == Some(b));
    for (n, run) in runs.enumerate() {
        if n > 0 {
            out.push(b',');
        }
        let _ = match run {
            [first, .., last] => write!(out, "{first}:{last}"),
            [one] => write!(out, "{one}"),
            [] => Ok(()),
        };
    }
}

/// A mailbox name as the client reads it: as an atom when it can be one
/// (`INBOX`, `Sent`), as Dovecot writes it, else as a quoted string or
/// literal.
fn write_mailbox(out: &mut Vec<u8>, name: &str, utf8: bool) {
    let name = match utf8 {
        true => Cow::Borrowed(name),
        false => Cow::Owned(mailbox_name::encode(name)),
    };
    write_astring(out, &name, utf8);
}

/// Text where an astring goes: bare when it can be, else a string.
fn write_astring(out: &mut Vec<u8>, text: &str, utf8: bool) {
    if is_astring_atom(text) {
        out.extend_from_slice(text.as_bytes());
    } else {
        write_string(out, text.as_bytes(), utf8);
    }
}

/// True when `text` reads as itself written bare where an astring goes
/// (RFC 9051 §9: 1*ASTRING-CHAR), and not as NIL.
fn is_astring_atom(text: &str) -> bool {
    let astring_char = |b: u8| {
        (0x21..0x7f).contains(&b) && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\')
    };
    !text.is_empty() && text.bytes().all(astring_char) && !text.eq_ignore_ascii_case("NIL")
}

fn write_fetch_item(out: &mut Vec<u8>, item: &FetchItem<'_>, utf8: bool) {
    match item {
        FetchItem::Uid(uid) => {
            let _ = write!(out, "UID {uid}");
        }
        FetchItem::Flags(flags) => {
            out.extend_from_slice(b"FLAGS ");
            write_message_flags(out, flags);
        }
        FetchItem::InternalDate(seconds) => {
            let date = chrono::DateTime::from_timestamp(*seconds, 0).unwrap_or_default();
            let _ = write!(
                out,
                "INTERNALDATE \"{}\"",
                date.format("%d-%b-%Y %H:%M:%S +0000")
            );
        }
        FetchItem::Rfc822Size(size) => {
            let _ = write!(out, "RFC822.SIZE {size}");
        }
        FetchItem::ModSeq(modseq) => {
            let _ = write!(out, "MODSEQ ({modseq})");
        }
        FetchItem::Envelope(envelope) => {
            out.extend_from_slice(b"ENVELOPE ");
            match envelope {
                Some(envelope) => write_envelope(out, envelope, utf8),
                None => write_envelope(out, &Default::default(), utf8),
            }
        }
        FetchItem::Body(part) | FetchItem::BodyStructure(part) => {
            let extended = matches!(item, FetchItem::BodyStructure(_));
            out.extend_from_slice(if extended {
                b"BODYSTRUCTURE "
            } else {
                b"BODY "
            });
            match part {
                Some(part) => write_body_structure(out, part, extended, utf8),
                None => out.extend_from_slice(b"NIL"),
            }
        }
        FetchItem::Section {
            section,
            partial,
            data,
        } => {
            out.extend_from_slice(b"BODY[");
            write_section_spec(out, *section);
            out.push(b']');
            write_partial(out, data, *partial, false);
        }
        FetchItem::Binary {
            part,
            partial,
            data,
        } => {
            out.extend_from_slice(b"BINARY[");
            write_path(out, part);
            out.push(b']');
            match data {
                Some(data) => write_partial(out, data, *partial, true),
                None => out.extend_from_slice(b" NIL"),
            }
        }
        FetchItem::BinarySize { part, size } => {
            out.extend_from_slice(b"BINARY.SIZE[");
            write_path(out, part);
            out.push(b']');
            let _ = match size {
                Some(size) => write!(out, " {size}"),
                None => write!(out, " NIL"),
            };
        }
        FetchItem::Rfc822(data) => {
            out.extend_from_slice(b"RFC822");
            write_partial(out, data, None, false);
        }
        FetchItem::Rfc822Header(data) => {
            out.extend_from_slice(b"RFC822.HEADER");
            write_partial(out, data, None, false);
        }
        FetchItem::Rfc822Text(data) => {
            out.extend_from_slice(b"RFC822.TEXT");
            write_partial(out, data, None, false);
        }
    }
}

/// Writes a section specifier as the client sent it, field names in
/// capitals: `1.2.HEADER.FIELDS (A B)`.
fn write_section_spec(out: &mut Vec<u8>, section: Option<&Section<'_>>) {
    let Some(section) = section else { return };
    let (part, text): (Option<&PartSpec>, &str) = match section {
        Section::Part(part) => (Some(part), ""),
        Section::Header(part) => (part.as_ref(), "HEADER"),
        Section::HeaderFields(part, _) => (part.as_ref(), "HEADER.FIELDS"),
        Section::HeaderFieldsNot(part, _) => (part.as_ref(), "HEADER.FIELDS.NOT"),
        Section::Text(part) => (part.as_ref(), "TEXT"),
        Section::Mime(part) => (Some(part), "MIME"),
    };
    if let Some(part) = part {
        write_path(out, part.0.as_ref());
        if !text.is_empty() {
            out.push(b'.');
        }
    }
    out.extend_from_slice(text.as_bytes());
    if let Section::HeaderFields(_, fields) | Section::HeaderFieldsNot(_, fields) = section {
        out.extend_from_slice(b" (");
        for (n, field) in fields.as_ref().iter().enumerate() {
            if n > 0 {
                out.push(b' ');
            }
            // In capitals, as Dovecot echoes them; an atom stays an atom
            // (`(SUBJECT FROM)`).
            let name = field.as_ref().to_ascii_uppercase();
            let atom = !name.is_empty()
                && name
                    .iter()
                    .all(|&b| b.is_ascii_graphic() && !b"(){%*\"\\]".contains(&b));
            if atom {
                out.extend_from_slice(&name);
            } else {
                write_string(out, &name, false);
            }
        }
        out.push(b')');
    }
}

fn write_path(out: &mut Vec<u8>, path: &[NonZeroU32]) {
    for (n, number) in path.iter().enumerate() {
        if n > 0 {
            out.push(b'.');
        }
        let _ = write!(out, "{number}");
    }
}

/// Writes `<origin> {n}\r\n<bytes>`, the origin only for a partial. A
/// literal may not hold NUL (RFC 9051 `CHAR8`): like Dovecot, a NUL goes
/// out as 0x80, except in BINARY, which sends a literal8 (`~{n}`) instead.
fn write_partial(out: &mut Vec<u8>, data: &[u8], partial: Option<(u32, NonZeroU32)>, binary: bool) {
    let data = match partial {
        Some((origin, length)) => {
            let _ = write!(out, "<{origin}>");
            let start = (origin as usize).min(data.len());
            let end = start.saturating_add(length.get() as usize).min(data.len());
            &data[start..end]
        }
        None => data,
    };
    let has_nul = data.contains(&0);
    if binary && has_nul {
        let _ = write!(out, " ~{{{}}}\r\n", data.len());
        out.extend_from_slice(data);
    } else {
        let _ = write!(out, " {{{}}}\r\n", data.len());
        if has_nul {
            out.extend(data.iter().map(|&b| if b == 0 { 0x80 } else { b }));
        } else {
            out.extend_from_slice(data);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use imap_codec::imap_types::core::{AString, Tag, Vec1};
    use imap_codec::imap_types::fetch::{Part, Section};
    use postino_common::mime;
    use postino_common::store::SpecialUse;

    use super::*;
    use crate::proto::response::{Attribute, Extension, LoginCapabilities};

    fn keywords(text: &str) -> Keywords {
        text.split_whitespace().collect()
    }

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("non-zero")
    }

    fn encoded(response: Response<'_>, utf8: bool) -> String {
        let mut out = Vec::new();
        encode(&response, utf8, &mut out);
        String::from_utf8(out).expect("UTF-8")
    }

    fn data(data: Data<'_>) -> String {
        encoded(Response::Data(data), false)
    }

    fn untagged(status: Status<'_>) -> String {
        encoded(Response::Untagged(status), false)
    }

    fn fetch(items: &[FetchItem<'_>]) -> String {
        data(Data::Fetch { seq: 7, items })
    }

    fn fetch_bytes(items: &[FetchItem<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(
            &Response::Data(Data::Fetch { seq: 7, items }),
            false,
            &mut out,
        );
        out
    }

    #[test]
    fn tagged_and_untagged_status() {
        let tag = Tag::try_from("A003").expect("valid");
        let done = Status::no("Message too large").code(Code::TooBig);
        assert_eq!(
            encoded(Response::Tagged(&tag, done), false),
            "A003 NO [TOOBIG] Message too large\r\n"
        );
        assert_eq!(
            untagged(Status::bad("Command line too long")),
            "* BAD Command line too long\r\n"
        );
        assert_eq!(
            untagged(Status::bye("Server shutting down")),
            "* BYE Server shutting down\r\n"
        );
        assert_eq!(
            encoded(Response::Continue("Ready for literal data"), false),
            "+ Ready for literal data\r\n"
        );
        // An empty SASL challenge.
        assert_eq!(encoded(Response::Continue(""), false), "+ \r\n");
    }

    #[test]
    fn response_codes() {
        let with = |code| untagged(Status::ok("t").code(code));
        assert_eq!(
            with(Code::AppendUid {
                uid_validity: 38505,
                uids: Cow::Borrowed(&[3955])
            }),
            "* OK [APPENDUID 38505 3955] t\r\n"
        );
        // MULTIAPPEND (RFC 3502 §6.3.11 with RFC 4315 §3).
        assert_eq!(
            with(Code::AppendUid {
                uid_validity: 38505,
                uids: Cow::Borrowed(&[3955, 3956, 3957])
            }),
            "* OK [APPENDUID 38505 3955:3957] t\r\n"
        );
        assert_eq!(
            with(Code::CopyUid {
                uid_validity: 38505,
                from: Cow::Borrowed(&[304, 319, 320, 321]),
                to: Cow::Borrowed(&[3956, 3957, 3958, 3959]),
            }),
            "* OK [COPYUID 38505 304,319:321 3956:3959] t\r\n"
        );
        assert_eq!(
            with(Code::Modified(Cow::Borrowed(&[7, 9]))),
            "* OK [MODIFIED 7,9] t\r\n"
        );
        assert_eq!(
            with(Code::BadCharset(&["UTF-8", "US-ASCII"])),
            "* OK [BADCHARSET (UTF-8 US-ASCII)] t\r\n"
        );
        let forwarded_work = keywords("$Forwarded Work");
        assert_eq!(
            with(Code::PermanentFlags {
                flags: Flags::ALL,
                keywords: Some(&forwarded_work)
            }),
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \
             $Forwarded Work \\*)] t\r\n"
        );
        assert_eq!(
            with(Code::PermanentFlags {
                flags: Flags::default(),
                keywords: None
            }),
            "* OK [PERMANENTFLAGS ()] t\r\n"
        );
        // Rights to `\Seen` and `\Deleted` only (RFC 4314 §4).
        assert_eq!(
            with(Code::PermanentFlags {
                flags: Flags::SEEN | Flags::DELETED,
                keywords: None
            }),
            "* OK [PERMANENTFLAGS (\\Deleted \\Seen)] t\r\n"
        );
        assert_eq!(
            with(Code::HighestModSeq(90060115205545359)),
            "* OK [HIGHESTMODSEQ 90060115205545359] t\r\n"
        );
        assert_eq!(
            with(Code::UidValidity(3857529045)),
            "* OK [UIDVALIDITY 3857529045] t\r\n"
        );
        assert_eq!(with(Code::UidNext(4392)), "* OK [UIDNEXT 4392] t\r\n");
        assert_eq!(with(Code::Unseen(12)), "* OK [UNSEEN 12] t\r\n");
        for (code, name) in [
            (Code::AlreadyExists, "ALREADYEXISTS"),
            (Code::AuthenticationFailed, "AUTHENTICATIONFAILED"),
            (Code::Cannot, "CANNOT"),
            (Code::ClientBug, "CLIENTBUG"),
            (Code::Closed, "CLOSED"),
            (Code::ExpungeIssued, "EXPUNGEISSUED"),
            (Code::NonExistent, "NONEXISTENT"),
            (Code::NoPerm, "NOPERM"),
            (Code::OverQuota, "OVERQUOTA"),
            (Code::PrivacyRequired, "PRIVACYREQUIRED"),
            (Code::ReadOnly, "READ-ONLY"),
            (Code::ReadWrite, "READ-WRITE"),
            (Code::ServerBug, "SERVERBUG"),
            (Code::TooBig, "TOOBIG"),
            (Code::TryCreate, "TRYCREATE"),
            (Code::Unavailable, "UNAVAILABLE"),
            (Code::UnknownCte, "UNKNOWN-CTE"),
            (Code::UseAttr, "USEATTR"),
        ] {
            assert_eq!(with(code), format!("* OK [{name}] t\r\n"));
        }
    }

    #[test]
    fn capabilities_before_and_after_login() {
        let before = Capabilities {
            login: Some(LoginCapabilities {
                starttls: true,
                auth: false,
            }),
            append_limit: 1024,
        };
        let greeting = untagged(Status::ok("Postino ready").code(Code::Capability(before)));
        assert!(
            greeting.starts_with(
                "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LOGINDISABLED LITERAL+ ID "
            ),
            "{greeting}"
        );
        assert!(greeting.ends_with(" ACL RIGHTS=texk APPENDLIMIT=1024] Postino ready\r\n"));
        let tls = Capabilities {
            login: Some(LoginCapabilities {
                starttls: false,
                auth: true,
            }),
            ..before
        };
        assert!(
            data(Data::Capability(tls))
                .starts_with("* CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=PLAIN SASL-IR LITERAL+ ")
        );
        let after = Capabilities {
            login: None,
            ..before
        };
        assert_eq!(
            data(Data::Capability(after)),
            "* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT \
             UIDPLUS MOVE CHILDREN SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS \
             STATUS=SIZE ESEARCH SEARCHRES QUOTA QUOTA=RES-STORAGE CONDSTORE QRESYNC \
             UTF8=ACCEPT BINARY SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT \
             THREAD=REFERENCES MULTIAPPEND ACL RIGHTS=texk APPENDLIMIT=1024\r\n"
        );
    }

    #[test]
    fn session_data() {
        assert_eq!(
            data(Data::Enabled(&[Extension::CondStore, Extension::Imap4Rev2])),
            "* ENABLED CONDSTORE IMAP4rev2\r\n"
        );
        assert_eq!(data(Data::Enabled(&[])), "* ENABLED\r\n");
        assert_eq!(
            data(Data::Id(&[("name", "Postino"), ("vendor", "Postino")])),
            "* ID (\"name\" \"Postino\" \"vendor\" \"Postino\")\r\n"
        );
        assert_eq!(data(Data::Id(&[])), "* ID NIL\r\n");
        assert_eq!(
            data(Data::Namespace {
                other_users: "Condivise"
            }),
            "* NAMESPACE ((\"\" \"/\")) ((\"Condivise/\" \"/\")) NIL\r\n"
        );
    }

    #[test]
    fn acl_data() {
        // RFC 4314 §3.6-3.8.
        let entries = [
            ("protocollo@c.it".to_string(), "lrswipkxtea".to_string()),
            ("anna rossi".to_string(), "lrs".to_string()),
        ];
        assert_eq!(
            data(Data::Acl {
                mailbox: "Condivise/protocollo@c.it/INBOX",
                entries: &entries
            }),
            "* ACL Condivise/protocollo@c.it/INBOX protocollo@c.it lrswipkxtea \"anna rossi\" lrs\r\n"
        );
        let optional = ["l".to_string(), "r".to_string()];
        assert_eq!(
            data(Data::ListRights {
                mailbox: "INBOX",
                identifier: "anna@c.it",
                required: "",
                optional: &optional
            }),
            "* LISTRIGHTS INBOX anna@c.it \"\" l r\r\n"
        );
        assert_eq!(
            data(Data::MyRights {
                mailbox: "Lavoro/Città",
                rights: "lr"
            }),
            "* MYRIGHTS Lavoro/Citt&AOA- lr\r\n"
        );
    }

    #[test]
    fn mailbox_data() {
        // RFC 3501 §6.3.1.
        assert_eq!(
            data(Data::Flags(&Keywords::default())),
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
        );
        assert_eq!(
            data(Data::Flags(&keywords("$Junk"))),
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk)\r\n"
        );
        assert_eq!(data(Data::Exists(172)), "* 172 EXISTS\r\n");
        assert_eq!(data(Data::Recent(1)), "* 1 RECENT\r\n");
        assert_eq!(data(Data::Expunge(3)), "* 3 EXPUNGE\r\n");
        assert_eq!(
            data(Data::Vanished {
                earlier: true,
                uids: &[41, 43, 44, 45, 116],
            }),
            "* VANISHED (EARLIER) 41,43:45,116\r\n"
        );
        assert_eq!(
            data(Data::Vanished {
                earlier: false,
                uids: &[405],
            }),
            "* VANISHED 405\r\n"
        );
    }

    #[test]
    fn mailbox_names_are_atoms_where_they_can_be() {
        let name = |name: &str, utf8: bool| {
            let status = Data::Status {
                mailbox: name,
                items: &[StatusItem::Messages(0)],
            };
            let line = encoded(Response::Data(status), utf8);
            line["* STATUS ".len()..line.len() - " (MESSAGES 0)\r\n".len()].to_string()
        };
        assert_eq!(name("INBOX", false), "INBOX");
        assert_eq!(name("Lavoro/2026]", false), "Lavoro/2026]");
        assert_eq!(name("Atti (2026)", false), "\"Atti (2026)\"");
        assert_eq!(name("50%", false), "\"50%\"");
        assert_eq!(name("nil", false), "\"nil\"");
        assert_eq!(name("", false), "\"\"");
        assert_eq!(name("Attività", false), "Attivit&AOA-");
        assert_eq!(name("Attività", true), "\"Attività\"");
    }

    #[test]
    fn list_and_lsub() {
        let list = |list| data(Data::List(list));
        assert_eq!(
            list(List {
                lsub: false,
                attributes: &[
                    Attribute::HasNoChildren,
                    Attribute::SpecialUse(SpecialUse::Sent)
                ],
                mailbox: "Sent",
                subscribed_child: false,
            }),
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
        );
        // RFC 5258 §5, example 9, with CHILDINFO's name as an atom.
        assert_eq!(
            list(List {
                lsub: false,
                attributes: &[Attribute::HasChildren],
                mailbox: "Foo",
                subscribed_child: true,
            }),
            "* LIST (\\HasChildren) \"/\" Foo (CHILDINFO (\"SUBSCRIBED\"))\r\n"
        );
        assert_eq!(
            list(List {
                lsub: true,
                attributes: &[Attribute::NoSelect],
                mailbox: "",
                subscribed_child: false,
            }),
            "* LSUB (\\Noselect) \"/\" \"\"\r\n"
        );
        assert_eq!(
            list(List {
                lsub: false,
                attributes: &[],
                mailbox: "INBOX",
                subscribed_child: false,
            }),
            "* LIST () \"/\" INBOX\r\n"
        );
        let all = [
            Attribute::Subscribed,
            Attribute::NonExistent,
            Attribute::NoSelect,
            Attribute::HasChildren,
        ];
        assert_eq!(
            list(List {
                lsub: false,
                attributes: &all,
                mailbox: "a",
                subscribed_child: false,
            }),
            "* LIST (\\Subscribed \\NonExistent \\Noselect \\HasChildren) \"/\" a\r\n"
        );
    }

    #[test]
    fn status_items_in_dovecot_order_once() {
        assert_eq!(
            data(Data::Status {
                mailbox: "INBOX",
                items: &[
                    StatusItem::DeletedStorage(10),
                    StatusItem::Size(300),
                    StatusItem::Unseen(2),
                    StatusItem::Messages(17),
                    StatusItem::Deleted(1),
                    StatusItem::UidValidity(9),
                    StatusItem::HighestModSeq(41),
                    StatusItem::UidNext(44),
                    StatusItem::Recent(0),
                    StatusItem::Messages(17),
                ],
            }),
            "* STATUS INBOX (MESSAGES 17 RECENT 0 UIDNEXT 44 UIDVALIDITY 9 UNSEEN 2 \
             HIGHESTMODSEQ 41 SIZE 300 DELETED 1 DELETED-STORAGE 10)\r\n"
        );
    }

    #[test]
    fn search_and_esearch() {
        assert_eq!(
            data(Data::Search {
                numbers: &[2, 84, 882],
                modseq: None,
            }),
            "* SEARCH 2 84 882\r\n"
        );
        assert_eq!(
            data(Data::Search {
                numbers: &[],
                modseq: None,
            }),
            "* SEARCH\r\n"
        );
        // RFC 7162 §3.1.5.
        assert_eq!(
            data(Data::Search {
                numbers: &[2, 5, 6],
                modseq: Some(917162500),
            }),
            "* SEARCH 2 5 6 (MODSEQ 917162500)\r\n"
        );
        // RFC 4731 §3.1 and RFC 7162 §3.1.5.
        let a282 = Tag::try_from("A282").expect("valid");
        let esearch = |esearch| data(Data::Esearch(esearch));
        assert_eq!(
            esearch(Esearch {
                tag: Some(&a282),
                min: Some(2),
                count: Some(3),
                ..Esearch::default()
            }),
            "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n"
        );
        assert_eq!(
            esearch(Esearch {
                tag: Some(&a282),
                all: Some(&[2, 10, 11]),
                ..Esearch::default()
            }),
            "* ESEARCH (TAG \"A282\") ALL 2,10:11\r\n"
        );
        assert_eq!(
            esearch(Esearch {
                tag: Some(&a282),
                uid: true,
                min: Some(1),
                max: Some(5),
                all: Some(&[1, 2, 3, 5]),
                count: Some(4),
                modseq: Some(1236),
            }),
            "* ESEARCH (TAG \"A282\") UID MIN 1 MAX 5 ALL 1:3,5 COUNT 4 MODSEQ 1236\r\n"
        );
        // No match: ALL is left out.
        assert_eq!(
            esearch(Esearch {
                tag: Some(&a282),
                uid: true,
                all: Some(&[]),
                count: Some(0),
                ..Esearch::default()
            }),
            "* ESEARCH (TAG \"A282\") UID COUNT 0\r\n"
        );
    }

    #[test]
    fn quota() {
        assert_eq!(
            data(Data::QuotaRoot {
                mailbox: "INBOX",
                roots: &["", "comune.example.it"],
            }),
            "* QUOTAROOT INBOX \"\" \"comune.example.it\"\r\n"
        );
        assert_eq!(
            data(Data::Quota {
                root: "",
                resources: &[Resource::Storage {
                    used: 10,
                    limit: 512
                }],
            }),
            "* QUOTA \"\" (STORAGE 10 512)\r\n"
        );
    }

    #[test]
    fn fetch_of_metadata() {
        let flags = MessageFlags {
            flags: Flags::SEEN | Flags::ANSWERED,
            recent: true,
            keywords: &keywords("$Forwarded Work"),
        };
        assert_eq!(
            fetch(&[
                FetchItem::Uid(4827313),
                FetchItem::Flags(flags),
                FetchItem::InternalDate(1_790_000_000),
                FetchItem::Rfc822Size(44827),
                FetchItem::ModSeq(12121231000),
            ]),
            "* 7 FETCH (UID 4827313 FLAGS (\\Answered \\Seen \\Recent $Forwarded Work) \
             INTERNALDATE \"21-Sep-2026 14:13:20 +0000\" RFC822.SIZE 44827 \
             MODSEQ (12121231000))\r\n"
        );
        let none = MessageFlags {
            flags: Flags::default(),
            recent: false,
            keywords: &Keywords::default(),
        };
        assert_eq!(
            fetch(&[FetchItem::Flags(none), FetchItem::InternalDate(0)]),
            "* 7 FETCH (FLAGS () INTERNALDATE \"01-Jan-1970 00:00:00 +0000\")\r\n"
        );
    }

    #[test]
    fn fetch_of_descriptions() {
        assert_eq!(
            fetch(&[
                FetchItem::Envelope(None),
                FetchItem::Body(None),
                FetchItem::BodyStructure(None),
            ]),
            "* 7 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) BODY NIL \
             BODYSTRUCTURE NIL)\r\n"
        );
        let parsed = mime::parse(b"Subject: hi\r\n\r\nhello\r\n");
        assert_eq!(
            fetch(&[
                FetchItem::Envelope(Some(&parsed.envelope)),
                FetchItem::Body(Some(&parsed.structure)),
                FetchItem::BodyStructure(Some(&parsed.structure)),
            ]),
            "* 7 FETCH (ENVELOPE (NIL \"hi\" NIL NIL NIL NIL NIL NIL NIL NIL) \
             BODY (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1) \
             BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1 \
             NIL NIL NIL NIL))\r\n"
        );
    }

    #[test]
    fn fetch_of_sections() {
        let header_fields = Section::HeaderFields(
            Some(Part(Vec1::from(nz(2)))),
            Vec1::try_from(vec![
                AString::try_from("subject").expect("valid"),
                AString::try_from("x(y)").expect("valid"),
            ])
            .expect("non-empty"),
        );
        assert_eq!(
            fetch_bytes(&[
                FetchItem::Section {
                    section: None,
                    partial: None,
                    data: Cow::Borrowed(b"Subject: hi\r\n\r\nhello\r\n"),
                },
                FetchItem::Section {
                    section: Some(&header_fields),
                    partial: Some((3, nz(4))),
                    data: Cow::Borrowed(b"hello\0world"),
                },
                FetchItem::Section {
                    section: Some(&Section::Mime(Part(Vec1::from(nz(1))))),
                    partial: Some((99, nz(4))),
                    data: Cow::Borrowed(b"short"),
                },
            ]),
            b"* 7 FETCH (BODY[] {22}\r\nSubject: hi\r\n\r\nhello\r\n \
             BODY[2.HEADER.FIELDS (SUBJECT \"X(Y)\")]<3> {4}\r\nlo\x80w \
             BODY[1.MIME]<99> {0}\r\n)\r\n"
        );
        assert_eq!(
            fetch_bytes(&[
                FetchItem::Section {
                    section: Some(&Section::Text(None)),
                    partial: None,
                    data: Cow::Borrowed(b""),
                },
                FetchItem::Rfc822(Cow::Borrowed(b"a\0b")),
                FetchItem::Rfc822Header(Cow::Borrowed(b"h")),
                FetchItem::Rfc822Text(Cow::Borrowed(b"t")),
            ]),
            b"* 7 FETCH (BODY[TEXT] {0}\r\n RFC822 {3}\r\na\x80b RFC822.HEADER {1}\r\nh \
             RFC822.TEXT {1}\r\nt)\r\n"
        );
    }

    #[test]
    fn fetch_of_binary() {
        let path = [nz(1), nz(2)];
        let items = [
            FetchItem::Binary {
                part: &path,
                partial: None,
                data: Some(Cow::Borrowed(b"a\0")),
            },
            FetchItem::Binary {
                part: &path[..1],
                partial: Some((1, nz(2))),
                data: Some(Cow::Borrowed(b"abc")),
            },
            FetchItem::Binary {
                part: &[],
                partial: None,
                data: None,
            },
            FetchItem::BinarySize {
                part: &path,
                size: Some(2),
            },
            FetchItem::BinarySize {
                part: &path,
                size: None,
            },
        ];
        assert_eq!(
            fetch_bytes(&items),
            b"* 7 FETCH (BINARY[1.2] ~{2}\r\na\0 BINARY[1]<1> {2}\r\nbc BINARY[] NIL \
              BINARY.SIZE[1.2] 2 BINARY.SIZE[1.2] NIL)\r\n"
        );
    }

    #[test]
    fn sets_run_into_ranges() {
        let set = |numbers: &[u32]| {
            let mut out = Vec::new();
            write_set(&mut out, numbers);
            String::from_utf8(out).expect("ASCII")
        };
        assert_eq!(set(&[]), "");
        assert_eq!(set(&[5]), "5");
        assert_eq!(set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(set(&[3, 2]), "3,2");
        assert_eq!(set(&[u32::MAX - 1, u32::MAX]), "4294967294:4294967295");
    }
}
