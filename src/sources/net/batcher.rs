//! One sender's messages into batches: plain messages as lines, in arrival order, and every
//! message that needs a framing of its own (line breaks inside, truncated, rejected) as a
//! batch of its own in its place; NetScaler continuation lines joined to their message.

use super::super::framing::Frame;
use super::super::{Batch, Framing, Origin};
use crate::diag::Code;
use crate::runtime::Reject;
use crate::syntax::Transport;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Cuts one sender's frames into batches.
pub(super) struct Batcher {
    transport: Arc<Transport>,
    max_message: usize,
    join: bool,
    /// The number the next message gets (from 1).
    next_line: u64,
    /// The lines of the batch being filled, the number of its first, and their receive time.
    lines: Vec<u8>,
    first_line: u64,
    received: Option<DateTime<Utc>>,
    /// A message held back while a continuation may still follow it (`join`).
    held: Option<Vec<u8>>,
    /// Batches ready to be queued, in order.
    pub ready: Vec<Batch>,
}

impl Batcher {
    pub(super) fn new(transport: Arc<Transport>, max_message: usize, join: bool) -> Self {
        Batcher {
            transport,
            max_message,
            join,
            next_line: 1,
            lines: Vec::new(),
            first_line: 1,
            received: None,
            held: None,
            ready: Vec::new(),
        }
    }

    /// Takes one frame received at `received`.
    pub(super) fn frame(&mut self, frame: Frame<'_>, received: DateTime<Utc>) {
        if self.received.is_some_and(|r| r != received) {
            self.cut();
        }
        self.received = Some(received);
        match frame {
            Frame::Message(m) if self.join => match &mut self.held {
                Some(held) if !begins_message(m) && held.len() + 1 + m.len() <= self.max_message => {
                    held.push(b'\n');
                    held.extend_from_slice(m);
                }
                _ => {
                    self.release();
                    self.held = Some(m.to_vec());
                }
            },
            Frame::Message(m) => self.message(m),
            Frame::Truncated { kept, len } => {
                self.release();
                let length = match len {
                    Some(len) => format!("{len} bytes"),
                    None => format!("more than {} bytes", self.max_message),
                };
                self.alone(Framing::Truncated(length), kept.to_vec());
            }
            Frame::TooLong { start, len } => {
                self.release();
                let detail = match len {
                    Some(len) => {
                        format!("a message of {len} bytes is longer than --max-message ({})", self.max_message)
                    }
                    None => format!("a message is longer than --max-message ({} bytes)", self.max_message),
                };
                self.alone(Framing::Rejected(Reject::new(Code::TooLong, detail)), start.to_vec());
            }
            Frame::CutOff(part) => {
                self.release();
                let detail = format!("the connection closed {} bytes into a message", part.len());
                self.alone(Framing::Rejected(Reject::new(Code::CutOff, detail)), part.to_vec());
            }
        }
    }

    /// Hands out the held message (nothing more can join it now).
    pub(super) fn release(&mut self) {
        if let Some(m) = self.held.take() {
            match m.contains(&b'\n') {
                true => self.alone(Framing::Message, m),
                false => self.message(&m),
            }
        }
    }

    /// Whether a message is held back for a continuation.
    pub(super) fn holding(&self) -> bool {
        self.held.is_some()
    }

    /// Ends the batch being filled, to be queued.
    pub(super) fn cut(&mut self) {
        if self.lines.is_empty() {
            return;
        }
        let origin = self.origin(self.first_line);
        let data = std::mem::take(&mut self.lines);
        self.ready.push(Batch::lines(origin, data, self.received.unwrap_or_default()));
    }

    fn message(&mut self, m: &[u8]) {
        if memchr::memchr(b'\n', m).is_some() {
            return self.alone(Framing::Message, m.to_vec());
        }
        if self.lines.is_empty() {
            self.first_line = self.next_line;
        }
        self.next_line += 1;
        self.lines.extend_from_slice(m);
        self.lines.push(b'\n');
    }

    /// A message in a batch of its own, in its place among the others.
    fn alone(&mut self, framing: Framing, data: Vec<u8>) {
        self.cut();
        let origin = self.origin(self.next_line);
        self.next_line += 1;
        self.ready.push(Batch { framing, ..Batch::lines(origin, data, self.received.unwrap_or_default()) });
    }

    fn origin(&self, line: u64) -> Origin {
        Origin { source: Arc::clone(&self.transport.listener), line, peer: Some(Arc::clone(&self.transport)) }
    }
}

/// Whether a line begins a message: a `<PRI>`, or a header without one (a date, as
/// `05/19/2024:…` or `2024-05-19…`, or an RFC 3164 month, as `May 19 …`). A NetScaler
/// continuation line (the rest of a message that had a line break in it) begins with none.
fn begins_message(line: &[u8]) -> bool {
    const MONTHS: [&[u8]; 12] =
        [b"Jan ", b"Feb ", b"Mar ", b"Apr ", b"May ", b"Jun ", b"Jul ", b"Aug ", b"Sep ", b"Oct ", b"Nov ", b"Dec "];
    match line {
        [b'<', rest @ ..] => {
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            (1..=3).contains(&digits) && rest.get(digits) == Some(&b'>')
        }
        [d, ..] if d.is_ascii_digit() => true,
        _ => MONTHS.iter().any(|m| line.starts_with(m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batcher(join: bool) -> Batcher {
        let listener: Arc<str> = Arc::from("tcp://127.0.0.1:1");
        let transport = Transport::new(Arc::clone(&listener), "tcp", "127.0.0.1:9".parse().unwrap(), None);
        Batcher::new(Arc::new(transport), 100, join)
    }

    fn msg(s: &str) -> Frame<'_> {
        Frame::Message(s.as_bytes())
    }

    /// What the ready batches hold: (framing, first line number, text).
    fn ready(b: &mut Batcher) -> Vec<(Framing, u64, String)> {
        b.release();
        b.cut();
        b.ready.drain(..).map(|x| (x.framing, x.origin.line, String::from_utf8(x.data).unwrap())).collect()
    }

    #[test]
    fn messages_keep_their_order_and_numbers_around_special_ones() {
        let mut b = batcher(false);
        let t = Utc::now();
        b.frame(msg("<1> a"), t);
        b.frame(msg("<1> b"), t);
        b.frame(Frame::CutOff(b"<1> c"), t);
        b.frame(msg("<1> d\nmore"), t);
        b.frame(msg("<1> e"), t);
        let got = ready(&mut b);
        assert_eq!(got[0], (Framing::Lines, 1, "<1> a\n<1> b\n".into()));
        assert!(matches!(&got[1], (Framing::Rejected(r), 3, text) if r.code == Code::CutOff && text == "<1> c"));
        assert_eq!(got[2], (Framing::Message, 4, "<1> d\nmore".into()));
        assert_eq!(got[3], (Framing::Lines, 5, "<1> e\n".into()));
    }

    #[test]
    fn continuations_join_their_message_when_asked() {
        let t = Utc::now();
        for join in [false, true] {
            let mut b = batcher(join);
            for m in ["<135> 02/18/2021:23:32:02 GMT ns : SSLVPN Message 1 0 : \"", "", " post_sta \"", "<1> next"] {
                if !m.is_empty() {
                    b.frame(msg(m), t);
                }
            }
            let got = ready(&mut b);
            if join {
                assert_eq!(got[0].0, Framing::Message);
                assert_eq!(got[0].2, "<135> 02/18/2021:23:32:02 GMT ns : SSLVPN Message 1 0 : \"\n post_sta \"");
                assert_eq!(got[1], (Framing::Lines, 2, "<1> next\n".into()));
            } else {
                assert_eq!(got.len(), 1);
                assert_eq!(got[0].2.lines().count(), 3);
            }
        }
        assert!(begins_message(b"May 19 22:07:41 host x") && begins_message(b"2024-05-19T22:07:41Z x"));
        assert!(!begins_message(b" post_sta") && !begins_message(b"<x> y") && !begins_message(b"\""));
    }

    #[test]
    fn a_new_receive_time_starts_a_new_batch() {
        let mut b = batcher(false);
        let t = Utc::now();
        b.frame(msg("<1> a"), t);
        b.frame(msg("<1> b"), t + chrono::Duration::milliseconds(1));
        let got = ready(&mut b);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].1, 2);
    }
}
