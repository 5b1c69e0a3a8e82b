//! A client's response in an AUTH exchange (RFC 4954 §4): base64 text, `*`
//! to cancel, or `=` for an empty initial response. What the decoded
//! bytes mean is the mechanism's business (`postino_common::auth`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// What a response line said.
#[derive(Debug, PartialEq, Eq)]
pub enum SaslResponse {
    Data(Vec<u8>),
    Cancelled,
    /// Not base64: the exchange ends with 501.
    Invalid,
}

/// Decodes one response, given without its CRLF.
pub fn decode_response(text: &str) -> SaslResponse {
    match text {
        "*" => SaslResponse::Cancelled,
        "=" => SaslResponse::Data(Vec::new()),
        _ => match BASE64.decode(text.trim()) {
            Ok(bytes) => SaslResponse::Data(bytes),
            Err(_) => SaslResponse::Invalid,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_decode() {
        assert_eq!(
            decode_response("AGEAYg=="),
            SaslResponse::Data(b"\0a\0b".to_vec())
        );
        assert_eq!(decode_response("="), SaslResponse::Data(Vec::new()));
        assert_eq!(decode_response("*"), SaslResponse::Cancelled);
        assert_eq!(decode_response("AGEAYg="), SaslResponse::Invalid);
    }
}
