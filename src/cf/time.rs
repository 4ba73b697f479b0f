//! CF time units: `"<unit> since <reference date>"` for datetimes and bare units for timedeltas, decoded to
//! nanoseconds the way xarray's pandas path does it.

use crate::error::{Result, RtError};

/// Nanoseconds in one unit of a CF time unit name (xarray's and cftime's spellings), if it is one.
#[must_use]
pub fn unit_ns(unit: &str) -> Option<i64> {
    Some(match unit.trim().to_ascii_lowercase().as_str() {
        "days" | "day" | "d" => 86_400_000_000_000,
        "hours" | "hour" | "h" | "hr" | "hrs" => 3_600_000_000_000,
        "minutes" | "minute" | "min" | "mins" => 60_000_000_000,
        "seconds" | "second" | "s" | "sec" | "secs" => 1_000_000_000,
        "milliseconds" | "millisecond" | "ms" | "msec" | "msecs" | "millisec" | "millisecs" => {
            1_000_000
        }
        "microseconds" | "microsecond" | "us" | "microsec" | "microsecs" => 1_000,
        "nanoseconds" | "nanosecond" | "ns" => 1,
        _ => return None,
    })
}

/// Nanoseconds per unit for timedelta units, which xarray recognises only as these exact plural words.
#[must_use]
pub fn timedelta_unit_ns(units: &str) -> Option<i64> {
    match units {
        "days" | "hours" | "minutes" | "seconds" | "milliseconds" | "microseconds"
        | "nanoseconds" => unit_ns(units),
        _ => None,
    }
}

/// Parsed datetime units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatetimeUnits {
    /// Nanoseconds per encoded unit.
    pub unit_ns: i64,
    /// The reference date, in nanoseconds since 1970-01-01T00:00:00 UTC. It may lie outside the
    /// datetime64[ns] range ("days since 0001-01-01"): only decoded values have to fit.
    pub reference_ns: i128,
    /// Nanoseconds in the resolution of the reference date as written (seconds unless it has fractional
    /// seconds); xarray first scales float offsets to it.
    pub reference_resolution_ns: i64,
}

/// Whether a units attribute is datetime-like (`... since ...`).
#[must_use]
pub fn is_datetime_units(units: &str) -> bool {
    units.contains("since")
}

/// Parses `"<unit> since <date>"`. In the `standard`/`gregorian` calendars a reference date before the
/// Gregorian reform (1582-10-15) is a Julian date, as cftime reckons it; `proleptic` says the calendar is
/// `proleptic_gregorian`.
///
/// # Errors
/// `ERR_CF_DECODE` naming the units string when the unit or the date cannot be understood.
pub fn parse_datetime_units(units: &str, proleptic: bool) -> Result<DatetimeUnits> {
    let bad = |why: &str| RtError::CfDecode(format!("time units {units:?}: {why}"));
    // The last " since " splits, as xarray's greedy pattern does.
    let (unit, date) = units
        .rsplit_once(" since ")
        .ok_or_else(|| bad("expected \"<unit> since <date>\""))?;
    let unit_ns = unit_ns(unit).ok_or_else(|| bad("unknown unit"))?;
    let (reference_ns, reference_resolution_ns) = parse_reference_date(date.trim(), proleptic)
        .ok_or_else(|| bad("unreadable reference date"))?;
    Ok(DatetimeUnits {
        unit_ns,
        reference_ns,
        reference_resolution_ns,
    })
}

/// Parses an ISO-8601-like date (`2000-01-01`, `2000-1-1 12:00`, `2000-01-01T00:00:00.5Z`,
/// `1990-01-01 00:00:00 +05:30`) to nanoseconds since the Unix epoch, UTC.
fn parse_reference_date(s: &str, proleptic: bool) -> Option<(i128, i64)> {
    let s = s.trim();
    // A leading '-' is a negative year, not a separator.
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (date, rest) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], s[i + 1..].trim_start()),
        None => (s, ""),
    };
    let (year_str, month_str, day_str) =
        if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) {
            // Compact ISO form: 20000101.
            (&date[..4], Some(&date[4..6]), Some(&date[6..]))
        } else {
            let mut parts = date.split('-');
            let y = parts.next()?;
            let (m, d) = (parts.next(), parts.next());
            if parts.next().is_some() {
                return None;
            }
            (y, m, d)
        };
    // Years beyond a million are not dates anyone encodes; refusing them keeps the arithmetic in range.
    if year_str.is_empty() || year_str.len() > 7 || !year_str.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut year: i64 = year_str.parse().ok()?;
    if negative {
        year = -year;
    }
    let month: i64 = month_str.map_or(Some(1), |m| m.parse().ok())?;
    let day: i64 = day_str.map_or(Some(1), |d| d.parse().ok())?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (time, tz) = split_timezone(rest)?;
    let (mut h, mut mi, mut sec, mut frac_ns, mut frac_digits) = (0i64, 0i64, 0i64, 0i64, 0usize);
    if !time.is_empty() {
        let mut t = time.split(':');
        h = t.next()?.parse().ok()?;
        mi = t.next().map_or(Some(0), |v| v.parse().ok())?;
        if let Some(sv) = t.next() {
            let (whole, frac) = sv.split_once('.').unwrap_or((sv, ""));
            sec = whole.parse().ok()?;
            if !frac.is_empty() {
                if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
                    return None;
                }
                frac_digits = frac.len();
                let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
                frac_ns = digits.parse().ok()?;
            }
        }
        if t.next().is_some() || h > 23 || mi > 59 || sec > 59 {
            return None;
        }
    }
    let julian = !proleptic && (year, month, day) < (1582, 10, 15);
    // Dates skipped by the Gregorian reform do not exist in the standard calendar.
    if !proleptic && (year, month, day) >= (1582, 10, 5) && (year, month, day) < (1582, 10, 15) {
        return None;
    }
    // The standard and Julian calendars have no year zero (cftime): -4713 is 4713 BC, year -4712 in
    // astronomical numbering.
    let astronomical = if !proleptic && year < 0 {
        year + 1
    } else {
        year
    };
    let days = if julian {
        days_from_julian(astronomical, month, day)
    } else {
        days_from_civil(astronomical, month, day)
    };
    let total: i128 = i128::from(days) * 86_400_000_000_000
        + i128::from(h * 3600 + mi * 60 + sec - tz) * 1_000_000_000
        + i128::from(frac_ns);
    // pandas gives the reference timestamp the resolution its text has; xarray scales floats to it.
    let resolution_ns = match frac_digits {
        0 => 1_000_000_000,
        1..=3 => 1_000_000,
        4..=6 => 1_000,
        _ => 1,
    };
    Some((total, resolution_ns))
}

/// Splits a time part from a trailing timezone; returns the time and the offset in seconds east of UTC.
fn split_timezone(rest: &str) -> Option<(&str, i64)> {
    let rest = rest.trim();
    let upper = rest.to_ascii_uppercase();
    for suffix in ["UTC", "Z"] {
        if upper.ends_with(suffix) {
            return Some((rest[..rest.len() - suffix.len()].trim(), 0));
        }
    }
    // A sign after the time part (the date's own '-' separators are already split off).
    if let Some(i) = rest.rfind(['+', '-']) {
        let (time, tz) = (rest[..i].trim(), &rest[i..]);
        let sign = if tz.starts_with('-') { -1 } else { 1 };
        let digits = tz[1..].replace(':', "");
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 4 {
            return None;
        }
        let (hh, mm) = if digits.len() <= 2 {
            (digits.as_str(), "0")
        } else {
            digits.split_at(digits.len() - 2)
        };
        let offset = hh.parse::<i64>().ok()? * 3600 + mm.parse::<i64>().ok()? * 60;
        return Some((time, sign * offset));
    }
    Some((rest, 0))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 of a date in the Julian calendar (via its Julian day number).
fn days_from_julian(y: i64, m: i64, d: i64) -> i64 {
    let a = (14 - m) / 12;
    let yy = y + 4800 - a;
    let mm = m + 12 * a - 3;
    let jdn = d + (153 * mm + 2) / 5 + 365 * yy + yy.div_euclid(4) - 32_083;
    jdn - 2_440_588
}

/// The `NaT` sentinel (numpy's `int64` minimum).
pub const NAT: i64 = i64::MIN;

/// Decodes integer offsets: `reference + value × unit`, exactly; `NAT` stays `NaT`.
///
/// # Errors
/// `ERR_CF_DECODE` when a date falls outside the nanosecond range (years 1677–2262).
pub fn decode_ints(
    values: &[i64],
    unit_ns: i64,
    reference_ns: i128,
    name: &str,
) -> Result<Vec<i64>> {
    values
        .iter()
        .map(|&v| {
            if v == NAT {
                return Ok(NAT);
            }
            fit(i128::from(v) * i128::from(unit_ns) + reference_ns)
                .ok_or_else(|| out_of_range(name, v as f64))
        })
        .collect()
}

/// A nanosecond count that numpy can hold (`NaT` excluded).
fn fit(ns: i128) -> Option<i64> {
    i64::try_from(ns).ok().filter(|&v| v != NAT)
}

/// Decodes float offsets as xarray does: the offsets are first scaled to the reference's resolution
/// (`resolution_ns`, seconds for timedeltas) by an integer factor, then by 1000 at a time while any has a
/// fractional part (down to nanoseconds), truncated toward zero, and added to the reference; NaN becomes
/// `NaT`.
///
/// # Errors
/// `ERR_CF_DECODE` when a date falls outside the nanosecond range.
pub fn decode_floats(
    values: &[f64],
    unit_ns: i64,
    resolution_ns: i64,
    reference_ns: i128,
    name: &str,
) -> Result<Vec<i64>> {
    let (mut scaled, mut step_ns): (Vec<f64>, i64) = if unit_ns > resolution_ns {
        let factor = (unit_ns / resolution_ns) as f64;
        (values.iter().map(|v| v * factor).collect(), resolution_ns)
    } else {
        (values.to_vec(), unit_ns)
    };
    // xarray looks at the whole array; one fractional value moves every value to the finer unit.
    while step_ns > 1 && scaled.iter().any(|v| v.is_finite() && v.fract() != 0.0) {
        for v in &mut scaled {
            *v *= 1000.0;
        }
        step_ns /= 1000;
    }
    scaled
        .iter()
        .zip(values)
        .map(|(&x, &v)| {
            if x.is_nan() {
                return Ok(NAT);
            }
            let t = x.trunc();
            // The count fits i128 below 1e36, but times a large unit (days: 8.64e13 ns) it need not:
            // checked arithmetic, or a huge offset would wrap into a plausible date (found by fuzzing).
            if t.abs() >= 1.0e36 || t.is_nan() {
                return Err(out_of_range(name, v));
            }
            (t as i128)
                .checked_mul(i128::from(step_ns))
                .and_then(|n| n.checked_add(reference_ns))
                .and_then(fit)
                .ok_or_else(|| out_of_range(name, v))
        })
        .collect()
}

fn out_of_range(name: &str, v: f64) -> RtError {
    RtError::CfDecode(format!(
        "variable {name:?}: encoded time {v} is outside the datetime64[ns] range (years 1677-2262)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000_000;
    const SECOND: i64 = 1_000_000_000;

    #[test]
    fn huge_float_offsets_are_out_of_range_not_wrapped() {
        // 1e30 s fits i128 as a count but not once multiplied by 1e9 ns: it used to overflow (a panic
        // with overflow checks, a wrapped and possibly plausible date without). Found by cf_attrs fuzzing.
        for v in [1.0e30, -1.0e30, 1.7e29, 9.9e35] {
            let err = decode_floats(&[v], SECOND, SECOND, 0, "t").unwrap_err();
            assert_eq!(err.code(), "ERR_CF_DECODE", "{v}");
        }
        assert_eq!(
            decode_floats(&[1.5], SECOND, SECOND, 0, "t").unwrap(),
            vec![1_500_000_000]
        );
    }

    #[test]
    fn parses_units_and_reference_dates() {
        let u = parse_datetime_units("days since 1970-01-02", false).unwrap();
        assert_eq!((u.unit_ns, u.reference_ns), (DAY, i128::from(DAY)));
        let u = parse_datetime_units("hours since 2000-01-01T00:00:00+01:00", false).unwrap();
        assert_eq!(u.reference_ns, 946_684_800_000_000_000 - 3_600_000_000_000);
        let u = parse_datetime_units("seconds since 1990-1-1 0:0:0.5", false).unwrap();
        assert_eq!(u.reference_ns, 631_152_000_500_000_000);
        let u = parse_datetime_units("milliseconds since 2024-05-01", false).unwrap();
        assert_eq!(u.reference_ns, 1_714_521_600_000_000_000);
        // 0001-01-01 is a Julian date in the standard calendar: two days off the proleptic reckoning.
        let julian = parse_datetime_units("days since 0001-01-01", false)
            .unwrap()
            .reference_ns;
        let proleptic = parse_datetime_units("days since 0001-01-01", true)
            .unwrap()
            .reference_ns;
        assert_eq!(proleptic - julian, 2 * i128::from(DAY));
        assert_eq!(proleptic, -719_162 * i128::from(DAY));
        assert_eq!(
            parse_datetime_units("fortnights since 2000-01-01", false)
                .unwrap_err()
                .code(),
            "ERR_CF_DECODE"
        );
        assert_eq!(
            parse_datetime_units("days since yesterday", false)
                .unwrap_err()
                .code(),
            "ERR_CF_DECODE"
        );
        assert_eq!(
            parse_datetime_units("days since 2001-02-29", false)
                .unwrap_err()
                .code(),
            "ERR_CF_DECODE"
        );
        // CF's Julian day epoch, compact dates, lower-case utc; impossible times and reform-gap dates.
        let jd = parse_datetime_units("days since -4713-01-01T12:00:00", false).unwrap();
        assert_eq!(
            jd.reference_ns + 2_451_545 * i128::from(DAY),
            946_728_000_000_000_000
        );
        let compact = parse_datetime_units("days since 20000101", false).unwrap();
        assert_eq!(compact.reference_ns, 946_684_800_000_000_000);
        let lower = parse_datetime_units("hours since 2000-01-01 00:00:00 utc", false).unwrap();
        assert_eq!(lower.reference_ns, 946_684_800_000_000_000);
        for bad in [
            "days since 2000-01-01 24:00:00",
            "days since 2000-01-01 00:00:60",
            "days since 1582-10-10",
            "days since 99999999999999999-01-01",
        ] {
            assert!(parse_datetime_units(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn decodes_like_xarray() {
        assert_eq!(decode_ints(&[1, NAT], DAY, 0, "t").unwrap(), vec![DAY, NAT]);
        // float32 0.1 hours widened to float64, truncated toward zero (xarray gives 00:06:00.000005364).
        let v = f64::from(0.1f32);
        assert_eq!(
            decode_floats(&[v, f64::NAN], 3_600_000_000_000, 1_000_000_000, 0, "t").unwrap(),
            vec![360_000_005_364, NAT]
        );
        // Far from the reference: NCEP's "hours since 1-1-1 00:00:0.0" lands in 1948.
        let ncep = parse_datetime_units("hours since 1-1-1 00:00:0.0", false).unwrap();
        let got = decode_floats(
            &[17_067_072.0],
            ncep.unit_ns,
            ncep.reference_resolution_ns,
            ncep.reference_ns,
            "t",
        );
        assert_eq!(got.unwrap(), vec![-694_310_400_000_000_000]);
        // Float days scale to seconds, then to ms/us/ns while fractions remain (xarray: ...573656).
        assert_eq!(
            decode_floats(&[636.961_687_321_454_3], DAY, 1_000_000_000, 0, "d").unwrap(),
            vec![55_033_489_784_573_656]
        );
        assert_eq!(
            decode_ints(&[i64::MAX / 2], DAY, 0, "t")
                .unwrap_err()
                .code(),
            "ERR_CF_DECODE"
        );
    }
}
