//! Guide phase: YAML guides (raw [`spec`]) compile into an immutable [`plan`].

mod compile;
mod locate;
pub mod plan;
pub mod spec;

pub use compile::{builtin_sources, compile, load_sources, GuideSource, BUILTIN_GUIDE, MODEL};
pub use plan::Plan;
