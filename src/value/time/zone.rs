//! Time zones: the suffix a time is written with (`GMT`, `+02:00`, `PST`, an IANA name), or
//! the appliance's configured zone.

use super::TimeSettings;
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Places a wall-clock time in the zone its suffix names, or in the configured zone.
pub(super) fn in_zone(
    naive: NaiveDateTime,
    zone: &str,
    settings: &TimeSettings,
) -> Result<DateTime<Utc>, &'static str> {
    match zone {
        "" => local(naive, settings.zone),
        "GMT" | "UTC" | "Z" | "UT" => Ok(naive.and_utc()),
        _ => {
            if let Some(offset) = parse_offset(zone).or_else(|| abbreviation(zone)) {
                return offset.from_local_datetime(&naive).single().map(|t| t.with_timezone(&Utc)).ok_or("bad offset");
            }
            let tz: Tz = zone.parse().map_err(|_| "unknown time zone")?;
            local(naive, tz)
        }
    }
}

fn local(naive: NaiveDateTime, tz: Tz) -> Result<DateTime<Utc>, &'static str> {
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or("a local time that does not exist in the zone (daylight saving gap)")
}

/// `+02:00`, `+0200`, `-05`.
fn parse_offset(zone: &str) -> Option<FixedOffset> {
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 2 && digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = if digits.len() == 4 { digits[2..].parse().ok()? } else { 0 };
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// The North American and European abbreviations relays write; others are ambiguous.
fn abbreviation(zone: &str) -> Option<FixedOffset> {
    let hours = match zone {
        "EST" => -5,
        "EDT" | "AST" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        "WET" => 0,
        "BST" | "CET" | "WEST" => 1,
        "CEST" | "EET" => 2,
        "EEST" => 3,
        _ => return None,
    };
    FixedOffset::east_opt(hours * 3600)
}
