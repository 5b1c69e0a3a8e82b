//! What one session knows of the mailbox, and the checks a careful client
//! makes of every response against it (RFC 9051 §7.4 and §7.5, RFC 4315
//! for APPENDUID and COPYUID). A server that answers faster but wrongly
//! must not count: each broken expectation becomes a violation, reported
//! below the tables, and the bench fails.
//!
//! Only what is cheap to check is checked: sequence numbers in range,
//! EXISTS and EXPUNGE in step with the session's own view, UIDs that stay
//! with their message and grow with the sequence numbers, new UIDs above
//! every UID seen in the folder, stored flags present in the STORE's own
//! FETCH responses, and messages this session marked `\Deleted` never
//! fetched again after its EXPUNGE.

use std::collections::{HashMap, HashSet};

use postino_tests::imap::Response;

/// One `* n FETCH (...)` response: its sequence number and the two items
/// the checks read, when present.
#[derive(Debug, Default)]
pub struct Fetched {
    pub seq: u32,
    pub uid: Option<u32>,
    pub flags: Option<Vec<String>>,
}

/// One session's view of its selected folder (the INBOX), and of the
/// UIDs it has seen in every folder.
#[derive(Default)]
pub struct View {
    /// The UID of each message, by sequence number less one; 0 while the
    /// session has not learnt it.
    uids: Vec<u32>,
    uidvalidity: Option<u32>,
    /// UIDs this session set `\Deleted` on since its last EXPUNGE.
    marked: Vec<u32>,
    /// UIDs that this session's EXPUNGE removed: never to be fetched again.
    expunged: HashSet<u32>,
    /// The highest UID seen in each folder, by name: from FETCH, from
    /// UIDNEXT (less one), from APPENDUID and COPYUID.
    highest: HashMap<String, u32>,
    /// What went wrong, each described.
    pub violations: Vec<String>,
    /// Messages this session marked and still saw after its EXPUNGE.
    pub left: usize,
}

impl View {
    /// Messages in the selected folder as the session knows it.
    pub fn exists(&self) -> u32 {
        self.uids.len() as u32
    }

    /// Sequence numbers whose UID the session knows, ascending.
    pub fn known(&self) -> impl Iterator<Item = u32> + '_ {
        (1..)
            .zip(&self.uids)
            .filter(|&(_, &uid)| uid != 0)
            .map(|(seq, _)| seq)
    }

    /// The UID at `seq`, if known.
    pub fn uid(&self, seq: u32) -> Option<u32> {
        self.uids
            .get(seq as usize - 1)
            .copied()
            .filter(|&uid| uid != 0)
    }

    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }

    /// Takes in a SELECT's response: a new view of the INBOX.
    pub fn selected(&mut self, response: &Response) {
        self.uids.clear();
        self.marked.clear();
        for line in &response.untagged {
            if let Some(validity) = code_number(line, "UIDVALIDITY") {
                if self.uidvalidity.is_some_and(|known| known != validity) {
                    self.violation(format!("UIDVALIDITY changed to {validity}: {line}"));
                }
                self.uidvalidity = Some(validity);
            }
            if let Some(next) = code_number(line, "UIDNEXT") {
                self.uid_next("INBOX", next);
            }
        }
        self.absorb(response);
    }

    /// Checks a folder's UIDNEXT (from SELECT or STATUS) against the UIDs
    /// seen there, and remembers it.
    pub fn uid_next(&mut self, folder: &str, next: u32) {
        let highest = self.highest.get(folder).copied().unwrap_or(0);
        if next <= highest {
            self.violation(format!(
                "{folder}: UIDNEXT {next}, yet UID {highest} was seen there"
            ));
        }
        self.saw(folder, next.saturating_sub(1));
    }

    fn saw(&mut self, folder: &str, uid: u32) {
        let highest = self.highest.entry(folder.to_string()).or_default();
        *highest = (*highest).max(uid);
    }

    /// Checks a new UID (APPENDUID, COPYUID) of `folder`: above every UID
    /// the session saw there.
    fn new_uid(&mut self, folder: &str, uid: u32, how: &str) {
        let highest = self.highest.get(folder).copied().unwrap_or(0);
        if uid <= highest {
            self.violation(format!(
                "{how} gave UID {uid} in {folder}, yet UID {highest} was seen there"
            ));
        }
        self.saw(folder, uid);
    }

    /// Takes in the untagged EXISTS, EXPUNGE and FETCH responses of any
    /// command, in order, checking each; returns the FETCH responses.
    pub fn absorb(&mut self, response: &Response) -> Vec<Fetched> {
        let mut fetched = Vec::new();
        for line in &response.untagged {
            let Some((number, rest)) = numbered(line) else {
                continue;
            };
            if rest == "EXISTS" {
                self.exists_now(number);
            } else if rest == "EXPUNGE" {
                self.expunge(number);
            } else if let Some(items) = rest.strip_prefix("FETCH ") {
                match fetch_items(number, items) {
                    Some(fetch) => {
                        self.fetched(&fetch);
                        fetched.push(fetch);
                    }
                    None => self.violation(format!("unreadable FETCH response: {}", cut(line))),
                }
            }
        }
        fetched
    }

    fn exists_now(&mut self, exists: u32) {
        let known = self.exists();
        if exists < known {
            self.violation(format!(
                "EXISTS {exists} while the session knows {known} messages (no EXPUNGE before)"
            ));
            return;
        }
        self.uids.resize(exists as usize, 0);
    }

    fn expunge(&mut self, seq: u32) {
        if seq == 0 || seq > self.exists() {
            let exists = self.exists();
            self.violation(format!("EXPUNGE {seq} with {exists} messages"));
            return;
        }
        self.uids.remove(seq as usize - 1);
    }

    fn fetched(&mut self, fetch: &Fetched) {
        let exists = self.exists();
        if fetch.seq == 0 || fetch.seq > exists {
            self.violation(format!(
                "FETCH response for message {} with {exists} messages",
                fetch.seq
            ));
            return;
        }
        let Some(uid) = fetch.uid else { return };
        if self.expunged.contains(&uid) {
            self.violation(format!(
                "FETCH response for UID {uid} after this session's EXPUNGE removed it"
            ));
        }
        let at = fetch.seq as usize - 1;
        let before = self.uids[..at].iter().rev().find(|&&u| u != 0).copied();
        let after = self.uids[at + 1..].iter().find(|&&u| u != 0).copied();
        let known = self.uids[at];
        if known != 0 && known != uid {
            self.violation(format!(
                "message {} was UID {known}, now FETCH says UID {uid}",
                fetch.seq
            ));
        } else if before.is_some_and(|b| b >= uid) || after.is_some_and(|a| a <= uid) {
            self.violation(format!(
                "UID {uid} at message {} is out of order (UIDs {before:?} before, {after:?} after)",
                fetch.seq
            ));
        }
        self.uids[at] = uid;
        self.saw("INBOX", uid);
    }

    /// Checks a non-silent STORE's response: every message of `seqs` that
    /// it answered for has `flags` (`adding`) or lacks them in one of its
    /// FETCH responses. Not necessarily the last: another session's change
    /// of the same message, committed just after this one, may be reported
    /// after it, before the tagged OK.
    pub fn stored(&mut self, seqs: &[u32], flags: &[&str], adding: bool, fetched: &[Fetched]) {
        for &seq in seqs {
            let states: Vec<&Vec<String>> = fetched
                .iter()
                .filter(|f| f.seq == seq)
                .filter_map(|f| f.flags.as_ref())
                .collect();
            let Some(last) = states.last() else {
                continue;
            };
            for flag in flags {
                let stored = states
                    .iter()
                    .any(|state| state.iter().any(|f| f.eq_ignore_ascii_case(flag)) == adding);
                if !stored {
                    let sign = if adding { '+' } else { '-' };
                    self.violation(format!(
                        "STORE {sign}FLAGS ({flag}) on message {seq} answered FLAGS ({})",
                        last.join(" ")
                    ));
                }
            }
        }
    }

    /// Remembers that this session set `\Deleted` on `uids`.
    pub fn marked(&mut self, uids: impl IntoIterator<Item = u32>) {
        self.marked.extend(uids);
    }

    /// After this session's EXPUNGE: the messages it marked are gone, and
    /// must never be fetched again. One it still sees was expunged by
    /// another session at the same moment, which the server may report
    /// later: it is counted in `left`.
    pub fn expunged(&mut self) {
        let marked = std::mem::take(&mut self.marked);
        for uid in marked {
            self.left += usize::from(self.uids.contains(&uid));
            self.expunged.insert(uid);
        }
    }

    /// Checks APPEND's `[APPENDUID validity uid]` for `folder`.
    pub fn appended(&mut self, folder: &str, response: &Response) {
        let uid = response_code(&response.tagged, "APPENDUID")
            .and_then(|code| code.split(' ').nth(1)?.parse().ok());
        match uid {
            Some(uid) => self.new_uid(folder, uid, "APPENDUID"),
            None => self.violation(format!(
                "APPEND answered without APPENDUID: {}",
                response.tagged
            )),
        }
    }

    /// Checks COPY's `[COPYUID validity source destination]` for `folder`.
    pub fn copied(&mut self, folder: &str, response: &Response) {
        let destination = response_code(&response.tagged, "COPYUID")
            .and_then(|code| code.split(' ').nth(2))
            .map(|set| set.split([',', ':']).filter_map(|n| n.parse::<u32>().ok()));
        let (lowest, highest) = match destination {
            Some(uids) => uids.fold((None, None), |(low, high), uid| {
                (
                    Some(low.map_or(uid, |low: u32| low.min(uid))),
                    Some(high.map_or(uid, |high: u32| high.max(uid))),
                )
            }),
            None => (None, None),
        };
        let (Some(lowest), Some(highest)) = (lowest, highest) else {
            self.violation(format!(
                "COPY answered without a readable COPYUID: {}",
                response.tagged
            ));
            return;
        };
        self.new_uid(folder, lowest, "COPYUID");
        self.saw(folder, highest);
    }
}

/// `* <n> <rest>`: n and rest.
fn numbered(line: &str) -> Option<(u32, &str)> {
    let rest = line.strip_prefix("* ")?;
    let (number, rest) = rest.split_once(' ')?;
    Some((number.parse().ok()?, rest))
}

/// The text of response code `[name ...]` in a line, without the brackets
/// and the name, as in `1 42` for `[APPENDUID 1 42]`.
pub fn response_code<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("[{name} ");
    let at = line.find(&key)? + key.len();
    let end = line[at..].find(']')?;
    Some(&line[at..at + end])
}

/// The number of response code `[name n]` in a line.
fn code_number(line: &str, name: &str) -> Option<u32> {
    response_code(line, name)?.parse().ok()
}

/// A response line shortened for a report: FETCH responses carry bodies.
pub fn cut(line: &str) -> String {
    match line.char_indices().nth(160) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

/// The UID and FLAGS of a FETCH response's items, `(UID 4 FLAGS (...)
/// ...)`: the other items' values are skipped whole, so that text inside
/// them (an ENVELOPE, a body) is never taken for an item.
fn fetch_items(seq: u32, items: &str) -> Option<Fetched> {
    let bytes = items.as_bytes();
    let mut at = 1;
    if bytes.first() != Some(&b'(') {
        return None;
    }
    let mut fetch = Fetched {
        seq,
        ..Fetched::default()
    };
    loop {
        while bytes.get(at) == Some(&b' ') {
            at += 1;
        }
        if *bytes.get(at)? == b')' {
            return Some(fetch);
        }
        let name_start = at;
        at = item_name_end(bytes, at)?;
        let name = &items[name_start..at];
        if bytes.get(at) != Some(&b' ') {
            return None;
        }
        at += 1;
        let value_start = at;
        at = value_end(bytes, at)?;
        let value = &items[value_start..at];
        if name.eq_ignore_ascii_case("UID") {
            fetch.uid = Some(value.parse().ok()?);
        } else if name.eq_ignore_ascii_case("FLAGS") {
            let inner = value.strip_prefix('(')?.strip_suffix(')')?;
            fetch.flags = Some(inner.split_whitespace().map(str::to_string).collect());
        }
    }
}

/// The end of a FETCH item's name, such as `BODY[HEADER.FIELDS (FROM)]<0>`:
/// a section in brackets may hold spaces and parentheses.
fn item_name_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        match *bytes.get(at)? {
            b' ' | b')' => return Some(at),
            b'[' => at += bytes[at..].iter().position(|&b| b == b']')? + 1,
            _ => at += 1,
        }
    }
}

/// The end of one value: a number or atom, a quoted string, a literal
/// (`{n}` CRLF and n bytes) or a parenthesized list of values.
fn value_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    match *bytes.get(at)? {
        b'"' => {
            at += 1;
            loop {
                match *bytes.get(at)? {
                    b'\\' => at += 2,
                    b'"' => return Some(at + 1),
                    _ => at += 1,
                }
            }
        }
        b'{' => {
            let close = at + bytes[at..].iter().position(|&b| b == b'}')?;
            let length: usize = std::str::from_utf8(&bytes[at + 1..close])
                .ok()?
                .parse()
                .ok()?;
            let end = close + 3 + length;
            (bytes.get(close + 1..close + 3)? == b"\r\n" && end <= bytes.len()).then_some(end)
        }
        b'(' => {
            at += 1;
            loop {
                match *bytes.get(at)? {
                    b' ' => at += 1,
                    b')' => return Some(at + 1),
                    _ => at = value_end(bytes, at)?,
                }
            }
        }
        _ => {
            let length = bytes[at..]
                .iter()
                .position(|&b| matches!(b, b' ' | b')' | b'('))
                .unwrap_or(bytes.len() - at);
            (length > 0).then_some(at + length)
        }
    }
}
