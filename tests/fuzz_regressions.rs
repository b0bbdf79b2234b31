//! Every input in `fuzz/regressions/<target>/` (the seeds, and each crash or slow input a
//! fuzzer found, once fixed) replayed through its target's property on stable, one test per
//! target, one case per file.

#[test]
fn map_lines() {
    insta::glob!("../fuzz/regressions/map_lines", "*.*", |path| xdrmap::fuzzing::map_lines(
        &std::fs::read(path).unwrap()
    ));
}

#[test]
fn threads() {
    insta::glob!("../fuzz/regressions/threads", "*.*", |path| xdrmap::fuzzing::threads(&std::fs::read(path).unwrap()));
}

#[test]
fn scanner() {
    insta::glob!("../fuzz/regressions/scanner", "*.*", |path| xdrmap::fuzzing::scanner(&std::fs::read(path).unwrap()));
}

#[test]
fn guide() {
    insta::glob!("../fuzz/regressions/guide", "*.*", |path| xdrmap::fuzzing::guide(&std::fs::read(path).unwrap()));
}

#[test]
fn grammar() {
    insta::glob!("../fuzz/regressions/grammar", "*.*", |path| xdrmap::fuzzing::grammar(&std::fs::read(path).unwrap()));
}

#[test]
fn framing() {
    insta::glob!("../fuzz/regressions/framing", "*.*", |path| xdrmap::fuzzing::framing(&std::fs::read(path).unwrap()));
}

#[test]
fn query() {
    insta::glob!("../fuzz/regressions/query", "*.*", |path| xdrmap::fuzzing::query(&std::fs::read(path).unwrap()));
}
