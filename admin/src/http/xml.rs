//! Text written into the XML documents the service builds by hand: the
//! autoconfiguration answers (`autoconfig`) and the Apple configuration
//! profile (`console::profile`).

/// `text` for XML element content and attribute values alike: the five
/// special characters escaped, and the characters XML 1.0 cannot hold at
/// all (controls other than tab and line ends) left out (XML 1.0 §2.2).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_xml_specials() {
        assert_eq!(
            escape(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"
        );
    }

    #[test]
    fn leaves_out_what_xml_cannot_hold() {
        assert_eq!(escape("a\u{0}b\u{1b}c\u{7f}d"), "abcd");
        assert_eq!(escape("riga\tuno\r\ndue"), "riga\tuno\r\ndue");
        assert_eq!(escape("Niccolò"), "Niccolò");
    }
}
