//! The one escaper of the page: every recorded value goes through `esc` on its way into HTML.

use crate::present::safe::controls;

/// Letters written right to left (Hebrew, Arabic, Syriac, Thaana, ...).
fn right_to_left(c: char) -> bool {
    matches!(c, '\u{0590}'..='\u{08FF}' | '\u{FB1D}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
}

/// HTML-escapes a value (after `controls`, so no control character survives either). A value
/// with right-to-left letters is isolated (FSI ... PDI), so it cannot reorder the text around
/// it.
pub fn esc(s: &str) -> String {
    let t = controls(s);
    let rtl = t.chars().any(right_to_left);
    let mut out = String::with_capacity(t.len() + 6);
    // As character references: the page's text passes a filter that escapes raw bidi
    // controls, and these are ours.
    if rtl {
        out.push_str("&#x2068;");
    }
    for c in t.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Kept apart from the sentences' own code spans (see `code_spans`).
            '`' => out.push_str("&#96;"),
            c => out.push(c),
        }
    }
    if rtl {
        out.push_str("&#x2069;");
    }
    out
}

/// The sentences' Markdown code (`output`) as `<code>`. Recorded values reach here escaped,
/// their backticks as `&#96;`, so only the sentences' own pairs are turned; a lone one stays.
pub fn code_spans(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut rest = s;
    while let Some(a) = rest.find('`') {
        let Some(b) = rest[a + 1..].find('`') else {
            break;
        };
        out.push_str(&rest[..a]);
        out.push_str("<code>");
        out.push_str(&rest[a + 1..a + 1 + b]);
        out.push_str("</code>");
        rest = &rest[a + 2 + b..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_turn_only_the_sentences_pairs() {
        assert_eq!(
            code_spans("`output` is absent, `a` and `b`"),
            "<code>output</code> is absent, <code>a</code> and <code>b</code>"
        );
        assert_eq!(code_spans("one ` alone"), "one ` alone");
        // A recorded value's backticks are escaped first: never a span.
        let v = esc("x`<b>`y");
        assert_eq!(v, "x&#96;&lt;b&gt;&#96;y");
        assert_eq!(code_spans(&format!("`{v}`")), format!("<code>{v}</code>"));
    }
}
