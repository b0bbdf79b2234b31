//! The real `xdrmap` binary: input from stdin and files, rejects, summary, exit codes, and
//! guides loaded at run time with `--mapping`.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

mod common;
use common::Scratch;

const CMD: &str = "<134> 03/21/2024:09:14:52 GMT adc-fra-01 0-PPE-0 : default GUI CMD_EXECUTED 4471 0 :  User jdoe - Remote_ip 10.20.30.41 - Command \"show ns ip\" - Status \"Success\"";
const TCP: &str = "<134> 05/19/2024:22:07:41 GMT lb-dmz-01 0-PPE-1 : default TCP CONN_TERMINATE 881 0 :  Source 10.60.2.15:443 - Destination 198.51.100.77:51822 - Start Time 05/19/2024:22:06:58 GMT - End Time 05/19/2024:22:07:41 GMT - Total_bytes_send 48213 - Total_bytes_recv 1917";
const GARBAGE: &str = "this is not a NetScaler line";

fn xdrmap() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xdrmap"));
    cmd.env_remove("XDRMAP_CUSTOMER_ID").env_remove("XDRMAP_COLLECTOR_ID").env_remove("XDRMAP_EVENT_SOURCE_ID");
    cmd
}

fn run(cmd: &mut Command, stdin: &str) -> Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn events(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("each line is one JSON object")).collect()
}

/// A fresh folder under the system temp dir, named after the test, removed at its end.
fn temp_dir(name: &str) -> Scratch {
    Scratch::new(name)
}

fn write(path: &Path, content: &str) {
    std::fs::write(path, content).unwrap();
}

#[test]
fn maps_stdin_and_prints_a_summary() {
    let out = run(xdrmap().arg("map"), &format!("{CMD}\n{TCP}\n"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ev = events(&out);
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0]["command"], "show ns ip");
    assert_eq!(ev[0]["sourceUser"], "jdoe");
    assert_eq!(ev[1]["sourcePort"], 443);
    assert_eq!(ev[1]["inByte"], 1917);
    assert_eq!(ev[1]["eventTime"], "2024-05-19T22:07:41Z");
    assert!(
        text(&out.stderr).contains("xdrmap: 2 lines read, 2 events written, 0 lines rejected"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn rejects_go_to_a_file_with_line_number_and_reason() {
    let dir = temp_dir("rejects");
    let log = dir.join("ns.log");
    write(&log, &format!("{CMD}\n\n{GARBAGE}\n{TCP}\n"));
    let rejects = dir.join("rejects.jsonl");
    let events_file = dir.join("events.jsonl");
    let out = run(xdrmap().arg("map").arg(&log).arg("-o").arg(&events_file).arg("--rejects").arg(&rejects), "");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&events_file).unwrap().lines().count(), 2);
    let reject: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&rejects).unwrap().trim()).unwrap();
    assert_eq!(reject["file"], log.display().to_string());
    assert_eq!(reject["line"], 3);
    assert_eq!(reject["text"], GARBAGE);
    assert!(reject["reason"].as_str().unwrap().contains("does not fit grammar 'netscaler'"), "{reject}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("4 lines read, 2 events written, 1 lines rejected, 1 blank lines skipped"), "{stderr}");
}

#[test]
fn rejects_default_to_stderr_and_strict_exits_1() {
    let out = run(xdrmap().arg("map"), &format!("{GARBAGE}\n{CMD}\n"));
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("\"line\":1") && stderr.contains("\"file\":\"-\""), "{stderr}");
    let out = run(xdrmap().args(["map", "--strict"]), &format!("{GARBAGE}\n{CMD}\n"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(events(&out).len(), 1, "the good line is still mapped");
}

#[test]
fn field_errors_keep_the_event() {
    let line = "<134> 02/11/2025:07:35:02 GMT gw 0-PPE-0 : default SSLVPN LOGIN 9 0 : User a - Client_ip 203.0.113.61 - Nat_ip \"Mapped Ip\" - Vserver 198.51.100.20:443";
    let out = run(xdrmap().arg("map"), &format!("{line}\n"));
    let ev = events(&out);
    assert_eq!(ev.len(), 1);
    assert!(ev[0].get("natSourceIP").is_none());
    assert_eq!(ev[0]["_errors"][0]["token"], "natSourceIP");
    assert_eq!(ev[0]["_errors"][0]["value"], "Mapped Ip");
    assert!(text(&out.stderr).contains("1 events written (1 with field errors)"));
}

#[test]
fn run_time_ids_dates_and_zones() {
    let line = "<134> 05/11/2024:21:13:15  ns 0-PPE-0 : default TCP CONN_TERMINATE 5 0 :  Source 10.0.0.1:80 - Destination 10.0.0.2:443 - Start Time 05/11/2024:21:12:49  - End Time 05/11/2024:21:13:15 ";
    let out = run(
        xdrmap()
            .args(["map", "--date-format", "DDMMYYYY", "--timezone", "Europe/Berlin", "--customer-id", "c-1"])
            .args(["--received-at", "2024-11-05T20:14:00Z"])
            .env("XDRMAP_COLLECTOR_ID", "k-2"),
        &format!("{line}\n"),
    );
    let ev = events(&out);
    assert_eq!(ev[0]["eventTime"], "2024-11-05T20:13:15Z", "5 November, 21:13 in Berlin (CET)");
    assert_eq!(ev[0]["CustomerId"], "c-1");
    assert_eq!(ev[0]["CollectorId"], "k-2");
    assert!(ev[0].get("EventSourceId").is_none(), "an id not given is left out");
    assert_eq!(ev[0]["CollectorReceivedTime"], "2024-11-05T20:14:00Z");
}

#[test]
fn usage_errors_exit_2() {
    let out = run(xdrmap().args(["map", "--date-format", "YYMMDD"]), "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("MMDDYYYY"), "{}", text(&out.stderr));
    let out = run(xdrmap().args(["map", "--timezone", "Mars/Olympus"]), "");
    assert_eq!(out.status.code(), Some(2));
    let out = run(xdrmap().args(["map", "no-such-file.log"]), "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read no-such-file.log"));
    let out = run(xdrmap().args(["map", "--help"]), "");
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("--rejects"));
}

#[test]
fn a_broken_guide_exits_2_and_processes_nothing() {
    let guide = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad-guides/unknown_token.yaml");
    let out = run(xdrmap().arg("map").arg("--mapping").arg(&guide), &format!("{CMD}\n"));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error[E101]: unknown token 'destinatonIpv4'"), "{stderr}");
    assert!(stderr.contains("did you mean 'destinationIpv4'?"), "{stderr}");
    assert!(stderr.contains("nothing was processed"), "{stderr}");
}

/// A device xdrmap has never seen, added with a YAML file only.
const ACME_GUIDE: &str = r#"
guide: acme_shield
title: Acme Shield WAF Data Mapping Guide
device: { type: Firewall, vendor: Acme, product: Acme Shield, supported_versions: ["4.2"], formats: [Syslog] }
match:
  grammar: netscaler
  native: false
  cef: [{ vendor: Acme, product: Shield }]
tokens:
  attackClass: { type: string, description: Class of attack the rule detected }
fields:
  - { source: rt, token: eventTime, sample: "2025-03-01T10:00:00Z", from: [rt], type: timestamp }
  - { source: shost, token: sourceHost, sample: laptop-7, from: [shost], type: string }
  - { source: src, token: sourceIpv4, sample: 10.1.1.1, from: [src], type: ipv4 }
  - { source: requestMethod, token: httpMethod, sample: GET, from: [requestMethod], type: string }
  - { source: request, token: url, sample: "https://example.com/", from: [request], type: string }
  - { source: cs1, token: ruleName, sample: sqli-3, from: [cs1], type: string }
  - { source: cat, token: attackClass, sample: injection, from: [cat] }
  - source: act
    token: action
    sample: Deny
    from: [act]
    transform: { map: { dropped: Drop, passed: Allow } }
internal_fields:
  - { token: deviceVendor, const: Acme }
  - { token: DeviceHost, expr: "sourceHost ~ '@' ~ sourceIpv4 if sourceHost else sourceIpv4" }
"#;

const ACME_LINE: &str = "<132> CEF:0|Acme|Shield|4.2|100|SQL injection|8|rt=2025-03-01T10:00:00Z shost=laptop-7 src=10.1.1.1 requestMethod=POST request=https://shop.example.com/cart?id\\=1 cs1=sqli-3 cat=injection act=dropped";

#[test]
fn a_new_device_guide_without_recompiling() {
    let dir = temp_dir("acme");
    write(&dir.join("acme_shield.yaml"), ACME_GUIDE);
    let out = run(xdrmap().arg("map").arg("--mapping").arg(&dir), &format!("{ACME_LINE}\n{CMD}\n"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ev = events(&out);
    assert_eq!(ev.len(), 1, "the Citrix line is not claimed by the Acme guide");
    let e = &ev[0];
    assert_eq!(e["eventTime"], "2025-03-01T10:00:00Z");
    assert_eq!(e["httpMethod"], "POST");
    assert_eq!(e["url"], "https://shop.example.com/cart?id=1");
    assert_eq!(e["attackClass"], "injection");
    assert_eq!(e["action"], "Drop");
    assert_eq!(e["DeviceHost"], "laptop-7@10.1.1.1", "expressions see the tokens of earlier rows");
    assert!(text(&out.stderr).contains("no guide claims this line"), "{}", text(&out.stderr));

    // Both guides in one folder: each line goes to the guide that claims it.
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/citrix_loadbalancer/guide.yaml"),
        dir.join("citrix_loadbalancer.yaml"),
    )
    .unwrap();
    let out = run(xdrmap().arg("map").arg("--mapping").arg(&dir), &format!("{ACME_LINE}\n{CMD}\n"));
    let ev = events(&out);
    assert_eq!(ev.len(), 2, "{}", text(&out.stderr));
    assert_eq!(ev[0]["deviceVendor"], "Acme");
    assert_eq!(ev[1]["deviceVendor"], "Citrix");

    // --guide forces one guide, claimed or not.
    let out = run(xdrmap().arg("map").arg("--mapping").arg(&dir).args(["--guide", "acme_shield"]), &format!("{CMD}\n"));
    assert_eq!(events(&out)[0]["deviceVendor"], "Acme");
    let out = run(xdrmap().arg("map").arg("--mapping").arg(&dir).args(["--guide", "nope"]), "");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let input = format!("{TCP}\n").repeat(50_000);
    let mut child =
        xdrmap().arg("map").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut first = [0u8; 64];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));
}

/// Several chunks of input, mapped by one thread and by four: the same events in the same
/// order, and a reject deep in the input keeps its line number.
#[test]
fn threads_keep_input_order_and_line_numbers() {
    let dir = temp_dir("threads");
    let log = dir.join("big.log");
    let mut input = String::new();
    for i in 1..=4000u32 {
        if i == 2500 {
            input.push_str(GARBAGE);
        } else {
            input.push_str(&TCP.replace(" 881 0 :", &format!(" {i} 0 :")));
        }
        input.push('\n');
    }
    write(&log, &input);
    let strip = |out: &Output| -> Vec<serde_json::Value> {
        events(out)
            .into_iter()
            .map(|mut e| {
                e.as_object_mut().unwrap().remove("EventId");
                e
            })
            .collect()
    };
    let mut runs = Vec::new();
    for threads in ["1", "4"] {
        let rejects = dir.join(format!("rejects-{threads}.jsonl"));
        let out = run(
            xdrmap()
                .arg("map")
                .arg(&log)
                .args(["--threads", threads, "--received-at", "2026-01-01T00:00:00Z"])
                .arg("--rejects")
                .arg(&rejects),
            "",
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let reject: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(&rejects).unwrap().trim()).unwrap();
        assert_eq!(reject["line"], 2500, "threads={threads}");
        assert!(text(&out.stderr).contains("4000 lines read, 3999 events written, 1 lines rejected"));
        runs.push(strip(&out));
    }
    assert_eq!(runs[0].len(), 3999);
    assert_eq!(runs[0][3998]["sessionId"], 4000, "the header sequence number, the last line's");
    assert!(runs[0] == runs[1], "one thread and four threads give the same events in the same order");
}

/// Outputs that would destroy an input or each other are refused before anything is written.
#[test]
fn refuses_to_overwrite_inputs() {
    let dir = temp_dir("clash");
    let log = dir.join("ns.log");
    write(&log, &format!("{CMD}\n"));
    let out = run(xdrmap().arg("map").arg(&log).arg("-o").arg(&log), "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is also an input"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), format!("{CMD}\n"), "the input is untouched");
    let same = dir.join("out.jsonl");
    let out = run(xdrmap().arg("map").arg(&log).arg("-o").arg(&same).arg("--rejects").arg(&same), "");
    assert_eq!(out.status.code(), Some(2));
    let out = run(xdrmap().args(["map", "--threads", "300"]), "");
    assert_eq!(out.status.code(), Some(2), "a thread count past the limit is a usage error");
}

/// A byte-order mark at the start of a file is not part of the first line.
#[test]
fn a_byte_order_mark_is_ignored() {
    let out = run(xdrmap().arg("map"), &format!("\u{feff}{CMD}\n"));
    let ev = events(&out);
    assert_eq!(ev[0]["Severity"], "Informational", "the PRI after the BOM is read");
    let out = run(xdrmap().args(["explain", "-"]), "\u{feff}not netscaler \u{fffd}\nsecond line\n");
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).matches("rejected:").count(), 2);
}

/// Every line is counted once, in place, whatever its shape: CRLF, blank, not NetScaler, no
/// final newline. Invalid UTF-8 sends its chunk down the line-by-line path; both paths must
/// give the same events, counts and reject line numbers.
#[test]
fn odd_lines_are_counted_in_place_on_both_paths() {
    let dir = temp_dir("odd-lines");
    let mut runs = Vec::new();
    for bad_byte in [&b""[..], &b"\xff"[..]] {
        let mut input = Vec::new();
        for line in [CMD.as_bytes(), GARBAGE.as_bytes(), b"   ", TCP.as_bytes()] {
            input.extend_from_slice(line);
            input.extend_from_slice(b"\r\n");
        }
        input.extend_from_slice(b"not netscaler either ");
        input.extend_from_slice(bad_byte);
        input.extend_from_slice(b"\n\n");
        input.extend_from_slice(CMD.as_bytes());
        let log = dir.join("odd.log");
        std::fs::write(&log, &input).unwrap();
        let rejects = dir.join("rejects.jsonl");
        let out = run(
            xdrmap()
                .arg("map")
                .arg(&log)
                .args(["--received-at", "2026-01-01T00:00:00Z"])
                .arg("--rejects")
                .arg(&rejects),
            "",
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("7 lines read, 3 events written, 2 lines rejected, 2 blank lines skipped"), "{stderr}");
        let rejected: Vec<serde_json::Value> =
            std::fs::read_to_string(&rejects).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let numbers: Vec<_> = rejected.iter().map(|r| r["line"].as_u64().unwrap()).collect();
        assert_eq!(numbers, [2, 5]);
        assert_eq!(rejected[0]["text"], GARBAGE);
        let mut ev = events(&out);
        for e in &mut ev {
            e.as_object_mut().unwrap().remove("EventId");
        }
        assert_eq!(ev[0]["command"], "show ns ip");
        assert_eq!(ev[1]["inByte"], 1917);
        runs.push(ev);
    }
    assert!(runs[0] == runs[1], "the one-pass and the line-by-line paths give the same events");
}

/// A line longer than a read chunk stays one line, and the lines after it keep their numbers.
#[test]
fn a_line_longer_than_a_chunk_keeps_the_numbering() {
    let long = format!("{CMD} - Extra \"{}\"", "x".repeat(700 * 1024));
    let input = format!("{TCP}\n{long}\n{GARBAGE}\n{TCP}");
    let out = run(xdrmap().args(["map", "--received-at", "2026-01-01T00:00:00Z"]), &input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ev = events(&out);
    assert_eq!(ev.len(), 3);
    assert_eq!(ev[1]["_unmapped"]["Extra"].as_str().map(str::len), Some(700 * 1024));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("4 lines read, 3 events written, 1 lines rejected"), "{stderr}");
    assert!(stderr.contains("\"line\":3"), "{stderr}");
}

/// One collector, two appliances with different `-dateFormat`: the date order is given per
/// device, and a device not listed keeps the run's order.
#[test]
fn date_order_per_device() {
    let line = |host: &str| {
        format!(
            "<134> 07/08/2024:01:30:28 GMT {host} 0-PPE-0 : default TCP CONN_TERMINATE 12 0 :  Source 10.0.0.1:443\n"
        )
    };
    let input = line("adc-eu") + &line("adc-us");
    let out = run(xdrmap().args(["map", "--date-format-for", "adc-eu=DDMMYYYY"]), &input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ev = events(&out);
    assert_eq!(ev[0]["eventTime"], "2024-08-07T01:30:28Z", "adc-eu writes day first");
    assert_eq!(ev[1]["eventTime"], "2024-07-08T01:30:28Z", "adc-us keeps MMDDYYYY");
    let out = run(xdrmap().args(["map", "--date-format-for", "adc-eu"]), "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("DEVICE=ORDER"), "{}", text(&out.stderr));
}

/// `tail -f app.log | xdrmap map`: each line is mapped and written as it arrives, not when
/// 256 KiB have come or the pipe closes (one thread and two).
#[test]
fn a_pipe_is_mapped_as_its_lines_arrive() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::time::Duration;
    let line = "<134> 05/19/2024:22:07:41 GMT lb 0-PPE-1 : default TCP CONN_TERMINATE 881 0 :  Source 10.60.2.15:443\n";
    for threads in ["1", "2"] {
        let mut child = xdrmap()
            .args(["map", "--threads", threads])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for event in BufReader::new(stdout).lines() {
                if tx.send(event.unwrap()).is_err() {
                    break;
                }
            }
        });
        for n in 0..3 {
            stdin.write_all(line.as_bytes()).unwrap();
            stdin.flush().unwrap();
            let event = rx.recv_timeout(Duration::from_secs(10));
            assert!(event.is_ok(), "threads {threads}: event {n} not written while the pipe stays open");
        }
        drop(stdin);
        assert!(child.wait().unwrap().success());
    }
}

/// A line past --max-line is rejected (R307) with its start kept and its length said; the
/// lines around it are mapped, and reading it is linear (40 MB without a line ending).
#[test]
fn a_line_past_max_line_is_rejected_and_the_run_goes_on() {
    let dir = temp_dir("max-line");
    let good = "<134> 05/19/2024:22:07:41 GMT lb 0-PPE-1 : default TCP CONN_TERMINATE 881 0 :  Source 10.60.2.15:443";
    let long = "y".repeat(40 << 20);
    let input = dir.join("in.log");
    write(&input, &format!("{good}\n{long}\n{good}\n"));
    let rejects = dir.join("rejects.jsonl");
    let out = run(xdrmap().args(["map", "--max-line", "64K", "--rejects"]).arg(&rejects).arg(&input), "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(events(&out).len(), 2);
    let reject: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&rejects).unwrap().trim()).unwrap();
    assert_eq!(reject["code"], "R307");
    assert_eq!(reject["line"], 2);
    assert_eq!(reject["text"].as_str().unwrap().len(), 65536);
    assert!(reject["reason"].as_str().unwrap().contains(&format!("a line of {} bytes", 40 << 20)));
}

/// Outputs are compared with what is read as files, not paths: a hard link or a symlink of an
/// input, standard input redirected from the output, or the guide given to --mapping is
/// refused and left intact; /dev/null for both outputs is fine.
#[test]
fn outputs_never_overwrite_what_is_read() {
    let dir = temp_dir("overwrite");
    let input = dir.join("in.log");
    let sample = std::fs::read_to_string("mappings/citrix_loadbalancer/sample.log").unwrap();
    write(&input, &sample);
    std::fs::hard_link(&input, dir.join("hard.log")).unwrap();
    std::os::unix::fs::symlink(&input, dir.join("soft.log")).unwrap();
    let device = dir.join("device");
    std::fs::create_dir_all(&device).unwrap();
    std::fs::copy("mappings/citrix_loadbalancer/guide.yaml", device.join("guide.yaml")).unwrap();
    let refused = |args: &[&str], stdin: Option<&Path>| {
        let mut cmd = xdrmap();
        cmd.current_dir(&*dir).arg("map").args(args);
        if let Some(from) = stdin {
            cmd.stdin(std::fs::File::open(from).unwrap());
        }
        let out = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("refusing to overwrite"), "{}", text(&out.stderr));
    };
    refused(&["in.log", "-o", "hard.log"], None);
    refused(&["soft.log", "--rejects", "in.log"], None);
    refused(&["-o", "in.log"], Some(&input));
    refused(&["in.log", "--mapping", "device", "-o", "device/guide.yaml"], None);
    assert_eq!(std::fs::read_to_string(&input).unwrap(), sample, "the input is intact");
    assert!(std::fs::read_to_string(device.join("guide.yaml")).unwrap().contains("citrix_loadbalancer"));
    let out = run(xdrmap().current_dir(&*dir).args(["map", "in.log", "-o", "/dev/null", "--rejects", "/dev/null"]), "");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Expressions and doc templates are data from anyone: a 30,000-term expression is refused
/// (E117) before minijinja's compiler can overflow its stack; a value of 300 million items and
/// an enormous indent end as a field error, endless loops in a template as a template error
/// (minijinja's fuel), in bounded time.
#[test]
fn hostile_expressions_and_templates_end_cleanly() {
    let dir = temp_dir("hostile-expr");
    let with_expr =
        |expr: &str| ACME_GUIDE.replace("sourceHost ~ '@' ~ sourceIpv4 if sourceHost else sourceIpv4", expr);
    let start = std::time::Instant::now();
    write(&dir.join("long.yaml"), &with_expr(&vec!["'ab'"; 30_000].join(" ~ ")));
    let out = run(xdrmap().arg("check").arg(dir.join("long.yaml")), "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("error[E117]: the expression is"), "{}", text(&out.stderr));
    for (expr, says) in [
        ("[1,2,3] * 100000000", "more than 1000 items"),
        ("sourceHost | indent(1000000000)", "a filter that does not exist here"),
        ("range(100000) | list", "more than 1000 items"),
    ] {
        write(&dir.join("acme_shield.yaml"), &with_expr(expr));
        let out =
            run(xdrmap().arg("map").arg("--mapping").arg(dir.join("acme_shield.yaml")), &format!("{ACME_LINE}\n"));
        assert_eq!(out.status.code(), Some(0), "{expr}: {}", text(&out.stderr));
        let ev = events(&out);
        let error = ev[0]["_errors"][0]["error"].as_str().unwrap_or_default().to_string();
        assert!(error.contains(says), "{expr}: {error}");
    }
    let template = dir.join("loops.j2");
    write(&template, "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}");
    let out = run(xdrmap().arg("doc").arg("--template").arg(&template), "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(start.elapsed() < std::time::Duration::from_secs(60), "bounded time");
}

/// Guides that took the YAML parser or the diagnostics minutes and gigabytes are refused (or
/// answered) at once: 200 KB of `[`, 20,000 rows, a 10 MB token name (past the size limit)
/// and a 500 KB one (no suggestion is looked for).
#[test]
fn hostile_guides_are_answered_in_bounded_time() {
    let dir = temp_dir("hostile-guides");
    let head =
        "guide: x\ntitle: X\ndevice: { type: Firewall, vendor: Acme, product: X }\nmatch: { grammar: netscaler }\n";
    let cases = [
        ("deep.yaml", format!("{head}fields: {}", "[".repeat(200_000)), "error[E117]: brackets nest more than 32 deep"),
        (
            "rows.yaml",
            format!("{head}fields:\n{}", "  - { token: nope, const: x }\n".repeat(20_000)),
            "more than 2000 list items",
        ),
        (
            "name.yaml",
            format!("{head}fields:\n  - {{ token: {}, const: x }}\n", "n".repeat(10 << 20)),
            "bytes; at most",
        ),
        ("long.yaml", format!("{head}fields:\n  - {{ token: {}, const: x }}\n", "n".repeat(500_000)), "unknown token"),
    ];
    for (file, guide, says) in cases {
        write(&dir.join(file), &guide);
        let start = std::time::Instant::now();
        let out = run(xdrmap().arg("check").arg(dir.join(file)), "");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr:.300}");
        assert!(stderr.contains(says), "{file}: {stderr:.300}");
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "{file}: {:?}", start.elapsed());
    }
}

/// A time that falls past 9999 once put in UTC is a field error, not `+10000-01-01T...`,
/// which is not RFC 3339.
#[test]
fn a_time_past_year_9999_is_flagged() {
    let line = "<134> 12/31/9999:23:59:59  lb 0-PPE-1 : default TCP CONN_DELINK 9 0 :  Source 10.0.0.1:1 - Destination 10.0.0.2:2 - Total_bytes_send 1";
    let out = run(xdrmap().args(["map", "--timezone", "America/Los_Angeles"]), &format!("{line}\n"));
    let ev = events(&out);
    assert!(ev[0].get("eventTime").is_none(), "{}", ev[0]);
    assert_eq!(ev[0]["_errors"][0]["error"], "a time outside the years 0000-9999");
}
