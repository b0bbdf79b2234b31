//! One rejected line as JSON: where it came from, why (a stable code and the detail), and the
//! line itself, so that nothing read is lost.

use super::json::{write_key, write_str, write_u64};
use crate::diag::Code;
use crate::sources::Origin;

/// Appends `{"file":…,"line":…,"code":…,"reason":…,"text":…}` and a newline. A network
/// message has `"listener"` and `"peer"` (`ip:port`) where a file's line has `"file"`, and
/// `"line"` is its number on its connection. A message read from a stream (`stored`, see
/// [`Batch::stored`](crate::sources::Batch)) has `"stream"` and `"sequence"` first, then the
/// transport it was received by, if known.
pub fn write_reject(buf: &mut Vec<u8>, origin: &Origin, stored: bool, code: Code, reason: &str, text: &str) {
    let mut first = true;
    buf.push(b'{');
    if stored {
        write_key(buf, &mut first, "stream");
        write_str(buf, &origin.source);
        write_key(buf, &mut first, "sequence");
        write_u64(buf, origin.line);
        if let Some(transport) = &origin.peer {
            write_key(buf, &mut first, "listener");
            write_str(buf, &transport.listener);
            write_key(buf, &mut first, "peer");
            write_str(buf, &transport.peer_text());
        }
        return write_why(buf, code, reason, text);
    }
    match &origin.peer {
        None => {
            write_key(buf, &mut first, "file");
            write_str(buf, &origin.source);
        }
        Some(transport) => {
            write_key(buf, &mut first, "listener");
            write_str(buf, &transport.listener);
            write_key(buf, &mut first, "peer");
            write_str(buf, &transport.peer_text());
        }
    }
    write_key(buf, &mut first, "line");
    write_u64(buf, origin.line);
    write_why(buf, code, reason, text);
}

/// The end of a reject: `"code":…,"reason":…,"text":…}` and a newline.
fn write_why(buf: &mut Vec<u8>, code: Code, reason: &str, text: &str) {
    let mut first = false; // the origin came before
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
    use crate::syntax::Transport;
    use std::sync::Arc;

    fn written(origin: &Origin) -> serde_json::Value {
        let mut buf = Vec::new();
        write_reject(&mut buf, origin, false, Code::Syntax, "does not fit", "a \"b\"");
        assert_eq!(buf.last(), Some(&b'\n'));
        serde_json::from_slice(&buf).unwrap()
    }

    #[test]
    fn a_reject_is_one_json_line_with_its_origin_and_code() {
        let v = written(&Origin::file(Arc::from("ns.log"), 7));
        assert_eq!(v["file"], "ns.log");
        assert_eq!(v["line"], 7);
        assert_eq!(v["code"], "R301");
        assert_eq!(v["reason"], "does not fit");
        assert_eq!(v["text"], "a \"b\"");
    }

    #[test]
    fn a_network_reject_names_its_listener_and_peer() {
        let listener: Arc<str> = Arc::from("tcp://127.0.0.1:1514");
        let peer = Transport::new(Arc::clone(&listener), "tcp", "[::ffff:10.0.0.5]:40112".parse().unwrap(), None);
        let v = written(&Origin { source: listener, line: 3, peer: Some(Arc::new(peer)) });
        assert_eq!(v["listener"], "tcp://127.0.0.1:1514");
        assert_eq!(v["peer"], "10.0.0.5:40112");
        assert_eq!(v["line"], 3);
        assert!(v.get("file").is_none());
    }
}
