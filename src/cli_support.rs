//! Small parsers shared by the library's selector and the CLI's flags.

/// `90s`, `5m`, `1h`, `250ms`, or plain seconds, into µs (zero allowed).
pub fn parse_offset(s: &str) -> Option<i64> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let v: f64 = num.trim().parse().ok()?;
    let mult = match unit {
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        _ => return None,
    };
    (0.0..1e12).contains(&v).then_some((v * mult) as i64)
}
