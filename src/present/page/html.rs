//! The postmortem page as one HTML document: the answer, the findings, the lanes on one time
//! axis, the matrix grid, and the tables after; the live page's script.

use super::super::text::{Ctx, date_time, grouped, plural};
use super::super::words;
use super::esc::esc;
use crate::analysis::findings::Finding;
use crate::analysis::lanes::{Lanes, Mark};
use crate::analysis::report::{Made, Report};
use crate::analysis::router::ProviderState;
use crate::duration::human;
use std::fmt::Write;

/// How the page is served.
#[derive(Debug, Clone, Copy, Default)]
pub struct Live {
    /// The snapshot the page shows; the page asks for a newer one every few seconds.
    pub seq: u64,
    /// Whether a recorder is still writing (said at the top).
    pub recording: bool,
    /// The recording this server's process ran has ended: the page no longer changes.
    pub ended: bool,
}

const CSS: &str = include_str!("page.css");

/// The live page's only script: fetch `main?after=SEQ`; a 200 carries a newer `<main>`.
/// A failed look says so at the bottom of the window until one succeeds; open `<details>` stay
/// open across updates.
const LIVE_JS: &str = r#"(function(){var m=document.querySelector('main');var s=document.getElementById('live-status');var seq=m.dataset.seq;function say(t){s.textContent=t;s.hidden=!t;var h=document.getElementById('live-state');if(h&&t){h.className='live stopped';h.textContent='Updates stopped at snapshot '+parseInt(seq,10)+': this page no longer changes.';}}function tick(){if(/e$/.test(seq))return;fetch('main?after='+seq,{cache:'no-store'}).then(function(r){if(r.status===200){seq=r.headers.get('x-seq');return r.text().then(function(t){var y=window.scrollY;var open=[].map.call(m.querySelectorAll('details'),function(d){return d.open;});m.innerHTML=t;[].forEach.call(m.querySelectorAll('details'),function(d,i){if(open[i])d.open=true;});m.dataset.seq=seq;window.scrollTo(0,y);say('');});}if(r.status===204){say('');return;}return r.text().then(function(t){say('Updates stopped: '+t);});}).catch(function(){say('Updates stopped: the server does not answer.');}).then(function(){setTimeout(tick,2000);});}setTimeout(tick,2000);})();"#;

/// The whole document.
pub fn report_html(r: &Report, l: &Lanes, ctx: Ctx, live: Option<Live>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let title = match r.jobs.as_slice() {
        [j] => format!("Beacon incident: {}", esc(&j.summary.job_id)),
        _ => "Beacon incident report".to_string(),
    };
    // A file opened from disk runs nothing and fetches nothing; the live page's CSP comes in
    // its response headers.
    let csp = if live.is_none() {
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
    } else {
        ""
    };
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{csp}<link rel=\"icon\" href=\"data:,\"><title>{title}</title><style>{CSS}</style></head><body>"
    );
    let _ = write!(
        out,
        "<main data-seq=\"{}{}\">",
        live.map_or(0, |lv| lv.seq),
        if live.is_some_and(|lv| lv.ended) {
            "e"
        } else {
            ""
        }
    );
    main_html(r, l, ctx, live, &mut out);
    out.push_str("</main>");
    if live.is_some() {
        out.push_str("<p id=\"live-status\" hidden></p>");
        let _ = write!(out, "<script>{LIVE_JS}</script>");
    }
    out.push_str("</body></html>\n");
    out
}

/// The page's title and how it was recorded (and, live, what the page is following).
fn header(r: &Report, live: Option<Live>, out: &mut String) {
    // A recording written through the library (examples/synth) was never polled: said first.
    let synthetic = r
        .recording
        .sessions
        .iter()
        .any(|s| s.made == crate::analysis::report::Made::Synthetic);
    let _ = write!(
        out,
        "<header><h1>{}{}</h1>",
        if synthetic {
            "Synthetic recording — "
        } else {
            ""
        },
        match r.jobs.as_slice() {
            [j] => format!("Beacon incident: job {}", esc(&j.summary.job_id)),
            _ => "Beacon incident report".to_string(),
        }
    );
    if synthetic {
        out.push_str("<p class=\"meta synthetic\">Written through the library (examples/synth), not polled: no runner or router was asked; the figures show what the page does at this size, not an incident.</p>");
    }
    let rc = &r.recording;
    if let (Some(a), Some(b)) = (&rc.first, &rc.last) {
        let _ = write!(
            out,
            "<p class=\"meta\">Recorded from {} to {} ({}, {}). Times are UTC with the offset from the start (+0).",
            date_time(a.taken_at.0),
            date_time(b.taken_at.0),
            human((rc.span_seconds * 1e6) as i64),
            plural(rc.snapshots as u64, "snapshot", "snapshots")
        );
        if let Some(lv) = live {
            let (class, words) = match (lv.recording, lv.ended) {
                (_, true) => (
                    "live ended",
                    format!(
                        "Recording ended at snapshot {}: this page no longer changes.",
                        lv.seq
                    ),
                ),
                (true, false) => (
                    "live",
                    format!("Live: recording — snapshot {}, updates by itself.", lv.seq),
                ),
                (false, false) => (
                    "live stopped",
                    format!(
                        "File not being recorded (no recorder holds it) — snapshot {}; the page updates if one adds to it.",
                        lv.seq
                    ),
                ),
            };
            let _ = write!(
                out,
                " <span class=\"{class}\" id=\"live-state\">{words}</span>"
            );
        }
        out.push_str("</p>");
        if let Some(w) = super::super::render::window_words(r) {
            let _ = write!(out, "<p class=\"meta\">{}</p>", esc(&w));
        }
    } else {
        out.push_str("<p class=\"meta\">No snapshot recorded yet.</p>");
    }
    out.push_str("</header>");
}

/// Up to this many notes are shown open; more fold into one line.
const NOTES_OPEN: usize = 6;

/// The inside of `<main>` (what the live page swaps in).
pub fn main_html(r: &Report, l: &Lanes, ctx: Ctx, live: Option<Live>, out: &mut String) {
    let plain = Ctx::new(ctx.start_us, false);
    let st = words::Style {
        ctx: plain,
        esc: &esc,
    };
    header(r, live, out);

    out.push_str("<section class=\"answer\"><h2>The answer</h2>");
    super::figures::figures(&r.jobs, &st, out);
    if r.recording.snapshots > 0 {
        super::strip::strip(l, plain, out);
    }
    for j in &r.jobs {
        let _ = write!(
            out,
            "<p>{}</p>",
            super::esc::code_spans(&words::answer(&j.answer, &st))
        );
    }
    out.push_str("</section><section class=\"findings\"><h2>Findings</h2><ol>");
    for (i, f) in r.findings.iter().enumerate() {
        let link = evidence(f, r)
            .map(|(href, what)| format!(" <a class=\"ev\" href=\"#{href}\">{what} ↓</a>"))
            .unwrap_or_default();
        let seen = words::first_seen(r.first_seen.get(i).copied().flatten(), &st);
        let _ = write!(
            out,
            "<li>{}<span class=\"meta\">{}</span>{link}</li>",
            super::esc::code_spans(&words::finding(f, &st)),
            super::esc::esc(&seen)
        );
    }
    out.push_str("</ol></section>");

    if l.start_us == l.end_us && r.recording.snapshots == 0 {
        out.push_str("<section class=\"timeline\" id=\"lanes\"><h2>On one time axis</h2><p>Nothing recorded yet: no lanes to draw.</p></section>");
        recorded(r, plain, out);
        return;
    }
    out.push_str("<section class=\"timeline\" id=\"lanes\"><h2>On one time axis</h2>");
    legend(out);
    let (svg, flags) = super::lanes::lanes_svg(l, plain);
    out.push_str("<div class=\"svg-wrap\">");
    out.push_str(&svg);
    out.push_str("</div>");
    if !flags.is_empty() {
        out.push_str("<ol class=\"flags\">");
        for (n, at, text) in &flags {
            let outside = match *at {
                a if a > l.end_us => " (after the recording's end)",
                a if a < l.start_us => " (before the recording's start)",
                _ => "",
            };
            let _ = write!(
                out,
                "<li value=\"{n}\"><a href=\"#marker-{n}\">{}</a>{outside}: {text}</li>",
                plain.time(*at)
            );
        }
        out.push_str("</ol>");
    }
    out.push_str("</section>");
    if !r.recording.notes.is_empty() {
        // Many notes (each finding's begin and end, said while recording) fold away: the
        // lanes' flags mark each one in time.
        let n = r.recording.notes.len();
        out.push_str("<section class=\"notes\" id=\"notes\"><h2>Notes</h2>");
        if n > NOTES_OPEN {
            let _ = write!(
                out,
                "<details><summary>{} (findings said while recording, and notes people added)</summary>",
                plural(n as u64, "note", "notes")
            );
        }
        out.push_str("<ul>");
        for n in &r.recording.notes {
            let _ = write!(out, "<li>{}</li>", super::super::render::note_words(n, &st));
        }
        out.push_str("</ul>");
        if n > NOTES_OPEN {
            out.push_str("</details>");
        }
        out.push_str("</section>");
    }

    for (k, j) in r.jobs.iter().enumerate() {
        super::grid::grid(j, k, out);
        signatures(j, k, out);
    }
    router_changes(r, &st, out);
    endpoints(r, &st, out);
    windows(r, plain, out);
    recorded(r, plain, out);
}

/// Where a finding's evidence is drawn: (anchor, words).
fn evidence(f: &Finding, r: &Report) -> Option<(String, &'static str)> {
    use Finding::*;
    let j = f
        .job()
        .and_then(|name| r.jobs.iter().position(|j| j.summary.job_id == name))
        .unwrap_or(0);
    Some(match f {
        EmptyRecording => return None,
        JobNotFound { .. }
        | DefaultViewTruncated { .. }
        | Coverage { .. }
        | StatusChanged { .. }
        | StatusStayed { .. }
        | VanishedRows { .. } => (format!("rows-{j}"), "rows lane"),
        NoSpec { .. }
        | MatrixCounted { .. }
        | UnplannedRegions { .. }
        | MissingCells { .. }
        | OnlyDefaultView { .. }
        | UnexpectedRows { .. }
        | RowsWithoutCell { .. } => (format!("grid-{j}"), "grid"),
        RepeatedIds { .. }
        | RowsWithoutId { .. }
        | ClockSkew { .. }
        | ExactDuration { .. }
        | NearInstantFailures { .. }
        | FailureSpan { .. } => (format!("waterfall-{j}"), "waterfall"),
        FailureSignature { .. } => (format!("sigs-{j}"), "how they failed"),
        RouterAllHealthy { .. }
        | FailedWhileAllHealthy { .. }
        | RouterChanges { .. }
        | HealthyWithNone { .. }
        | HealthDisagrees { .. }
        | ProviderState { .. }
        | ProviderRate { .. }
        | RouterRestart { .. } => ("router".to_string(), "router lane"),
        RowProblems { .. } | FetchOutage { .. } | RecorderGap { .. } => {
            ("fetches".to_string(), "requests lane")
        }
        StuckJobs { .. } => ("endpoints".to_string(), "extra endpoints"),
    })
}

fn legend(out: &mut String) {
    out.push_str("<div class=\"legend\"><span class=\"k\">rows, bars:</span>");
    for (c, w) in [
        ("completed", "completed"),
        ("failed", "failed"),
        ("running", "running"),
        ("other", "other (retrying, queued, ...)"),
    ] {
        let _ = write!(out, "<span><i class=\"sw st-{c}\"></i>{w}</span>");
    }
    out.push_str("<span><i class=\"sw dv\"></i>default view's rows</span><span><i class=\"sw dupsw\"></i>a cell's later row</span><span>◆ near-instant</span><span><i class=\"sw modesw\"></i>exactly the common duration</span><br><span class=\"k\">providers:</span>");
    for st in ProviderState::ALL
        .into_iter()
        .filter(|s| *s != ProviderState::Absent)
    {
        let c = format!("{st:?}");
        let _ = write!(
            out,
            "<span><i class=\"sw ps-{}\"></i>{}</span>",
            snake(&c),
            super::router_lane::state_words(st)
        );
    }
    out.push_str("<br><span class=\"k\">requests:</span>");
    for m in Mark::ALL {
        let _ = write!(
            out,
            "<span><i class=\"sw hb-{}\"></i>{}</span>",
            super::sources::mark_css_class(m),
            m.name()
        );
    }
    out.push_str("<span><i class=\"sw outsw\"></i>a source failing</span><span><i class=\"sw gapsw\"></i>not sent by the recorder</span><span><i class=\"sw norecsw\"></i>not recorded</span><span>▸ goes on past the edge</span></div>");
}

fn snake(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn signatures(j: &crate::analysis::job::JobReport, k: usize, out: &mut String) {
    let f = &j.history.failures;
    if f.signatures.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<section class=\"sigs\" id=\"sigs-{k}\"><h3>How the rows failed: {}</h3><div class=\"table-wrap\"><table><tr><th>rows</th><th>status</th><th>error code</th><th>stage</th><th>provider</th><th>output</th><th>error text</th><th>e.g.</th></tr>",
        esc(&j.summary.job_id)
    );
    for s in &f.signatures {
        let k = &s.key;
        let ids: Vec<String> = s.example_ids.iter().map(|i| i.to_string()).collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"err\">{}</td><td>{}</td></tr>",
            s.count,
            esc(&k.status),
            k.error_code.as_deref().map_or("-".into(), esc),
            k.failure_stage.as_deref().map_or("-".into(), esc),
            if k.provider_empty { "empty" } else { "set" },
            match k.output_null {
                Some(true) => "null or absent",
                Some(false) => "present",
                None => "-",
            },
            s.error_text.as_deref().map_or("-".into(), esc),
            ids.join(", ")
        );
    }
    out.push_str("</table></div></section>");
}

fn router_changes(r: &Report, st: &words::Style, out: &mut String) {
    let t = &r.router.transitions;
    if t.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<section class=\"changes\"><details><summary>Router changes ({})</summary><ul>",
        t.len()
    );
    for c in t {
        let _ = write!(
            out,
            "<li>{}: {}</li>",
            st.ctx.time(c.at.0),
            words::change(&c.change, st)
        );
    }
    out.push_str("</ul></details></section>");
}

fn endpoints(r: &Report, sty: &words::Style, out: &mut String) {
    let e = &r.endpoints;
    if e.endpoints.is_empty() {
        return;
    }
    out.push_str("<section class=\"endpoints\" id=\"endpoints\"><h3>Extra endpoints</h3><div class=\"table-wrap\"><table><tr><th>endpoint</th><th>requests</th><th>ok</th><th>failed</th><th>not offered</th><th>changes</th></tr>");
    for c in &e.endpoints {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.endpoint.label()),
            c.requests,
            c.ok,
            c.failed,
            c.not_offered,
            c.changes
        );
    }
    out.push_str("</table></div><ul>");
    for q in &e.queues {
        let _ = write!(out, "<li>{}</li>", words::queue_line(q, sty));
    }
    if let Some(st) = &e.stuck_jobs {
        let jobs: Vec<String> = st.jobs.iter().take(20).map(|j| esc(j)).collect();
        let _ = write!(
            out,
            "<li>Stuck jobs (runner): at most {}{}.</li>",
            st.max_count,
            if jobs.is_empty() {
                String::new()
            } else {
                format!(": {}", jobs.join(", "))
            }
        );
    }
    for c in &e.checks {
        let _ = write!(out, "<li>{}</li>", words::checks_line(c, sty));
    }
    out.push_str("</ul></section>");
}

fn windows(r: &Report, ctx: Ctx, out: &mut String) {
    let f = &r.fetch;
    if f.outages.is_empty() && f.gaps.is_empty() {
        return;
    }
    out.push_str("<section class=\"windows\"><h3>Request windows</h3><ul>");
    for (what, list) in [
        ("failed", &f.outages),
        ("not sent by the recorder", &f.gaps),
    ] {
        for o in list {
            let kinds: Vec<String> = o.kinds.iter().map(|k| esc(&k.word())).collect();
            let _ = write!(
                out,
                "<li>{}{}{} {what} from {} to {} ({}: {}){}</li>",
                esc(o.source),
                o.endpoint
                    .as_deref()
                    .map_or(String::new(), |e| format!(" {}", esc(e))),
                o.job
                    .as_deref()
                    .map_or(String::new(), |j| format!(" ({})", esc(j))),
                ctx.time(o.from.0),
                ctx.time(o.to.0),
                plural(o.snapshots as u64, "snapshot", "snapshots"),
                kinds.join(", "),
                o.recovered_at.map_or(String::new(), |t| format!(
                    "; answered again at {}",
                    ctx.time(t.0)
                ))
            );
        }
    }
    out.push_str("</ul></section>");
}

fn recorded(r: &Report, ctx: Ctx, out: &mut String) {
    let rc = &r.recording;
    let _ = write!(
        out,
        "<section class=\"recorded\"><h3>How this was recorded</h3><p>{}; {} of {} requests failed, {} not sent by the recorder. Page by {}.</p><ul>",
        plural(rc.snapshots as u64, "snapshot", "snapshots"),
        grouped(r.fetch.failed_requests as u64),
        grouped(r.fetch.requests as u64),
        grouped(r.fetch.unsent_requests as u64),
        esc(&rc.reported_by)
    );
    for s in &rc.sessions {
        if s.made == Made::Synthetic {
            let _ = write!(
                out,
                "<li>session from {}: synthetic, written through the library (no runner, router or polling interval: nothing was fetched over HTTP)</li>",
                ctx.time(s.started_at.0)
            );
            continue;
        }
        if s.made == Made::Imported {
            let _ = write!(
                out,
                "<li>session from {}: imported{}</li>",
                ctx.time(s.started_at.0),
                s.label
                    .as_deref()
                    .map_or(String::new(), |l| format!(", label {}", esc(l)))
            );
        } else {
            let _ = write!(
                out,
                "<li>session from {}: runner {}, router {}, every {}, timeout {}, at most {} runner requests a minute{}</li>",
                ctx.time(s.started_at.0),
                s.runner.as_deref().map_or("-".into(), esc),
                s.router.as_deref().map_or("-".into(), esc),
                human(s.interval_ms as i64 * 1000),
                human(s.timeout_ms as i64 * 1000),
                s.max_runner_rpm,
                s.label
                    .as_deref()
                    .map_or(String::new(), |l| format!(", label {}", esc(l)))
            );
        }
        if !s.origin.is_empty() {
            let o: Vec<String> = s.origin.iter().take(20).map(|x| esc(x)).collect();
            let _ = write!(
                out,
                "<li>imported, not recorded ({}): {}{}</li>",
                s.origin.len(),
                o.join("; "),
                if s.origin.len() > 20 { "; ..." } else { "" }
            );
        }
    }
    out.push_str("</ul></section>");
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::present::page::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            esc("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
        assert!(!esc("a\u{1b}[31mb").contains('\u{1b}'));
        assert_eq!(snake("ChecksFailing"), "checks_failing");
    }
}
