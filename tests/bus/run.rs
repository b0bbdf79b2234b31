//! What the bus tests share: xdrmap processes killed when a test fails, raw lines and what
//! `map` makes of them, and the streams' messages read back.
// Shared by the bus test binaries, each of which uses a part.
#![allow(dead_code)]

use super::common;
use async_nats::jetstream::message::PublishMessage;
use std::process::{Child, Command, Stdio};

/// A child process, killed when dropped, so that a failing test leaves no worker behind.
pub struct Running(Child);

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
pub fn consume(url: &str, args: &[&str], log: &std::path::Path) -> Running {
    xdrmap(&[&["consume", url], args].concat(), log)
}

/// Starts `xdrmap ARGS`, its stderr to `log`.
pub fn xdrmap(args: &[&str], log: &std::path::Path) -> Running {
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
pub fn raw_lines(n: usize, bad: Option<usize>) -> Vec<String> {
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
pub fn expected(lines: &[String], scratch: &std::path::Path) -> (u64, u64) {
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
pub async fn publish_raw(js: &async_nats::jetstream::Context, lines: &[String]) {
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

/// Every message of `stream`, as JSON, in stream order (read through an ephemeral consumer,
/// in fetches of up to 10,000: one request per message would take minutes for 200,000).
pub async fn read_all(js: &async_nats::jetstream::Context, stream: &str) -> Vec<serde_json::Value> {
    use async_nats::jetstream::consumer::{pull, AckPolicy};
    use futures_util::StreamExt;
    let stream = js.get_stream(stream).await.unwrap();
    let total = stream.cached_info().state.messages as usize;
    let config = pull::Config { ack_policy: AckPolicy::None, ..Default::default() };
    let consumer = stream.create_consumer(config).await.unwrap();
    let mut all = Vec::with_capacity(total);
    while all.len() < total {
        let mut batch = consumer.fetch().max_messages(10_000).messages().await.unwrap();
        let before = all.len();
        while let Some(message) = batch.next().await {
            all.push(serde_json::from_slice(&message.unwrap().payload).expect("JSON"));
        }
        assert!(all.len() > before, "the stream holds {total} messages, {} read", all.len());
    }
    all
}

/// Sends signal `name` to the child.
pub fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
}

/// The value of metric `name` that the process logging to `log` serves (the address it says
/// in "metrics on http://ADDR/metrics"), summed over its labels.
pub fn scrape(log: &std::path::Path, name: &str) -> f64 {
    use std::io::{Read, Write};
    let said = std::fs::read_to_string(log).unwrap();
    let addr = said
        .lines()
        .find_map(|l| l.split("metrics on http://").nth(1))
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no metrics address in: {said}"));
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    let values = body.lines().filter(|l| l.split([' ', '{']).next() == Some(name));
    values.map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap()).sum()
}
