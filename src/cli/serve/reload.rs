//! Live reload: on SIGHUP, or a change of a guide or grammar file (`--watch`, with notify),
//! every guide is compiled again; the new plan is swapped in only when it compiles with no
//! errors (and, with `--reload-tests`, its cases pass). Otherwise the old plan keeps serving
//! and the diagnostics are printed as `check` prints them. Listeners are not touched.

use super::super::config::Loaded;
use super::super::error::Error;
use super::super::flags::{GuideArgs, ReadArgs};
use super::metrics::Metrics;
use super::ServeArgs;
use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;
use xdrmap::cases;
use xdrmap::pipeline::{Current, Engine};

/// Changes that come together (an editor's save is several events) make one reload.
const SETTLE: Duration = Duration::from_millis(200);

/// Recompiles the guides when told to.
pub struct Reloader {
    guides: GuideArgs,
    read: ReadArgs,
    tests: bool,
    current: Arc<Current>,
    metrics: Arc<Metrics>,
}

impl Reloader {
    pub fn new(args: &ServeArgs, current: Arc<Current>, metrics: Arc<Metrics>) -> Self {
        Reloader { guides: args.guides.clone(), read: args.read.clone(), tests: args.reload_tests, current, metrics }
    }

    /// Starts the reload thread (and the watcher, with `watch`); the sender takes what asked
    /// for a reload, in words.
    ///
    /// # Errors
    /// When the thread or the watcher cannot be started.
    pub fn start(self, watch: bool) -> Result<Sender<&'static str>, String> {
        let (tx, rx) = channel();
        let watcher = match (watch, &self.guides.mapping) {
            (true, Some(path)) => Some(watch_files(path, &self.current, tx.clone())?),
            _ => None,
        };
        std::thread::Builder::new()
            .name("xdrmap-reload".into())
            // The stack the first compile had (the main thread's), so that a guide that
            // compiled at startup compiles on reload.
            .stack_size(xdrmap::pipeline::STACK_BYTES)
            .spawn(move || {
                let _watcher = watcher;
                self.serve(rx);
            })
            .map_err(|e| format!("cannot start the reload thread: {e}"))?;
        Ok(tx)
    }

    fn serve(&self, rx: Receiver<&'static str>) {
        while let Ok(why) = rx.recv() {
            // Let the rest of a burst of changes arrive, and reload once for all of them.
            std::thread::sleep(SETTLE);
            while rx.try_recv().is_ok() {}
            let ok = self.reload(why);
            self.metrics.reloaded(ok);
        }
    }

    /// Compiles and checks the guides, and swaps them in when they pass.
    fn reload(&self, why: &str) -> bool {
        let serving = self.current.generation();
        let loaded = match Loaded::from_flags(&self.guides, &self.read) {
            Ok(loaded) => loaded,
            Err(e) => {
                if let Error::Guides { diagnostics, .. } = &e {
                    eprint!("{diagnostics}");
                }
                eprintln!("xdrmap: reload ({why}) failed: {e}; still serving plan {serving}");
                return false;
            }
        };
        if self.tests {
            let failed = failing_cases(&loaded);
            if !failed.is_empty() {
                eprintln!(
                    "xdrmap: reload ({why}) failed: {} case{} failed ({}); still serving plan {serving}",
                    failed.len(),
                    if failed.len() == 1 { "" } else { "s" },
                    failed.join(", ")
                );
                return false;
            }
        }
        for w in &loaded.plan.warnings {
            eprint!("{w}");
        }
        let guides: Vec<String> = loaded.plan.guides.iter().map(|g| g.name.clone()).collect();
        let generation = self.current.swap(Engine { plan: loaded.plan, settings: loaded.settings });
        eprintln!("xdrmap: reloaded ({why}): plan {generation} ({})", guides.join(", "));
        true
    }
}

/// The case files of the loaded guides that fail.
fn failing_cases(loaded: &Loaded) -> Vec<String> {
    let mut failed = Vec::new();
    for (index, g) in loaded.plan.guides.iter().enumerate() {
        for file in cases::case_files(&g.file) {
            if !cases::run_case(&loaded.plan, index, &file).passed() {
                failed.push(file.display().to_string());
            }
        }
    }
    failed
}

/// Watches `path` (a guide file or a folder of them) and the folders of the plan's grammar
/// files; a change of a `.yaml`, `.yml` or `.pest` file asks for a reload.
fn watch_files(path: &Path, current: &Current, tx: Sender<&'static str>) -> Result<notify::RecommendedWatcher, String> {
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        let ours =
            event.paths.iter().any(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "pest")));
        if ours {
            let _ = tx.send("a guide file changed");
        }
    })
    .map_err(|e| format!("cannot watch {}: {e}", path.display()))?;
    // Editors replace a file rather than write it: watch its folder.
    let mut folders: Vec<PathBuf> = vec![if path.is_dir() { path.to_path_buf() } else { parent(path) }];
    let (_, engine) = current.load();
    for g in &engine.plan.grammars {
        let file = Path::new(g.name());
        if file.extension().is_some_and(|e| e == "pest") {
            folders.push(parent(file));
        }
    }
    folders.sort();
    folders.dedup();
    for folder in folders {
        watcher
            .watch(&folder, RecursiveMode::Recursive)
            .map_err(|e| format!("cannot watch {}: {e}", folder.display()))?;
    }
    Ok(watcher)
}

fn parent(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
