//! Test cases as data: a guide's cases live in `cases/` beside it ([`cases_dir`]), one YAML file per
//! case with an input line and the event the guide must make from it. The runner maps each
//! line, compares field by field, and can bless the actual events as new expectations.

use crate::guide::Plan;
use crate::runtime::{Mapper, Outcome, Settings};
use crate::value::time::TimeSettings;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The receive time every case is mapped at, so that CollectorReceivedTime is stable.
pub const RECEIVED_AT: &str = "2026-01-01T00:00:00Z";
/// What a case expects for EventId, which is random: the runner checks it is a v4 UUID.
pub const UUID_PLACEHOLDER: &str = "[uuid]";

/// One case file.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The input line.
    pub line: String,
    /// How to read the line, like the `map` flags.
    #[serde(default, skip_serializing_if = "CaseSettings::is_empty")]
    pub settings: CaseSettings,
    /// The expected event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<BTreeMap<String, Value>>,
    /// Instead of an event: the line must be rejected, for a reason containing this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}

/// Per-case settings.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The date order (`MMDDYYYY`, `DDMMYYYY`, `YYYYMMDD`), as `--date-format`.
    pub date_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The IANA zone of times written without one, as `--timezone`.
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The CustomerId parameter.
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The CollectorId parameter.
    pub collector_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The EventSourceId parameter.
    pub event_source_id: Option<String>,
}

impl CaseSettings {
    fn is_empty(&self) -> bool {
        self.date_format.is_none()
            && self.timezone.is_none()
            && self.customer_id.is_none()
            && self.collector_id.is_none()
            && self.event_source_id.is_none()
    }
}

/// One difference between the expected and the actual event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// Expected, not produced.
    Missing {
        /// The field's path in the event.
        field: String,
        /// Its expected value, as JSON.
        expected: String,
    },
    /// Produced, not expected.
    Extra {
        /// The field's path in the event.
        field: String,
        /// Its value, as JSON.
        actual: String,
    },
    /// Produced with another value.
    Changed {
        /// The field's path in the event.
        field: String,
        /// Its expected value, as JSON.
        expected: String,
        /// Its value, as JSON.
        actual: String,
    },
    /// Anything else: unreadable case, rejected line, wrong guide.
    Problem(String),
}

/// The result of one case.
#[derive(Debug)]
pub struct CaseResult {
    /// The case file.
    pub file: PathBuf,
    /// What differs; empty when the case passed.
    pub differences: Vec<Difference>,
    /// What the guide made of the line (for --bless), when it made an event.
    actual: Option<BTreeMap<String, Value>>,
    /// Why the line was rejected, when it was.
    rejected_reason: Option<String>,
    case: Option<Case>,
}

impl CaseResult {
    /// Whether the event was as expected.
    pub fn passed(&self) -> bool {
        self.differences.is_empty()
    }
}

pub use crate::guide::cases_dir;

/// The case files of a guide, sorted by name.
pub fn case_files(guide_file: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(cases_dir(guide_file)) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

/// Runs one case against a compiled plan; `guide` is the index of the guide it belongs to.
pub fn run_case(plan: &Plan, guide: usize, file: &Path) -> CaseResult {
    let fail = |why: String| CaseResult {
        file: file.to_path_buf(),
        differences: vec![Difference::Problem(why)],
        actual: None,
        rejected_reason: None,
        case: None,
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot read the case: {e}")),
    };
    let case: Case = match serde_yaml::from_str(&text) {
        Ok(c) => c,
        Err(e) => return fail(format!("not a case: {e}")),
    };
    let settings = match settings_of(&case.settings) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let received = RECEIVED_AT.parse().unwrap_or_default();
    let mut mapper = Mapper::new(plan, &settings);
    let mut out = Vec::new();
    let line = crate::syntax::line_text(&case.line);
    let mut differences = Vec::new();
    let mut actual = None;
    let mut rejected_reason = None;
    match mapper.map(line, received, &mut out) {
        Outcome::Rejected(reject) => match &case.rejected {
            Some(expected) if *expected == reject.code.to_string() || reject.detail.contains(expected.as_str()) => {}
            Some(expected) => {
                differences.push(Difference::Problem(format!(
                    "rejected for '{reject}' ({}), expected the code or a reason containing '{expected}'",
                    reject.code
                )));
                rejected_reason = Some(reject.detail);
            }
            None => {
                differences.push(Difference::Problem(format!("rejected ({}): {reject}", reject.code)));
                rejected_reason = Some(reject.detail);
            }
        },
        Outcome::Blank => differences.push(Difference::Problem("the line is blank: there is nothing to map".into())),
        Outcome::Mapped { guide: mapped_by, .. } => {
            let mut event: BTreeMap<String, Value> = serde_json::from_slice(&out).unwrap_or_default();
            if let Some(Value::String(id)) = event.get("EventId") {
                if !is_uuid_v4(id) {
                    differences.push(Difference::Problem(format!("EventId '{id}' is not a v4 UUID")));
                }
                event.insert("EventId".into(), Value::String(UUID_PLACEHOLDER.into()));
            }
            if mapped_by != guide {
                let name = &plan.guides[mapped_by].name;
                differences.push(Difference::Problem(format!("the line was claimed by guide '{name}'")));
            }
            match (&case.event, &case.rejected) {
                (_, Some(expected)) => {
                    differences.push(Difference::Problem(format!("mapped, but expected a rejection ('{expected}')")))
                }
                (Some(expected), None) => diff_objects("", expected, &event, &mut differences),
                (None, None) => differences.push(Difference::Problem("the case has no expected event".into())),
            }
            actual = Some(event);
        }
    }
    CaseResult { file: file.to_path_buf(), differences, actual, rejected_reason, case: Some(case) }
}

/// Rewrites a case with the actual event as its expectation.
///
/// # Errors
/// When the case could not be read or the file cannot be written.
pub fn bless(result: &CaseResult) -> Result<(), String> {
    let Some(case) = &result.case else {
        return Err("the case could not be read; nothing to bless".into());
    };
    let blessed = Case {
        line: case.line.clone(),
        settings: case.settings.clone(),
        event: result.actual.clone(),
        rejected: if result.actual.is_some() { None } else { result.rejected_reason.clone() },
    };
    let yaml = serde_yaml::to_string(&blessed).map_err(|e| e.to_string())?;
    let text = format!("# Blessed by `xdrmap test --bless`: review the event before you commit it.\n{yaml}");
    std::fs::write(&result.file, text).map_err(|e| format!("cannot write {}: {e}", result.file.display()))
}

fn settings_of(s: &CaseSettings) -> Result<Settings, String> {
    let mut time = TimeSettings::default();
    if let Some(order) = &s.date_format {
        time.order = order.parse()?;
    }
    if let Some(zone) = &s.timezone {
        time.zone = zone.parse().map_err(|_| format!("unknown time zone '{zone}'"))?;
    }
    Ok(Settings {
        time,
        customer_id: s.customer_id.clone(),
        collector_id: s.collector_id.clone(),
        event_source_id: s.event_source_id.clone(),
        forced_guide: None,
        date_order_by_device: Default::default(),
    })
}

fn diff_objects(
    prefix: &str,
    expected: &BTreeMap<String, Value>,
    actual: &BTreeMap<String, Value>,
    out: &mut Vec<Difference>,
) {
    let show = |v: &Value| v.to_string();
    for (key, want) in expected {
        let field = format!("{prefix}{key}");
        match actual.get(key) {
            None => out.push(Difference::Missing { field, expected: show(want) }),
            Some(got) if got == want => {}
            Some(Value::Object(got)) if want.is_object() => {
                let got: BTreeMap<String, Value> = got.clone().into_iter().collect();
                let want: BTreeMap<String, Value> =
                    want.as_object().map(|w| w.clone().into_iter().collect()).unwrap_or_default();
                diff_objects(&format!("{field}."), &want, &got, out);
            }
            Some(got) => out.push(Difference::Changed { field, expected: show(want), actual: show(got) }),
        }
    }
    for (key, got) in actual {
        if !expected.contains_key(key) {
            out.push(Difference::Extra { field: format!("{prefix}{key}"), actual: show(got) });
        }
    }
}

fn is_uuid_v4(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
        && b[14] == b'4'
}
