//! The pipeline's seams, driven as a library user would: a source of our own that hands out
//! batches with acknowledgements, a sink of our own that records what it is given. Results
//! come in input order whatever the thread count, every line is counted once, rejects keep
//! their origin and code, and an acknowledgement fires only once its batch is flushed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use xdrmap::guide::builtin_sources;
use xdrmap::pipeline::{Current, Engine, Pipeline};
use xdrmap::sinks::{Counts, JsonLines, Mapped, Sink};
use xdrmap::sources::{Ack, Batch, Chunker, Clock, Framing, Origin, Pool, ReadError, Source};
use xdrmap::syntax::{builtin_grammars, Transport};
use xdrmap::{compile, Code, Reject, Settings};

/// The built-in guides with `settings`.
fn builtin_engine(settings: Settings) -> Current {
    Current::new(Engine { plan: compile(&builtin_sources(), builtin_grammars()).unwrap(), settings })
}

const GOOD: &str = "<134> 05/19/2024:22:07:41 GMT lb 0-PPE-1 : default TCP CONN_TERMINATE 881 0 :  Source 10.60.2.15:443 - Destination 198.51.100.77:51822";

/// `batches` batches of `per_batch` lines each: mostly good lines, a garbage line and a blank
/// one in every batch; each batch acknowledges by counting.
struct Lines {
    batches: u64,
    per_batch: u64,
    next: u64,
    acked: Arc<AtomicUsize>,
}

impl Lines {
    fn line(batch: u64, i: u64) -> String {
        match i {
            1 => format!("garbage {batch}"),
            2 => "   ".to_string(),
            _ => GOOD.replace("881", &format!("{}", batch * 1000 + i)),
        }
    }
}

impl Source for Lines {
    fn next_batch(&mut self, pool: &Pool) -> Option<Result<Batch, ReadError>> {
        if self.next == self.batches {
            return None;
        }
        let seq = self.next;
        self.next += 1;
        let mut data = pool.take(0);
        for i in 0..self.per_batch {
            data.extend_from_slice(Lines::line(seq, i).as_bytes());
            data.push(b'\n');
        }
        let acked = Arc::clone(&self.acked);
        let origin = Origin::file(Arc::from("memory"), seq * self.per_batch + 1);
        let received = "2026-01-01T00:00:00Z".parse().unwrap();
        let ack = Ack::new(move || {
            acked.fetch_add(1, Ordering::SeqCst);
        });
        Some(Ok(Batch { ack, ..Batch::lines(origin, data, received) }))
    }
}

/// Records what it is given; checks that acknowledgements wait for a flush.
#[derive(Default)]
struct Recorder {
    order: Vec<u64>,
    events: Vec<u8>,
    rejects: Vec<(u64, Code, String)>,
    counts: Counts,
    held: Vec<Ack>,
    acked: Arc<AtomicUsize>,
    flushed_acks: usize,
}

impl Recorder {
    /// The events written, parsed.
    fn parsed_events(&self) -> Vec<serde_json::Value> {
        let lines = self.events.split(|&b| b == b'\n').filter(|l| !l.is_empty());
        lines.map(|l| serde_json::from_slice(l).unwrap()).collect()
    }
}

impl Sink for Recorder {
    fn write(&mut self, batch: &Mapped) -> std::io::Result<()> {
        self.order.push(batch.seq);
        self.events.extend_from_slice(&batch.events);
        self.rejects.extend(batch.rejects.iter().map(|r| (r.origin.line, r.reject.code, r.text.clone())));
        self.counts += batch.counts;
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        for ack in self.held.drain(..) {
            ack.fire();
            self.flushed_acks += 1;
        }
        Ok(())
    }

    fn acknowledge(&mut self, ack: Ack) -> std::io::Result<()> {
        assert!(!ack.is_none(), "the source's acknowledgement reaches the sink");
        self.held.push(ack);
        let fired = self.acked.load(Ordering::SeqCst);
        assert_eq!(fired, self.flushed_acks, "an acknowledgement fires only when the sink flushes");
        Ok(())
    }
}

#[test]
fn results_in_input_order_every_line_counted_acks_after_flush() {
    let engine = builtin_engine(Settings::default());
    let mut outputs = Vec::new();
    for threads in [1, 3] {
        let acked = Arc::new(AtomicUsize::new(0));
        let mut source = Lines { batches: 40, per_batch: 25, next: 0, acked: Arc::clone(&acked) };
        let mut sink = Recorder { acked: Arc::clone(&acked), ..Recorder::default() };
        let ended = Pipeline { engine: &engine, threads }.run(&mut source, &mut sink);
        ended.output.unwrap();
        assert!(ended.read_errors.is_empty());
        assert_eq!(sink.order, (0..40).collect::<Vec<_>>(), "threads {threads}");
        let expected = Counts { lines: 1000, blank: 40, events: 920, with_errors: 0, rejected: 40 };
        assert_eq!(ended.counts, expected);
        assert_eq!(sink.counts, expected);
        assert_eq!(acked.load(Ordering::SeqCst), 40, "every batch acknowledged once");
        assert_eq!(sink.flushed_acks, 40);
        // Rejects keep their line number and code; the second line of every batch.
        assert_eq!(sink.rejects.len(), 40);
        for (batch, (line, code, text)) in sink.rejects.iter().enumerate() {
            assert_eq!(*line, batch as u64 * 25 + 2);
            assert_eq!(*code, Code::Syntax);
            assert_eq!(text, &format!("garbage {batch}"));
        }
        let events = String::from_utf8(sink.events).unwrap();
        let ids: Vec<String> = events
            .lines()
            .map(|e| {
                // The header's sequence number, which the guide takes as the sessionId.
                serde_json::from_str::<serde_json::Value>(e).unwrap()["sessionId"].to_string()
            })
            .collect();
        // Lines 0 and 3..25 of every batch are good, numbered batch * 1000 + line.
        let expected_ids: Vec<String> =
            (0..40u64).flat_map(|b| std::iter::once(0).chain(3..25).map(move |i| (b * 1000 + i).to_string())).collect();
        assert_eq!(ids, expected_ids, "events in input order");
        outputs.push(ids);
    }
    assert_eq!(outputs[0], outputs[1]);
}

/// The JSON Lines sink writes events and rejects apart, and fires acknowledgements only once
/// it has flushed its writers.
#[test]
fn json_lines_sink_acknowledges_after_flushing() {
    let engine = builtin_engine(Settings::default());
    let acked = Arc::new(AtomicUsize::new(0));
    let mut source = Lines { batches: 3, per_batch: 5, next: 0, acked: Arc::clone(&acked) };
    let (events, rejects) = (Shared::default(), Shared::default());
    let mut sink = JsonLines::new(events.clone(), rejects.clone());
    let ended = Pipeline { engine: &engine, threads: 1 }.run(&mut source, &mut sink);
    ended.output.unwrap();
    assert_eq!(acked.load(Ordering::SeqCst), 3);
    assert_eq!(events.text().lines().count(), 9);
    let rejects: Vec<serde_json::Value> = rejects.text().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rejects.len(), 3);
    assert_eq!(rejects[1]["file"], "memory");
    assert_eq!(rejects[1]["line"], 7);
    assert_eq!(rejects[1]["code"], "R301");
    assert_eq!(rejects[1]["text"], "garbage 1");
}

/// A writer whose bytes the test can read afterwards.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The chunker over a reader, as the files source uses it, with the receive clock pinned.
#[test]
fn files_are_cut_into_numbered_batches() {
    let text = (1..=3000).map(|i| format!("{GOOD} - n {i}\n")).collect::<String>();
    let mut chunker = Chunker::new(text.as_bytes());
    let mut next_line = 1;
    let mut data = Vec::new();
    while let Some(chunk) = chunker.next_chunk(&mut data).unwrap() {
        let first = chunk.first_line;
        assert_eq!(first, next_line);
        next_line += data.iter().filter(|&&b| b == b'\n').count() as u64;
    }
    assert_eq!(next_line, 3001);
    let fixed = "2026-01-01T00:00:00Z".parse().unwrap();
    assert_eq!(Clock::Fixed(fixed).now(), fixed);
}

/// A source that fails hard (its thread panics) ends the run with a read error, not silently.
#[test]
fn a_source_that_panics_is_a_read_error() {
    struct Panicking(u64, Arc<AtomicUsize>);
    impl Source for Panicking {
        fn next_batch(&mut self, pool: &Pool) -> Option<Result<Batch, ReadError>> {
            self.0 += 1;
            assert!(self.0 < 3, "the source gives up on its third batch");
            let mut data = pool.take(0);
            data.extend_from_slice(GOOD.as_bytes());
            let origin = Origin::file(Arc::from("memory"), self.0);
            let acked = Arc::clone(&self.1);
            let ack = Ack::new(move || {
                acked.fetch_add(1, Ordering::SeqCst);
            });
            Some(Ok(Batch { ack, ..Batch::lines(origin, data, Clock::System.now()) }))
        }
    }
    let engine = builtin_engine(Settings::default());
    let acked = Arc::new(AtomicUsize::new(0));
    let mut sink = Recorder { acked: Arc::clone(&acked), ..Recorder::default() };
    let mut source = Panicking(0, Arc::clone(&acked));
    let ended = Pipeline { engine: &engine, threads: 2 }.run(&mut source, &mut sink);
    assert_eq!(ended.counts.events, 2, "what was read before is written");
    assert_eq!(acked.load(Ordering::SeqCst), 2, "and acknowledged");
    assert_eq!(ended.read_errors.len(), 1);
    assert!(ended.read_errors[0].to_string().contains("panicked"), "{}", ended.read_errors[0]);
}

/// A source that swaps the engine (a new customer id) after handing out `swap_after` batches,
/// as a reload does in the middle of a run.
struct Swapping {
    lines: Lines,
    engine: Arc<Current>,
    swap_after: u64,
}

impl Source for Swapping {
    fn next_batch(&mut self, pool: &Pool) -> Option<Result<Batch, ReadError>> {
        if self.lines.next == self.swap_after {
            let settings = Settings { customer_id: Some("new".into()), ..Settings::default() };
            let plan = compile(&builtin_sources(), builtin_grammars()).unwrap();
            assert_eq!(self.engine.swap(Engine { plan, settings }), 2);
        }
        self.lines.next_batch(pool)
    }
}

/// Every batch is mapped by one engine whole, batches mapped after a swap by the new one, and
/// nothing is lost or mapped twice across it.
#[test]
fn a_swap_takes_effect_between_batches() {
    for threads in [1, 3] {
        let engine = Arc::new(builtin_engine(Settings { customer_id: Some("old".into()), ..Settings::default() }));
        let acked = Arc::new(AtomicUsize::new(0));
        let lines = Lines { batches: 30, per_batch: 25, next: 0, acked: Arc::clone(&acked) };
        let mut source = Swapping { lines, engine: Arc::clone(&engine), swap_after: 10 };
        let mut sink = Recorder { acked, ..Recorder::default() };
        let ended = Pipeline { engine: &engine, threads }.run(&mut source, &mut sink);
        ended.output.unwrap();
        assert_eq!(ended.counts.events, 30 * 23);
        let events = sink.parsed_events();
        let ids: Vec<&str> = events.iter().map(|e| e["CustomerId"].as_str().unwrap()).collect();
        for (batch, chunk) in ids.chunks(23).enumerate() {
            assert!(chunk.iter().all(|id| *id == chunk[0]), "batch {batch} mixes engines ({threads} threads)");
        }
        assert!(ids[ids.len() - 23..].iter().all(|id| *id == "new"), "{threads} threads");
        // One thread maps each batch as it is read; with workers, batches read before the swap
        // but not yet mapped take the new engine.
        if threads == 1 {
            assert!(ids[..10 * 23].iter().all(|id| *id == "old"), "batches read before the swap");
            assert!(ids[10 * 23..].iter().all(|id| *id == "new"), "batches read after the swap");
        }
        assert_eq!(engine.generation(), 2);
    }
}

/// Batches as a network source hands them out, one of each framing, all from one sender.
struct Network(Vec<(Framing, &'static str)>, Arc<AtomicUsize>);

impl Source for Network {
    fn next_batch(&mut self, _pool: &Pool) -> Option<Result<Batch, ReadError>> {
        if self.0.is_empty() {
            return None;
        }
        let (framing, text) = self.0.remove(0);
        let listener: Arc<str> = Arc::from("tcp://127.0.0.1:1514");
        let peer = Transport::new(Arc::clone(&listener), "tcp", "10.9.8.7:40000".parse().unwrap(), None);
        let origin = Origin { source: listener, line: 5, peer: Some(Arc::new(peer)) };
        let acked = Arc::clone(&self.1);
        let ack = Ack::new(move || {
            acked.fetch_add(1, Ordering::SeqCst);
        });
        Some(Ok(Batch { framing, ack, ..Batch::lines(origin, text.as_bytes().to_vec(), Clock::System.now()) }))
    }
}

/// The sender's address fills `deviceIPAddress` when the line names no address of its own
/// (its host is a name); a truncated message is mapped and flagged; a rejected frame reaches
/// the rejects with the listener, the peer and its number on the connection.
#[test]
fn network_batches_carry_their_sender() {
    let engine = builtin_engine(Settings::default());
    let by_address = GOOD.replace(" lb ", " 10.1.1.1 ");
    let by_address: &'static str = Box::leak(by_address.into_boxed_str());
    let too_long = Reject::new(Code::TooLong, "longer than 10 bytes");
    let acked = Arc::new(AtomicUsize::new(0));
    let mut source = Network(
        vec![
            (Framing::Lines, GOOD),
            (Framing::Lines, by_address),
            (Framing::Truncated("70000 bytes".into()), GOOD),
            (Framing::Rejected(too_long.clone()), "<134> 05/19"),
        ],
        Arc::clone(&acked),
    );
    let mut sink = Recorder { acked, ..Recorder::default() };
    let ended = Pipeline { engine: &engine, threads: 1 }.run(&mut source, &mut sink);
    ended.output.unwrap();
    assert_eq!(ended.counts, Counts { lines: 4, blank: 0, events: 3, with_errors: 1, rejected: 1 });
    let events = sink.parsed_events();
    assert_eq!(events[0]["deviceIPAddress"], "10.9.8.7", "from the sender");
    assert_eq!(events[1]["deviceIPAddress"], "10.1.1.1", "the line's own address wins");
    assert!(events[0].get("_unmapped").is_none_or(|u| u.get("@peer_ip").is_none()), "not read from the line");
    let flagged = &events[2]["_errors"][0];
    assert_eq!(flagged["token"], "*");
    assert_eq!(flagged["value"], "70000 bytes");
    assert_eq!(sink.rejects, vec![(5, Code::TooLong, "<134> 05/19".to_string())]);
}
