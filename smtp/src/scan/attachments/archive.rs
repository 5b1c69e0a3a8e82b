//! The file names inside a ZIP archive attached to a message, read from the
//! archive's central directory (PKWARE's APPNOTE.TXT, section 4.3.12)
//! without unpacking anything: they are there in the clear even when the
//! entries are encrypted, which is how phishing hides a macro document
//! from scanners.
//!
//! Only the archive's own entries are looked at, not archives within it.
//! An archive that cannot be read is one we cannot tell about: the message
//! is not refused for it (clamd, if any, still sees it).

use std::io::Cursor;

use zip::ZipArchive;

/// The signature of a local file header, with which a ZIP archive starts
/// (APPNOTE.TXT 4.3.7).
const MAGIC: &[u8] = b"PK\x03\x04";

/// Root entries that make a ZIP file a document package rather than an
/// archive: `[Content_Types].xml` in Office Open XML (ECMA-376 part 2),
/// `mimetype` in OpenDocument and EPUB.
const PACKAGE_MARKERS: [&[u8]; 2] = [b"[Content_Types].xml", b"mimetype"];

/// The name of the first entry of `contents` for which `refused` holds,
/// if `contents` is a ZIP archive that can be read.
///
/// `declared` says that the attachment calls itself a ZIP archive (by its
/// name or content type); otherwise it is taken for one by its first bytes
/// only, and a document package (`.docx`, `.odt`) is not: its entries are
/// for the program that opens it, and a workbook embedded in a letter is
/// stored as `word/embeddings/…Macro-Enabled_Worksheet1.xlsm`.
pub fn first_entry(
    contents: &[u8],
    declared: bool,
    refused: impl Fn(&str) -> bool,
) -> Option<String> {
    if !declared && !contents.starts_with(MAGIC) {
        return None;
    }
    let archive = match ZipArchive::new(Cursor::new(contents)) {
        Ok(archive) => archive,
        Err(err) => {
            tracing::debug!(error = %err, "an attached ZIP archive cannot be read");
            return None;
        }
    };
    if !declared
        && archive
            .file_names_raw()
            .any(|name| PACKAGE_MARKERS.contains(&name))
    {
        return None;
    }
    // Names not in UTF-8 are in CP437 (APPNOTE.TXT appendix D), whose
    // ASCII half is ASCII, so an extension reads the same either way.
    archive
        .file_names_raw()
        .map(String::from_utf8_lossy)
        .find(|name| refused(name))
        .map(|name| name.into_owned())
}

/// A ZIP archive of `names`, each holding a line of text, encrypted with
/// ZipCrypto when `password` is given.
#[cfg(test)]
pub(super) fn archive(names: &[&str], password: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write;

    // ZipCrypto is deprecated, and its writer's option "unstable": it is
    // what phishing uses all the same, since Windows opens it.
    use zip::unstable::write::FileOptionsExt;

    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for name in names {
        let options = match password {
            Some(password) => options
                .with_deprecated_encryption(password)
                .expect("ZipCrypto options"),
            None => options,
        };
        writer.start_file(*name, options).expect("an entry");
        writer.write_all(b"Sub AutoOpen()\r\n").expect("its data");
    }
    writer.finish().expect("a whole archive").into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn macro_enabled(name: &str) -> bool {
        name.ends_with(".docm") || name.ends_with(".xlsm")
    }

    #[test]
    fn the_first_refused_entry_is_named() {
        let zip = archive(&["leggimi.txt", "Fattura/fattura.docm"], None);
        assert_eq!(
            first_entry(&zip, true, macro_enabled).as_deref(),
            Some("Fattura/fattura.docm")
        );
        assert_eq!(
            first_entry(&zip, false, macro_enabled).as_deref(),
            Some("Fattura/fattura.docm"),
            "a ZIP archive by its first bytes only"
        );
        let harmless = archive(&["delibera.pdf", "allegato.docx"], None);
        assert_eq!(first_entry(&harmless, true, macro_enabled), None);
    }

    #[test]
    fn encrypted_entries_still_have_their_names() {
        let zip = archive(&["fattura.docm"], Some(b"1234"));
        assert_eq!(
            first_entry(&zip, false, macro_enabled).as_deref(),
            Some("fattura.docm")
        );
    }

    #[test]
    fn documents_are_not_archives_unless_they_say_so() {
        let letter = archive(
            &[
                "[Content_Types].xml",
                "word/document.xml",
                "word/embeddings/Microsoft_Excel_Macro-Enabled_Worksheet1.xlsm",
            ],
            None,
        );
        assert_eq!(first_entry(&letter, false, macro_enabled), None);
        assert!(
            first_entry(&letter, true, macro_enabled).is_some(),
            "named .zip"
        );
        let odt = archive(&["mimetype", "Basic/macro.docm"], None);
        assert_eq!(first_entry(&odt, false, macro_enabled), None);
    }

    #[test]
    fn what_cannot_be_read_is_not_refused() {
        let zip = archive(&["fattura.docm"], None);
        for cut in [0, 4, 30, zip.len() / 2, zip.len() - 1] {
            assert_eq!(
                first_entry(&zip[..cut], true, macro_enabled),
                None,
                "cut at {cut}"
            );
        }
        let mut damaged = zip.clone();
        // The central directory's offset, the last field before the
        // comment length in the end record (APPNOTE.TXT 4.3.16).
        let at = damaged.len() - 6;
        damaged[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(first_entry(&damaged, true, macro_enabled), None);
        assert_eq!(first_entry(b"%PDF-1.4", true, macro_enabled), None);
        assert_eq!(first_entry(b"PK\x03\x04", false, macro_enabled), None);
    }
}
