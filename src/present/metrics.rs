//! Metric families as text: Prometheus' classic text format 0.0.4 (what `/metrics` serves and
//! `promtool check metrics` reads) and OpenMetrics with a timestamp on every sample (what
//! `export --format openmetrics` writes and `promtool tsdb create-blocks-from openmetrics`
//! loads).

use crate::analysis::metrics::{Family, Kind, Sample};
use std::fmt::Write;

fn label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn series(name: &str, s: &Sample) -> String {
    let mut out = name.to_string();
    if !s.labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in s.labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", label_value(v));
        }
        out.push('}');
    }
    out
}

/// A sample's series name: a counter's with `_total`.
fn sample_name(f: &Family) -> String {
    match f.kind {
        Kind::Counter => format!("{}_total", f.name),
        Kind::Gauge => f.name.to_string(),
    }
}

/// The classic text format: HELP and TYPE name a counter's `_total` series.
pub fn text(families: &[Family], out: &mut String) {
    for f in families {
        let name = sample_name(f);
        let kind = match f.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        let _ = writeln!(out, "# HELP {name} {}", help(f.help));
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for s in &f.samples {
            let _ = writeln!(out, "{} {}", series(&name, s), number(s.value));
        }
    }
}

/// One family's metadata in OpenMetrics (a counter's family is named without `_total`).
pub fn openmetrics_meta(f: &Family, out: &mut String) {
    let kind = match f.kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
    };
    let _ = writeln!(out, "# TYPE {} {kind}", f.name);
    if let Some(u) = f.unit {
        let _ = writeln!(out, "# UNIT {} {u}", f.name);
    }
    let _ = writeln!(out, "# HELP {} {}", f.name, help(f.help));
}

/// One sample line in OpenMetrics with its timestamp (seconds since the epoch).
pub fn openmetrics_sample(f: &Family, s: &Sample, at_us: i64, out: &mut String) {
    let _ = writeln!(
        out,
        "{} {} {}.{:06}",
        series(&sample_name(f), s),
        number(s.value),
        at_us.div_euclid(1_000_000),
        at_us.rem_euclid(1_000_000)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fam(kind: Kind) -> Family {
        Family {
            name: "x_seconds",
            help: "a \\ help\nline",
            kind,
            unit: Some("seconds"),
            samples: vec![Sample {
                labels: vec![("job", "a\"b\\c\nd".into())],
                value: 1.5,
            }],
        }
    }

    #[test]
    fn values_and_labels_are_escaped_and_counters_named_total() {
        let mut t = String::new();
        text(&[fam(Kind::Counter)], &mut t);
        assert_eq!(
            t,
            "# HELP x_seconds_total a \\\\ help\\nline\n# TYPE x_seconds_total counter\nx_seconds_total{job=\"a\\\"b\\\\c\\nd\"} 1.5\n"
        );
        let mut o = String::new();
        let f = fam(Kind::Gauge);
        openmetrics_meta(&f, &mut o);
        openmetrics_sample(&f, &f.samples[0], -1_500_000, &mut o);
        assert!(
            o.starts_with("# TYPE x_seconds gauge\n# UNIT x_seconds seconds\n"),
            "{o}"
        );
        assert!(o.ends_with(" 1.5 -2.500000\n"), "{o}");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::INFINITY), "+Inf");
    }
}
