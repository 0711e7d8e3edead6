//! Everything that turns the analysis's typed values into something a person reads: the
//! sentences (`words`), text and Markdown (`render`), JSON with its sentences (`json`), the HTML
//! page (`page`), how text reads (`text`: times, sizes, plurals, colour) and the escaping of
//! every recorded value on its way out (`safe`). Nothing here reads a database or parses an
//! argument: it is given values and writes them.

pub mod json;
pub mod metrics;
pub mod page;
pub mod render;
pub mod safe;
pub mod snapshots;
pub mod text;
pub mod words;

/// A line on stderr. Every line goes through the URL redactor on its way out: the last guard
/// against a library's message that quotes a URL with its credentials.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{}", crate::redact::in_text(line));
}
