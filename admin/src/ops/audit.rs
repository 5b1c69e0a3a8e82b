//! The audit log as admins read it: filtered, paged, newest first, and as
//! CSV (RFC 4180) for a spreadsheet.
//!
//! A comune admin sees only the entries all of whose domains are its own,
//! as with the resources they describe (a relay client's entries are about
//! all its sender domains); entries about no domain (admins, API tokens)
//! are the provincial admins' alone.
//! A provincial admin may ask for any domain name, including one removed
//! since: its history stays.

use chrono::{DateTime, SecondsFormat};
use postino_common::store::{AdminScope, AuditQuery, AuditRecord};
use serde::Deserialize;

use super::domains::parse_domain;
use super::{Ops, OpsError, Result};

/// Entries listed when no limit is given.
const DEFAULT_LIMIT: i64 = 100;
/// The most entries one request lists; page with `before_id` for more.
const MAX_LIMIT: i64 = 1000;

/// Which entries to list: every condition given must hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    pub domain: Option<String>,
    /// Who acted: an admin's username, a mailbox address, `cli:USER`.
    pub actor: Option<String>,
    /// Seconds since the epoch, inclusive.
    pub since: Option<i64>,
    /// Seconds since the epoch, exclusive.
    pub until: Option<i64>,
    /// Only entries older than this id: the last id of the previous page.
    pub before_id: Option<i64>,
    /// At most this many entries, 1 to 1000 (default 100).
    pub limit: Option<i64>,
}

impl Ops {
    /// The entries `filter` selects among those the actor may see, newest
    /// first.
    pub async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let limit = filter.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(OpsError::Invalid {
                field: "limit",
                message: format!("must be 1 to {MAX_LIMIT}, not {limit}"),
            });
        }
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && until <= since
        {
            return Err(OpsError::Invalid {
                field: "until",
                message: "must be later than since".to_string(),
            });
        }
        let domain = match &filter.domain {
            Some(name) => {
                let name = parse_domain(name)?;
                self.check_scope(name.as_str())?;
                Some(name.to_string())
            }
            None => None,
        };
        let within = match &self.actor.scope {
            AdminScope::AllDomains => None,
            AdminScope::Domains(names) => Some(names.clone()),
        };
        Ok(self
            .store
            .audit_search(&AuditQuery {
                within,
                domain,
                actor: filter.actor.clone(),
                since: filter.since,
                until: filter.until,
                before_id: filter.before_id,
                limit,
            })
            .await?)
    }
}

/// Entries as CSV: a header row, then one row per entry, lines ending in
/// CRLF (RFC 4180), `at` in RFC 3339 UTC.
pub fn audit_csv(records: &[AuditRecord]) -> String {
    csv_table(&AUDIT_COLUMNS, records.iter().map(audit_fields))
}

/// The columns of an entry in CSV.
pub(super) const AUDIT_COLUMNS: [&str; 9] = [
    "id", "at", "actor", "origin", "action", "domain", "target", "before", "after",
];

/// An entry's [`AUDIT_COLUMNS`].
pub(super) fn audit_fields(r: &AuditRecord) -> Vec<String> {
    vec![
        r.id.to_string(),
        rfc3339(r.at),
        r.actor.clone(),
        r.origin.clone(),
        r.action.clone(),
        r.domain.clone().unwrap_or_default(),
        r.target.clone(),
        r.before.clone().unwrap_or_default(),
        r.after.clone().unwrap_or_default(),
    ]
}

/// A time in RFC 3339 UTC, or its seconds if out of range.
pub(super) fn rfc3339(at: i64) -> String {
    DateTime::from_timestamp(at, 0).map_or_else(
        || at.to_string(),
        |t| t.to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

/// A CSV table: the header, then the rows, each line ending in CRLF.
pub(super) fn csv_table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut csv = header.join(",");
    csv.push_str("\r\n");
    for row in rows {
        let row: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        csv.push_str(&row.join(","));
        csv.push_str("\r\n");
    }
    csv
}

/// One CSV field. Text a spreadsheet would run as a formula (it starts
/// with `=`, `+`, `-`, `@`, or a tab or CR, which some read past) gets a
/// leading `'`, so it shows as text; the field is then quoted if it holds
/// a comma, a quote or a line break, its quotes doubled.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use postino_common::store::{AdminScope, Store};

    use super::*;
    use crate::ops::Actor;
    use crate::ops::testing::{acting, ops};

    postino_common::store_tests!(audit_entries_are_filtered_and_scoped);

    const COMUNE: &str = "comune.esempio.pu.it";
    const ALTRO: &str = "altro.esempio.it";

    fn targets(records: &[AuditRecord]) -> Vec<&str> {
        records.iter().map(|r| r.target.as_str()).collect()
    }

    async fn audit_entries_are_filtered_and_scoped(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        for domain in [COMUNE, ALTRO] {
            provincia.add_domain(domain, 0, 0).await.unwrap();
        }
        let anna = acting(
            &store,
            Actor {
                name: "anna".to_string(),
                origin: "192.0.2.7".to_string(),
                scope: AdminScope::Domains(vec![COMUNE.to_string()]),
                own_address: None,
            },
        );
        anna.add_mailbox(&format!("uno@{COMUNE}"), None, 0, "")
            .await
            .unwrap();
        provincia
            .add_mailbox(&format!("due@{ALTRO}"), None, 0, "")
            .await
            .unwrap();
        provincia
            .remove_domain(ALTRO, true)
            .await
            .expect("remove a domain with its mailbox");

        let all = provincia.audit_log(&AuditFilter::default()).await.unwrap();
        assert_eq!(
            targets(&all),
            [
                ALTRO,
                "due@altro.esempio.it",
                "uno@comune.esempio.pu.it",
                ALTRO,
                COMUNE
            ]
        );
        let by_anna = AuditFilter {
            actor: Some("anna".to_string()),
            ..AuditFilter::default()
        };
        let listed = provincia.audit_log(&by_anna).await.unwrap();
        assert_eq!(targets(&listed), ["uno@comune.esempio.pu.it"]);
        assert_eq!(listed[0].origin, "192.0.2.7");
        // The history of a removed domain stays listable.
        let removed = AuditFilter {
            domain: Some(ALTRO.to_string()),
            ..AuditFilter::default()
        };
        let listed = provincia.audit_log(&removed).await.unwrap();
        let actions: Vec<&str> = listed.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["domain.remove", "mailbox.add", "domain.add"]);

        // A comune admin sees its own domain's entries only, and nothing of
        // the others, not even that they exist.
        let seen = anna.audit_log(&AuditFilter::default()).await.unwrap();
        assert_eq!(targets(&seen), ["uno@comune.esempio.pu.it", COMUNE]);
        let refused = anna.audit_log(&removed).await;
        assert!(
            matches!(&refused, Err(OpsError::NotFound { what: "domain", name }) if name == ALTRO),
            "{refused:?}"
        );

        // Paging and time windows.
        let page = AuditFilter {
            limit: Some(2),
            ..AuditFilter::default()
        };
        let first = provincia.audit_log(&page).await.unwrap();
        assert_eq!(first.len(), 2);
        let next = AuditFilter {
            before_id: Some(first[1].id),
            limit: Some(2),
            ..AuditFilter::default()
        };
        let second = provincia.audit_log(&next).await.unwrap();
        assert_eq!(targets(&second), ["uno@comune.esempio.pu.it", ALTRO]);
        let at = all[0].at;
        let window = |since, until| AuditFilter {
            since,
            until,
            ..AuditFilter::default()
        };
        let now_on = provincia.audit_log(&window(Some(at - 60), None)).await;
        assert_eq!(now_on.unwrap().len(), all.len());
        let before = provincia.audit_log(&window(None, Some(at - 60))).await;
        assert!(before.unwrap().is_empty());
        let later = provincia.audit_log(&window(Some(at + 60), None)).await;
        assert!(later.unwrap().is_empty());

        for (filter, field) in [
            (
                AuditFilter {
                    limit: Some(0),
                    ..AuditFilter::default()
                },
                "limit",
            ),
            (
                AuditFilter {
                    limit: Some(1001),
                    ..AuditFilter::default()
                },
                "limit",
            ),
            (window(Some(at), Some(at)), "until"),
            (
                AuditFilter {
                    domain: Some("non un dominio".to_string()),
                    ..AuditFilter::default()
                },
                "domain",
            ),
        ] {
            let refused = provincia.audit_log(&filter).await;
            assert!(
                matches!(&refused, Err(OpsError::Invalid { field: f, .. }) if *f == field),
                "{filter:?}: {refused:?}"
            );
        }
    }

    fn record(actor: &str, target: &str, after: Option<&str>) -> AuditRecord {
        AuditRecord {
            id: 7,
            // 2025-03-03 10:00 UTC.
            at: 1_740_996_000,
            actor: actor.to_string(),
            origin: "cli".to_string(),
            action: "mailbox.add".to_string(),
            domain: Some(COMUNE.to_string()),
            target: target.to_string(),
            before: None,
            after: after.map(str::to_string),
            prev_hash: None,
            hash: None,
        }
    }

    #[test]
    fn csv_has_a_header_and_a_row_per_entry() {
        let csv = audit_csv(&[record("cli:root", "a@b.it", None)]);
        assert_eq!(
            csv,
            "id,at,actor,origin,action,domain,target,before,after\r\n\
             7,2025-03-03T10:00:00Z,cli:root,cli,mailbox.add,comune.esempio.pu.it,a@b.it,,\r\n"
        );
        assert_eq!(
            audit_csv(&[]),
            "id,at,actor,origin,action,domain,target,before,after\r\n"
        );
    }

    #[test]
    fn csv_quotes_commas_quotes_and_line_breaks() {
        let json = r#"{"display_name":"Rossi, \"Mario\""}"#;
        let csv = audit_csv(&[record("a\r\nb", "x", Some(json))]);
        let row = csv.lines().nth(1).unwrap();
        assert!(row.starts_with("7,2025-03-03T10:00:00Z,\"a"), "{csv}");
        assert!(
            csv.ends_with(",x,,\"{\"\"display_name\"\":\"\"Rossi, \\\"\"Mario\\\"\"\"\"}\"\r\n"),
            "{csv}"
        );
        assert!(csv.contains("\"a\r\nb\""), "{csv}");
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn csv_neutralises_formulas() {
        for (field, shown) in [
            (
                "=HYPERLINK(\"http://x\")",
                "\"'=HYPERLINK(\"\"http://x\"\")\"",
            ),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("=1,2", "\"'=1,2\""),
            ("a=1", "a=1"),
        ] {
            assert_eq!(csv_field(field), shown, "{field:?}");
        }
        let csv = audit_csv(&[record("=cmd|' /C calc'!A0", "@x", None)]);
        assert!(csv.contains(",'=cmd|' /C calc'!A0,"), "{csv}");
        assert!(csv.contains(",'@x,"), "{csv}");
    }
}
