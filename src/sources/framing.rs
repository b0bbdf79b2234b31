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

/// One frame of the stream, borrowed from the bytes pushed or from the framer's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole message (without its terminator or length prefix).
    Message(&'a [u8]),
    /// A message longer than the limit, cut to it.
    Truncated {
        /// Its first `max` bytes.
        kept: &'a [u8],
        /// Its length, when it was announced (octet counting).
        len: Option<usize>,
    },
    /// A message longer than the limit, dropped.
    TooLong {
        /// Its first bytes, to show which one it was.
        start: &'a [u8],
        /// Its length, when it was announced (octet counting).
        len: Option<usize>,
    },
    /// The stream ended inside a message: what had arrived of it.
    CutOff(&'a [u8]),
}

/// How many bytes of a rejected message are kept to show which one it was.
pub(crate) const SHOWN: usize = 256;

/// The longest length prefix read: 8 digits, more than any limit (`--max-message` is at most
/// 16 MiB); a longer run of digits begins a non-transparent message.
const MAX_DIGITS: usize = 8;

/// Where the framer is in the stream.
#[derive(Debug)]
enum State {
    /// At the start of a frame (the buffer may hold the digits of a length prefix).
    Start,
    /// Reading an octet-counted message of `len` bytes, `left` of them still to come.
    Counted { len: usize, left: usize },
    /// Skipping an oversized octet-counted message of `len` bytes, `left` of them still to
    /// come; its first bytes are kept to show which one it was.
    SkipCounted { len: usize, left: usize },
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
    pub fn push(&mut self, mut bytes: &[u8], out: &mut impl FnMut(Frame<'_>)) {
        while !bytes.is_empty() {
            bytes = match self.state {
                State::Start => self.start(bytes),
                State::Counted { len, left } => self.counted(len, left, bytes, out),
                State::SkipCounted { len, left } => {
                    let n = left.min(bytes.len());
                    let room = SHOWN.saturating_sub(self.buf.len()).min(n);
                    self.buf.extend_from_slice(&bytes[..room]);
                    if n == left {
                        out(Frame::TooLong { start: &self.buf, len: Some(len) });
                        self.buf.clear();
                        self.state = State::Start;
                    } else {
                        self.state = State::SkipCounted { len, left: left - n };
                    }
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
    pub fn finish(&mut self, out: &mut impl FnMut(Frame<'_>)) {
        match std::mem::replace(&mut self.state, State::Start) {
            State::Open | State::Start if !self.buf.is_empty() => out(Frame::CutOff(strip_cr(&self.buf))),
            State::Counted { .. } => out(Frame::CutOff(&self.buf)),
            // Too long however it would have ended.
            State::SkipCounted { len, .. } => out(Frame::TooLong { start: &self.buf, len: Some(len) }),
            _ => {}
        }
        self.buf.clear();
    }

    /// At a frame's start: a length prefix (digits and a blank) followed by a syslog message's
    /// `<` means octet counting; anything else is a non-transparent message (so a line that
    /// happens to begin `123 foo` is read as the line it is). Empty messages (a bare
    /// terminator) are skipped.
    fn start<'b>(&mut self, bytes: &'b [u8]) -> &'b [u8] {
        if self.buf.is_empty() && matches!(bytes[0], b'\n' | b'\0') {
            return &bytes[1..];
        }
        // A prefix whose blank ended the last piece: this piece's first byte decides.
        if self.buf.last() == Some(&b' ') {
            self.buf.pop();
            return self.after_prefix(bytes);
        }
        // The prefix may arrive in pieces: its digits wait in the buffer.
        for (i, &b) in bytes.iter().enumerate() {
            let digits = self.buf.len();
            if b.is_ascii_digit() && digits < MAX_DIGITS && !(digits == 0 && b == b'0') {
                self.buf.push(b);
                continue;
            }
            if b == b' ' && digits > 0 {
                if i + 1 == bytes.len() {
                    self.buf.push(b' ');
                    return &[];
                }
                return self.after_prefix(&bytes[i + 1..]);
            }
            // Not a length prefix: the digits read so far begin a non-transparent message.
            self.state = State::Open;
            return &bytes[i..];
        }
        &[]
    }

    /// After `<digits> `, with the digits in the buffer: octet counting when a message's `<`
    /// follows, else a non-transparent message that began with them.
    fn after_prefix<'b>(&mut self, rest: &'b [u8]) -> &'b [u8] {
        if rest[0] != b'<' {
            self.buf.push(b' ');
            self.state = State::Open;
            return rest;
        }
        let len = std::str::from_utf8(&self.buf).ok().and_then(|d| d.parse::<usize>().ok()).unwrap_or(0);
        self.buf.clear();
        if len > self.max && self.oversize == Oversize::Reject {
            // Rejected once all of it has passed, with its first bytes.
            self.state = State::SkipCounted { len, left: len };
        } else {
            self.state = State::Counted { len, left: len };
        }
        rest
    }

    /// Reads an octet-counted message; keeps at most `max` bytes of it, and hands it out once
    /// all of it has passed.
    fn counted<'b>(&mut self, len: usize, left: usize, bytes: &'b [u8], out: &mut impl FnMut(Frame<'_>)) -> &'b [u8] {
        let n = left.min(bytes.len());
        // The whole message is here: handed out as it is, not copied.
        if n == left && left == len && len <= self.max {
            out(Frame::Message(&bytes[..n]));
            self.state = State::Start;
            return &bytes[n..];
        }
        let room = self.max.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&bytes[..n.min(room)]);
        if n < left {
            self.state = State::Counted { len, left: left - n };
            return &bytes[n..];
        }
        out(match len > self.max {
            true => Frame::Truncated { kept: &self.buf, len: Some(len) },
            false => Frame::Message(&self.buf),
        });
        self.buf.clear();
        self.state = State::Start;
        &bytes[n..]
    }

    /// Reads a non-transparent message up to its terminator.
    fn open<'b>(&mut self, bytes: &'b [u8], out: &mut impl FnMut(Frame<'_>)) -> &'b [u8] {
        let found = terminator(bytes);
        let end = found.unwrap_or(bytes.len());
        let rest = found.map_or(&[][..], |at| &bytes[at + 1..]);
        // The buffer may already hold digits that began the message (a length prefix that
        // was not one), so the limit counts them.
        if self.buf.len() + end > self.max {
            let room = self.max.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&bytes[..room]);
            self.buf.truncate(self.max);
            out(match self.oversize {
                Oversize::Reject => Frame::TooLong { start: &self.buf[..SHOWN.min(self.buf.len())], len: None },
                Oversize::Truncate => Frame::Truncated { kept: &self.buf, len: None },
            });
            self.buf.clear();
            self.state = if found.is_some() { State::Start } else { State::SkipOpen };
            return rest;
        }
        if found.is_none() {
            self.buf.extend_from_slice(&bytes[..end]);
            return rest;
        }
        self.state = State::Start;
        // The whole message is here: handed out as it is, not copied.
        let message = match self.buf.is_empty() {
            true => strip_cr(&bytes[..end]),
            false => {
                self.buf.extend_from_slice(&bytes[..end]);
                strip_cr(&self.buf)
            }
        };
        if !message.is_empty() {
            out(Frame::Message(message));
        }
        self.buf.clear();
        rest
    }
}

/// The first LF or NUL.
fn terminator(bytes: &[u8]) -> Option<usize> {
    memchr::memchr2(b'\n', b'\0', bytes)
}

/// A CRLF-terminated message loses its CR.
fn strip_cr(message: &[u8]) -> &[u8] {
    message.strip_suffix(b"\r").unwrap_or(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame, owned, to compare.
    #[derive(Debug, PartialEq)]
    enum Owned {
        Message(Vec<u8>),
        Truncated { kept: Vec<u8>, len: Option<usize> },
        TooLong { len: Option<usize> },
        CutOff(Vec<u8>),
    }

    fn owned(frame: Frame<'_>) -> Owned {
        match frame {
            Frame::Message(m) => Owned::Message(m.to_vec()),
            Frame::Truncated { kept, len } => Owned::Truncated { kept: kept.to_vec(), len },
            Frame::TooLong { start, len } => {
                assert!(start.len() <= SHOWN);
                Owned::TooLong { len }
            }
            Frame::CutOff(part) => Owned::CutOff(part.to_vec()),
        }
    }

    /// The frames of a stream pushed in pieces of `step` bytes, then ended.
    fn frames(stream: &[u8], step: usize, max: usize, oversize: Oversize) -> Vec<Owned> {
        let mut framer = Framer::new(max, oversize);
        let mut got = Vec::new();
        for piece in stream.chunks(step) {
            framer.push(piece, &mut |f| got.push(owned(f)));
        }
        framer.finish(&mut |f| got.push(owned(f)));
        got
    }

    fn msg(text: &str) -> Owned {
        Owned::Message(text.as_bytes().to_vec())
    }

    /// Octet counting and every non-transparent terminator, mixed in one stream, give the
    /// same frames however the bytes are cut.
    #[test]
    fn both_framings_in_one_stream_at_every_cut() {
        let stream = b"<134> a b\n11 <134> x\ny z<13> crlf\r\n<13> nul\0\n\n6 <5>hey<13> last\n12 not counted\n";
        let expected = vec![
            msg("<134> a b"),
            msg("<134> x\ny z"),
            msg("<13> crlf"),
            msg("<13> nul"),
            msg("<5>hey"),
            msg("<13> last"),
            msg("12 not counted"),
        ];
        for step in 1..=stream.len() {
            assert_eq!(frames(stream, step, 1024, Oversize::Reject), expected, "pieces of {step}");
        }
    }

    /// An oversized message is rejected or truncated, and the next frame is read whole.
    #[test]
    fn oversize_keeps_the_stream_in_sync() {
        let stream = b"20 <bcdefghijklmnopqrst<1> next\n<1> 0123456789abcdef\n<1> ok\n";
        for step in 1..=stream.len() {
            let rejected = frames(stream, step, 10, Oversize::Reject);
            assert_eq!(rejected.len(), 4, "pieces of {step}: {rejected:?}");
            assert_eq!(rejected[0], Owned::TooLong { len: Some(20) });
            assert_eq!(rejected[1], msg("<1> next"));
            assert_eq!(rejected[2], Owned::TooLong { len: None });
            assert_eq!(rejected[3], msg("<1> ok"));
            let truncated = frames(stream, step, 10, Oversize::Truncate);
            assert_eq!(truncated[0], Owned::Truncated { kept: b"<bcdefghij".to_vec(), len: Some(20) });
            assert_eq!(truncated[1], msg("<1> next"));
            assert_eq!(truncated[2], Owned::Truncated { kept: b"<1> 012345".to_vec(), len: None });
            assert_eq!(truncated[3], msg("<1> ok"));
        }
    }

    /// A frame cut off by the end of the stream is handed out, never dropped; a length
    /// prefix that is not one (`05/19/2024 ...`, `0 ...`) starts a plain message.
    #[test]
    fn cut_off_frames_and_digits_that_are_not_a_length() {
        assert_eq!(
            frames(b"30 <1> only part", 4, 100, Oversize::Reject),
            vec![Owned::CutOff(b"<1> only part".to_vec())]
        );
        assert_eq!(
            frames(b"05/19/2024:22:07:41 GMT x\n0 y\n", 3, 100, Oversize::Reject),
            vec![msg("05/19/2024:22:07:41 GMT x"), msg("0 y")]
        );
        assert_eq!(frames(b"123456789 <1> z\n", 2, 100, Oversize::Reject), vec![msg("123456789 <1> z")]);
        assert!(frames(b"\n\n\0", 1, 100, Oversize::Reject).is_empty());
    }
}
