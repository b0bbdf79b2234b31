//! Runtime phase: the plan applied to one record at a time.

pub mod convert;
mod explain;
mod mapper;

pub use explain::{ExplainedError, ExplainedField, ExplainedToken, Explanation};
pub use mapper::{Mapper, Outcome, Settings};
