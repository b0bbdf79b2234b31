//! Splitting a syslog byte stream (TCP, TLS) into messages as RFC 6587 says, detected frame by
//! frame: octet counting (`<len> <msg>`, RFC 6587 3.4.1) or non-transparent framing, ended by
//! LF, CRLF or NUL (3.4.2). Bytes arrive in pieces of any size; a message longer than the
//! limit is rejected or truncated, and either way the stream stays in sync; a frame cut off by
//! the end of the stream is handed out as such, never dropped.

/// What to do with a message longer than the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Oversize {
    /// Hand out a [`Frame::TooLong`] instead of the message.
    Reject,
    /// Hand out the first `max` bytes as [`Frame::Truncated`].
    Truncate,
}

/// One frame of the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole message (without its terminator or length prefix).
    Message(Vec<u8>),
    /// A message longer than the limit, cut to it.
    Truncated {
        /// Its first `max` bytes.
        kept: Vec<u8>,
        /// Its length, when it was announced (octet counting).
        len: Option<usize>,
    },
    /// A message longer than the limit, dropped.
    TooLong {
        /// Its first bytes, to show which one it was.
        start: Vec<u8>,
        /// Its length, when it was announced (octet counting).
        len: Option<usize>,
    },
    /// The stream ended inside a message: what had arrived of it.
    CutOff(Vec<u8>),
}

/// How many bytes of a rejected message are kept to show which one it was.
const SHOWN: usize = 256;

/// The longest length prefix read: 10 digits, more than any limit.
const MAX_DIGITS: usize = 10;

/// Where the framer is in the stream.
#[derive(Debug)]
enum State {
    /// At the start of a frame (the buffer may hold the digits of a length prefix).
    Start,
    /// Reading an octet-counted message of `len` bytes, `left` of them still to come.
    Counted { len: usize, left: usize },
    /// Skipping this many bytes of an oversized octet-counted message.
    SkipCounted(usize),
    /// Reading a non-transparent message.
    Open,
    /// Skipping the rest of an oversized non-transparent message, up to its terminator.
    SkipOpen,
}

/// Cuts a byte stream into [`Frame`]s. It holds at most `max` bytes of a message.
#[derive(Debug)]
pub struct Framer {
    max: usize,
    oversize: Oversize,
    buf: Vec<u8>,
    state: State,
}

impl Framer {
    /// A framer for messages of at most `max` bytes (a CR before the LF counts).
    pub fn new(max: usize, oversize: Oversize) -> Self {
        Framer { max: max.max(1), oversize, buf: Vec::new(), state: State::Start }
    }

    /// Takes the next bytes of the stream and hands out every frame they complete, in order.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut impl FnMut(Frame)) {
        while !bytes.is_empty() {
            bytes = match self.state {
                State::Start => self.start(bytes, out),
                State::Counted { len, left } => self.counted(len, left, bytes, out),
                State::SkipCounted(left) => {
                    let n = left.min(bytes.len());
                    self.state = if n == left { State::Start } else { State::SkipCounted(left - n) };
                    &bytes[n..]
                }
                State::Open => self.open(bytes, out),
                State::SkipOpen => match terminator(bytes) {
                    Some(at) => {
                        self.state = State::Start;
                        &bytes[at + 1..]
                    }
                    None => &[],
                },
            };
        }
    }

    /// The stream has ended: a frame it cut off is handed out as [`Frame::CutOff`].
    pub fn finish(&mut self, out: &mut impl FnMut(Frame)) {
        let pending = std::mem::take(&mut self.buf);
        match std::mem::replace(&mut self.state, State::Start) {
            State::Open | State::Start if !pending.is_empty() => out(Frame::CutOff(strip_cr(pending))),
            State::Counted { .. } => out(Frame::CutOff(pending)),
            _ => {}
        }
    }

    /// At a frame's start: a length prefix (digits and a blank) means octet counting; anything
    /// else is a non-transparent message. Empty messages (a bare terminator) are skipped.
    fn start<'b>(&mut self, bytes: &'b [u8], out: &mut impl FnMut(Frame)) -> &'b [u8] {
        if self.buf.is_empty() && matches!(bytes[0], b'\n' | b'\0') {
            return &bytes[1..];
        }
        // The prefix may arrive in pieces: its digits wait in the buffer.
        for (i, &b) in bytes.iter().enumerate() {
            let digits = self.buf.len();
            if b.is_ascii_digit() && digits < MAX_DIGITS && !(digits == 0 && b == b'0') {
                self.buf.push(b);
                continue;
            }
            if b == b' ' && digits > 0 {
                let len = std::str::from_utf8(&self.buf).ok().and_then(|d| d.parse::<usize>().ok()).unwrap_or(0);
                self.buf.clear();
                let rest = &bytes[i + 1..];
                if len > self.max && self.oversize == Oversize::Reject {
                    out(Frame::TooLong { start: rest.iter().take(len.min(SHOWN)).copied().collect(), len: Some(len) });
                    self.state = State::SkipCounted(len);
                } else {
                    self.state = State::Counted { len, left: len };
                }
                return rest;
            }
            // Not a length prefix: the digits read so far begin a non-transparent message.
            self.state = State::Open;
            return &bytes[i..];
        }
        &[]
    }

    /// Reads an octet-counted message; keeps at most `max` bytes of it, and hands it out once
    /// all of it has passed.
    fn counted<'b>(&mut self, len: usize, left: usize, bytes: &'b [u8], out: &mut impl FnMut(Frame)) -> &'b [u8] {
        let n = left.min(bytes.len());
        let room = self.max.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&bytes[..n.min(room)]);
        if n < left {
            self.state = State::Counted { len, left: left - n };
            return &bytes[n..];
        }
        let message = std::mem::take(&mut self.buf);
        out(if len > self.max { Frame::Truncated { kept: message, len: Some(len) } } else { Frame::Message(message) });
        self.state = State::Start;
        &bytes[n..]
    }

    /// Reads a non-transparent message up to its terminator.
    fn open<'b>(&mut self, bytes: &'b [u8], out: &mut impl FnMut(Frame)) -> &'b [u8] {
        let found = terminator(bytes);
        let end = found.unwrap_or(bytes.len());
        let rest = found.map_or(&[][..], |at| &bytes[at + 1..]);
        let room = self.max.saturating_sub(self.buf.len());
        if end > room {
            self.buf.extend_from_slice(&bytes[..room]);
            let kept = std::mem::take(&mut self.buf);
            out(match self.oversize {
                Oversize::Reject => Frame::TooLong { start: kept.into_iter().take(SHOWN).collect(), len: None },
                Oversize::Truncate => Frame::Truncated { kept, len: None },
            });
            self.state = if found.is_some() { State::Start } else { State::SkipOpen };
            return rest;
        }
        self.buf.extend_from_slice(&bytes[..end]);
        if found.is_none() {
            return rest;
        }
        let message = strip_cr(std::mem::take(&mut self.buf));
        self.state = State::Start;
        if !message.is_empty() {
            out(Frame::Message(message));
        }
        rest
    }
}

/// The first LF or NUL.
fn terminator(bytes: &[u8]) -> Option<usize> {
    memchr::memchr2(b'\n', b'\0', bytes)
}

/// A CRLF-terminated message loses its CR.
fn strip_cr(mut message: Vec<u8>) -> Vec<u8> {
    if message.last() == Some(&b'\r') {
        message.pop();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frames of a stream pushed in pieces of `step` bytes, then ended.
    fn frames(stream: &[u8], step: usize, max: usize, oversize: Oversize) -> Vec<Frame> {
        let mut framer = Framer::new(max, oversize);
        let mut got = Vec::new();
        for piece in stream.chunks(step) {
            framer.push(piece, &mut |f| got.push(f));
        }
        framer.finish(&mut |f| got.push(f));
        got
    }

    fn msg(text: &str) -> Frame {
        Frame::Message(text.as_bytes().to_vec())
    }

    /// Octet counting and every non-transparent terminator, mixed in one stream, give the
    /// same frames however the bytes are cut.
    #[test]
    fn both_framings_in_one_stream_at_every_cut() {
        let stream = b"<134> a b\n11 <134> x\ny z<13> crlf\r\n<13> nul\0\n\n5 hello<13> last";
        let expected = vec![
            msg("<134> a b"),
            msg("<134> x\ny z"),
            msg("<13> crlf"),
            msg("<13> nul"),
            msg("hello"),
            Frame::CutOff(b"<13> last".to_vec()),
        ];
        for step in 1..=stream.len() {
            assert_eq!(frames(stream, step, 1024, Oversize::Reject), expected, "pieces of {step}");
        }
    }

    /// An oversized message is rejected or truncated, and the next frame is read whole.
    #[test]
    fn oversize_keeps_the_stream_in_sync() {
        let stream = b"20 abcdefghijklmnopqrst<1> next\n<1> 0123456789abcdef\n<1> ok\n";
        for step in 1..=stream.len() {
            let rejected = frames(stream, step, 10, Oversize::Reject);
            assert_eq!(rejected.len(), 4, "pieces of {step}: {rejected:?}");
            assert!(matches!(&rejected[0], Frame::TooLong { len: Some(20), .. }));
            assert_eq!(rejected[1], msg("<1> next"));
            assert!(matches!(&rejected[2], Frame::TooLong { len: None, .. }));
            assert_eq!(rejected[3], msg("<1> ok"));
            let truncated = frames(stream, step, 10, Oversize::Truncate);
            assert_eq!(truncated[0], Frame::Truncated { kept: b"abcdefghij".to_vec(), len: Some(20) });
            assert_eq!(truncated[1], msg("<1> next"));
            assert_eq!(truncated[2], Frame::Truncated { kept: b"<1> 012345".to_vec(), len: None });
            assert_eq!(truncated[3], msg("<1> ok"));
        }
    }

    /// A frame cut off by the end of the stream is handed out, never dropped; a length
    /// prefix that is not one (`05/19/2024 ...`, `0 ...`) starts a plain message.
    #[test]
    fn cut_off_frames_and_digits_that_are_not_a_length() {
        assert_eq!(frames(b"30 only part", 4, 100, Oversize::Reject), vec![Frame::CutOff(b"only part".to_vec())]);
        assert_eq!(
            frames(b"05/19/2024:22:07:41 GMT x\n0 y\n", 3, 100, Oversize::Reject),
            vec![msg("05/19/2024:22:07:41 GMT x"), msg("0 y")]
        );
        assert_eq!(frames(b"12345678901 z\n", 2, 100, Oversize::Reject), vec![msg("12345678901 z")]);
        assert!(frames(b"\n\n\0", 1, 100, Oversize::Reject).is_empty());
    }
}
