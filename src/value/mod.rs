//! Values: the types a token can have, and reading device text into them. The guide compiler
//! checks samples and constants with the same functions the engine maps lines with.

pub mod net;
pub mod text;
pub mod time;

use crate::diag::Code;
use chrono::{DateTime, Utc};
use std::borrow::Cow;
use time::TimeSettings;

/// The type of a token's value, and so its JSON form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    /// RFC 3339 UTC string.
    Timestamp,
    /// IPv4 or IPv6 address string.
    Ip,
    /// IPv4 address string; an IPv6 address is left for an `ipv6` token (see [`read`]).
    Ipv4,
    /// IPv6 address string, written the standard way; an IPv4 address is left for an `ipv4` token.
    Ipv6,
    /// JSON number, 0-65535.
    Port,
    /// JSON number, unsigned 64-bit.
    Integer,
    /// Any text.
    String,
    /// A string from a fixed vocabulary.
    Enum(Vec<String>),
}

impl Type {
    /// The type names a guide may write, in the order they are documented.
    pub const NAMES: [&'static str; 8] = ["timestamp", "ip", "ipv4", "ipv6", "port", "integer", "string", "enum"];

    /// The type named `name`; an `enum` takes its vocabulary from `values`.
    pub fn from_name(name: &str, values: &[String]) -> Option<Type> {
        Some(match name {
            "timestamp" => Type::Timestamp,
            "ip" => Type::Ip,
            "ipv4" => Type::Ipv4,
            "ipv6" => Type::Ipv6,
            "port" => Type::Port,
            "integer" => Type::Integer,
            "string" => Type::String,
            "enum" => Type::Enum(values.to_vec()),
            _ => return None,
        })
    }

    /// The name a guide writes.
    pub fn name(&self) -> &'static str {
        match self {
            Type::Timestamp => "timestamp",
            Type::Ip => "ip",
            Type::Ipv4 => "ipv4",
            Type::Ipv6 => "ipv6",
            Type::Port => "port",
            Type::Integer => "integer",
            Type::String => "string",
            Type::Enum(_) => "enum",
        }
    }

    /// The field-error code of a value that fails this type.
    pub fn invalid_code(&self) -> Code {
        match self {
            Type::Timestamp => Code::NotATime,
            Type::Ip | Type::Ipv4 | Type::Ipv6 => Code::NotAnIp,
            Type::Port => Code::NotAPort,
            Type::Integer => Code::NotAnInteger,
            Type::String | Type::Enum(_) => Code::NotInVocabulary,
        }
    }
}

/// A typed value on its way to the output, borrowing from the line where it can.
#[derive(Clone, Debug)]
pub enum Value<'a> {
    /// Text, written as a JSON string (addresses too).
    Str(Cow<'a, str>),
    /// A JSON number.
    UInt(u64),
    /// A time, written as RFC 3339 UTC.
    Time(DateTime<Utc>),
    /// A UTC time already written as RFC 3339 (see [`time::utc_stamp`]).
    Stamp([u8; 20]),
    /// A generated id.
    Uuid(uuid::Uuid),
}

/// Why a value does not pass its type: a stable code and a short reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// The field-error code (`F4xx`).
    pub code: Code,
    /// What is wrong, in a few words.
    pub reason: &'static str,
}

/// Reads text as a value of type `ty`. `received` supplies the year of times written without
/// one (BSD relay stamps).
///
/// # Errors
/// [`Invalid`] when the text is not a value of the type. An address of the other family than
/// an `ipv4` or `ipv6` type's fails with [`Code::OtherIpFamily`]: it is not wrong, it belongs
/// to the sibling token, and the engine leaves it there (or among the unmapped values).
pub fn read<'a>(
    raw: Cow<'a, str>,
    ty: &Type,
    time: &TimeSettings,
    received: DateTime<Utc>,
) -> Result<Value<'a>, Invalid> {
    let invalid = |reason| Invalid { code: ty.invalid_code(), reason };
    Ok(match ty {
        Type::Timestamp => match time::utc_stamp(&raw, time) {
            Some(stamp) => Value::Stamp(stamp),
            None => {
                let t = time::parse_time(&raw, time, received).map_err(invalid)?;
                // RFC 3339 has four-digit years: a time past them (an epoch of 20 digits,
                // `+10000-01-01`) would be written in a form no reader takes.
                if !(0..=9999).contains(&chrono::Datelike::year(&t)) {
                    return Err(invalid("a time outside the years 0000-9999"));
                }
                Value::Time(t)
            }
        },
        Type::Ip | Type::Ipv4 | Type::Ipv6 => {
            let ip = net::parse_ip(&raw).map_err(invalid)?;
            let other = match (ty, ip.is_ipv4()) {
                (Type::Ipv4, false) => Some("an IPv6 address, for an IPv6 token"),
                (Type::Ipv6, true) => Some("an IPv4 address, for an IPv4 token"),
                _ => None,
            };
            if let Some(reason) = other {
                return Err(Invalid { code: Code::OtherIpFamily, reason });
            }
            if ip.is_ipv4() {
                Value::Str(raw)
            } else {
                Value::Str(Cow::Owned(ip.to_string()))
            }
        }
        Type::Port => Value::UInt(u64::from(net::parse_port(&raw).map_err(invalid)?)),
        Type::Integer => Value::UInt(text::parse_integer(&raw).map_err(invalid)?),
        Type::String => Value::Str(raw),
        Type::Enum(values) => {
            if !values.iter().any(|v| v == &raw) {
                return Err(invalid("not one of the token's values"));
            }
            Value::Str(raw)
        }
    })
}

/// Checks a value a guide writes itself (a sample or a constant) against a type, read with
/// the default time settings.
///
/// # Errors
/// What is wrong, in words for the guide's author.
pub fn check(value: &str, ty: &Type) -> Result<(), String> {
    match ty {
        Type::Enum(values) if !values.iter().any(|v| v == value) => Err(format!("not one of {}", values.join(", "))),
        _ => read(Cow::Borrowed(value), ty, &TimeSettings::default(), DateTime::<Utc>::UNIX_EPOCH)
            .map(|_| ())
            .map_err(|e| e.reason.to_string()),
    }
}
