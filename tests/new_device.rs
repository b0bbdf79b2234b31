//! A device xdrmap has never seen, taken from nothing to passing `check` and `test` with data
//! files only: its own YAML guide, its own `.pest` grammar and its own cases; then `map` and
//! `explain` on it. Also: the PEG pitfall warning of `check`.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::Scratch;

const GRAMMAR: &str = r#"//! Acme Gate firewall syslog: `<time> <host> <MODULE> <verdict> key=value ...`.

/// One log line.
line = _{ SOI ~ timestamp ~ " " ~ host ~ " " ~ module ~ " " ~ verdict ~ (" "+ ~ pair)* ~ " "* ~ EOI }
/// When the gate logged the event (RFC 3339).
timestamp = @{ (!" " ~ ANY)+ }
/// The gate's host name.
host = @{ (!" " ~ ANY)+ }
/// The gate's subsystem.
module = @{ ASCII_ALPHA_UPPER+ }
/// What the gate did.
verdict = @{ ASCII_ALPHA_LOWER+ }
pair = _{ key ~ "=" ~ ("\"" ~ value_quoted ~ "\"" | value) }
/// A key.
key = @{ ASCII_ALPHA+ }
/// A bare value.
value = @{ (!" " ~ ANY)* }
/// A quoted value.
value_quoted = @{ (!"\"" ~ ANY)* }
"#;

const GUIDE: &str = r#"
guide: acme_gate
title: Acme Gate Data Mapping Guide
device: { type: Firewall, vendor: Acme, product: Acme Gate, supported_versions: ["7"], formats: [Syslog] }
match: { grammar: acme_gate.pest }
fields:
  - { source: time, token: eventTime, sample: "2025-03-01T10:00:00Z", from: ["@timestamp"] }
  - { source: host, token: deviceName, sample: gate-1, from: ["@host"] }
  - { source: module, token: eventType, sample: ACCESS, from: ["@module"] }
  - source: verdict
    token: action
    sample: Deny
    from: ["@verdict"]
    transform: { map: { deny: Deny, allow: Allow } }
  - { source: src, token: sourceIpv4, sample: 10.1.1.1, from: [src], transform: { split_ip_port: ip } }
  - { source: src, token: sourcePort, sample: 5000, from: [src], transform: { split_ip_port: port } }
  - { source: dst, token: destinationIpv4, sample: 203.0.113.9, from: [dst], transform: { split_ip_port: ip } }
  - { source: user, token: sourceUser, sample: j doe, from: [user] }
  - { source: rule, token: ruleName, sample: block-out, from: [rule] }
internal_fields:
  - { token: deviceVendor, const: Acme }
  - { token: EventId, generate: uuid }
"#;

const CASE_DENY: &str = r#"line: '2025-03-01T10:00:00Z gate-1 ACCESS deny src=10.1.1.1:5000 dst=203.0.113.9:443 user="j doe" rule=block-out'
event:
  eventTime: 2025-03-01T10:00:00Z
  deviceName: gate-1
  eventType: ACCESS
  action: Deny
  sourceIpv4: 10.1.1.1
  sourcePort: 5000
  destinationIpv4: 203.0.113.9
  sourceUser: j doe
  ruleName: block-out
  deviceVendor: Acme
  EventId: '[uuid]'
  _unmapped: { }
"#;

const CASE_BAD: &str = "line: 'not an acme line'\nrejected: does not fit grammar\n";

fn xdrmap(args: &[&str], dir: &Path, stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_xdrmap"))
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn fresh_dir(name: &str) -> Scratch {
    Scratch::new(name)
}

/// The repository's own layout: the device in `mappings/acme_gate/` (guide and cases), its
/// syntax in `grammar/acme_gate.pest`, beside a folder that is not a device (`model/`).
#[test]
fn a_new_device_with_its_own_grammar() {
    let dir = fresh_dir("acme-gate");
    let device = dir.join("mappings/acme_gate");
    std::fs::create_dir_all(device.join("cases")).unwrap();
    std::fs::create_dir_all(dir.join("mappings/model")).unwrap();
    std::fs::create_dir_all(dir.join("grammar")).unwrap();
    std::fs::write(dir.join("grammar/acme_gate.pest"), GRAMMAR).unwrap();
    let guide = GUIDE.replace("grammar: acme_gate.pest", "grammar: ../../grammar/acme_gate.pest");
    std::fs::write(device.join("guide.yaml"), guide).unwrap();
    std::fs::write(device.join("cases/deny.yaml"), CASE_DENY.replace("_unmapped: { }\n", "")).unwrap();
    std::fs::write(device.join("cases/not_acme.yaml"), CASE_BAD).unwrap();

    let out = xdrmap(&["check", "mappings"], &dir, None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout, String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("ok: acme_gate (mappings/acme_gate/guide.yaml"), "{stdout}");
    assert_eq!(stdout.matches("ok: ").count(), 1, "model/ is not a device: {stdout}");

    for path in ["mappings", "mappings/acme_gate", "mappings/acme_gate/guide.yaml"] {
        let out = xdrmap(&["test", path], &dir, None);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        assert!(stdout.trim_end().ends_with("2 passed, 0 failed"), "{path}: {stdout}");
    }
    let dir = device;
    let line = "2025-03-01T10:05:00Z gate-2 ACCESS allow src=[2001:db8::5]:6000 dst=198.51.100.1:80 proto=tcp";
    let out = xdrmap(&["map", "--mapping", "guide.yaml"], &dir, Some(&format!("{line}\n")));
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["action"], "Allow");
    // The guide has no `sourceIpv6` row: the address is not written as IPv4, and it is not
    // lost either, though its port was taken.
    assert_eq!(event["sourceIpv4"], serde_json::Value::Null);
    assert_eq!(event["sourcePort"], 6000);
    assert_eq!(event["_unmapped"]["src"], "[2001:db8::5]:6000");
    assert_eq!(event["_unmapped"]["proto"], "tcp");

    let out = xdrmap(&["explain", "--mapping", ".", line], &dir, None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("guide: acme_gate"), "{text}");
    assert!(text.contains("@verdict") && text.contains("→ action"), "{text}");
    assert!(text.contains("(no row: kept unmapped)"), "{text}");
}

#[test]
fn a_broken_grammar_is_reported_with_its_place() {
    let dir = fresh_dir("broken-grammar");
    std::fs::write(dir.join("acme_gate.pest"), GRAMMAR.replace("host = @{", "host = @{ (")).unwrap();
    std::fs::write(dir.join("acme_gate.yaml"), GUIDE).unwrap();
    let out = xdrmap(&["check", "acme_gate.yaml"], &dir, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error[E116]"), "{stderr}");
    assert!(stderr.contains("acme_gate.pest:8:"), "{stderr}");
}

#[test]
fn check_warns_about_an_optional_part_that_swallows_what_follows() {
    let dir = fresh_dir("pitfall");
    let grammar = "line = _{ SOI ~ (host ~ \" \")? ~ ppe ~ \" \" ~ key ~ \"=\" ~ value ~ EOI }\n\
                   host = @{ (!\" \" ~ ANY)+ }\nppe = @{ ASCII_DIGIT ~ \"-PPE-\" ~ ASCII_DIGIT }\n\
                   key = @{ ASCII_ALPHA+ }\nvalue = @{ ANY* }\n";
    std::fs::write(dir.join("pitfall.pest"), grammar).unwrap();
    let guide = "guide: pitfall\ntitle: Pitfall\ndevice: { type: Firewall, vendor: Acme, product: Pitfall }\n\
                 match: { grammar: pitfall.pest }\nfields:\n  - { source: host, token: sourceHost, from: [\"@host\"] }\n";
    std::fs::write(dir.join("pitfall.yaml"), guide).unwrap();
    let out = xdrmap(&["check", "pitfall.yaml"], &dir, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning[W201]"), "{stderr}{}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains("pitfall.pest:1:1"), "{stderr}");

    // A guide that fails still shows the grammar's warning beside its error.
    std::fs::write(dir.join("pitfall.yaml"), guide.replace("token: sourceHost", "token: sourceHots")).unwrap();
    let out = xdrmap(&["check", "pitfall.yaml"], &dir, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error[E101]: unknown token 'sourceHots'"), "{stderr}");
    assert!(stderr.contains("warning[W201]"), "{stderr}");
    assert!(stderr.contains("1 error and 1 warning in the guides"), "{stderr}");
}

#[test]
fn a_key_the_grammar_can_never_produce() {
    let dir = fresh_dir("no-keys");
    std::fs::write(dir.join("nokeys.pest"), "line = _{ SOI ~ host ~ EOI }\nhost = @{ ASCII_ALPHA+ }\n").unwrap();
    let guide = "guide: nokeys\ntitle: No keys\ndevice: { type: Firewall, vendor: Acme, product: NoKeys }\n\
                 match: { grammar: nokeys.pest }\nfields:\n  - { source: Source, token: sourceIpv4, from: [Source] }\n";
    std::fs::write(dir.join("nokeys.yaml"), guide).unwrap();
    let out = xdrmap(&["check", "nokeys.yaml"], &dir, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("has no `key` rule, so the key 'Source' can never be read"), "{stderr}");
}

/// A grammar that is exponential on some input does not stall the run: the line is rejected
/// once it has used its budget of rule calls.
#[test]
fn an_exponential_grammar_rejects_the_line() {
    let dir = fresh_dir("exponential");
    std::fs::write(
        dir.join("exp.pest"),
        "line = _{ SOI ~ a ~ EOI }\na = _{ \"x\" ~ a ~ \"y\" | \"x\" ~ a ~ \"z\" | host }\nhost = @{ \"x\" }\n",
    )
    .unwrap();
    let guide = "guide: exp\ntitle: Exp\ndevice: { type: Firewall, vendor: Acme, product: Exp }\n\
                 match: { grammar: exp.pest }\nfields:\n  - { token: sourceHost, from: [\"@host\"] }\n";
    std::fs::write(dir.join("exp.yaml"), guide).unwrap();
    let line = format!("{}w\n", "x".repeat(40));
    let out = xdrmap(&["map", "--mapping", "exp.yaml"], &dir, Some(&line));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("call limit reached"), "{stderr}");
    assert!(stderr.contains("1 lines rejected"), "{stderr}");
}

/// Loading the same grammar again, as every reload does, keeps no more rule names.
#[test]
fn reloading_a_grammar_takes_no_more_memory() {
    let dir = fresh_dir("reload");
    let path = dir.join("acme_gate.pest");
    std::fs::write(&path, GRAMMAR).unwrap();
    let (first, _) = xdrmap::syntax::pest_file::PestFile::load(&path, &xdrmap::limits::Limits::default());
    assert!(first.is_some());
    let kept = xdrmap::syntax::pest_file::interned_names();
    for _ in 0..100 {
        let (again, _) = xdrmap::syntax::pest_file::PestFile::load(&path, &xdrmap::limits::Limits::default());
        assert!(again.is_some());
    }
    assert_eq!(xdrmap::syntax::pest_file::interned_names(), kept);
}

/// A recursive grammar and a deeply nested line: one thread and several give the same
/// outcome, since workers have the main thread's stack.
#[test]
fn deep_nesting_maps_alike_on_one_thread_and_many() {
    let dir = fresh_dir("nesting");
    std::fs::write(
        dir.join("nest.pest"),
        "line = _{ SOI ~ nest ~ EOI }\nnest = _{ \"(\" ~ nest ~ \")\" | host }\nhost = @{ ASCII_ALPHA+ }\n",
    )
    .unwrap();
    let guide = "guide: nest\ntitle: Nest\ndevice: { type: Firewall, vendor: Acme, product: Nest }\n\
                 match: { grammar: nest.pest }\nfields:\n  - { token: sourceHost, from: [\"@host\"] }\n";
    std::fs::write(dir.join("nest.yaml"), guide).unwrap();
    // Depths around where a 2 MiB stack (a thread's default) gave out in a debug build.
    let line: String =
        [500, 1000, 1500, 2500].iter().map(|&d| format!("{}abc{}\n", "(".repeat(d), ")".repeat(d))).collect();
    let outcomes: Vec<(String, String)> = ["1", "2"]
        .iter()
        .map(|threads| {
            let out = xdrmap(&["map", "--mapping", "nest.yaml", "--threads", threads], &dir, Some(&line));
            let stderr = String::from_utf8_lossy(&out.stderr);
            (
                String::from_utf8_lossy(&out.stdout).lines().count().to_string(),
                stderr.lines().last().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(outcomes[0], outcomes[1]);
}

/// Grammar files that crashed or exhausted pest_meta are refused before it sees them, with
/// the limit and the place: a huge repetition, an unbounded one past u32, thousands of
/// alternatives, thousands of optionals in sequence.
#[test]
fn grammars_past_the_limits_are_refused_not_crashed_on() {
    let dir = fresh_dir("grammar-limits");
    let bodies = [
        ("\"x\"{100000}", "repetition bound of 100000"),
        ("\"x\"{100000000}", "repetition bound of 100000000"),
        ("\"x\"{, 4294967295}", "repetition bound of 4294967295"),
        (&*vec!["\"x\""; 20_000].join(" | "), "more than 500 operators"),
        (&*vec!["\"x\"?"; 4000].join(" ~ "), "more than 500 operators"),
    ];
    for (i, (body, says)) in bodies.iter().enumerate() {
        std::fs::write(
            dir.join(format!("g{i}.pest")),
            format!("line = _{{ SOI ~ host ~ EOI }}\nhost = @{{ {body} }}\n"),
        )
        .unwrap();
        let guide = format!(
            "guide: g{i}\ntitle: G\ndevice: {{ type: Firewall, vendor: Acme, product: G }}\n\
             match: {{ grammar: g{i}.pest }}\nfields:\n  - {{ token: sourceHost, from: [\"@host\"] }}\n"
        );
        std::fs::write(dir.join(format!("g{i}.yaml")), guide).unwrap();
        let start = std::time::Instant::now();
        let out = xdrmap(&["check", &format!("g{i}.yaml")], &dir, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says) && stderr.contains(&format!("g{i}.pest:2:")), "{stderr}");
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "bounded time");
    }
}

/// A guide reads its grammar only from its own folder (or the grammar/ folder beside
/// mappings/): an absolute path, `../` out of it, or a symlink to elsewhere is refused.
#[test]
fn a_grammar_outside_the_guides_folder_is_refused() {
    let dir = fresh_dir("grammar-place");
    let device = dir.join("device");
    std::fs::create_dir_all(&device).unwrap();
    std::fs::write(dir.join("outside.pest"), GRAMMAR).unwrap();
    std::os::unix::fs::symlink(dir.join("outside.pest"), device.join("link.pest")).unwrap();
    std::fs::write(device.join("inside.pest"), GRAMMAR).unwrap();
    let outside = dir.join("outside.pest").display().to_string();
    for (grammar, refused) in
        [(&*outside, true), ("../outside.pest", true), ("link.pest", true), ("inside.pest", false)]
    {
        std::fs::write(
            device.join("guide.yaml"),
            GUIDE.replace("grammar: acme_gate.pest", &format!("grammar: {grammar}")),
        )
        .unwrap();
        let out = xdrmap(&["check", "device/guide.yaml"], &dir, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), !refused, "{grammar}: {stderr}");
        assert_eq!(stderr.contains("outside the guide's folder"), refused, "{grammar}: {stderr}");
    }
}

/// A grammar file loaded beside the built-in guides changes nothing of what the built-in
/// grammar accepts: pest's call limit is process-wide, and it used to be set only when a
/// `.pest` file was loaded, so a line needing more than the limit's rule calls mapped alone
/// and was rejected beside a device with its own grammar.
#[test]
fn a_grammar_file_beside_the_built_in_guides_changes_nothing() {
    let dir = fresh_dir("call-limit-everywhere");
    let both = dir.join("both");
    std::fs::create_dir_all(both.join("citrix")).unwrap();
    std::fs::create_dir_all(both.join("acme")).unwrap();
    let citrix = concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/citrix_loadbalancer/guide.yaml");
    std::fs::copy(citrix, both.join("citrix/guide.yaml")).unwrap();
    std::fs::write(both.join("acme/acme_gate.pest"), GRAMMAR).unwrap();
    std::fs::write(both.join("acme/guide.yaml"), GUIDE).unwrap();
    // 1.5 MB of short pairs take more than the 10 million rule calls of the limit.
    let line =
        format!("<134> 05/19/2024:22:07:41 GMT lb 0-PPE-1 : default SSLVPN LOGIN 1 0 : {}\n", "a b - ".repeat(262_144));
    std::fs::write(dir.join("long.log"), &line).unwrap();
    let outcome = |mapping: Option<&str>| {
        let mut args = vec!["map", "--max-line", "2M", "long.log", "-o", "/dev/null", "--rejects", "rejects.jsonl"];
        args.extend(mapping.map(|m| ["--mapping", m]).into_iter().flatten());
        let out = xdrmap(&args, &dir, None);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let rejects = std::fs::read_to_string(dir.join("rejects.jsonl")).unwrap();
        let codes: Vec<String> = rejects
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["code"].as_str().unwrap().to_string())
            .collect();
        codes
    };
    let alone = outcome(None);
    assert_eq!(alone, vec!["R302"], "the built-in guides alone keep the call limit");
    assert_eq!(outcome(Some("both")), alone, "a .pest guide beside them changes nothing");
}
