//! One rejected line as JSON: where it came from, why (a stable code and the detail), and the
//! line itself, so that nothing read is lost.

use super::json::{write_key, write_str, write_u64};
use crate::diag::Code;

/// Appends `{"file":…,"line":…,"code":…,"reason":…,"text":…}` and a newline.
pub fn write_reject(buf: &mut Vec<u8>, file: &str, line: u64, code: Code, reason: &str, text: &str) {
    let mut first = true;
    buf.push(b'{');
    write_key(buf, &mut first, "file");
    write_str(buf, file);
    write_key(buf, &mut first, "line");
    write_u64(buf, line);
    write_key(buf, &mut first, "code");
    write_str(buf, &code.to_string());
    write_key(buf, &mut first, "reason");
    write_str(buf, reason);
    write_key(buf, &mut first, "text");
    write_str(buf, text);
    buf.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reject_is_one_json_line_with_its_origin_and_code() {
        let mut buf = Vec::new();
        write_reject(&mut buf, "ns.log", 7, Code::Syntax, "does not fit", "a \"b\"");
        assert_eq!(buf.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["file"], "ns.log");
        assert_eq!(v["line"], 7);
        assert_eq!(v["code"], "R301");
        assert_eq!(v["reason"], "does not fit");
        assert_eq!(v["text"], "a \"b\"");
    }
}
