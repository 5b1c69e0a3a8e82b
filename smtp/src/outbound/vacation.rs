//! The automatic reply a Sieve `vacation` action sends (RFC 5230 section
//! 5 and RFC 3834): to the message's sender, from the user, marked
//! `Auto-Submitted: auto-replied` so that other responders leave it alone,
//! and threaded to the message it answers. It goes out through the queue
//! like any mail of the user's domain, signed with its DKIM keys, from the
//! null sender so that it cannot bounce back to a responder.

use base64::Engine;
use mail_parser::{DateTime, HeaderValue, MessageParser};

/// What a reply needs.
pub struct Reply<'a> {
    /// The user's address, or the script's `:from`.
    pub from: &'a str,
    /// Who the reply goes to: the message's envelope sender.
    pub to: &'a str,
    pub subject: &'a str,
    /// The text, or a whole MIME entity (its header fields and body) when
    /// `mime` is set.
    pub reason: &'a str,
    pub mime: bool,
    /// The message replied to, for its Message-ID and References.
    pub original: &'a [u8],
    pub hostname: &'a str,
    /// A unique token for the reply's Message-ID.
    pub token: &'a str,
    pub now: i64,
}

/// The reply as a message, CRLF line ends.
pub fn build(reply: &Reply<'_>) -> Vec<u8> {
    let date = DateTime::from_timestamp(reply.now).to_rfc822();
    let mut out = format!(
        "From: <{from}>\r\n\
         To: <{to}>\r\n\
         Subject: {subject}\r\n\
         Date: {date}\r\n\
         Message-ID: <vacation-{token}@{host}>\r\n",
        from = reply.from,
        to = reply.to,
        subject = encoded_word(reply.subject),
        token = reply.token,
        host = reply.hostname,
    );
    if let Some((id, references)) = thread(reply.original) {
        out.push_str(&format!("In-Reply-To: <{id}>\r\n"));
        let mut all: Vec<String> = references.iter().map(|r| format!("<{r}>")).collect();
        all.push(format!("<{id}>"));
        out.push_str(&format!("References: {}\r\n", all.join("\r\n ")));
    }
    out.push_str("Auto-Submitted: auto-replied (vacation)\r\nMIME-Version: 1.0\r\n");
    if reply.mime {
        // The script wrote the entity's own header fields and body.
        out.push_str(&normalise_line_ends(reply.reason));
    } else if reply.reason.is_ascii() {
        out.push_str("Content-Type: text/plain; charset=us-ascii\r\n\r\n");
        out.push_str(&normalise_line_ends(reply.reason));
    } else {
        out.push_str(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        );
        let text = normalise_line_ends(reply.reason);
        let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
        for line in encoded.as_bytes().chunks(76) {
            out.push_str(std::str::from_utf8(line).unwrap_or_default());
            out.push_str("\r\n");
        }
    }
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// The original's Message-ID and the References before it, if it has one.
fn thread(original: &[u8]) -> Option<(String, Vec<String>)> {
    let message = MessageParser::new().parse_headers(original)?;
    let id = message.message_id()?.to_string();
    let references = match message.references() {
        HeaderValue::Text(one) => vec![one.to_string()],
        HeaderValue::TextList(many) => many.iter().map(|r| r.to_string()).collect(),
        _ => Vec::new(),
    };
    Some((id, references))
}

/// `text` as it may stand in a header field: itself if it is printable
/// ASCII, else RFC 2047 encoded words of UTF-8 in base64, each within the
/// 75 characters a word may have.
fn encoded_word(text: &str) -> String {
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    if text.is_ascii() {
        return text;
    }
    // 39 bytes make 52 characters of base64, 64 with the word's framing:
    // the first word fits on the line after `Subject: `.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 39 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    words
        .iter()
        .map(|word| {
            let encoded = base64::engine::general_purpose::STANDARD.encode(word.as_bytes());
            format!("=?utf-8?b?{encoded}?=")
        })
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// Every line end as CRLF.
fn normalise_line_ends(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &[u8] = b"From: Bruno <bruno@esterno.example>\r\n\
        To: anna@comune.test\r\n\
        Subject: Pratica 12\r\n\
        Message-ID: <due@esterno.example>\r\n\
        References: <uno@esterno.example>\r\n\
        \r\n\
        Buongiorno.\r\n";

    fn reply<'a>(subject: &'a str, reason: &'a str, mime: bool) -> Reply<'a> {
        Reply {
            from: "anna@comune.test",
            to: "bruno@esterno.example",
            subject,
            reason,
            mime,
            original: ORIGINAL,
            hostname: "mx.comune.test",
            token: "abc123",
            now: 1_796_600_000,
        }
    }

    fn parsed(bytes: &[u8]) -> mail_parser::Message<'_> {
        MessageParser::new().parse(bytes).expect("a message")
    }

    #[test]
    fn a_reply_is_threaded_and_marked_as_automatic() {
        let bytes = build(&reply(
            "Auto: Pratica 12",
            "Sono in ferie fino al 20.\nA presto.",
            false,
        ));
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains("\r\nAuto-Submitted: auto-replied (vacation)\r\n"),
            "{text}"
        );
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "bare LF in {text}"
        );
        let message = parsed(&bytes);
        assert_eq!(message.subject(), Some("Auto: Pratica 12"));
        assert_eq!(message.in_reply_to().as_text(), Some("due@esterno.example"));
        assert_eq!(
            message.references().as_text_list().map(|r| r.to_vec()),
            Some(vec![
                "uno@esterno.example".into(),
                "due@esterno.example".into()
            ])
        );
        assert_eq!(message.message_id(), Some("vacation-abc123@mx.comune.test"));
        assert_eq!(
            message.body_text(0).as_deref(),
            Some("Sono in ferie fino al 20.\r\nA presto.\r\n")
        );
    }

    #[test]
    fn accented_subjects_and_texts_are_encoded() {
        let subject =
            "Risposta automatica: sarò assente fino a lunedì, per la pratica più lunga dell'anno";
        let bytes = build(&reply(subject, "Tornerò lunedì.", false));
        assert!(bytes.is_ascii(), "{}", String::from_utf8_lossy(&bytes));
        let message = parsed(&bytes);
        assert_eq!(message.subject(), Some(subject));
        assert_eq!(message.body_text(0).as_deref(), Some("Tornerò lunedì."));
        for line in String::from_utf8(bytes).unwrap().lines() {
            assert!(line.len() <= 78, "{line}");
        }
    }

    #[test]
    fn a_mime_reason_is_the_replys_own_entity() {
        let entity = "Content-Type: text/html; charset=utf-8\r\n\r\n<p>In ferie</p>\r\n";
        let message_bytes = build(&reply("Assente", entity, true));
        let message = parsed(&message_bytes);
        assert_eq!(message.body_html(0).as_deref(), Some("<p>In ferie</p>\r\n"));
    }

    #[test]
    fn a_message_without_an_id_gets_an_unthreaded_reply() {
        let original = b"From: x@esterno.example\r\nSubject: s\r\n\r\nbody\r\n";
        let bytes = build(&Reply {
            original,
            ..reply("Auto: s", "via", false)
        });
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            !text.contains("In-Reply-To") && !text.contains("References"),
            "{text}"
        );
    }
}
