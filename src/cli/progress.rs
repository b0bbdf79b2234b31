//! A progress line on stderr for long runs, shown only when stderr is a terminal: a sink that
//! counts what passes through it on its way to the real one.

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};
use xdrmap::sinks::{Mapped, Sink};
use xdrmap::sources::Ack;

/// Redraws `lines, lines/s, bytes[, ETA]` at most four times a second.
pub struct Progress<S> {
    sink: S,
    enabled: bool,
    start: Instant,
    last: Instant,
    /// Total input bytes when known (files, not standard input).
    total: Option<u64>,
    lines: u64,
    bytes: u64,
}

impl<S: Sink> Progress<S> {
    pub fn new(sink: S, total: Option<u64>) -> Self {
        let now = Instant::now();
        Progress { sink, enabled: io::stderr().is_terminal(), start: now, last: now, total, lines: 0, bytes: 0 }
    }

    /// Counts a mapped batch and redraws when it is time to.
    fn advance(&mut self, lines: u64, bytes: u64) {
        self.lines += lines;
        self.bytes += bytes;
        if !self.enabled || self.last.elapsed() < Duration::from_millis(250) {
            return;
        }
        self.last = Instant::now();
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        let rate = self.lines as f64 / secs;
        let mut text = format!("\r{} lines  {:.0} lines/s  {:.1} MB", self.lines, rate, self.bytes as f64 / 1e6);
        if let Some(total) = self.total.filter(|t| *t > 0) {
            let done = (self.bytes as f64 / total as f64).min(1.0);
            let left = secs * (1.0 - done) / done.max(1e-9);
            text.push_str(&format!("  {:.0}%  ETA {}:{:02}", done * 100.0, left as u64 / 60, left as u64 % 60));
        }
        let mut err = io::stderr().lock();
        let _ = write!(err, "{text}\x1b[K");
        let _ = err.flush();
    }

    /// Clears the line before the summary is printed.
    pub fn finish(&self) {
        if self.enabled && self.start.elapsed() >= Duration::from_millis(250) {
            let _ = write!(io::stderr().lock(), "\r\x1b[K");
        }
    }
}

impl<S: Sink> Sink for Progress<S> {
    fn write(&mut self, batch: &Mapped) -> io::Result<()> {
        self.sink.write(batch)?;
        self.advance(batch.counts.lines, batch.bytes);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }

    fn acknowledge(&mut self, ack: Ack) -> io::Result<()> {
        self.sink.acknowledge(ack)
    }
}
