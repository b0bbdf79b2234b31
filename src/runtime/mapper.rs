//! The engine: a [`Mapper`] maps lines through the plan, alone or a batch in one pass of the
//! grammar, and appends one JSON event per mapped line.

use super::direct::Direct;
use super::ids::DerivedIds;
use super::outcome::Outcome;
use super::produce::Record;
use super::select::{claims, select};
use super::steps::{steps, ReceivedJson, Step};
use super::Settings;
use crate::diag::Code;
use crate::guide::plan::{Guide, Plan};
use crate::output::{write_errors, write_raw_key, write_str, write_unmapped, write_value, ErrorEntry};
use crate::syntax::{line_text, recycle, transport, Escape, LineTokens, Name, Token, Transport};
use crate::value::text::unescape;
use crate::value::time::TimeSettings;
use crate::value::Value;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Maps records with one plan; holds the scratch buffers one worker reuses for every line.
pub struct Mapper<'p> {
    pub(super) plan: &'p Plan,
    pub(super) settings: &'p Settings,
    /// Per guide: the [steps](Step) of its events, and one step per field (for `explain`).
    steps: Vec<Vec<Step>>,
    traced_steps: Vec<Vec<Step>>,
    received_json: ReceivedJson,
    /// Token buffers: one for a batch's single pass, one for lines mapped alone.
    batch_tokens: Vec<Token<'static>>,
    line_tokens: Vec<Token<'static>>,
    /// A line's tokens and the transport's, when the lines have a transport.
    joined_tokens: Vec<Token<'static>>,
    lines: Vec<LineTokens>,
    /// Where the lines mapped next came from, for the `@peer_ip` fields.
    transport: Option<Arc<Transport>>,
    /// The full length of the message being mapped, when it was truncated.
    truncated: Option<String>,
    /// The ids of the next batch's events, when they are derived (see [`Mapper::set_ids`]).
    ids: Option<DerivedIds>,
    /// Per guide, per field: events whose field failed, since the last drain.
    error_counts: Vec<Vec<u64>>,
    pub(super) record: Record,
    /// Per-field record of what happened, kept only while explaining a line.
    pub(super) trace: Option<Vec<Traced>>,
}

/// What `explain` records per field: its index, the slot it read, the slot that gave its
/// year (`year_from`), the JSON it wrote.
pub(super) type Traced = (usize, Option<u16>, Option<u16>, Vec<u8>);

impl<'p> Mapper<'p> {
    /// A mapper for `plan`, with the run's settings.
    pub fn new(plan: &'p Plan, settings: &'p Settings) -> Self {
        // Expressions read every field's value: their guides take one step per field.
        let steps_of = |shortcuts: bool| -> Vec<Vec<Step>> {
            plan.guides.iter().map(|g| steps(g, settings, shortcuts && !g.has_expressions)).collect()
        };
        Mapper {
            plan,
            settings,
            steps: steps_of(true),
            traced_steps: steps_of(false),
            received_json: ReceivedJson::default(),
            batch_tokens: Vec::new(),
            line_tokens: Vec::new(),
            joined_tokens: Vec::new(),
            lines: Vec::new(),
            transport: None,
            truncated: None,
            ids: None,
            error_counts: plan.guides.iter().map(|g| vec![0; g.fields.len()]).collect(),
            record: Record::default(),
            trace: None,
        }
    }

    /// Sets where the lines mapped next came from: a guide reads it as `@peer_ip` and the
    /// other [transport fields](transport::FIELDS). Lines read from files have none.
    pub fn set_transport(&mut self, transport: Option<Arc<Transport>>) {
        self.transport = transport;
    }

    /// Sets the ids of the events mapped next: line `i` of the next batch (or the next
    /// message, `i` = 0) gets `ids.id(i)`; with `None`, every event gets a random id.
    pub fn set_ids(&mut self, ids: Option<DerivedIds>) {
        self.ids = ids;
    }

    /// Line `i` of the batch being mapped is next: its event's id, when derived.
    fn next_line(&mut self, i: usize) {
        self.record.event_id = self.ids.map(|ids| ids.id(i));
    }

    /// Maps one line (without its line ending). On success one JSON object and a newline are
    /// appended to `out`; otherwise nothing is. A line of blanks is [`Outcome::Blank`]. A line
    /// that no grammar reads but that is one field of a CSV export (wrapped in quotes, inner
    /// quotes doubled) is mapped as the line inside.
    pub fn map<'a>(&mut self, line: &'a str, received: DateTime<Utc>, out: &mut Vec<u8>) -> Outcome
    where
        'p: 'a,
    {
        self.next_line(0);
        let outcome = self.map_line(line, received, out);
        self.record.event_id = None;
        outcome
    }

    /// [`Mapper::map`], the line's event id already set.
    fn map_line<'a>(&mut self, line: &'a str, received: DateTime<Utc>, out: &mut Vec<u8>) -> Outcome
    where
        'p: 'a,
    {
        if line.trim().is_empty() {
            return Outcome::Blank;
        }
        match self.map_as_is(line, received, out) {
            Outcome::Rejected(reject) if reject.code == Code::Syntax => match csv_field(line) {
                Some(inner) => match self.map_as_is(&inner, received, out) {
                    mapped @ Outcome::Mapped { .. } => mapped,
                    _ => Outcome::Rejected(reject),
                },
                None => Outcome::Rejected(reject),
            },
            outcome => outcome,
        }
    }

    /// [`Mapper::map`] on the line as it is.
    fn map_as_is<'a>(&mut self, line: &'a str, received: DateTime<Utc>, out: &mut Vec<u8>) -> Outcome
    where
        'p: 'a,
    {
        let mut tokens: Vec<Token<'a>> = recycle(std::mem::take(&mut self.line_tokens));
        let outcome = match select(self.plan, self.settings, line, &mut tokens) {
            Ok(guide) => {
                let field_errors = self.write_event(guide, &tokens, received, out);
                Outcome::Mapped { guide, field_errors }
            }
            Err(reject) => Outcome::Rejected(reject),
        };
        self.line_tokens = recycle(tokens);
        outcome
    }

    /// Maps a batch of whole lines, each ended by `\n` (the last one need not be), appending
    /// the events to `out` in line order. `each` is called once per line, in order, with the
    /// line's text (no line ending, no byte-order mark) and its outcome.
    ///
    /// The first guide's grammar (or the forced one's) reads the batch in one pass. A line
    /// that pass does not settle is mapped alone, which gives the reason of a rejection: it
    /// did not fit, is blank, needs cleaning (a `\r` or a byte-order mark), or another guide
    /// may claim it. A batch that is not UTF-8 is mapped line by line, each line's invalid
    /// bytes replaced by U+FFFD rather than losing the line.
    pub fn map_batch(
        &mut self,
        batch: &[u8],
        received: DateTime<Utc>,
        out: &mut Vec<u8>,
        mut each: impl FnMut(&str, &Outcome),
    ) {
        // No bytes, no lines (the one-pass tokenizer would report one blank line).
        if batch.is_empty() {
            return;
        }
        match std::str::from_utf8(batch) {
            Ok(text) => self.map_text(text, received, out, &mut each),
            Err(_) => {
                for (i, raw) in batch.split_inclusive(|&b| b == b'\n').enumerate() {
                    let line = String::from_utf8_lossy(raw);
                    let line = line_text(&line);
                    self.next_line(i);
                    let outcome = self.map_line(line, received, out);
                    each(line, &outcome);
                }
            }
        }
        self.record.event_id = None;
    }

    /// [`Mapper::map_batch`] on text.
    fn map_text(
        &mut self,
        text: &str,
        received: DateTime<Utc>,
        out: &mut Vec<u8>,
        each: &mut impl FnMut(&str, &Outcome),
    ) {
        let index = self.settings.forced_guide.unwrap_or(0);
        let forced = self.settings.forced_guide.is_some();
        let plan = self.plan;
        let Some(guide) = plan.guides.get(index) else {
            for (i, raw) in text.split_inclusive('\n').enumerate() {
                let line = line_text(raw);
                self.next_line(i);
                let outcome = self.map_line(line, received, out);
                each(line, &outcome);
            }
            return;
        };
        let mut tokens: Vec<Token<'_>> = recycle(std::mem::take(&mut self.batch_tokens));
        let mut lines = std::mem::take(&mut self.lines);
        plan.grammars[guide.grammar].tokenize_lines(text, &mut tokens, &mut lines);
        for (i, span) in lines.iter().enumerate() {
            let line = &text[span.text.clone()];
            let clean = line_text(line);
            self.next_line(i);
            let outcome = match &span.tokens {
                Some(range)
                    if clean.len() == line.len()
                        && !line.trim().is_empty()
                        && (forced || claims(guide, &tokens[range.clone()])) =>
                {
                    let field_errors = self.write_event(index, &tokens[range.clone()], received, out);
                    Outcome::Mapped { guide: index, field_errors }
                }
                _ => self.map_line(clean, received, out),
            };
            each(clean, &outcome);
        }
        self.batch_tokens = recycle(tokens);
        self.lines = lines;
    }

    /// Writes the event of a tokenized line that `guide_index` maps, with the transport's
    /// fields after the line's tokens when it has them; returns how many fields failed their
    /// type.
    pub(super) fn write_event(
        &mut self,
        guide_index: usize,
        tokens: &[Token<'_>],
        received: DateTime<Utc>,
        out: &mut Vec<u8>,
    ) -> usize {
        let Some(transport) = self.transport.clone() else {
            return self.write_tokens(guide_index, tokens, tokens.len(), received, out);
        };
        let first_field = self.plan.guides[guide_index].field_names.len() - transport::FIELDS.len();
        let mut joined: Vec<Token<'_>> = recycle(std::mem::take(&mut self.joined_tokens));
        joined.extend_from_slice(tokens);
        for k in 0..transport::FIELDS.len() {
            if let Some(value) = transport.value(k) {
                let name = Name::Field((first_field + k) as u16);
                joined.push(Token { name, value, escape: Escape::None, start: 0 });
            }
        }
        let field_errors = self.write_tokens(guide_index, &joined, tokens.len(), received, out);
        self.joined_tokens = recycle(joined);
        field_errors
    }

    /// [`Mapper::write_event`] over the line's tokens, the first `line_len` of `tokens`.
    fn write_tokens<'a>(
        &mut self,
        guide_index: usize,
        tokens: &[Token<'a>],
        line_len: usize,
        received: DateTime<Utc>,
        out: &mut Vec<u8>,
    ) -> usize
    where
        'p: 'a,
    {
        let (plan, settings) = (self.plan, self.settings);
        let guide = &plan.guides[guide_index];
        self.record.fill_slots(guide, tokens, line_len);
        self.record.time = self.line_time(guide_index, tokens);
        let mut values: Vec<Option<Value<'a>>> = Vec::new();
        // Every member is written after a comma; the first comma becomes the `{`.
        let open = out.len();
        let mut first = false;
        let steps = if self.trace.is_none() { &self.steps[guide_index] } else { &self.traced_steps[guide_index] };
        for step in steps {
            let (index, field) = match step {
                Step::Const(json) => {
                    out.extend_from_slice(json);
                    continue;
                }
                Step::Received(index) => {
                    write_raw_key(out, &mut first, &guide.fields[*index].json_key);
                    out.extend_from_slice(self.received_json.get(received));
                    continue;
                }
                Step::Read(index) => match self.record.write_direct(&guide.fields[*index], tokens, out) {
                    Direct::Written | Direct::Absent => continue,
                    Direct::General => (*index, &guide.fields[*index]),
                },
                Step::Field(index) => (*index, &guide.fields[*index]),
            };
            let value = self.record.produce(settings, guide, index, field, tokens, received, &values);
            if let Some(v) = &value {
                write_raw_key(out, &mut first, &field.json_key);
                write_value(out, v);
            }
            if let Some(trace) = &mut self.trace {
                let mut rendered = Vec::new();
                if let Some(v) = &value {
                    write_value(&mut rendered, v);
                }
                trace.push((index, self.record.used_slot.take(), self.record.year_slot.take(), rendered));
            }
            if guide.has_expressions {
                values.push(value);
            }
        }
        if guide.unmapped_field.is_some() {
            self.record.keep_unused();
        }
        self.write_extras(guide, tokens, out, &mut first);
        match out.get_mut(open) {
            Some(comma) => *comma = b'{',
            None => out.push(b'{'),
        }
        out.extend_from_slice(b"}\n");
        for e in &self.record.errors {
            self.error_counts[guide_index][e.token] += 1;
        }
        self.record.errors.len()
    }

    /// How the line's times are read: with its device's date order when one is given.
    fn line_time(&self, guide: usize, tokens: &[Token<'_>]) -> TimeSettings {
        let mut time = self.settings.time;
        let by_device = &self.settings.date_order_by_device;
        if by_device.is_empty() {
            return time;
        }
        let device = self.plan.guides[guide].device_slots.iter().find_map(|&s| self.record.slots[s as usize]);
        if let Some(name) = device.map(|t| tokens[t as usize].value) {
            // Host names are not case-sensitive; the last flag for a device wins.
            if let Some((_, order)) = by_device.iter().rev().find(|(d, _)| d.eq_ignore_ascii_case(name)) {
                time.order = *order;
            }
        }
        time
    }

    /// Writes the keys no row took and the fields that failed, after the guide's tokens.
    fn write_extras(&self, guide: &Guide, tokens: &[Token<'_>], out: &mut Vec<u8>, first: &mut bool) {
        if let Some(name) = &guide.unmapped_field {
            write_unmapped(
                out,
                first,
                name,
                &self.record.unmapped,
                |&i| tokens[i as usize].name,
                |&i, out| match tokens[i as usize].name {
                    Name::Field(id) => {
                        out.extend_from_slice(guide.field_keys.get(id as usize).map_or(b"\"@?\":", |k| k))
                    }
                    Name::Key(key) => {
                        write_str(out, key);
                        out.push(b':');
                    }
                },
                |&i, out| {
                    let t = &tokens[i as usize];
                    match t.escape {
                        Escape::None => write_str(out, t.value),
                        _ => write_str(out, &unescape(t.value, t.escape)),
                    }
                },
            );
        }
        let errors = self.record.errors.iter().map(|e| ErrorEntry {
            token: &guide.fields[e.token].token,
            source: &e.source,
            value: &e.value,
            error: e.reason,
        });
        match &self.truncated {
            None => write_errors(out, first, &guide.errors_field, errors),
            Some(length) => {
                let cut = ErrorEntry { token: "*", source: "@transport", value: length, error: TRUNCATED };
                let all: Vec<ErrorEntry<'_>> = errors.chain([cut]).collect();
                write_errors(out, first, &guide.errors_field, all.into_iter());
            }
        }
    }

    /// Maps a message that was cut to the `--max-message` limit: as [`Mapper::map`], and
    /// its event is flagged (`{"token":"*","source":"@transport","value":"<length>",...}` in
    /// the errors array, counted as a field error) so nobody takes it for the whole message.
    /// `length` says how long the message was, as the transport knows it.
    pub fn map_truncated(&mut self, line: &str, length: String, received: DateTime<Utc>, out: &mut Vec<u8>) -> Outcome {
        self.truncated = Some(length);
        let outcome = self.map(line, received, out);
        self.truncated = None;
        match outcome {
            Outcome::Mapped { guide, field_errors } => Outcome::Mapped { guide, field_errors: field_errors + 1 },
            other => other,
        }
    }

    /// Hands out, and resets, how many events failed each token since the last call.
    pub fn drain_error_counts(&mut self, mut each: impl FnMut(&str, u64)) {
        for (guide, counts) in self.error_counts.iter_mut().enumerate() {
            for (field, n) in counts.iter_mut().enumerate().filter(|(_, n)| **n > 0) {
                each(&self.plan.guides[guide].fields[field].token, std::mem::take(n));
            }
        }
    }
}

/// The error of a truncated message's event.
const TRUNCATED: &str = "the message was longer than --max-message and was cut to it";

/// The line inside one field of a CSV export, wrapped in quotes: with every inner quote
/// doubled, as CSV writes it (`"a ""b"""` → `a "b"`), or with none doubled, as some exports
/// only wrap the line (`"a "b""` → `a "b"`). `None` for a line not wrapped so, or with some
/// inner quotes doubled and some not: unwrapping it would have to guess which is which.
pub(super) fn csv_field(line: &str) -> Option<String> {
    let inner = line.trim_end().strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains("\"\"") {
        return Some(inner.to_string());
    }
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(at) = rest.find('"') {
        if !rest[at + 1..].starts_with('"') {
            return None;
        }
        out.push_str(&rest[..=at]);
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    Some(out)
}

/// The name an unmapped token is kept under: the device's key, or `@field`.
pub(super) fn unmapped_name<'x>(token: &Token<'x>, guide: &'x Guide) -> &'x str {
    match token.name {
        Name::Key(k) => k,
        Name::Field(id) => guide.field_names.get(id as usize).map_or("@?", String::as_str),
    }
}
