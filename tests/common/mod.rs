//! Helpers shared by the integration tests: a scratch folder that is removed when the test
//! ends, and the lines of the built-in guide's cases.

use std::ops::Deref;
use std::path::{Path, PathBuf};

/// A fresh, empty folder under the system temp dir, named after the test and the process;
/// removed (with its content) when dropped, so that test runs leave nothing behind.
#[allow(dead_code)] // not every test binary makes a scratch folder
pub struct Scratch(PathBuf);

#[allow(dead_code)]
impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("xdrmap-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

/// The input line of every case of the built-in Citrix guide, in file order.
#[allow(dead_code)] // not every test binary reads the cases
pub fn case_lines() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/citrix_loadbalancer/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .iter()
        .filter(|f| f.extension().is_some_and(|x| x == "yaml"))
        .map(|f| {
            let case: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            case["line"].as_str().expect("a case has a line").to_string()
        })
        .collect()
}
