//! Runtime phase: the plan applied to one record at a time, or to a batch in one pass.

mod direct;
mod explain;
mod ids;
mod mapper;
mod outcome;
mod produce;
mod select;
mod steps;

pub use explain::{ExplainedError, ExplainedField, ExplainedToken, Explanation};
pub use ids::DerivedIds;
pub use mapper::Mapper;
pub use outcome::{Outcome, Reject};

use crate::value::time::{DateOrder, TimeSettings};

/// Run-time settings: fixed for a run, shared by every worker.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// How to read times that do not say everything themselves.
    pub time: TimeSettings,
    /// The order of native dates per device, by its name as the line gives it (the value the
    /// guide's `deviceName` reads): one collector hears appliances with different
    /// `-dateFormat` settings. Names compare without regard to ASCII case; a device not
    /// listed uses `time.order`.
    pub date_order_by_device: Vec<(String, DateOrder)>,
    /// The value of the CustomerId parameter.
    pub customer_id: Option<String>,
    /// The value of the CollectorId parameter.
    pub collector_id: Option<String>,
    /// The value of the EventSourceId parameter.
    pub event_source_id: Option<String>,
    /// Map every line with this guide (index into [`Plan::guides`](crate::guide::Plan))
    /// instead of the one that claims it.
    pub forced_guide: Option<usize>,
}
