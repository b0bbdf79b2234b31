//! xdrmap: executable data mapping guides. A grammar tokenizes device logs, a YAML guide
//! compiles into a plan, and the engine maps each record into normalized XDR tokens.
//!
//! The modules follow a line through the program: [`sources`] hand out batches of lines,
//! [`syntax`] tokenizes them, [`guide`] compiles guides into a [`Plan`] (checked against the
//! [`model`], with the [`value`] layer), [`runtime`] maps each line with a [`Mapper`], the
//! output phase writes JSON, [`sinks`] take the results, and [`pipeline`] runs the whole on
//! one thread or many. [`diag`] holds every stable code; [`cases`] runs a guide's test cases.
//!
//! ```
//! let plan = xdrmap::compile(&xdrmap::guide::builtin_sources(), xdrmap::syntax::builtin_grammars()).unwrap();
//! let settings = xdrmap::Settings::default();
//! let mut mapper = xdrmap::Mapper::new(&plan, &settings);
//! let line = "<134> 05/19/2024:22:07:41 GMT lb 0-PPE-1 : default TCP CONN_TERMINATE 881 0 :  Source 10.60.2.15:443";
//! let mut out = Vec::new();
//! let outcome = mapper.map(line, chrono::Utc::now(), &mut out);
//! assert!(matches!(outcome, xdrmap::Outcome::Mapped { .. }));
//! assert!(String::from_utf8(out).unwrap().contains(r#""sourceIpv4":"10.60.2.15""#));
//! ```

#![warn(missing_docs)]

extern crate alloc;

pub mod bus;
pub mod cases;
pub mod diag;
#[doc(hidden)]
pub mod fuzzing;
pub mod guide;
pub mod limits;
pub mod model;
pub(crate) mod output;
pub mod pipeline;
pub mod query;
pub mod runtime;
pub mod sinks;
pub mod sources;
pub mod syntax;
pub mod value;

pub use diag::{Code, Diagnostic, Diagnostics, Severity};
pub use guide::{compile, compile_with, Plan};
pub use limits::Limits;
pub use runtime::{Mapper, Outcome, Reject, Settings};
pub use syntax::{Grammar, Token};

/// The plan is shared by every worker thread: it must stay `Send + Sync`.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Plan>();
    send_sync::<model::Model>();
};
