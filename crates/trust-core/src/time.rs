//! Time as a value: trust-core never reads the clock, callers pass `UnixTime`.

use std::fmt;

/// A point in time with nanosecond precision, as seconds and nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime {
    secs: i64,
    nanos: u32,
}

/// A closed interval `[start, end]`; `end = None` means open-ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// First instant inside the range.
    pub start: UnixTime,
    /// Last instant inside the range (inclusive), if any.
    pub end: Option<UnixTime>,
}

impl TimeRange {
    /// Whether `t` lies inside the closed interval.
    pub fn contains(&self, t: UnixTime) -> bool {
        t >= self.start && self.end.is_none_or(|e| t <= e)
    }
}

/// Why a time string could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid RFC 3339 timestamp {value:?}: {reason}")]
pub struct TimeParseError {
    /// The rejected input (truncated to 64 characters).
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl UnixTime {
    /// The Unix epoch.
    pub const EPOCH: UnixTime = UnixTime { secs: 0, nanos: 0 };

    /// From whole seconds since the epoch.
    pub const fn from_secs(secs: i64) -> Self {
        UnixTime { secs, nanos: 0 }
    }

    /// From seconds and nanoseconds; nanoseconds above 999_999_999 are carried into seconds.
    pub const fn new(secs: i64, nanos: u32) -> Self {
        UnixTime {
            secs: secs + (nanos / 1_000_000_000) as i64,
            nanos: nanos % 1_000_000_000,
        }
    }

    /// Whole seconds since the epoch (floor).
    pub const fn secs(self) -> i64 {
        self.secs
    }

    /// Sub-second nanoseconds.
    pub const fn subsec_nanos(self) -> u32 {
        self.nanos
    }

    /// Parses RFC 3339 (`2024-03-19T17:26:26Z`, `...26.123456789123Z`, `...+02:00`), as emitted by
    /// proto3 JSON for `google.protobuf.Timestamp`. Any number of fractional digits is accepted
    /// (precision beyond nanoseconds is truncated).
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimeParseError> {
        let err = |reason| TimeParseError {
            value: s.chars().take(64).collect(),
            reason,
        };
        let b = s.as_bytes();
        if b.len() < 20 {
            return Err(err("too short"));
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64, TimeParseError> {
            let part = &b[r];
            if part.iter().all(u8::is_ascii_digit) {
                Ok(part.iter().fold(0i64, |a, d| a * 10 + i64::from(d - b'0')))
            } else {
                Err(err("expected digits"))
            }
        };
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
            return Err(err("expected YYYY-MM-DDTHH:MM:SS"));
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(err("date out of range"));
        }
        if hour > 23 || minute > 59 || second > 60 {
            return Err(err("time of day out of range"));
        }
        let mut i = 19;
        let mut nanos: u32 = 0;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 9 {
                    nanos = nanos * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            if i == start {
                return Err(err("empty fraction"));
            }
            for _ in (i - start)..9 {
                nanos *= 10;
            }
        }
        let offset = match b.get(i) {
            Some(b'Z' | b'z') if i + 1 == b.len() => 0,
            Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
                let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
                if oh > 23 || om > 59 {
                    return Err(err("offset out of range"));
                }
                let o = oh * 3600 + om * 60;
                if *sign == b'+' {
                    o
                } else {
                    -o
                }
            }
            _ => return Err(err("expected Z or a numeric offset at the end")),
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset;
        Ok(UnixTime { secs, nanos })
    }

    /// Civil date and time (UTC) of this instant: (year, month, day, hour, minute, second).
    pub fn to_civil(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (
            y,
            m,
            d,
            (rem / 3600) as u32,
            ((rem % 3600) / 60) as u32,
            (rem % 60) as u32,
        )
    }
}

impl fmt::Display for UnixTime {
    /// RFC 3339 in UTC, with fractional seconds only when non-zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.to_civil();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")?;
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

impl serde::Serialize for UnixTime {
    /// Serialised as an RFC 3339 string in UTC.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
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

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339_variants() {
        let t = UnixTime::parse_rfc3339("2024-03-19T17:26:26Z").unwrap();
        assert_eq!(t.secs(), 1_710_869_186);
        let f = UnixTime::parse_rfc3339("2024-03-19T17:26:26.123456789123Z").unwrap();
        assert_eq!((f.secs(), f.subsec_nanos()), (1_710_869_186, 123_456_789));
        let o = UnixTime::parse_rfc3339("2024-03-19T19:26:26.5+02:00").unwrap();
        assert_eq!((o.secs(), o.subsec_nanos()), (1_710_869_186, 500_000_000));
        assert_eq!(f.to_string(), "2024-03-19T17:26:26.123456789Z");
        assert_eq!(t.to_string(), "2024-03-19T17:26:26Z");
    }

    #[test]
    fn rejects_malformed_times() {
        for bad in [
            "",
            "2024-03-19",
            "2024-13-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2024-03-19T17:26:26",
            "2024-03-19T17:26:26.Z",
            "2024-03-19T17:26:26Zx",
        ] {
            assert!(UnixTime::parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn range_is_closed() {
        let r = TimeRange {
            start: UnixTime::from_secs(10),
            end: Some(UnixTime::from_secs(20)),
        };
        assert!(r.contains(UnixTime::from_secs(10)) && r.contains(UnixTime::from_secs(20)));
        assert!(!r.contains(UnixTime::new(20, 1)) && !r.contains(UnixTime::from_secs(9)));
    }
}
