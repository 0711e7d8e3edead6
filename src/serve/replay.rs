//! The time-travel server: serves every recorded request path with the response recorded at
//! the selected snapshot (same status, same body bytes, same content type), re-enacts
//! recorded failures, and answers the job endpoint's unrecorded pages from the recorded
//! complete list. It never contacts the original servers.
//!
//! Built on hyper directly rather than axum: re-enacting a refused connection or a timeout
//! means closing a connection without a response, which a hyper service does by returning an
//! error, and routing is a single map lookup.
//!
//! Its clients are untrusted too: a request head must arrive within `HEADER_TIMEOUT`, at most
//! `MAX_CONNECTIONS` are served at once (more are closed at once), and the near-miss answer for
//! an unknown path compares at most `NEAR_MISS_CHARS` of it with an index of the recorded paths
//! built once.

use crate::analysis::Recording;
use crate::beacon::format_micros;
use crate::fetch::{FetchErrorKind, SourceKind};
use crate::store::StoreError;
use crate::store::schema::FetchRec;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// Which snapshot answers.
#[derive(Debug, Clone, Copy)]
pub enum Timing {
    /// Always this seq.
    At(u64),
    /// Advancing with wall time from the first snapshot, `speed` times faster.
    Clock { speed: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    Runner,
    Router,
}

/// One recorded answer.
#[derive(Debug, Clone)]
struct Answer {
    seq: u64,
    rec: FetchRec,
    /// Its headers, made once: content type, `x-blackbox-seq`, `x-blackbox-taken-at`.
    content_type: Option<hyper::header::HeaderValue>,
    seq_header: Option<hyper::header::HeaderValue>,
    taken_header: Option<hyper::header::HeaderValue>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the recording has no snapshots")]
    Empty,
}

pub struct Server {
    rec: Mutex<Recording>,
    /// Per side (runner, router): path+query -> answers in seq order.
    index: [HashMap<String, Vec<Answer>>; 2],
    /// The recorded paths of each side, cut for the near-miss search.
    known: HashMap<Side, Vec<String>>,
    /// (seq, started_at) in order.
    times: Vec<(u64, i64)>,
    bodies: Mutex<HashMap<u64, Bytes>>,
    timing: Timing,
    /// For `Timing::Clock`: recorded time runs on it from the first snapshot.
    clock: crate::clock::ScaledClock,
    limits: Limits,
}

/// What the server allows its clients.
fn path_query(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    Some(match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    })
}

fn side_of(source: u8) -> Side {
    match SourceKind::from_u8(source) {
        Some(k) if k.is_runner() => Side::Runner,
        _ => Side::Router,
    }
}

/// Levenshtein distance, for the near-miss report.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

use super::accept::Resp;
pub use super::accept::{HEADER_TIMEOUT, Limits, MAX_CONNECTIONS};
/// Characters of an unknown path compared with the recorded ones.
pub const NEAR_MISS_CHARS: usize = 256;

fn cut(s: &str) -> &str {
    match s.char_indices().nth(NEAR_MISS_CHARS) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

impl Server {
    pub fn new(rec: Recording, timing: Timing) -> Result<Arc<Self>, ReplayError> {
        Self::with_limits(rec, timing, Limits::default())
    }

    pub fn with_limits(
        rec: Recording,
        timing: Timing,
        limits: Limits,
    ) -> Result<Arc<Self>, ReplayError> {
        if rec.infos.is_empty() {
            return Err(ReplayError::Empty);
        }
        let mut index: [HashMap<String, Vec<Answer>>; 2] = Default::default();
        for (info, snap) in rec.infos.iter().zip(&rec.snaps) {
            for f in &snap.fetches {
                // A request the recorder never sent has no answer to replay.
                if f.outcome().is_gap() {
                    continue;
                }
                let Some(pq) = path_query(rec.string(f.url)) else {
                    continue;
                };
                index[side_of(f.source) as usize]
                    .entry(pq)
                    .or_default()
                    .push(Answer {
                        seq: info.seq,
                        rec: f.clone(),
                        content_type: f.content_type.and_then(|c| rec.string(c).parse().ok()),
                        seq_header: info.seq.to_string().parse().ok(),
                        taken_header: format_micros(info.started_at).parse().ok(),
                    });
            }
        }
        let times = rec.infos.iter().map(|i| (i.seq, i.started_at)).collect();
        let mut known: HashMap<Side, Vec<String>> = HashMap::new();
        for (side, map) in [(Side::Runner, &index[0]), (Side::Router, &index[1])] {
            for pq in map.keys() {
                known.entry(side).or_default().push(cut(pq).to_string());
            }
        }
        for v in known.values_mut() {
            v.sort();
            v.dedup();
        }
        Ok(Arc::new(Server {
            rec: Mutex::new(rec),
            index,
            known,
            times,
            bodies: Mutex::new(HashMap::new()),
            clock: crate::clock::ScaledClock::new(match timing {
                Timing::Clock { speed } => speed,
                Timing::At(_) => 1.0,
            }),
            timing,
            limits,
        }))
    }

    /// The seq answering now.
    pub fn current_seq(&self) -> u64 {
        match self.timing {
            Timing::At(s) => s,
            Timing::Clock { .. } => {
                use crate::clock::Clock;
                let t0 = self.times[0].1;
                let t = t0 + (self.clock.now_us() - self.clock.epoch_us());
                let i = self.times.partition_point(|(_, at)| *at <= t);
                self.times[i.saturating_sub(1)].0
            }
        }
    }

    fn taken_at(&self, seq: u64) -> String {
        self.times
            .iter()
            .find(|(s, _)| *s == seq)
            .map_or_else(String::new, |(_, t)| format_micros(*t))
    }

    fn body(&self, id: u64) -> Result<Bytes, StoreError> {
        if let Some(b) = self
            .bodies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return Ok(b.clone());
        }
        let raw = self
            .rec
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reader
            .body(id)?;
        let b = Bytes::from(raw);
        self.bodies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, b.clone());
        Ok(b)
    }

    /// The answer recorded at `seq`, or else the latest one before it.
    fn lookup(&self, side: Side, pq: &str, seq: u64) -> Option<&Answer> {
        let v = self.index[side as usize].get(pq)?;
        let i = v.partition_point(|a| a.seq <= seq);
        i.checked_sub(1).map(|i| &v[i])
    }

    fn stamp(&self, mut r: Resp, seq: u64) -> Resp {
        let h = r.headers_mut();
        if let Ok(v) = seq.to_string().parse() {
            h.insert("x-blackbox-seq", v);
        }
        if let Ok(v) = self.taken_at(seq).parse() {
            h.insert("x-blackbox-taken-at", v);
        }
        r
    }

    fn json(status: StatusCode, v: &serde_json::Value) -> Resp {
        let mut r = Response::new(Full::new(Bytes::from(
            serde_json::to_vec(v).unwrap_or_default(),
        )));
        *r.status_mut() = status;
        r.headers_mut().insert(
            "content-type",
            hyper::header::HeaderValue::from_static("application/json"),
        );
        r
    }

    /// A job page that was not recorded as such, cut from the complete list of the same
    /// snapshot with the runner's semantics (created_at DESC, `exec_limit` 1..200 else 20).
    fn derived_page(&self, path: &str, query: &BTreeMap<String, String>, seq: u64) -> Option<Resp> {
        let job = path.strip_prefix("/api/v1/jobs/")?;
        if job.contains('/')
            || !matches!(
                query.get("include").map(String::as_str),
                Some("executions" | "all")
            )
        {
            return None;
        }
        let all = self.lookup(Side::Runner, &format!("{path}/executions/all"), seq)?;
        let view = self.lookup(Side::Runner, &format!("{path}?include=executions"), seq)?;
        let (Some(ab), Some(vb)) = (all.rec.body, view.rec.body) else {
            return None;
        };
        if !matches!(all.rec.status, Some(200)) || !matches!(view.rec.status, Some(200)) {
            return None;
        }
        let all_v: serde_json::Value = serde_json::from_slice(&self.body(ab).ok()?).ok()?;
        let mut view_v: serde_json::Value = serde_json::from_slice(&self.body(vb).ok()?).ok()?;
        let limit = query
            .get("exec_limit")
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|v| (1..=200).contains(v))
            .unwrap_or(20);
        let offset = query
            .get("exec_offset")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        let rows: Vec<serde_json::Value> = all_v["executions"]
            .as_array()
            .map(|a| a.iter().skip(offset).take(limit).cloned().collect())
            .unwrap_or_default();
        view_v["executions"] = if rows.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::Value::Array(rows)
        };
        let mut r = Self::json(StatusCode::OK, &view_v);
        r.headers_mut().insert(
            "x-blackbox-derived",
            hyper::header::HeaderValue::from_static(
                "from the recorded complete list (/executions/all)",
            ),
        );
        Some(self.stamp(r, all.seq.min(view.seq)))
    }

    fn near_miss(&self, side: Side, pq: &str, seq: u64) -> Resp {
        let asked = cut(pq);
        let mut known: Vec<(usize, &String)> = self
            .known
            .get(&side)
            .into_iter()
            .flatten()
            .map(|p| (distance(asked, p), p))
            .collect();
        known.sort();
        let closest: Vec<&String> = known.iter().take(3).map(|(_, p)| *p).collect();
        let r = Self::json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({
                "error": "not recorded",
                "path": asked,
                "closest": closest,
                "hint": "beacon-blackbox replay serves only what was recorded",
            }),
        );
        self.stamp(r, seq)
    }

    /// Answers one request. `Err` closes the connection without a response.
    async fn answer(
        self: Arc<Self>,
        side: Side,
        req: Request<Incoming>,
    ) -> Result<Resp, std::io::Error> {
        let seq = self.current_seq();
        let pq = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
        let Some(a) = self.lookup(side, &pq, seq) else {
            let path = req.uri().path().to_string();
            let query: BTreeMap<String, String> = req
                .uri()
                .query()
                .map(|q| {
                    q.split('&')
                        .filter_map(|kv| {
                            kv.split_once('=')
                                .map(|(k, v)| (k.to_string(), v.to_string()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            if side == Side::Runner
                && let Some(r) = self.derived_page(&path, &query, seq)
            {
                return Ok(r);
            }
            return Ok(self.near_miss(side, &pq, seq));
        };
        if let Some(err) = &a.rec.error {
            match FetchErrorKind::from_u8(err.kind) {
                FetchErrorKind::Timeout => {
                    // Wait as long as the recorded request waited, then hang up.
                    tokio::time::sleep(Duration::from_micros(a.rec.latency_us.min(600_000_000)))
                        .await;
                    return Err(std::io::Error::other("re-enacted timeout"));
                }
                _ => return Err(std::io::Error::other("re-enacted connection failure")),
            }
        }
        let body = match a.rec.body {
            Some(id) => self.body(id).map_err(std::io::Error::other)?,
            None => Bytes::new(),
        };
        let mut r = Response::new(Full::new(body));
        *r.status_mut() =
            StatusCode::from_u16(a.rec.status.unwrap_or(502)).unwrap_or(StatusCode::BAD_GATEWAY);
        let h = r.headers_mut();
        for (name, v) in [
            ("content-type", &a.content_type),
            ("x-blackbox-seq", &a.seq_header),
            ("x-blackbox-taken-at", &a.taken_header),
        ] {
            if let Some(v) = v {
                h.insert(name, v.clone());
            }
        }
        Ok(r)
    }
}

async fn bind(addr: &str) -> Result<TcpListener, ReplayError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ReplayError::Bind {
            addr: addr.into(),
            source,
        })
}

fn serve(server: Arc<Server>, listener: TcpListener, side: Side) {
    let limits = server.limits;
    super::accept::serve(listener, limits, move |req| {
        server.clone().answer(side, req)
    });
}

/// Starts both listeners on the current runtime; returns (runner, router) addresses.
pub async fn start(
    server: Arc<Server>,
    runner_listen: &str,
    router_listen: &str,
) -> Result<(SocketAddr, SocketAddr), ReplayError> {
    let rl = bind(runner_listen).await?;
    let ol = bind(router_listen).await?;
    let addrs = (
        rl.local_addr().map_err(|source| ReplayError::Bind {
            addr: runner_listen.into(),
            source,
        })?,
        ol.local_addr().map_err(|source| ReplayError::Bind {
            addr: router_listen.into(),
            source,
        })?,
    );
    serve(server.clone(), rl, Side::Runner);
    serve(server, ol, Side::Router);
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::distance;

    #[test]
    fn edit_distance() {
        assert_eq!(distance("/api/v1/jobs/a", "/api/v1/jobs/a"), 0);
        assert_eq!(distance("/api/v1/jobs/b", "/api/v1/jobs/a"), 1);
        assert_eq!(distance("", "abc"), 3);
    }
}
