//! Broken guides: each fixture in `tests/fixtures/bad-guides/` must fail to compile, and its
//! rendered diagnostics (all of them, with file, line, column, code and hint) are the snapshot.

use xdrmap::guide::{compile, GuideSource};
use xdrmap::syntax::builtin_grammars;

#[test]
fn bad_guides() {
    insta::glob!("fixtures/bad-guides/*.yaml", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        let file = std::path::PathBuf::from("tests/fixtures/bad-guides").join(&*name);
        let source = GuideSource { file, text: text.clone() };
        let Err(diagnostics) = compile(&[source], builtin_grammars()) else {
            panic!("{name} compiled, but it is broken");
        };
        assert!(!diagnostics.0.is_empty());
        insta::with_settings!({ description => text, omit_expression => true }, {
            insta::assert_snapshot!(diagnostics.to_string());
        });
    });
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
