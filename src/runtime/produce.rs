//! One field's value for one line: read from the line's slots (the first source present whose
//! value passes the type, after its transform), or a constant, a parameter, a generator or an
//! expression.

use super::Settings;
use crate::diag::Code;
use crate::guide::plan::{Expression, Field, Generator, Guide, OnInvalid, Param, Producer, Source, Transform, Type};
use crate::syntax::{Name, Token};
use crate::value::time::TimeSettings;
use crate::value::{self, net, text, time, Invalid, Value};
use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// The most items an expression's value may hold (a field's value is one value).
const MAX_RESULT_ITEMS: usize = 1000;

const RESULT_TOO_LARGE: &str = "the expression's value has more than 1000 items";

/// A field whose value failed its type.
pub(super) struct FieldError {
    /// Index of the field in its guide.
    pub token: usize,
    pub source: String,
    pub value: String,
    pub code: Code,
    pub reason: &'static str,
}

/// The state of the line being mapped, reused from line to line.
#[derive(Default)]
pub(super) struct Record {
    /// Slot → index of the token that fills it.
    pub slots: Vec<Option<u32>>,
    /// Tokens kept under the unmapped object: those no slot took, and (see
    /// [`Record::keep_unused`]) those no field used; in line order.
    pub unmapped: Vec<u32>,
    /// Slot → whether a field took its value, or recorded its failure in the errors array.
    pub taken: Vec<bool>,
    /// The slots this line fills, in line order.
    pub filled: Vec<u16>,
    pub errors: Vec<FieldError>,
    /// Slots whose address an `ipv4`/`ipv6` field left for its sibling, and slots such a field
    /// took: an address no field of its family took stays under the unmapped object even when
    /// another field used the slot (a port cut from it).
    pub declined: Vec<u16>,
    pub addressed: Vec<u16>,
    /// The slot the last field took its value from (read by `explain`).
    pub used_slot: Option<u16>,
    /// The slot that gave the last field's year (read by `explain`).
    pub year_slot: Option<u16>,
    /// How this line's times are read (the run's settings, or its device's date order).
    pub time: TimeSettings,
    /// How many of the tokens are the line's (the transport's follow).
    pub line_len: usize,
    /// This line's event id when it is derived from where the message is stored
    /// ([`DerivedIds`](super::DerivedIds)); otherwise each event gets a random one.
    pub event_id: Option<uuid::Uuid>,
}

impl Record {
    /// Puts each token in its slot (the first occurrence wins); the rest are unmapped. Tokens
    /// from `line_len` on are the transport's: they fill their slots, and are never unmapped
    /// (they were not read from the line).
    pub fn fill_slots(&mut self, guide: &Guide, tokens: &[Token<'_>], line_len: usize) {
        self.line_len = line_len;
        self.slots.clear();
        self.slots.resize(guide.slots.len(), None);
        self.taken.clear();
        self.taken.resize(guide.slots.len(), false);
        self.filled.clear();
        self.unmapped.clear();
        self.errors.clear();
        self.declined.clear();
        self.addressed.clear();
        for (i, t) in tokens.iter().enumerate() {
            if t.value.is_empty() {
                continue;
            }
            let slot = match t.name {
                Name::Field(id) => guide.slots.by_field.get(id as usize).copied().flatten(),
                Name::Key(key) => guide.slots.by_key.get(key),
            };
            match slot {
                Some(s) if self.slots[s as usize].is_none() => {
                    self.slots[s as usize] = Some(i as u32);
                    self.filled.push(s);
                }
                _ if i >= line_len => {}
                _ => self.unmapped.push(i as u32),
            }
        }
    }

    /// The value of field `index` for this line, or `None` when it has none (absent, or
    /// failed and flagged). `values` holds the fields before it, for expressions.
    #[allow(clippy::too_many_arguments)]
    pub fn produce<'a, 'p: 'a>(
        &mut self,
        settings: &'p Settings,
        guide: &'p Guide,
        index: usize,
        field: &'p Field,
        tokens: &[Token<'a>],
        received: DateTime<Utc>,
        values: &[Option<Value<'a>>],
    ) -> Option<Value<'a>> {
        let given = |text: &'p str| value::read(Cow::Borrowed(text), &field.ty, &settings.time, received).ok();
        match &field.producer {
            Producer::Sources(sources) => self.first_valid(guide, index, field, sources, tokens, received),
            Producer::Const(text) => given(text),
            Producer::Param(param) => param_value(settings, *param).and_then(given),
            Producer::Generate(Generator::Uuid) => Some(Value::Uuid(self.event_id.unwrap_or_else(uuid::Uuid::new_v4))),
            Producer::Generate(Generator::ReceivedTime) => Some(Value::Time(received)),
            Producer::Expr(expr) => self.evaluate(index, field, expr, received, values),
        }
    }

    /// The first source present whose value passes the field's type.
    fn first_valid<'a, 'p: 'a>(
        &mut self,
        guide: &'p Guide,
        index: usize,
        field: &'p Field,
        sources: &'p [Source],
        tokens: &[Token<'a>],
        received: DateTime<Utc>,
    ) -> Option<Value<'a>> {
        for source in sources {
            let Some(t) = self.slots[source.slot as usize] else {
                continue;
            };
            let token = &tokens[t as usize];
            let raw = text::unescape(token.value, token.escape);
            let raw = match &source.transform {
                Some(transform) => match apply(transform, raw) {
                    Ok(Some(v)) => Ok(v),
                    Ok(None) => continue,
                    Err(reason) => Err(Invalid { code: Code::TransformFailed, reason }),
                },
                None => Ok(raw),
            };
            let mut time = self.time;
            let mut yearless = false;
            let read = match raw {
                Ok(raw) if raw.is_empty() => continue,
                Ok(raw) => {
                    yearless = field.ty == Type::Timestamp && time::lacks_year(&raw);
                    let year = if yearless { self.year_of(field, tokens) } else { None };
                    time.year = year.map(|(y, _)| y);
                    let read = value::read(raw, &field.ty, &time, received);
                    if let (Ok(_), Some((_, slot))) = (&read, year) {
                        self.taken[slot as usize] = true;
                        self.year_slot = Some(slot);
                    }
                    read
                }
                Err(invalid) => Err(invalid),
            };
            match read {
                Ok(v) => {
                    self.used_slot = Some(source.slot);
                    self.taken[source.slot as usize] = true;
                    if matches!(field.ty, Type::Ipv4 | Type::Ipv6) {
                        self.addressed.push(source.slot);
                    }
                    if yearless && time.year.is_none() {
                        // Written, and flagged: the year is the collector's guess.
                        let guessed = Invalid { code: Code::YearGuessed, reason: YEAR_GUESSED };
                        self.flag(index, field, &guide.slots.names[source.slot as usize], token.value, guessed);
                    }
                    return Some(v);
                }
                // An address of the other family is the sibling token's (`sourceIpv6` beside
                // `sourceIpv4`): no error, not taken, and no later source stands in for it,
                // so the two tokens always describe the same source.
                Err(invalid) if invalid.code == Code::OtherIpFamily => {
                    self.declined.push(source.slot);
                    return None;
                }
                // A present value that fails is the field's error: no later source stands in
                // for it (a date in the wrong order must not become the relay's stamp).
                Err(invalid) if field.on_invalid == OnInvalid::Flag => {
                    let name = &guide.slots.names[source.slot as usize];
                    // A value that is no address is one error, not one per family token.
                    let repeated = invalid.code == Code::NotAnIp
                        && self
                            .errors
                            .iter()
                            .any(|e| e.code == Code::NotAnIp && e.source == **name && e.value == token.value);
                    if !repeated {
                        self.flag(index, field, name, token.value, invalid);
                    }
                    self.taken[source.slot as usize] = true;
                    return None;
                }
                // `skip`: the value is not this field's business; the next source may be.
                Err(_) => {}
            }
        }
        None
    }

    /// Keeps, under the unmapped object, every value of the line that no field used and no
    /// error records: a candidate that lost to an earlier source of its row, one that failed
    /// a row that says `on_invalid: skip`, or an address of a family the guide has no token
    /// for. Nothing the grammar read is lost.
    pub fn keep_unused(&mut self) {
        let before = self.unmapped.len();
        for &slot in &self.filled {
            if let (Some(t), false) = (self.slots[slot as usize], self.taken[slot as usize]) {
                if (t as usize) < self.line_len {
                    self.unmapped.push(t);
                }
            }
        }
        for &slot in &self.declined {
            if let (Some(t), true) = (self.slots[slot as usize], self.taken[slot as usize]) {
                if !self.addressed.contains(&slot) && (t as usize) < self.line_len {
                    self.unmapped.push(t);
                }
            }
        }
        if self.unmapped.len() > before {
            self.unmapped.sort_unstable();
            self.unmapped.dedup();
        }
    }

    /// The year the line gives for a time written without one (`year_from`), and its slot.
    fn year_of(&self, field: &Field, tokens: &[Token<'_>]) -> Option<(i32, u16)> {
        field.year_slots.iter().find_map(|&slot| {
            let text = tokens[self.slots[slot as usize]? as usize].value;
            let year = text.parse::<i32>().ok().filter(|y| text.len() == 4 && (1970..=9999).contains(y))?;
            Some((year, slot))
        })
    }

    /// Evaluates an expression over the fields before it and reads the result as the type.
    fn evaluate<'a>(
        &mut self,
        index: usize,
        field: &Field,
        expr: &Expression,
        received: DateTime<Utc>,
        values: &[Option<Value<'a>>],
    ) -> Option<Value<'a>> {
        let mut ctx = std::collections::BTreeMap::new();
        for (name, i) in &expr.inputs {
            let v = match values.get(*i).cloned().flatten() {
                Some(Value::Str(s)) => minijinja::Value::from(s.into_owned()),
                Some(Value::UInt(n)) => minijinja::Value::from(n),
                Some(Value::Time(t)) => minijinja::Value::from(time::format_time(&t)),
                Some(Value::Stamp(s)) => minijinja::Value::from(String::from_utf8_lossy(&s).into_owned()),
                Some(Value::Uuid(id)) => minijinja::Value::from(id.to_string()),
                None => minijinja::Value::from(()),
            };
            ctx.insert(name.as_str(), v);
        }
        let result = match expr.compiled.eval(ctx) {
            Ok(v) if v.is_none() || v.is_undefined() => return None,
            // A sequence is made lazily (`[1,2,3] * 100000000`): counted before it is written.
            Ok(v) if v.try_iter().is_ok_and(|items| items.take(MAX_RESULT_ITEMS + 1).count() > MAX_RESULT_ITEMS) => {
                let invalid = Invalid { code: Code::ExprFailed, reason: RESULT_TOO_LARGE };
                self.flag(index, field, "expr", &expr.source, invalid);
                return None;
            }
            Ok(v) => v.to_string(),
            Err(e) => {
                let invalid = Invalid { code: Code::ExprFailed, reason: expr_failure(&e) };
                self.flag(index, field, "expr", &expr.source, invalid);
                return None;
            }
        };
        if result.is_empty() {
            return None;
        }
        match value::read(Cow::Owned(result.clone()), &field.ty, &self.time, received) {
            Ok(v) => Some(v),
            Err(invalid) => {
                self.flag(index, field, "expr", &result, invalid);
                None
            }
        }
    }

    /// Records a failed field in the errors array, unless its row says `skip`.
    fn flag(&mut self, index: usize, field: &Field, source: &str, value: &str, invalid: Invalid) {
        if field.on_invalid == OnInvalid::Flag {
            self.errors.push(FieldError {
                token: index,
                source: source.to_string(),
                value: value.to_string(),
                code: invalid.code,
                reason: invalid.reason,
            });
        }
    }
}

/// Why a time written without its year is flagged when the line does not give the year.
const YEAR_GUESSED: &str = "the line has no year for this time: the year of the receive time is used";

/// A run-time parameter's value, when it was given.
pub(super) fn param_value(settings: &Settings, param: Param) -> Option<&str> {
    match param {
        Param::CustomerId => settings.customer_id.as_deref(),
        Param::CollectorId => settings.collector_id.as_deref(),
        Param::EventSourceId => settings.event_source_id.as_deref(),
    }
}

/// Applies a transform. `Ok(None)`: the value has no such part (a bare address has no port).
fn apply<'a>(transform: &'a Transform, raw: Cow<'a, str>) -> Result<Option<Cow<'a, str>>, &'static str> {
    Ok(match raw {
        Cow::Borrowed(s) => apply_to(transform, s)?.map(Cow::Borrowed),
        Cow::Owned(s) => apply_to(transform, &s)?.map(|part| Cow::Owned(part.to_string())),
    })
}

/// [`apply`] to borrowed text: the result is a part of it, or a value the guide writes.
pub(super) fn apply_to<'a>(transform: &'a Transform, raw: &'a str) -> Result<Option<&'a str>, &'static str> {
    Ok(match transform {
        Transform::PortOf => net::port_part(raw),
        Transform::AddressOf => Some(net::split_ip_port(raw).0),
        Transform::StatusReason => text::split_status(raw).1,
        Transform::StatusOutcome => Some(text::split_status(raw).0),
        Transform::Map(pairs) => {
            let found = pairs.iter().find(|(from, _)| from.eq_ignore_ascii_case(raw));
            Some(found.map_or(raw, |(_, to)| to.as_str()))
        }
        Transform::SyslogSeverity => Some(text::syslog_severity(raw)?),
        Transform::Before(sep) => Some(raw.split_once(sep.as_str()).map_or(raw, |(a, _)| a)),
        Transform::BeforeLast(sep) => Some(raw.rsplit_once(sep.as_str()).map_or(raw, |(a, _)| a)),
        Transform::Only(values) => values.iter().any(|v| v.eq_ignore_ascii_case(raw)).then_some(raw),
        Transform::After(sep) => Some(raw.rsplit_once(sep.as_str()).map_or(raw, |(_, b)| b)),
    })
}

/// Why an expression failed, in words that do not depend on the line.
fn expr_failure(e: &minijinja::Error) -> &'static str {
    match e.kind() {
        minijinja::ErrorKind::UndefinedError => "expression read an undefined value",
        minijinja::ErrorKind::InvalidOperation => "expression made an invalid operation",
        minijinja::ErrorKind::OutOfFuel => "expression ran past its budget of instructions",
        minijinja::ErrorKind::UnknownFilter => "expression used a filter that does not exist here",
        _ => "expression failed",
    }
}
