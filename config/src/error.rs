//! The one error type of this crate: what is wrong, in which file, on which
//! line, under which dotted key, so an operator can go straight to it.

use std::io;
use std::path::{Path, PathBuf};

/// A configuration that cannot be read or is not acceptable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file that was to be read.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: io::Error,
    },
    /// The text is not TOML, or an error could not be tied to a key.
    #[error("{}: {message}", at(file, *line))]
    Syntax {
        /// The file the text came from.
        file: PathBuf,
        /// 1-based line of the error, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A key is unknown, or its value is of the wrong type or not acceptable.
    #[error("{}: {key}: {message}", at(file, *line))]
    Invalid {
        /// The file the text came from.
        file: PathBuf,
        /// 1-based line of the key, or `None` when the key is not in the file.
        line: Option<usize>,
        /// Dotted path of the offending key, e.g. `smtp.max_message_size`.
        key: String,
        /// What is wrong, naming the offending value.
        message: String,
    },
}

impl ConfigError {
    /// 1-based line the error refers to, if there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Io { .. } => None,
            ConfigError::Syntax { line, .. } | ConfigError::Invalid { line, .. } => *line,
        }
    }

    /// Dotted path of the offending key, if the error is about one key.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            ConfigError::Io { .. } | ConfigError::Syntax { .. } => None,
        }
    }
}

/// `file:line`, or just `file` when the line is unknown.
fn at(file: &Path, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("{}:{line}", file.display()),
        None => file.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_file_line_key_and_message() {
        let err = ConfigError::Invalid {
            file: PathBuf::from("postino.toml"),
            line: Some(9),
            key: "smtp.max_message_size".to_owned(),
            message: "invalid size `12 parsecs`".to_owned(),
        };
        assert_eq!(
            err.to_string(),
            "postino.toml:9: smtp.max_message_size: invalid size `12 parsecs`"
        );
        assert_eq!(err.line(), Some(9));
        assert_eq!(err.key(), Some("smtp.max_message_size"));
    }

    #[test]
    fn omits_an_unknown_line() {
        let err = ConfigError::Syntax {
            file: PathBuf::from("/etc/postino.toml"),
            line: None,
            message: "broken".to_owned(),
        };
        assert_eq!(err.to_string(), "/etc/postino.toml: broken");
    }

    #[test]
    fn io_error_names_the_file() {
        let err = ConfigError::Io {
            path: PathBuf::from("/nope.toml"),
            source: io::Error::new(io::ErrorKind::NotFound, "not found"),
        };
        assert_eq!(err.to_string(), "cannot read /nope.toml: not found");
    }
}
