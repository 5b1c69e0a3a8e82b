//! [`Chain`]: how every service logs an error, with its causes.

use std::fmt;

/// An error and its causes, `outer: inner: …`; a cause whose text the
/// error before it already gave (as sqlx's database errors give their
/// source's) is not repeated.
pub struct Chain<'a>(pub &'a dyn std::error::Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut said = self.0.to_string();
        f.write_str(&said)?;
        let mut cause = self.0.source();
        while let Some(err) = cause {
            let text = err.to_string();
            if !said.contains(&text) {
                write!(f, ": {text}")?;
            }
            said = text;
            cause = err.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("error returned from database: {0}")]
    struct Repeating(#[source] std::io::Error);

    #[test]
    fn every_cause_is_named_once() {
        let err = Outer(std::io::Error::other("inner"));
        assert_eq!(Chain(&err).to_string(), "outer: inner");
        let repeating = Repeating(std::io::Error::other("no such table: domains"));
        assert_eq!(
            Chain(&repeating).to_string(),
            "error returned from database: no such table: domains"
        );
    }
}
