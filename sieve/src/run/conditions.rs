//! Evaluates tests against the message, the envelope and the variables
//! (RFC 5228 section 5 and the extensions), setting match variables on a
//! successful `:matches` (RFC 5229 section 3.2).

use crate::Envelope;
use crate::address::address_part;
use crate::date::date_part;
use crate::matching::{Match, MatchKind};
use crate::message::{self, Field};
use crate::script::{AddressPart, BodyTransform, Index, Strings, Test, Zone};

use super::actions::split_flags;
use super::{Failure, Frame, Runner};

impl<'c> Runner<'_, 'c> {
    pub(super) fn test(&mut self, test: &Test, frame: &mut Frame) -> Result<bool, Failure> {
        self.step()?;
        Ok(match test {
            Test::True => true,
            Test::False => false,
            Test::Not(test) => !self.test(test, frame)?,
            Test::AllOf(tests) => {
                for test in tests {
                    if !self.test(test, frame)? {
                        return Ok(false);
                    }
                }
                true
            }
            Test::AnyOf(tests) => {
                for test in tests {
                    if self.test(test, frame)? {
                        return Ok(true);
                    }
                }
                false
            }
            Test::Exists(names) => {
                for name in names {
                    if self.fields(&self.expand(name, frame))?.is_empty() {
                        return Ok(false);
                    }
                }
                true
            }
            Test::Size { over, limit } => {
                let size = self.message.size() as u64;
                if *over { size > *limit } else { size < *limit }
            }
            Test::Header {
                how,
                index,
                headers,
                keys,
            } => {
                let mut values = Vec::new();
                for name in headers {
                    let fields = self.fields(&self.expand(name, frame))?;
                    values.extend(
                        pick(fields, *index)
                            .into_iter()
                            .map(|f| message::decoded_text(f.raw)),
                    );
                }
                self.compare(how, &values, keys, frame)?
            }
            Test::Address {
                how,
                part,
                index,
                headers,
                keys,
            } => {
                let mut values = Vec::new();
                for name in headers {
                    let name = self.expand(name, frame);
                    // A name a variable made may be no address field.
                    if !crate::address::is_address_field(&name) {
                        continue;
                    }
                    let fields = self.fields(&name)?;
                    for field in pick(fields, *index) {
                        values.extend(parts(
                            message::addresses(field.raw).iter().map(String::as_str),
                            *part,
                        ));
                    }
                }
                self.compare(how, &values, keys, frame)?
            }
            Test::Envelope {
                how,
                part,
                fields,
                keys,
            } => {
                let envelope: &Envelope = self.context.envelope;
                let mut values = Vec::new();
                for field in fields {
                    let address = match self.expand(field, frame).to_ascii_lowercase().as_str() {
                        "from" => &envelope.from,
                        "to" => &envelope.to,
                        _ => continue,
                    };
                    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
                    values.extend(parts([address], *part));
                }
                self.compare(how, &values, keys, frame)?
            }
            Test::Body {
                how,
                transform,
                keys,
            } => {
                let values = match transform {
                    BodyTransform::Raw => vec![self.message.raw_body()],
                    BodyTransform::Text => self.message.body_parts(None),
                    BodyTransform::Content(types) => {
                        let types: Vec<String> =
                            types.iter().map(|t| self.expand(t, frame)).collect();
                        self.message.body_parts(Some(&types))
                    }
                };
                self.compare(how, &values, keys, frame)?
            }
            Test::Date {
                how,
                zone,
                index,
                header,
                part,
                keys,
            } => {
                let name = self.expand(header, frame);
                let fields = self.fields(&name)?;
                let is_received = name.eq_ignore_ascii_case("received");
                let field = pick(fields, *index).into_iter().next();
                let values: Vec<String> = field
                    .and_then(|f| {
                        // The date of a Received field follows its last ";" (RFC 5322 section 3.6.7).
                        let raw = if is_received {
                            f.raw.rsplit(|&b| b == b';').next().unwrap_or(f.raw)
                        } else {
                            f.raw
                        };
                        message::date(raw)
                    })
                    .map(|(unix, original)| {
                        let offset = self.offset(*zone, original);
                        date_part(unix, offset, *part)
                    })
                    .into_iter()
                    .collect();
                self.compare(how, &values, keys, frame)?
            }
            Test::CurrentDate {
                how,
                zone,
                part,
                keys,
            } => {
                let offset = self.offset(*zone, self.context.zone_offset_minutes);
                let values = vec![date_part(self.context.now, offset, *part)];
                self.compare(how, &values, keys, frame)?
            }
            Test::HasFlag {
                how,
                variables,
                keys,
            } => {
                let values = match variables {
                    Some(names) => split_flags(names.iter().map(|n| {
                        let name = self.expand(n, frame);
                        self.variable(&name, frame).to_string()
                    })),
                    None => self.flags.clone(),
                };
                let mut keys: Vec<String> = keys.iter().map(|k| self.expand(k, frame)).collect();
                // Keys are flag lists too, except the number `:count` compares with.
                if !matches!(how.kind, MatchKind::Count(_)) {
                    keys = split_flags(keys);
                }
                self.compare_expanded(how, &values, &keys, frame)?
            }
            Test::MailboxExists(names) => names
                .iter()
                .all(|name| (self.context.mailbox_exists)(&self.expand(name, frame))),
            Test::String { how, sources, keys } => {
                let mut values: Vec<String> =
                    sources.iter().map(|s| self.expand(s, frame)).collect();
                // RFC 5229 section 5: empty strings are not counted.
                if matches!(how.kind, MatchKind::Count(_)) {
                    values.retain(|v| !v.is_empty());
                }
                self.compare(how, &values, keys, frame)?
            }
        })
    }

    /// The header fields named `name`. Finding them scans every field of
    /// the message, a step per 256 fields, and the caller decodes the ones
    /// found, a step per 4 KiB of their values.
    fn fields(&self, name: &str) -> Result<Vec<Field<'c>>, Failure> {
        let fields: Vec<Field<'c>> = self.message.fields(name).collect();
        let bytes: usize = fields.iter().map(|f| f.raw.len()).sum();
        self.charge(1 + (self.message.field_count() / 256 + bytes / 4096) as u64)?;
        Ok(fields)
    }

    fn offset(&self, zone: Zone, original: i32) -> i32 {
        match zone {
            Zone::Local => self.context.zone_offset_minutes,
            Zone::Original => original,
            Zone::Fixed(minutes) => minutes,
        }
    }

    /// Whether any value matches any key; a successful `:matches` sets the
    /// match variables, a failed test leaves them (RFC 5229 section 3.2).
    fn compare(
        &mut self,
        how: &Match,
        values: &[String],
        keys: &Strings,
        frame: &mut Frame,
    ) -> Result<bool, Failure> {
        let keys: Vec<String> = keys.iter().map(|k| self.expand(k, frame)).collect();
        self.compare_expanded(how, values, &keys, frame)
    }

    fn compare_expanded(
        &mut self,
        how: &Match,
        values: &[String],
        keys: &[String],
        frame: &mut Frame,
    ) -> Result<bool, Failure> {
        if matches!(how.kind, MatchKind::Count(_)) {
            // The values were built for nothing but their number: charge for them.
            let bytes: usize = values.iter().map(String::len).sum();
            self.charge(1 + (bytes / 4096) as u64)?;
            return Ok(keys.iter().any(|key| how.count_matches(values.len(), key)));
        }
        for value in values {
            for key in keys {
                // Substring and wildcard matching cost up to value × key.
                self.charge(1 + (value.len() * key.len().max(1) / 4096) as u64)?;
                if let Some(captures) = how.test(value, key) {
                    if how.kind == MatchKind::Matches {
                        frame.matches = captures;
                    }
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}

/// The fields an `:index` selects (RFC 5260 section 6), or all of them.
fn pick<T>(mut fields: Vec<T>, index: Option<Index>) -> Vec<T> {
    let Some(Index { n, last }) = index else {
        return fields;
    };
    if n == 0 || n > fields.len() {
        return Vec::new();
    }
    let at = if last { fields.len() - n } else { n - 1 };
    vec![fields.swap_remove(at)]
}

fn parts<'a>(addresses: impl IntoIterator<Item = &'a str>, part: AddressPart) -> Vec<String> {
    addresses
        .into_iter()
        .filter_map(|a| address_part(a, part))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_picks_from_either_end() {
        let at = |n, last| pick(vec![1, 2, 3], Some(Index { n, last }));
        assert_eq!(at(1, false), vec![1]);
        assert_eq!(at(1, true), vec![3]);
        assert_eq!(at(3, true), vec![1]);
        assert_eq!(at(4, false), Vec::<i32>::new());
        assert_eq!(pick(vec![1, 2], None), vec![1, 2]);
    }
}
