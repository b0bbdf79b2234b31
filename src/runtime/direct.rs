//! The direct path of a field read from the line: the first source present, its transform
//! and its type read from the token's text and written straight into the event, with no value
//! in between. What it does not settle (an escape, a value that fails its type, a time without
//! its year, an IPv6 address) goes the general way ([`Record::produce`]), which writes the same
//! bytes: the direct path changes nothing before it answers, so the general one starts afresh.

use super::produce::{apply_to, Record};
use crate::guide::plan::{Field, OnInvalid, Producer, Type};
use crate::output::{write_raw_key, write_str, write_u64};
use crate::syntax::{Escape, Token};
use crate::value::{net, time};

/// What the direct path did with a field.
pub(super) enum Direct {
    /// Wrote it.
    Written,
    /// The line has no value for it.
    Absent,
    /// Left it to the general path.
    General,
}

impl Record {
    /// Writes `,"token":value` for a field read from the line, when its value reads without
    /// help; see the module's comment.
    pub fn write_direct(&mut self, field: &Field, tokens: &[Token<'_>], out: &mut Vec<u8>) -> Direct {
        let Producer::Sources(sources) = &field.producer else {
            return Direct::General;
        };
        for source in sources {
            let Some(t) = self.slots[source.slot as usize] else {
                continue;
            };
            let token = &tokens[t as usize];
            if token.escape != Escape::None && token.value.as_bytes().contains(&b'\\') {
                return Direct::General;
            }
            let raw = match &source.transform {
                None => token.value,
                Some(transform) => match apply_to(transform, token.value) {
                    Ok(Some(part)) => part,
                    Ok(None) => continue,
                    Err(_) => return Direct::General,
                },
            };
            if raw.is_empty() {
                continue;
            }
            let mut first = false;
            match &field.ty {
                Type::String => {
                    write_raw_key(out, &mut first, &field.json_key);
                    write_str(out, raw);
                }
                Type::Enum(values) if values.iter().any(|v| v == raw) => {
                    write_raw_key(out, &mut first, &field.json_key);
                    write_str(out, raw);
                }
                Type::Port | Type::Integer => {
                    let max = if field.ty == Type::Port { u64::from(u16::MAX) } else { u64::MAX };
                    let Some(n) = digits(raw).filter(|&n| n <= max) else {
                        return Direct::General;
                    };
                    write_raw_key(out, &mut first, &field.json_key);
                    if raw.len() == 1 || !raw.starts_with('0') {
                        out.extend_from_slice(raw.as_bytes()); // already as JSON writes it
                    } else {
                        write_u64(out, n);
                    }
                }
                // A dotted quad is written as the line has it, and needs no escapes.
                Type::Ip | Type::Ipv4 if net::is_ipv4(raw) => {
                    write_raw_key(out, &mut first, &field.json_key);
                    out.push(b'"');
                    out.extend_from_slice(raw.as_bytes());
                    out.push(b'"');
                    if field.ty == Type::Ipv4 {
                        self.addressed.push(source.slot);
                    }
                }
                // The sibling `ipv4` token's address (see `Record::first_valid`).
                Type::Ipv6 if net::is_ipv4(raw) => {
                    self.declined.push(source.slot);
                    return Direct::Absent;
                }
                // No address has such a byte (`parse_ip`): a row that skips what is not its
                // business goes on to its next source, as the general path does.
                Type::Ip | Type::Ipv4 | Type::Ipv6
                    if field.on_invalid == OnInvalid::Skip && raw.bytes().any(|c| !is_ip_byte(c)) =>
                {
                    continue;
                }
                Type::Timestamp => {
                    let Some(stamp) = time::utc_stamp(raw, &self.time) else {
                        return Direct::General;
                    };
                    write_raw_key(out, &mut first, &field.json_key);
                    out.push(b'"');
                    out.extend_from_slice(&stamp);
                    out.push(b'"');
                }
                _ => return Direct::General,
            }
            self.taken[source.slot as usize] = true;
            return Direct::Written;
        }
        Direct::Absent
    }
}

/// A byte an IP address can have, as [`net::parse_ip`] reads one (dotted quads, IPv6 in hex
/// with colons and maybe a dotted quad at the end; no zone, no brackets).
fn is_ip_byte(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == b':' || c == b'.'
}

/// A whole number written only in ASCII digits, when it fits 64 bits (`+1` and the like go
/// the general way).
fn digits(text: &str) -> Option<u64> {
    text.bytes().try_fold(0u64, |n, d| {
        let digit = d.wrapping_sub(b'0');
        (digit < 10).then_some(())?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}
