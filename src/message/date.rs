//! RFC 5322 dates, always written in UTC: `Sun, 22 Nov 2026 17:23:03 +0000`.

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Seconds since the Unix epoch, now (0 if the clock is before 1970).
pub fn now() -> i64 {
    now_unsigned() as i64
}

/// [`now`] as DKIM and SPF count time (t=, x=, %{t}): unsigned.
pub fn now_unsigned() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `unix` seconds as an RFC 5322 date-time (3.3), in UTC.
pub fn rfc5322_date(unix: i64) -> String {
    let days = unix.div_euclid(86400);
    let secs = unix.rem_euclid(86400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {day} {} {year:04} {:02}:{:02}:{:02} +0000",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[month as usize - 1],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (the well-known era
/// algorithm, the inverse of days-from-civil).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(rfc5322_date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc5322_date(1795368183), "Sun, 22 Nov 2026 17:23:03 +0000");
        assert_eq!(rfc5322_date(951782400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn round_trips_through_rfc3339_parsing() {
        for t in [0, 86399, 951782400, 1795368183, 4102444800] {
            let (y, m, d) = civil_from_days(t / 86400);
            let text = format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
                t % 86400 / 3600,
                t % 3600 / 60,
                t % 60
            );
            assert_eq!(crate::smtp::rfc3339(&text), Some(t));
        }
    }
}
