//! The engine: one call maps one record through the plan and appends one JSON event.

use super::convert::{self, TimeSettings};
use super::explain::{ExplainedError, ExplainedField, ExplainedToken, Explanation};
use crate::guide::plan::KeyHasher;
use crate::guide::plan::{Field, Generator, Guide, OnInvalid, Param, Plan, Producer, Source, Transform, Type};
use crate::guide::spec::Part;
use crate::output::{write_key, write_raw_key, write_str, write_u64};
use crate::syntax::{line_text, recycle, LineTokens, Name, SyntaxError, Token};
use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault};

/// Run-time settings: fixed for a run, shared by every worker.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub time: TimeSettings,
    pub customer_id: Option<String>,
    pub collector_id: Option<String>,
    pub event_source_id: Option<String>,
    /// Map every line with this guide (index into [`Plan::guides`]) instead of the one that claims it.
    pub forced_guide: Option<usize>,
}

/// What became of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An event was written; `field_errors` fields failed their type and were left out.
    Mapped { guide: usize, field_errors: usize },
    /// No event was written, for this reason.
    Rejected(String),
}

/// A typed value on its way to the output.
#[derive(Clone, Debug)]
enum Value<'a> {
    Str(Cow<'a, str>),
    UInt(u64),
    Time(DateTime<Utc>),
    /// A UTC time already written as RFC 3339 (see [`convert::utc_stamp`]).
    Stamp([u8; 20]),
    Uuid(uuid::Uuid),
}

/// A field whose value failed its type.
struct FieldError {
    token: usize,
    source: String,
    value: String,
    reason: &'static str,
}

/// What a field writes when that does not depend on the line: worked out once per mapper.
enum Fixed {
    /// The field reads the line (or a generator that changes per line).
    PerLine,
    /// A constant or parameter that is absent or fails its type: never written.
    Omit,
    /// A constant or parameter: `"token":value`, ready to copy.
    Json(Box<[u8]>),
    /// The receive time, rendered once per distinct value.
    Received,
}

/// Up to this many unmapped tokens are grouped on the stack; more (a hostile line) in a map.
const SMALL_GROUPING: usize = 64;

/// Maps records with one plan; holds the scratch buffers one worker reuses for every line.
pub struct Mapper<'p> {
    plan: &'p Plan,
    settings: &'p Settings,
    /// Per guide, per field: what [`Fixed`] says about it.
    fixed: Vec<Vec<Fixed>>,
    /// The last receive time and its JSON string.
    received_json: (Option<DateTime<Utc>>, Vec<u8>),
    tokens: Vec<Token<'static>>,
    lines: Vec<LineTokens>,
    slots: Vec<Option<u32>>,
    unmapped: Vec<u32>,
    errors: Vec<FieldError>,
    /// The slot the last field took its value from (read by `explain`).
    used_slot: Option<u16>,
    /// Per-field record of what happened, kept only while explaining a line.
    trace: Option<Vec<Traced>>,
}

/// What `explain` records per field: its index, the slot it read, the JSON it wrote.
type Traced = (usize, Option<u16>, Vec<u8>);

impl<'p> Mapper<'p> {
    pub fn new(plan: &'p Plan, settings: &'p Settings) -> Self {
        let fixed = plan.guides.iter().map(|guide| guide.fields.iter().map(|f| fixed(f, settings)).collect()).collect();
        Mapper {
            plan,
            settings,
            fixed,
            received_json: (None, Vec::new()),
            tokens: Vec::new(),
            lines: Vec::new(),
            slots: Vec::new(),
            unmapped: Vec::new(),
            errors: Vec::new(),
            used_slot: None,
            trace: None,
        }
    }

    /// Maps one line (without its line ending). On success one JSON object and a newline are
    /// appended to `out`; on rejection nothing is.
    pub fn map<'a>(&mut self, line: &'a str, received: DateTime<Utc>, out: &mut Vec<u8>) -> Outcome
    where
        'p: 'a,
    {
        let mut tokens: Vec<Token<'a>> = recycle(std::mem::take(&mut self.tokens));
        let outcome = match self.select(line, &mut tokens) {
            Ok(guide) => {
                let field_errors = self.write_event(guide, &tokens, received, out);
                Outcome::Mapped { guide, field_errors }
            }
            Err(reason) => Outcome::Rejected(reason),
        };
        self.tokens = recycle(tokens);
        outcome
    }

    /// Maps a chunk of whole lines (each ended by `\n`, the last one need not be) with one
    /// pass of the guide's grammar ([`Grammar::tokenize_lines`](crate::syntax::Grammar)).
    /// `each` is called once per line, in input order, with the line's text (no line ending)
    /// and, when the pass settled the line, its outcome: the event is then already in `out`.
    /// With `None` the caller maps the line itself, typically with [`Mapper::map`], which
    /// gives the reason of a rejection: the line did not fit the grammar, is blank or needs
    /// cleaning (a `\r` or a byte-order mark), or another guide may claim it.
    pub fn map_lines<'a>(
        &mut self,
        text: &'a str,
        received: DateTime<Utc>,
        out: &mut Vec<u8>,
        mut each: impl FnMut(&mut Self, &'a str, Option<Outcome>, &mut Vec<u8>),
    ) where
        'p: 'a,
    {
        let index = self.settings.forced_guide.unwrap_or(0);
        let forced = self.settings.forced_guide.is_some();
        let plan = self.plan;
        let Some(guide) = plan.guides.get(index) else {
            for line in text.split_inclusive('\n') {
                each(self, line.strip_suffix('\n').unwrap_or(line), None, out);
            }
            return;
        };
        let mut tokens: Vec<Token<'a>> = recycle(std::mem::take(&mut self.tokens));
        let mut lines = std::mem::take(&mut self.lines);
        plan.grammars[guide.grammar].tokenize_lines(text, &mut tokens, &mut lines);
        for span in &lines {
            let line = &text[span.text.clone()];
            let settled = match &span.tokens {
                Some(range)
                    if line_text(line).len() == line.len()
                        && !line.trim().is_empty()
                        && (forced || claims(guide, &tokens[range.clone()])) =>
                {
                    let field_errors = self.write_event(index, &tokens[range.clone()], received, out);
                    Some(Outcome::Mapped { guide: index, field_errors })
                }
                _ => None,
            };
            each(self, line, settled, out);
        }
        self.tokens = recycle(tokens);
        self.lines = lines;
    }

    /// Maps one line and says how it travelled: its tokens with their spans, the row each
    /// token fed, the keys no row maps, and the fields that failed their type.
    pub fn explain(&mut self, line: &str, received: DateTime<Utc>) -> Explanation {
        let mut tokens: Vec<Token<'_>> = Vec::new();
        let guide_index = match self.select(line, &mut tokens) {
            Ok(g) => g,
            Err(reason) => {
                return Explanation { rejected: Some(reason), ..Explanation::default() };
            }
        };
        let guide = &self.plan.guides[guide_index];
        self.trace = Some(Vec::new());
        let mut event = Vec::new();
        self.write_event(guide_index, &tokens, received, &mut event);
        let trace = self.trace.take().unwrap_or_default();
        let token_of_slot = |slot: u16| self.slots.get(slot as usize).copied().flatten();
        let mut is_unmapped = vec![false; tokens.len()];
        for &i in &self.unmapped {
            is_unmapped[i as usize] = true;
        }
        let mut explained: Vec<ExplainedToken> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| ExplainedToken {
                name: unmapped_name(t, guide).to_string(),
                value: convert::unescape(t.value, t.escape).into_owned(),
                start: t.start,
                end: t.start + t.value.len(),
                read_by: Vec::new(),
                used_by: Vec::new(),
                unmapped: is_unmapped[i],
            })
            .collect();
        for field in &guide.fields {
            if let Producer::Sources(sources) = &field.producer {
                for source in sources {
                    if let Some(t) = token_of_slot(source.slot) {
                        explained[t as usize].read_by.push(field.token.clone());
                    }
                }
            }
        }
        let mut fields = Vec::new();
        for (index, slot, rendered) in trace {
            let field = &guide.fields[index];
            let source = slot.map(|s| guide.slots.names[s as usize].clone());
            if let Some(t) = slot.and_then(token_of_slot) {
                explained[t as usize].used_by.push(field.token.clone());
            }
            if rendered.is_empty() {
                continue;
            }
            let transform = match (&field.producer, slot) {
                (Producer::Sources(sources), Some(slot)) => {
                    sources.iter().find(|s| s.slot == slot).and_then(|s| s.transform.as_ref()).map(Transform::describe)
                }
                _ => None,
            };
            fields.push(ExplainedField {
                token: field.token.clone(),
                source: source.or_else(|| Some(field.producer.describe())),
                converter: match transform {
                    Some(t) => format!("{} ← {t}", field.ty.name()),
                    None => field.ty.name().to_string(),
                },
                value: String::from_utf8_lossy(&rendered).into_owned(),
            });
        }
        let errors = self
            .errors
            .iter()
            .map(|e| ExplainedError {
                token: guide.fields[e.token].token.clone(),
                source: e.source.clone(),
                value: e.value.clone(),
                error: e.reason.to_string(),
            })
            .collect();
        Explanation {
            guide: Some(guide.name.clone()),
            grammar: Some(self.plan.grammars[guide.grammar].name().to_string()),
            rejected: None,
            tokens: explained,
            fields,
            errors,
            event: Some(String::from_utf8_lossy(&event).trim_end().to_string()),
        }
    }

    /// Tokenizes the line and finds the guide that claims it.
    fn select<'a>(&self, line: &'a str, tokens: &mut Vec<Token<'a>>) -> Result<usize, String> {
        let mut tokenized: Option<usize> = None;
        let mut failure: Option<(usize, SyntaxError)> = None;
        for (index, guide) in self.plan.guides.iter().enumerate() {
            let forced = self.settings.forced_guide == Some(index);
            if self.settings.forced_guide.is_some() && !forced {
                continue;
            }
            if tokenized != Some(guide.grammar) {
                match self.plan.grammars[guide.grammar].tokenize(line, tokens) {
                    Ok(()) => tokenized = Some(guide.grammar),
                    Err(e) => {
                        tokenized = None;
                        failure.get_or_insert((guide.grammar, e));
                        continue;
                    }
                }
            }
            if forced || claims(guide, tokens) {
                return Ok(index);
            }
        }
        if tokenized.is_some() || failure.is_none() {
            return Err(match cef_identity(self.plan, tokens) {
                Some((vendor, product)) => {
                    format!("no guide claims CEF lines of vendor '{vendor}', product '{product}'")
                }
                None => "no guide claims this line".to_string(),
            });
        }
        let (grammar, e) = failure.unwrap_or((0, SyntaxError { column: 1, expected: String::new() }));
        Err(format!("does not fit grammar '{}' at {e}", self.plan.grammars[grammar].name()))
    }

    fn write_event<'a>(
        &mut self,
        guide_index: usize,
        tokens: &[Token<'a>],
        received: DateTime<Utc>,
        out: &mut Vec<u8>,
    ) -> usize
    where
        'p: 'a,
    {
        let guide = &self.plan.guides[guide_index];
        self.fill_slots(guide, tokens);
        self.errors.clear();
        let mut values: Vec<Option<Value<'a>>> = Vec::new();
        out.push(b'{');
        let mut first = true;
        // Expressions read every field's value, and explain records each: both take the long way.
        let shortcuts = !guide.has_expressions && self.trace.is_none();
        for (index, field) in guide.fields.iter().enumerate() {
            if shortcuts {
                match &self.fixed[guide_index][index] {
                    Fixed::PerLine => {}
                    Fixed::Omit => continue,
                    Fixed::Json(json) => {
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        out.extend_from_slice(json);
                        continue;
                    }
                    Fixed::Received => {
                        write_raw_key(out, &mut first, &field.json_key);
                        let (at, json) = &mut self.received_json;
                        if *at != Some(received) {
                            json.clear();
                            write_value(json, &Value::Time(received));
                            *at = Some(received);
                        }
                        out.extend_from_slice(json);
                        continue;
                    }
                }
            }
            let value = self.produce(guide, index, field, tokens, received, &values);
            if let Some(v) = &value {
                write_raw_key(out, &mut first, &field.json_key);
                write_value(out, v);
            }
            if let Some(trace) = &mut self.trace {
                let mut rendered = Vec::new();
                if let Some(v) = &value {
                    write_value(&mut rendered, v);
                }
                trace.push((index, self.used_slot.take(), rendered));
            }
            if guide.has_expressions {
                values.push(value);
            }
        }
        if let Some(name) = &guide.unmapped_field {
            self.write_unmapped(name, guide, tokens, out, &mut first);
        }
        if !self.errors.is_empty() {
            write_key(out, &mut first, &guide.errors_field);
            out.push(b'[');
            for (i, e) in self.errors.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let mut f = true;
                out.push(b'{');
                write_key(out, &mut f, "token");
                write_str(out, &guide.fields[e.token].token);
                write_key(out, &mut f, "source");
                write_str(out, &e.source);
                write_key(out, &mut f, "value");
                write_str(out, &e.value);
                write_key(out, &mut f, "error");
                write_str(out, e.reason);
                out.push(b'}');
            }
            out.push(b']');
        }
        out.extend_from_slice(b"}\n");
        self.errors.len()
    }

    /// Puts each token in its slot (the first occurrence wins); the rest are unmapped.
    fn fill_slots(&mut self, guide: &Guide, tokens: &[Token<'_>]) {
        self.slots.clear();
        self.slots.resize(guide.slots.len(), None);
        self.unmapped.clear();
        for (i, t) in tokens.iter().enumerate() {
            if t.value.is_empty() {
                continue;
            }
            let slot = match t.name {
                Name::Field(id) => guide.slots.by_field.get(id as usize).copied().flatten(),
                Name::Key(key) => guide.slots.by_key.get(key).copied(),
            };
            match slot {
                Some(s) if self.slots[s as usize].is_none() => self.slots[s as usize] = Some(i as u32),
                _ => self.unmapped.push(i as u32),
            }
        }
    }

    fn produce<'a>(
        &mut self,
        guide: &'p Guide,
        index: usize,
        field: &'p Field,
        tokens: &[Token<'a>],
        received: DateTime<Utc>,
        values: &[Option<Value<'a>>],
    ) -> Option<Value<'a>>
    where
        'p: 'a,
    {
        let settings = self.settings;
        let given = |text: &'p str| typed(Cow::Borrowed(text), &field.ty, settings, received).ok();
        match &field.producer {
            Producer::Sources(sources) => self.first_valid(guide, index, field, sources, tokens, received),
            Producer::Const(text) => given(text),
            Producer::Param(param) => {
                let value = match param {
                    Param::CustomerId => &settings.customer_id,
                    Param::CollectorId => &settings.collector_id,
                    Param::EventSourceId => &settings.event_source_id,
                };
                value.as_deref().and_then(given)
            }
            Producer::Generate(Generator::Uuid) => Some(Value::Uuid(uuid::Uuid::new_v4())),
            Producer::Generate(Generator::ReceivedTime) => Some(Value::Time(received)),
            Producer::Expr(expr) => {
                let mut ctx = std::collections::BTreeMap::new();
                for (name, i) in &expr.inputs {
                    let v = match values.get(*i).cloned().flatten() {
                        Some(Value::Str(s)) => minijinja::Value::from(s.into_owned()),
                        Some(Value::UInt(n)) => minijinja::Value::from(n),
                        Some(Value::Time(t)) => minijinja::Value::from(convert::format_time(&t)),
                        Some(Value::Stamp(s)) => minijinja::Value::from(String::from_utf8_lossy(&s).into_owned()),
                        Some(Value::Uuid(id)) => minijinja::Value::from(id.to_string()),
                        None => minijinja::Value::from(()),
                    };
                    ctx.insert(name.as_str(), v);
                }
                let result = match expr.compiled.eval(ctx) {
                    Ok(v) if v.is_none() || v.is_undefined() => return None,
                    Ok(v) => v.to_string(),
                    Err(e) => {
                        self.flag(index, field, "expr", &expr.source, leak_reason(&e));
                        return None;
                    }
                };
                if result.is_empty() {
                    return None;
                }
                match typed(Cow::Owned(result.clone()), &field.ty, settings, received) {
                    Ok(v) => Some(v),
                    Err(why) => {
                        self.flag(index, field, "expr", &result, why);
                        None
                    }
                }
            }
        }
    }

    /// The first source present whose value passes the field's type.
    fn first_valid<'a>(
        &mut self,
        guide: &'p Guide,
        index: usize,
        field: &'p Field,
        sources: &'p [Source],
        tokens: &[Token<'a>],
        received: DateTime<Utc>,
    ) -> Option<Value<'a>>
    where
        'p: 'a,
    {
        // The first failure, kept borrowed: most fields that fail one source are not flagged.
        let mut failed: Option<(u16, &'a str, &'static str)> = None;
        for source in sources {
            let Some(t) = self.slots[source.slot as usize] else {
                continue;
            };
            let token = &tokens[t as usize];
            let raw = convert::unescape(token.value, token.escape);
            let raw = match &source.transform {
                Some(transform) => match apply(transform, raw) {
                    Ok(Some(v)) => v,
                    Ok(None) => continue,
                    Err(why) => {
                        failed.get_or_insert((source.slot, token.value, why));
                        continue;
                    }
                },
                None => raw,
            };
            if raw.is_empty() {
                continue;
            }
            match typed(raw, &field.ty, self.settings, received) {
                Ok(v) => {
                    self.used_slot = Some(source.slot);
                    return Some(v);
                }
                Err(why) => {
                    failed.get_or_insert((source.slot, token.value, why));
                }
            }
        }
        if let Some((slot, value, why)) = failed {
            self.flag(index, field, &guide.slots.names[slot as usize], value, why);
        }
        None
    }

    fn flag(&mut self, index: usize, field: &Field, source: &str, value: &str, reason: &'static str) {
        if field.on_invalid == OnInvalid::Flag {
            self.errors.push(FieldError { token: index, source: source.to_string(), value: value.to_string(), reason });
        }
    }

    /// Writes the tokens no row took, under one object; a key seen twice becomes an array.
    fn write_unmapped<'x>(
        &self,
        name: &str,
        guide: &'x Guide,
        tokens: &[Token<'x>],
        out: &mut Vec<u8>,
        first: &mut bool,
    ) {
        if self.unmapped.is_empty() {
            return;
        }
        write_key(out, first, name);
        out.push(b'{');
        let mut inner_first = true;
        let mut write_group = |out: &mut Vec<u8>, group: &[u32]| {
            let Some(&head) = group.first() else { return };
            write_key(out, &mut inner_first, unmapped_name(&tokens[head as usize], guide));
            if group.len() > 1 {
                out.push(b'[');
            }
            for (k, &j) in group.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                let t = &tokens[j as usize];
                write_str(out, &convert::unescape(t.value, t.escape));
            }
            if group.len() > 1 {
                out.push(b']');
            }
        };
        if self.unmapped.len() <= SMALL_GROUPING {
            // Every ordinary line: a small open-addressing table on the stack, no allocation.
            // Each name's first token heads its group; `next` chains the group in line order.
            let hasher = BuildHasherDefault::<KeyHasher>::default();
            let mut table = [u32::MAX; 2 * SMALL_GROUPING];
            let mut next = [u32::MAX; SMALL_GROUPING];
            let mut last = [0u32; SMALL_GROUPING];
            let mut heads = [false; SMALL_GROUPING];
            for (p, &i) in self.unmapped.iter().enumerate() {
                let name = tokens[i as usize].name;
                let mut h = hasher.hash_one(name) as usize % table.len();
                loop {
                    match table[h] {
                        u32::MAX => {
                            table[h] = p as u32;
                            heads[p] = true;
                            last[p] = p as u32;
                            break;
                        }
                        q if tokens[self.unmapped[q as usize] as usize].name == name => {
                            next[last[q as usize] as usize] = p as u32;
                            last[q as usize] = p as u32;
                            break;
                        }
                        _ => h = (h + 1) % table.len(),
                    }
                }
            }
            let mut group = [0u32; SMALL_GROUPING];
            for head in (0..self.unmapped.len()).filter(|&p| heads[p]) {
                let (mut len, mut p) = (0, head as u32);
                while p != u32::MAX {
                    group[len] = self.unmapped[p as usize];
                    len += 1;
                    p = next[p as usize];
                }
                write_group(out, &group[..len]);
            }
        } else {
            // Many tokens (a hostile line): group by name in first-seen order, in linear time.
            let mut groups: Vec<Vec<u32>> = Vec::new();
            let mut index: HashMap<Name<'x>, usize, BuildHasherDefault<KeyHasher>> = HashMap::default();
            for &i in &self.unmapped {
                let g = *index.entry(tokens[i as usize].name).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[g].push(i);
            }
            for group in &groups {
                write_group(out, group);
            }
        }
        out.push(b'}');
    }
}

/// What a field writes whatever the line, if that is known before the first line.
fn fixed(field: &Field, settings: &Settings) -> Fixed {
    let text = match &field.producer {
        Producer::Const(text) => Some(text.as_str()),
        Producer::Param(Param::CustomerId) => settings.customer_id.as_deref(),
        Producer::Param(Param::CollectorId) => settings.collector_id.as_deref(),
        Producer::Param(Param::EventSourceId) => settings.event_source_id.as_deref(),
        Producer::Generate(Generator::ReceivedTime) => return Fixed::Received,
        Producer::Sources(_) | Producer::Generate(Generator::Uuid) | Producer::Expr(_) => return Fixed::PerLine,
    };
    // The received time only matters to BSD stamps, which a constant is not.
    match text.map(|t| typed(Cow::Borrowed(t), &field.ty, settings, DateTime::<Utc>::UNIX_EPOCH)) {
        Some(Ok(value)) => {
            let mut json = field.json_key.to_vec();
            write_value(&mut json, &value);
            Fixed::Json(json.into())
        }
        None | Some(Err(_)) => Fixed::Omit,
    }
}

/// The name an unmapped token is kept under: the device's key, or `@field`.
fn unmapped_name<'x>(token: &Token<'x>, guide: &'x Guide) -> &'x str {
    match token.name {
        Name::Key(k) => k,
        Name::Field(id) => guide.field_names.get(id as usize).map_or("@?", String::as_str),
    }
}

/// Whether a guide claims a tokenized line: CEF lines by vendor and product, others if it takes native lines.
fn claims(guide: &Guide, tokens: &[Token<'_>]) -> bool {
    let Some((vendor_id, product_id)) = guide.claim.cef_fields else {
        return guide.claim.native;
    };
    match cef_header(tokens, vendor_id, product_id) {
        Some((vendor, product)) => guide.claim.cef.iter().any(|(v, p)| *v == vendor && *p == product),
        None => guide.claim.native,
    }
}

/// The CEF vendor and product of a line (unescaped), for the first guide's grammar.
fn cef_identity<'a>(plan: &Plan, tokens: &[Token<'a>]) -> Option<(Cow<'a, str>, Cow<'a, str>)> {
    let (vendor_id, product_id) = plan.guides.first()?.claim.cef_fields?;
    cef_header(tokens, vendor_id, product_id)
}

/// The values of two grammar fields of a line, unescaped.
fn cef_header<'a>(tokens: &[Token<'a>], vendor_id: u16, product_id: u16) -> Option<(Cow<'a, str>, Cow<'a, str>)> {
    let field =
        |id: u16| tokens.iter().find(|t| t.name == Name::Field(id)).map(|t| convert::unescape(t.value, t.escape));
    field(vendor_id).zip(field(product_id))
}

/// Applies a transform. `Ok(None)`: the value has no such part (a bare address has no port).
fn apply<'a>(transform: &'a Transform, raw: Cow<'a, str>) -> Result<Option<Cow<'a, str>>, &'static str> {
    let part = |raw: Cow<'a, str>, pick: fn(&str) -> Option<&str>| -> Option<Cow<'a, str>> {
        match raw {
            Cow::Borrowed(s) => pick(s).map(Cow::Borrowed),
            Cow::Owned(s) => pick(&s).map(|x| Cow::Owned(x.to_string())),
        }
    };
    Ok(match transform {
        Transform::SplitIpPort(Part::Port) => part(raw, convert::port_part),
        Transform::SplitIpPort(_) => part(raw, |s| Some(convert::split_ip_port(s).0)),
        Transform::SplitStatus(Part::Reason) => part(raw, |s| convert::split_status(s).1),
        Transform::SplitStatus(_) => part(raw, |s| Some(convert::split_status(s).0)),
        Transform::Map(pairs) => {
            let found = pairs.iter().find(|(from, _)| from.eq_ignore_ascii_case(&raw));
            Some(found.map_or(raw, |(_, to)| Cow::Borrowed(to.as_str())))
        }
        Transform::SyslogSeverity => Some(Cow::Borrowed(convert::syslog_severity(&raw)?)),
        Transform::Before(sep) => Some(match raw {
            Cow::Borrowed(s) => Cow::Borrowed(s.split_once(sep.as_str()).map_or(s, |(a, _)| a)),
            Cow::Owned(s) => Cow::Owned(s.split_once(sep.as_str()).map_or(s.as_str(), |(a, _)| a).to_string()),
        }),
        Transform::After(sep) => Some(match raw {
            Cow::Borrowed(s) => Cow::Borrowed(s.rsplit_once(sep.as_str()).map_or(s, |(_, b)| b)),
            Cow::Owned(s) => Cow::Owned(s.rsplit_once(sep.as_str()).map_or(s.as_str(), |(_, b)| b).to_string()),
        }),
    })
}

/// Converts text to a field's type.
fn typed<'a>(
    raw: Cow<'a, str>,
    ty: &Type,
    settings: &Settings,
    received: DateTime<Utc>,
) -> Result<Value<'a>, &'static str> {
    Ok(match ty {
        Type::Timestamp => match convert::utc_stamp(&raw, &settings.time) {
            Some(stamp) => Value::Stamp(stamp),
            None => Value::Time(convert::parse_time(&raw, &settings.time, received)?),
        },
        Type::Ip => {
            let ip = convert::parse_ip(&raw)?;
            if ip.is_ipv4() {
                Value::Str(raw)
            } else {
                Value::Str(Cow::Owned(ip.to_string()))
            }
        }
        Type::Port => Value::UInt(u64::from(convert::parse_port(&raw)?)),
        Type::Integer => Value::UInt(convert::parse_integer(&raw)?),
        Type::String => Value::Str(raw),
        Type::Enum(values) => {
            if !values.iter().any(|v| v == &raw) {
                return Err("not one of the token's values");
            }
            Value::Str(raw)
        }
    })
}

fn write_value(out: &mut Vec<u8>, value: &Value<'_>) {
    match value {
        Value::Str(s) => write_str(out, s),
        Value::UInt(n) => write_u64(out, *n),
        Value::Time(t) => {
            out.push(b'"');
            convert::write_time(out, t);
            out.push(b'"');
        }
        Value::Stamp(stamp) => {
            out.push(b'"');
            out.extend_from_slice(stamp);
            out.push(b'"');
        }
        Value::Uuid(id) => {
            let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
            write_str(out, id.hyphenated().encode_lower(&mut buf));
        }
    }
}

fn leak_reason(e: &minijinja::Error) -> &'static str {
    match e.kind() {
        minijinja::ErrorKind::UndefinedError => "expression read an undefined value",
        minijinja::ErrorKind::InvalidOperation => "expression made an invalid operation",
        _ => "expression failed",
    }
}
