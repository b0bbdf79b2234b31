//! Times: every form NetScaler and its relays write, read into UTC. Zones are read in `zone`,
//! RFC 3339 text is written in `stamp`.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;

mod stamp;
mod zone;

pub use stamp::{format_time, utc_stamp, write_time};
use zone::in_zone;

/// The order of day, month and year in NetScaler dates (`-dateFormat`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DateOrder {
    /// `MM/DD/YYYY`, NetScaler's default.
    #[default]
    Mdy,
    /// `DD/MM/YYYY`.
    Dmy,
    /// `YYYY/MM/DD` (also recognised whatever the setting).
    Ymd,
}

impl std::str::FromStr for DateOrder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "MMDDYYYY" => Ok(DateOrder::Mdy),
            "DDMMYYYY" => Ok(DateOrder::Dmy),
            "YYYYMMDD" => Ok(DateOrder::Ymd),
            _ => Err(format!("unknown date format '{s}' (expected MMDDYYYY, DDMMYYYY or YYYYMMDD)")),
        }
    }
}

/// How to read times that do not say everything themselves.
#[derive(Clone, Copy, Debug)]
pub struct TimeSettings {
    /// The order of day, month and year in native dates.
    pub order: DateOrder,
    /// The appliance's zone, for times written without one (`-timeZone LOCAL_TIME`).
    pub zone: Tz,
    /// The year of a stamp written without one (a BSD relay's), when the line says it
    /// elsewhere; otherwise the receive time gives it (see [`lacks_year`]).
    pub year: Option<i32>,
}

impl Default for TimeSettings {
    fn default() -> Self {
        TimeSettings { order: DateOrder::Mdy, zone: Tz::UTC, year: None }
    }
}

/// Whether a time is written without its year (`Mar  7 10:59:24`, a BSD relay stamp), so
/// that reading it takes the year from elsewhere.
pub fn lacks_year(text: &str) -> bool {
    let text = text.trim();
    text.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) && text.split_whitespace().count() == 3
}

/// Reads a timestamp in any form NetScaler and its relays write.
///
/// `received` supplies the year of BSD relay stamps (`Mar  7 10:59:24`), which have none.
///
/// # Errors
/// A short reason when the text is not a time xdrmap can read.
pub fn parse_time(text: &str, settings: &TimeSettings, received: DateTime<Utc>) -> Result<DateTime<Utc>, &'static str> {
    let text = text.trim();
    let b = text.as_bytes();
    if b.len() >= 19 && b[4] == b'-' && b[10] == b'T' {
        return parse_iso(text, settings);
    }
    if b.len() >= 11 && b[2] == b'/' && b[3].is_ascii_alphabetic() {
        return parse_common_log(text);
    }
    if b.len() >= 10 && (b[2] == b'/' || b[4] == b'/') {
        return parse_native(text, settings);
    }
    if b.first().is_some_and(u8::is_ascii_alphabetic) {
        return parse_named_month(text, settings, received);
    }
    if b.len() >= 8 && b[2] == b':' && b[5] == b':' {
        return Err("a time of day without a date");
    }
    Err("not a timestamp")
}

/// `MM/DD/YYYY:HH:MM:SS[ zone]`, `DD/MM/YYYY:...`, `YYYY/MM/DD:...`; the old `: ` after the date.
fn parse_native(text: &str, settings: &TimeSettings) -> Result<DateTime<Utc>, &'static str> {
    let b = text.as_bytes();
    let (y, m, d) = if b[4] == b'/' {
        (num(b, 0, 4)?, num(b, 5, 2)?, num(b, 8, 2)?)
    } else {
        if b[5] != b'/' {
            return Err("not a timestamp");
        }
        let (first, second, year) = (num(b, 0, 2)?, num(b, 3, 2)?, num(b, 6, 4)?);
        match settings.order {
            DateOrder::Dmy => (year, second, first),
            DateOrder::Mdy | DateOrder::Ymd => (year, first, second),
        }
    };
    let rest = text.get(10..).ok_or("not a timestamp")?;
    let rest = rest.strip_prefix(':').ok_or("no time after the date")?.trim_start();
    let rb = rest.as_bytes();
    if rb.len() < 8 || rb[2] != b':' || rb[5] != b':' {
        return Err("no time after the date");
    }
    let (hh, mi, ss) = (num(rb, 0, 2)?, num(rb, 3, 2)?, num(rb, 6, 2)?);
    let zone = rest[8..].trim();
    let date = NaiveDate::from_ymd_opt(y as i32, m, d).ok_or(date_error(settings))?;
    let time = NaiveTime::from_hms_opt(hh, mi, ss).ok_or("hour, minute or second out of range")?;
    in_zone(date.and_time(time), zone, settings)
}

fn date_error(settings: &TimeSettings) -> &'static str {
    match settings.order {
        DateOrder::Mdy => "not a valid date in MMDDYYYY order (see --date-format)",
        DateOrder::Dmy => "not a valid date in DDMMYYYY order (see --date-format)",
        DateOrder::Ymd => "not a valid date",
    }
}

/// ISO 8601 / RFC 3339, with or without an offset.
fn parse_iso(text: &str, settings: &TimeSettings) -> Result<DateTime<Utc>, &'static str> {
    let b = text.as_bytes();
    let mut end = 19;
    if b.get(end) == Some(&b'.') {
        end += 1;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    let (clock, zone) = (text.get(..end).ok_or("not an ISO 8601 time")?, text.get(end..).unwrap_or(""));
    let naive = NaiveDateTime::parse_from_str(clock, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| "not an ISO 8601 time")?;
    in_zone(naive, zone.trim(), settings)
}

/// `10/Jun/2024:23:07:11 +0530`, the Common Log Format of web servers (nsweb), which always
/// has its offset.
fn parse_common_log(text: &str) -> Result<DateTime<Utc>, &'static str> {
    DateTime::parse_from_str(text, "%d/%b/%Y:%H:%M:%S %z")
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "not a Common Log Format time (DD/Mon/YYYY:HH:MM:SS +hhmm)")
}

/// `Mar  7 10:59:24` (BSD relay stamp, year taken from the receive time) and
/// `Jun 01, 2021 11:29:04 AM` (the Qualys display form).
fn parse_named_month(
    text: &str,
    settings: &TimeSettings,
    received: DateTime<Utc>,
) -> Result<DateTime<Utc>, &'static str> {
    if let Ok(naive) = NaiveDateTime::parse_from_str(text, "%b %d, %Y %I:%M:%S %p") {
        return in_zone(naive, "", settings);
    }
    let mut parts = text.split_whitespace();
    let (month, day, clock) = (parts.next(), parts.next(), parts.next());
    let (Some(month), Some(day), Some(clock), None) = (month, day, clock, parts.next()) else {
        return Err("not a timestamp");
    };
    let month = month_number(month).ok_or("not a month name")?;
    let day: u32 = day.parse().map_err(|_| "not a day of the month")?;
    let time = NaiveTime::parse_from_str(clock, "%H:%M:%S").map_err(|_| "not a time of day")?;
    // A relay stamp has no year: take the line's (when it says it elsewhere), or else the
    // receive year, or the one before when that would put the event more than a day ahead.
    let year = settings.year.unwrap_or(received.year());
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or("not a valid date")?;
    let t = in_zone(date.and_time(time), "", settings)?;
    if settings.year.is_none() && t > received + chrono::Duration::days(1) {
        let date = NaiveDate::from_ymd_opt(year - 1, month, day).ok_or("not a valid date")?;
        return in_zone(date.and_time(time), "", settings);
    }
    Ok(t)
}

fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let prefix = name.get(..3)?.to_ascii_lowercase();
    MONTHS.iter().position(|m| *m == prefix).map(|i| i as u32 + 1)
}

fn num(b: &[u8], at: usize, len: usize) -> Result<u32, &'static str> {
    let digits = b.get(at..at + len).ok_or("not a timestamp")?;
    let mut n = 0u32;
    for d in digits {
        if !d.is_ascii_digit() {
            return Err("not a timestamp");
        }
        n = n * 10 + u32::from(d - b'0');
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn read(text: &str, order: DateOrder, zone: &str) -> Result<String, &'static str> {
        let settings = TimeSettings { order, zone: zone.parse().unwrap(), year: None };
        parse_time(text, &settings, at("2024-01-05T00:00:00Z")).map(|t| format_time(&t))
    }

    #[test]
    fn native_orders_and_zones() {
        use DateOrder::*;
        assert_eq!(read("07/08/2024:01:30:28 GMT", Mdy, "UTC"), Ok("2024-07-08T01:30:28Z".into()));
        assert_eq!(read("07/08/2024:01:30:28 GMT", Dmy, "UTC"), Ok("2024-08-07T01:30:28Z".into()));
        assert_eq!(read("2024/08/07:01:30:28 GMT", Mdy, "UTC"), Ok("2024-08-07T01:30:28Z".into()));
        assert_eq!(read("07/08/2024:01:30:28", Mdy, "Europe/Berlin"), Ok("2024-07-07T23:30:28Z".into()));
        assert_eq!(read("07/08/2024:01:30:28 ", Mdy, "UTC"), Ok("2024-07-08T01:30:28Z".into()));
        assert_eq!(read("01/16/2026:14:11:48GMT", Mdy, "Europe/Berlin"), Ok("2026-01-16T14:11:48Z".into()));
        assert_eq!(read("02/12/2012: 17:16:28 GMT", Mdy, "UTC"), Ok("2012-02-12T17:16:28Z".into()));
        assert_eq!(read("09/05/2023:01:44:32 +02:00", Mdy, "UTC"), Ok("2023-09-04T23:44:32Z".into()));
        assert_eq!(read("09/05/2023:01:44:32 +0200", Mdy, "UTC"), Ok("2023-09-04T23:44:32Z".into()));
        assert_eq!(read("09/05/2023:01:44:32 PST", Mdy, "UTC"), Ok("2023-09-05T09:44:32Z".into()));
        assert_eq!(read("09/05/2023:01:44:32 America/New_York", Mdy, "UTC"), Ok("2023-09-05T05:44:32Z".into()));
        assert!(read("27/06/2026:22:38:17", Mdy, "UTC").is_err(), "month 27 under MMDDYYYY");
        assert!(read("09/05/2023:01:44:32 Mars/Base", Mdy, "UTC").is_err());
        assert!(read("06:29:05 GMT", Mdy, "UTC").is_err(), "a clock without a date");
    }

    #[test]
    fn iso_relay_and_display_forms() {
        use DateOrder::Mdy;
        assert_eq!(read("10/Jun/2024:23:07:11 +0530", Mdy, "UTC"), Ok("2024-06-10T17:37:11Z".into()));
        assert!(read("10/Jun/2024:23:07:11", Mdy, "UTC").is_err(), "a web log time has its offset");
        assert_eq!(read("2025-01-12T21:06:37Z", Mdy, "UTC"), Ok("2025-01-12T21:06:37Z".into()));
        assert_eq!(read("2023-08-01T00:14:15.285005+00:00", Mdy, "UTC"), Ok("2023-08-01T00:14:15.285005Z".into()));
        assert_eq!(read("2023-04-01T11:00:00", Mdy, "Europe/Berlin"), Ok("2023-04-01T09:00:00Z".into()));
        assert_eq!(read("Jun 01, 2021 11:29:04 AM", Mdy, "UTC"), Ok("2021-06-01T11:29:04Z".into()));
        // A BSD stamp takes the receive year, or the year before when it would lie ahead.
        assert_eq!(read("Jan  4 10:59:24", Mdy, "UTC"), Ok("2024-01-04T10:59:24Z".into()));
        assert_eq!(read("Dec 31 23:59:59", Mdy, "UTC"), Ok("2023-12-31T23:59:59Z".into()));
    }

    #[test]
    fn utc_fast_path_agrees_with_the_calendar() {
        let settings = TimeSettings::default();
        let received = at("2024-01-05T00:00:00Z");
        for y in (1899..2102).step_by(1) {
            for m in 0..=13u32 {
                for d in [0u32, 1, 15, 28, 29, 30, 31, 32] {
                    let text = format!("{m:02}/{d:02}/{y:04}:23:59:58 GMT");
                    let expected = NaiveDate::from_ymd_opt(y, m, d)
                        .map(|date| date.and_hms_opt(23, 59, 58).unwrap().and_utc())
                        .ok_or(date_error(&settings));
                    assert_eq!(parse_time(&text, &settings, received), expected, "{text}");
                }
            }
        }
        for (clock, ok) in [("00:00:00", true), ("24:00:00", false), ("23:60:00", false), ("23:59:60", false)] {
            let text = format!("02/29/2024:{clock} UTC");
            assert_eq!(parse_time(&text, &settings, received).is_ok(), ok, "{text}");
        }
    }
}
