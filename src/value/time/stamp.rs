//! RFC 3339 text: written from a time without allocating, or copied straight from a native
//! UTC stamp without calendar arithmetic.

use super::{DateOrder, TimeSettings};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// A native timestamp in UTC (`MM/DD/YYYY:HH:MM:SS GMT` in the configured order, or
/// `YYYY/MM/DD:...`; no zone when the configured zone is UTC), written straight as RFC 3339
/// (`YYYY-MM-DDTHH:MM:SSZ`) without calendar arithmetic. `None` for any other form and for an
/// invalid date or clock: [`parse_time`] then reads it or says what is wrong.
pub fn utc_stamp(text: &str, settings: &TimeSettings) -> Option<[u8; 20]> {
    let b = text.trim().as_bytes();
    match b.get(19..) {
        Some(b" GMT" | b" UTC") => {}
        Some(b"") if settings.zone == Tz::UTC => {}
        _ => return None,
    }
    if b[10] != b':' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day): (&[u8], &[u8], &[u8]) = if b[4] == b'/' && b[7] == b'/' {
        (&b[0..4], &b[5..7], &b[8..10])
    } else if b[2] == b'/' && b[5] == b'/' {
        match settings.order {
            DateOrder::Dmy => (&b[6..10], &b[3..5], &b[0..2]),
            DateOrder::Mdy | DateOrder::Ymd => (&b[6..10], &b[0..2], &b[3..5]),
        }
    } else {
        return None;
    };
    let (hh, mi, ss) = (&b[11..13], &b[14..16], &b[17..19]);
    let all_digits = [year, month, day, hh, mi, ss].iter().all(|part| part.iter().all(u8::is_ascii_digit));
    let value = |d: &[u8]| d.iter().fold(0u32, |n, c| n * 10 + u32::from(c - b'0'));
    if !all_digits {
        return None;
    }
    let (y, m, d) = (value(year), value(month), value(day));
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || value(hh) > 23 || value(mi) > 59 || value(ss) > 59
    {
        return None;
    }
    let mut out = *b"0000-00-00T00:00:00Z";
    out[0..4].copy_from_slice(year);
    out[5..7].copy_from_slice(month);
    out[8..10].copy_from_slice(day);
    out[11..13].copy_from_slice(hh);
    out[14..16].copy_from_slice(mi);
    out[17..19].copy_from_slice(ss);
    Some(out)
}

/// Formats a time as RFC 3339 UTC (`2024-07-07T19:16:12Z`, with a fraction only when there is one).
pub fn format_time(t: &DateTime<Utc>) -> String {
    let mut out = Vec::with_capacity(32);
    write_time(&mut out, t);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends a time as RFC 3339 UTC, without allocating: milli-, micro- or nanoseconds as
/// needed, none when the time is on a whole second.
pub fn write_time(out: &mut Vec<u8>, t: &DateTime<Utc>) {
    fn digits(out: &mut Vec<u8>, n: u32, width: usize) {
        let mut buf = [b'0'; 10];
        let mut n = n;
        for slot in buf[..width].iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
        out.extend_from_slice(&buf[..width]);
    }
    let secs = t.timestamp();
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400) as u32);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        out.extend_from_slice(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true).as_bytes());
        return;
    }
    digits(out, year as u32, 4);
    out.push(b'-');
    digits(out, month, 2);
    out.push(b'-');
    digits(out, day, 2);
    out.push(b'T');
    digits(out, rem / 3600, 2);
    out.push(b':');
    digits(out, rem / 60 % 60, 2);
    out.push(b':');
    digits(out, rem % 60, 2);
    let nanos = t.timestamp_subsec_nanos() % 1_000_000_000;
    if nanos != 0 {
        out.push(b'.');
        if nanos.is_multiple_of(1_000_000) {
            digits(out, nanos / 1_000_000, 3);
        } else if nanos.is_multiple_of(1_000) {
            digits(out, nanos / 1_000, 6);
        } else {
            digits(out, nanos, 9);
        }
    }
    out.push(b'Z');
}

/// The days in month `m` of year `y`.
fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Year, month and day of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::super::parse_time;
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn written_times_match_chrono() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "2000-03-01T12:00:00.5Z",
            "1999-12-31T23:59:59.000001Z",
            "2100-02-28T01:02:03Z",
        ] {
            let t: DateTime<Utc> = text.parse().unwrap();
            assert_eq!(format_time(&t), t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
        }
        let mut day = at("1960-01-01T00:00:00Z");
        while day < at("2040-01-01T00:00:00Z") {
            assert_eq!(format_time(&day), day.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
            day += chrono::Duration::hours(37);
        }
    }

    #[test]
    fn utc_stamps_are_what_parse_time_writes() {
        let received = at("2024-01-05T00:00:00Z");
        let mut fast = 0;
        for order in [DateOrder::Mdy, DateOrder::Dmy] {
            for zone in ["UTC", "Europe/Berlin"] {
                let settings = TimeSettings { order, zone: zone.parse().unwrap(), year: None };
                for (a, b, y) in
                    [(2, 29, 2024), (2, 29, 2023), (12, 31, 1999), (13, 1, 2020), (4, 31, 2021), (0, 5, 2021)]
                {
                    for clock in ["00:00:00", "23:59:59", "24:00:00", "12:60:00"] {
                        for suffix in [" GMT", " UTC", "", " CET", "Z"] {
                            for text in [
                                format!("{a:02}/{b:02}/{y}:{clock}{suffix}"),
                                format!("{y}/{a:02}/{b:02}:{clock}{suffix}"),
                            ] {
                                let slow = parse_time(&text, &settings, received).map(|t| format_time(&t));
                                if let Some(stamp) = utc_stamp(&text, &settings) {
                                    fast += 1;
                                    assert_eq!(Ok(String::from_utf8(stamp.to_vec()).unwrap()), slow, "{text}");
                                } else if slow.is_ok() {
                                    // Only forms the fast path does not take may succeed the slow way.
                                    assert!(
                                        suffix.is_empty() && zone != "UTC" || suffix == " CET" || suffix == "Z",
                                        "{text}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(fast > 50, "{fast}");
    }
}
