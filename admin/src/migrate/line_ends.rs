//! Line ends of messages read from files. Maildir and mbox files
//! usually hold bare LF line ends; IMAP and SMTP carry CRLF (RFC 5322
//! §2.3), and so does the store, so a message read from a file has each
//! bare LF made CRLF. CRLF already there stays, so a message written out
//! by an export and read back is unchanged.

/// `raw` with every LF not after a CR preceded by one.
pub fn to_crlf(raw: Vec<u8>) -> Vec<u8> {
    let bare = raw
        .iter()
        .enumerate()
        .filter(|&(at, &b)| b == b'\n' && (at == 0 || raw[at - 1] != b'\r'))
        .count();
    if bare == 0 {
        return raw;
    }
    let mut out = Vec::with_capacity(raw.len() + bare);
    for (at, &b) in raw.iter().enumerate() {
        if b == b'\n' && (at == 0 || raw[at - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// `raw` with every CRLF made LF, as mbox files hold messages.
pub fn to_lf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for (at, &b) in raw.iter().enumerate() {
        if b == b'\r' && raw.get(at + 1) == Some(&b'\n') {
            continue;
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_line_feeds_get_a_carriage_return_and_crlf_stays() {
        assert_eq!(to_crlf(b"a\nb\r\nc\n".to_vec()), b"a\r\nb\r\nc\r\n");
        assert_eq!(to_crlf(b"\n".to_vec()), b"\r\n");
        assert_eq!(to_crlf(b"a\r\n".to_vec()), b"a\r\n");
        assert_eq!(to_lf(b"a\r\nb\rc\r\n"), b"a\nb\rc\n");
        assert_eq!(to_crlf(to_lf(b"x\r\ny\r\n")), b"x\r\ny\r\n");
    }
}
