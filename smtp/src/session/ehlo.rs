//! EHLO, HELO (RFC 5321 §4.1.1.1) and STARTTLS (RFC 3207).

use std::net::IpAddr;

use super::{Helo, Identity, Next, Session, State};
use crate::ListenerKind;
use crate::error;
use crate::proto::Reply;

impl Session {
    pub(super) fn ehlo(&mut self, name: String, extended: bool) -> Reply {
        if self.kind == ListenerKind::Mx && !self.authenticated() && self.is_our_name(&name) {
            tracing::info!(helo = name, "refused: our own name from outside");
            return error::our_own_name();
        }
        let hostname = &self.settings().hostname;
        let reply = if extended {
            let mut lines = vec![
                format!("{hostname} Hello {name}").into(),
                "PIPELINING".into(),
                format!("SIZE {}", self.settings().max_message_size).into(),
                "8BITMIME".into(),
                "SMTPUTF8".into(),
                "ENHANCEDSTATUSCODES".into(),
                "CHUNKING".into(),
                "DSN".into(),
            ];
            if !self.conn.is_tls() {
                lines.push("STARTTLS".into());
            }
            if self.auth_offered() {
                lines.push("AUTH PLAIN LOGIN".into());
            }
            Reply::plain(250, lines)
        } else {
            Reply::plain(250, vec![format!("{hostname} Hello {name}").into()])
        };
        // A new greeting ends any transaction (RFC 5321 §4.1.4).
        self.state = State::Greeted(Helo { name, extended });
        reply
    }

    /// Whether an EHLO name is our host name or our address literal, which
    /// no other server has any business giving.
    fn is_our_name(&self, name: &str) -> bool {
        let hostname = self.settings().hostname.trim_end_matches('.');
        if name.trim_end_matches('.').eq_ignore_ascii_case(hostname) {
            return true;
        }
        let literal = name.strip_prefix('[').and_then(|n| n.strip_suffix(']'));
        let ip = literal.map(|l| l.strip_prefix("IPv6:").unwrap_or(l));
        match (ip.and_then(|ip| ip.parse::<IpAddr>().ok()), self.local) {
            (Some(ip), Some(local)) => ip.to_canonical() == local.to_canonical(),
            _ => false,
        }
    }

    /// AUTH is offered on submission, over TLS or where allowed in clear.
    pub(super) fn auth_offered(&self) -> bool {
        self.kind.is_submission() && (self.conn.is_tls() || self.settings().allow_plaintext_auth)
    }

    /// Checks STARTTLS and says go ahead; the session loop then switches
    /// the connection and calls [`Session::tls_started`].
    pub(super) fn start_tls(&mut self) -> Next {
        if self.conn.is_tls() {
            self.send(Reply::new(503, "5.5.1", "Already using TLS"));
            return Next::Continue;
        }
        self.send(Reply::new(220, "2.0.0", "Ready to start TLS"));
        Next::StartTls
    }

    /// Everything learned in clear is forgotten (RFC 3207 §4.2).
    pub(super) fn tls_started(&mut self) {
        self.state = State::Connected;
        // Who the address says the client is still holds; a login does not.
        if !matches!(&self.identity, Identity::Relay(relay) if relay.by_address) {
            self.identity = Identity::Anonymous;
        }
        tracing::debug!("TLS started");
    }
}
