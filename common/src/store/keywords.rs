//! Keywords: the flags a client names itself, such as `$Forwarded` or
//! `Work` (RFC 9051 §2.3.2), as a message has them and as a folder lists
//! every one its messages have had.
//!
//! Keywords compare without regard to ASCII case; a set keeps each in the
//! spelling it was first given. The store keeps a set as one text column,
//! the keywords separated by spaces, which is what this type holds.

use serde::Serialize;

use super::direct::Arg;

/// A set of keywords, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, sqlx::Type)]
#[sqlx(transparent)]
pub struct Keywords(String);

impl Keywords {
    /// The keywords, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split_ascii_whitespace()
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Whether the set has `keyword`, in any case.
    pub fn contains(&self, keyword: &str) -> bool {
        self.iter().any(|k| k.eq_ignore_ascii_case(keyword))
    }

    /// Adds `keyword` (an IMAP atom: not empty, no spaces) unless the set
    /// has it in some case; returns whether it was added.
    pub fn insert(&mut self, keyword: &str) -> bool {
        debug_assert!(
            !keyword.is_empty() && !keyword.contains(|c: char| c.is_ascii_whitespace()),
            "not a keyword: {keyword:?}"
        );
        if self.contains(keyword) {
            return false;
        }
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(keyword);
        true
    }

    /// Adds the keywords of `other` the set lacks; returns whether it
    /// lacked any.
    pub fn insert_all(&mut self, other: &Keywords) -> bool {
        let mut added = false;
        for keyword in other {
            added |= self.insert(keyword);
        }
        added
    }

    /// Takes `keyword` out of the set, in whatever case it has it; returns
    /// whether it was there.
    pub fn remove(&mut self, keyword: &str) -> bool {
        if !self.contains(keyword) {
            return false;
        }
        let kept: Vec<&str> = self
            .iter()
            .filter(|k| !k.eq_ignore_ascii_case(keyword))
            .collect();
        self.0 = kept.join(" ");
        true
    }
}

impl<'a> From<&'a Keywords> for Arg<'a> {
    fn from(keywords: &'a Keywords) -> Self {
        Arg::Text(&keywords.0)
    }
}

impl rusqlite::types::FromSql for Keywords {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        <String as rusqlite::types::FromSql>::column_result(value).map(Keywords)
    }
}

impl<'a> IntoIterator for &'a Keywords {
    type Item = &'a str;
    type IntoIter = std::str::SplitAsciiWhitespace<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.split_ascii_whitespace()
    }
}

impl<'a> FromIterator<&'a str> for Keywords {
    /// The set of these keywords; of two that differ only in case, the
    /// first is kept.
    fn from_iter<I: IntoIterator<Item = &'a str>>(keywords: I) -> Keywords {
        let mut set = Keywords::default();
        for keyword in keywords {
            set.insert(keyword);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> Keywords {
        text.split(' ').filter(|k| !k.is_empty()).collect()
    }

    #[test]
    fn keywords_compare_without_case_and_keep_their_first_spelling() {
        let mut words = set("$Label1 Work work");
        assert_eq!(words.iter().collect::<Vec<_>>(), ["$Label1", "Work"]);
        assert!(words.contains("WORK") && words.contains("$label1"));
        assert!(!words.contains("$Label"));
        assert!(!words.insert("$LABEL1"));
        assert!(words.insert("$Junk"));
        assert_eq!(words, set("$Label1 Work $Junk"));
    }

    #[test]
    fn a_set_learns_only_keywords_it_lacks() {
        let mut known = set("$Label1 work");
        assert!(known.insert_all(&set("WORK $label1 $Junk")));
        assert_eq!(known, set("$Label1 work $Junk"));
        assert!(!known.insert_all(&set("$LABEL1")));
        assert!(!known.insert_all(&Keywords::default()));
    }

    #[test]
    fn removing_takes_every_spelling() {
        // Two spellings of one keyword, as APPEND stored them before it
        // made a set of them.
        let mut words = Keywords("Work $Junk WORK".into());
        assert!(words.remove("work"));
        assert_eq!(words, set("$Junk"));
        assert!(!words.remove("work"));
        assert!(words.remove("$JUNK"));
        assert!(words.is_empty());
    }

    #[test]
    fn serialized_as_the_stored_text() {
        let json = serde_json::to_string(&set("$Forwarded Work")).unwrap();
        assert_eq!(json, r#""$Forwarded Work""#);
    }
}
