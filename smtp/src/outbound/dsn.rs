//! Delivery status notifications for failed recipients (RFC 3464): a
//! `multipart/report; report-type=delivery-status` message (RFC 6522) with
//! a human-readable part, the `message/delivery-status` part, and the
//! original message's header as `text/rfc822-headers`. It is sent from the
//! null sender, so that it can never cause another bounce (RFC 5321 §6.1).

use mail_parser::DateTime;

/// One recipient the report is about.
#[derive(Debug, Clone)]
pub struct Failure {
    pub address: String,
    /// The DSN ORCPT parameter given at submission, `type;address`.
    pub orcpt: Option<String>,
    /// The enhanced status code (RFC 3463), such as `5.1.1`.
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
    pub failures: &'a [Failure],
    /// A unique token for Message-ID and the MIME boundary.
    pub token: &'a str,
    pub now: i64,
}

/// The report as a message, CRLF line ends.
pub fn build(report: &Report<'_>) -> Vec<u8> {
    let boundary = format!("postino-dsn-{}", report.token);
    let date = DateTime::from_timestamp(report.now).to_rfc822();
    let mut out = String::new();
    out.push_str(&format!(
        "From: Mail Delivery System <MAILER-DAEMON@{host}>\r\n\
         To: <{to}>\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
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
         Your message could not be delivered to the following recipients:\r\n\
         \r\n",
        host = report.hostname,
        to = report.sender,
        token = report.token,
    ));
    for failure in report.failures {
        out.push_str(&format!(
            "<{}>: {}\r\n",
            failure.address,
            one_line(&failure.diagnostic)
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
    for failure in report.failures {
        out.push_str("\r\n");
        if let Some(orcpt) = &failure.orcpt {
            out.push_str(&format!("Original-Recipient: {}\r\n", one_line(orcpt)));
        }
        out.push_str(&format!(
            "Final-Recipient: rfc822; {}\r\nAction: failed\r\nStatus: {}\r\n",
            failure.address, failure.status
        ));
        if let Some(mta) = &failure.remote_mta {
            out.push_str(&format!("Remote-MTA: dns; {mta}\r\n"));
        }
        out.push_str(&format!(
            "Diagnostic-Code: smtp; {}\r\nLast-Attempt-Date: {date}\r\n",
            one_line(&failure.diagnostic)
        ));
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
        let failures = [Failure {
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
            failures: &failures,
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
}
