//! JSON primitives: strings, keys and numbers written straight into a reused byte buffer.

/// Bytes that JSON strings must escape: control characters, `"`, `\\` and DEL.
const ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table[0x7f] = true;
    table
};

/// Whether any of 8 bytes (one word) needs escaping: below 0x20, `"`, `\\` or DEL. Exact for
/// the word as a whole (not for which byte it is).
fn may_need_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte below n (n <= 128) sets its high bit in (w - n) & !w (the classic "hasless").
    let below = |w: u64, n: u64| w.wrapping_sub(ONES * n) & !w & HIGH;
    let equal = |b: u8| below(word ^ (ONES * u64::from(b)), 1);
    (below(word, 0x20) | equal(b'"') | equal(b'\\') | equal(0x7f)) != 0
}

/// Appends `s` as a JSON string (with quotes). A string with nothing to escape (checked a word
/// at a time) is copied whole; otherwise runs without escapes are copied between escapes.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if needs_escape(bytes) {
        write_escaped(out, bytes);
    } else {
        out.extend_from_slice(bytes);
    }
    out.push(b'"');
}

/// Whether any byte of `bytes` must be escaped: exact, a word at a time, the last word padded
/// with blanks.
fn needs_escape(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let mut any = false;
    for word in &mut words {
        any |= may_need_escape(u64::from_le_bytes(word.try_into().expect("eight bytes")));
    }
    let rest = words.remainder();
    let mut last = [b' '; 8];
    last[..rest.len()].copy_from_slice(rest);
    any | may_need_escape(u64::from_le_bytes(last))
}

/// The inside of a JSON string for bytes that have escapes.
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !ESCAPE[usize::from(b)] {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends a key already written as JSON (`"key":`), preceded by a comma unless it opens the
/// object.
pub fn write_raw_key(out: &mut Vec<u8>, first: &mut bool, json_key: &[u8]) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    out.extend_from_slice(json_key);
}

/// `"key":`, to be written with [`write_raw_key`].
pub fn json_key(key: &str) -> Box<[u8]> {
    let mut json = Vec::with_capacity(key.len() + 3);
    write_str(&mut json, key);
    json.push(b':');
    json.into()
}

/// Appends `"key":`, preceded by a comma unless it opens the object.
pub fn write_key(out: &mut Vec<u8>, first: &mut bool, key: &str) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    write_str(out, key);
    out.push(b':');
}

/// Appends an unsigned number.
pub fn write_u64(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte at a time: the obvious form `write_str` must agree with.
    fn reference(s: &str) -> Vec<u8> {
        let mut out = vec![b'"'];
        for c in s.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
                }
                c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        out.push(b'"');
        out
    }

    #[test]
    fn every_special_byte_at_every_position() {
        let alphabet: Vec<char> = (0u8..0x80).map(char::from).chain(['é', '€', '𝄞', '\u{ff}']).collect();
        for &c in &alphabet {
            for at in 0..20 {
                let s: String = (0..20).map(|i| if i == at { c } else { 'a' }).collect();
                let mut out = Vec::new();
                write_str(&mut out, &s);
                assert_eq!(out, reference(&s), "{c:?} at {at}");
                let back: String = serde_json::from_slice(&out).unwrap();
                assert_eq!(back, s);
            }
        }
    }

    #[test]
    fn mixed_strings() {
        // A fixed pseudo-random sequence: strings of every length up to 40 from a small alphabet.
        let alphabet = ['a', ' ', '"', '\\', '\n', '\u{1}', '\u{7f}', 'é', '€', '-', '='];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..40 {
            for _ in 0..50 {
                let s: String = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        alphabet[(seed % alphabet.len() as u64) as usize]
                    })
                    .collect();
                let mut out = Vec::new();
                write_str(&mut out, &s);
                assert_eq!(out, reference(&s), "{s:?}");
            }
        }
    }
}
