//! The HTML page of a report: self-contained (inline CSS), every value escaped.

use super::render::{md_style, report_markdown};
use super::safe::term;
use super::text::Ctx;
use super::words;
use crate::analysis::report::Report;
use std::io::{self, Write};

/// HTML-escapes a value (after `term`, so no control character survives either).
pub fn esc(s: &str) -> String {
    term(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub fn report_html(r: &Report, ctx: Ctx, out: &mut dyn Write) -> io::Result<()> {
    let plain = Ctx::new(ctx.start_us, false);
    let st = words::Style {
        ctx: plain,
        esc: &esc,
    };
    writeln!(
        out,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Beacon incident report</title>"
    )?;
    writeln!(
        out,
        "<style>body{{font-family:sans-serif;max-width:70em;margin:2em auto}}pre{{white-space:pre-wrap}}</style></head><body>"
    )?;
    writeln!(out, "<h1>Beacon incident report</h1>")?;
    for j in &r.jobs {
        writeln!(out, "<p>{}</p>", words::answer(&j.answer, &st))?;
    }
    writeln!(out, "<h2>Findings</h2><ol>")?;
    for f in &r.findings {
        writeln!(out, "<li>{}</li>", words::finding(f, &st))?;
    }
    writeln!(out, "</ol>")?;
    let mut md = Vec::new();
    let _ = md_style(plain);
    report_markdown(r, plain, &mut md)?;
    writeln!(
        out,
        "<h2>Full report (Markdown)</h2><pre>{}</pre></body></html>",
        esc(&String::from_utf8_lossy(&md))
    )
}
