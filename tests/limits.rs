//! `--limit`: the limits on guides, grammars and expressions are listed, refuse what passes
//! them with a clear error, can be raised for a run, and hold at their ceilings without a
//! crash (each ceiling was found by raising it until something broke, then stepping back).

mod common;

use common::Scratch;
use std::process::{Command, Output};

fn xdrmap(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xdrmap")).args(args).current_dir(dir).output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A folder with a guide `g.yaml` reading the grammar `g.pest` and, when given, an expression row.
fn guide(name: &str, grammar: &str, expr: Option<&str>) -> Scratch {
    let dir = Scratch::new(name);
    let expr_row = expr.map(|e| format!("  - {{ token: message, expr: \"{e}\" }}\n")).unwrap_or_default();
    let guide = format!(
        "guide: probe\ntitle: Limits probe\ndevice: {{ type: Firewall, vendor: Acme, product: Gate }}\n\
         match: {{ grammar: g.pest }}\nfields:\n  - {{ source: host, token: deviceName, from: [\"@host\"] }}\n{expr_row}"
    );
    std::fs::write(dir.join("g.yaml"), guide).unwrap();
    std::fs::write(dir.join("g.pest"), format!("line = {{ host ~ {grammar} }}\nhost = @{{ ASCII_ALPHA+ }}\n")).unwrap();
    dir
}

#[test]
fn every_limit_is_listed_with_its_default_and_ceiling() {
    let dir = Scratch::new("limits-list");
    let out = xdrmap(&["check", "--limits", "--limit", "expr-fuel=5000"], &dir);
    let listed = text(&out);
    assert_eq!(out.status.code(), Some(0), "{listed}");
    for limit in &xdrmap::Limits::NAMES {
        assert!(listed.contains(limit.name), "{} is not listed: {listed}", limit.name);
    }
    assert!(listed.lines().any(|l| l.contains("expr-fuel") && l.contains(" 5000 ")), "{listed}");
}

#[test]
fn a_limit_refuses_then_a_raised_one_admits() {
    let dir = guide("limits-raise", "\"x\"{5000}", None);
    let out = xdrmap(&["check", "g.yaml"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("a repetition bound of 5000 is more than 1000"), "{}", text(&out));
    let out = xdrmap(&["check", "--limit", "grammar-repeat=5000", "--limit", "grammar-expansion=5000", "g.yaml"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn wrong_limits_are_usage_errors() {
    let dir = Scratch::new("limits-wrong");
    for (arg, says) in [
        ("grammar-repat=10", "did you mean 'grammar-repeat'?"),
        ("grammar-repeat=20000", "at most 10000"),
        ("expr-bytes=lots", "not a positive number"),
        ("expr-bytes", "NAME=VALUE"),
    ] {
        let out = xdrmap(&["map", "--limit", arg], &dir);
        assert_eq!(out.status.code(), Some(2), "{arg}");
        assert!(text(&out).contains(says), "{arg}: {}", text(&out));
    }
}

/// At its ceiling, each limit still gives an answer: `"x"{10000}` overflowed the loading
/// thread's stack in pest_meta before it got a stack of its own.
#[test]
fn the_ceilings_hold() {
    let dir = guide("limits-repeat-ceiling", "\"x\"{10000}", None);
    let out = xdrmap(&["check", "--limit", "grammar-repeat=10000", "g.yaml"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let dir = guide("limits-expansion-ceiling", "(\"x\"{1000}){1000}", None);
    let out = xdrmap(&["check", "--limit", "grammar-expansion=1000000", "g.yaml"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let expr = vec!["'ab'"; 4680].join(" ~ ");
    assert!(expr.len() > 32_000 && expr.len() <= 32 << 10);
    let dir = guide("limits-expr-ceiling", "\"x\"", Some(&expr));
    let out = xdrmap(&["check", "--limit", "expr-bytes=32K", "g.yaml"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
