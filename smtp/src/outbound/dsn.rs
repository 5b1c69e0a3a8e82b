//! Delivery status notifications (RFC 3464) for failed recipients (a
//! bounce, `Action: failed`) and for recipients still being retried (a
//! delay notice, `Action: delayed` with `Will-Retry-Until`): a
//! `multipart/report; report-type=delivery-status` message (RFC 6522) with
//! a human-readable part, the `message/delivery-status` part, and the
//! original message's header as `text/rfc822-headers`. It is sent from the
//! null sender, so that it can never cause another bounce (RFC 5321 §6.1).

use mail_parser::DateTime;

/// What happened to the recipients of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Given up.
    Failed,
    /// Still being retried, until `retry_until` (Unix seconds).
    Delayed { retry_until: i64 },
}

/// One recipient the report is about.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub address: String,
    /// The DSN ORCPT parameter given at submission, `type;address`.
    pub orcpt: Option<String>,
    /// The enhanced status code (RFC 3463): `5.x.x` for a failure, such as
    /// `5.1.1`, `4.x.x` for a delay.
    pub status: String,
    /// The remote reply, or our own explanation.
    pub diagnostic: String,
    /// The host that gave the reply, if one did.
    pub remote_mta: Option<String>,
}

/// What a report needs about the message.
pub struct Report<'a> {
    /// Our host name, the Reporting-MTA.
    pub hostname: &'a str,
    /// Who gets the report.
    pub sender: &'a str,
    pub envid: Option<&'a str>,
    /// When the message was queued, Unix seconds.
    pub arrival: i64,
    /// The original message, without `Return-Path`.
    pub original: &'a [u8],
    pub action: Action,
    pub recipients: &'a [Recipient],
    /// A unique token for Message-ID and the MIME boundary.
    pub token: &'a str,
    pub now: i64,
}

/// The report as a message, CRLF line ends.
pub fn build(report: &Report<'_>) -> Vec<u8> {
    let boundary = format!("postino-dsn-{}", report.token);
    let date = DateTime::from_timestamp(report.now).to_rfc822();
    let (subject, action, explanation) = match report.action {
        Action::Failed => (
            "Undelivered Mail Returned to Sender",
            "failed",
            "Your message could not be delivered to the following recipients:".to_owned(),
        ),
        Action::Delayed { retry_until } => (
            "Delayed Mail (still being retried)",
            "delayed",
            format!(
                "Your message could not be delivered yet to the following recipients.\r\n\
                 This is only a warning: you need not send it again. Delivery will be\r\n\
                 tried until {}.",
                DateTime::from_timestamp(retry_until).to_rfc822()
            ),
        ),
    };
    let mut out = String::new();
    out.push_str(&format!(
        "From: Mail Delivery System <MAILER-DAEMON@{host}>\r\n\
         To: <{to}>\r\n\
         Subject: {subject}\r\n\
         Date: {date}\r\n\
         Message-ID: <dsn-{token}@{host}>\r\n\
         Auto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status;\r\n\
         \tboundary=\"{boundary}\"\r\n\
         \r\n\
         This is a delivery status notification (RFC 3464).\r\n\
         \r\n--{boundary}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         This is the mail system at {host}.\r\n\
         \r\n\
         {explanation}\r\n\
         \r\n",
        host = report.hostname,
        to = report.sender,
        token = report.token,
    ));
    for recipient in report.recipients {
        out.push_str(&format!(
            "<{}>: {}\r\n",
            recipient.address,
            one_line(&recipient.diagnostic)
        ));
    }
    out.push_str(&format!(
        "\r\n--{boundary}\r\n\
         Content-Type: message/delivery-status\r\n\
         \r\n\
         Reporting-MTA: dns; {host}\r\n",
        host = report.hostname
    ));
    if let Some(envid) = report.envid {
        out.push_str(&format!("Original-Envelope-Id: {}\r\n", one_line(envid)));
    }
    out.push_str(&format!(
        "Arrival-Date: {}\r\n",
        DateTime::from_timestamp(report.arrival).to_rfc822()
    ));
    for recipient in report.recipients {
        out.push_str("\r\n");
        if let Some(orcpt) = &recipient.orcpt {
            out.push_str(&format!("Original-Recipient: {}\r\n", one_line(orcpt)));
        }
        out.push_str(&format!(
            "Final-Recipient: rfc822; {}\r\nAction: {action}\r\nStatus: {}\r\n",
            recipient.address, recipient.status
        ));
        if let Some(mta) = &recipient.remote_mta {
            out.push_str(&format!("Remote-MTA: dns; {mta}\r\n"));
        }
        out.push_str(&format!(
            "Diagnostic-Code: smtp; {}\r\nLast-Attempt-Date: {date}\r\n",
            one_line(&recipient.diagnostic)
        ));
        if let Action::Delayed { retry_until } = report.action {
            out.push_str(&format!(
                "Will-Retry-Until: {}\r\n",
                DateTime::from_timestamp(retry_until).to_rfc822()
            ));
        }
    }
    out.push_str(&format!(
        "\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(header_section(report.original));
    bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    bytes
}

/// The header section of a message, up to and including the line end
/// before the empty line.
fn header_section(message: &[u8]) -> &[u8] {
    let end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 2)
        .unwrap_or(message.len());
    &message[..end]
}

/// Text fit for one header line: control characters become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_name_each_recipient_and_its_reply() {
        let failures = [Recipient {
            address: "nessuno@esterno.example".to_owned(),
            orcpt: Some("rfc822;nessuno@esterno.example".to_owned()),
            status: "5.1.1".to_owned(),
            diagnostic: "550 5.1.1 no such user".to_owned(),
            remote_mta: Some("mx.esterno.example".to_owned()),
        }];
        let original = b"From: anna@comune.example\r\nSubject: Prova\r\n\r\nsecret body\r\n";
        let report = build(&Report {
            hostname: "mx.comune.example",
            sender: "anna@comune.example",
            envid: Some("id42"),
            arrival: 0,
            original,
            action: Action::Failed,
            recipients: &failures,
            token: "abc",
            now: 60,
        });
        let text = String::from_utf8(report).expect("UTF-8");
        for expected in [
            "To: <anna@comune.example>\r\n",
            "Content-Type: multipart/report; report-type=delivery-status;",
            "Reporting-MTA: dns; mx.comune.example\r\n",
            "Original-Envelope-Id: id42\r\n",
            "Original-Recipient: rfc822;nessuno@esterno.example\r\n",
            "Final-Recipient: rfc822; nessuno@esterno.example\r\n",
            "Action: failed\r\n",
            "Status: 5.1.1\r\n",
            "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n",
            "Content-Type: text/rfc822-headers\r\n\r\nFrom: anna@comune.example\r\nSubject: Prova\r\n\r\n--",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from {text}");
        }
        assert!(!text.contains("secret body"), "{text}");
        assert!(text.ends_with("--postino-dsn-abc--\r\n"));
        let parsed = mail_parser::MessageParser::default()
            .parse(text.as_bytes())
            .expect("parses");
        assert_eq!(parsed.parts.len(), 4, "the report and its three parts");
    }

    #[test]
    fn delay_notices_say_until_when_delivery_is_tried() {
        let delayed = [Recipient {
            address: "amico@esterno.example".to_owned(),
            orcpt: None,
            status: "4.3.0".to_owned(),
            diagnostic: "451 4.3.0 try again later".to_owned(),
            remote_mta: Some("mx.esterno.example".to_owned()),
        }];
        let report = build(&Report {
            hostname: "mx.comune.example",
            sender: "anna@comune.example",
            envid: None,
            arrival: 0,
            original: b"Subject: Prova\r\n\r\nbody\r\n",
            action: Action::Delayed {
                retry_until: 432_000,
            },
            recipients: &delayed,
            token: "def",
            now: 14_400,
        });
        let text = String::from_utf8(report).expect("UTF-8");
        let until = DateTime::from_timestamp(432_000).to_rfc822();
        for expected in [
            "Subject: Delayed Mail (still being retried)\r\n".to_owned(),
            format!("Delivery will be\r\ntried until {until}."),
            "Final-Recipient: rfc822; amico@esterno.example\r\n".to_owned(),
            "Action: delayed\r\nStatus: 4.3.0\r\n".to_owned(),
            "Diagnostic-Code: smtp; 451 4.3.0 try again later\r\n".to_owned(),
            format!("Will-Retry-Until: {until}\r\n"),
        ] {
            assert!(text.contains(&expected), "{expected:?} missing from {text}");
        }
        assert!(!text.contains("Action: failed"), "{text}");
        assert!(!text.contains("Original-Envelope-Id"), "{text}");
        let parsed = mail_parser::MessageParser::default()
            .parse(text.as_bytes())
            .expect("parses");
        assert_eq!(parsed.parts.len(), 4, "the report and its three parts");
    }
}
