//! `xdrmap serve` on real loopback sockets: both framings however the bytes are cut, limits
//! and cut-off frames rejected with reasons, invalid UTF-8, a hundred connections at once,
//! UDP, TLS with and without client certificates, reloads, draining on SIGTERM, a slow sink
//! that makes the sender wait, and metrics that agree with what was sent. Every wait is
//! bounded; every port is chosen by the system.

mod common;
#[path = "serve/harness.rs"]
mod harness;
#[path = "serve/tls.rs"]
mod tls;

use harness::{connect, line, Server, LINE};
use std::io::Write;
use std::net::UdpSocket;

/// The session ids of the events, in the order they were written.
fn ids(events: &[serde_json::Value]) -> Vec<u64> {
    events.iter().map(|e| e["sessionId"].as_u64().unwrap()).collect()
}

/// `n` messages numbered from `first`, framed in turn by octet counting, LF, CRLF and NUL.
fn mixed_stream(first: u64, n: u64) -> Vec<u8> {
    let mut stream = Vec::new();
    for i in 0..n {
        let m = line(first + i);
        match i % 4 {
            0 => stream.extend_from_slice(format!("{} {m}", m.len()).as_bytes()),
            1 => stream.extend_from_slice(format!("{m}\n").as_bytes()),
            2 => stream.extend_from_slice(format!("{m}\r\n").as_bytes()),
            _ => stream.extend_from_slice(format!("{m}\0").as_bytes()),
        }
    }
    stream
}

/// One connection writes its stream whole, another in pieces of 7 bytes with pauses; every
/// message becomes one event, each connection's in the order sent, written while the
/// connections are still open; the metrics count the same.
#[test]
fn both_framings_split_and_coalesced() {
    let server = Server::start("framings", &["--threads", "2"]);
    let tcp = server.addr("tcp");
    let mut whole = connect(tcp);
    whole.write_all(&mixed_stream(1000, 60)).unwrap();
    let mut pieces = connect(tcp);
    for (i, piece) in mixed_stream(2000, 60).chunks(7).enumerate() {
        pieces.write_all(piece).unwrap();
        if i % 50 == 0 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
    assert!(server.wait_for_results(120), "{}", server.stderr());
    let ids = ids(&server.events());
    let of = |base: u64| ids.iter().copied().filter(|id| (base..base + 1000).contains(id)).collect::<Vec<_>>();
    assert_eq!(of(1000), (1000..1060).collect::<Vec<_>>());
    assert_eq!(of(2000), (2000..2060).collect::<Vec<_>>());
    assert!(server.rejects().is_empty(), "{:?}", server.rejects());
    let listener = format!("{{listener=\"tcp://{tcp}\"}}");
    assert_eq!(server.metric(&format!("xdrmap_messages_total{listener}")), 120.0);
    assert_eq!(server.metric(&format!("xdrmap_events_total{listener}")), 120.0);
    assert_eq!(server.metric(&format!("xdrmap_connections_open{listener}")), 2.0);
    assert_eq!(server.get("/healthz"), (200, "ok\n".to_string()));
}

/// Past --max-message a message is rejected (R305), LF-framed or octet-counted, and the next
/// one is read whole; a frame cut off by the close is rejected (R306); each reject names the
/// listener and the peer. With --oversize truncate the message is mapped and flagged.
#[test]
fn oversize_and_cut_off_frames() {
    let long = format!("{} {}", &LINE[..40], "x".repeat(400));
    let gui = "<134> 05/19/2024:22:07:41 GMT lb 0-PPE-1 : default GUI CMD_EXECUTED 12 0 :  User nsroot - Remote_ip 10.0.0.1 - Command \"show ns ip";
    let gui = format!("{gui} {}\"", "A".repeat(400));
    for oversize in ["reject", "truncate"] {
        let server = Server::start(&format!("oversize-{oversize}"), &["--max-message", "300", "--oversize", oversize]);
        let tcp = server.addr("tcp");
        let mut s = connect(tcp);
        let peer = s.local_addr().unwrap().to_string();
        write!(s, "{long}\n{} {gui}{}\n<13> partial", gui.len(), line(7)).unwrap();
        drop(s);
        assert!(server.wait_for_results(4), "{oversize}: {}", server.stderr());
        let (events, rejects) = (server.events(), server.rejects());
        let codes: Vec<&str> = rejects.iter().map(|r| r["code"].as_str().unwrap()).collect();
        assert_eq!(ids(&events).last(), Some(&7), "the message after them is read whole");
        if oversize == "reject" {
            assert_eq!(codes, ["R305", "R305", "R306"]);
            assert!(rejects[1]["reason"].as_str().unwrap().contains(&format!("{} bytes", gui.len())));
        } else {
            // The first, cut to 300 bytes, no longer fits the grammar: rejected, kept as cut.
            assert_eq!(codes, ["R301", "R306"]);
            assert_eq!(rejects[0]["text"].as_str().unwrap(), &long[..300]);
            assert_eq!(events.len(), 2);
            let flagged = &events[0]["_errors"][0];
            assert_eq!((&flagged["token"], &flagged["value"]), (&"*".into(), &format!("{} bytes", gui.len()).into()));
            assert_eq!(events[0]["command"].as_str().unwrap().len(), 300 - gui.find("\"show").unwrap());
        }
        let last = rejects.last().unwrap();
        assert_eq!(last["text"], "<13> partial");
        assert_eq!(
            (last["listener"].as_str().unwrap(), last["peer"].as_str().unwrap()),
            (&*format!("tcp://{tcp}"), &*peer)
        );
        assert_eq!(last["line"], 4, "the fourth message of its connection");
        assert_eq!(server.metric(&format!("xdrmap_oversize_messages_total{{listener=\"tcp://{tcp}\"}}")), 2.0);
    }
}

/// Bytes that are not UTF-8 are replaced (U+FFFD), and the message is mapped or rejected,
/// never dropped.
#[test]
fn invalid_utf8_is_kept() {
    let server = Server::start("utf8", &[]);
    let mut s = connect(server.addr("tcp"));
    let mut bytes = LINE.replace(" lb ", " l\u{1}b ").into_bytes();
    let at = bytes.iter().position(|&b| b == 1).unwrap();
    bytes[at] = 0xff;
    bytes.extend_from_slice(b"\n\xfe\xfe not a line\n");
    s.write_all(&bytes).unwrap();
    assert!(server.wait_for_results(2));
    assert_eq!(server.events()[0]["deviceName"], "l\u{fffd}b");
    assert_eq!(server.rejects()[0]["text"], "\u{fffd}\u{fffd} not a line");
}

/// A hundred connections at once: every message mapped, each connection's in order.
#[test]
fn a_hundred_connections() {
    let server = Server::start("hundred", &[]);
    let tcp = server.addr("tcp");
    let senders: Vec<_> = (0..100u64)
        .map(|c| {
            std::thread::spawn(move || {
                let mut s = connect(tcp);
                for i in 0..20 {
                    s.write_all(format!("{}\n", line(c * 100 + i)).as_bytes()).unwrap();
                }
            })
        })
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    assert!(server.wait_for_results(2000), "{}", server.stderr());
    let ids = ids(&server.events());
    assert_eq!(ids.len(), 2000);
    for c in 0..100 {
        let of: Vec<u64> = ids.iter().copied().filter(|id| id / 100 == c).collect();
        assert_eq!(of, (c * 100..c * 100 + 20).collect::<Vec<_>>(), "connection {c}");
    }
    assert!(server
        .wait_for(5, |s| s.metric(&format!("xdrmap_connections_accepted_total{{listener=\"tcp://{tcp}\"}}")) == 100.0));
}

/// Past --max-connections (and --max-connections-per-peer) a connection is refused and
/// counted; the ones open still work.
#[test]
fn connections_past_the_limit_are_refused() {
    for limit in ["--max-connections", "--max-connections-per-peer"] {
        connections_past(limit);
    }
}

fn connections_past(limit: &str) {
    let server = Server::start("limit", &[limit, "2"]);
    let tcp = server.addr("tcp");
    let mut open = [connect(tcp), connect(tcp)];
    let refused = format!("xdrmap_connections_refused_total{{listener=\"tcp://{tcp}\"}}");
    assert!(server.wait_for(5, |s| s.metric(&format!("xdrmap_connections_open{{listener=\"tcp://{tcp}\"}}")) == 2.0));
    let mut third = connect(tcp);
    assert!(server.wait_for(5, |s| s.metric(&refused) == 1.0));
    let _ = third.write_all(format!("{}\n", line(3)).as_bytes());
    for (i, s) in open.iter_mut().enumerate() {
        s.write_all(format!("{}\n", line(i as u64)).as_bytes()).unwrap();
    }
    assert!(server.wait_for_results(2));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut got = ids(&server.events());
    got.sort();
    assert_eq!(got, [0, 1], "the refused connection's message is not read");
}

/// One datagram is one message, its line ending stripped; the sender's address fills
/// deviceIPAddress; the kernel's drop counter is reported.
#[test]
fn udp_datagrams() {
    let server = Server::start("udp", &[]);
    let udp = server.addr("udp");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..50 {
        socket.send_to(format!("{}\r\n", line(i)).as_bytes(), udp).unwrap();
        if i % 10 == 0 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
    assert!(server.wait_for_results(50), "{}", server.stderr());
    let events = server.events();
    assert_eq!(ids(&events), (0..50).collect::<Vec<_>>());
    assert!(events.iter().all(|e| e["deviceIPAddress"] == "127.0.0.1"));
    let listener = format!("listener=\"udp://{udp}\"");
    assert_eq!(server.metric(&format!("xdrmap_messages_total{{{listener}}}")), 50.0);
    let (_, metrics) = server.get("/metrics");
    assert!(metrics.contains(&format!("xdrmap_udp_dropped_total{{{listener},by=\"kernel\"}} 0")), "{metrics}");
}

/// SIGTERM stops accepting, drains what the senders had sent (their connections still open),
/// and exits 0 with every message an event or a reject.
#[test]
fn sigterm_drains_everything_received() {
    let mut server = Server::start("drain", &["--threads", "2"]);
    let tcp = server.addr("tcp");
    let mut conns: Vec<_> = (0..3).map(|_| connect(tcp)).collect();
    for (c, s) in conns.iter_mut().enumerate() {
        let mut stream = String::new();
        for i in 0..1000 {
            stream.push_str(&line(c as u64 * 10_000 + i));
            stream.push('\n');
        }
        stream.push_str("not a netscaler line\n");
        s.write_all(stream.as_bytes()).unwrap();
    }
    let status = server.stop();
    assert!(status.success(), "{status:?}: {}", server.stderr());
    assert_eq!(server.events().len(), 3000);
    assert_eq!(server.rejects().len(), 3);
    let stderr = server.stderr();
    assert!(stderr.contains("SIGTERM: no longer accepting"), "{stderr}");
    assert!(
        stderr.contains("3003 lines read, 3000 events written, 3 lines rejected (3003 messages received)"),
        "{stderr}"
    );
    assert!(std::net::TcpStream::connect(tcp).is_err(), "no longer listening");
}

/// A guide changed and SIGHUP: new events show the change. A broken guide and SIGHUP: the
/// diagnostic is printed as `check` prints it, the failure counted, the old plan kept.
#[test]
fn reload_on_sighup() {
    let dir = common::Scratch::new("reload");
    let guide = dir.join("guide.yaml");
    let original = std::fs::read_to_string("mappings/citrix_loadbalancer/guide.yaml").unwrap();
    assert!(original.contains("const: Citrix\n"));
    std::fs::write(&guide, &original).unwrap();
    let mapping = guide.display().to_string();
    let server = Server::start_in(dir, &["--mapping", &mapping]);
    let mut s = connect(server.addr("tcp"));
    let vendors = |server: &Server| -> Vec<String> {
        server.events().iter().map(|e| e["deviceVendor"].as_str().unwrap().to_string()).collect()
    };
    s.write_all(format!("{}\n", line(1)).as_bytes()).unwrap();
    assert!(server.wait_for_results(1));
    std::fs::write(&guide, original.replace("const: Citrix\n", "const: Citrix Systems\n")).unwrap();
    server.signal("HUP");
    assert!(server.wait_for(10, |s| s.stderr().contains("reloaded (SIGHUP): plan 2")), "{}", server.stderr());
    s.write_all(format!("{}\n", line(2)).as_bytes()).unwrap();
    assert!(server.wait_for_results(2));
    assert_eq!(vendors(&server), ["Citrix", "Citrix Systems"]);
    std::fs::write(&guide, original.replace("token: deviceName", "token: deviceNmae")).unwrap();
    server.signal("HUP");
    assert!(server.wait_for(10, |s| s.stderr().contains("reload (SIGHUP) failed")), "{}", server.stderr());
    let stderr = server.stderr();
    assert!(stderr.contains("error[E101]: unknown token 'deviceNmae'") && stderr.contains("guide.yaml:"), "{stderr}");
    assert!(stderr.contains("still serving plan 2"), "{stderr}");
    s.write_all(format!("{}\n", line(3)).as_bytes()).unwrap();
    assert!(server.wait_for_results(3));
    assert_eq!(vendors(&server), ["Citrix", "Citrix Systems", "Citrix Systems"]);
    assert_eq!(server.metric("xdrmap_reloads_total{result=\"ok\"}"), 1.0);
    assert_eq!(server.metric("xdrmap_reloads_total{result=\"failed\"}"), 1.0);
    assert_eq!(server.metric("xdrmap_plan_generation"), 2.0);
}

/// With --watch, saving a guide file reloads it without a signal.
#[test]
fn reload_on_a_changed_file() {
    let dir = common::Scratch::new("watch");
    let device = dir.join("citrix");
    std::fs::create_dir_all(&device).unwrap();
    let original = std::fs::read_to_string("mappings/citrix_loadbalancer/guide.yaml").unwrap();
    std::fs::write(device.join("guide.yaml"), &original).unwrap();
    let mapping = device.display().to_string();
    let server = Server::start_in(dir, &["--mapping", &mapping, "--watch"]);
    std::fs::write(device.join("guide.yaml"), original.replace("const: Citrix\n", "const: Watched\n")).unwrap();
    assert!(server.wait_for(10, |s| s.stderr().contains("reloaded (a guide file changed)")), "{}", server.stderr());
    let mut s = connect(server.addr("tcp"));
    s.write_all(format!("{}\n", line(1)).as_bytes()).unwrap();
    assert!(server.wait_for_results(1));
    assert_eq!(server.events()[0]["deviceVendor"], "Watched");
}

/// TLS without client certificates: octet-counted messages over TLS become events.
#[test]
fn tls_without_client_certificates() {
    let dir = common::Scratch::new("tls");
    let pki = tls::make_pki(&dir);
    let (cert, key) = (pki.server_cert.display().to_string(), pki.server_key.display().to_string());
    let server = Server::start_in(dir, &["--tls", "127.0.0.1:0", "--tls-cert", &cert, "--tls-key", &key]);
    let mut s = tls::connect(server.addr("tls"), &pki, false);
    for i in 0..5 {
        let m = line(i);
        write!(s, "{} {m}", m.len()).unwrap();
    }
    s.flush().unwrap();
    assert!(server.wait_for_results(5), "{}", server.stderr());
    assert_eq!(ids(&server.events()), [0, 1, 2, 3, 4]);
    assert_eq!(server.events()[0]["deviceIPAddress"], "127.0.0.1");
}

/// With a client CA, a client without a certificate is refused (and counted); one with a
/// certificate gets in, and the guide reads its subject as @tls_subject.
#[test]
fn tls_client_certificates_required() {
    let dir = common::Scratch::new("mtls");
    let pki = tls::make_pki(&dir);
    let original = std::fs::read_to_string("mappings/citrix_loadbalancer/guide.yaml").unwrap();
    let guide = original.replacen("fields:\n", "tokens:\n  tlsSubject: { type: string }\n\nfields:\n", 1)
        + "\n  - token: tlsSubject\n    from: [\"@tls_subject\"]\n";
    std::fs::write(dir.join("guide.yaml"), guide).unwrap();
    let paths = [&pki.server_cert, &pki.server_key, &pki.ca, &dir.join("guide.yaml")].map(|p| p.display().to_string());
    let args = ["--tls", "127.0.0.1:0", "--tls-cert", &paths[0], "--tls-key", &paths[1]];
    let server = Server::start_in(dir, &[&args[..], &["--tls-client-ca", &paths[2], "--mapping", &paths[3]]].concat());
    let tls_addr = server.addr("tls");
    let mut refused = tls::connect(tls_addr, &pki, false);
    // The handshake or the first read fails: the server wants a certificate.
    let _ = writeln!(refused, "{}", line(1)).and_then(|_| refused.flush());
    let mut buf = [0u8; 1];
    assert!(matches!(std::io::Read::read(&mut refused, &mut buf), Ok(0) | Err(_)));
    let mut s = tls::connect(tls_addr, &pki, true);
    writeln!(s, "{}", line(2)).unwrap();
    s.flush().unwrap();
    assert!(server.wait_for_results(1), "{}", server.stderr());
    let events = server.events();
    assert_eq!(ids(&events), [2], "only the client with a certificate is read");
    assert_eq!(events[0]["tlsSubject"], "CN=adc-01, O=Example");
    assert_eq!(server.metric(&format!("xdrmap_connections_refused_total{{listener=\"tls://{tls_addr}\"}}")), 1.0);
}

/// A FIFO for the events whose reader holds still until told to read: once its pipe buffer
/// is full, the sink cannot write. Gives what the reader read, in lines, when it is done.
fn stalled_events(dir: &std::path::Path) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<u64>) {
    let fifo = dir.join("events.jsonl");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        // Opening blocks until the server opens its end, which it does before listening.
        let mut file = std::fs::File::open(fifo).unwrap();
        let _ = wait.recv();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text).unwrap();
        text.lines().count() as u64
    });
    (go, reader)
}

/// While the sink cannot write (the reader of its FIFO holds still), the pipeline stops, the
/// queue fills and the TCP sender is made to wait; once the sink drains, every message
/// arrives.
#[test]
fn a_slow_sink_makes_the_sender_wait() {
    let dir = common::Scratch::new("slow");
    let (go, reader) = stalled_events(&dir);
    let mut server = Server::start_in(dir, &[]);
    let tcp = server.addr("tcp");
    // 60,000 messages of about 1 KB: more than the kernel's buffers and xdrmap's queue hold.
    let n = 60_000u64;
    let gui = "<134> 05/19/2024:22:07:41 GMT lb 0-PPE-1 : default GUI CMD_EXECUTED 12 0 :  User nsroot - Remote_ip 10.0.0.1 - Command \"show ns ip";
    let message = format!("{gui} {}\"\n", "A".repeat(900));
    let written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let progress = std::sync::Arc::clone(&written);
    let sender = std::thread::spawn(move || {
        let mut s = connect(tcp);
        for _ in 0..n {
            s.write_all(message.as_bytes()).unwrap();
            progress.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        s
    });
    // The sender stalls: its count stops growing short of the end.
    let count = || written.load(std::sync::atomic::Ordering::Relaxed);
    let mut last = count();
    let mut still = 0;
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = count();
        still = if now == last { still + 1 } else { 0 };
        last = now;
        if still == 5 {
            break;
        }
    }
    assert!(still == 5 && last < n, "the sender was not held back ({last} of {n} written)");
    go.send(()).unwrap();
    let conn = sender.join().unwrap();
    let listener = format!("xdrmap_events_total{{listener=\"tcp://{tcp}\"}}");
    assert!(server.wait_for(60, |s| s.metric(&listener) == n as f64), "{}", server.metric(&listener));
    drop(conn);
    assert!(server.stop().success());
    assert_eq!(reader.join().unwrap(), n, "every message became an event");
}

/// A sender that never pauses keeps draining busy: past --drain-timeout its connection is
/// closed and the summary says so; /healthz says 503 while draining; the exit is still 0.
#[test]
fn the_drain_timeout_closes_what_is_still_sending() {
    let mut server = Server::start("drain-timeout", &["--drain-timeout", "1"]);
    let tcp = server.addr("tcp");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopping = std::sync::Arc::clone(&stop);
    let sender = std::thread::spawn(move || {
        let mut s = connect(tcp);
        let mut sent = 0u64;
        while !stopping.load(std::sync::atomic::Ordering::Relaxed)
            && s.write_all(format!("{}\n", line(sent)).as_bytes()).is_ok()
        {
            sent += 1;
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        sent
    });
    assert!(server.wait_for_results(3));
    server.signal("TERM");
    assert!(server.wait_for(5, |s| s.stderr().contains("draining")));
    assert_eq!(server.get("/healthz").0, 503);
    let status = server.stop_signalled();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = sender.join().unwrap();
    assert!(status.success(), "{}", server.stderr());
    let stderr = server.stderr();
    assert!(stderr.contains("the drain timeout closed 1 connections that were still sending"), "{stderr}");
    let got = server.events().len() as u64 + server.rejects().len() as u64;
    assert!(got > 3 && got <= sent, "{got} of {sent}");
}

/// A second signal exits at once, even while the sink is stuck (its FIFO's reader holds
/// still, so the drain cannot finish).
#[test]
fn a_second_signal_exits_at_once() {
    let dir = common::Scratch::new("second-signal");
    let (_go, _reader) = stalled_events(&dir);
    let mut server = Server::start_in(dir, &[]);
    let mut s = connect(server.addr("tcp"));
    for i in 0..3000 {
        s.write_all(format!("{}\n", line(i)).as_bytes()).unwrap();
    }
    server.signal("TERM");
    assert!(server.wait_for(5, |s| s.stderr().contains("draining")));
    std::thread::sleep(std::time::Duration::from_millis(300));
    server.signal("INT");
    let status = server.stop_signalled();
    assert_eq!(status.code(), Some(130), "{}", server.stderr());
    assert!(server.stderr().contains("SIGINT again: exiting at once"));
}

/// With --rotate-bytes, events go to files of about that size, no line split between two,
/// none lost.
#[test]
fn events_rotate_by_size() {
    let mut server = Server::start("rotate", &["--rotate-bytes", "2K", "--rotate-keep", "50"]);
    let mut s = connect(server.addr("tcp"));
    for i in 0..30 {
        s.write_all(format!("{}\n", line(i)).as_bytes()).unwrap();
    }
    drop(s);
    assert!(server.stop().success());
    let mut all = Vec::new();
    for n in (1..=50).rev() {
        if let Ok(text) = std::fs::read_to_string(server.dir.join(format!("events.jsonl.{n}"))) {
            let longest = text.lines().map(str::len).max().unwrap();
            assert!(text.len() <= 2048 + longest + 1, "file {n} holds {} bytes", text.len());
            all.extend(text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()));
        }
    }
    assert!(all.len() > 5, "several files were written");
    all.extend(server.events());
    assert_eq!(ids(&all), (0..30).collect::<Vec<_>>());
}

/// With --reload-tests, a guide that compiles but fails its own cases is not swapped in.
#[test]
fn reload_tests_keep_a_plan_whose_cases_fail() {
    let dir = common::Scratch::new("reload-tests");
    let device = dir.join("citrix");
    std::fs::create_dir_all(device.join("cases")).unwrap();
    let original = std::fs::read_to_string("mappings/citrix_loadbalancer/guide.yaml").unwrap();
    std::fs::write(device.join("guide.yaml"), &original).unwrap();
    let case = "mappings/citrix_loadbalancer/cases/tcp_conn_terminate__gmt.yaml";
    std::fs::copy(case, device.join("cases/tcp_conn_terminate.yaml")).unwrap();
    let mapping = device.display().to_string();
    let server = Server::start_in(dir, &["--mapping", &mapping, "--reload-tests"]);
    std::fs::write(device.join("guide.yaml"), original.replace("const: Citrix\n", "const: Broken\n")).unwrap();
    server.signal("HUP");
    assert!(server.wait_for(10, |s| s.stderr().contains("reload (SIGHUP) failed")), "{}", server.stderr());
    assert!(server.stderr().contains("1 case failed"), "{}", server.stderr());
    let mut s = connect(server.addr("tcp"));
    s.write_all(format!("{}\n", line(1)).as_bytes()).unwrap();
    assert!(server.wait_for_results(1));
    assert_eq!(server.events()[0]["deviceVendor"], "Citrix");
    assert_eq!(server.metric("xdrmap_reloads_total{result=\"failed\"}"), 1.0);
}

/// An output that fails (a full disk) stops the collector with the error, exit 2, rather than
/// leaving it listening and writing nothing.
#[test]
fn a_failing_output_stops_the_collector() {
    let dir = common::Scratch::new("full");
    std::os::unix::fs::symlink("/dev/full", dir.join("events.jsonl")).unwrap();
    let mut server = Server::start_in(dir, &[]);
    let mut s = connect(server.addr("tcp"));
    s.write_all(format!("{}\n", line(1)).as_bytes()).unwrap();
    let status = server.stop_signalled();
    assert_eq!(status.code(), Some(2), "{}", server.stderr());
    assert!(server.stderr().contains("cannot write output"), "{}", server.stderr());
}

/// `--where`: only the events the query matches are written; the others are counted, in the
/// metrics and the summary, and none is a reject.
#[test]
fn where_writes_only_matching_events() {
    let mut server = Server::start("serve-where", &["--where", "sessionId: [100 .. 149]"]);
    let mut tcp = connect(server.addr("tcp"));
    for n in 0..200 {
        tcp.write_all(format!("{}\n", line(n)).as_bytes()).unwrap();
    }
    drop(tcp);
    assert!(server.wait_for(10, |s| s.metric("xdrmap_events_unmatched_total") == 150.0), "{}", server.stderr());
    assert_eq!(ids(&server.events()), (100..150).collect::<Vec<u64>>());
    assert!(server.rejects().is_empty());
    assert!(server.stop().success());
    assert!(
        server.stderr().contains("200 events mapped, 50 written and 150 not matching --where"),
        "{}",
        server.stderr()
    );
}

/// `--route QUERY=FILE`: each event goes to the first route it matches (an overlap goes to
/// the first), the rest to -o; the routes' files are appended to, rejects stay in --rejects.
#[test]
fn routes_send_events_to_their_own_files() {
    let mut server = Server::start(
        "serve-route",
        &["--route", "sessionId: [0 .. 49]=low.jsonl", "--route", "sessionId: [40 .. 99]=mid.jsonl"],
    );
    let mut tcp = connect(server.addr("tcp"));
    for n in 0..150 {
        tcp.write_all(format!("{}\n", line(n)).as_bytes()).unwrap();
    }
    tcp.write_all(b"no NetScaler line\n").unwrap();
    drop(tcp);
    let events = format!("xdrmap_events_total{{listener=\"tcp://{}\"}}", server.addr("tcp"));
    assert!(server.wait_for(10, |s| s.metric(&events) == 150.0), "{}", server.stderr());
    assert_eq!(server.metric("xdrmap_routed_events_total{route=\"low.jsonl\"}"), 50.0);
    assert_eq!(server.metric("xdrmap_routed_events_total{route=\"mid.jsonl\"}"), 50.0);
    assert!(server.stop().success());
    let read = |name: &str| -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(server.dir.join(name)).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    assert_eq!(ids(&read("low.jsonl")), (0..50).collect::<Vec<u64>>());
    assert_eq!(ids(&read("mid.jsonl")), (50..100).collect::<Vec<u64>>());
    assert_eq!(ids(&server.events()), (100..150).collect::<Vec<u64>>());
    assert_eq!(server.rejects().len(), 1, "the reject stays in --rejects");
}
