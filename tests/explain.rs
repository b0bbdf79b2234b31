//! `xdrmap explain` on one line of each message family (the bundled sample log, one line per
//! family): the text people read is the snapshot, with the random EventId redacted.

use std::process::Command;

fn redact_uuids(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let candidate = &bytes[i..bytes.len().min(i + 36)];
        let is_uuid = candidate.len() == 36
            && candidate.iter().enumerate().all(|(k, c)| match k {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            });
        if is_uuid {
            out.push_str("[uuid]");
            i += 36;
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

#[test]
fn explain_each_family() {
    let sample =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/citrix_loadbalancer/sample.log"))
            .unwrap();
    for (n, line) in sample.lines().enumerate() {
        let out = Command::new(env!("CARGO_BIN_EXE_xdrmap"))
            .args(["explain", "--received-at", "2026-11-26T08:00:00Z", line])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = redact_uuids(&String::from_utf8(out.stdout).unwrap());
        let event = line.split(" : ").nth(1).and_then(|tag| {
            tag.split_whitespace().find(|w| {
                w.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                    && w.len() > 3
                    && !["TCP", "GUI", "CLI", "AAA", "SSLVPN", "SSLLOG", "EVENT", "SNMP", "APPFW", "REWRITE"]
                        .contains(w)
            })
        });
        let name = format!("{:02}_{}", n + 1, event.unwrap_or("CEF").to_lowercase());
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn explain_json_and_rejects() {
    let out = Command::new(env!("CARGO_BIN_EXE_xdrmap"))
        .args(["explain", "--json", "not a netscaler line"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(e["rejected"].as_str().unwrap().contains("does not fit grammar 'netscaler'"));
    assert_eq!(e["rejected_code"], "R301");
    let line = "<134> 05/19/2024:22:07:41 GMT lb 0-PPE-1 : default TCP CONN_TERMINATE 881 0 :  Source 10.60.2.15:443 - Destination 198.51.100.77:51822";
    let out = Command::new(env!("CARGO_BIN_EXE_xdrmap")).args(["explain", "--json", line]).output().unwrap();
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let source = e["tokens"].as_array().unwrap().iter().find(|t| t["name"] == "Source").unwrap();
    assert_eq!(
        &line[source["start"].as_u64().unwrap() as usize..source["end"].as_u64().unwrap() as usize],
        "10.60.2.15:443"
    );
    assert_eq!(source["used_by"], serde_json::json!(["sourceIpv4", "sourcePort"]));
}

/// Standard input that cannot be read is said to be an input problem, with exit 2.
#[test]
fn unreadable_standard_input_is_an_input_error() {
    let dir = std::fs::File::open(env!("CARGO_MANIFEST_DIR")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xdrmap")).arg("explain").stdin(dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot read standard input"), "{stderr}");
}
