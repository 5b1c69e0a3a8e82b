//! The commands of the ACL extension (RFC 4314 §3), which imap-codec
//! 2.0.0-alpha.10 does not parse: `GETACL mailbox`, `SETACL mailbox
//! identifier rights`, `DELETEACL mailbox identifier`, `LISTRIGHTS mailbox
//! identifier` and `MYRIGHTS mailbox`, every argument an astring. Read
//! here whole; the command becomes a `NOOP` for imap-codec, with the ACL
//! command in the options.

use super::extended::Malformed;

/// An ACL command, with its arguments as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclCommand {
    GetAcl {
        mailbox: Vec<u8>,
    },
    /// `rights` may start with `+` (add) or `-` (remove) (RFC 4314 §3.1).
    SetAcl {
        mailbox: Vec<u8>,
        identifier: String,
        rights: String,
    },
    DeleteAcl {
        mailbox: Vec<u8>,
        identifier: String,
    },
    ListRights {
        mailbox: Vec<u8>,
        identifier: String,
    },
    MyRights {
        mailbox: Vec<u8>,
    },
}

impl AclCommand {
    pub fn name(&self) -> &'static str {
        match self {
            AclCommand::GetAcl { .. } => "GETACL",
            AclCommand::SetAcl { .. } => "SETACL",
            AclCommand::DeleteAcl { .. } => "DELETEACL",
            AclCommand::ListRights { .. } => "LISTRIGHTS",
            AclCommand::MyRights { .. } => "MYRIGHTS",
        }
    }

    pub fn mailbox(&self) -> &[u8] {
        match self {
            AclCommand::GetAcl { mailbox }
            | AclCommand::SetAcl { mailbox, .. }
            | AclCommand::DeleteAcl { mailbox, .. }
            | AclCommand::ListRights { mailbox, .. }
            | AclCommand::MyRights { mailbox } => mailbox,
        }
    }
}

/// The ACL command named `name`, whose arguments start at `at`; `None`
/// when `name` is none of them.
pub(super) fn acl(command: &[u8], name: &[u8], at: usize) -> Option<Result<AclCommand, Malformed>> {
    let count = match name.to_ascii_uppercase().as_slice() {
        b"GETACL" | b"MYRIGHTS" => 1,
        b"DELETEACL" | b"LISTRIGHTS" => 2,
        b"SETACL" => 3,
        _ => return None,
    };
    Some(astrings(command, at, count).and_then(|mut args| {
        let rights = (count == 3).then(|| args.pop()).flatten();
        let identifier = (count >= 2).then(|| args.pop()).flatten();
        let mailbox = args.pop().ok_or(Malformed)?;
        let text = |bytes: Option<Vec<u8>>| String::from_utf8(bytes.unwrap_or_default());
        let identifier = text(identifier).map_err(|_| Malformed)?;
        Ok(match name.to_ascii_uppercase().as_slice() {
            b"GETACL" => AclCommand::GetAcl { mailbox },
            b"MYRIGHTS" => AclCommand::MyRights { mailbox },
            b"DELETEACL" => AclCommand::DeleteAcl {
                mailbox,
                identifier,
            },
            b"LISTRIGHTS" => AclCommand::ListRights {
                mailbox,
                identifier,
            },
            _ => AclCommand::SetAcl {
                mailbox,
                identifier,
                rights: text(rights).map_err(|_| Malformed)?,
            },
        })
    }))
}

/// Exactly `count` astrings, each after one space, from `at` to the line
/// ending: atoms, quoted strings or literals (RFC 9051 §9).
fn astrings(command: &[u8], mut at: usize, count: usize) -> Result<Vec<Vec<u8>>, Malformed> {
    let mut args = Vec::with_capacity(count);
    for _ in 0..count {
        if command.get(at) != Some(&b' ') {
            return Err(Malformed);
        }
        let (arg, end) = astring(command, at + 1)?;
        args.push(arg);
        at = end;
    }
    match &command[at..] {
        b"\r\n" | b"\n" => Ok(args),
        _ => Err(Malformed),
    }
}

/// One astring starting at `at`, and where it ends.
fn astring(command: &[u8], at: usize) -> Result<(Vec<u8>, usize), Malformed> {
    match command.get(at) {
        Some(b'"') => {
            let mut value = Vec::new();
            let mut i = at + 1;
            loop {
                match command.get(i) {
                    Some(b'"') => return Ok((value, i + 1)),
                    Some(b'\\') => match command.get(i + 1) {
                        Some(&c @ (b'"' | b'\\')) => {
                            value.push(c);
                            i += 2;
                        }
                        _ => return Err(Malformed),
                    },
                    Some(b'\r' | b'\n') | None => return Err(Malformed),
                    Some(&c) => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
        }
        Some(b'{') => {
            let close = at
                + command[at..]
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or(Malformed)?;
            let digits = command[at + 1..close]
                .strip_suffix(b"+")
                .unwrap_or(&command[at + 1..close]);
            let length: usize = std::str::from_utf8(digits)
                .ok()
                .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|d| d.parse().ok())
                .ok_or(Malformed)?;
            let start = match &command[close + 1..] {
                [b'\r', b'\n', ..] => close + 3,
                [b'\n', ..] => close + 2,
                _ => return Err(Malformed),
            };
            let end = start.checked_add(length).ok_or(Malformed)?;
            let value = command.get(start..end).ok_or(Malformed)?;
            Ok((value.to_vec(), end))
        }
        _ => {
            let end = command[at..]
                .iter()
                .position(|&b| !is_astring_char(b))
                .map_or(command.len(), |n| at + n);
            if end == at {
                return Err(Malformed);
            }
            Ok((command[at..end].to_vec(), end))
        }
    }
}

/// ASTRING-CHAR of RFC 9051 §9: ATOM-CHAR or `]`.
fn is_astring_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b) && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &[u8]) -> Option<Result<AclCommand, Malformed>> {
        let name_start = line.iter().position(|&b| b == b' ').unwrap() + 1;
        let name_end = line[name_start..]
            .iter()
            .position(|&b| matches!(b, b' ' | b'\r'))
            .map_or(line.len(), |n| name_start + n);
        acl(line, &line[name_start..name_end], name_end)
    }

    #[test]
    fn each_command_reads_its_arguments() {
        assert_eq!(
            parse(b"a GETACL INBOX\r\n"),
            Some(Ok(AclCommand::GetAcl {
                mailbox: b"INBOX".to_vec()
            }))
        );
        assert_eq!(
            parse(b"a setacl \"Condivise/protocollo@c.it/INBOX\" anna@c.it +lrs\r\n"),
            Some(Ok(AclCommand::SetAcl {
                mailbox: b"Condivise/protocollo@c.it/INBOX".to_vec(),
                identifier: "anna@c.it".into(),
                rights: "+lrs".into(),
            }))
        );
        assert_eq!(
            parse(b"a DELETEACL {5}\r\nINBOX {9+}\r\nanna@c.it\r\n"),
            Some(Ok(AclCommand::DeleteAcl {
                mailbox: b"INBOX".to_vec(),
                identifier: "anna@c.it".into(),
            }))
        );
        assert_eq!(
            parse(b"a LISTRIGHTS Lavoro \"a\\\"b\"\n"),
            Some(Ok(AclCommand::ListRights {
                mailbox: b"Lavoro".to_vec(),
                identifier: "a\"b".into(),
            }))
        );
        assert_eq!(
            parse(b"a MYRIGHTS \"\"\r\n"),
            Some(Ok(AclCommand::MyRights { mailbox: vec![] }))
        );
        assert_eq!(parse(b"a SELECT INBOX\r\n"), None);
    }

    #[test]
    fn wrong_argument_counts_and_syntax_are_malformed() {
        let lines: [&[u8]; 9] = [
            b"a GETACL\r\n",
            b"a GETACL INBOX extra\r\n",
            b"a SETACL INBOX anna@c.it\r\n",
            b"a DELETEACL INBOX \"open\r\n",
            b"a MYRIGHTS {99}\r\nINBOX\r\n",
            b"a MYRIGHTS {x}\r\nINBOX\r\n",
            b"a MYRIGHTS (INBOX)\r\n",
            b"a LISTRIGHTS INBOX \"\\x\"\r\n",
            b"a SETACL INBOX {2}\r\n\xff\xfe lr\r\n",
        ];
        for line in lines {
            assert_eq!(parse(line), Some(Err(Malformed)), "{line:?}");
        }
    }
}
