//! The bus, against a real `nats-server -js`: `xdrmap consume` workers map raw messages from
//! JetStream into events and rejects, every message exactly once in the events stream, even
//! when a worker is killed mid-run.

#[path = "common/mod.rs"]
mod common;
#[path = "bus/nats.rs"]
mod nats;
#[path = "bus/run.rs"]
mod run;

use nats::{count, wait_until, Nats};
use run::{consume, expected, publish_raw, raw_lines, read_all, scrape, signal, xdrmap};

/// Raw messages in, one event per message out, a bad line to the rejects subject with its
/// code; the raw messages all acknowledged; SIGTERM exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_maps_every_raw_message_once_and_rejects_a_bad_one() {
    let Some(server) = Nats::start("consume") else { return };
    let scratch = common::Scratch::new("bus-consume");
    let log = scratch.join("consume.log");
    let mut worker = consume(&server.url, &["--threads", "2", "--metrics", "127.0.0.1:0"], &log);
    let js = server.jetstream().await;
    assert!(
        wait_until(20, || async { js.get_stream("XDRMAP_RAW").await.is_ok() }).await,
        "consume creates the streams"
    );
    let n = 20_000;
    let lines = raw_lines(n, Some(777));
    let (events, rejects) = expected(&lines, &scratch);
    publish_raw(&js, &lines).await;
    let done =
        wait_until(60, || async { count(&js, "XDRMAP_EVENTS").await + count(&js, "XDRMAP_REJECTS").await >= n as u64 })
            .await;
    assert!(done, "every message mapped within 60 s: {}", std::fs::read_to_string(&log).unwrap());
    assert_eq!((count(&js, "XDRMAP_EVENTS").await, count(&js, "XDRMAP_REJECTS").await), (events, rejects));
    let rejected = read_all(&js, "XDRMAP_REJECTS").await;
    let bad =
        rejected.iter().find(|r| r["sequence"] == 778).expect("the bad line is rejected under its sequence number");
    assert_eq!((bad["stream"].as_str(), bad["code"].as_str()), (Some("XDRMAP_RAW"), Some("R301")), "{bad}");
    assert_eq!(bad["peer"], "192.0.2.7:41000", "the sender the raw message's headers name: {bad}");
    let stream = js.get_stream("XDRMAP_RAW").await.unwrap();
    let mut consumer = stream.get_consumer::<async_nats::jetstream::consumer::pull::Config>("xdrmap").await.unwrap();
    let mut acked = false;
    for _ in 0..200 {
        let info = consumer.info().await.unwrap();
        if info.num_ack_pending == 0 && info.num_pending == 0 {
            acked = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(acked, "every raw message acknowledged");
    let all = (events + rejects) as f64;
    for (name, value) in [
        ("xdrmap_bus_delivered_total", n as f64),
        ("xdrmap_bus_raw_acked_total", n as f64),
        ("xdrmap_bus_published_total", all),
        ("xdrmap_bus_acked_total", all),
        ("xdrmap_bus_duplicates_total", 0.0),
        ("xdrmap_bus_consumer_pending", 0.0),
    ] {
        assert_eq!(scrape(&log, name), value, "{name}");
    }
    assert!(scrape(&log, "xdrmap_bus_publish_seconds_total") > 0.0, "the publish wait is measured");
    signal(&worker, "TERM");
    let status = worker.wait().unwrap();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "SIGTERM exits 0: {log}");
    assert!(log.contains(&format!("{n} lines read, {events} events written")), "{log}");
}

/// Two workers share the raw stream; one is killed with SIGKILL mid-run. Every message is
/// still mapped, and none twice; a third worker that maps every message again stores
/// nothing: each event's Nats-Msg-Id (stream and sequence) makes the second publish a
/// duplicate the stream drops. The EventIds are all different.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_run_leaves_nothing_unmapped_and_nothing_twice() {
    let Some(server) = Nats::start("kill") else { return };
    let scratch = common::Scratch::new("bus-kill");
    let args = ["--threads", "1", "--ack-wait", "2", "--batch", "200"];
    let mut first = consume(&server.url, &args, &scratch.join("first.log"));
    let js = server.jetstream().await;
    assert!(wait_until(20, || async { js.get_stream("XDRMAP_RAW").await.is_ok() }).await);
    let mut second = consume(&server.url, &args, &scratch.join("second.log"));
    let n = 30_000;
    let lines = raw_lines(n, None);
    let (events, _) = expected(&lines, &scratch);
    publish_raw(&js, &lines).await;
    assert!(wait_until(60, || async { count(&js, "XDRMAP_EVENTS").await > 3_000 }).await, "the workers map");
    signal(&first, "KILL");
    first.wait().unwrap();
    let done = wait_until(90, || async { count(&js, "XDRMAP_EVENTS").await >= events }).await;
    let log = std::fs::read_to_string(scratch.join("second.log")).unwrap();
    assert!(done, "the second worker maps the rest within 90 s (events: {}): {log}", count(&js, "XDRMAP_EVENTS").await);
    // Redeliveries of what the first had not acknowledged come within the ack wait.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert_eq!(count(&js, "XDRMAP_EVENTS").await, events, "no message twice");
    let mapped = read_all(&js, "XDRMAP_EVENTS").await;
    let ids: std::collections::HashSet<&str> = mapped.iter().map(|e| e["EventId"].as_str().unwrap()).collect();
    assert_eq!(ids.len() as u64, events, "every EventId different");
    signal(&second, "TERM");
    assert!(second.wait().unwrap().success());
    // Every message delivered again (a new consumer from the start, within the dedupe
    // window): all of it mapped and published again, none of it stored twice.
    let again = scratch.join("again.log");
    let mut third = consume(&server.url, &["--durable", "again", "--until-idle"], &again);
    assert!(third.wait().unwrap().success());
    let log = std::fs::read_to_string(&again).unwrap();
    assert!(log.contains(&format!("({n} published, {n} duplicates dropped by the stream)")), "{log}");
    assert_eq!(count(&js, "XDRMAP_EVENTS").await, events, "no message twice");
}

/// The whole chain: syslog over TCP into `serve --nats`, raw messages on the bus with their
/// sender, `consume` maps them: every line sent is one event or one reject, as `map` makes
/// of the same lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_publishes_what_it_receives_and_consume_maps_it() {
    use std::io::Write;
    let Some(server) = Nats::start("chain") else { return };
    let scratch = common::Scratch::new("bus-chain");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let serve_log = scratch.join("serve.log");
    let tcp = format!("127.0.0.1:{port}");
    let serve = ["serve", "--tcp", &tcp, "--nats", &server.url, "--metrics", "127.0.0.1:0"];
    let mut collector = xdrmap(&serve, &serve_log);
    let listening = || std::fs::read_to_string(&serve_log).unwrap().contains("listening on");
    assert!(wait_until(20, || async { listening() }).await, "{}", std::fs::read_to_string(&serve_log).unwrap());
    let n = 10_000;
    let lines = raw_lines(n, Some(5));
    let (events, rejects) = expected(&lines, &scratch);
    let mut stream = std::net::TcpStream::connect(&tcp).unwrap();
    stream.write_all((lines.join("\n") + "\n").as_bytes()).unwrap();
    drop(stream);
    let js = server.jetstream().await;
    assert!(wait_until(30, || async { count(&js, "XDRMAP_RAW").await >= n as u64 }).await, "every message on the bus");
    // The stream holds a batch a moment before the collector has counted its acknowledgements.
    let counted = || async { scrape(&serve_log, "xdrmap_bus_published_total") == n as f64 };
    assert!(wait_until(10, counted).await, "the collector's metrics count them");
    assert_eq!(scrape(&serve_log, "xdrmap_bus_publish_retries_total"), 0.0);
    signal(&collector, "TERM");
    assert!(collector.wait().unwrap().success());
    let log = std::fs::read_to_string(&serve_log).unwrap();
    assert!(log.contains(&format!("{n} messages published to XDRMAP_RAW")), "{log}");
    let consume_log = scratch.join("consume.log");
    assert!(consume(&server.url, &["--until-idle"], &consume_log).wait().unwrap().success());
    assert_eq!((count(&js, "XDRMAP_EVENTS").await, count(&js, "XDRMAP_REJECTS").await), (events, rejects));
    let mapped = read_all(&js, "XDRMAP_EVENTS").await;
    assert_eq!(mapped[0]["CollectorReceivedTime"].as_str().map(str::len), Some(24), "{}", mapped[0]);
    let rejected = read_all(&js, "XDRMAP_REJECTS").await;
    let bad = rejected.iter().find(|r| r["sequence"] == 6).expect("the bad line rejected under its sequence");
    assert!(
        bad["peer"].as_str().is_some_and(|p| p.starts_with("127.0.0.1:")),
        "the sender travels with the message: {bad}"
    );
}

/// Runs `xdrmap ARGS` to its end; gives its success and stderr.
fn run_to_end(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xdrmap")).args(args).output().expect("xdrmap runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `map --input nats://` replays the raw stream into the very events `consume` published
/// (same EventIds, same everything) and the same rejects; `-o nats://` publishes a file's
/// events and rejects, each acknowledged; a replay published to the events stream within the
/// dedupe window adds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_replays_the_raw_stream_and_publishes_to_the_bus() {
    let Some(server) = Nats::start("map") else { return };
    let scratch = common::Scratch::new("bus-map");
    let url = server.url.as_str();
    // A first worker with nothing to do makes the streams.
    assert!(consume(url, &["--until-idle"], &scratch.join("empty.log")).wait().unwrap().success());
    let js = server.jetstream().await;
    let n = 3_000;
    let lines = raw_lines(n, Some(100));
    let (events, rejects) = expected(&lines, &scratch);
    publish_raw(&js, &lines).await;
    assert!(consume(url, &["--until-idle"], &scratch.join("consume.log")).wait().unwrap().success());
    let (replay, replay_rejects) = (scratch.join("replay.jsonl"), scratch.join("replay-rejects.jsonl"));
    let (ok, log) = run_to_end(&[
        "map",
        "--input",
        &format!("{url}/XDRMAP_RAW"),
        "-o",
        replay.to_str().unwrap(),
        "--rejects",
        replay_rejects.to_str().unwrap(),
    ]);
    assert!(ok, "{log}");
    assert!(log.contains(&format!("{n} lines read, {events} events written")), "{log}");
    let read = |p: &std::path::Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(p).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    assert_eq!(read(&replay), read_all(&js, "XDRMAP_EVENTS").await, "the replay gives the events consume published");
    assert_eq!(read(&replay_rejects), read_all(&js, "XDRMAP_REJECTS").await, "and the same rejects");

    let file = scratch.join("raw.log");
    let (ok, log) = run_to_end(&["map", file.to_str().unwrap(), "-o", &format!("{url}/xdrmap.events.file")]);
    assert!(ok, "{log}");
    assert!(log.contains(&format!("({} published, 0 duplicates", events + rejects)), "{log}");
    assert_eq!(count(&js, "XDRMAP_EVENTS").await, 2 * events, "a file's events have no ids: all of them stored");
    assert_eq!(count(&js, "XDRMAP_REJECTS").await, 2 * rejects);

    let (ok, log) = run_to_end(&["map", "--input", url, "-o", url]);
    assert!(ok, "{log}");
    let all = events + rejects;
    assert!(log.contains(&format!("({all} published, {all} duplicates dropped by the stream)")), "{log}");
    assert_eq!(count(&js, "XDRMAP_EVENTS").await, 2 * events, "a replay within the dedupe window adds nothing");
}

/// A subject that no stream holds would never be acknowledged (and a consumer's raw message
/// would come back for ever), one in the raw stream would be mapped again and again: each
/// is refused at start, with what would be right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_no_stream_holds_is_refused_at_start() {
    let Some(server) = Nats::start("subjects") else { return };
    let url = server.url.as_str();
    let raw_out = format!("{url}/xdrmap.raw.out");
    let cases: [(&[&str], &str); 5] = [
        (
            &["consume", url, "--events-subject", "nowhere.events"],
            "no stream holds the events subject 'nowhere.events'",
        ),
        (
            &["consume", url, "--rejects-subject", "xdrmap.raw.loop"],
            "the rejects subject 'xdrmap.raw.loop' is in the raw stream XDRMAP_RAW",
        ),
        (
            &["serve", "--tcp", "127.0.0.1:0", "--nats", url, "--raw-subject", "raw.elsewhere"],
            "no stream holds the raw subject 'raw.elsewhere'",
        ),
        (&["map", "-", "-o", &format!("{url}/nowhere")], "no stream holds the events subject 'nowhere'"),
        (&["map", "-", "-o", &raw_out], "the events subject 'xdrmap.raw.out' is in the raw stream XDRMAP_RAW"),
    ];
    for (args, said) in cases {
        let (ok, log) = run_to_end(args);
        assert!(!ok && log.contains(said) && log.contains("give a subject under xdrmap."), "{args:?}: {log}");
    }
}
