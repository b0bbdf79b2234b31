//! The guide as written: YAML deserialized into raw structs, not yet checked.

use serde::Deserialize;
use std::collections::BTreeMap;

/// One device guide, mirroring the vendor's data mapping guide.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuideSpec {
    /// Short name, used by `--guide`.
    pub guide: String,
    /// The vendor document's title.
    pub title: String,
    /// Where the vendor document comes from (publisher, date).
    #[serde(default)]
    pub reference: Option<String>,
    /// The guide's "Device Details".
    pub device: DeviceSpec,
    #[serde(rename = "match")]
    /// Which lines the guide claims, and with which grammar.
    pub matcher: MatchSpec,
    #[serde(default)]
    /// What the guide adds to each event besides its tokens.
    pub options: OptionsSpec,
    /// Tokens this guide adds to the data model.
    #[serde(default)]
    pub tokens: BTreeMap<String, TokenSpec>,
    /// The "Data Field Mappings" table, row for row.
    pub fields: Vec<RowSpec>,
    /// The "Internal Fields" table.
    #[serde(default)]
    pub internal_fields: Vec<RowSpec>,
}

/// The guide's "Device Details".
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    #[serde(rename = "type")]
    /// The device type (`Loadbalancer`).
    pub device_type: String,
    /// The vendor.
    pub vendor: String,
    /// The product.
    pub product: String,
    #[serde(default)]
    /// The model.
    pub model: Option<String>,
    #[serde(default)]
    /// The firmware versions the guide covers.
    pub supported_versions: Vec<String>,
    #[serde(default)]
    /// The log formats the device writes.
    pub formats: Vec<String>,
}

/// How a guide recognises the lines of its device.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    /// The grammar that tokenizes the device's lines.
    pub grammar: String,
    /// Claim lines that carry no CEF header.
    #[serde(default = "yes")]
    pub native: bool,
    /// Claim CEF lines with one of these vendor/product pairs.
    #[serde(default)]
    pub cef: Vec<CefMatch>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// A CEF vendor and product pair a guide claims.
pub struct CefMatch {
    /// The CEF header's vendor.
    pub vendor: String,
    /// The CEF header's product.
    pub product: String,
}

/// What a guide adds to each event besides its tokens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionsSpec {
    /// Keep the device's keys that no row maps, under `unmapped_field`.
    #[serde(default = "yes")]
    pub keep_unmapped: bool,
    #[serde(default = "unmapped_field")]
    /// The name of the object the unmapped keys are kept under.
    pub unmapped_field: String,
    /// Where an event records the fields that failed their type.
    #[serde(default = "errors_field")]
    pub errors_field: String,
}

impl Default for OptionsSpec {
    fn default() -> Self {
        OptionsSpec { keep_unmapped: true, unmapped_field: unmapped_field(), errors_field: errors_field() }
    }
}

fn unmapped_field() -> String {
    "_unmapped".to_string()
}

fn errors_field() -> String {
    "_errors".to_string()
}

pub use crate::model::TokenSpec;

/// One row of a mapping table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowSpec {
    /// The vendor's "Data Source Fields" column.
    #[serde(default)]
    pub source: Option<String>,
    /// The normalized token the row writes.
    pub token: String,
    /// The vendor's "Sample Values" column; checked against the row's type.
    #[serde(default)]
    pub sample: Option<serde_yaml::Value>,
    #[serde(default)]
    /// What the vendor says the token means.
    pub description: Option<String>,
    /// How xdrmap reads the row where the vendor's description does not say (`doc` lists the
    /// notes under the tables).
    #[serde(default)]
    pub note: Option<String>,
    /// Keys (or `@grammar_fields`) to read, first present and valid wins.
    #[serde(default)]
    pub from: Option<Vec<FromSpec>>,
    /// A constant value.
    #[serde(default, rename = "const")]
    pub constant: Option<String>,
    /// A value given at run time (`customer_id`, `collector_id`, `event_source_id`).
    #[serde(default)]
    pub param: Option<String>,
    /// A value made per event (`uuid`, `received_time`).
    #[serde(default)]
    pub generate: Option<String>,
    /// A minijinja expression over the tokens of earlier rows.
    #[serde(default)]
    pub expr: Option<String>,
    #[serde(default, rename = "type")]
    /// The token's type, when the row states it (it must agree with the model).
    pub ty: Option<String>,
    #[serde(default)]
    /// A transform applied to every source of the row.
    pub transform: Option<TransformSpec>,
    /// `flag` (default): a value that fails its type is recorded in the event's errors;
    /// `skip`: it is passed over silently.
    #[serde(default)]
    pub on_invalid: Option<String>,
    /// For a timestamp row: keys (or `@fields`) that give the year of a time written without
    /// one (a BSD relay stamp), such as AppFW CEF's `cs5`.
    #[serde(default)]
    pub year_from: Option<Vec<String>>,
}

/// One source of a row: a key, or a key with a transform of its own.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum FromSpec {
    /// A source key, or `@field`.
    Key(String),
    /// A key with a transform of its own.
    WithTransform {
        /// The source key, or `@field`.
        key: String,
        /// What is done to its value first.
        transform: TransformSpec,
    },
}

impl FromSpec {
    /// The source key, or `@field`.
    pub fn key(&self) -> &str {
        match self {
            FromSpec::Key(key) | FromSpec::WithTransform { key, .. } => key,
        }
    }
}

/// A change applied to a source value before its type is checked. Written as a name
/// (`syslog_severity`) or a one-key map (`{ split_ip_port: port }`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransformSpec {
    /// `ip:port`, `[v6]:port` or `v6:port`: take the address or the port.
    SplitIpPort(Part),
    /// `Success` or `ERROR: text`: take the outcome or the reason.
    SplitStatus(Part),
    /// Replace values (matched without regard to case); others pass unchanged.
    Map(BTreeMap<String, String>),
    /// A syslog PRI (`134`) or a `facility.level` tag into a severity name.
    SyslogSeverity,
    /// The text before the first occurrence of a separator.
    Before(String),
    /// The text after the last occurrence of a separator.
    After(String),
    /// The text before the last occurrence of a separator (`user@corp@10.0.0.1` → `user@corp`).
    BeforeLast(String),
    /// Only these values (matched without regard to case) belong to the row; any other is
    /// not the row's and passes to its next source.
    Only(Vec<String>),
}

const TRANSFORMS: &str = "split_ip_port, split_status, map, syslog_severity, before, after, before_last, only";

impl<'de> Deserialize<'de> for TransformSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Name(String),
            Map(BTreeMap<String, serde_yaml::Value>),
        }
        let arg = |value: serde_yaml::Value| -> Result<String, D::Error> {
            match value {
                serde_yaml::Value::String(s) => Ok(s),
                other => Err(D::Error::custom(format!("expected a string argument, found {other:?}"))),
            }
        };
        let part = |value: serde_yaml::Value| -> Result<Part, D::Error> {
            serde_yaml::from_value(value).map_err(|_| D::Error::custom("expected ip, port, outcome or reason"))
        };
        match Raw::deserialize(deserializer)? {
            Raw::Name(name) if name == "syslog_severity" => Ok(TransformSpec::SyslogSeverity),
            Raw::Name(name) => {
                Err(D::Error::custom(format!("unknown transform '{name}', expected one of {TRANSFORMS}")))
            }
            Raw::Map(map) if map.len() == 1 => {
                let (name, value) = map.into_iter().next().expect("one entry");
                match name.as_str() {
                    "split_ip_port" => Ok(TransformSpec::SplitIpPort(part(value)?)),
                    "split_status" => Ok(TransformSpec::SplitStatus(part(value)?)),
                    "map" => serde_yaml::from_value(value)
                        .map(TransformSpec::Map)
                        .map_err(|_| D::Error::custom("map takes a table of `from: to` strings")),
                    "before" => Ok(TransformSpec::Before(arg(value)?)),
                    "after" => Ok(TransformSpec::After(arg(value)?)),
                    "before_last" => Ok(TransformSpec::BeforeLast(arg(value)?)),
                    "only" => serde_yaml::from_value(value)
                        .map(TransformSpec::Only)
                        .map_err(|_| D::Error::custom("only takes a list of strings")),
                    "syslog_severity" => Ok(TransformSpec::SyslogSeverity),
                    other => {
                        Err(D::Error::custom(format!("unknown transform '{other}', expected one of {TRANSFORMS}")))
                    }
                }
            }
            Raw::Map(_) => Err(D::Error::custom("a transform is one name or a map with one key")),
        }
    }
}

/// Which part a splitting transform keeps.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The address.
    Ip,
    /// The port.
    Port,
    /// The outcome word (`Success`, `ERROR`).
    Outcome,
    /// The reason after it.
    Reason,
}

/// A YAML scalar as text (samples may be numbers in YAML).
pub fn scalar(value: &serde_yaml::Value) -> Option<String> {
    match value {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
