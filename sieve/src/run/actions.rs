//! Collects actions with RFC 5228's duplicate rules (section 2.10.3) and
//! the conflicts of reject and vacation, and builds the vacation reply.

use crate::action::{Action, Vacation};
use crate::script::{Strings, VacationCommand};
use crate::vacation::default_handle;

use super::{Failure, Frame, Runner};

impl Runner<'_, '_> {
    /// Records an action, merging duplicates (RFC 5228 section 2.10.3) and
    /// refusing what cannot go together: more than one reject, reject with
    /// anything that delivers or replies (RFC 5429), and more
    /// than one vacation (RFC 5230).
    pub(super) fn add(&mut self, action: Action) -> Result<(), Failure> {
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
    pub(super) fn action_flags(&self, flags: Option<&Strings>, frame: &Frame) -> Vec<String> {
        match flags {
            Some(flags) => split_flags(flags.iter().map(|f| self.expand(f, frame))),
            None => self.flags.clone(),
        }
    }

    pub(super) fn vacation(&self, command: &VacationCommand, frame: &Frame) -> Vacation {
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
}

/// Splits flag strings at spaces and drops repeats, which are case-insensitive
/// (RFC 5232 section 3).
pub(super) fn split_flags(strings: impl IntoIterator<Item = String>) -> Vec<String> {
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

pub(super) fn merge_flags(flags: &mut Vec<String>, more: &[String]) {
    *flags = split_flags(flags.drain(..).chain(more.iter().cloned()));
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
}
