//! xdrmap: executable data mapping guides. A grammar tokenizes device logs, a YAML guide
//! compiles into a plan, and the engine maps each record into normalized XDR tokens.

extern crate alloc;

pub mod cases;
pub mod diag;
pub mod guide;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod runtime;
pub mod sinks;
pub mod sources;
pub mod syntax;
pub mod value;
