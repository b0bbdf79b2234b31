//! The compiled plan: guides resolved into slots, converters and output names.
//! Immutable once built, `Send + Sync`, shared by every worker.

use crate::syntax::Grammar;
pub use crate::value::Type;
use std::hash::Hasher;
use std::path::PathBuf;

/// Everything the engine needs, resolved: no name is looked up per record except a
/// device key in [`Slots::by_key`].
pub struct Plan {
    /// The grammars guides read lines with, indexed by [`Guide::grammar`].
    pub grammars: Vec<Box<dyn Grammar>>,
    /// The guides, in the order they claim lines.
    pub guides: Vec<Guide>,
    /// Problems that do not stop the plan (`W...` codes), for `check` to show.
    pub warnings: Vec<crate::diag::Diagnostic>,
}

/// One compiled device guide.
pub struct Guide {
    /// The guide's short name (`--guide`).
    pub name: String,
    /// The vendor document's title.
    pub title: String,
    /// Where the guide came from (`<built-in>/...` for the embedded one).
    pub file: PathBuf,
    /// The device details.
    pub device: Device,
    /// Index into [`Plan::grammars`].
    pub grammar: usize,
    /// Which lines the guide claims.
    pub claim: Claim,
    /// Where each source value of a line is kept while it is mapped.
    pub slots: Slots,
    /// Data fields then internal fields, in the guide's order.
    pub fields: Vec<Field>,
    /// Object name for keys no row maps, when they are kept.
    pub unmapped_field: Option<String>,
    /// Array name for fields that failed their type.
    pub errors_field: String,
    /// Whether any field is an expression (earlier values must then be kept per record).
    pub has_expressions: bool,
    /// The slots its `deviceName` row reads, in order (for a per-device date order).
    pub device_slots: Vec<u16>,
    /// `@name` of each grammar field, as unmapped fields are written.
    pub field_names: Vec<String>,
    /// The same as JSON keys (`"@name":`).
    pub field_keys: Vec<Box<[u8]>>,
}

/// The guide's device details.
#[derive(Clone, Debug)]
pub struct Device {
    /// The device type (`Loadbalancer`).
    pub device_type: String,
    /// The vendor.
    pub vendor: String,
    /// The product.
    pub product: String,
    /// The model, when the guide names one.
    pub model: Option<String>,
    /// The firmware versions the guide covers.
    pub supported_versions: Vec<String>,
    /// The log formats the device writes.
    pub formats: Vec<String>,
}

/// Which lines a guide claims.
pub struct Claim {
    /// Whether it claims lines without a CEF header.
    pub native: bool,
    /// The CEF vendor and product pairs it claims.
    pub cef: Vec<(String, String)>,
    /// The grammar's `@cef_vendor` and `@cef_product` fields, when it has them.
    pub cef_fields: Option<(u16, u16)>,
}

/// Where each source value of a record is kept while it is mapped.
pub struct Slots {
    /// Grammar field id → slot.
    pub by_field: Vec<Option<u16>>,
    /// Device key → slot.
    pub by_key: super::keys::KeyTable,
    /// Slot → the source name as the guide writes it (for error reports).
    pub names: Vec<String>,
}

impl Slots {
    /// The number of slots.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the guide reads no source at all.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// One output token and how to produce it.
pub struct Field {
    /// The token it writes.
    pub token: String,
    /// `"token":` as JSON, written before the value.
    pub json_key: Box<[u8]>,
    /// The vendor's source column, for reports.
    pub source: Option<String>,
    /// The type of its value.
    pub ty: Type,
    /// Where its value comes from.
    pub producer: Producer,
    /// What happens when its value fails its type.
    pub on_invalid: OnInvalid,
    /// Slots that give the year of a time written without one (`year_from`).
    pub year_slots: Vec<u16>,
}

/// Where a field's value comes from.
pub enum Producer {
    /// The first source present whose value passes the type.
    Sources(Vec<Source>),
    /// A constant.
    Const(String),
    /// A value given at run time.
    Param(Param),
    /// A value made per event.
    Generate(Generator),
    /// An expression over earlier fields.
    Expr(Expression),
}

/// One source of a field: a slot and the transform applied to its value.
pub struct Source {
    /// The slot the source's value is kept in.
    pub slot: u16,
    /// What is done to the value before its type is read.
    pub transform: Option<Transform>,
}

/// A resolved transform.
#[derive(Clone, Debug)]
pub enum Transform {
    /// The address of `ip:port` (`split_ip_port: ip`).
    AddressOf,
    /// The port of `ip:port`, or a value that is only a port (`split_ip_port: port`).
    PortOf,
    /// The outcome word of a CMD_EXECUTED status (`split_status: outcome`).
    StatusOutcome,
    /// The reason after it (`split_status: reason`).
    StatusReason,
    /// Pairs compared without regard to ASCII case.
    Map(Vec<(String, String)>),
    /// A syslog priority or level, as a severity name.
    SyslogSeverity,
    /// The text before the first separator.
    Before(String),
    /// The text after the last separator.
    After(String),
    /// The text before the last separator.
    BeforeLast(String),
    /// Only these values (compared without regard to ASCII case) belong to the field.
    Only(Vec<String>),
}

impl Transform {
    /// How the transform is written in a guide.
    pub fn describe(&self) -> String {
        match self {
            Transform::AddressOf => "split_ip_port: ip".to_string(),
            Transform::PortOf => "split_ip_port: port".to_string(),
            Transform::StatusOutcome => "split_status: outcome".to_string(),
            Transform::StatusReason => "split_status: reason".to_string(),
            Transform::Map(pairs) => format!("map ({} values)", pairs.len()),
            Transform::SyslogSeverity => "syslog_severity".to_string(),
            Transform::Before(sep) => format!("before: {sep:?}"),
            Transform::After(sep) => format!("after: {sep:?}"),
            Transform::BeforeLast(sep) => format!("before_last: {sep:?}"),
            Transform::Only(values) => format!("only ({} values)", values.len()),
        }
    }
}

impl Producer {
    /// How the value is made, for a field that reads no source.
    pub fn describe(&self) -> String {
        match self {
            Producer::Sources(_) => "from".to_string(),
            Producer::Const(v) => format!("const {v:?}"),
            Producer::Param(p) => format!("param {}", Param::ALL.iter().find(|(_, q)| q == p).map_or("?", |(n, _)| n)),
            Producer::Generate(g) => {
                format!("generate {}", Generator::ALL.iter().find(|(_, h)| h == g).map_or("?", |(n, _)| n))
            }
            Producer::Expr(e) => format!("expr {:?}", e.source),
        }
    }
}

/// Values given at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// `customer_id`.
    CustomerId,
    /// `collector_id`.
    CollectorId,
    /// `event_source_id`.
    EventSourceId,
}

impl Param {
    /// Every parameter, by the name a guide writes.
    pub const ALL: [(&'static str, Param); 3] = [
        ("customer_id", Param::CustomerId),
        ("collector_id", Param::CollectorId),
        ("event_source_id", Param::EventSourceId),
    ];
}

/// Values made per event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generator {
    /// A random (v4) UUID.
    Uuid,
    /// When the line was read.
    ReceivedTime,
}

impl Generator {
    /// Every generator, by the name a guide writes.
    pub const ALL: [(&'static str, Generator); 2] =
        [("uuid", Generator::Uuid), ("received_time", Generator::ReceivedTime)];
}

/// What a field does when its value fails its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnInvalid {
    /// Leave the field out and record the problem in the event.
    Flag,
    /// Leave the field out silently.
    Skip,
}

/// A compiled minijinja expression and the earlier fields it reads.
pub struct Expression {
    /// The expression as the guide writes it.
    pub source: String,
    /// The compiled expression.
    pub compiled: minijinja::Expression<'static, 'static>,
    /// Variable name → index of the field that produces it.
    pub inputs: Vec<(String, usize)>,
}

/// A fast hasher for short keys in small tables (FxHash's mixing step): the grouping of at
/// most 64 unmapped values of a line, where colliding keys cost at most 64 × 64 comparisons.
/// It is not for large tables a line fills: the low bits of its hash follow a key's first
/// bytes, and such keys are easy to write (more unmapped values are grouped with a keyed hash).
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
