//! The properties the fuzz targets check (`fuzz/`), kept in the library so that `cargo test`
//! replays every input the fuzzers found (`tests/fuzz_regressions.rs`) on stable. Each
//! function panics when its property does not hold; none may panic otherwise, whatever the
//! bytes.

use crate::guide::{builtin_sources, GuideSource};
use crate::pipeline::{Current, Engine, Pipeline};
use crate::sinks::JsonLines;
use crate::sources::framing::{Frame, Framer, Oversize};
use crate::sources::{Clock, Files};
use crate::syntax::builtin_grammars;
use crate::{compile, Mapper, Outcome, Settings};
use chrono::{DateTime, Utc};
use once_cell::sync::Lazy;

/// The built-in guides, compiled once for every execution.
static ENGINE: Lazy<Current> = Lazy::new(|| {
    let plan = compile(&builtin_sources(), builtin_grammars()).expect("the built-in guides compile");
    Current::new(Engine { plan, settings: Settings::default() })
});

fn received() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default()
}

/// Events without their random `EventId`, one per line.
fn comparable(events: &[u8]) -> Vec<serde_json::Value> {
    let text = std::str::from_utf8(events).expect("events are UTF-8");
    text.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("each event is one JSON object");
            v.as_object_mut().expect("an object").remove("EventId");
            v
        })
        .collect()
}

fn kind(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Mapped { guide, field_errors } => format!("mapped {guide} {field_errors}"),
        Outcome::Blank => "blank".into(),
        Outcome::Rejected(r) => format!("rejected {}", r.code),
    }
}

/// Lines mapped in one pass of the grammar and mapped one by one give the same outcomes and
/// the same events, each event one valid JSON object.
pub fn map_lines(data: &[u8]) {
    let (_, engine) = ENGINE.load();
    let mut mapper = Mapper::new(&engine.plan, &engine.settings);
    let (mut batch_events, mut batch_outcomes) = (Vec::new(), Vec::new());
    mapper.map_batch(data, received(), &mut batch_events, |_, o| batch_outcomes.push(kind(o)));
    let (mut line_events, mut line_outcomes) = (Vec::new(), Vec::new());
    for raw in data.split_inclusive(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(raw);
        let line = crate::syntax::line_text(&text);
        line_outcomes.push(kind(&mapper.map(line, received(), &mut line_events)));
    }
    assert_eq!(batch_outcomes, line_outcomes, "one pass and line by line disagree");
    assert_eq!(comparable(&batch_events), comparable(&line_events), "one pass and line by line write other events");
}

/// The pipeline with one thread and with several writes the same events and rejects.
pub fn threads(data: &[u8]) {
    let dir = std::env::temp_dir().join(format!("xdrmap-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let input = dir.join("in.log");
    std::fs::write(&input, data).expect("a temporary file");
    let run = |threads: usize| {
        let mut source = Files::new(vec![input.clone()], Clock::Fixed(received())).max_line(4096);
        let (mut events, mut rejects) = (Vec::new(), Vec::new());
        let ended =
            Pipeline { engine: &ENGINE, threads }.run(&mut source, &mut JsonLines::new(&mut events, &mut rejects));
        ended.output.expect("writing to memory");
        (comparable(&events), String::from_utf8(rejects).expect("rejects are UTF-8"), ended.counts)
    };
    let (one, three) = (run(1), run(3));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(one, three, "one thread and three disagree");
}

/// Any text as a guide: it compiles or is refused with diagnostics, and a plan that compiles
/// maps a line.
pub fn guide(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let source = GuideSource { file: "fuzz/guide.yaml".into(), text };
    if let Ok(plan) = compile(&[source], builtin_grammars()) {
        let settings = Settings::default();
        let mut mapper = Mapper::new(&plan, &settings);
        let line =
            "<134> 05/19/2024:22:07:41 GMT lb 0-PPE-1 : default TCP CONN_TERMINATE 881 0 :  Source 10.60.2.15:443";
        let mut out = Vec::new();
        if let Outcome::Mapped { .. } = mapper.map(line, received(), &mut out) {
            comparable(&out);
        }
    }
}

/// Any text as a `.pest` grammar (up to the first NUL), the rest as lines: it loads or is
/// refused with problems, and a grammar that loads tokenizes each line alike in one pass and
/// line by line.
#[cfg(feature = "runtime-grammars")]
pub fn grammar(data: &[u8]) {
    use crate::syntax::pest_file::PestFile;
    use crate::syntax::{tokenize_each_line, Grammar};
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let text = String::from_utf8_lossy(&data[..split]);
    let lines = String::from_utf8_lossy(data.get(split + 1..).unwrap_or_default());
    let (Some(grammar), _) = PestFile::from_text("fuzz.pest", &text, &crate::limits::Limits::default()) else { return };
    let (mut one, mut one_lines) = (Vec::new(), Vec::new());
    grammar.tokenize_lines(&lines, &mut one, &mut one_lines);
    let (mut each, mut each_lines) = (Vec::new(), Vec::new());
    tokenize_each_line(&grammar, &lines, &mut each, &mut each_lines);
    assert_eq!(one_lines.len(), each_lines.len());
}

/// A stream framed whole and framed in pieces gives the same frames, and no message is longer
/// than the limit (the first bytes choose the limit, the piece size and what becomes of an
/// oversized message).
pub fn framing(data: &[u8]) {
    let [max, step, mode, stream @ ..] = data else { return };
    let max = usize::from(*max).max(1);
    let step = usize::from(*step).max(1);
    let oversize = if mode % 2 == 0 { Oversize::Reject } else { Oversize::Truncate };
    let frames = |pieces: &mut dyn Iterator<Item = &[u8]>| {
        let mut framer = Framer::new(max, oversize);
        let mut got: Vec<(u8, Vec<u8>, Option<usize>)> = Vec::new();
        let mut take = |f: Frame<'_>| {
            got.push(match f {
                Frame::Message(m) => (0, m.to_vec(), None),
                Frame::Truncated { kept, len } => (1, kept.to_vec(), len),
                Frame::TooLong { start, len } => (2, start.to_vec(), len),
                Frame::CutOff(part) => (3, part.to_vec(), None),
            })
        };
        for piece in pieces {
            framer.push(piece, &mut take);
        }
        framer.finish(&mut take);
        got
    };
    let whole = frames(&mut std::iter::once(stream));
    let cut = frames(&mut stream.chunks(step));
    assert_eq!(whole, cut, "framed whole and in pieces of {step}");
    for (kind, bytes, _) in &whole {
        // Messages and truncated ones keep the limit; a rejected one shows its first bytes.
        assert!(*kind >= 2 || bytes.len() <= max, "a message longer than the limit");
    }
}
