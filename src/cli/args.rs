//! Argument values shared by several commands, validated once into typed values.

use std::time::Duration;

/// A duration flag: `5s`, `500ms`, `10m`, `1h30m`, `12m30s`, `1d`, or plain seconds (`2.5`),
/// by the one parser selectors use too. Zero and negative are refused.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let us = crate::duration::parse_us(s)?;
    if us <= 0 {
        return Err(format!("{s:?} must be greater than zero"));
    }
    Ok(Duration::from_micros(us as u64))
}

/// A signed offset of a clock: `-7m`, `+30s`, `90s`, `0`: seconds, negative for behind.
pub fn parse_offset(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (neg, rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if rest.trim() == "0" {
        return Ok(0.0);
    }
    let us = crate::duration::parse_us(rest)
        .map_err(|e| format!("{s:?} is not an offset (e.g. -7m, +30s): {e}"))?;
    let secs = us as f64 / 1e6;
    Ok(if neg { -secs } else { secs })
}

/// A positive count.
pub fn parse_count(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a whole number")),
    }
}

/// A byte size: `64MiB`, `512KiB`, `1GiB` (powers of 1024), `64MB`, `512KB`, `1GB` (powers
/// of 1000, as disks and `ls -h --si` count), a `B` suffix or plain bytes; any case, a space
/// allowed before the unit.
pub fn parse_size(s: &str) -> Result<u64, String> {
    const UNITS: [(&str, u64); 8] = [
        ("kib", 1 << 10),
        ("mib", 1 << 20),
        ("gib", 1 << 30),
        ("tib", 1 << 40),
        ("kb", 1_000),
        ("mb", 1_000_000),
        ("gb", 1_000_000_000),
        ("tb", 1_000_000_000_000),
    ];
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = UNITS
        .iter()
        .find_map(|(u, m)| t.strip_suffix(u).map(|n| (n, *m)))
        .or_else(|| t.strip_suffix('b').map(|n| (n, 1)))
        .unwrap_or((t.as_str(), 1));
    match num.trim().parse::<u64>() {
        Ok(0) => Err("must be greater than zero".into()),
        Ok(n) => n
            .checked_mul(mult)
            .ok_or_else(|| format!("{s:?} is too large")),
        Err(_) => Err(format!(
            "{s:?} is not a size (use e.g. 64MiB or 64MB; KiB/MiB/GiB count in 1024s, KB/MB/GB in 1000s)"
        )),
    }
}

/// `record --max-size`: a size, at least 1 MiB (an empty recording's tables alone take about
/// 100 KiB, and one answer of a large job a few MiB).
pub fn parse_max_size(s: &str) -> Result<u64, String> {
    let n = parse_size(s)?;
    if n < 1 << 20 {
        return Err(format!(
            "{s:?} is too small to hold a recording: give at least 1MiB"
        ));
    }
    Ok(n)
}

/// A speed factor for simulated or replayed time.
pub fn parse_speed(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 1e6 => Ok(v),
        _ => Err(format!("{s:?} is not a speed (a number > 0, e.g. 60)")),
    }
}

/// An http(s) base URL. An error names the URL without its secrets.
pub fn parse_base_url(s: &str) -> Result<reqwest::Url, String> {
    crate::redact::parse_http_url(s)
}

/// `NAME=URL` of `--endpoint`: a short name (letters, digits, `-`, `_`, `.`) and an http(s)
/// URL. The router's `/env` is refused: it dumps the router's environment.
pub fn parse_endpoint(s: &str) -> Result<(String, reqwest::Url), String> {
    let (name, url) = s
        .split_once('=')
        .ok_or_else(|| "expected NAME=URL, e.g. worker=http://worker:9100/metrics".to_string())?;
    let name = name.trim();
    if name.is_empty()
        || name.len() > 40
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "{:?} is not an endpoint name (1 to 40 letters, digits, '-', '_' or '.')",
            crate::present::safe::term(name)
        ));
    }
    let u = parse_base_url(url)?;
    if u.path().trim_end_matches('/').ends_with("/env") {
        return Err(
            "an /env endpoint is never recorded: it dumps a service's environment (secrets)".into(),
        );
    }
    Ok((name.to_string(), u))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("-7m"), Ok(-420.0));
        assert_eq!(parse_offset("+30s"), Ok(30.0));
        assert_eq!(parse_offset("1h"), Ok(3600.0));
        assert_eq!(parse_offset("0"), Ok(0.0));
        assert!(parse_offset("-").is_err());
        assert!(parse_offset("soon").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        // Compound durations, as selectors take them.
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("12m30s").unwrap(), Duration::from_secs(750));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86_400));
        assert!(parse_count("0").is_err());
        assert!(parse_base_url("ftp://x").is_err());
        assert!(parse_base_url("not a url").is_err());
        let e = parse_base_url("http://bob:hunter2@ho st:1/?token=t0k").unwrap_err();
        assert!(!e.contains("hunter2") && !e.contains("t0k"), "{e}");
    }

    #[test]
    fn sizes_in_both_units() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64MB"), Ok(64_000_000));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_size("512kb"), Ok(512_000));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("1TB"), Ok(1_000_000_000_000));
        assert_eq!(parse_size("4096B"), Ok(4096));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("0MB").is_err());
        assert!(parse_size("MB").is_err());
        assert!(parse_size("-1MB").is_err());
        assert!(parse_size("1.5GB").is_err());
        assert!(
            parse_size("99999999999TB")
                .unwrap_err()
                .contains("too large")
        );
        assert!(parse_size("12 parsecs").unwrap_err().contains("64MB"));
    }

    #[test]
    fn endpoints_are_named_and_never_env() {
        let (n, u) = parse_endpoint("worker=http://w:9100/metrics").unwrap();
        assert_eq!((n.as_str(), u.path()), ("worker", "/metrics"));
        assert!(parse_endpoint("no-equals").is_err());
        assert!(parse_endpoint("bad name=http://w/").is_err());
        assert!(parse_endpoint("=http://w/").is_err());
        assert!(parse_endpoint("x=ftp://w/").is_err());
        let e = parse_endpoint("x=http://router:8000/env/").unwrap_err();
        assert!(e.contains("never recorded"), "{e}");
    }
}
