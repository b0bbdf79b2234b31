//! The bus, against a real `nats-server -js`: `xdrmap consume` workers map raw messages from
//! JetStream into events and rejects, every message exactly once in the events stream, even
//! when a worker is killed mid-run.

#[path = "common/mod.rs"]
mod common;
#[path = "bus/nats.rs"]
mod nats;

use async_nats::jetstream::message::PublishMessage;
use nats::{count, wait_until, Nats};
use std::process::{Child, Command, Stdio};

/// A child process, killed when dropped, so that a failing test leaves no worker behind.
struct Running(Child);

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `xdrmap consume` on `url` with `args`, its stderr to a file in the scratch folder.
fn consume(url: &str, args: &[&str], log: &std::path::Path) -> Running {
    xdrmap(&[&["consume", url], args].concat(), log)
}

/// Starts `xdrmap ARGS`, its stderr to `log`.
fn xdrmap(args: &[&str], log: &std::path::Path) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_xdrmap"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("xdrmap starts");
    Running(child)
}

/// `n` lines, the guide cases' in turn (some of which are rejected), line `bad` replaced by
/// one no guide reads.
fn raw_lines(n: usize, bad: Option<usize>) -> Vec<String> {
    let cases = common::case_lines();
    let line = |i: usize| {
        if Some(i) == bad {
            "this is no NetScaler line".to_string()
        } else {
            cases[i % cases.len()].clone()
        }
    };
    (0..n).map(line).collect()
}

/// How many events and rejects `map` makes of `lines` read from a file: what the bus must
/// give too.
fn expected(lines: &[String], scratch: &std::path::Path) -> (u64, u64) {
    let input = scratch.join("raw.log");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let (events, rejects) = (scratch.join("events.jsonl"), scratch.join("rejects.jsonl"));
    let status = Command::new(env!("CARGO_BIN_EXE_xdrmap"))
        .args(["map", "-o"])
        .arg(&events)
        .arg("--rejects")
        .arg(&rejects)
        .arg(&input)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let lines_of = |p: &std::path::Path| std::fs::read_to_string(p).unwrap().lines().count() as u64;
    (lines_of(&events), lines_of(&rejects))
}

/// Publishes `lines` as raw messages, as `serve --nats` does: sender and receive time in the
/// headers.
async fn publish_raw(js: &async_nats::jetstream::Context, lines: &[String]) {
    let mut acks = Vec::new();
    for line in lines {
        let line = line.clone();
        let message = PublishMessage::build()
            .payload(line.into_bytes().into())
            .header("Xdrmap-Received", "2026-12-03T07:00:00.000Z")
            .header("Xdrmap-Peer", "192.0.2.7:41000")
            .header("Xdrmap-Listener", "tcp://0.0.0.0:1514")
            .header("Xdrmap-Protocol", "tcp");
        acks.push(js.send_publish("xdrmap.raw.test", message).await.expect("publishes"));
        if acks.len() == 1000 {
            for ack in acks.drain(..) {
                ack.await.expect("the raw stream takes it");
            }
        }
    }
    for ack in acks {
        ack.await.expect("the raw stream takes it");
    }
}

/// Every message of `stream`, as JSON, in stream order.
async fn read_all(js: &async_nats::jetstream::Context, stream: &str) -> Vec<serde_json::Value> {
    let stream = js.get_stream(stream).await.unwrap();
    let state = stream.cached_info().state.clone();
    let mut all = Vec::new();
    for seq in state.first_sequence..=state.last_sequence {
        let message = stream.get_raw_message(seq).await.expect("the message is there");
        all.push(serde_json::from_slice(&message.payload).expect("JSON"));
    }
    all
}

/// Raw messages in, one event per message out, a bad line to the rejects subject with its
/// code; the raw messages all acknowledged; SIGTERM exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_maps_every_raw_message_once_and_rejects_a_bad_one() {
    let Some(server) = Nats::start("consume") else { return };
    let scratch = common::Scratch::new("bus-consume");
    let log = scratch.join("consume.log");
    let mut worker = consume(&server.url, &["--threads", "2"], &log);
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

/// Sends signal `name` to the child.
fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
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
    let mut collector = xdrmap(&["serve", "--tcp", &tcp, "--nats", &server.url], &serve_log);
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
