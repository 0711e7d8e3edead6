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
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_name(&k) {
                    REDACTED.to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        if pairs.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    u.to_string()
}

/// A URL given as text, parsed or not (an argument that failed to parse still must not echo
/// its password in the error line).
pub fn url_text(s: &str) -> String {
    if let Ok(u) = reqwest::Url::parse(s.trim()) {
        return url(&u);
    }
    // Unparsable: cut textually. Userinfo is what sits between `//` and an `@` before the path.
    let mut out = s.to_string();
    if let Some(start) = out.find("//").map(|i| i + 2) {
        // Up to the last `@` anywhere: a password may hold `/`, `?` or `#` (an `@` in the
        // path or query is cut with it; over-cutting a URL that does not parse is harmless).
        if let Some(at) = out[start..].rfind('@') {
            out.replace_range(start..start + at + 1, "");
        }
    }
    if let Some(h) = out.find('#') {
        out.truncate(h);
    }
    if let Some(q) = out.find('?') {
        let query: Vec<String> = out[q + 1..]
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if is_secret_name(k) => format!("{k}={REDACTED}"),
                None if is_secret_name(kv) => REDACTED.to_string(),
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{}?{}", &out[..q], query.join("&"));
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

/// Every URL-looking run of `text` (an error message of a library) redacted.
pub fn in_text(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        // The URL starts at the scheme: the letters just before `://`.
        let scheme_start = rest[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.'))
            .map_or(0, |p| p + 1);
        let end = rest[i..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ')' || c == '>')
            .map_or(rest.len(), |p| i + p);
        out.push_str(&rest[..scheme_start]);
        out.push_str(&url_text(&rest[scheme_start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
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
}
