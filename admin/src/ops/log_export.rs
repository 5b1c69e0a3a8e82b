//! The administrators' logs for an inspection: their hash chains checked
//! (`postino audit verify`), and both logs exported between two times with
//! each entry's hashes, as JSON or CSV (`postino audit export`, the
//! console's audit page). Provincial admins only: the chains run through
//! every domain's entries.

use postino_common::store::{AccessRecord, AuditRecord, ChainReport, LogChain, now};
use serde::Serialize;

use super::audit::{AUDIT_COLUMNS, audit_fields, csv_table, rfc3339};
use super::{Ops, OpsError, Result};

/// Both logs between two times, with what verifies them.
#[derive(Debug, Serialize)]
pub struct LogExport {
    /// Seconds since the epoch, inclusive.
    pub since: i64,
    /// Seconds since the epoch, exclusive.
    pub until: i64,
    /// Each chain as verified when the export was made.
    pub chains: Vec<ChainReport>,
    /// Changes, oldest first.
    pub audit: Vec<AuditRecord>,
    /// Administrators' logins, oldest first.
    pub access: Vec<AccessRecord>,
}

impl Ops {
    /// Checks the chain of every log.
    pub async fn verify_logs(&self) -> Result<Vec<ChainReport>> {
        self.require_all_domains("verify the audit logs")?;
        let mut reports = Vec::new();
        for chain in LogChain::ALL {
            reports.push(self.store.verify_chain(chain).await?);
        }
        Ok(reports)
    }

    /// Both logs from `since` (default: the start) until `until` (default:
    /// now), seconds since the epoch.
    pub async fn export_logs(&self, since: Option<i64>, until: Option<i64>) -> Result<LogExport> {
        let since = since.unwrap_or(0);
        let until = until.unwrap_or_else(|| now() + 1);
        if until <= since {
            return Err(OpsError::Invalid {
                field: "until",
                message: "must be later than since".to_string(),
            });
        }
        let chains = self.verify_logs().await?;
        Ok(LogExport {
            since,
            until,
            chains,
            audit: self.store.audit_between(since, until).await?,
            access: self.store.admin_accesses(since, until).await?,
        })
    }
}

impl LogExport {
    /// One CSV table of both logs, changes first then logins, each oldest
    /// first (RFC 4180). A login's action is `login.METHOD` (with
    /// `.refused` when refused) and its target the detail.
    pub fn csv(&self) -> String {
        let changes = self.audit.iter().map(|r| {
            let mut fields = vec!["audit".to_string()];
            fields.extend(audit_fields(r));
            fields.push(r.prev_hash.clone().unwrap_or_default());
            fields.push(r.hash.clone().unwrap_or_default());
            fields
        });
        let logins = self.access.iter().map(|r| {
            let refused = if r.succeeded { "" } else { ".refused" };
            vec![
                "access".to_string(),
                r.id.to_string(),
                rfc3339(r.at),
                r.who.clone(),
                r.origin.clone(),
                format!("login.{}{refused}", r.method),
                String::new(),
                r.detail.clone(),
                String::new(),
                String::new(),
                r.prev_hash.clone(),
                r.hash.clone(),
            ]
        });
        let mut columns = vec!["log"];
        columns.extend(AUDIT_COLUMNS);
        columns.extend(["prev_hash", "hash"]);
        csv_table(&columns, changes.chain(logins))
    }
}
