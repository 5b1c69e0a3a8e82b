//! `[log]`: how the process writes its log to standard error. Under
//! systemd that is the journal, which adds its own time stamps (see
//! `admin/src/cli/logging.rs`).

use serde::Deserialize;

/// `[log]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `"text"`, one line per event for people, or `"json"`, one JSON
    /// object per line for log collectors. Default `"text"`.
    pub format: LogFormat,
}

/// The shape of each log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LogConfig, String> {
        crate::parse(text, std::path::Path::new("postino.toml"))
            .map(|config| config.log)
            .map_err(|err| err.to_string())
    }

    #[test]
    fn text_unless_json_is_asked_for() {
        assert_eq!(parse("").expect("valid").format, LogFormat::Text);
        let json = parse("[log]\nformat = \"json\"\n").expect("valid");
        assert_eq!(json.format, LogFormat::Json);
        let error = parse("[log]\nformat = \"xml\"\n").expect_err("refused");
        assert!(error.starts_with("postino.toml:2: log.format: "), "{error}");
    }
}
