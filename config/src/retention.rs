//! `[retention]`: how long Postino keeps what it records about people
//! beside their mail: delivery and login metadata of employees (kept 21
//! days by default, as the Italian Garante's provvedimento 364 of 6 June
//! 2024 expects), and the administrators' access and audit logs (at least
//! six months, as its provvedimento of 27 November 2008 requires).

use serde::Deserialize;

use crate::duration::HumanDuration;

/// `[retention]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// How long employee mail metadata is kept: sending-limit counters,
    /// failed and known logins, out-of-office reply records, the users'
    /// login history (a duration such as `"21d"`), at least 1d. Default
    /// `"21d"`.
    pub metadata: HumanDuration,
    /// How long the administrators' access log and the audit log of
    /// changes are kept (a duration such as `"6mo"` or `"365d"`; a month is
    /// 30 days), at least 6mo. Default `"6mo"`.
    pub admin_log: HumanDuration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            metadata: crate::defaults::retention_metadata(),
            admin_log: crate::defaults::retention_admin_log(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RetentionConfig, String> {
        crate::parse(text, std::path::Path::new("postino.toml"))
            .map(|config| config.retention)
            .map_err(|err| err.to_string())
    }

    #[test]
    fn defaults_follow_the_garante() {
        let config = parse("").expect("valid");
        assert_eq!(config.metadata, HumanDuration::from_secs(21 * 86_400));
        assert_eq!(config.admin_log, HumanDuration::from_secs(180 * 86_400));
        let config =
            parse("[retention]\nmetadata = \"7d\"\nadmin_log = \"12mo\"\n").expect("valid");
        assert_eq!(config.metadata, HumanDuration::from_secs(7 * 86_400));
        assert_eq!(config.admin_log, HumanDuration::from_secs(360 * 86_400));
    }

    #[test]
    fn an_admin_log_under_six_months_is_refused() {
        let error = parse("[retention]\nadmin_log = \"90d\"\n").expect_err("refused");
        assert_eq!(
            error,
            "postino.toml:2: retention.admin_log: must be at least 6mo (180 days), not 90d"
        );
        let error = parse("[retention]\n\nmetadata = \"1h\"\n").expect_err("refused");
        assert_eq!(
            error,
            "postino.toml:3: retention.metadata: must be at least 1d, not 1h"
        );
    }
}
