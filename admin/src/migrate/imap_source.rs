//! A mailbox on the source IMAP server, as the migration reads it: its
//! folders (LIST, with RETURN (SPECIAL-USE) where offered, RFC 6154 §2),
//! and each folder's messages by UID (EXAMINE, so nothing changes at the
//! source; `UID FETCH` with `BODY.PEEK[]`, so nothing is marked seen).
//! Responses are read with imap-codec, the codec the IMAP service uses.

use imap_codec::ResponseCodec;
use imap_codec::decode::Decoder;
use imap_codec::imap_types::core::NString;
use imap_codec::imap_types::fetch::MessageDataItem;
use imap_codec::imap_types::flag::{Flag, FlagFetch, FlagNameAttribute};
use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::imap_types::response::{Code, Data, Response, Status};
use postino_common::auth::Secret;
use postino_common::store::{Flags, Keywords, SpecialUse};

use super::connection::{Connection, Security, SourceError, quoted};
use super::folder_names::Listed;

/// Where the source server is.
#[derive(Debug, Clone)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub security: Security,
}

/// A folder opened for reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Examined {
    pub uidvalidity: i64,
    pub messages: u32,
}

/// A message as listed before fetching: its UID and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listing {
    pub uid: u32,
    pub size: u64,
}

/// A message fetched whole.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub uid: u32,
    pub flags: Flags,
    pub keywords: Keywords,
    /// Unix seconds.
    pub internal_date: i64,
    pub raw: Vec<u8>,
}

pub struct ImapSource {
    connection: Connection,
    special_use: bool,
}

impl ImapSource {
    /// Connects and logs in as `user`.
    pub async fn login(
        server: &Server,
        user: &str,
        password: &Secret,
    ) -> Result<ImapSource, SourceError> {
        let mut connection = Connection::open(&server.host, server.port, server.security).await?;
        connection.login(user, password).await?;
        let capabilities = connection.run("CAPABILITY").await?;
        let special_use = capabilities.iter().any(|line| {
            String::from_utf8_lossy(line)
                .split_ascii_whitespace()
                .any(|word| word.eq_ignore_ascii_case("SPECIAL-USE"))
        });
        Ok(ImapSource {
            connection,
            special_use,
        })
    }

    pub async fn logout(self) {
        self.connection.logout().await;
    }

    /// Every folder of the mailbox.
    pub async fn folders(&mut self) -> Result<Vec<Listed>, SourceError> {
        let command = match self.special_use {
            true => "LIST \"\" \"*\" RETURN (SPECIAL-USE)",
            false => "LIST \"\" \"*\"",
        };
        let mut folders = Vec::new();
        for line in self.connection.run(command).await? {
            let Some(Data::List {
                items,
                delimiter,
                mailbox,
            }) = data(&line)?
            else {
                continue;
            };
            let raw = match mailbox {
                Mailbox::Inbox => "INBOX".to_string(),
                Mailbox::Other(other) => String::from_utf8_lossy(other.as_ref()).into_owned(),
            };
            let attributes: Vec<String> = items.iter().map(FlagNameAttribute::to_string).collect();
            let selectable = !attributes.iter().any(|a| {
                a.eq_ignore_ascii_case("\\Noselect") || a.eq_ignore_ascii_case("\\NonExistent")
            });
            folders.push(Listed {
                raw,
                delimiter: delimiter.map(|d| d.inner()),
                selectable,
                special_use: attributes
                    .iter()
                    .find_map(|a| SpecialUse::from_attribute(a)),
            });
        }
        Ok(folders)
    }

    /// Opens `raw` read-only.
    pub async fn examine(&mut self, raw: &str) -> Result<Examined, SourceError> {
        let mut examined = Examined {
            uidvalidity: 0,
            messages: 0,
        };
        for line in self
            .connection
            .run(&format!("EXAMINE {}", name(raw)))
            .await?
        {
            // Only EXISTS and UIDVALIDITY matter here; a FLAGS or other
            // line imap-codec cannot read is passed over.
            match response(&line).ok().flatten() {
                Some(Response::Data(Data::Exists(count))) => examined.messages = count,
                Some(Response::Status(Status::Untagged(body))) => {
                    if let Some(Code::UidValidity(value)) = body.code {
                        examined.uidvalidity = i64::from(value.get());
                    }
                }
                _ => {}
            }
        }
        Ok(examined)
    }

    /// The UID and size of every message of the folder examined.
    pub async fn list(&mut self) -> Result<Vec<Listing>, SourceError> {
        let mut listed = Vec::new();
        for line in self
            .connection
            .run("UID FETCH 1:* (UID RFC822.SIZE)")
            .await?
        {
            let Some(Data::Fetch { items, .. }) = data(&line)? else {
                continue;
            };
            let mut uid = None;
            let mut size = None;
            for item in items.as_ref() {
                match item {
                    MessageDataItem::Uid(value) => uid = Some(value.get()),
                    MessageDataItem::Rfc822Size(value) => size = Some(u64::from(*value)),
                    _ => {}
                }
            }
            if let (Some(uid), Some(size)) = (uid, size) {
                listed.push(Listing { uid, size });
            }
        }
        listed.sort_by_key(|l| l.uid);
        Ok(listed)
    }

    /// The messages `uids` of the folder examined, whole, with their
    /// flags and INTERNALDATE. A UID gone since it was listed is left out,
    /// and so is a message whose FETCH response cannot be read (logged):
    /// the caller reports what it asked for and did not get.
    pub async fn fetch(&mut self, uids: &[u32]) -> Result<Vec<Fetched>, SourceError> {
        let set: Vec<String> = uids.iter().map(u32::to_string).collect();
        let command = format!(
            "UID FETCH {} (UID FLAGS INTERNALDATE BODY.PEEK[])",
            set.join(",")
        );
        let mut fetched = Vec::with_capacity(uids.len());
        for line in self.connection.run(&command).await? {
            let items = match data(&line) {
                Ok(Some(Data::Fetch { items, .. })) => items,
                Ok(_) => continue,
                Err(err) => {
                    tracing::warn!(error = %err, "a FETCH response of the source cannot be read");
                    continue;
                }
            };
            if let Some(message) = message(items.into_inner()) {
                fetched.push(message);
            }
        }
        Ok(fetched)
    }
}

/// A mailbox name for a command: an atom would do for most, a quoted
/// string does for every name LIST gave (modified UTF-7 is ASCII).
fn name(raw: &str) -> String {
    quoted(raw)
}

fn response(line: &[u8]) -> Result<Option<Response<'_>>, SourceError> {
    match ResponseCodec::new().decode(line) {
        Ok((_, response)) => Ok(Some(response)),
        // Untagged status lines with codes imap-codec does not know, and
        // the like: nothing the migration needs is in them.
        Err(err) if line.starts_with(b"* OK") || line.starts_with(b"* NO") => {
            tracing::debug!(?err, "source response not read");
            Ok(None)
        }
        Err(err) => Err(SourceError::Unreadable(format!(
            "{err:?}: {}",
            String::from_utf8_lossy(&line[..line.len().min(120)]).trim_end()
        ))),
    }
}

fn data(line: &[u8]) -> Result<Option<Data<'_>>, SourceError> {
    Ok(match response(line)? {
        Some(Response::Data(data)) => Some(data),
        _ => None,
    })
}

/// A fetched message from its FETCH items, if they hold one whole.
fn message(items: Vec<MessageDataItem<'_>>) -> Option<Fetched> {
    let mut uid = None;
    let mut raw = None;
    let mut flags = Flags::default();
    let mut keywords = Keywords::default();
    let mut internal_date = None;
    for item in items {
        match item {
            MessageDataItem::Uid(value) => uid = Some(value.get()),
            MessageDataItem::BodyExt {
                section: None,
                origin: None,
                data: NString(Some(body)),
            } => raw = Some(body.into_inner().into_owned()),
            MessageDataItem::InternalDate(date) => internal_date = Some(date.as_ref().timestamp()),
            MessageDataItem::Flags(list) => {
                for flag in list {
                    match flag {
                        FlagFetch::Flag(Flag::Seen) => flags |= Flags::SEEN,
                        FlagFetch::Flag(Flag::Answered) => flags |= Flags::ANSWERED,
                        FlagFetch::Flag(Flag::Flagged) => flags |= Flags::FLAGGED,
                        FlagFetch::Flag(Flag::Deleted) => flags |= Flags::DELETED,
                        FlagFetch::Flag(Flag::Draft) => flags |= Flags::DRAFT,
                        FlagFetch::Flag(Flag::Keyword(atom)) => {
                            keywords.insert(atom.inner());
                        }
                        // `\Recent` is the session's, and unknown system
                        // flags have no place in our store.
                        FlagFetch::Flag(Flag::Extension(_)) | FlagFetch::Recent => {}
                    }
                }
            }
            _ => {}
        }
    }
    Some(Fetched {
        uid: uid?,
        flags,
        keywords,
        internal_date: internal_date?,
        raw: raw?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fetched_message_keeps_its_flags_keywords_and_date() {
        let line = b"* 3 FETCH (UID 17 FLAGS (\\Seen \\Flagged $Label2 \\Recent) \
            INTERNALDATE \"07-Dec-2026 10:11:12 +0100\" BODY[] {11}\r\nSubject: \r\n)\r\n";
        let Some(Data::Fetch { items, .. }) = data(line).unwrap() else {
            panic!("not a FETCH");
        };
        let fetched = message(items.into_inner()).unwrap();
        assert_eq!(fetched.uid, 17);
        assert_eq!(fetched.flags, Flags::SEEN | Flags::FLAGGED);
        assert!(fetched.keywords.contains("$Label2"));
        assert_eq!(fetched.internal_date, 1_796_634_672);
        assert_eq!(fetched.raw, b"Subject: \r\n");
    }

    #[test]
    fn list_responses_give_names_delimiters_and_uses() {
        let line = b"* LIST (\\HasNoChildren \\Sent) \".\" \"Posta inviata\"\r\n";
        let Some(Data::List { items, .. }) = data(line).unwrap() else {
            panic!("not a LIST");
        };
        let attributes: Vec<String> = items.iter().map(FlagNameAttribute::to_string).collect();
        assert_eq!(
            attributes
                .iter()
                .find_map(|a| SpecialUse::from_attribute(a)),
            Some(SpecialUse::Sent)
        );
    }
}
