//! The bus at scale and through faults, against a real `nats-server -js`: syslog over TCP
//! into `serve --nats`, `consume` workers mapping the raw stream, every line sent exactly one
//! event or one reject, counted against `map` on the same lines, when two workers share
//! 200,000 messages and when the server is killed and started again mid-run.

#[path = "common/mod.rs"]
mod common;
#[path = "bus/nats.rs"]
mod nats;
#[path = "bus/run.rs"]
mod run;

use nats::{count, wait_until, Nats};
use run::{consume, expected, raw_lines, read_all, signal, xdrmap, Running};
use std::io::Write;
use std::time::Duration;

/// A collector on a free loopback port publishing to `server`; gives it and its address.
async fn collector(server: &Nats, scratch: &common::Scratch) -> (Running, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = scratch.join("serve.log");
    let tcp = format!("127.0.0.1:{port}");
    let running = xdrmap(&["serve", "--tcp", &tcp, "--nats", &server.url], &log);
    let listening = || std::fs::read_to_string(&log).unwrap().contains("listening on");
    assert!(wait_until(20, || async { listening() }).await, "{}", std::fs::read_to_string(&log).unwrap());
    (running, tcp)
}

/// Sends `lines` over one TCP connection, in chunks of `chunk` lines, from a thread of its own
/// (a sender the collector pushes back blocks there, not the test).
fn send(tcp: &str, lines: Vec<String>, chunk: usize) -> std::thread::JoinHandle<()> {
    let mut stream = std::net::TcpStream::connect(tcp).unwrap();
    std::thread::spawn(move || {
        for part in lines.chunks(chunk) {
            stream.write_all((part.join("\n") + "\n").as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

/// Every line one event or one reject, as `map` made of them, each event once (all EventIds
/// different) also after the redeliveries an ack wait brings.
async fn assert_exactly(js: &async_nats::jetstream::Context, (events, rejects): (u64, u64), logs: &[&std::path::Path]) {
    let done = wait_until(120, || async {
        count(js, "XDRMAP_EVENTS").await >= events && count(js, "XDRMAP_REJECTS").await >= rejects
    })
    .await;
    let said = || logs.iter().map(|l| std::fs::read_to_string(l).unwrap_or_default()).collect::<Vec<_>>().join("\n");
    let counts = (count(js, "XDRMAP_EVENTS").await, count(js, "XDRMAP_REJECTS").await);
    assert!(done, "every line mapped within 120 s ({counts:?} of {:?}): {}", (events, rejects), said());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let counts = (count(js, "XDRMAP_EVENTS").await, count(js, "XDRMAP_REJECTS").await);
    assert_eq!(counts, (events, rejects), "none twice: {}", said());
    let mapped = read_all(js, "XDRMAP_EVENTS").await;
    let ids: std::collections::HashSet<&str> = mapped.iter().map(|e| e["EventId"].as_str().unwrap()).collect();
    assert_eq!(ids.len() as u64, events, "every EventId different");
}

/// 200,000 messages through one collector and two workers sharing the durable consumer:
/// every message mapped exactly once, the work shared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_thousand_messages_through_two_workers_counted_exactly() {
    let Some(server) = Nats::start("scale") else { return };
    let scratch = common::Scratch::new("bus-scale");
    let (mut serve, tcp) = collector(&server, &scratch).await;
    let (first_log, second_log) = (scratch.join("first.log"), scratch.join("second.log"));
    let args = ["--threads", "1", "--batch", "500"];
    let mut workers = [consume(&server.url, &args, &first_log), consume(&server.url, &args, &second_log)];
    let n = 200_000;
    let lines = raw_lines(n, Some(123_456));
    let counts = expected(&lines, &scratch);
    send(&tcp, lines, 10_000).join().unwrap();
    let js = server.jetstream().await;
    assert_exactly(&js, counts, &[&first_log, &second_log, &scratch.join("serve.log")]).await;
    for worker in &mut workers {
        signal(worker, "TERM");
        assert!(worker.wait().unwrap().success());
    }
    signal(&serve, "TERM");
    assert!(serve.wait().unwrap().success());
    let read = |log: &std::path::Path| -> u64 {
        let text = std::fs::read_to_string(log).unwrap();
        let summary = text.lines().find(|l| l.contains(" lines read")).expect("a summary");
        summary.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let (first, second) = (read(&first_log), read(&second_log));
    assert_eq!(first + second, n as u64, "each message mapped by one worker");
    assert!(first > 0 && second > 0, "both workers took a share: {first} and {second}");
}

/// The server killed (SIGKILL) while lines arrive and workers map, and started again two
/// seconds later on the same store: the collector pushes its sender back and publishes
/// again, the worker fetches again, and nothing is lost or stored twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_killed_and_started_again_mid_run_loses_nothing() {
    let Some(mut server) = Nats::start("restart") else { return };
    let scratch = common::Scratch::new("bus-restart");
    let (mut serve, tcp) = collector(&server, &scratch).await;
    let worker_log = scratch.join("consume.log");
    let mut worker = consume(&server.url, &["--threads", "1", "--batch", "200", "--ack-wait", "2"], &worker_log);
    let n = 40_000;
    let lines = raw_lines(n, Some(30_000));
    let counts = expected(&lines, &scratch);
    let sender = send(&tcp, lines, 500);
    let js = server.jetstream().await;
    assert!(wait_until(60, || async { count(&js, "XDRMAP_EVENTS").await > 5_000 }).await, "the worker maps");
    server.kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.start_again();
    sender.join().unwrap();
    let js = server.jetstream().await;
    assert_exactly(&js, counts, &[&worker_log, &scratch.join("serve.log")]).await;
    signal(&worker, "TERM");
    assert!(worker.wait().unwrap().success());
    signal(&serve, "TERM");
    assert!(serve.wait().unwrap().success());
    let log = std::fs::read_to_string(scratch.join("serve.log")).unwrap();
    assert!(log.contains(&format!("{n} messages published")), "{log}");
}
