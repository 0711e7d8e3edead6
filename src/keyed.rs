//! Bodies of the extra endpoints read as flat maps of paths to values, so that two answers are
//! compared by key ("providers[modal-eu-west].healthy: true -> false"), not as text lines.
//!
//! - JSON: objects give `a.b`; arrays of objects give `a[KEY]` where KEY is the element's
//!   `name`, `provider`, `id`, `job_id` or `region` (whichever it has, in that order), else its
//!   index. Scalars are kept as JSON text (`"ok"`, `3`, `true`, `null`).
//! - Prometheus text format (`name{labels} value`): one path per sample.
//! - Volatile keys are dropped: the moment of the answer (`timestamp`, `current_timestamp`),
//!   ages measured from it (`*_ago_seconds`, `*_ago_human`, `duration_seconds`), and the
//!   runner's per-service `last_check` (its checker's clock, restamped every few seconds).
//!   They change on every answer and say nothing the recorder's clock does not. (The router's
//!   `last_check_timestamp` and `last_health_check` stay: a new value is a health check.)

use serde_json::Value;
use std::collections::BTreeMap;

/// Paths kept per body; a hostile body cannot make the analysis hold millions.
pub const MAX_PATHS: usize = 10_000;
/// Characters of a value kept.
const MAX_VALUE: usize = 200;

pub type Flat = BTreeMap<String, String>;

fn volatile(key: &str) -> bool {
    matches!(
        key,
        "timestamp" | "current_timestamp" | "duration_seconds" | "last_check"
    ) || key.ends_with("_ago_seconds")
        || key.ends_with("_ago_human")
}

fn cut(s: &str) -> String {
    if s.chars().count() <= MAX_VALUE {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX_VALUE).collect();
        t.push('…');
        t
    }
}

fn element_key(v: &Value, i: usize) -> String {
    for k in ["name", "provider", "id", "job_id", "region"] {
        match v.get(k) {
            Some(Value::String(s)) => return cut(s),
            Some(Value::Number(n)) => return n.to_string(),
            _ => {}
        }
    }
    i.to_string()
}

fn walk(v: &Value, path: &mut String, out: &mut Flat, depth: usize) {
    if out.len() >= MAX_PATHS {
        return;
    }
    let len = path.len();
    match v {
        Value::Object(m) if depth < 32 => {
            for (k, x) in m {
                if volatile(k) {
                    continue;
                }
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&cut(k));
                walk(x, path, out, depth + 1);
                path.truncate(len);
            }
            if m.is_empty() {
                out.insert(path.clone(), "{}".into());
            }
        }
        Value::Array(a) if depth < 32 => {
            let mut seen: BTreeMap<String, usize> = BTreeMap::new();
            for (i, x) in a.iter().enumerate() {
                let mut key = element_key(x, i);
                // Two elements with one key stay apart.
                let n = seen.entry(key.clone()).or_insert(0);
                if *n > 0 {
                    key = format!("{key}#{n}");
                }
                *n += 1;
                path.push('[');
                path.push_str(&key);
                path.push(']');
                walk(x, path, out, depth + 1);
                path.truncate(len);
            }
            if a.is_empty() {
                out.insert(path.clone(), "[]".into());
            }
        }
        other => {
            out.insert(path.clone(), cut(&other.to_string()));
        }
    }
}

/// A JSON value as paths.
pub fn flatten(v: &Value) -> Flat {
    let mut out = Flat::new();
    let mut path = String::new();
    walk(v, &mut path, &mut out, 0);
    out
}

/// Prometheus text format as paths (`metric{labels}` -> value); `None` when the text has no
/// sample line.
pub fn prometheus(text: &str) -> Option<Flat> {
    let mut out = Flat::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // name{labels} value [timestamp]; labels may hold spaces inside quotes.
        let (key, rest) = match line.find('}') {
            Some(end) if line[..end].contains('{') => (&line[..=end], line[end + 1..].trim()),
            _ => match line.split_once(char::is_whitespace) {
                Some((k, r)) => (k, r.trim()),
                None => return None,
            },
        };
        let value = rest.split_whitespace().next()?;
        if value.parse::<f64>().is_err() && !matches!(value, "NaN" | "+Inf" | "-Inf") {
            return None;
        }
        if out.len() < MAX_PATHS {
            out.insert(cut(key), value.to_string());
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A body as paths: JSON, else Prometheus text. `Err` says why it is neither.
pub fn read(body: &[u8]) -> Result<Flat, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Ok(flatten(&v)),
        Err(e) => {
            let text = std::str::from_utf8(body).map_err(|_| format!("not JSON: {e}"))?;
            prometheus(text).ok_or_else(|| format!("neither JSON ({e}) nor Prometheus text"))
        }
    }
}

/// One path whose value differs between two answers (`None`: absent on that side).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PathChange {
    pub path: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The paths that differ, in path order.
pub fn changes(a: &Flat, b: &Flat) -> Vec<PathChange> {
    let mut out = Vec::new();
    for (k, v) in a {
        match b.get(k) {
            Some(w) if w == v => {}
            w => out.push(PathChange {
                path: k.clone(),
                from: Some(v.clone()),
                to: w.cloned(),
            }),
        }
    }
    for (k, w) in b {
        if !a.contains_key(k) {
            out.push(PathChange {
                path: k.clone(),
                from: None,
                to: Some(w.clone()),
            });
        }
    }
    out.sort_by(|x, y| x.path.cmp(&y.path));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_of_objects_are_keyed_by_name_and_volatile_keys_dropped() {
        let a = json!({"providers":[{"name":"modal-us-east","healthy":true,"last_health_check_ago_seconds":3.3},
                                    {"name":"modal-eu-west","healthy":true}],
                       "timestamp": 1.0, "healthy_count": 2});
        let b = json!({"providers":[{"name":"modal-eu-west","healthy":false},
                                    {"name":"modal-us-east","healthy":true,"last_health_check_ago_seconds":9.1}],
                       "timestamp": 2.0, "healthy_count": 1});
        let c = changes(&flatten(&a), &flatten(&b));
        assert_eq!(
            c,
            vec![
                PathChange {
                    path: "healthy_count".into(),
                    from: Some("2".into()),
                    to: Some("1".into())
                },
                PathChange {
                    path: "providers[modal-eu-west].healthy".into(),
                    from: Some("true".into()),
                    to: Some("false".into())
                },
            ]
        );
        // Reordering alone is no change.
        let b2 = json!({"providers":[{"name":"modal-eu-west","healthy":true},{"name":"modal-us-east","healthy":true}]});
        let a2 = json!({"providers":[{"name":"modal-us-east","healthy":true},{"name":"modal-eu-west","healthy":true}]});
        assert!(changes(&flatten(&a2), &flatten(&b2)).is_empty());
    }

    #[test]
    fn scalars_arrays_and_repeated_keys() {
        let f = flatten(
            &json!({"q": {"main": 0, "dead": 2}, "ids": [3, 4], "e": [], "o": {},
                                "x": [{"id": 1, "v": "a"}, {"id": 1, "v": "b"}]}),
        );
        assert_eq!(f["q.main"], "0");
        assert_eq!(f["ids[1]"], "4");
        assert_eq!(f["e"], "[]");
        assert_eq!(f["o"], "{}");
        assert_eq!(f["x[1].v"], "\"a\"");
        assert_eq!(f["x[1#1].v"], "\"b\"");
        let added = changes(&Flat::new(), &f);
        assert!(added.iter().all(|c| c.from.is_none()));
        assert_eq!(changes(&f, &Flat::new()).len(), f.len());
    }

    #[test]
    fn prometheus_text_is_read_by_sample() {
        let t = "# HELP x\n# TYPE up gauge\nup 1\nhttp_requests_total{code=\"200\",path=\"/a b\"} 1027 1395066363000\nlat_seconds NaN\n";
        let f = read(t.as_bytes()).unwrap();
        assert_eq!(f["up"], "1");
        assert_eq!(f["http_requests_total{code=\"200\",path=\"/a b\"}"], "1027");
        assert_eq!(f["lat_seconds"], "NaN");
        assert_eq!(prometheus("odd}name 3").unwrap()["odd}name"], "3");
        let many: String = (0..MAX_PATHS + 5).map(|i| format!("m{i} 1\n")).collect();
        assert_eq!(prometheus(&many).unwrap().len(), MAX_PATHS);
        assert!(read(b"<html>oops</html>").is_err());
        assert!(read(b"up one").is_err());
        assert!(read(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn hostile_bodies_are_bounded() {
        let many: Vec<Value> = (0..50_000).map(|i| json!(i)).collect();
        assert_eq!(flatten(&json!({ "a": many })).len(), MAX_PATHS);
        let long = "x".repeat(10_000);
        let f = flatten(&json!({ "k": long }));
        assert!(f["k"].chars().count() <= MAX_VALUE + 3);
        let mut deep = json!(1);
        for _ in 0..100 {
            deep = json!({ "d": deep });
        }
        let f = flatten(&deep);
        assert_eq!(f.len(), 1);
        let (path, value) = f.iter().next().unwrap();
        assert_eq!(path.split('.').count(), 32, "cut at depth 32 ...");
        assert!(
            value.starts_with(r#"{"d":"#),
            "... the rest kept as text: {value}"
        );
        let mut deep = json!(1);
        for _ in 0..100 {
            deep = json!([deep]);
        }
        let f = flatten(&deep);
        let (path, value) = f.iter().next().unwrap();
        assert_eq!(path.matches('[').count(), 32, "arrays cut at depth 32 too");
        assert!(
            value.starts_with("[["),
            "... the rest kept as text: {value}"
        );
    }
}
