//! Durations as people write and read them: `90s`, `5m`, `1h30m`, `2m05s`, `1.5s`, `250ms`, or
//! plain seconds; shown back as `3s`, `2m05s`, `1h30m`, `250ms`. One parser for every flag and
//! selector.

/// Parses a duration into µs (zero allowed; the caller refuses it where it makes no sense).
pub fn parse_us(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let bad = || format!("{s:?} is not a duration (use e.g. 90s, 5m, 1h30m, 250ms)");
    if t.is_empty() {
        return Err(bad());
    }
    // Plain number: seconds.
    if let Ok(v) = t.parse::<f64>() {
        return to_us(v, 1e6).ok_or_else(bad);
    }
    let mut total = 0f64;
    let mut rest = t;
    let mut seen_units: Vec<&str> = Vec::new();
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_end == 0 {
            return Err(bad());
        }
        let v: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        let after = &rest[num_end..];
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let unit = after[..unit_end].trim();
        let mult = match unit {
            "ms" => 1e3,
            "s" | "sec" => 1e6,
            "m" | "min" => 60e6,
            "h" => 3600e6,
            "d" => 86_400e6,
            _ => {
                return Err(format!(
                    "unknown unit {unit:?} in {s:?} (use ms, s, m, h or d)"
                ));
            }
        };
        if seen_units.contains(&unit) {
            return Err(bad());
        }
        seen_units.push(unit);
        total += v * mult;
        rest = &after[unit_end..];
    }
    to_us(total, 1.0).ok_or_else(bad)
}

fn to_us(v: f64, mult: f64) -> Option<i64> {
    let us = v * mult;
    // Up to 30 years: anything longer is a typo.
    (us.is_finite() && (0.0..1e15).contains(&us)).then_some(us.round() as i64)
}

/// `2m05s`, `3s`, `1h30m`, `2d04h`, `250ms`, `0s`.
pub fn human(us: i64) -> String {
    let neg = us < 0;
    let us = us.unsigned_abs();
    let s = if us < 1_000_000 && !us.is_multiple_of(1_000_000) {
        format!("{}ms", (us as f64 / 1e3).round() as u64)
    } else if us < 10_000_000 && !(us % 1_000_000 < 50_000 || us % 1_000_000 >= 950_000) {
        format!("{:.1}s", us as f64 / 1e6)
    } else {
        let secs = (us as f64 / 1e6).round() as u64;
        match secs {
            s if s < 60 => format!("{s}s"),
            s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
            s if s < 86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
            s => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
        }
    };
    if neg { format!("-{s}") } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_people_write() {
        assert_eq!(parse_us("90s"), Ok(90_000_000));
        assert_eq!(parse_us("1h30m"), Ok(5_400_000_000));
        assert_eq!(parse_us("2m05s"), Ok(125_000_000));
        assert_eq!(parse_us("1.5s"), Ok(1_500_000));
        assert_eq!(parse_us("250ms"), Ok(250_000));
        assert_eq!(parse_us("2"), Ok(2_000_000));
        assert_eq!(parse_us("0s"), Ok(0));
        assert!(parse_us("-1s").is_err());
        assert!(parse_us("5 parsecs").is_err());
        assert!(parse_us("1m1m").is_err());
        assert!(parse_us("").is_err());
        assert!(parse_us("s").is_err());
        assert!(parse_us("1e400").is_err());
    }

    #[test]
    fn shows_what_people_read() {
        assert_eq!(human(3_000_000), "3s");
        assert_eq!(human(125_000_000), "2m05s");
        assert_eq!(human(5_400_000_000), "1h30m");
        assert_eq!(human(250_000), "250ms");
        assert_eq!(human(0), "0s");
        assert_eq!(human(1_500_000), "1.5s");
        assert_eq!(human(2_000_100), "2s");
        assert_eq!(human(12_500_000), "13s");
        assert_eq!(human(97_200_000_000), "1d03h");
        for s in ["3s", "2m05s", "1h30m", "250ms", "1.5s"] {
            assert_eq!(human(parse_us(s).unwrap()), s);
        }
    }
}
