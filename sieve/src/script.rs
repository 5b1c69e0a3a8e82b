//! The compiled script: every command and test checked and typed, so that
//! running it never meets an unknown name or a wrong argument.

use crate::limits::Limits;
use crate::matching::Match;
use crate::template::Template;

/// A compiled script, with the scripts it includes (RFC 6609) compiled beside it.
#[derive(Clone, Debug)]
pub struct Script {
    /// Unit 0 is the script itself; `Command::Include` points at the others.
    pub(crate) units: Vec<Block>,
    /// The limits it was compiled with, which also bound its runs.
    pub(crate) limits: Limits,
}

pub(crate) type Block = Vec<Located>;

/// A command and the line it starts on, for runtime error messages.
#[derive(Clone, Debug)]
pub(crate) struct Located {
    pub command: Command,
    pub line: u32,
}
pub(crate) type Strings = Vec<Template>;

#[derive(Clone, Debug)]
pub(crate) enum Command {
    /// `if`/`elsif` branches in order, then the `else` block.
    If(Vec<(Test, Block)>, Option<Block>),
    Stop,
    Keep {
        flags: Option<Strings>,
    },
    Discard,
    Redirect {
        address: Template,
        copy: bool,
    },
    FileInto {
        mailbox: Template,
        flags: Option<Strings>,
        copy: bool,
        create: bool,
    },
    /// `setflag`, `addflag`, `removeflag` (RFC 5232 section 3).
    Flags {
        op: FlagOp,
        variable: Option<Template>,
        flags: Strings,
    },
    /// `set` (RFC 5229 section 4), modifiers already in application order.
    Set {
        name: String,
        modifiers: Vec<Modifier>,
        value: Template,
    },
    Reject {
        reason: Template,
        extended: bool,
    },
    Vacation(Box<VacationCommand>),
    /// `include` (RFC 6609): the unit to run, `None` when the script is missing.
    Include {
        unit: Option<usize>,
        name: String,
        once: bool,
        optional: bool,
    },
    Return,
    Global(Vec<String>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FlagOp {
    Set,
    Add,
    Remove,
}

/// `set` modifiers of RFC 5229 section 4.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Modifier {
    Lower,
    Upper,
    LowerFirst,
    UpperFirst,
    QuoteWildcard,
    Length,
}

impl Modifier {
    /// Higher precedence is applied first (RFC 5229 section 4.1).
    pub(crate) fn precedence(self) -> u8 {
        match self {
            Modifier::Lower | Modifier::Upper => 40,
            Modifier::LowerFirst | Modifier::UpperFirst => 30,
            Modifier::QuoteWildcard => 20,
            Modifier::Length => 10,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct VacationCommand {
    /// The period in seconds, from `:days` or `:seconds`, when given.
    pub period: Option<u64>,
    pub subject: Option<Template>,
    pub from: Option<Template>,
    pub addresses: Strings,
    pub mime: bool,
    pub handle: Option<Template>,
    pub reason: Template,
}

#[derive(Clone, Debug)]
pub(crate) enum Test {
    True,
    False,
    Not(Box<Test>),
    AllOf(Vec<Test>),
    AnyOf(Vec<Test>),
    Exists(Strings),
    Header {
        how: Match,
        index: Option<Index>,
        headers: Strings,
        keys: Strings,
    },
    Address {
        how: Match,
        part: AddressPart,
        index: Option<Index>,
        headers: Strings,
        keys: Strings,
    },
    Envelope {
        how: Match,
        part: AddressPart,
        fields: Strings,
        keys: Strings,
    },
    Size {
        over: bool,
        limit: u64,
    },
    Body {
        how: Match,
        transform: BodyTransform,
        keys: Strings,
    },
    Date {
        how: Match,
        zone: Zone,
        index: Option<Index>,
        header: Template,
        part: DatePart,
        keys: Strings,
    },
    CurrentDate {
        how: Match,
        zone: Zone,
        part: DatePart,
        keys: Strings,
    },
    HasFlag {
        how: Match,
        variables: Option<Strings>,
        keys: Strings,
    },
    MailboxExists(Strings),
    String {
        how: Match,
        sources: Strings,
        keys: Strings,
    },
}

/// Which part of an address a test looks at (RFC 5228 section 2.7.4, RFC 5233).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddressPart {
    All,
    LocalPart,
    Domain,
    User,
    Detail,
}

/// `:index` of RFC 5260 section 6: the n-th occurrence, from the end with `:last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Index {
    pub n: usize,
    pub last: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BodyTransform {
    Raw,
    /// The content types, "" meaning every part.
    Content(Strings),
    Text,
}

/// The zone a date part is read in (RFC 5260 section 2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Zone {
    Local,
    Original,
    /// Minutes east of UTC.
    Fixed(i32),
}

/// Date parts of RFC 5260 section 2.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DatePart {
    Year,
    Month,
    Day,
    Date,
    Julian,
    Hour,
    Minute,
    Second,
    Time,
    Iso8601,
    Std11,
    Zone,
    Weekday,
}

impl DatePart {
    pub(crate) fn parse(name: &str) -> Option<DatePart> {
        Some(match name.to_ascii_lowercase().as_str() {
            "year" => DatePart::Year,
            "month" => DatePart::Month,
            "day" => DatePart::Day,
            "date" => DatePart::Date,
            "julian" => DatePart::Julian,
            "hour" => DatePart::Hour,
            "minute" => DatePart::Minute,
            "second" => DatePart::Second,
            "time" => DatePart::Time,
            "iso8601" => DatePart::Iso8601,
            "std11" => DatePart::Std11,
            "zone" => DatePart::Zone,
            "weekday" => DatePart::Weekday,
            _ => return None,
        })
    }
}
