//! Finding and reading guides: the devices built into the binary, a guide file, a device
//! folder (`<device>/guide.yaml`), or a folder of devices and loose guide files.

use crate::diag::{Code, Diagnostic, Diagnostics};
use std::path::{Path, PathBuf};

/// A device compiled into the binary from its folder `mappings/<name>/`.
#[derive(Clone, Copy, Debug)]
pub struct BuiltinDevice {
    /// The device folder's name.
    pub name: &'static str,
    /// The text of its `guide.yaml`.
    pub guide: &'static str,
}

// `BUILTIN_DEVICES`, derived from `mappings/*/guide.yaml` by build.rs.
include!(concat!(env!("OUT_DIR"), "/devices.rs"));

/// The file name of a device folder's guide.
pub const GUIDE_FILE: &str = "guide.yaml";

/// A guide's text and the name to report it under.
#[derive(Clone, Debug)]
pub struct GuideSource {
    /// The guide's file (`<built-in>/<device>/guide.yaml` for an embedded one).
    pub file: PathBuf,
    /// The guide's YAML.
    pub text: String,
}

/// The embedded guides, one per built-in device, in name order.
pub fn builtin_sources() -> Vec<GuideSource> {
    BUILTIN_DEVICES
        .iter()
        .map(|d| GuideSource { file: Path::new("<built-in>").join(d.name).join(GUIDE_FILE), text: d.guide.to_string() })
        .collect()
}

/// Reads the guides at `path`: a guide file; a device folder (one holding `guide.yaml`); or a
/// folder of devices, whose subfolders with a `guide.yaml` and whose loose `*.yaml`/`*.yml`
/// files are each a guide, sorted by path (which is also the order in which guides claim
/// lines). Subfolders without a guide (`model/`) are not devices and are passed over.
///
/// # Errors
/// Diagnostics when a file cannot be read or a folder holds no guide.
pub fn load_sources(path: &Path) -> Result<Vec<GuideSource>, Diagnostics> {
    if !path.is_dir() {
        return read(path).map(|s| vec![s]).map_err(|d| Diagnostics(vec![d]));
    }
    let files = if path.join(GUIDE_FILE).is_file() { vec![path.join(GUIDE_FILE)] } else { guides_in(path)? };
    if files.is_empty() {
        let d = Diagnostic::new(Code::NoGuide, "no guide in this folder")
            .in_file(path)
            .hint("a device is a folder with a guide.yaml; see mappings/citrix_loadbalancer/guide.yaml");
        return Err(Diagnostics(vec![d]));
    }
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        match read(&file) {
            Ok(s) => sources.push(s),
            Err(d) => problems.push(d),
        }
    }
    if problems.is_empty() {
        Ok(sources)
    } else {
        Err(Diagnostics(problems))
    }
}

/// The guides of a folder of devices: `*/guide.yaml` and loose `*.yaml`, sorted by path.
fn guides_in(folder: &Path) -> Result<Vec<PathBuf>, Diagnostics> {
    let entries = std::fs::read_dir(folder).map_err(|e| {
        Diagnostics(vec![Diagnostic::new(Code::Read, format!("cannot read folder: {e}")).in_file(folder)])
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            if p.is_dir() {
                Some(p.join(GUIDE_FILE)).filter(|g| g.is_file())
            } else {
                Some(p).filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            }
        })
        .collect();
    files.sort();
    Ok(files)
}

fn read(file: &Path) -> Result<GuideSource, Diagnostic> {
    std::fs::read_to_string(file)
        .map(|text| GuideSource { file: file.to_path_buf(), text })
        .map_err(|e| Diagnostic::new(Code::Read, format!("cannot read guide: {e}")).in_file(file))
}

/// The folder of a guide's test cases: `cases/` beside a device folder's `guide.yaml`, and
/// `NAME.cases/` beside a loose guide file `NAME.yaml`.
pub fn cases_dir(guide_file: &Path) -> PathBuf {
    if guide_file.file_name().is_some_and(|n| n == GUIDE_FILE) {
        guide_file.with_file_name("cases")
    } else {
        guide_file.with_extension("cases")
    }
}
