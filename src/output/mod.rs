//! Output phase: events and rejects as JSON Lines, written straight into reused byte buffers.

mod event;
mod json;
mod reject;

pub use event::{write_errors, write_unmapped, write_value, ErrorEntry};
pub use json::{json_key, write_raw_key, write_str, write_u64};
pub use reject::write_reject;
