//! Attachments refused by type, whatever a scanner says of them: programs
//! and scripts that mail has no business carrying to an office (`.exe`,
//! `.js`, disk images), by the extension of their file name. Attached
//! messages are looked into too.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

/// How deep attached messages are looked into.
const MAX_DEPTH: usize = 3;

/// The name of the first attachment whose extension is one of `blocked`
/// (lower case, with their dot).
pub fn first_blocked(message: &[u8], blocked: &[String]) -> Option<String> {
    if blocked.is_empty() {
        return None;
    }
    let parsed = MessageParser::new().parse(message)?;
    find(&parsed, blocked, 0)
}

fn find(message: &Message<'_>, blocked: &[String], depth: usize) -> Option<String> {
    for part in &message.parts {
        if let Some(name) = part.attachment_name()
            && is_blocked(name, blocked)
        {
            return Some(name.to_string());
        }
        if let PartType::Message(inner) = &part.body
            && depth < MAX_DEPTH
            && let Some(name) = find(inner, blocked, depth + 1)
        {
            return Some(name);
        }
    }
    None
}

/// Whether a file name ends in one of `blocked`. Windows drops trailing
/// dots and spaces from a name, so `fattura.exe. ` is an `.exe` too.
fn is_blocked(name: &str, blocked: &[String]) -> bool {
    let name = name.trim_end_matches(['.', ' ']).to_ascii_lowercase();
    blocked
        .iter()
        .any(|extension| name.ends_with(extension.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked() -> Vec<String> {
        [".exe", ".js", ".iso"].map(str::to_string).to_vec()
    }

    fn with_attachment(header: &str) -> Vec<u8> {
        format!(
            "From: a@example.org\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nciao\r\n\
             --b\r\n{header}\r\nContent-Transfer-Encoding: base64\r\n\r\nTVqQAAM=\r\n--b--\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn programs_are_found_by_their_name_however_it_is_given() {
        let cases = [
            (
                "Content-Type: application/octet-stream\r\n\
                 Content-Disposition: attachment; filename=\"Fattura.EXE\"",
                Some("Fattura.EXE"),
            ),
            (
                "Content-Type: application/javascript; name=\"avviso.js. \"",
                Some("avviso.js. "),
            ),
            (
                "Content-Type: application/octet-stream\r\n\
                 Content-Disposition: attachment; filename*=UTF-8''delibera%20n.1.iso",
                Some("delibera n.1.iso"),
            ),
            (
                "Content-Type: application/pdf\r\n\
                 Content-Disposition: attachment; filename=\"exe.pdf\"",
                None,
            ),
        ];
        for (header, expected) in cases {
            let found = first_blocked(&with_attachment(header), &blocked());
            assert_eq!(found.as_deref(), expected, "{header}");
        }
        assert_eq!(
            first_blocked(b"Subject: hi\r\n\r\nciao\r\n", &blocked()),
            None
        );
        assert_eq!(
            first_blocked(&with_attachment("Content-Type: x/y; name=a.exe"), &[]),
            None
        );
    }

    #[test]
    fn attached_messages_are_looked_into() {
        let inner = String::from_utf8(with_attachment(
            "Content-Type: application/octet-stream; name=\"setup.exe\"",
        ))
        .expect("ASCII");
        let outer = format!(
            "From: b@example.org\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n\
             --o\r\nContent-Type: text/plain\r\n\r\ninoltro\r\n\
             --o\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--o--\r\n"
        );
        assert_eq!(
            first_blocked(outer.as_bytes(), &blocked()).as_deref(),
            Some("setup.exe")
        );
    }
}
