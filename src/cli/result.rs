//! What a command that does one thing says it did: a sentence, or with `--json` one JSON
//! object (the same facts, for scripts).

use crate::present::safe::json_out;
use std::io::Write;

/// Writes `text` (a line), or `value` as JSON when `json`.
pub fn said(
    out: &mut dyn Write,
    json: bool,
    text: &str,
    value: serde_json::Value,
) -> std::io::Result<()> {
    if json {
        let mut o = json_out(out);
        serde_json::to_writer_pretty(&mut o, &value)?;
        writeln!(o)
    } else {
        writeln!(out, "{text}")
    }
}
