//! Secrets out of URLs, before a URL is stored, printed or put in an error message: the
//! userinfo (`user:password@`), the fragment, and the value of every query parameter whose name
//! looks like a credential (`?token=`, `?api_key=`, `?sig=` ...). The parameter's name stays,
//! with the value `REDACTED`, so the evidence that one was sent is kept and its value is not.

use std::borrow::Cow;

/// What replaces a secret query value.
pub const REDACTED: &str = "REDACTED";

/// Parts of a parameter name that mark it as a credential. Over-matching is harmless (a value
/// is hidden that need not be); under-matching leaks.
const SECRET_PARTS: &[&str] = &[
    "token",
    "key",
    "secret",
    "pass",
    "pw",
    "tkn",
    "hmac",
    "access",
    "otp",
    "cred",
    "ticket",
    "auth",
    "sig",
    "credential",
    "session",
    "cookie",
    "jwt",
    "bearer",
    "private",
    "code",
];

/// Short names that are credentials only as a whole (`?p=`, `?sid=`).
const SECRET_NAMES: &[&str] = &["p", "s", "k", "sid", "pin"];

/// Whether a query parameter name looks like it carries a credential.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    SECRET_PARTS.iter().any(|p| n.contains(p)) || SECRET_NAMES.contains(&n.as_str())
}

/// A parsed URL without its secrets.
pub fn url(u: &reqwest::Url) -> String {
    let mut u = u.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_fragment(None);
    if let Some(q) = u.query().map(str::to_string) {
        if q.is_empty() {
            u.set_query(None);
        } else {
            // As text, on `&` and `;` both (a server may read either as a separator), with
            // the original encoding kept.
            u.set_query(Some(&query(&q)));
        }
    }
    u.to_string()
}

/// A query string with every secret-named parameter's value replaced; separators (`&`, `;`)
/// and everything else as they were.
fn query(q: &str) -> String {
    let mut out = String::with_capacity(q.len());
    for (i, part) in q.split(['&', ';']).enumerate() {
        if i > 0 {
            // The separator that stood here.
            let at: usize = q
                .split(['&', ';'])
                .take(i)
                .map(|p| p.len() + 1)
                .sum::<usize>()
                - 1;
            out.push_str(&q[at..at + 1]);
        }
        match part.split_once('=') {
            Some((k, _)) if is_secret_name(&decode(k)) => {
                out.push_str(k);
                out.push('=');
                out.push_str(REDACTED);
            }
            None if is_secret_name(&decode(part)) => out.push_str(REDACTED),
            _ => out.push_str(part),
        }
    }
    out
}

/// A parameter name as a server reads it (`api%5Fkey` is `api_key`).
fn decode(k: &str) -> String {
    percent_encoding::percent_decode_str(&k.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// A URL given as text, parsed or not (an argument that failed to parse still must not echo
/// its password in the error line).
pub fn url_text(s: &str) -> String {
    if let Ok(u) = reqwest::Url::parse(s.trim())
        && u.has_host()
    {
        return url(&u);
    }
    // Unparsable (or no URL at all: `bob:pw@host:8123`): cut textually. Userinfo is what sits
    // before the last `@` ahead of the query, after `//` when there is a scheme.
    let mut out = s.to_string();
    let start = out.find("//").map_or(0, |i| i + 2);
    // Up to the last `@` anywhere: a password may hold `/`, `?` or `#` (an `@` in the path or
    // query is cut with it; over-cutting a URL that does not parse is harmless).
    if let Some(at) = out[start..].rfind('@') {
        out.replace_range(start..start + at + 1, "");
    }
    if let Some(h) = out.find('#') {
        out.truncate(h);
    }
    if let Some(q) = out.find('?') {
        out = format!("{}?{}", &out[..q], query(&out[q + 1..]));
    }
    out
}

/// An http(s) URL with a host, from an argument or a capture list; the error quotes it
/// without its secrets.
pub fn parse_http_url(s: &str) -> Result<reqwest::Url, String> {
    let shown = || crate::present::safe::term(&url_text(s)).into_owned();
    let u =
        reqwest::Url::parse(s.trim()).map_err(|e| format!("{:?} is not a URL: {e}", shown()))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(format!("{:?} is not an http:// or https:// URL", shown()));
    }
    Ok(u)
}

/// Every URL-looking run of `text` (an error message of a library, a server's answer)
/// redacted: a URL with a scheme; `user:password@host` without one; and any `name=value` whose
/// name looks like a credential, in a query or not (`POST /?password=...`, `;token=...`).
pub fn in_text(text: &str) -> Cow<'_, str> {
    let has_pair = text.contains('=')
        && text
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-' && c != '%')
            .any(is_secret_name);
    if !text.contains("://") && !text.contains('@') && !has_pair {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // A run ends at a blank or at what closes a quoted or bracketed URL.
    let is_end = |c: char| {
        c.is_whitespace() || c == '"' || c == '\'' || c == ')' || c == '>' || c == '<' || c == '('
    };
    while !rest.is_empty() {
        let start = rest.find(|c: char| !is_end(c)).unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(is_end).unwrap_or(rest.len());
        let run = &rest[..end];
        out.push_str(&redact_run(run));
        rest = &rest[end..];
    }
    Cow::Owned(out)
}

/// One run of text without blanks, as `in_text` redacts it.
fn redact_run(run: &str) -> String {
    if let Some(i) = run.find("://") {
        // The URL starts at the scheme: the letters just before `://`.
        let scheme_start = run[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.'))
            .map_or(0, |p| p + 1);
        return format!(
            "{}{}",
            secret_pairs(&run[..scheme_start]),
            url_text(&run[scheme_start..])
        );
    }
    // `user:password@host`: a colon before an `@`, before any `/`.
    let head = run.find('/').unwrap_or(run.len());
    if let Some(at) = run[..head].rfind('@')
        && run[..at].contains(':')
    {
        let user_start = run[..at].rfind(['=', ',', ';', '[']).map_or(0, |p| p + 1);
        return format!("{}{}", &run[..user_start], secret_pairs(&run[at + 1..]));
    }
    secret_pairs(run)
}

/// `name=value` pairs of a run whose name looks like a credential, values replaced.
fn secret_pairs(run: &str) -> String {
    if !run.contains('=') {
        return run.to_string();
    }
    match run.find('?') {
        Some(q) => format!("{}?{}", pairs_in(&run[..q]), query(&run[q + 1..])),
        None => pairs_in(run),
    }
}

/// `k=v` segments (split on `&`, `;`, `,`) outside a query.
fn pairs_in(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (i, c) in s.char_indices().chain(std::iter::once((s.len(), '&'))) {
        if matches!(c, '&' | ';' | ',') {
            let seg = &s[last..i];
            match seg.split_once('=') {
                Some((k, _)) if is_secret_name(k.rsplit(['.', ':', '[']).next().unwrap_or(k)) => {
                    out.push_str(k);
                    out.push('=');
                    out.push_str(REDACTED);
                }
                _ => out.push_str(seg),
            }
            if i < s.len() {
                out.push(c);
            }
            last = i + c.len_utf8();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> String {
        url(&reqwest::Url::parse(s).unwrap())
    }

    #[test]
    fn userinfo_fragment_and_secret_params_go() {
        assert_eq!(
            u("http://bob:pw@127.0.0.1:80/api/v1/jobs/x#frag"),
            "http://127.0.0.1/api/v1/jobs/x"
        );
        assert_eq!(
            u("http://h/x?include=executions&token=abc&API_KEY=k&X-Amz-Signature=s"),
            "http://h/x?include=executions&token=REDACTED&API_KEY=REDACTED&X-Amz-Signature=REDACTED"
        );
        assert_eq!(u("http://h/x?exec_limit=200"), "http://h/x?exec_limit=200");
        assert_eq!(
            u("http://h/x?pw=1&hmac=2&apitkn=3&access=4&otp=5&job=j"),
            "http://h/x?pw=REDACTED&hmac=REDACTED&apitkn=REDACTED&access=REDACTED&otp=REDACTED&job=j"
        );
        assert_eq!(
            u("http://h/x?cred=1&ticket=2&sid=3&p=4&page=5"),
            "http://h/x?cred=REDACTED&ticket=REDACTED&sid=REDACTED&p=REDACTED&page=5"
        );
    }

    #[test]
    fn unparsable_text_is_cut_too() {
        let s = url_text("http://bob:hunter2@ho st/x?password=hunter2&a=1#f");
        assert!(!s.contains("hunter2"), "{s}");
        assert!(s.contains("a=1"), "{s}");
        let e =
            in_text("error sending request for url (http://u:hunter2@h:1/p?token=t0k): refused");
        assert!(!e.contains("hunter2") && !e.contains("t0k"), "{e}");
        assert!(e.ends_with("): refused"), "{e}");
        // A password holding a `/` (the URL does not parse: "invalid port").
        for raw in [
            "http://bob:pa/ss@host/x",
            "http://bob:pa?ss@host:1/x",
            "http://u:s3c#ss@h:1/",
        ] {
            let s = url_text(raw);
            assert!(
                !s.contains("ss@") && !s.contains(":pa") && !s.contains("s3c"),
                "{s}"
            );
        }
    }

    /// Issue 17: the exact cut of a URL that does not parse, and of URLs inside a library's
    /// message, wherever they start and end.
    #[test]
    fn text_cuts_are_exact() {
        // Userinfo between `//` and the last `@`, nothing more.
        assert_eq!(url_text("http://bob:hunter2@ho st/x"), "http://ho st/x");
        assert_eq!(url_text("ftp://a@b@ho st/"), "ftp://ho st/");
        assert_eq!(url_text("ho st/x?a=1"), "ho st/x?a=1");
        // A secret parameter with and without `=`; others kept as they are.
        assert_eq!(
            url_text("http://h st/x?token&a=1&password=p&b"),
            "http://h st/x?REDACTED&a=1&password=REDACTED&b"
        );
        assert_eq!(url_text("http://h st/x#frag?token=1"), "http://h st/x");
        // Where a URL starts (its scheme) and ends, inside a message.
        assert_eq!(
            in_text("error sending request for url (http://u:pw@h:1/p?password=s&x=1): refused"),
            "error sending request for url (http://h:1/p?password=REDACTED&x=1): refused"
        );
        assert_eq!(
            in_text("at \"https://u:pw@h/a\" and 'git+ssh://u:pw@g/r' or <http://u:pw@i/>."),
            "at \"https://h/a\" and 'git+ssh://g/r' or <http://i/>."
        );
        assert_eq!(
            in_text("url=http://u:pw@h/a\tthen http://k/?key=v done"),
            "url=http://h/a\tthen http://k/?key=REDACTED done"
        );
        assert_eq!(in_text("no url here"), "no url here");
        assert!(matches!(in_text("no url here"), Cow::Borrowed(_)));
        assert_eq!(in_text("://odd"), "://odd");
    }

    /// Issue 27: the remaining paths. A URL without a scheme, `;` as a separator, a query in a
    /// server's answer, a secret pair outside any URL.
    #[test]
    fn the_remaining_paths_are_cut_too() {
        assert_eq!(url_text("bob:pw@host:8123"), "host:8123");
        assert_eq!(url_text("bob:p/w@host:8123/db"), "host:8123/db");
        assert_eq!(
            in_text("invalid value 'bob:hunter2@host:8123' for '--clickhouse'"),
            "invalid value 'host:8123' for '--clickhouse'"
        );
        assert_eq!(
            u("http://h/x?a=1;password=p;b=2"),
            "http://h/x?a=1;password=REDACTED;b=2"
        );
        assert_eq!(
            in_text("refused (500): POST /?query=x&password=hunter2 HTTP/1.1"),
            "refused (500): POST /?query=x&password=REDACTED HTTP/1.1"
        );
        assert_eq!(
            in_text("Code: 516. default: Authentication failed: password=hunter2, user=bob"),
            "Code: 516. default: Authentication failed: password=REDACTED, user=bob"
        );
        assert_eq!(in_text("x=1 y=2 page=3"), "x=1 y=2 page=3");
        assert_eq!(u("http://h/x?api%5Fkey=s"), "http://h/x?api%5Fkey=REDACTED");
        for leak in [
            in_text("at http://h/x?a=1;token=t0k"),
            in_text("--runner 'u:t0k@runner:8090'"),
            in_text("see 'endpoint=x;secret=t0k'"),
        ] {
            assert!(!leak.contains("t0k"), "{leak}");
        }
    }
}
