//! Walking the header section of a received message field by field, to
//! drop the fields a sender may not set (our own `Authentication-Results`,
//! our scanner's `X-Spam-*`). Everything else, the body included, is kept
//! byte for byte.

/// `message` without the header fields `unwanted` picks; each field is
/// given whole, continuation lines and line end included.
pub(crate) fn without_fields(message: &[u8], unwanted: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut kept = Vec::with_capacity(message.len());
    let mut rest = message;
    while !rest.is_empty() && !starts_with_line_end(rest) {
        let (field, tail) = rest.split_at(field_length(rest));
        if !unwanted(field) {
            kept.extend_from_slice(field);
        }
        rest = tail;
    }
    kept.extend_from_slice(rest);
    kept
}

/// A field's name and the rest of it after the colon; `None` for a line
/// that is not a field. White space before the colon (RFC 5322 §4.5, the
/// obsolete syntax) is not part of the name.
pub(crate) fn split_field(field: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = field.iter().position(|&b| b == b':')?;
    Some((field[..colon].trim_ascii_end(), &field[colon + 1..]))
}

/// Whether `bytes` starts with the empty line that ends the header section.
fn starts_with_line_end(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\r\n") || bytes.starts_with(b"\n")
}

/// The length of the header field at the start of `header`: its first line
/// and every continuation line (one starting with a space or tab), each with
/// its line ending.
fn field_length(header: &[u8]) -> usize {
    let mut end = 0;
    loop {
        match header[end..].iter().position(|&b| b == b'\n') {
            None => return header.len(),
            Some(newline) => end += newline + 1,
        }
        if !matches!(header.get(end), Some(b' ' | b'\t')) {
            return end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_picked_fields_of_the_header_go() {
        let message =
            b"X-Spam: Yes\r\nSubject: hi\r\nX-Spam-Score: 1\r\n\tmore\r\n\r\nX-Spam: body\r\n";
        let kept = without_fields(message, |field| {
            split_field(field).is_some_and(|(name, _)| name.starts_with(b"X-Spam"))
        });
        assert_eq!(kept, b"Subject: hi\r\n\r\nX-Spam: body\r\n");
        assert_eq!(
            split_field(b"Subject : hi\r\n"),
            Some((&b"Subject"[..], &b" hi\r\n"[..]))
        );
        assert_eq!(split_field(b"no colon\r\n"), None);
    }
}
