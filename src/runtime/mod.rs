//! Runtime phase: the plan applied to one record at a time.

pub mod convert;
mod mapper;

pub use mapper::{ExplainedError, ExplainedField, ExplainedToken, Explanation, Mapper, Outcome, Settings};
