//! Attachments refused by type, whatever a scanner says of them: programs
//! and scripts that mail has no business carrying to an office (`.exe`,
//! `.js`, disk images), by the extension of their file name, attached or
//! inside a ZIP archive; and, only inside an archive, where no scanner
//! sees them, macro-enabled Office files ([`archive`]). Attached messages
//! are looked into too.

mod archive;

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};

/// How deep attached messages are looked into.
const MAX_DEPTH: usize = 3;

/// The name of the first attachment whose extension is one of `blocked`,
/// or of the first entry of an attached ZIP archive whose extension is one
/// of `blocked` or `in_archives` (all lower case, with their dot), as
/// `archive.zip/entry`.
pub fn first_blocked(message: &[u8], blocked: &[String], in_archives: &[String]) -> Option<String> {
    if blocked.is_empty() && in_archives.is_empty() {
        return None;
    }
    let parsed = MessageParser::new().parse(message)?;
    find(&parsed, blocked, in_archives, 0)
}

fn find(
    message: &Message<'_>,
    blocked: &[String],
    in_archives: &[String],
    depth: usize,
) -> Option<String> {
    for part in &message.parts {
        let name = part.attachment_name();
        if let Some(name) = name
            && is_blocked(name, blocked)
        {
            return Some(name.to_string());
        }
        if let PartType::Binary(contents) | PartType::InlineBinary(contents) = &part.body
            && let Some(entry) = archive::first_entry(contents, says_zip(part), |entry| {
                is_blocked(entry, blocked.iter().chain(in_archives))
            })
        {
            return Some(match name {
                Some(name) => format!("{name}/{entry}"),
                None => entry,
            });
        }
        if let PartType::Message(inner) = &part.body
            && depth < MAX_DEPTH
            && let Some(name) = find(inner, blocked, in_archives, depth + 1)
        {
            return Some(name);
        }
    }
    None
}

/// Whether a part calls itself a ZIP archive, by its file name or its
/// content type (the one mail clients on Windows give it, too).
fn says_zip(part: &MessagePart<'_>) -> bool {
    let named = part
        .attachment_name()
        .is_some_and(|name| as_windows_reads(name).ends_with(".zip"));
    let typed = part.content_type().is_some_and(|content_type| {
        content_type.ctype().eq_ignore_ascii_case("application")
            && content_type.subtype().is_some_and(|subtype| {
                subtype.eq_ignore_ascii_case("zip")
                    || subtype.eq_ignore_ascii_case("x-zip-compressed")
            })
    });
    named || typed
}

/// Whether a file name ends in one of `blocked`.
fn is_blocked<'a>(name: &str, blocked: impl IntoIterator<Item = &'a String>) -> bool {
    let name = as_windows_reads(name);
    blocked
        .into_iter()
        .any(|extension| name.ends_with(extension.as_str()))
}

/// A file name as Windows reads it, for its extension: in lower case and
/// without trailing dots and spaces, which Windows drops, so that
/// `fattura.exe. ` is an `.exe`.
fn as_windows_reads(name: &str) -> String {
    name.trim_end_matches(['.', ' ']).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as BASE64;

    use super::*;

    fn blocked() -> Vec<String> {
        [".exe", ".js", ".iso"].map(str::to_string).to_vec()
    }

    fn with_attachment(header: &str) -> Vec<u8> {
        with_contents(header, b"MZ\x90\x00\x03")
    }

    /// A message with an attachment of `contents`, whose MIME header is
    /// `header`.
    fn with_contents(header: &str, contents: &[u8]) -> Vec<u8> {
        format!(
            "From: a@example.org\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nciao\r\n\
             --b\r\n{header}\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
            BASE64.encode(contents)
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
            let found = first_blocked(&with_attachment(header), &blocked(), &[]);
            assert_eq!(found.as_deref(), expected, "{header}");
        }
        assert_eq!(
            first_blocked(b"Subject: hi\r\n\r\nciao\r\n", &blocked(), &[]),
            None
        );
        assert_eq!(
            first_blocked(&with_attachment("Content-Type: x/y; name=a.exe"), &[], &[]),
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
            first_blocked(outer.as_bytes(), &blocked(), &[]).as_deref(),
            Some("setup.exe")
        );
    }

    #[test]
    fn archives_are_looked_into() {
        let in_archives = [".docm".to_string()];
        let zip = archive::archive(&["leggimi.txt", "macro.docm"], None);
        let cases = [
            (
                "Content-Type: application/zip; name=\"fattura.zip\"",
                Some("fattura.zip/macro.docm"),
            ),
            (
                "Content-Type: application/x-zip-compressed",
                Some("macro.docm"),
            ),
            (
                "Content-Type: application/octet-stream\r\n\
                 Content-Disposition: attachment; filename=\"FATTURA.ZIP\"",
                Some("FATTURA.ZIP/macro.docm"),
            ),
            (
                "Content-Type: application/octet-stream; name=\"fattura\"",
                Some("fattura/macro.docm"),
            ),
        ];
        for (header, expected) in cases {
            let found = first_blocked(&with_contents(header, &zip), &[], &in_archives);
            assert_eq!(found.as_deref(), expected, "{header}");
        }
        let program = archive::archive(&["setup.exe"], None);
        assert_eq!(
            first_blocked(
                &with_contents("Content-Type: application/zip; name=a.zip", &program),
                &blocked(),
                &in_archives,
            )
            .as_deref(),
            Some("a.zip/setup.exe"),
            "what is refused attached is refused inside"
        );
        let harmless = archive::archive(&["delibera.pdf", "determina.docx"], None);
        let header = "Content-Type: application/zip; name=atti.zip";
        assert_eq!(
            first_blocked(&with_contents(header, &harmless), &blocked(), &in_archives),
            None
        );
    }

    #[test]
    fn macro_documents_pass_unless_archived_or_blocked() {
        let header = "Content-Type: application/vnd.ms-word.document.macroEnabled.12; \
                      name=\"modulo.docm\"";
        let document = archive::archive(&["[Content_Types].xml", "word/vbaProject.bin"], None);
        let message = with_contents(header, &document);
        assert_eq!(
            first_blocked(&message, &blocked(), &[".docm".to_string()]),
            None
        );
        assert_eq!(
            first_blocked(&message, &[".docm".to_string()], &[]).as_deref(),
            Some("modulo.docm")
        );
    }
}
