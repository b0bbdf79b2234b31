//! What `Mapper::explain` reports about one line: its tokens, the fields written, the errors.

/// How one line travelled through the plan (see [`super::Mapper::explain`]).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Explanation {
    /// The guide that mapped the line.
    pub guide: Option<String>,
    pub grammar: Option<String>,
    /// Why no event was made, when none was.
    pub rejected: Option<String>,
    pub tokens: Vec<ExplainedToken>,
    /// The fields written, in output order.
    pub fields: Vec<ExplainedField>,
    /// The fields that failed their type.
    pub errors: Vec<ExplainedError>,
    /// The event, as `map` writes it.
    pub event: Option<String>,
}

/// A token of the line.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExplainedToken {
    /// The device's key, or `@field` for a field the grammar names.
    pub name: String,
    pub value: String,
    /// Byte span of the value in the line.
    pub start: usize,
    pub end: usize,
    /// Tokens of the guide whose rows list this source.
    pub read_by: Vec<String>,
    /// Tokens of the guide that took their value from it.
    pub used_by: Vec<String>,
    /// Kept under the unmapped object (no row reads it, or a repeated key).
    pub unmapped: bool,
}

/// A field written to the event.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExplainedField {
    pub token: String,
    /// The source it came from (`Source`, `@timestamp`) or how it was made (`const`, ...).
    pub source: Option<String>,
    /// The type, and the transform applied first.
    pub converter: String,
    /// The value as JSON.
    pub value: String,
}

/// A field that failed its type.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExplainedError {
    pub token: String,
    pub source: String,
    pub value: String,
    pub error: String,
}
