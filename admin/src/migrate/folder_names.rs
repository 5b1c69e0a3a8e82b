//! Source folder names to ours. The source's hierarchy delimiter becomes
//! our `/`, modified UTF-7 (RFC 3501 §5.1.3) is decoded, `INBOX` in any
//! case is our INBOX, and a source whose every folder lives under `INBOX.`
//! (Courier, Cyrus) loses that prefix. A folder the source marks with a
//! special-use attribute (RFC 6154) lands on our folder of that use; where
//! the source marks none for a use, top-level folders named as clients
//! commonly name them ("Sent Items", "Posta inviata", "Cestino") do.

use postino_common::mailbox_name;
use postino_common::store::SpecialUse;

/// A folder of the source, as LIST gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The name as the source spells it, for SELECT.
    pub raw: String,
    pub delimiter: Option<char>,
    /// `\Noselect` or `\NonExistent`: a node of the hierarchy only.
    pub selectable: bool,
    pub special_use: Option<SpecialUse>,
}

/// Where a source folder goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub raw: String,
    /// Our name for it (`Lavoro/Progetti`), or the name of our folder of
    /// its special use.
    pub name: String,
    pub special_use: Option<SpecialUse>,
}

/// Names clients give special-use folders, lowercase: English, Italian,
/// and those of Outlook and Apple Mail in both.
const COMMON_NAMES: [(&str, SpecialUse); 27] = [
    ("sent", SpecialUse::Sent),
    ("sent items", SpecialUse::Sent),
    ("sent messages", SpecialUse::Sent),
    ("sent mail", SpecialUse::Sent),
    ("posta inviata", SpecialUse::Sent),
    ("inviata", SpecialUse::Sent),
    ("inviati", SpecialUse::Sent),
    ("elementi inviati", SpecialUse::Sent),
    ("drafts", SpecialUse::Drafts),
    ("draft", SpecialUse::Drafts),
    ("bozze", SpecialUse::Drafts),
    ("trash", SpecialUse::Trash),
    ("deleted items", SpecialUse::Trash),
    ("deleted messages", SpecialUse::Trash),
    ("cestino", SpecialUse::Trash),
    ("posta eliminata", SpecialUse::Trash),
    ("elementi eliminati", SpecialUse::Trash),
    ("junk", SpecialUse::Junk),
    ("spam", SpecialUse::Junk),
    ("junk e-mail", SpecialUse::Junk),
    ("junk email", SpecialUse::Junk),
    ("posta indesiderata", SpecialUse::Junk),
    ("indesiderata", SpecialUse::Junk),
    ("archive", SpecialUse::Archive),
    ("archives", SpecialUse::Archive),
    ("archivio", SpecialUse::Archive),
    ("archiviata", SpecialUse::Archive),
];

/// Our folders of each special use, by name, as every account has them.
fn our_folder(usage: SpecialUse) -> &'static str {
    match usage {
        SpecialUse::Sent => "Sent",
        SpecialUse::Drafts => "Drafts",
        SpecialUse::Trash => "Trash",
        SpecialUse::Junk => "Junk",
        SpecialUse::Archive => "Archive",
    }
}

/// Maps every selectable folder of a source's LIST.
pub fn map(listed: &[Listed]) -> Vec<Mapped> {
    let names: Vec<Vec<String>> = listed.iter().map(parts).collect();
    let under_inbox = names
        .iter()
        .filter(|p| !is_inbox(p))
        .all(|p| p.len() > 1 && p[0].eq_ignore_ascii_case("INBOX"))
        && names.iter().any(|p| p.len() > 1);
    let marked: Vec<SpecialUse> = listed.iter().filter_map(|l| l.special_use).collect();
    listed
        .iter()
        .zip(names)
        .filter(|(folder, _)| folder.selectable)
        .map(|(folder, mut parts)| {
            if under_inbox && parts.len() > 1 {
                parts.remove(0);
            }
            let by_name = (parts.len() == 1)
                .then(|| common_use(&parts[0]))
                .flatten()
                .filter(|usage| !marked.contains(usage));
            let special_use = folder.special_use.or(by_name);
            let name = match special_use {
                Some(usage) => our_folder(usage).to_string(),
                None if is_inbox(&parts) => "INBOX".to_string(),
                None => parts.join("/"),
            };
            Mapped {
                raw: folder.raw.clone(),
                name,
                special_use,
            }
        })
        .collect()
}

fn is_inbox(parts: &[String]) -> bool {
    parts.len() == 1 && parts[0].eq_ignore_ascii_case("INBOX")
}

fn common_use(name: &str) -> Option<SpecialUse> {
    let lower = name.to_lowercase();
    COMMON_NAMES
        .iter()
        .find(|(common, _)| *common == lower)
        .map(|&(_, usage)| usage)
}

/// The levels of a source name, decoded; a `/` inside a level (possible
/// where the source's delimiter is another character) becomes `-`, and
/// empty levels are dropped.
fn parts(folder: &Listed) -> Vec<String> {
    let decoded = mailbox_name::decode(&folder.raw).unwrap_or_else(|_| folder.raw.clone());
    let levels: Vec<String> = match folder.delimiter {
        Some(delimiter) => decoded.split(delimiter).map(str::to_string).collect(),
        None => vec![decoded],
    };
    levels
        .into_iter()
        .filter(|level| !level.is_empty())
        .map(|level| level.replace('/', "-"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(raw: &str, delimiter: char, special_use: Option<SpecialUse>) -> Listed {
        Listed {
            raw: raw.to_string(),
            delimiter: Some(delimiter),
            selectable: true,
            special_use,
        }
    }

    fn names(mapped: &[Mapped]) -> Vec<(&str, &str)> {
        mapped
            .iter()
            .map(|m| (m.raw.as_str(), m.name.as_str()))
            .collect()
    }

    #[test]
    fn delimiters_and_modified_utf7_become_ours() {
        let mapped = map(&[
            listed("inbox", '.', None),
            listed("Lavoro.Citt&AOA-", '.', None),
            listed("Lavoro.a/b", '.', None),
        ]);
        assert_eq!(
            names(&mapped),
            [
                ("inbox", "INBOX"),
                ("Lavoro.Citt&AOA-", "Lavoro/Città"),
                ("Lavoro.a/b", "Lavoro/a-b")
            ]
        );
    }

    #[test]
    fn attributes_win_over_common_names() {
        let mapped = map(&[
            listed("INBOX", '/', None),
            listed("Inviata", '/', Some(SpecialUse::Sent)),
            listed("Sent Items", '/', None),
            listed("Cestino", '/', None),
            listed("Progetti/Bozze", '/', None),
        ]);
        assert_eq!(
            names(&mapped),
            [
                ("INBOX", "INBOX"),
                ("Inviata", "Sent"),
                ("Sent Items", "Sent Items"),
                ("Cestino", "Trash"),
                ("Progetti/Bozze", "Progetti/Bozze")
            ]
        );
    }

    #[test]
    fn an_inbox_prefix_on_every_folder_is_dropped() {
        let mapped = map(&[
            listed("INBOX", '.', None),
            listed("INBOX.Posta inviata", '.', None),
            listed("INBOX.Lavoro.2024", '.', None),
        ]);
        assert_eq!(
            names(&mapped),
            [
                ("INBOX", "INBOX"),
                ("INBOX.Posta inviata", "Sent"),
                ("INBOX.Lavoro.2024", "Lavoro/2024")
            ]
        );
    }

    #[test]
    fn hierarchy_nodes_are_not_copied() {
        let mut node = listed("Vecchio", '/', None);
        node.selectable = false;
        assert!(map(&[node]).is_empty());
    }
}
