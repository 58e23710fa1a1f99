//! HTTP and CGI rules of PEP 3333: status and header validation, request headers as
//! CGI variables, latin-1 conversions, SCRIPT_NAME/PATH_INFO.

use std::borrow::Cow;

/// Parses a WSGI status string (`"200 OK"`) into its code.
pub fn parse_status(status: &str) -> Result<u16, String> {
    let bytes = status.as_bytes();
    if bytes.len() < 3
        || !bytes[..3].iter().all(u8::is_ascii_digit)
        || (bytes.len() > 3 && bytes[3] != b' ')
    {
        return Err(format!(
            "invalid status '{status}': expected a 3-digit code and a reason phrase, e.g. '200 OK'"
        ));
    }
    if status.chars().any(|c| c.is_control() || c as u32 > 0xFF) {
        return Err(format!(
            "invalid status {status:?}: control or non-latin-1 characters"
        ));
    }
    let code: u16 = status[..3]
        .parse()
        .map_err(|_| format!("invalid status '{status}'"))?;
    if !(100..=999).contains(&code) {
        return Err(format!("invalid status code {code}"));
    }
    Ok(code)
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Checks one header: the name is an HTTP token, the value latin-1 without CR, LF or other
/// control characters (header injection).
pub fn check_header(name: &str, value: &str) -> Result<(), String> {
    if name.is_empty() || !name.chars().all(is_tchar) {
        return Err(format!(
            "invalid header name {name:?}: only HTTP token characters are allowed (no spaces, colons or control characters)"
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|&c| (c.is_control() && c != '\t') || c as u32 > 0xFF)
    {
        return Err(format!(
            "invalid value for header '{name}': contains {c:?} (CR, LF, control and non-latin-1 characters are not allowed)"
        ));
    }
    Ok(())
}

/// The latin-1 bytes of a native string (response status and headers, which
/// `start_response` validated to be latin-1).
pub fn latin1_encode(s: &str) -> Cow<'_, [u8]> {
    if s.is_ascii() {
        return Cow::Borrowed(s.as_bytes());
    }
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// The CGI name of a request header (`User-Agent` → `HTTP_USER_AGENT`), or `None` for names
/// with characters other than letters, digits and `-` (which could collide, e.g. `X_Y` vs
/// `X-Y`, and are dropped as mod_wsgi does).
pub fn cgi_header_name(name: &[u8]) -> Option<String> {
    if name.is_empty() || !name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') {
        return None;
    }
    let mut out = String::with_capacity(5 + name.len());
    out.push_str("HTTP_");
    out.extend(name.iter().map(|&b| {
        if b == b'-' {
            '_'
        } else {
            char::from(b.to_ascii_uppercase())
        }
    }));
    Some(out)
}

/// The HTTP_* variables for a request's headers. `Content-Type`/`Content-Length` become
/// CONTENT_TYPE/CONTENT_LENGTH; `Proxy` is never passed (httpoxy); `Authorization` only
/// when `pass_authorization`. Repeated headers are joined with ", " ("; " for Cookie).
pub fn header_variables<'a>(
    headers: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    pass_authorization: bool,
) -> Vec<(String, Cow<'a, [u8]>)> {
    let mut out: Vec<(String, Cow<'a, [u8]>)> = Vec::new();
    for (name, value) in headers {
        let key = if name.eq_ignore_ascii_case(b"Content-Type") {
            "CONTENT_TYPE".to_owned()
        } else if name.eq_ignore_ascii_case(b"Content-Length") {
            "CONTENT_LENGTH".to_owned()
        } else if name.eq_ignore_ascii_case(b"Proxy")
            || name.eq_ignore_ascii_case(b"Proxy-Authorization")
            || (name.eq_ignore_ascii_case(b"Authorization") && !pass_authorization)
        {
            continue;
        } else {
            match cgi_header_name(name) {
                Some(k) => k,
                None => continue,
            }
        };
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, existing)) => {
                let sep: &[u8] = if key == "HTTP_COOKIE" { b"; " } else { b", " };
                let mut joined = existing.to_vec();
                joined.extend_from_slice(sep);
                joined.extend_from_slice(value);
                *existing = Cow::Owned(joined);
            }
            None => out.push((key, Cow::Borrowed(value))),
        }
    }
    out
}

/// Collapses runs of '/' (SCRIPT_NAME / PATH_INFO as mod_wsgi presents them).
pub fn collapse_slashes(path: &[u8]) -> Cow<'_, [u8]> {
    if !path.windows(2).any(|w| w == b"//") {
        return Cow::Borrowed(path);
    }
    let mut out = Vec::with_capacity(path.len());
    for &b in path {
        if !(b == b'/' && out.last() == Some(&b'/')) {
            out.push(b);
        }
    }
    Cow::Owned(out)
}

/// The part of the URI before PATH_INFO (what the script is mounted at).
pub fn script_name<'a>(uri: &'a [u8], path_info: &[u8]) -> &'a [u8] {
    if path_info.is_empty() {
        return uri;
    }
    if uri.ends_with(path_info) {
        return trim_slashes(&uri[..uri.len() - path_info.len()]);
    }
    // The directory walk canonicalised PATH_INFO (e.g. merged slashes): count the path
    // segments it has and drop as many from the end of the URI.
    let segments = path_info
        .split(|&b| b == b'/')
        .filter(|s| !s.is_empty())
        .count();
    let mut end = uri.len();
    let mut seen = 0;
    while end > 0 && seen < segments {
        end -= 1;
        if uri[end] == b'/' && end + 1 < uri.len() && uri[end + 1] != b'/' {
            seen += 1;
        }
    }
    trim_slashes(&uri[..end])
}

/// Mount points never end in '/' (`WSGIScriptAlias /app/` mounts at `/app`).
fn trim_slashes(s: &[u8]) -> &[u8] {
    let mut end = s.len();
    while end > 0 && s[end - 1] == b'/' {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn latin1_encoding_borrows_ascii_and_maps_each_char_to_its_byte() {
        assert!(matches!(
            latin1_encode("text/plain"),
            Cow::Borrowed(b"text/plain")
        ));
        assert_eq!(&*latin1_encode("caf\u{e9} \u{ff}"), b"caf\xe9 \xff");
    }

    #[test]
    fn statuses() {
        assert_eq!(parse_status("200 OK"), Ok(200));
        assert_eq!(parse_status("404 Not Found"), Ok(404));
        assert_eq!(parse_status("204"), Ok(204));
        assert!(parse_status("200OK").is_err());
        assert!(parse_status("OK").is_err());
        assert!(parse_status("200 OK\r\nX: y").is_err());
        assert!(parse_status("099 Low").is_err());
    }

    #[test]
    fn headers() {
        assert!(check_header("Content-Type", "text/plain; charset=utf-8").is_ok());
        assert!(check_header("X-Tab", "a\tb").is_ok());
        assert!(check_header("X-Latin", "caf\u{e9}").is_ok());
        assert!(check_header("Bad Name", "v").is_err());
        assert!(check_header("Bad:Name", "v").is_err());
        assert!(check_header("", "v").is_err());
        assert!(check_header("X-Inject", "a\r\nSet-Cookie: x").is_err());
        assert!(check_header("X-Wide", "\u{263a}").is_err());
    }

    #[test]
    fn header_names() {
        assert_eq!(
            cgi_header_name(b"User-Agent").as_deref(),
            Some("HTTP_USER_AGENT")
        );
        assert_eq!(
            cgi_header_name(b"x-b3-traceid").as_deref(),
            Some("HTTP_X_B3_TRACEID")
        );
        assert_eq!(cgi_header_name(b"X_Forwarded_For"), None);
        assert_eq!(cgi_header_name(b"Bad Header"), None);
    }

    #[test]
    fn header_variables_follow_the_rules() {
        let headers: Vec<(&[u8], &[u8])> = vec![
            (b"Host", b"example.com"),
            (b"Content-Type", b"text/plain"),
            (b"Content-Length", b"3"),
            (b"Proxy", b"http://evil"),
            (b"Authorization", b"Basic eA=="),
            (b"Accept", b"a"),
            (b"Accept", b"b"),
            (b"Cookie", b"a=1"),
            (b"Cookie", b"b=2"),
        ];
        let vars = header_variables(headers.iter().copied(), false);
        let get = |k: &str| {
            vars.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        assert_eq!(get("HTTP_HOST").as_deref(), Some("example.com"));
        assert_eq!(get("CONTENT_TYPE").as_deref(), Some("text/plain"));
        assert_eq!(get("CONTENT_LENGTH").as_deref(), Some("3"));
        assert_eq!(get("HTTP_CONTENT_TYPE"), None);
        assert_eq!(get("HTTP_PROXY"), None);
        assert_eq!(get("HTTP_AUTHORIZATION"), None);
        assert_eq!(get("HTTP_ACCEPT").as_deref(), Some("a, b"));
        assert_eq!(get("HTTP_COOKIE").as_deref(), Some("a=1; b=2"));
        let vars = header_variables(headers.iter().copied(), true);
        assert!(
            vars.iter()
                .any(|(n, v)| n == "HTTP_AUTHORIZATION" && v.as_ref() == b"Basic eA==")
        );
    }

    #[test]
    fn slashes() {
        assert_eq!(collapse_slashes(b"/a//b///c").as_ref(), b"/a/b/c");
        assert!(matches!(collapse_slashes(b"/a/b"), Cow::Borrowed(_)));
    }
    #[test]
    fn script_name_is_the_uri_before_path_info() {
        assert_eq!(script_name(b"/app/x/y", b"/x/y"), b"/app");
        assert_eq!(script_name(b"/", b"/"), b"");
        assert_eq!(script_name(b"/app", b""), b"/app");
        assert_eq!(script_name(b"/app//x", b"/x"), b"/app");
        assert_eq!(script_name(b"/app/", b"/"), b"/app");
    }
}
