//! The responses the server sends (RFC 9051 §7), as values that borrow
//! what they show; [`super::encode`] turns them into bytes.
//!
//! imap-types has response values too, but imap-codec writes some of them
//! otherwise than Dovecot (quoted mailbox names and CHILDINFO, capability
//! case), whose bytes clients are known to read, and allocates for each.
//! These hold what Postino sends, as the store gives it: mailbox names in
//! UTF-8 with `/` between levels, keywords separated by spaces.

use std::borrow::Cow;
use std::num::NonZeroU32;

use imap_codec::imap_types::core::Tag;
use imap_codec::imap_types::fetch::Section;
use postino_common::mime::{Envelope, Part};
use postino_common::store::{Flags, Keywords, SpecialUse};

pub enum Response<'a> {
    /// A command's end: `tag OK [code] text`.
    Tagged(&'a Tag<'a>, Status<'a>),
    /// `* OK [code] text`, `* BYE text`; also a command's end when its tag
    /// could not be read.
    Untagged(Status<'a>),
    /// `+ text`: go on (a literal, a SASL response, IDLE).
    Continue(&'a str),
    Data(Data<'a>),
}

impl<'a> From<Data<'a>> for Response<'a> {
    fn from(data: Data<'a>) -> Response<'a> {
        Response::Data(data)
    }
}

/// A status response's condition, code and human text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status<'a> {
    pub kind: StatusKind,
    pub code: Option<Code<'a>>,
    pub text: Cow<'a, str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    Ok,
    No,
    Bad,
    Bye,
}

impl<'a> Status<'a> {
    fn new(kind: StatusKind, text: impl Into<Cow<'a, str>>) -> Status<'a> {
        Status {
            kind,
            code: None,
            text: text.into(),
        }
    }

    pub fn ok(text: impl Into<Cow<'a, str>>) -> Status<'a> {
        Status::new(StatusKind::Ok, text)
    }

    pub fn no(text: impl Into<Cow<'a, str>>) -> Status<'a> {
        Status::new(StatusKind::No, text)
    }

    pub fn bad(text: impl Into<Cow<'a, str>>) -> Status<'a> {
        Status::new(StatusKind::Bad, text)
    }

    pub fn bye(text: impl Into<Cow<'a, str>>) -> Status<'a> {
        Status::new(StatusKind::Bye, text)
    }

    /// Adds a response code.
    pub fn code(mut self, code: Code<'a>) -> Status<'a> {
        self.code = Some(code);
        self
    }
}

/// Response codes (RFC 9051 §7.1 and the extensions'), those Postino uses.
/// Sets of numbers are given ascending and written as ranges where they
/// run on (`1:3,7`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code<'a> {
    AlreadyExists,
    /// UIDPLUS (RFC 4315 §3): the new UIDs, several after a MULTIAPPEND
    /// (RFC 3502 §6.3.11), ascending.
    AppendUid {
        uid_validity: u32,
        uids: Cow<'a, [u32]>,
    },
    AuthenticationFailed,
    /// The charsets SEARCH takes.
    BadCharset(&'a [&'a str]),
    Cannot,
    Capability(Capabilities),
    ClientBug,
    /// CONDSTORE/QRESYNC (RFC 7162 §3.2.11).
    Closed,
    /// UIDPLUS (RFC 4315 §3): source UIDs and their copies', in pairs.
    CopyUid {
        uid_validity: u32,
        from: Cow<'a, [u32]>,
        to: Cow<'a, [u32]>,
    },
    ExpungeIssued,
    HighestModSeq(u64),
    /// What UNCHANGEDSINCE kept from being stored (RFC 7162 §3.1.3).
    Modified(Cow<'a, [u32]>),
    NonExistent,
    NoPerm,
    OverQuota,
    /// The flags a client may store: these system flags, and with
    /// `keywords` the mailbox's keywords and new ones (`\*`). None at all
    /// in a read-only mailbox; fewer where the user's rights allow fewer
    /// (RFC 4314 §4).
    PermanentFlags {
        flags: Flags,
        keywords: Option<&'a Keywords>,
    },
    PrivacyRequired,
    ReadOnly,
    ReadWrite,
    ServerBug,
    TooBig,
    TryCreate,
    UidNext(u32),
    UidValidity(u32),
    Unavailable,
    /// BINARY (RFC 3516 §4.3).
    UnknownCte,
    Unseen(u32),
    UseAttr,
}

/// What CAPABILITY lists: a fixed set, and before login how to log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `None` once logged in.
    pub login: Option<LoginCapabilities>,
    /// The largest message APPEND takes (RFC 7889).
    pub append_limit: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginCapabilities {
    /// STARTTLS is offered (the connection is not TLS yet).
    pub starttls: bool,
    /// LOGIN and AUTHENTICATE may be used now (else LOGINDISABLED).
    pub auth: bool,
}

/// An extension ENABLE turned on (RFC 5161).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    Utf8Accept,
    CondStore,
    Imap4Rev2,
    QResync,
}

impl Extension {
    /// As ENABLED names it.
    pub fn name(self) -> &'static str {
        match self {
            Extension::Utf8Accept => "UTF8=ACCEPT",
            Extension::CondStore => "CONDSTORE",
            Extension::Imap4Rev2 => "IMAP4rev2",
            Extension::QResync => "QRESYNC",
        }
    }

    /// The extension of a name sent to ENABLE, in any case.
    pub fn from_name(name: &str) -> Option<Extension> {
        [
            Extension::Utf8Accept,
            Extension::CondStore,
            Extension::Imap4Rev2,
            Extension::QResync,
        ]
        .into_iter()
        .find(|e| e.name().eq_ignore_ascii_case(name))
    }
}

/// Untagged data (RFC 9051 §7.2-7.5 and the extensions').
pub enum Data<'a> {
    Capability(Capabilities),
    Enabled(&'a [Extension]),
    /// Field and value pairs (RFC 2971).
    Id(&'a [(&'a str, &'a str)]),
    /// The personal namespace, with no prefix, and the other users' one
    /// under this prefix (RFC 2342 §5); `/` between levels in both.
    Namespace {
        other_users: &'a str,
    },
    /// The mailbox's flags: the system flags and these keywords.
    Flags(&'a Keywords),
    Exists(u32),
    Recent(u32),
    Expunge(u32),
    /// UIDs gone (QRESYNC, RFC 7162 §3.2.10); `earlier` when they went
    /// before the command that reports them.
    Vanished {
        earlier: bool,
        uids: &'a [u32],
    },
    Fetch {
        seq: u32,
        items: &'a [FetchItem<'a>],
    },
    List(List<'a>),
    /// A mailbox's STATUS items, written in Dovecot's order whatever the
    /// order given, each once.
    Status {
        mailbox: &'a str,
        items: &'a [StatusItem],
    },
    /// Matches in the order given; with the highest MODSEQ among them when
    /// the search used MODSEQ (RFC 7162 §3.1.5).
    Search {
        numbers: &'a [u32],
        modseq: Option<u64>,
    },
    Esearch(Esearch<'a>),
    /// SORT's answer (RFC 5256 §4): the matches in sort order.
    Sort {
        numbers: &'a [u32],
        modseq: Option<u64>,
    },
    /// THREAD's answer (RFC 5256 §4).
    Thread(&'a [Thread]),
    QuotaRoot {
        mailbox: &'a str,
        roots: &'a [&'a str],
    },
    Quota {
        root: &'a str,
        resources: &'a [Resource],
    },
    /// A mailbox's access control list (RFC 4314 §3.6): identifiers and
    /// their rights.
    Acl {
        mailbox: &'a str,
        entries: &'a [(String, String)],
    },
    /// The rights an identifier may be given (RFC 4314 §3.7): those it
    /// always has, then each group of the others.
    ListRights {
        mailbox: &'a str,
        identifier: &'a str,
        required: &'a str,
        optional: &'a [String],
    },
    /// The user's rights in a mailbox (RFC 4314 §3.8).
    MyRights {
        mailbox: &'a str,
        rights: &'a str,
    },
}

/// A message data item of a FETCH response (RFC 9051 §7.5.2).
pub enum FetchItem<'a> {
    Uid(u32),
    Flags(MessageFlags<'a>),
    /// Seconds since the epoch; written in UTC.
    InternalDate(i64),
    Rfc822Size(u64),
    ModSeq(u64),
    /// `None`: a message without a description, all NIL.
    Envelope(Option<&'a Envelope>),
    /// `None`: NIL.
    Body(Option<&'a Part>),
    BodyStructure(Option<&'a Part>),
    /// `BODY[section]<origin>`: of `data`, the bytes from the origin on, at
    /// most as many as the partial's length.
    Section {
        section: Option<&'a Section<'a>>,
        partial: Option<(u32, NonZeroU32)>,
        data: Cow<'a, [u8]>,
    },
    /// `BINARY[part]<origin>` (RFC 3516); `None` for NIL.
    Binary {
        part: &'a [NonZeroU32],
        partial: Option<(u32, NonZeroU32)>,
        data: Option<Cow<'a, [u8]>>,
    },
    BinarySize {
        part: &'a [NonZeroU32],
        size: Option<u64>,
    },
    Rfc822(Cow<'a, [u8]>),
    Rfc822Header(Cow<'a, [u8]>),
    Rfc822Text(Cow<'a, [u8]>),
}

/// A message's flags, in Dovecot's order: system flags, `\Recent`, then
/// keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageFlags<'a> {
    pub flags: Flags,
    pub recent: bool,
    pub keywords: &'a Keywords,
}

/// A LIST or LSUB response.
pub struct List<'a> {
    pub lsub: bool,
    pub attributes: &'a [Attribute],
    pub mailbox: &'a str,
    /// Something below is subscribed: `CHILDINFO ("SUBSCRIBED")`
    /// (LIST-EXTENDED RECURSIVEMATCH, RFC 5258 §3.5).
    pub subscribed_child: bool,
}

/// A mailbox name attribute (RFC 9051 §7.3.1, RFC 5258, RFC 6154).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    NoSelect,
    NonExistent,
    HasChildren,
    HasNoChildren,
    Subscribed,
    SpecialUse(SpecialUse),
}

impl Attribute {
    pub fn name(self) -> &'static str {
        match self {
            Attribute::NoSelect => "\\Noselect",
            Attribute::NonExistent => "\\NonExistent",
            Attribute::HasChildren => "\\HasChildren",
            Attribute::HasNoChildren => "\\HasNoChildren",
            Attribute::Subscribed => "\\Subscribed",
            Attribute::SpecialUse(special_use) => special_use.attribute(),
        }
    }
}

/// A STATUS item and its value (RFC 9051 §7.4, RFC 8438, RFC 7162).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusItem {
    Messages(u64),
    Recent(u64),
    UidNext(u32),
    UidValidity(u32),
    Unseen(u64),
    HighestModSeq(u64),
    Size(u64),
    Deleted(u64),
    DeletedStorage(u64),
}

/// An ESEARCH response (RFC 4731); each `None` item is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Esearch<'a> {
    /// The tag of the SEARCH it answers.
    pub tag: Option<&'a Tag<'a>>,
    /// The numbers are UIDs (a UID SEARCH).
    pub uid: bool,
    pub min: Option<u32>,
    pub max: Option<u32>,
    /// The matches, ascending; left out when empty, as RFC 4731 §3.1 says.
    pub all: Option<&'a [u32]>,
    pub count: Option<u32>,
    /// The highest mod-sequence of the matches (CONDSTORE, RFC 7162 §3.1.5).
    pub modseq: Option<u64>,
}

/// A node of a THREAD answer: a message and the replies to it, or a dummy
/// (`number` `None`) grouping top-level siblings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub number: Option<u32>,
    pub children: Vec<Thread>,
}

/// A quota resource's usage and limit (RFC 9208 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// In KiB.
    Storage { used: u64, limit: u64 },
}
