//! The runtime of the scanners `build.rs` generates from `.pest` files (`build/scanner.rs`):
//! the line's bytes, a position, and the tokens the rules at the top of the line made. The
//! generated functions call only these.
//!
//! A scanner decides a line alone only when it matches it within its budget: a line it does
//! not match, or that takes more steps or a deeper recursion than the budget allows, is
//! given to the pest_derive parser of the same file, which gives the verdict and the reason.
//! pest counts at most two of its calls for each step counted here (a rule and its atomic
//! wrapper; a sequence, a repetition's pass, an option, a lookahead), so a line the scanner
//! matches within [`STEPS`] is one pest matches within its call limit.

/// Steps a scanner may take on one line: a quarter of pest's call limit
/// ([`CALL_LIMIT`](super::pest_file::CALL_LIMIT)), so that pest's count, at most twice this
/// one, stays below it.
pub const STEPS: u32 = 2_500_000;

/// How deep rules may call each other on one line (the scanner's own stack; a deeper line is
/// given to pest, which checks its stack itself).
pub const DEPTH: u32 = 2_000;

/// A line being scanned.
pub struct Scan<'a, R> {
    /// The line.
    pub b: &'a [u8],
    /// Where the next match starts.
    pub pos: usize,
    /// The pairs made at the top of the line: rule, start, end, in line order.
    pub tokens: &'a mut Vec<(R, usize, usize)>,
    /// How many pair-making rules are open (a pair is kept only at depth 0, as pest's top-level
    /// pairs are the only ones read).
    open: u32,
    depth: u32,
    steps: u32,
    /// The budget ran out: the verdict is pest's.
    pub exhausted: bool,
}

/// Where a match started, to go back to.
#[derive(Clone, Copy)]
pub struct Mark {
    pos: usize,
    tokens: usize,
}

impl<'a, R: Copy> Scan<'a, R> {
    /// A scan of `line` from its start, its pairs going to `tokens` (cleared).
    pub fn new(line: &'a str, tokens: &'a mut Vec<(R, usize, usize)>) -> Self {
        tokens.clear();
        Scan { b: line.as_bytes(), pos: 0, tokens, open: 0, depth: 0, steps: STEPS, exhausted: false }
    }

    /// Counts one step; false once the budget is spent.
    #[inline]
    pub fn step(&mut self) -> bool {
        self.spend(1)
    }

    /// Counts `n` steps at once; false once the budget is spent.
    #[inline]
    pub fn spend(&mut self, n: u32) -> bool {
        if self.steps < n {
            self.steps = 0;
            self.exhausted = true;
            return false;
        }
        self.steps -= n;
        true
    }

    /// One level deeper (no step), unless that is past [`DEPTH`].
    #[inline]
    pub fn descend(&mut self) -> bool {
        if self.depth >= DEPTH {
            self.exhausted = true;
            return false;
        }
        self.depth += 1;
        true
    }

    /// A rule starts: one step and one level deeper, unless the budget is spent.
    #[inline]
    pub fn enter(&mut self) -> bool {
        self.descend()
            && (self.step() || {
                self.depth -= 1;
                false
            })
    }

    /// A rule ends (or a level that [`Scan::descend`] opened).
    #[inline]
    pub fn leave(&mut self) {
        self.depth -= 1;
    }

    /// A pair-making rule opens: whether it is at the top, and where it starts.
    #[inline]
    pub fn open(&mut self) -> (bool, usize) {
        self.open += 1;
        (self.open == 1, self.pos)
    }

    /// A pair-making rule closes: at the top, a match is a token.
    #[inline]
    pub fn close(&mut self, outer: bool, ok: bool, rule: R, start: usize) {
        self.open -= 1;
        if outer && ok {
            self.tokens.push((rule, start, self.pos));
        }
    }

    /// The state to come back to (a step: a sequence or a lookahead begins).
    #[inline]
    pub fn mark(&mut self) -> Mark {
        self.step();
        self.here()
    }

    /// The state to come back to, without a step.
    #[inline]
    pub fn here(&self) -> Mark {
        Mark { pos: self.pos, tokens: self.tokens.len() }
    }

    /// Back to `m`.
    #[inline]
    pub fn reset(&mut self, m: Mark) {
        self.pos = m.pos;
        self.tokens.truncate(m.tokens);
    }

    /// Back to `m`, failing (the end of a sequence that did not match).
    #[inline]
    pub fn back(&mut self, m: Mark) -> bool {
        self.reset(m);
        false
    }

    /// Whether a repetition's pass that matched went nowhere from `p`: pest would repeat it
    /// until its call limit, so the verdict is pest's.
    #[inline]
    pub fn stuck(&mut self, p: usize) -> bool {
        if self.pos == p {
            self.exhausted = true;
        }
        self.pos == p
    }

    /// An option, matched or not: it succeeds (a step).
    #[inline]
    pub fn opt(&mut self) -> bool {
        self.step();
        true
    }

    /// A literal.
    #[inline]
    pub fn lit(&mut self, text: &[u8]) -> bool {
        if starts_with(&self.b[self.pos..], text) {
            self.pos += text.len();
            true
        } else {
            false
        }
    }

    /// A literal in any ASCII case (`^"..."`, whose text is ASCII).
    #[inline]
    pub fn insens(&mut self, text: &[u8]) -> bool {
        match self.b.get(self.pos..self.pos + text.len()) {
            Some(here) if here.eq_ignore_ascii_case(text) => {
                self.pos += text.len();
                true
            }
            _ => false,
        }
    }

    /// One byte in `from..=to` (an ASCII range: a byte there is the whole character).
    #[inline]
    pub fn byte_range(&mut self, from: u8, to: u8) -> bool {
        self.byte_class(|c| (from..=to).contains(&c))
    }

    /// One ASCII byte of a class.
    #[inline]
    pub fn byte_class(&mut self, class: impl Fn(u8) -> bool) -> bool {
        match self.b.get(self.pos) {
            Some(&c) if class(c) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    /// One character in `from..=to`.
    pub fn char_range(&mut self, from: char, to: char) -> bool {
        match self.next_char() {
            Some(c) if (from..=to).contains(&c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    /// Any one character.
    #[inline]
    pub fn any(&mut self) -> bool {
        let Some(&first) = self.b.get(self.pos) else { return false };
        self.pos += utf8_len(first);
        true
    }

    /// Up to the first place where one of `strings` starts, or to the end (pest's
    /// `skip_until`, which always succeeds). Candidates are found by their first bytes.
    #[inline]
    pub fn skip_until<S: AsRef<[u8]>>(&mut self, strings: &[S]) -> bool {
        let rest = &self.b[self.pos..];
        if strings.iter().any(|s| s.as_ref().is_empty()) {
            return true; // an empty string starts right here
        }
        let fits = |at: &usize| strings.iter().any(|s| starts_with(&rest[*at..], s.as_ref()));
        let first = |i: usize| strings[i].as_ref()[0];
        let single = strings.iter().all(|s| s.as_ref().len() == 1);
        let found = match strings.len() {
            1 if single => memchr::memchr(first(0), rest),
            2 if single => memchr::memchr2(first(0), first(1), rest),
            1 => memchr::memchr_iter(first(0), rest).find(fits),
            2 => memchr::memchr2_iter(first(0), first(1), rest).find(fits),
            3 => memchr::memchr3_iter(first(0), first(1), first(2), rest).find(fits),
            _ => (0..rest.len()).find(fits),
        };
        self.pos += found.unwrap_or(rest.len());
        true
    }

    fn next_char(&self) -> Option<char> {
        let b = self.b.get(self.pos..)?;
        let len = utf8_len(*b.first()?);
        std::str::from_utf8(b.get(..len)?).ok()?.chars().next()
    }
}

/// Whether `text` starts with `prefix`, compared byte by byte in line: the strings a scan
/// skips to are a few bytes long, shorter than a call to `memcmp` costs.
#[inline]
fn starts_with(text: &[u8], prefix: &[u8]) -> bool {
    text.len() >= prefix.len() && text.iter().zip(prefix).all(|(a, b)| a == b)
}

/// The length of the UTF-8 character that starts with `first` (the line is valid UTF-8).
#[inline]
fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}
