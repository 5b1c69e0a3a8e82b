//! Checks the tests (RFC 5228 section 5 and the extensions) and the tagged
//! arguments they share: comparator, match type, address part, `:index`
//! and the date tests' zone.

use crate::ast::{Argument, Node, Value};
use crate::date::parse_zone;
use crate::error::{CompileError, Pos, err};
use crate::matching::{Comparator, Match, MatchKind, Relation};
use crate::script::{AddressPart, BodyTransform, DatePart, Index, Strings, Test, Zone};
use crate::template::Template;

use super::Checker;
use super::args::{Args, Kind, single, strings_of, unknown_tag};

/// Tagged arguments shared by the matching tests: comparator, match type,
/// address part, `:index`/`:last` and the date tests' zone.
#[derive(Default)]
struct Common {
    comparator: Option<Comparator>,
    kind: Option<MatchKind>,
    part: Option<AddressPart>,
    index: Option<u64>,
    last: Option<Pos>,
    zone: Option<Zone>,
}

/// Which of the shared tagged arguments a test accepts.
#[derive(Clone, Copy, Default)]
struct Accepts {
    address_part: bool,
    index: bool,
    zone: bool,
    original_zone: bool,
}

impl Checker<'_, '_> {
    fn tests(&mut self, node: &Node) -> Result<Vec<Test>, CompileError> {
        if node.tests.is_empty() {
            return err(node.pos, format!("{} needs a list of tests", node.name));
        }
        node.tests.iter().map(|t| self.test(t)).collect()
    }

    pub(super) fn test(&mut self, node: &Node) -> Result<Test, CompileError> {
        let pos = node.pos;
        match node.name.as_str() {
            "not" => {
                self.no_arguments(node)?;
                return match node.tests.as_slice() {
                    [test] if !node.test_list => Ok(Test::Not(Box::new(self.test(test)?))),
                    _ => err(pos, "not needs exactly one test"),
                };
            }
            "allof" | "anyof" => {
                self.no_arguments(node)?;
                let tests = self.tests(node)?;
                return Ok(if node.name == "allof" {
                    Test::AllOf(tests)
                } else {
                    Test::AnyOf(tests)
                });
            }
            _ => {}
        }
        if let Some(test) = node.tests.first() {
            return err(test.pos, format!("{} takes no test", node.name));
        }
        let mut args = Args::new(node);
        let test = match node.name.as_str() {
            "true" | "false" => {
                args.positional(&[], 0)?;
                if node.name == "true" {
                    Test::True
                } else {
                    Test::False
                }
            }
            "exists" => {
                let positional = args.positional(&[Kind::StringList], 0)?;
                Test::Exists(self.header_names(positional[0])?)
            }
            "size" => {
                let mut over = None;
                while let Some((tag, at)) = args.next_tag() {
                    match tag {
                        "over" | "under" if over.is_none() => over = Some(tag == "over"),
                        "over" | "under" => {
                            return err(at, "only one of :over and :under may be given");
                        }
                        _ => return unknown_tag(node, tag, at),
                    }
                }
                let positional = args.positional(&[Kind::Number], 0)?;
                let Some(over) = over else {
                    return err(pos, "size needs :over or :under");
                };
                let limit = match positional[0].value {
                    Value::Number(n) => n,
                    _ => 0,
                };
                Test::Size { over, limit }
            }
            "header" => {
                let accepts = Accepts {
                    index: true,
                    ..Accepts::default()
                };
                let (common, args) = self.shared_tags(node, args, accepts)?;
                let positional = args.positional(&[Kind::StringList, Kind::StringList], 0)?;
                Test::Header {
                    how: self.finish_match(&common),
                    index: self.index(&common)?,
                    headers: self.header_names(positional[0])?,
                    keys: self.templates(positional[1])?,
                }
            }
            "address" => {
                let accepts = Accepts {
                    address_part: true,
                    index: true,
                    ..Accepts::default()
                };
                let (common, args) = self.shared_tags(node, args, accepts)?;
                let positional = args.positional(&[Kind::StringList, Kind::StringList], 0)?;
                let headers = self.header_names(positional[0])?;
                // Names made of variables are checked when the test runs.
                for header in &headers {
                    if let Some(name) = header.as_constant()
                        && !crate::address::is_address_field(&name)
                    {
                        return err(
                            positional[0].pos,
                            format!("header \"{name}\" holds no addresses for the address test"),
                        );
                    }
                }
                Test::Address {
                    how: self.finish_match(&common),
                    part: common.part.unwrap_or(AddressPart::All),
                    index: self.index(&common)?,
                    headers,
                    keys: self.templates(positional[1])?,
                }
            }
            "envelope" => {
                self.need("envelope", pos, "envelope")?;
                let accepts = Accepts {
                    address_part: true,
                    ..Accepts::default()
                };
                let (common, args) = self.shared_tags(node, args, accepts)?;
                let positional = args.positional(&[Kind::StringList, Kind::StringList], 0)?;
                let fields = self.templates(positional[0])?;
                for field in &fields {
                    if let Some(name) = field.as_constant()
                        && !["from", "to"].contains(&name.to_ascii_lowercase().as_str())
                    {
                        return err(
                            positional[0].pos,
                            format!("unknown envelope part \"{name}\""),
                        );
                    }
                }
                Test::Envelope {
                    how: self.finish_match(&common),
                    part: common.part.unwrap_or(AddressPart::All),
                    fields,
                    keys: self.templates(positional[1])?,
                }
            }
            "body" => self.body_test(node, args)?,
            "date" | "currentdate" => self.date_test(node, args)?,
            "hasflag" => {
                self.need("imap4flags", pos, "hasflag")?;
                let (common, args) = self.shared_tags(node, args, Accepts::default())?;
                let positional = args.positional(&[Kind::StringList, Kind::StringList], 1)?;
                let variables = match positional.as_slice() {
                    [names, _] => {
                        self.need("variables", names.pos, "a flag variable")?;
                        let names = strings_of(names)
                            .iter()
                            .map(|n| self.variable_name(n, names.pos).map(Template::constant))
                            .collect::<Result<_, _>>()?;
                        Some(names)
                    }
                    _ => None,
                };
                let keys = positional
                    .last()
                    .map_or(Ok(Vec::new()), |a| self.templates(a))?;
                Test::HasFlag {
                    how: self.finish_match(&common),
                    variables,
                    keys,
                }
            }
            "mailboxexists" => {
                self.need("mailbox", pos, "mailboxexists")?;
                let positional = args.positional(&[Kind::StringList], 0)?;
                Test::MailboxExists(self.templates(positional[0])?)
            }
            "string" => {
                self.need("variables", pos, "string")?;
                let (common, args) = self.shared_tags(node, args, Accepts::default())?;
                let positional = args.positional(&[Kind::StringList, Kind::StringList], 0)?;
                Test::String {
                    how: self.finish_match(&common),
                    sources: self.templates(positional[0])?,
                    keys: self.templates(positional[1])?,
                }
            }
            other => return err(pos, format!("unknown test \"{other}\"")),
        };
        Ok(test)
    }

    /// Reads the shared tagged arguments; any other tag is unknown.
    fn shared_tags<'n>(
        &self,
        node: &'n Node,
        mut args: Args<'n>,
        accepts: Accepts,
    ) -> Result<(Common, Args<'n>), CompileError> {
        let mut common = Common::default();
        while let Some((tag, at)) = args.next_tag() {
            if !self.common_tag(&mut common, &mut args, tag, at, accepts)? {
                return unknown_tag(node, tag, at);
            }
        }
        Ok((common, args))
    }

    /// Handles one shared tag; `false` when `tag` is not one of them.
    fn common_tag(
        &self,
        common: &mut Common,
        args: &mut Args<'_>,
        tag: &str,
        at: Pos,
        accepts: Accepts,
    ) -> Result<bool, CompileError> {
        let kind = match tag {
            "is" => Some(MatchKind::Is),
            "contains" => Some(MatchKind::Contains),
            "matches" => Some(MatchKind::Matches),
            "value" | "count" => {
                self.need("relational", at, &format!(":{tag}"))?;
                let (relation, relation_pos) = args.strings(tag, at, Kind::String)?;
                let relation = self.constant(
                    relation.first().map_or("", String::as_str),
                    relation_pos,
                    "a relation",
                )?;
                let Some(relation) = Relation::parse(&relation) else {
                    return err(relation_pos, format!("unknown relation \"{relation}\""));
                };
                Some(if tag == "value" {
                    MatchKind::Value(relation)
                } else {
                    MatchKind::Count(relation)
                })
            }
            _ => None,
        };
        if let Some(kind) = kind {
            if common.kind.is_some() {
                return err(at, "only one match type may be given");
            }
            common.kind = Some(kind);
            return self.check_comparator(common, at).map(|()| true);
        }
        let part = match tag {
            "all" => Some(AddressPart::All),
            "localpart" => Some(AddressPart::LocalPart),
            "domain" => Some(AddressPart::Domain),
            "user" | "detail" => {
                self.need("subaddress", at, &format!(":{tag}"))?;
                Some(if tag == "user" {
                    AddressPart::User
                } else {
                    AddressPart::Detail
                })
            }
            _ => None,
        };
        if let Some(part) = part.filter(|_| accepts.address_part) {
            if common.part.is_some() {
                return err(at, "only one address part may be given");
            }
            common.part = Some(part);
            return Ok(true);
        }
        match tag {
            "comparator" => {
                if common.comparator.is_some() {
                    return err(at, "only one comparator may be given");
                }
                let (name, name_pos) = args.strings(tag, at, Kind::String)?;
                let name = self.constant(
                    name.first().map_or("", String::as_str),
                    name_pos,
                    "a comparator",
                )?;
                let Some(comparator) = Comparator::parse(&name) else {
                    return err(name_pos, format!("unknown comparator \"{name}\""));
                };
                if let Some(capability) = comparator.capability() {
                    self.need(capability, name_pos, &format!("comparator \"{name}\""))?;
                }
                common.comparator = Some(comparator);
                self.check_comparator(common, at)?;
            }
            "index" if accepts.index => {
                self.need("index", at, ":index")?;
                let n = args.number(tag, at)?;
                if n == 0 {
                    return err(at, ":index counts from 1");
                }
                common.index = Some(n);
            }
            "last" if accepts.index => {
                self.need("index", at, ":last")?;
                common.last = Some(at);
            }
            "zone" | "originalzone" if accepts.zone => {
                if common.zone.is_some() {
                    return err(at, "only one of :zone and :originalzone may be given");
                }
                common.zone = Some(if tag == "zone" {
                    let (zone, zone_pos) = args.strings(tag, at, Kind::String)?;
                    let zone =
                        self.constant(zone.first().map_or("", String::as_str), zone_pos, "a zone")?;
                    match parse_zone(&zone) {
                        Some(minutes) => Zone::Fixed(minutes),
                        None => {
                            return err(
                                zone_pos,
                                format!("\"{zone}\" is not a zone like \"+0100\""),
                            );
                        }
                    }
                } else if accepts.original_zone {
                    Zone::Original
                } else {
                    return err(at, ":originalzone is only for the date test");
                });
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// i;ascii-numeric orders but has no substrings (RFC 4790 section 9.1).
    fn check_comparator(&self, common: &Common, at: Pos) -> Result<(), CompileError> {
        if let (Some(c), Some(MatchKind::Contains | MatchKind::Matches)) =
            (common.comparator, common.kind)
            && !c.supports_substring()
        {
            return err(
                at,
                "i;ascii-numeric cannot be used with :contains or :matches",
            );
        }
        Ok(())
    }

    fn finish_match(&self, common: &Common) -> Match {
        let default = Match::default();
        Match {
            kind: common.kind.unwrap_or(default.kind),
            comparator: common.comparator.unwrap_or(default.comparator),
        }
    }

    fn index(&self, common: &Common) -> Result<Option<Index>, CompileError> {
        match (common.index, common.last) {
            (None, Some(at)) => err(at, ":last needs :index"),
            (None, None) => Ok(None),
            (Some(n), last) => Ok(Some(Index {
                n: usize::try_from(n).unwrap_or(usize::MAX),
                last: last.is_some(),
            })),
        }
    }

    /// Header names; constant ones must be valid field names (RFC 5322 section 3.6.8).
    fn header_names(&self, argument: &Argument) -> Result<Strings, CompileError> {
        let names = self.templates(argument)?;
        for name in names.iter().filter_map(Template::as_constant) {
            if !valid_field_name(&name) {
                return err(
                    argument.pos,
                    format!("\"{name}\" is not a valid header name"),
                );
            }
        }
        Ok(names)
    }

    fn body_test(&self, node: &Node, mut args: Args<'_>) -> Result<Test, CompileError> {
        self.need("body", node.pos, "body")?;
        let mut common = Common::default();
        let mut transform = None;
        while let Some((tag, at)) = args.next_tag() {
            let this = match tag {
                "raw" => BodyTransform::Raw,
                "text" => BodyTransform::Text,
                "content" => {
                    let (types, types_pos) = args.strings(tag, at, Kind::StringList)?;
                    BodyTransform::Content(
                        types
                            .iter()
                            .map(|t| self.template(t, types_pos))
                            .collect::<Result<_, _>>()?,
                    )
                }
                _ => {
                    if self.common_tag(&mut common, &mut args, tag, at, Accepts::default())? {
                        continue;
                    }
                    return unknown_tag(node, tag, at);
                }
            };
            if transform.is_some() {
                return err(at, "only one of :raw, :content and :text may be given");
            }
            transform = Some(this);
        }
        let positional = args.positional(&[Kind::StringList], 0)?;
        Ok(Test::Body {
            how: self.finish_match(&common),
            transform: transform.unwrap_or(BodyTransform::Text),
            keys: self.templates(positional[0])?,
        })
    }

    fn date_test(&self, node: &Node, args: Args<'_>) -> Result<Test, CompileError> {
        self.need("date", node.pos, &node.name)?;
        let current = node.name == "currentdate";
        let accepts = Accepts {
            index: !current,
            zone: true,
            original_zone: !current,
            ..Accepts::default()
        };
        let (common, args) = self.shared_tags(node, args, accepts)?;
        let kinds: &[Kind] = if current {
            &[Kind::String, Kind::StringList]
        } else {
            &[Kind::String, Kind::String, Kind::StringList]
        };
        let positional = args.positional(kinds, 0)?;
        let (part_argument, keys) = (positional[kinds.len() - 2], positional[kinds.len() - 1]);
        let part_name = self.constant(single(part_argument), part_argument.pos, "a date part")?;
        let Some(part) = DatePart::parse(&part_name) else {
            return err(
                part_argument.pos,
                format!("unknown date part \"{part_name}\""),
            );
        };
        let how = self.finish_match(&common);
        let zone = common.zone.unwrap_or(Zone::Local);
        let keys = self.templates(keys)?;
        if current {
            return Ok(Test::CurrentDate {
                how,
                zone,
                part,
                keys,
            });
        }
        let header = self
            .header_names(positional[0])?
            .into_iter()
            .next()
            .unwrap_or_else(|| Template::constant(""));
        Ok(Test::Date {
            how,
            zone,
            index: self.index(&common)?,
            header,
            part,
            keys,
        })
    }
}

fn valid_field_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}
