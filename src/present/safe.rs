//! Hostile text on its way to a terminal or a document. Field values come from the runner and
//! router (and from whoever can write to them): an ANSI escape could rewrite the screen, a CR or
//! LF could forge a line of the report, a bidi override could reorder what is read.
//!
//! - `term` shows every such character escaped (`\x1b`, `\n`, `\u{202e}`): for each value put
//!   into a line of text.
//! - `md` does the same and also escapes what would break a Markdown table cell or list item.
//! - `TextOut` and `JsonOut` wrap the output of every command, as a second line of defence:
//!   `TextOut` escapes control characters other than the newline and tab the renderers write
//!   themselves; `JsonOut` writes DEL, C1 controls and bidi controls (which JSON allows raw in
//!   strings) as `\u` escapes, which keeps the JSON value the same.
//!
//! Colour: renderers mark their own escapes with `PAINT` (a private-use character); `term`
//! shows that character escaped when a value carries it, and `TextOut` turns only the
//! renderer's marks into real escapes. A value can never colour, move or clear the screen.

use std::borrow::Cow;
use std::io::{self, Write};

/// The renderers' mark for a colour escape (see the module doc).
pub const PAINT: char = '\u{e000}';

/// Characters that must not reach a terminal raw.
fn is_hostile(c: char) -> bool {
    c.is_control()
        || c == PAINT
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}')
}

fn escape_into(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// A value for one line of text: every control and bidi character shown escaped.
/// A backslash of the value is doubled, so that a value holding the four characters `\x1b`
/// never reads as an escaped ESC.
pub fn term(s: &str) -> Cow<'_, str> {
    escaped(s, true)
}

/// `term` for a document that shows escapes apart from text (the page): controls escaped,
/// backslashes left as they are.
pub fn controls(s: &str) -> Cow<'_, str> {
    escaped(s, false)
}

fn escaped(s: &str, backslash: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_hostile(c) || (backslash && c == '\\')) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hostile(c) {
            escape_into(&mut out, c);
        } else if backslash && c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A value for a Markdown table cell or list item: `term`, plus `|`, backticks and what could
/// start HTML (`<`, and `&` before an entity name); a lone `>` (our own `->`) opens nothing.
pub fn md(s: &str) -> String {
    let t = term(s);
    let mut out = String::with_capacity(t.len());
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '|' => out.push_str("\\|"),
            '`' => out.push_str("\\`"),
            '<' => out.push_str("&lt;"),
            '&' if chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '#') =>
            {
                out.push_str("&amp;")
            }
            c => out.push(c),
        }
    }
    out
}

/// A writer that passes text through a per-character filter. Bytes that do not form UTF-8 are
/// shown as `\xNN`; a character split across two writes is held until it is whole.
struct Filter<'a, F: Fn(char, &mut String) -> bool> {
    inner: &'a mut dyn Write,
    held: Vec<u8>,
    escape: F,
}

impl<F: Fn(char, &mut String) -> bool> Filter<'_, F> {
    fn pass(&mut self, text: &str) -> io::Result<()> {
        let mut out = String::new();
        let mut start = 0;
        for (i, c) in text.char_indices() {
            let mut esc = String::new();
            if (self.escape)(c, &mut esc) {
                out.push_str(&text[start..i]);
                out.push_str(&esc);
                start = i + c.len_utf8();
            }
        }
        if start == 0 {
            return self.inner.write_all(text.as_bytes());
        }
        out.push_str(&text[start..]);
        self.inner.write_all(out.as_bytes())
    }
}

/// Bytes that need no look: printable ASCII, newline and tab.
fn plain(b: u8) -> bool {
    (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t'
}

/// `plain` of every byte, 64 at a time without stopping early inside a run (which lets the
/// compiler check a run in a few vector instructions).
fn all_plain(buf: &[u8]) -> bool {
    buf.chunks(64)
        .all(|run| run.iter().fold(true, |ok, &b| ok & plain(b)))
}

impl<F: Fn(char, &mut String) -> bool> Write for Filter<'_, F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The common case, and serde writes many small pieces: nothing to look at.
        if self.held.is_empty() && all_plain(buf) {
            self.inner.write_all(buf)?;
            return Ok(buf.len());
        }
        self.held.extend_from_slice(buf);
        let data = std::mem::take(&mut self.held);
        let mut rest: &[u8] = &data;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    self.pass(s)?;
                    break;
                }
                Err(e) => {
                    let (ok, bad) = rest.split_at(e.valid_up_to());
                    // Valid by construction.
                    self.pass(std::str::from_utf8(ok).unwrap_or_default())?;
                    match e.error_len() {
                        Some(n) => {
                            for b in &bad[..n] {
                                write!(self.inner, "\\x{b:02x}")?;
                            }
                            rest = &bad[n..];
                        }
                        None => {
                            self.held = bad.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            for b in held {
                write!(self.inner, "\\x{b:02x}")?;
            }
        }
        self.inner.flush()
    }
}

impl<F: Fn(char, &mut String) -> bool> Drop for Filter<'_, F> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Text output: control and bidi characters other than `\n` and `\t` are shown escaped; the
/// renderers' colour marks become escapes.
pub fn text_out(inner: &mut dyn Write) -> impl Write + '_ {
    Filter {
        inner,
        held: Vec::new(),
        escape: |c: char, out: &mut String| {
            if c == PAINT {
                out.push('\x1b');
                return true;
            }
            if c == '\n' || c == '\t' || !is_hostile(c) {
                return false;
            }
            escape_into(out, c);
            true
        },
    }
}

/// `v` as pretty JSON and a newline through `json_out`, written whole: serde's many small
/// writes go to memory, and the filter looks at the text once.
pub fn write_json_pretty<T: serde::Serialize + ?Sized>(
    inner: &mut dyn Write,
    v: &T,
) -> io::Result<()> {
    let mut text = serde_json::to_vec_pretty(v).map_err(io::Error::other)?;
    text.push(b'\n');
    json_out(inner).write_all(&text)
}

/// JSON output: characters JSON allows raw in strings but a terminal would act on are written
/// as `\uXXXX`, which decodes to the same string.
pub fn json_out(inner: &mut dyn Write) -> impl Write + '_ {
    Filter {
        inner,
        held: Vec::new(),
        escape: |c: char, out: &mut String| {
            // serde_json already escapes C0; a raw newline between values is layout.
            if (c as u32) < 0x20 || !is_hostile(c) {
                return false;
            }
            out.push_str(&format!("\\u{:04x}", c as u32));
            true
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_renderers_marks_become_colour() {
        let mut buf = Vec::new();
        {
            let mut w = text_out(&mut buf);
            let value = format!("{PAINT}[31mforged");
            write!(w, "{PAINT}[1mok{PAINT}[0m {}", term(&value)).unwrap();
        }
        let s = String::from_utf8(buf).unwrap();
        assert_eq!(s, "\x1b[1mok\x1b[0m \\u{e000}[31mforged");
    }

    #[test]
    fn values_are_escaped_for_one_line() {
        assert_eq!(term("plain"), "plain");
        // A value holding the four characters \x1b is told apart from an escaped ESC.
        assert_eq!(term("a\\x1b"), "a\\\\x1b");
        assert_eq!(term("a\x1b"), "a\\x1b");
        assert_eq!(controls("C:\\dir"), "C:\\dir");
        assert_eq!(term("a\x1b[31mred\r\nforged"), "a\\x1b[31mred\\r\\nforged");
        assert_eq!(term("x\u{202e}y\u{9b}z"), "x\\u{202e}y\\u{9b}z");
        assert_eq!(
            md("a|b <i>&amp;`x` -> y & z"),
            "a\\|b &lt;i>&amp;amp;\\`x\\` -> y & z"
        );
    }

    #[test]
    fn writers_filter_streams() {
        let mut buf = Vec::new();
        {
            let mut w = text_out(&mut buf);
            w.write_all("ok\n\x1b[2J".as_bytes()).unwrap();
            // A character split across writes: U+202E is E2 80 AE.
            w.write_all(&[b'a', 0xE2, 0x80]).unwrap();
            w.write_all(&[0xAE, b'b', 0xFF]).unwrap();
        }
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "ok\n\\x1b[2Ja\\u{202e}b\\xff"
        );
        let mut buf = Vec::new();
        {
            let mut w = json_out(&mut buf);
            serde_json::to_writer(&mut w, &serde_json::json!({"v": "a\u{9b}\u{1b}b"})).unwrap();
        }
        let s = String::from_utf8(buf).unwrap();
        assert_eq!(s, r#"{"v":"a\u009b\u001bb"}"#);
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["v"], "a\u{9b}\u{1b}b");
    }
}
