//! The order a mapper writes an event in, worked out once per mapper: runs of fields whose
//! output is the same for every line, pre-rendered as one byte string, and the fields that
//! read the line.

use super::Settings;
use crate::guide::plan::{Field, Generator, Guide, Producer};
use crate::output::write_value;
use crate::value::{self, Value};
use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// One step of writing an event. Every member is written after a comma; the writer turns the
/// event's first comma into its `{`.
pub(super) enum Step {
    /// Constants and parameters, one after the other: `,"token":value` each, as one string.
    Const(Box<[u8]>),
    /// The receive time of field `index`, rendered once per distinct value.
    Received(usize),
    /// Field `index`, read from the line: the direct way when it can ([`super::direct`]).
    Read(usize),
    /// Field `index`, made per line (a generator or an expression), or traced.
    Field(usize),
}

/// The steps of a guide's events. `shortcuts` false (a guide with expressions, which read
/// every earlier value, or `explain`, which traces each field) gives one [`Step::Field`] per
/// field.
pub(super) fn steps(guide: &Guide, settings: &Settings, shortcuts: bool) -> Vec<Step> {
    let mut steps = Vec::with_capacity(guide.fields.len());
    for (index, field) in guide.fields.iter().enumerate() {
        let step = match fixed(field, settings) {
            _ if !shortcuts => Step::Field(index),
            Fixed::PerLine if matches!(field.producer, Producer::Sources(_)) => Step::Read(index),
            Fixed::PerLine => Step::Field(index),
            Fixed::Received => Step::Received(index),
            Fixed::Omit => continue,
            Fixed::Json(json) => match steps.last_mut() {
                Some(Step::Const(run)) => {
                    let mut joined = std::mem::take(run).into_vec();
                    joined.extend_from_slice(&json);
                    *run = joined.into();
                    continue;
                }
                _ => Step::Const(json),
            },
        };
        steps.push(step);
    }
    steps
}

/// What a field writes when that does not depend on the line.
enum Fixed {
    /// The field reads the line (or a generator that changes per line).
    PerLine,
    /// A constant or parameter that is absent or fails its type: never written.
    Omit,
    /// A constant or parameter: `,"token":value`, ready to copy.
    Json(Box<[u8]>),
    /// The receive time.
    Received,
}

/// What a field writes whatever the line, if that is known before the first line.
fn fixed(field: &Field, settings: &Settings) -> Fixed {
    let text = match &field.producer {
        Producer::Const(text) => Some(text.as_str()),
        Producer::Param(param) => super::produce::param_value(settings, *param),
        Producer::Generate(Generator::ReceivedTime) => return Fixed::Received,
        Producer::Sources(_) | Producer::Generate(Generator::Uuid) | Producer::Expr(_) => return Fixed::PerLine,
    };
    // The received time only matters to BSD stamps, which a constant is not.
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    match text.map(|t| value::read(Cow::Borrowed(t), &field.ty, &settings.time, epoch)) {
        Some(Ok(value)) => {
            let mut json = vec![b','];
            json.extend_from_slice(&field.json_key);
            write_value(&mut json, &value);
            Fixed::Json(json.into())
        }
        None | Some(Err(_)) => Fixed::Omit,
    }
}

/// The receive time as JSON, rendered again only when it changes (a batch shares one).
#[derive(Default)]
pub(super) struct ReceivedJson {
    at: Option<DateTime<Utc>>,
    json: Vec<u8>,
}

impl ReceivedJson {
    /// `received` as a JSON string.
    pub fn get(&mut self, received: DateTime<Utc>) -> &[u8] {
        if self.at != Some(received) {
            self.json.clear();
            write_value(&mut self.json, &Value::Time(received));
            self.at = Some(received);
        }
        &self.json
    }
}
