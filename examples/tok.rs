use std::io::BufRead;
use xdrmap::syntax::{Grammar, Name, NetScaler};
fn main() {
    let g = NetScaler;
    let stdin = std::io::stdin();
    let verbose = std::env::args().any(|a| a == "-v");
    for (i, line) in stdin.lock().lines().enumerate() {
        let line = line.unwrap();
        let mut out = Vec::new();
        match g.tokenize(&line, &mut out) {
            Ok(()) => {
                if verbose {
                    println!("{}: OK", i + 1);
                    for t in &out {
                        match t.name {
                            Name::Field(f) => {
                                println!("   @{} = {:?}", g.fields()[f as usize], t.value)
                            }
                            Name::Key(k) => println!("   {:?} = {:?} {:?}", k, t.value, t.escape),
                        }
                    }
                }
            }
            Err(e) => println!("{}: ERR {} :: {}", i + 1, e, line.chars().take(150).collect::<String>()),
        }
    }
}
