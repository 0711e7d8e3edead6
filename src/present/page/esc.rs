//! The one escaper of the page: every recorded value goes through `esc` on its way into HTML.

use crate::present::safe::term;

/// Letters written right to left (Hebrew, Arabic, Syriac, Thaana, ...).
fn right_to_left(c: char) -> bool {
    matches!(c, '\u{0590}'..='\u{08FF}' | '\u{FB1D}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
}

/// HTML-escapes a value (after `term`, so no control character survives either). A value
/// with right-to-left letters is isolated (FSI ... PDI), so it cannot reorder the text around
/// it.
pub fn esc(s: &str) -> String {
    let t = term(s);
    let rtl = t.chars().any(right_to_left);
    let mut out = String::with_capacity(t.len() + 6);
    if rtl {
        out.push('\u{2068}');
    }
    for c in t.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    if rtl {
        out.push('\u{2069}');
    }
    out
}
