//! The recording as Prometheus history: the series `/metrics` would have served at every
//! snapshot (`analysis::metrics::families`), each sample stamped with its snapshot's start, in
//! OpenMetrics text — what `promtool tsdb create-blocks-from openmetrics` loads. One family's
//! samples together, each series' in time order, `# EOF` at the end.

use crate::analysis::Recording;
use crate::analysis::metrics::{Family, Tally, families, rows_of};
use std::collections::BTreeMap;

/// What was written: series and samples.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub snapshots: usize,
    pub series: usize,
    pub samples: usize,
}

/// One family with the samples of each of its series, in the order first seen.
struct Gathered {
    meta: Family,
    series: Vec<(crate::analysis::metrics::Sample, Vec<(i64, f64)>)>,
    index: BTreeMap<Vec<(&'static str, String)>, usize>,
}

pub fn openmetrics(rec: &Recording) -> Result<(String, Counts), String> {
    let rows = rows_of(rec)?;
    let judged = !rec.findings.is_empty();
    let mut tally = Tally::default();
    let mut order: Vec<&'static str> = Vec::new();
    let mut by: BTreeMap<&'static str, Gathered> = BTreeMap::new();
    let mut counts = Counts::default();
    for info in &rec.infos {
        tally.advance(rec, info.seq);
        counts.snapshots += 1;
        for mut f in families(rec, info.seq, &tally, &rows)? {
            if !judged && f.name.starts_with("blackbox_finding") {
                continue;
            }
            let samples = std::mem::take(&mut f.samples);
            let g = by.entry(f.name).or_insert_with(|| {
                order.push(f.name);
                Gathered {
                    meta: f,
                    series: Vec::new(),
                    index: BTreeMap::new(),
                }
            });
            for s in samples {
                let i = match g.index.get(&s.labels) {
                    Some(i) => *i,
                    None => {
                        g.index.insert(s.labels.clone(), g.series.len());
                        g.series.push((s.clone(), Vec::new()));
                        g.series.len() - 1
                    }
                };
                g.series[i].1.push((info.started_at, s.value));
            }
        }
    }
    let mut out = String::new();
    for name in order {
        let g = &by[name];
        crate::present::metrics::openmetrics_meta(&g.meta, &mut out);
        for (s, points) in &g.series {
            counts.series += 1;
            for (at, v) in points {
                let mut p = s.clone();
                p.value = *v;
                crate::present::metrics::openmetrics_sample(&g.meta, &p, *at, &mut out);
                counts.samples += 1;
            }
        }
    }
    out.push_str("# EOF\n");
    Ok((out, counts))
}
