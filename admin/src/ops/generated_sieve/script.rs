//! The Sieve script (RFC 5228) the console and the API write for a
//! mailbox's out-of-office reply and forwarding, and the settings read back
//! from it.
//!
//! One script, [`SCRIPT_NAME`], holds both. Its first line is a comment
//! with the settings as JSON, which is how they are read back; a script
//! whose text is not exactly what those settings generate (edited by hand
//! over ManageSieve, say) is not read back at all, so the page never shows
//! settings that are not the ones delivery runs.
//!
//! What the script does:
//! - the reply is a `vacation` (RFC 5230) at most once a day per sender
//!   ([`VACATION_DAYS`]), with the subject given or the engine's "Auto: "
//!   and the message's, and the mailbox's aliases as `:addresses` so that
//!   mail sent to an alias is answered too;
//! - its first and last days are days in Italian time, bounded with
//!   `currentdate` (RFC 5260) with an explicit `:zone`: the offset in
//!   force at the midnight that starts the first day, and at the one that
//!   ends the last, so the reply starts and stops at Italian midnights
//!   whatever zone delivery runs the script in (UTC);
//! - forwarding is a `redirect`, with `:copy` (RFC 3894) to keep a copy.

use std::fmt::{self, Write};
use std::str::FromStr;

use chrono::NaiveDate;
use postino_common::address::Address;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

use super::italian_time::{offset_at_midnight, zone_argument};
use crate::ops::{OpsError, Result};

// A Sieve quoted string (RFC 5228 §2.4.2) escapes `"` and `\` as an IMAP
// one does, and may keep line ends, which IMAP's cannot.
use crate::migrate::quoted;

/// The name of the generated script among the mailbox's scripts, as
/// ManageSieve clients list it.
pub const SCRIPT_NAME: &str = "postino";

/// Days between two replies to one sender: a colleague writing again the
/// next day is reminded, one writing ten times in a morning is not.
pub const VACATION_DAYS: u32 = 1;

/// What starts the first line, before the settings' JSON.
const MARKER: &str = "# postino-console ";

/// The generator's version, in the marker: a script written by another
/// version is not read back, and saving writes it anew.
const VERSION: u32 = 1;

/// The longest reply subject, in characters.
const MAX_SUBJECT: usize = 200;

/// The longest reply message, in characters.
const MAX_MESSAGE: usize = 8000;

/// A calendar day, `YYYY-MM-DD`, in Italian time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(NaiveDate);

impl Day {
    fn next(self) -> Option<Day> {
        self.0.succ_opt().map(Day)
    }
}

impl FromStr for Day {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Day, String> {
        let text = text.trim();
        // chrono takes one-digit months and days; the format does not.
        let shaped = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
        shaped
            .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            .flatten()
            .map(Day)
            .ok_or_else(|| format!("`{text}` is not a date such as 2026-12-24"))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Day, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The out-of-office reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Vacation {
    /// Whether mail is answered (within `start` and `end`).
    pub enabled: bool,
    /// The first day answered, in Italian time; none: from now on.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, example = "2026-12-24")]
    pub start: Option<Day>,
    /// The last day answered, in Italian time; none: until switched off.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, example = "2027-01-06")]
    pub end: Option<Day>,
    /// The reply's subject; empty: "Auto: " and the message's subject.
    #[serde(default)]
    pub subject: String,
    /// The reply's text; needed when the reply is on.
    #[serde(default)]
    pub message: String,
}

/// Forwarding of every message to another address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Forwarding {
    pub enabled: bool,
    /// Where mail goes; needed when forwarding is on, and not the mailbox
    /// itself.
    #[serde(default)]
    pub forward_to: String,
    /// Whether the mailbox keeps a copy of what it forwards; default true.
    #[serde(default = "keep_by_default")]
    pub keep_copy: bool,
}

fn keep_by_default() -> bool {
    true
}

impl Default for Forwarding {
    fn default() -> Forwarding {
        Forwarding {
            enabled: false,
            forward_to: String::new(),
            keep_copy: true,
        }
    }
}

/// Everything the generated script holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub vacation: Vacation,
    pub forwarding: Forwarding,
}

/// The first line's JSON: the settings and what else the text depends on.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Marker {
    version: u32,
    settings: Settings,
    addresses: Vec<String>,
}

fn invalid(field: &'static str, message: impl Into<String>) -> OpsError {
    OpsError::Invalid {
        field,
        message: message.into(),
    }
}

impl Vacation {
    /// The reply as stored: the subject trimmed, the message with LF line
    /// ends and no trailing white space; refused if a text is too long or
    /// holds control characters, if it is on without a message, or if it
    /// ends before it starts.
    pub fn checked(mut self) -> Result<Vacation> {
        self.subject = self.subject.trim().to_string();
        if self.subject.chars().count() > MAX_SUBJECT {
            return Err(invalid(
                "subject",
                format!("must be at most {MAX_SUBJECT} characters"),
            ));
        }
        if self.subject.chars().any(char::is_control) {
            return Err(invalid("subject", "must not contain control characters"));
        }
        self.message = self.message.replace("\r\n", "\n").trim_end().to_string();
        if self.message.chars().count() > MAX_MESSAGE {
            return Err(invalid(
                "message",
                format!("must be at most {MAX_MESSAGE} characters"),
            ));
        }
        if self
            .message
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(invalid(
                "message",
                "must not contain control characters other than line ends and tabs",
            ));
        }
        if self.enabled && self.message.trim().is_empty() {
            return Err(invalid("message", "must not be empty when the reply is on"));
        }
        if let (Some(start), Some(end)) = (self.start, self.end)
            && end < start
        {
            return Err(invalid(
                "end",
                format!("{end} is before the start, {start}"),
            ));
        }
        Ok(self)
    }
}

impl Forwarding {
    /// Forwarding as stored: the address normalised; refused if it is on
    /// without an address, if the address is not one, or if it is `own`.
    pub fn checked(mut self, own: &str) -> Result<Forwarding> {
        let typed = self.forward_to.trim();
        if typed.is_empty() {
            if self.enabled {
                return Err(invalid("forward_to", "must be given when forwarding is on"));
            }
            self.forward_to.clear();
            return Ok(self);
        }
        let address: Address =
            typed
                .parse()
                .map_err(|err: postino_common::address::AddressError| {
                    invalid("forward_to", err.to_string())
                })?;
        self.forward_to = address.to_string();
        if self.forward_to.eq_ignore_ascii_case(own) {
            return Err(invalid(
                "forward_to",
                format!("`{own}` is the mailbox itself"),
            ));
        }
        Ok(self)
    }
}

/// A `currentdate` test of today's date in Italian time against `day`,
/// the zone being the offset in force at the midnight `zone_of` starts.
fn current_day(comparison: &str, day: Day, zone_of: Day) -> String {
    format!(
        "currentdate :zone \"{}\" :value \"{comparison}\" \"date\" \"{day}\"",
        zone_argument(offset_at_midnight(zone_of.0))
    )
}

/// The script for `settings`, with `addresses` (the mailbox's aliases) in
/// the reply's `:addresses`. Settings are assumed checked.
pub fn generate(settings: &Settings, addresses: &[String]) -> String {
    let marker = Marker {
        version: VERSION,
        settings: settings.clone(),
        addresses: addresses.to_vec(),
    };
    // serde_json escapes line ends, so the marker stays one comment line.
    let json = serde_json::to_string(&marker).unwrap_or_default();
    let mut script = format!(
        "{MARKER}{json}\n\
         # Written by the Postino console (out of office, forwarding): change it there.\n"
    );
    let vacation = &settings.vacation;
    let forwarding = &settings.forwarding;
    let mut require = Vec::new();
    if vacation.enabled {
        require.push("vacation");
        if vacation.start.is_some() || vacation.end.is_some() {
            require.extend(["date", "relational"]);
        }
    }
    if forwarding.enabled && forwarding.keep_copy {
        require.push("copy");
    }
    require.sort_unstable();
    if !require.is_empty() {
        let names: Vec<String> = require.iter().map(|name| quoted(name)).collect();
        let _ = writeln!(script, "require [{}];", names.join(", "));
    }
    if vacation.enabled {
        let mut reply = format!("vacation :days {VACATION_DAYS}");
        if !vacation.subject.is_empty() {
            let _ = write!(reply, " :subject {}", quoted(&vacation.subject));
        }
        if !addresses.is_empty() {
            let list: Vec<String> = addresses.iter().map(|a| quoted(a)).collect();
            let _ = write!(reply, " :addresses [{}]", list.join(", "));
        }
        let _ = write!(reply, " {};", quoted(&vacation.message));
        let mut bounds = Vec::new();
        if let Some(start) = vacation.start {
            bounds.push(current_day("ge", start, start));
        }
        if let Some(end) = vacation.end {
            bounds.push(current_day("le", end, end.next().unwrap_or(end)));
        }
        match bounds.len() {
            0 => {
                let _ = writeln!(script, "{reply}");
            }
            1 => {
                let _ = writeln!(script, "if {} {{\n    {reply}\n}}", bounds[0]);
            }
            _ => {
                let _ = writeln!(
                    script,
                    "if allof ({}) {{\n    {reply}\n}}",
                    bounds.join(",\n          ")
                );
            }
        }
    }
    if forwarding.enabled {
        let copy = if forwarding.keep_copy { ":copy " } else { "" };
        let _ = writeln!(script, "redirect {copy}{};", quoted(&forwarding.forward_to));
    }
    script
}

/// The settings a script was generated from, if it is exactly what they
/// generate.
pub fn read(source: &str) -> Option<Settings> {
    let (first, _) = source.split_once('\n')?;
    let marker: Marker = serde_json::from_str(first.strip_prefix(MARKER)?).ok()?;
    if marker.version != VERSION || generate(&marker.settings, &marker.addresses) != source {
        return None;
    }
    Some(marker.settings)
}

#[cfg(test)]
mod tests {
    use postino_sieve::{Action, Context, Envelope, Limits, NoIncludes, compile, run};

    use super::*;

    const ANNA: &str = "anna@comune.esempio.it";

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    fn vacation(start: Option<&str>, end: Option<&str>) -> Vacation {
        Vacation {
            enabled: true,
            start: start.map(day),
            end: end.map(day),
            subject: "Assente per ferie \"natalizie\"".to_string(),
            message:
                "Sono in ferie fino al 6 gennaio.\nPer urgenze: C:\\segreteria, tel. 0721 000000."
                    .to_string(),
        }
    }

    fn forwarding(keep_copy: bool) -> Forwarding {
        Forwarding {
            enabled: true,
            forward_to: "collega@altro.esempio.it".to_string(),
            keep_copy,
        }
    }

    /// Runs `script` at the Unix time `now` on a message to Anna, in UTC
    /// as delivery does.
    fn actions(script: &str, now: i64) -> Vec<Action> {
        let compiled = compile(script, &NoIncludes, &Limits::default())
            .unwrap_or_else(|err| panic!("{err:?} in\n{script}"));
        let envelope = Envelope {
            from: "cittadino@esempio.org".to_string(),
            to: ANNA.to_string(),
        };
        let context = Context {
            message: b"From: cittadino@esempio.org\r\nTo: anna@comune.esempio.it\r\nSubject: certificato\r\n\r\nbuongiorno\r\n",
            envelope: &envelope,
            now,
            zone_offset_minutes: 0,
            mailbox_exists: &|_| true,
        };
        let outcome = run(&compiled, &context);
        assert_eq!(outcome.error, None, "{script}");
        outcome.actions
    }

    fn replies(script: &str, now: i64) -> bool {
        actions(script, now)
            .iter()
            .any(|a| matches!(a, Action::Vacation(_)))
    }

    #[test]
    fn every_combination_compiles_and_reads_back() {
        let vacations = [
            Vacation::default(),
            vacation(None, None),
            vacation(Some("2026-12-24"), None),
            vacation(None, Some("2027-01-06")),
            vacation(Some("2026-12-24"), Some("2027-01-06")),
            Vacation {
                subject: String::new(),
                ..vacation(None, None)
            },
        ];
        let forwardings = [Forwarding::default(), forwarding(true), forwarding(false)];
        let aliases = [vec![], vec!["ufficio@comune.esempio.it".to_string()]];
        for vacation in &vacations {
            for forwarding in &forwardings {
                for addresses in &aliases {
                    let settings = Settings {
                        vacation: vacation.clone(),
                        forwarding: forwarding.clone(),
                    };
                    let script = generate(&settings, addresses);
                    compile(&script, &NoIncludes, &Limits::default())
                        .unwrap_or_else(|err| panic!("{err:?} in\n{script}"));
                    assert_eq!(read(&script), Some(settings), "{script}");
                }
            }
        }
    }

    #[test]
    fn the_script_reads_as_people_would_write_it() {
        let settings = Settings {
            vacation: vacation(Some("2026-07-01"), Some("2026-12-24")),
            forwarding: forwarding(true),
        };
        let script = generate(&settings, &["ufficio@comune.esempio.it".to_string()]);
        let body: Vec<&str> = script.lines().skip(2).collect();
        assert_eq!(
            body,
            [
                r#"require ["copy", "date", "relational", "vacation"];"#,
                r#"if allof (currentdate :zone "+0200" :value "ge" "date" "2026-07-01","#,
                r#"          currentdate :zone "+0100" :value "le" "date" "2026-12-24") {"#,
                r#"    vacation :days 1 :subject "Assente per ferie \"natalizie\"" :addresses ["ufficio@comune.esempio.it"] "Sono in ferie fino al 6 gennaio."#,
                r#"Per urgenze: C:\\segreteria, tel. 0721 000000.";"#,
                "}",
                r#"redirect :copy "collega@altro.esempio.it";"#,
            ],
            "{script}"
        );
    }

    #[test]
    fn the_reply_runs_from_italian_midnight_to_italian_midnight() {
        let script = generate(
            &Settings {
                vacation: vacation(Some("2026-12-24"), Some("2027-01-06")),
                ..Settings::default()
            },
            &[],
        );
        // 2026-12-23 23:00 UTC is midnight of the 24th in Rome (UTC+1).
        let first = 1_798_066_800;
        assert!(!replies(&script, first - 1));
        assert!(replies(&script, first));
        // 2027-01-06 23:00 UTC is midnight of the 7th in Rome.
        let after = 1_799_276_400;
        assert!(replies(&script, after - 1));
        assert!(!replies(&script, after));
    }

    #[test]
    fn summer_bounds_use_summer_time() {
        let script = generate(
            &Settings {
                vacation: vacation(Some("2026-08-01"), Some("2026-08-02")),
                ..Settings::default()
            },
            &[],
        );
        // 2026-07-31 22:00 UTC is midnight of 1 August in Rome (UTC+2).
        let first = 1_785_535_200;
        assert!(!replies(&script, first - 1));
        assert!(replies(&script, first));
        let after = first + 2 * 86_400;
        assert!(replies(&script, after - 1));
        assert!(!replies(&script, after));
    }

    #[test]
    fn forwarding_keeps_a_copy_or_not() {
        let with_copy = generate(
            &Settings {
                forwarding: forwarding(true),
                ..Settings::default()
            },
            &[],
        );
        let redirect = Action::Redirect {
            address: "collega@altro.esempio.it".to_string(),
        };
        assert_eq!(
            actions(&with_copy, 0),
            [redirect.clone(), Action::Keep { flags: vec![] }]
        );
        let without = generate(
            &Settings {
                forwarding: forwarding(false),
                ..Settings::default()
            },
            &[],
        );
        assert_eq!(actions(&without, 0), [redirect]);
        let nothing = generate(&Settings::default(), &[]);
        assert_eq!(actions(&nothing, 0), [Action::Keep { flags: vec![] }]);
    }

    #[test]
    fn a_script_edited_by_hand_is_not_read_back() {
        let settings = Settings {
            vacation: vacation(None, None),
            ..Settings::default()
        };
        let script = generate(&settings, &[]);
        assert!(read(&script).is_some());
        let edited = script.replace(":days 1", ":days 7");
        assert_eq!(read(&edited), None);
        assert_eq!(read(&format!("{script}discard;\n")), None);
        assert_eq!(read("keep;\n"), None);
        assert_eq!(read(""), None);
        let other_version = script.replace("{\"version\":1", "{\"version\":2");
        assert_ne!(other_version, script);
        assert_eq!(read(&other_version), None);
    }

    #[test]
    fn vacations_are_checked_and_normalised() {
        let typed = Vacation {
            subject: "  Ferie  ".to_string(),
            message: "Riga uno\r\nRiga due\r\n\r\n".to_string(),
            ..vacation(None, None)
        };
        let checked = typed.checked().unwrap();
        assert_eq!(checked.subject, "Ferie");
        assert_eq!(checked.message, "Riga uno\nRiga due");

        let field = |vacation: Vacation| match vacation.checked() {
            Err(OpsError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let empty = Vacation {
            message: " \n".to_string(),
            ..vacation(None, None)
        };
        assert_eq!(field(empty), "message");
        assert_eq!(
            field(vacation(Some("2027-01-06"), Some("2026-12-24"))),
            "end"
        );
        let long = Vacation {
            subject: "x".repeat(MAX_SUBJECT + 1),
            ..vacation(None, None)
        };
        assert_eq!(field(long), "subject");
        let control = Vacation {
            message: "ciao\u{7}".to_string(),
            ..vacation(None, None)
        };
        assert_eq!(field(control), "message");
        // Off, it needs no message, and keeps what it has.
        let off = Vacation {
            enabled: false,
            message: String::new(),
            ..vacation(None, None)
        };
        assert!(off.checked().is_ok());
        assert!(
            vacation(Some("2026-12-24"), Some("2026-12-24"))
                .checked()
                .is_ok()
        );
    }

    #[test]
    fn forwarding_needs_another_valid_address() {
        let checked = Forwarding {
            forward_to: " Collega@Altro.Esempio.IT ".to_string(),
            ..forwarding(true)
        }
        .checked(ANNA)
        .unwrap();
        assert_eq!(checked.forward_to, "collega@altro.esempio.it");
        for bad in [
            "",
            "collega",
            "collega@",
            "a b@esempio.it",
            ANNA,
            "ANNA@comune.esempio.it",
        ] {
            let refused = Forwarding {
                forward_to: bad.to_string(),
                ..forwarding(true)
            }
            .checked(ANNA);
            assert!(
                matches!(
                    refused,
                    Err(OpsError::Invalid {
                        field: "forward_to",
                        ..
                    })
                ),
                "{bad:?}: {refused:?}"
            );
        }
        assert!(Forwarding::default().checked(ANNA).is_ok());
    }

    #[test]
    fn days_are_iso_dates_only() {
        assert_eq!(day("2026-12-24").to_string(), "2026-12-24");
        for bad in ["24/12/2026", "2026-2-3", "2026-02-30", "", "domani"] {
            assert!(bad.parse::<Day>().is_err(), "{bad:?}");
        }
        let json: Vacation = serde_json::from_str(
            r#"{"enabled":true,"start":"2026-12-24","end":null,"message":"ferie"}"#,
        )
        .unwrap();
        assert_eq!(json.start, Some(day("2026-12-24")));
        assert!(serde_json::from_str::<Vacation>(r#"{"enabled":true,"start":"24/12"}"#).is_err());
        let forwarding: Forwarding =
            serde_json::from_str(r#"{"enabled":true,"forward_to":"x@y.it"}"#).unwrap();
        assert!(forwarding.keep_copy);
    }
}
