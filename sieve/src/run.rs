//! Runs a compiled script against one message: evaluates tests, collects
//! actions with RFC 5228's implicit keep (section 2.10.2) and duplicate
//! rules (section 2.10.3), counts steps, and turns any runtime error into an
//! implicit keep with the error for the caller to log (section 2.10.6).

use std::cell::Cell;
use std::collections::{HashMap, HashSet};

use crate::action::{Action, Outcome, Vacation};
use crate::address::{address_part, valid_redirect};
use crate::date::date_part;
use crate::limits::Limits;
use crate::matching::{Match, MatchKind, quote_wildcards};
use crate::message::{self, MessageView};
use crate::script::{
    AddressPart, Block, BodyTransform, Command, FlagOp, Index, Modifier, Script, Strings, Test,
    VacationCommand, Zone,
};
use crate::template::{Piece, Template};
use crate::vacation::default_handle;
use crate::{Context, Envelope};

/// A runtime error, with the line of the command that failed; its text
/// goes to the caller's log.
#[derive(Debug)]
struct Failure {
    message: String,
    line: Option<u32>,
}

impl Failure {
    /// Places the error at `line` unless a nested command already did.
    fn at(mut self, line: u32) -> Self {
        self.line.get_or_insert(line);
        self
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure {
            message,
            line: None,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

pub(crate) fn run(script: &Script, context: &Context<'_>, limits: &Limits) -> Outcome {
    let mut runner = Runner {
        script,
        context,
        limits,
        message: MessageView::new(context.message),
        steps: Cell::new(0),
        actions: Vec::new(),
        implicit_keep: true,
        flags: Vec::new(),
        globals: HashMap::new(),
        done_once: HashSet::new(),
    };
    match runner.unit(0) {
        Ok(_) => {
            let mut actions = runner.actions;
            if runner.implicit_keep {
                // After `fileinto :copy "INBOX"` the implicit keep is the
                // same action, and merges with it.
                match actions
                    .iter_mut()
                    .find(|a| matches!(a, Action::Keep { .. }))
                {
                    Some(Action::Keep { flags }) => merge_flags(flags, &runner.flags),
                    _ => actions.push(Action::Keep {
                        flags: runner.flags,
                    }),
                }
            }
            Outcome {
                actions,
                error: None,
            }
        }
        Err(error) => Outcome {
            actions: vec![Action::Keep { flags: Vec::new() }],
            error: Some(error.to_string()),
        },
    }
}

/// How control leaves a command.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Next,
    Stop,
    Return,
}

/// The variables of one script being run: each included script has its
/// own, apart from the names it declares `global` (RFC 6609).
#[derive(Default)]
struct Frame {
    variables: HashMap<String, String>,
    global_names: HashSet<String>,
    /// `${0}`, `${1}`…: set by the last successful `:matches`.
    matches: Vec<String>,
}

struct Runner<'s, 'c> {
    script: &'s Script,
    context: &'c Context<'c>,
    limits: &'c Limits,
    message: MessageView<'c>,
    /// Interpreter steps so far; a `Cell` so that string expansion, which
    /// only reads the runner, can charge for the bytes it builds.
    steps: Cell<u64>,
    actions: Vec<Action>,
    implicit_keep: bool,
    /// The internal flags variable of RFC 5232 section 3.
    flags: Vec<String>,
    globals: HashMap<String, String>,
    /// Units already run by `include :once`.
    done_once: HashSet<usize>,
}

impl Runner<'_, '_> {
    fn step(&self) -> Result<(), Failure> {
        self.charge(1)
    }

    fn charge(&self, cost: u64) -> Result<(), Failure> {
        let steps = self.steps.get().saturating_add(cost);
        self.steps.set(steps);
        if steps > self.limits.max_steps {
            return Err(format!("script ran more than {} steps", self.limits.max_steps).into());
        }
        Ok(())
    }

    fn unit(&mut self, unit: usize) -> Result<Flow, Failure> {
        let mut frame = Frame::default();
        let script = self.script;
        let block = script
            .units
            .get(unit)
            .ok_or_else(|| Failure::from(format!("no script unit {unit}")))?;
        match self.block(block, &mut frame)? {
            Flow::Stop => Ok(Flow::Stop),
            Flow::Next | Flow::Return => Ok(Flow::Next),
        }
    }

    fn block(&mut self, block: &Block, frame: &mut Frame) -> Result<Flow, Failure> {
        for located in block {
            let flow = self
                .command(&located.command, frame)
                .map_err(|f| f.at(located.line))?;
            if flow != Flow::Next {
                return Ok(flow);
            }
        }
        Ok(Flow::Next)
    }

    fn command(&mut self, command: &Command, frame: &mut Frame) -> Result<Flow, Failure> {
        self.step()?;
        match command {
            Command::If(branches, otherwise) => {
                for (test, block) in branches {
                    if self.test(test, frame)? {
                        return self.block(block, frame);
                    }
                }
                if let Some(block) = otherwise {
                    return self.block(block, frame);
                }
            }
            Command::Stop => return Ok(Flow::Stop),
            Command::Return => return Ok(Flow::Return),
            Command::Keep { flags } => {
                let flags = self.action_flags(flags.as_ref(), frame);
                self.add(Action::Keep { flags })?;
                self.implicit_keep = false;
            }
            Command::Discard => self.implicit_keep = false,
            Command::Redirect { address, copy } => {
                let address = self.expand(address, frame);
                if !valid_redirect(&address) {
                    return Err(format!("\"{address}\" is not a valid redirect address").into());
                }
                let redirects = self
                    .actions
                    .iter()
                    .filter(|a| matches!(a, Action::Redirect { .. }))
                    .count();
                let duplicate = self
                    .actions
                    .iter()
                    .any(|a| matches!(a, Action::Redirect { address: known } if known.eq_ignore_ascii_case(&address)));
                if !duplicate {
                    if redirects >= self.limits.max_redirects {
                        return Err(
                            format!("more than {} redirects", self.limits.max_redirects).into()
                        );
                    }
                    self.add(Action::Redirect { address })?;
                }
                if !copy {
                    self.implicit_keep = false;
                }
            }
            Command::FileInto {
                mailbox,
                flags,
                copy,
                create,
            } => {
                let mailbox = self.expand(mailbox, frame);
                let flags = self.action_flags(flags.as_ref(), frame);
                // Filing into INBOX is keeping (RFC 5228 section 4.1), so
                // that it merges with a keep as the same action.
                let action = if mailbox.eq_ignore_ascii_case("inbox") {
                    Action::Keep { flags }
                } else {
                    Action::FileInto {
                        mailbox,
                        flags,
                        create: *create,
                    }
                };
                self.add(action)?;
                if !copy {
                    self.implicit_keep = false;
                }
            }
            Command::Flags {
                op,
                variable,
                flags,
            } => {
                let given = split_flags(flags.iter().map(|f| self.expand(f, frame)));
                let target = variable.as_ref().map(|v| self.expand(v, frame));
                let current = match &target {
                    Some(name) => split_flags([self.variable(name, frame).to_string()]),
                    None => self.flags.clone(),
                };
                let updated = match op {
                    FlagOp::Set => given,
                    FlagOp::Add => split_flags(current.into_iter().chain(given)),
                    FlagOp::Remove => current
                        .into_iter()
                        .filter(|f| !given.iter().any(|g| g.eq_ignore_ascii_case(f)))
                        .collect(),
                };
                match target {
                    Some(name) => self.assign(&name, updated.join(" "), frame),
                    None => self.flags = updated,
                }
            }
            Command::Set {
                name,
                modifiers,
                value,
            } => {
                let mut value = self.expand(value, frame);
                for modifier in modifiers {
                    value = modify(*modifier, &value);
                }
                self.assign(name, value, frame);
            }
            Command::Reject { reason, extended } => {
                let reason = self.expand(reason, frame);
                self.add(Action::Reject {
                    reason,
                    extended: *extended,
                })?;
                self.implicit_keep = false;
            }
            Command::Vacation(vacation) => {
                let vacation = self.vacation(vacation, frame);
                self.add(Action::Vacation(vacation))?;
            }
            Command::Include {
                unit,
                name,
                once,
                optional,
            } => match unit {
                None if *optional => {}
                None => return Err(format!("included script \"{name}\" does not exist").into()),
                Some(unit) => {
                    if *once && !self.done_once.insert(*unit) {
                        return Ok(Flow::Next);
                    }
                    let flow = self.unit(*unit).map_err(|f| {
                        Failure::from(format!("in included script \"{name}\": {f}"))
                    })?;
                    if flow == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                }
            },
            Command::Global(names) => {
                for name in names {
                    frame.global_names.insert(name.clone());
                }
            }
        }
        Ok(Flow::Next)
    }

    /// Records an action, merging duplicates (RFC 5228 section 2.10.3) and
    /// refusing what cannot go together: more than one reject, reject with
    /// anything that delivers or replies (RFC 5429), and more
    /// than one vacation (RFC 5230).
    fn add(&mut self, action: Action) -> Result<(), Failure> {
        let is_reject = |a: &Action| matches!(a, Action::Reject { .. });
        if self.actions.iter().any(is_reject) || (is_reject(&action) && !self.actions.is_empty()) {
            return Err(String::from("reject cannot be combined with other actions").into());
        }
        for known in &mut self.actions {
            match (known, &action) {
                (Action::Keep { flags }, Action::Keep { flags: more }) => {
                    merge_flags(flags, more);
                    return Ok(());
                }
                (
                    Action::FileInto {
                        mailbox,
                        flags,
                        create,
                        ..
                    },
                    Action::FileInto {
                        mailbox: other,
                        flags: more,
                        create: also,
                    },
                ) if mailbox == other => {
                    merge_flags(flags, more);
                    *create |= also;
                    return Ok(());
                }
                (Action::Vacation(_), Action::Vacation(_)) => {
                    return Err(String::from("vacation executed more than once").into());
                }
                _ => {}
            }
        }
        if self.actions.len() >= self.limits.max_actions {
            return Err(format!("more than {} actions", self.limits.max_actions).into());
        }
        self.actions.push(action);
        Ok(())
    }

    /// The flags of `keep`/`fileinto`: `:flags` if given, else the internal variable.
    fn action_flags(&self, flags: Option<&Strings>, frame: &Frame) -> Vec<String> {
        match flags {
            Some(flags) => split_flags(flags.iter().map(|f| self.expand(f, frame))),
            None => self.flags.clone(),
        }
    }

    fn vacation(&self, command: &VacationCommand, frame: &Frame) -> Vacation {
        let reason = self.expand(&command.reason, frame);
        let subject = match &command.subject {
            Some(subject) => self.expand(subject, frame),
            None => format!(
                "Auto: {}",
                self.message
                    .texts("subject")
                    .into_iter()
                    .next()
                    .unwrap_or_default()
            ),
        };
        let from = command.from.as_ref().map(|f| self.expand(f, frame));
        let handle = match &command.handle {
            Some(handle) => self.expand(handle, frame),
            None => default_handle(&[
                &reason,
                command.subject.as_ref().map_or("", |_| subject.as_str()),
                from.as_deref().unwrap_or(""),
                if command.mime { "mime" } else { "" },
            ]),
        };
        Vacation {
            reason,
            mime: command.mime,
            subject,
            from,
            addresses: command
                .addresses
                .iter()
                .map(|a| self.expand(a, frame))
                .collect(),
            handle,
            period: command
                .period
                .unwrap_or(7 * 86_400)
                .min(self.limits.max_vacation_period),
        }
    }

    /// The template with its variables filled in. Variables add at most
    /// `max_variable_size` bytes to the script's own text, so that a string
    /// naming one long variable many times stays small; every 4 KiB built
    /// costs a step, charged to the next `step`.
    fn expand(&self, template: &Template, frame: &Frame) -> String {
        let mut out = String::new();
        let mut room = self.limits.max_variable_size;
        for piece in &template.pieces {
            let value = match piece {
                Piece::Text(text) => {
                    out.push_str(text);
                    continue;
                }
                Piece::Match(n) => frame.matches.get(*n).map_or("", String::as_str),
                Piece::Variable(name) => self.variable(name, frame),
            };
            let mut value = value.to_string();
            truncate(&mut value, room);
            room -= value.len();
            out.push_str(&value);
        }
        let steps = self.steps.get().saturating_add(out.len() as u64 / 4096);
        self.steps.set(steps);
        out
    }

    /// The value of a variable: "global.x" and the names this script
    /// declared `global` are shared by every script, the others are its own.
    fn variable<'f>(&'f self, name: &str, frame: &'f Frame) -> &'f str {
        let value = match shared_name(name, frame) {
            Some(name) => self.globals.get(name),
            None => frame.variables.get(name),
        };
        value.map_or("", String::as_str)
    }

    fn assign(&mut self, name: &str, mut value: String, frame: &mut Frame) {
        truncate(&mut value, self.limits.max_variable_size);
        match shared_name(name, frame) {
            Some(name) => self.globals.insert(name.to_string(), value),
            None => frame.variables.insert(name.to_string(), value),
        };
    }

    fn test(&mut self, test: &Test, frame: &mut Frame) -> Result<bool, Failure> {
        self.step()?;
        Ok(match test {
            Test::True => true,
            Test::False => false,
            Test::Not(test) => !self.test(test, frame)?,
            Test::AllOf(tests) => {
                for test in tests {
                    if !self.test(test, frame)? {
                        return Ok(false);
                    }
                }
                true
            }
            Test::AnyOf(tests) => {
                for test in tests {
                    if self.test(test, frame)? {
                        return Ok(true);
                    }
                }
                false
            }
            Test::Exists(names) => names.iter().all(|name| {
                let name = self.expand(name, frame);
                self.message.fields(&name).next().is_some()
            }),
            Test::Size { over, limit } => {
                let size = self.message.size() as u64;
                if *over { size > *limit } else { size < *limit }
            }
            Test::Header {
                how,
                index,
                headers,
                keys,
            } => {
                let mut values = Vec::new();
                for name in headers {
                    let name = self.expand(name, frame);
                    let fields: Vec<_> = self.message.fields(&name).collect();
                    values.extend(
                        pick(fields, *index)
                            .into_iter()
                            .map(|f| message::decoded_text(f.raw)),
                    );
                }
                self.compare(how, &values, keys, frame)?
            }
            Test::Address {
                how,
                part,
                index,
                headers,
                keys,
            } => {
                let mut values = Vec::new();
                for name in headers {
                    let name = self.expand(name, frame);
                    let fields: Vec<_> = self.message.fields(&name).collect();
                    for field in pick(fields, *index) {
                        values.extend(parts(
                            message::addresses(field.raw).iter().map(String::as_str),
                            *part,
                        ));
                    }
                }
                self.compare(how, &values, keys, frame)?
            }
            Test::Envelope {
                how,
                part,
                fields,
                keys,
            } => {
                let envelope: &Envelope = self.context.envelope;
                let mut values = Vec::new();
                for field in fields {
                    let address = match self.expand(field, frame).to_ascii_lowercase().as_str() {
                        "from" => &envelope.from,
                        "to" => &envelope.to,
                        _ => continue,
                    };
                    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
                    values.extend(parts([address], *part));
                }
                self.compare(how, &values, keys, frame)?
            }
            Test::Body {
                how,
                transform,
                keys,
            } => {
                let values = match transform {
                    BodyTransform::Raw => vec![self.message.raw_body()],
                    BodyTransform::Text => self.message.body_parts(None),
                    BodyTransform::Content(types) => {
                        let types: Vec<String> =
                            types.iter().map(|t| self.expand(t, frame)).collect();
                        self.message.body_parts(Some(&types))
                    }
                };
                self.compare(how, &values, keys, frame)?
            }
            Test::Date {
                how,
                zone,
                index,
                header,
                part,
                keys,
            } => {
                let name = self.expand(header, frame);
                let fields: Vec<_> = self.message.fields(&name).collect();
                let is_received = name.eq_ignore_ascii_case("received");
                let field = pick(fields, *index).into_iter().next();
                let values: Vec<String> = field
                    .and_then(|f| {
                        // The date of a Received field follows its last ";" (RFC 5322 section 3.6.7).
                        let raw = if is_received {
                            f.raw.rsplit(|&b| b == b';').next().unwrap_or(f.raw)
                        } else {
                            f.raw
                        };
                        message::date(raw)
                    })
                    .map(|(unix, original)| {
                        let offset = self.offset(*zone, original);
                        date_part(unix, offset, *part)
                    })
                    .into_iter()
                    .collect();
                self.compare(how, &values, keys, frame)?
            }
            Test::CurrentDate {
                how,
                zone,
                part,
                keys,
            } => {
                let offset = self.offset(*zone, self.context.zone_offset_minutes);
                let values = vec![date_part(self.context.now, offset, *part)];
                self.compare(how, &values, keys, frame)?
            }
            Test::HasFlag {
                how,
                variables,
                keys,
            } => {
                let values = match variables {
                    Some(names) => split_flags(names.iter().map(|n| {
                        let name = self.expand(n, frame);
                        self.variable(&name, frame).to_string()
                    })),
                    None => self.flags.clone(),
                };
                let mut keys: Vec<String> = keys.iter().map(|k| self.expand(k, frame)).collect();
                // Keys are flag lists too, except the number `:count` compares with.
                if !matches!(how.kind, MatchKind::Count(_)) {
                    keys = split_flags(keys);
                }
                self.compare_expanded(how, &values, &keys, frame)?
            }
            Test::MailboxExists(names) => names
                .iter()
                .all(|name| (self.context.mailbox_exists)(&self.expand(name, frame))),
            Test::String { how, sources, keys } => {
                let mut values: Vec<String> =
                    sources.iter().map(|s| self.expand(s, frame)).collect();
                // RFC 5229 section 5: empty strings are not counted.
                if matches!(how.kind, MatchKind::Count(_)) {
                    values.retain(|v| !v.is_empty());
                }
                self.compare(how, &values, keys, frame)?
            }
        })
    }

    fn offset(&self, zone: Zone, original: i32) -> i32 {
        match zone {
            Zone::Local => self.context.zone_offset_minutes,
            Zone::Original => original,
            Zone::Fixed(minutes) => minutes,
        }
    }

    /// Whether any value matches any key; a successful `:matches` sets the
    /// match variables, a failed test leaves them (RFC 5229 section 3.2).
    fn compare(
        &mut self,
        how: &Match,
        values: &[String],
        keys: &Strings,
        frame: &mut Frame,
    ) -> Result<bool, Failure> {
        let keys: Vec<String> = keys.iter().map(|k| self.expand(k, frame)).collect();
        self.compare_expanded(how, values, &keys, frame)
    }

    fn compare_expanded(
        &mut self,
        how: &Match,
        values: &[String],
        keys: &[String],
        frame: &mut Frame,
    ) -> Result<bool, Failure> {
        if matches!(how.kind, MatchKind::Count(_)) {
            return Ok(keys.iter().any(|key| how.count_matches(values.len(), key)));
        }
        for value in values {
            for key in keys {
                // Substring and wildcard matching cost up to value × key.
                self.charge(1 + (value.len() * key.len().max(1) / 4096) as u64)?;
                if let Some(captures) = how.test(value, key) {
                    if how.kind == MatchKind::Matches {
                        frame.matches = captures;
                    }
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}

/// The name in the global namespace `name` refers to, if it is global
/// (RFC 6609).
fn shared_name<'n>(name: &'n str, frame: &Frame) -> Option<&'n str> {
    match name.strip_prefix("global.") {
        Some(global) => Some(global),
        None => frame.global_names.contains(name).then_some(name),
    }
}

/// The fields an `:index` selects (RFC 5260 section 6), or all of them.
fn pick<T>(mut fields: Vec<T>, index: Option<Index>) -> Vec<T> {
    let Some(Index { n, last }) = index else {
        return fields;
    };
    if n == 0 || n > fields.len() {
        return Vec::new();
    }
    let at = if last { fields.len() - n } else { n - 1 };
    vec![fields.swap_remove(at)]
}

fn parts<'a>(addresses: impl IntoIterator<Item = &'a str>, part: AddressPart) -> Vec<String> {
    addresses
        .into_iter()
        .filter_map(|a| address_part(a, part))
        .map(str::to_string)
        .collect()
}

/// Splits flag strings at spaces and drops repeats, which are case-insensitive
/// (RFC 5232 section 3).
fn split_flags(strings: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut flags: Vec<String> = Vec::new();
    for string in strings {
        for flag in string.split_whitespace() {
            if !flags.iter().any(|f| f.eq_ignore_ascii_case(flag)) {
                flags.push(flag.to_string());
            }
        }
    }
    flags
}

fn merge_flags(flags: &mut Vec<String>, more: &[String]) {
    *flags = split_flags(flags.drain(..).chain(more.iter().cloned()));
}

fn modify(modifier: Modifier, value: &str) -> String {
    let first_changed = |f: fn(&char) -> String| {
        let mut chars = value.chars();
        chars
            .next()
            .map_or_else(String::new, |c| f(&c) + chars.as_str())
    };
    match modifier {
        Modifier::Lower => value.to_lowercase(),
        Modifier::Upper => value.to_uppercase(),
        Modifier::LowerFirst => first_changed(|c| c.to_lowercase().collect()),
        Modifier::UpperFirst => first_changed(|c| c.to_uppercase().collect()),
        Modifier::QuoteWildcard => quote_wildcards(value),
        Modifier::Length => value.chars().count().to_string(),
    }
}

fn truncate(value: &mut String, max: usize) {
    if value.len() > max {
        let mut end = max;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        value.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_split_and_deduplicate() {
        let flags = split_flags([
            "\\Seen  $Work".to_string(),
            "\\seen".to_string(),
            String::new(),
        ]);
        assert_eq!(flags, vec!["\\Seen", "$Work"]);
        let mut flags = vec!["a".to_string()];
        merge_flags(&mut flags, &["A".to_string(), "b".to_string()]);
        assert_eq!(flags, vec!["a", "b"]);
    }

    #[test]
    fn modifiers() {
        assert_eq!(modify(Modifier::UpperFirst, "élan"), "Élan");
        assert_eq!(modify(Modifier::LowerFirst, ""), "");
        assert_eq!(modify(Modifier::Length, "été"), "3");
        assert_eq!(modify(Modifier::QuoteWildcard, "a?b"), "a\\?b");
    }

    #[test]
    fn index_picks_from_either_end() {
        let at = |n, last| pick(vec![1, 2, 3], Some(Index { n, last }));
        assert_eq!(at(1, false), vec![1]);
        assert_eq!(at(1, true), vec![3]);
        assert_eq!(at(3, true), vec![1]);
        assert_eq!(at(4, false), Vec::<i32>::new());
        assert_eq!(pick(vec![1, 2], None), vec![1, 2]);
    }

    #[test]
    fn truncation_respects_characters() {
        let mut value = "aé".to_string();
        truncate(&mut value, 2);
        assert_eq!(value, "a");
    }
}
