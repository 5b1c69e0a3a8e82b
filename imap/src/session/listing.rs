//! What LIST and LSUB answer (RFC 9051 §6.3.9, RFC 3501 §6.3.9, RFC 5258),
//! worked out from the account's folders and subscriptions alone, as
//! Dovecot answers: subscriptions are names of their own, so one may name
//! a folder deleted since (`\NonExistent`), and a folder may be listed
//! only because something below it is subscribed.

use postino_common::store::{Folder, SpecialUse};

use super::names::matches_pattern;
use crate::proto::Attribute;

/// What the client asked to see.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Selection {
    /// LSUB, or LIST (SUBSCRIBED): subscribed names only.
    pub subscribed_only: bool,
    /// `\Subscribed` on subscribed names (LIST (SUBSCRIBED), RETURN
    /// (SUBSCRIBED)).
    pub mark_subscribed: bool,
    /// LIST (SPECIAL-USE): folders with a special use only.
    pub special_only: bool,
    /// RECURSIVEMATCH: also names with a subscribed name below them, with
    /// `CHILDINFO ("SUBSCRIBED")`.
    pub recursive: bool,
    /// LIST-EXTENDED options were given: a name that is no folder is
    /// `\NonExistent` rather than `\Noselect` (RFC 5258 §3.4).
    pub extended: bool,
}

/// One line of the answer.
#[derive(Debug)]
pub(crate) struct Entry<'a> {
    pub name: String,
    /// The folder of that name, when there is one.
    pub folder: Option<&'a Folder>,
    pub attributes: Vec<Attribute>,
    /// Something below is subscribed (for RECURSIVEMATCH).
    pub subscribed_child: bool,
}

/// The entries of a LIST (`lsub` false) or LSUB, INBOX first then by name.
pub(crate) fn entries<'a>(
    folders: &'a [Folder],
    subscriptions: &[String],
    patterns: &[String],
    selection: Selection,
    lsub: bool,
) -> Vec<Entry<'a>> {
    let matches = |name: &str| patterns.iter().any(|p| matches_pattern(name, p));
    let folder = |name: &str| folders.iter().find(|f| f.name == name);
    let subscribed = |name: &str| subscriptions.iter().any(|s| s == name);
    let mut names: Vec<String> = if lsub || selection.subscribed_only {
        subscriptions.to_vec()
    } else {
        folders.iter().map(|f| f.name.clone()).collect()
    };
    if lsub || selection.recursive {
        // Parents of subscribed names: LSUB shows one `\Noselect` when its
        // child does not match (`%`); RECURSIVEMATCH one with CHILDINFO.
        names.extend(subscriptions.iter().flat_map(|name| parents(name)));
    }
    if !lsub && !selection.subscribed_only {
        // A folder deleted while it had children is still a level of the
        // hierarchy (RFC 9051 §6.3.9): `\Noselect \HasChildren`.
        names.extend(folders.iter().flat_map(|folder| parents(&folder.name)));
    }
    names.sort_by(|a, b| (a != "INBOX", a).cmp(&(b != "INBOX", b)));
    names.dedup();
    let mut entries = Vec::new();
    for name in names {
        if !matches(&name) {
            continue;
        }
        let folder = folder(&name);
        let is_subscribed = subscribed(&name);
        let subscribed_child = has_below(&name, subscriptions.iter().map(String::as_str));
        let mut attributes = Vec::new();
        if lsub {
            if !is_subscribed {
                // Listed only for a subscribed child the pattern skipped.
                let child_listed = subscriptions
                    .iter()
                    .any(|s| matches(s) && s.starts_with(&format!("{name}/")));
                if child_listed || !subscribed_child {
                    continue;
                }
                attributes.push(Attribute::NoSelect);
            }
            // Dovecot shows the special use in LSUB too.
            attributes.extend(special_use(folder));
        } else {
            let children = has_below(&name, folders.iter().map(|f| f.name.as_str()));
            let listed = match (selection.subscribed_only, selection.recursive) {
                (true, true) => is_subscribed || subscribed_child,
                (true, false) => is_subscribed,
                (false, _) => folder.is_some() || children,
            };
            if !listed || (selection.special_only && folder.is_none_or(|f| f.special_use.is_none()))
            {
                continue;
            }
            // In Dovecot's order: \Subscribed, then what the name is.
            if selection.mark_subscribed && is_subscribed {
                attributes.push(Attribute::Subscribed);
            }
            if folder.is_none() {
                let extended = selection.extended || !children;
                attributes.push(if extended {
                    Attribute::NonExistent
                } else {
                    Attribute::NoSelect
                });
            }
            if folder.is_some() || children {
                attributes.push(if children {
                    Attribute::HasChildren
                } else {
                    Attribute::HasNoChildren
                });
            }
            attributes.extend(special_use(folder));
        }
        entries.push(Entry {
            name,
            folder,
            attributes,
            subscribed_child: selection.recursive && subscribed_child,
        });
    }
    entries
}

/// The names above `name` in the hierarchy: `a` and `a/b` for `a/b/c`.
fn parents(name: &str) -> impl Iterator<Item = String> + '_ {
    name.match_indices('/')
        .map(|(at, _)| name[..at].to_string())
}

/// Whether any of `names` is below `name`.
fn has_below<'n>(name: &str, mut names: impl Iterator<Item = &'n str>) -> bool {
    let prefix = format!("{name}/");
    names.any(|n| n.starts_with(&prefix))
}

/// The special-use attribute of a folder, which the store spells as in
/// `\Sent`.
fn special_use(folder: Option<&Folder>) -> Option<Attribute> {
    let stored = folder?.special_use.as_deref()?;
    SpecialUse::from_attribute(stored).map(Attribute::SpecialUse)
}

#[cfg(test)]
mod tests {
    use postino_common::store::Keywords;

    use super::*;

    fn folder(name: &str) -> Folder {
        Folder {
            id: 1,
            account_id: 1,
            name: name.to_string(),
            special_use: (name == "Sent").then(|| "\\Sent".to_string()),
            uidvalidity: 1,
            uidnext: 1,
            highestmodseq: 1,
            messages: 0,
            unseen: 0,
            bytes: 0,
            deleted: 0,
            deleted_bytes: 0,
            keywords: Keywords::default(),
            first_recent: 1,
        }
    }

    fn lines(entries: &[Entry<'_>]) -> Vec<String> {
        entries
            .iter()
            .map(|e| {
                let child = if e.subscribed_child { " CHILDINFO" } else { "" };
                let attributes: Vec<&str> = e.attributes.iter().map(|a| a.name()).collect();
                format!("({}) {}{child}", attributes.join(" "), e.name)
            })
            .collect()
    }

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn lsub_shows_unsubscribed_parents_as_noselect_for_percent() {
        let folders = [folder("INBOX"), folder("a"), folder("a/b")];
        let subscribed = strings(&["INBOX", "a/b", "x/y"]);
        let lsub = |pattern: &str| {
            lines(&entries(
                &folders,
                &subscribed,
                &strings(&[pattern]),
                Selection::default(),
                true,
            ))
        };
        assert_eq!(lsub("%"), ["() INBOX", "(\\Noselect) a", "(\\Noselect) x"]);
        assert_eq!(lsub("*"), ["() INBOX", "() a/b", "() x/y"]);
        assert_eq!(lsub("a/%"), ["() a/b"]);
    }

    #[test]
    fn list_subscribed_shows_deleted_names_and_childinfo() {
        let folders = [folder("INBOX"), folder("Sent"), folder("a"), folder("a/b")];
        let subscribed = strings(&["Gone", "INBOX", "a/b"]);
        let subscribed_only = Selection {
            subscribed_only: true,
            mark_subscribed: true,
            ..Selection::default()
        };
        let list = |selection: Selection, pattern: &str| {
            lines(&entries(
                &folders,
                &subscribed,
                &strings(&[pattern]),
                selection,
                false,
            ))
        };
        assert_eq!(
            list(subscribed_only, "*"),
            [
                "(\\Subscribed \\HasNoChildren) INBOX",
                "(\\Subscribed \\NonExistent) Gone",
                "(\\Subscribed \\HasNoChildren) a/b",
            ]
        );
        let recursive = Selection {
            recursive: true,
            ..subscribed_only
        };
        assert_eq!(
            list(recursive, "%"),
            [
                "(\\Subscribed \\HasNoChildren) INBOX",
                "(\\Subscribed \\NonExistent) Gone",
                "(\\HasChildren) a CHILDINFO",
            ]
        );
        // Plain LIST: folders only, with their special use.
        assert_eq!(
            list(Selection::default(), "%"),
            [
                "(\\HasNoChildren) INBOX",
                "(\\HasNoChildren \\Sent) Sent",
                "(\\HasChildren) a"
            ]
        );
        let special = Selection {
            special_only: true,
            ..Selection::default()
        };
        assert_eq!(list(special, "*"), ["(\\HasNoChildren \\Sent) Sent"]);
    }

    #[test]
    fn a_level_without_its_folder_is_noselect() {
        let folders = [folder("INBOX"), folder("a/b/c")];
        let list = |selection: Selection, pattern: &str| {
            lines(&entries(
                &folders,
                &[],
                &strings(&[pattern]),
                selection,
                false,
            ))
        };
        assert_eq!(
            list(Selection::default(), "*"),
            [
                "(\\HasNoChildren) INBOX",
                "(\\Noselect \\HasChildren) a",
                "(\\Noselect \\HasChildren) a/b",
                "(\\HasNoChildren) a/b/c",
            ]
        );
        let extended = Selection {
            extended: true,
            ..Selection::default()
        };
        assert_eq!(list(extended, "a"), ["(\\NonExistent \\HasChildren) a"]);
    }
}
