//! Sending limits on the command line: the options `domain update` and
//! `mailbox update` share (a number or `default`, as the Junk retention of
//! `domain update` is given too), how limits print, and `postino mailbox
//! limit-hits`.

use clap::Args;
use postino_common::store::LimitHit;

use crate::ops::{parse_limit, utc};

/// A limit as given: a number (0: no limit), or `default` (`None`).
/// A type of its own, since clap reads `Option<Option<_>>` otherwise.
#[derive(Debug, Clone, Copy)]
pub struct LimitArg(Option<u64>);

impl LimitArg {
    pub fn value(self) -> Option<u64> {
        self.0
    }
}

pub fn limit_arg(text: &str) -> Result<LimitArg, String> {
    parse_limit(text).map(LimitArg)
}

#[derive(Debug, Args)]
pub struct SendingArgs {
    /// Messages a mailbox may send in an hour (0: no limit; default: the
    /// domain's, then the configured one). Provincial admins only.
    #[arg(long, value_name = "N|default", group = "change", value_parser = limit_arg)]
    max_messages_per_hour: Option<LimitArg>,
    /// Distinct recipients a mailbox may write to in a day, likewise.
    #[arg(long, value_name = "N|default", group = "change", value_parser = limit_arg)]
    max_recipients_per_day: Option<LimitArg>,
}

impl SendingArgs {
    /// The two fields of a change, as the ops take them.
    pub fn change(&self) -> [Option<Option<u64>>; 2] {
        [self.max_messages_per_hour, self.max_recipients_per_day]
            .map(|arg| arg.map(LimitArg::value))
    }
}

/// Sending limits in words; `inherited` names where unset ones come from.
pub fn sending_text(messages: Option<i64>, recipients: Option<i64>, inherited: &str) -> String {
    let limit = |value: Option<i64>, unit: &str| match value {
        None => format!("{unit}: {inherited}"),
        Some(0) => format!("{unit}: no limit"),
        Some(n) => format!("{unit}: {n}"),
    };
    format!(
        "sending limits: {}, {}",
        limit(messages, "messages/hour"),
        limit(recipients, "recipients/day")
    )
}

pub fn hits_table(hits: &[LimitHit]) {
    println!(
        "{:<40} {:<20} {:>8}  {:<20} LAST",
        "MAILBOX", "LIMIT", "REFUSED", "FIRST"
    );
    for hit in hits {
        println!(
            "{:<40} {:<20} {:>8}  {:<20} {}",
            hit.address,
            hit.limit_name,
            hit.refused,
            utc(hit.first_at),
            utc(hit.last_at)
        );
    }
}
