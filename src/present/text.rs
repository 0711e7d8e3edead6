//! How text output reads: times to the second with their offset from the start of the
//! recording, durations and sizes a person reads at a glance, plurals, and colour for states
//! (honouring `--color`, `NO_COLOR`, `CLICOLOR_FORCE`, `CLICOLOR` and `TERM=dumb`).

use super::safe::PAINT;
use crate::duration::human;

/// When to colour.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// On a terminal, by `NO_COLOR`, `CLICOLOR_FORCE`, `CLICOLOR` and `TERM=dumb`.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    pub fn enabled(self, terminal: bool) -> bool {
        self.enabled_with(terminal, |k| std::env::var(k).ok())
    }

    /// `Auto`, by the conventions terminals' users set: `NO_COLOR` (not empty) turns colour off
    /// and wins; `CLICOLOR_FORCE` (not empty, not `0`) turns it on even when not writing to a
    /// terminal; `TERM=dumb` and `CLICOLOR=0` turn it off; else colour on a terminal.
    pub fn enabled_with(self, terminal: bool, var: impl Fn(&str) -> Option<String>) -> bool {
        let set = |k: &str| var(k).filter(|v| !v.is_empty());
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                if set("NO_COLOR").is_some() {
                    false
                } else if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                    true
                } else {
                    terminal
                        && set("TERM").is_none_or(|t| t != "dumb")
                        && set("CLICOLOR").is_none_or(|v| v != "0")
                }
            }
        }
    }
}

/// What a text renderer needs besides the data.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// The recording's first snapshot: offsets count from it.
    pub start_us: i64,
    pub color: bool,
}

impl Ctx {
    pub fn new(start_us: i64, color: bool) -> Self {
        Ctx { start_us, color }
    }

    /// `08:55:20 (+2m00s)`: to the second, with the offset from the start.
    pub fn time(&self, us: i64) -> String {
        format!("{} ({})", clock(us), self.offset(us))
    }

    /// `+2m00s` from the start.
    pub fn offset(&self, us: i64) -> String {
        let d = us - self.start_us;
        if d < 0 {
            human(d)
        } else {
            format!("+{}", human(d))
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("{PAINT}[{code}m{s}{PAINT}[0m")
        } else {
            s.to_string()
        }
    }

    pub fn bad(&self, s: &str) -> String {
        self.paint("31", s)
    }

    pub fn warn(&self, s: &str) -> String {
        self.paint("33", s)
    }

    pub fn good(&self, s: &str) -> String {
        self.paint("32", s)
    }

    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }

    /// A status, coloured by what it means.
    pub fn status(&self, s: &str) -> String {
        match s {
            "failed" | "error" | "cancelled" | "not found" => self.bad(s),
            "completed" | "ok" => self.good(s),
            "running" | "retrying" | "processing" | "queued" => self.warn(s),
            _ => s.to_string(),
        }
    }
}

/// `08:55:20Z`.
pub fn clock(us: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(us) {
        Some(t) => t.format("%H:%M:%SZ").to_string(),
        None => format!("@{us}us"),
    }
}

/// `2025-10-09 08:55:20Z`.
pub fn date_time(us: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(us) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%SZ").to_string(),
        None => format!("@{us}us"),
    }
}

/// `1 row`, `3 rows`.
pub fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{} {}", grouped(n), if n == 1 { one } else { many })
}

/// A count with thousands separators (`10,008`), as a figure is read at a glance.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `128 KiB`, `2.5 MiB`, `900 B`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if v >= 100.0 || (v - v.round()).abs() < 0.05 {
        format!("{:.0} {}", v, UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The first `n` items joined, and "and N more" when there are more.
pub fn list(items: impl IntoIterator<Item = String>, n: usize) -> String {
    let all: Vec<String> = items.into_iter().collect();
    let shown = all.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if all.len() > n {
        format!("{shown} and {} more", grouped((all.len() - n) as u64))
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Colour by the environment's conventions, `--color always|never` over all of them.
    #[test]
    fn colour_follows_the_conventions() {
        let auto = |terminal: bool, env: &[(&str, &str)]| {
            let env: Vec<(String, String)> = env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            ColorChoice::Auto.enabled_with(terminal, move |k| {
                env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
            })
        };
        assert!(auto(true, &[]));
        assert!(!auto(false, &[]));
        assert!(!auto(true, &[("NO_COLOR", "1")]));
        assert!(auto(true, &[("NO_COLOR", "")]));
        assert!(auto(false, &[("CLICOLOR_FORCE", "1")]));
        assert!(!auto(false, &[("CLICOLOR_FORCE", "0")]));
        assert!(!auto(true, &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]));
        assert!(!auto(true, &[("TERM", "dumb")]));
        assert!(auto(true, &[("TERM", "xterm-256color")]));
        assert!(auto(false, &[("TERM", "dumb"), ("CLICOLOR_FORCE", "1")]));
        assert!(!auto(true, &[("CLICOLOR", "0")]));
        assert!(ColorChoice::Always.enabled_with(false, |_| Some("1".into())));
        assert!(!ColorChoice::Never.enabled_with(true, |_| None));
    }

    #[test]
    fn reads_well() {
        assert_eq!(plural(1u64, "row", "rows"), "1 row");
        assert_eq!(plural(0u64, "row", "rows"), "0 rows");
        assert_eq!(size(131_072), "128 KiB");
        assert_eq!(size(900), "900 B");
        assert_eq!(size(2_621_440), "2.5 MiB");
        let c = Ctx::new(1_760_000_000_000_000, false);
        assert_eq!(c.time(1_760_000_125_400_000), "08:55:25Z (+2m05s)");
        assert_eq!(
            list((1..=8).map(|i| i.to_string()), 6),
            "1, 2, 3, 4, 5, 6 and 2 more"
        );
        assert_eq!(list((1..=2).map(|i| i.to_string()), 6), "1, 2");
        assert!(!Ctx::new(0, false).bad("x").contains(PAINT));
        assert!(Ctx::new(0, true).bad("x").contains(PAINT));
    }
}
