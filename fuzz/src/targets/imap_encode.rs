//! IMAP: the responses the server encodes around what users chose, mailbox
//! names and message bytes, each read back by imap-codec as a client would.

use std::borrow::Cow;

use imap_codec::ResponseCodec;
use imap_codec::decode::Decoder;
use imap_codec::imap_types::core::NString;
use imap_codec::imap_types::fetch::MessageDataItem;
use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::imap_types::response::{Data as Read, Response as ReadResponse};
use postino_imap::proto::{
    Attribute, Data, FetchItem, List, Response, StatusItem, encode, mailbox_name,
};

use super::{Target, Violation, ensure};
use crate::corpus;

const DICTIONARY: &[&[u8]] = &[
    b"/",
    b"&",
    b"&-",
    b"\"",
    b"\\",
    b"%",
    b"*",
    b"{5}\r\n",
    b" ",
    b"\r\n",
    b"\x00",
    b"NIL",
    b"INBOX",
    b"\xc3\xa9",
    b"\xe6\x97\xa5\xe6\x9c\xac",
];

pub const ENCODE: Target = Target {
    name: "imap_encode",
    checks: "LIST, LSUB, STATUS and QUOTAROOT naming any mailbox, and FETCH carrying \
             any bytes, with and without UTF8=ACCEPT, are each read back by imap-codec \
             as one response with the same name and the same bytes",
    dictionary: DICTIONARY,
    max_len: 1024,
    seeds: encode_seeds,
    check: encode_check,
};

fn encode_seeds() -> Vec<Vec<u8>> {
    corpus::own_seeds("imap_encode")
}

fn encode_check(input: &[u8]) -> Result<(), Violation> {
    for utf8 in [false, true] {
        fetched_bytes(input, utf8)?;
        // Names are text, as the store keeps them: never empty, and
        // without control characters, which CREATE and RENAME refuse.
        let name = String::from_utf8_lossy(input);
        if !name.is_empty() && !name.chars().any(char::is_control) {
            mailbox_named(&name, utf8)?;
        }
    }
    Ok(())
}

/// The name in LIST, LSUB, STATUS and QUOTAROOT comes back as it went.
fn mailbox_named(name: &str, utf8: bool) -> Result<(), Violation> {
    let attributes = [Attribute::HasNoChildren];
    let list = |lsub| List {
        lsub,
        attributes: &attributes,
        mailbox: name,
        subscribed_child: false,
    };
    let items = [StatusItem::Messages(3), StatusItem::UidNext(9)];
    let roots = [""];
    let responses = [
        Data::List(list(false)),
        Data::List(list(true)),
        Data::Status {
            mailbox: name,
            items: &items,
        },
        Data::QuotaRoot {
            mailbox: name,
            roots: &roots,
        },
    ];
    for data in responses {
        let bytes = encoded(&Response::Data(data), utf8);
        let read = read_back(&bytes)?;
        let mailbox = match &read {
            ReadResponse::Data(
                Read::List { mailbox, .. }
                | Read::Lsub { mailbox, .. }
                | Read::Status { mailbox, .. }
                | Read::QuotaRoot { mailbox, .. },
            ) => mailbox,
            _ => return Err(unexpected(&bytes)),
        };
        let same = match mailbox {
            Mailbox::Inbox => name.eq_ignore_ascii_case("INBOX"),
            Mailbox::Other(other) => {
                let raw = String::from_utf8_lossy(other.as_ref());
                if utf8 {
                    raw == name
                } else {
                    mailbox_name::decode(&raw).is_ok_and(|decoded| decoded == name)
                }
            }
        };
        ensure(same, "a mailbox name read back as another", || {
            format!("{name:?} as {:?}", String::from_utf8_lossy(&bytes))
        })?;
    }
    Ok(())
}

/// The bytes of BODY[] and RFC822 come back as they went, NUL aside.
fn fetched_bytes(data: &[u8], utf8: bool) -> Result<(), Violation> {
    let items = [
        FetchItem::Section {
            section: None,
            partial: None,
            data: Cow::Borrowed(data),
        },
        FetchItem::Rfc822(Cow::Borrowed(data)),
    ];
    let bytes = encoded(
        &Response::Data(Data::Fetch {
            seq: 1,
            items: &items,
        }),
        utf8,
    );
    let read = read_back(&bytes)?;
    let ReadResponse::Data(Read::Fetch { items, .. }) = &read else {
        return Err(unexpected(&bytes));
    };
    let carried: Vec<Option<&[u8]>> = items
        .as_ref()
        .iter()
        .map(|item| match item {
            MessageDataItem::BodyExt { data, .. } | MessageDataItem::Rfc822(data) => {
                nstring_bytes(data)
            }
            _ => None,
        })
        .collect();
    // A literal cannot hold NUL: as Dovecot does, it goes out as 0x80.
    let sent: Vec<u8> = data
        .iter()
        .map(|&b| if b == 0 { 0x80 } else { b })
        .collect();
    ensure(
        carried == [Some(&sent[..]), Some(&sent[..])],
        "FETCH bytes read back as others",
        || format!("{:?}", String::from_utf8_lossy(&bytes)),
    )
}

fn nstring_bytes<'a>(value: &'a NString<'_>) -> Option<&'a [u8]> {
    value.0.as_ref().map(|string| string.as_ref())
}

fn encoded(response: &Response<'_>, utf8: bool) -> Vec<u8> {
    let mut out = Vec::new();
    encode(response, utf8, &mut out);
    out
}

/// Has imap-codec read `bytes` as exactly one response.
fn read_back(bytes: &[u8]) -> Result<ReadResponse<'_>, Violation> {
    let shown = || String::from_utf8_lossy(bytes).into_owned();
    let (rest, response) = ResponseCodec::new()
        .decode(bytes)
        .map_err(|err| Violation {
            invariant: "a response imap-codec cannot read",
            detail: format!("{err:?}: {}", shown()),
        })?;
    ensure(rest.is_empty(), "a response with bytes left over", shown)?;
    Ok(response)
}

fn unexpected(bytes: &[u8]) -> Violation {
    Violation {
        invariant: "a response read as another kind",
        detail: String::from_utf8_lossy(bytes).into_owned(),
    }
}
