//! An event as a query reads it: its top-level keys, borrowed from the line, and each value
//! left as raw JSON until a clause asks for it (a query reads a few of an event's tokens;
//! building every value would cost more than the query).

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// What a query needs of an event.
pub trait Fields {
    /// The token's value as text, when it is a JSON string.
    fn text(&self, token: &str) -> Option<Cow<'_, str>>;
    /// The token's value as an integer, when it is a JSON integer.
    fn integer(&self, token: &str) -> Option<i128>;
    /// Whether the token has a value (not absent, not null).
    fn present(&self, token: &str) -> bool;
}

impl Fields for Map<String, Value> {
    fn text(&self, token: &str) -> Option<Cow<'_, str>> {
        self.get(token).and_then(Value::as_str).map(Cow::Borrowed)
    }

    fn integer(&self, token: &str) -> Option<i128> {
        let value = self.get(token)?;
        value.as_u64().map(i128::from).or_else(|| value.as_i64().map(i128::from))
    }

    fn present(&self, token: &str) -> bool {
        self.get(token).is_some_and(|v| !v.is_null())
    }
}

/// An event parsed no further than its top-level keys.
#[derive(Debug, Default)]
pub struct RawEvent<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> RawEvent<'a> {
    /// Reads one JSON object.
    ///
    /// # Errors
    /// When `line` is not a JSON object.
    pub fn parse(line: &'a [u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(line)
    }

    fn raw(&self, token: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| k == token).map(|(_, v)| *v)
    }
}

impl Fields for RawEvent<'_> {
    fn text(&self, token: &str) -> Option<Cow<'_, str>> {
        let raw = self.raw(token)?.get();
        if !raw.starts_with('"') {
            return None;
        }
        // Borrowed when the string has no escapes (nearly always), built when it has.
        serde_json::from_str::<Text<'_>>(raw).ok().map(|t| t.0)
    }

    fn integer(&self, token: &str) -> Option<i128> {
        let raw = self.raw(token)?.get();
        raw.parse::<i128>().ok()
    }

    fn present(&self, token: &str) -> bool {
        self.raw(token).is_some_and(|v| v.get() != "null")
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawEvent<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = RawEvent<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut fields = Vec::with_capacity(32);
                while let Some((key, value)) = map.next_entry::<Text<'de>, &'de RawValue>()? {
                    fields.push((key.0, value));
                }
                Ok(RawEvent(fields))
            }
        }
        deserializer.deserialize_map(Keys)
    }
}

/// A JSON string, borrowed from the input when it has no escapes (serde's own `Cow` always
/// copies).
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Str;
        impl<'de> Visitor<'de> for Str {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(Str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_event_reads_what_a_parsed_one_does() {
        let line = br#"{"a":"x\"y","n":42,"neg":-3,"z":null,"o":{"k":[1,2]},"s":"plain"}"#;
        let raw = RawEvent::parse(line).unwrap();
        let parsed: Map<String, Value> = serde_json::from_slice(line).unwrap();
        for token in ["a", "n", "neg", "z", "o", "s", "missing"] {
            assert_eq!(raw.text(token), parsed.text(token), "{token}");
            assert_eq!(raw.integer(token), parsed.integer(token), "{token}");
            assert_eq!(raw.present(token), parsed.present(token), "{token}");
        }
        assert!(matches!(raw.text("s"), Some(Cow::Borrowed("plain"))), "no copy without escapes");
        assert!(RawEvent::parse(b"[1]").is_err() && RawEvent::parse(b"{").is_err());
    }
}
