//! Guide phase: YAML guides (raw [`spec`]) compile into an immutable [`plan`].

mod compile;
pub mod keys;
pub mod limits;
mod load;
mod locate;
pub mod plan;
pub mod spec;

pub use compile::{compile, compile_with};
pub use load::{builtin_sources, cases_dir, load_sources, BuiltinDevice, GuideSource, BUILTIN_DEVICES, GUIDE_FILE};
pub use plan::Plan;
