//! Building the environ dict: CGI variables as latin-1 native strings (PEP 3333), the
//! HTTP_* mapping of request headers, and the per-process entries copied from a base dict.

use std::borrow::Cow;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

/// A native string from raw bytes, decoded as latin-1 as PEP 3333 requires.
pub fn latin1<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyString> {
    match std::str::from_utf8(bytes) {
        Ok(s) if s.is_ascii() => PyString::new(py, s),
        _ => PyString::new(
            py,
            &bytes.iter().map(|&b| char::from(b)).collect::<String>(),
        ),
    }
}

/// The latin-1 bytes of a native string (response status and headers, which
/// `start_response` validated to be latin-1).
pub fn latin1_encode(s: &str) -> Vec<u8> {
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

/// Fills one request's environ, starting from a copy of the per-process base dict.
pub struct EnvironBuilder<'py> {
    dict: Bound<'py, PyDict>,
}

impl<'py> EnvironBuilder<'py> {
    pub fn new(base: &Bound<'py, PyDict>) -> PyResult<EnvironBuilder<'py>> {
        Ok(EnvironBuilder { dict: base.copy()? })
    }

    pub fn py(&self) -> Python<'py> {
        self.dict.py()
    }

    /// A CGI variable from raw bytes (latin-1).
    pub fn var(&self, key: &str, value: &[u8]) -> PyResult<()> {
        self.dict.set_item(key, latin1(self.py(), value))
    }

    /// Any Python value.
    pub fn set(&self, key: &str, value: impl IntoPyObject<'py>) -> PyResult<()> {
        self.dict.set_item(key, value)
    }

    pub fn finish(self) -> Bound<'py, PyDict> {
        self.dict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
