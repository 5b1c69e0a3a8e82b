//! A password from the configuration file, kept out of logs: its `Debug`
//! shows that one is set, never what it is.

use std::fmt;

use serde::Deserialize;

/// A password for a service Postino is a client of.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let shown = format!("{:?}", Some(Password("hunter2".to_owned())));
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
