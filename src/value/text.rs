//! Text values: escapes undone, whole numbers, CMD_EXECUTED statuses and syslog severities.

use std::borrow::Cow;

/// How a value was written on the wire, and so how to unescape it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// Raw text: used as it is.
    None,
    /// Inside double quotes: `\"` and `\\` are escapes.
    Quoted,
    /// A CEF extension value: `\=`, `\\`, `\n`, `\r` are escapes.
    Cef,
}

/// Reads a non-negative integer (byte counts are 64-bit on newer firmware).
///
/// # Errors
/// When the text is not a whole number that fits 64 bits.
pub fn parse_integer(text: &str) -> Result<u64, &'static str> {
    text.parse().map_err(|_| "not a whole number")
}

/// Splits a CMD_EXECUTED status: `Success` → (`Success`, none); `ERROR: text` → (`ERROR`, `text`).
pub fn split_status(text: &str) -> (&str, Option<&str>) {
    if let Some((head, tail)) = text.split_once(':') {
        let is_word = !head.is_empty() && head.bytes().all(|c| c.is_ascii_uppercase() || c == b' ' || c == b'_');
        if is_word {
            let tail = tail.trim();
            return (head.trim(), (!tail.is_empty()).then_some(tail));
        }
    }
    (text, None)
}

/// The severity name of a syslog PRI (`134`) or a `facility.level` tag (`local0.info`).
///
/// # Errors
/// When the text is neither.
pub fn syslog_severity(text: &str) -> Result<&'static str, &'static str> {
    const NAMES: [&str; 8] = ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"];
    if !text.is_empty() && text.bytes().all(|c| c.is_ascii_digit()) {
        let pri: u32 = text.parse().map_err(|_| "not a syslog priority")?;
        if pri > 191 {
            return Err("a syslog priority above 191");
        }
        return Ok(NAMES[(pri & 7) as usize]);
    }
    let level = text.rsplit('.').next().unwrap_or(text).to_ascii_lowercase();
    let index = match level.as_str() {
        "emerg" | "emergency" | "panic" => 0,
        "alert" => 1,
        "crit" | "critical" => 2,
        "err" | "error" => 3,
        "warn" | "warning" => 4,
        "notice" => 5,
        "info" | "informational" => 6,
        "debug" => 7,
        _ => return Err("not a syslog priority or level"),
    };
    Ok(NAMES[index])
}

/// Removes the escapes of a value, borrowing when there are none.
pub fn unescape(text: &str, escape: Escape) -> Cow<'_, str> {
    if escape == Escape::None || memchr::memchr(b'\\', text.as_bytes()).is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match (escape, chars.next()) {
            (_, Some('\\')) => out.push('\\'),
            (Escape::Quoted, Some('"')) => out.push('"'),
            (Escape::Cef, Some('=')) => out.push('='),
            (Escape::Cef, Some('|')) => out.push('|'),
            (Escape::Cef, Some('n')) => out.push('\n'),
            (Escape::Cef, Some('r')) => out.push('\r'),
            (_, Some(other)) => {
                out.push('\\');
                out.push(other);
            }
            (_, None) => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_severities() {
        assert_eq!(split_status("Success"), ("Success", None));
        assert_eq!(split_status("ERROR: No such resource [name, x]"), ("ERROR", Some("No such resource [name, x]")));
        assert_eq!(split_status("... error ..."), ("... error ...", None));
        assert_eq!(syslog_severity("134"), Ok("Informational"));
        assert_eq!(syslog_severity("132"), Ok("Warning"));
        assert_eq!(syslog_severity("local0.warn"), Ok("Warning"));
        assert_eq!(syslog_severity("Local7.Error"), Ok("Error"));
        assert!(syslog_severity("999").is_err());
    }
}
