//! Broken guides: `xdrmap check` on each fixture in `tests/fixtures/bad-guides/` exits 2, and
//! what it prints (every diagnostic, with file, line, column, code and hint) is the snapshot.

use xdrmap::guide::{compile, GuideSource};
use xdrmap::syntax::builtin_grammars;

#[test]
fn bad_guides() {
    insta::glob!("fixtures/bad-guides/*.yaml", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        let relative = format!("tests/fixtures/bad-guides/{name}");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_xdrmap"))
            .args(["check", &relative])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name} passed check, but it is broken");
        assert!(out.stdout.is_empty());
        insta::with_settings!({ description => text, omit_expression => true }, {
            insta::assert_snapshot!(String::from_utf8(out.stderr).unwrap());
        });
    });
}

/// The library reports the same problems that `check` prints.
#[test]
fn library_and_check_agree() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bad-guides/many_errors.yaml");
    let source = GuideSource { file: path.into(), text: std::fs::read_to_string(path).unwrap() };
    let Err(d) = compile(&[source], builtin_grammars()) else { panic!("many_errors compiled") };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xdrmap")).args(["check", path]).output().unwrap();
    assert!(String::from_utf8(out.stderr).unwrap().starts_with(&d.to_string()));
}

/// A good guide next to a broken one: nothing compiles, and the error names the broken file.
#[test]
fn one_broken_guide_stops_the_whole_plan() {
    let good = xdrmap::guide::builtin_sources().remove(0);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad-guides/unknown_token.yaml");
    let bad = GuideSource { file: dir.clone(), text: std::fs::read_to_string(&dir).unwrap() };
    let Err(d) = compile(&[good, bad], builtin_grammars()) else { panic!("a broken guide compiled") };
    assert_eq!(d.0.len(), 1);
    assert_eq!(d.0[0].location.file.as_deref(), Some(dir.as_path()));
}
