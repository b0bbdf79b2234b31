//! The engine a pipeline maps with, swapped whole by a reload: every batch is mapped by one
//! plan from its first message to its last, and workers pick the new plan up between batches.

use crate::guide::Plan;
use crate::runtime::Settings;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// A compiled plan and the settings it runs with (a forced guide is an index into the plan,
/// so the two are swapped together).
pub struct Engine {
    /// The compiled guides.
    pub plan: Plan,
    /// The run's settings.
    pub settings: Settings,
}

/// The engine in use, and how many times it was swapped.
pub struct Current {
    engine: RwLock<Arc<Engine>>,
    generation: AtomicU64,
}

impl Current {
    /// Starts with `engine`, as generation 1.
    pub fn new(engine: Engine) -> Self {
        Current { engine: RwLock::new(Arc::new(engine)), generation: AtomicU64::new(1) }
    }

    /// The engine in use and its generation.
    pub fn load(&self) -> (u64, Arc<Engine>) {
        let engine = self.engine.read().unwrap_or_else(|e| e.into_inner());
        (self.generation.load(Ordering::Acquire), Arc::clone(&engine))
    }

    /// The generation in use: 1 at the start, one more at each swap.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Puts `engine` in use for the batches mapped from now on; returns its generation. The
    /// old engine is freed once the last batch mapped with it is done.
    pub fn swap(&self, engine: Engine) -> u64 {
        let mut slot = self.engine.write().unwrap_or_else(|e| e.into_inner());
        *slot = Arc::new(engine);
        self.generation.fetch_add(1, Ordering::AcqRel) + 1
    }
}
