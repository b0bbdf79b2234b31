//! `xdrmap doc` on the built-in guide reproduces the vendor guide's two tables, row for row.

use std::path::Path;
use std::process::Command;

mod common;

fn doc() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_xdrmap")).arg("doc").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The Markdown table rows of the document, as lists of cells.
fn markdown_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---"))
        .map(|l| l.trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect())
        .collect()
}

#[test]
fn doc_reproduces_the_vendor_tables() {
    let vendor =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/guide/citrix-loadbalancer-data-mapping-guide.txt");
    let Ok(vendor) = std::fs::read_to_string(&vendor) else {
        eprintln!("skipped: {} is absent", vendor.display());
        return;
    };
    let rows = markdown_rows(&doc());
    let mut checked = 0;
    let mut section = "";
    for line in vendor.lines() {
        if line.starts_with("Data Source Fields\t") {
            section = "fields";
            continue;
        }
        if line.starts_with("Qualys Context XDR QQL Tokens\tSample Values") {
            section = "internal";
            continue;
        }
        let cells: Vec<&str> = line.split('\t').map(str::trim).collect();
        let wanted = match (section, cells.len()) {
            ("fields", 4) => cells.clone(),
            ("internal", 2) => cells.clone(),
            _ => continue,
        };
        assert!(
            rows.iter().any(|r| r.len() == wanted.len() && r.iter().zip(&wanted).all(|(a, b)| a == b)),
            "vendor row not reproduced: {wanted:?}"
        );
        checked += 1;
    }
    assert_eq!(checked, 22 + 10, "22 data field rows and 10 internal field rows");
}

#[test]
fn doc_snapshot_and_custom_template() {
    insta::assert_snapshot!(doc());
    let dir = common::Scratch::new("doc-template");
    let template = dir.join("tokens.j2");
    std::fs::write(&template, "{% for row in fields %}{{ row.token }}\n{% endfor %}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xdrmap")).arg("doc").arg("--template").arg(&template).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 30, "the vendor's 22 data fields and xdrmap's 8");
    assert!(text.starts_with("eventTime\ndeviceName\n"));
}
