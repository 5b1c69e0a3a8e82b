//! Sending limits of domains and mailboxes, set by provincial admins only
//! (a comune must not lift the brake on its own stolen passwords), and the
//! mailboxes that ran into theirs.
//!
//! A limit as set is a number (0: no limit) or nothing, which defers to
//! the domain's limit for a mailbox and to the configured one for a
//! domain. In a change, `Some(None)` sets nothing (JSON `null`, the CLI's
//! `default`); a missing field leaves the limit as it is.

use postino_common::store::{LimitHit, LimitsOf, WriteTx, now};
use serde::{Deserialize, Deserializer};

use super::{Ops, Result};

/// How far back the console looks for limits hit, in seconds: a week.
pub const RECENT_HITS: i64 = 7 * 86_400;

/// A sending limit as the CLI takes it: a number, or `default`.
pub fn parse_limit(text: &str) -> std::result::Result<Option<u64>, String> {
    if text.eq_ignore_ascii_case("default") {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| format!("`{text}` is neither a number nor `default`"))
}

/// For `Option<Option<u64>>` fields: present (`null` included) is `Some`.
pub(super) fn present<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(deserializer).map(Some)
}

/// The sending limits a change asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct LimitsChange {
    pub messages_per_hour: Option<Option<u64>>,
    pub recipients_per_day: Option<Option<u64>>,
}

impl LimitsChange {
    pub fn is_some(&self) -> bool {
        self.messages_per_hour.is_some() || self.recipients_per_day.is_some()
    }

    /// The limits to store, from those stored now.
    pub fn apply(&self, messages: Option<i64>, recipients: Option<i64>) -> [Option<i64>; 2] {
        let stored = |limit: Option<u64>| limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        [
            self.messages_per_hour.map_or(messages, stored),
            self.recipients_per_day.map_or(recipients, stored),
        ]
    }
}

impl Ops {
    /// Sets the sending limits of a domain or a mailbox within `tx`, from
    /// those it has now (messages, recipients).
    pub(super) async fn set_sending(
        &self,
        tx: &mut WriteTx,
        of: LimitsOf,
        now: [Option<i64>; 2],
        change: LimitsChange,
    ) -> Result<()> {
        self.require_all_domains("change sending limits")?;
        let [messages, recipients] = change.apply(now[0], now[1]);
        tx.set_sending_limits(of, messages, recipients).await?;
        Ok(())
    }

    /// The limits mailboxes the actor manages ran into in the last
    /// [`RECENT_HITS`], latest first.
    pub async fn limit_hits(&self) -> Result<Vec<LimitHit>> {
        let mut hits = self.store.limit_hits(now() - RECENT_HITS, None).await?;
        hits.retain(|hit| {
            let domain = hit.address.rsplit_once('@').map_or("", |(_, d)| d);
            self.actor.scope.covers(domain)
        });
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_numbers_or_default() {
        assert_eq!(parse_limit("500"), Ok(Some(500)));
        assert_eq!(parse_limit("0"), Ok(Some(0)));
        assert_eq!(parse_limit("Default"), Ok(None));
        assert!(parse_limit("-1").is_err());
        assert!(parse_limit("lots").is_err());
    }

    #[test]
    fn a_change_replaces_only_what_it_names() {
        let change = LimitsChange {
            messages_per_hour: Some(Some(50)),
            recipients_per_day: None,
        };
        assert_eq!(change.apply(Some(10), Some(20)), [Some(50), Some(20)]);
        let back = LimitsChange {
            messages_per_hour: None,
            recipients_per_day: Some(None),
        };
        assert_eq!(back.apply(Some(10), Some(20)), [Some(10), None]);
        assert!(!LimitsChange::default().is_some());
    }
}
