//! Directive arguments: words (with Apache's quoting), flags, `key=value` options, group
//! selectors and mount points.

/// What separates directories in `WSGIPythonPath` and `python-path=` (and a Python home's
/// `prefix` from its `exec_prefix`): `:` as in `PYTHONPATH`, `;` on Windows, where `:`
/// belongs to drive letters.
pub const PATH_LIST_SEPARATOR: char = if cfg!(windows) { ';' } else { ':' };

/// Splits a raw argument line into words the way `ap_getword_conf` does: whitespace
/// separates, `"…"` or `'…'` quote, and a backslash escapes the quote character inside.
pub fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                if c == '\\' && chars.peek() == Some(&first) {
                    word.push(first);
                    chars.next();
                } else if c == first {
                    closed = true;
                    break;
                } else {
                    word.push(c);
                }
            }
            if !closed {
                return Err(format!("unterminated quote in '{line}'"));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        out.push(word);
    }
    Ok(out)
}

/// `On` / `Off`, case-insensitive.
pub fn flag(directive: &str, value: &str) -> Result<bool, String> {
    if value.eq_ignore_ascii_case("on") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("off") {
        Ok(false)
    } else {
        Err(format!("{directive}: expected On or Off, got '{value}'"))
    }
}

/// The single argument of a one-argument directive.
pub fn one<'a>(directive: &str, words: &'a [String], what: &str) -> Result<&'a str, String> {
    match words {
        [one] => Ok(one),
        [] => Err(format!("{directive}: missing argument, expected {what}")),
        _ => Err(format!(
            "{directive}: takes exactly one argument ({what}), got {}",
            words.len()
        )),
    }
}

/// Splits `key=value` words; every key must be in `allowed`.
pub fn options(
    directive: &str,
    words: &[String],
    allowed: &[&str],
) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for w in words {
        let Some((key, value)) = w.split_once('=') else {
            return Err(format!(
                "{directive}: unexpected argument '{w}', expected option=value (one of: {})",
                allowed.join(", ")
            ));
        };
        if !allowed.contains(&key) {
            return Err(format!(
                "{directive}: unknown option '{key}' (valid options: {})",
                allowed.join(", ")
            ));
        }
        if out.iter().any(|(k, _)| k == key) {
            return Err(format!("{directive}: option '{key}' given twice"));
        }
        out.push((key.to_owned(), value.to_owned()));
    }
    Ok(out)
}

/// A process or application group selector, as written in the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupSpec {
    /// `%{GLOBAL}` (or the empty string): the Apache child / main interpreter.
    Global,
    /// `%{ENV:name}`: decided per request from request notes, environment, then `getenv`.
    Env(String),
    /// `%{SERVER}`: the virtual host (application groups only).
    Server,
    /// `%{RESOURCE}`: the virtual host and the mount point (application groups only).
    Resource,
    /// A literal group name.
    Named(String),
}

impl GroupSpec {
    pub fn parse(value: &str) -> GroupSpec {
        match value {
            "" | "%{GLOBAL}" => GroupSpec::Global,
            "%{SERVER}" => GroupSpec::Server,
            "%{RESOURCE}" => GroupSpec::Resource,
            v => match v.strip_prefix("%{ENV:").and_then(|r| r.strip_suffix('}')) {
                Some(var) if !var.is_empty() => GroupSpec::Env(var.to_owned()),
                _ => GroupSpec::Named(v.to_owned()),
            },
        }
    }
}

/// `WSGIMapHEADToGET`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapHead {
    On,
    Off,
    /// Map only when output filters that may need the body are present (the default).
    Auto,
}

impl MapHead {
    pub fn parse(directive: &str, value: &str) -> Result<MapHead, String> {
        match value.to_ascii_lowercase().as_str() {
            "on" => Ok(MapHead::On),
            "off" => Ok(MapHead::Off),
            "auto" => Ok(MapHead::Auto),
            _ => Err(format!(
                "{directive}: expected On, Off or Auto, got '{value}'"
            )),
        }
    }
}

/// `WSGIPythonHashSeed`: `random` or 0 ..= 4294967295.
pub fn hash_seed(directive: &str, value: &str) -> Result<Option<u32>, String> {
    if value.eq_ignore_ascii_case("random") {
        return Ok(None);
    }
    value.parse::<u32>().map(Some).map_err(|_| {
        format!("{directive}: expected 'random' or an integer from 0 to 4294967295, got '{value}'")
    })
}

/// `WSGIPythonOptimize`: 0, 1 or 2.
pub fn optimize(directive: &str, value: &str) -> Result<u8, String> {
    match value {
        "0" => Ok(0),
        "1" => Ok(1),
        "2" => Ok(2),
        _ => Err(format!("{directive}: expected 0, 1 or 2, got '{value}'")),
    }
}

/// Normalises a `WSGIScriptAlias` URL path: returns the mount point without trailing
/// slashes (`/` becomes ``) and whether a trailing slash was written (then the URL must have
/// one, as with mod_alias).
pub fn mount_point(directive: &str, url: &str) -> Result<(String, bool), String> {
    if !url.starts_with('/') {
        return Err(format!(
            "{directive}: the URL path '{url}' must start with '/'"
        ));
    }
    let trimmed = url.trim_end_matches('/');
    let trailing = url.len() > 1 && trimmed.len() < url.len();
    Ok((trimmed.to_owned(), trailing))
}

/// Matches `uri` against a prefix mount point. Returns the part of the URI after the mount
/// point ("" or starting with '/'), or `None`. Repeated slashes in the URI match one.
pub fn match_mount<'u>(mount: &str, require_slash: bool, uri: &'u [u8]) -> Option<&'u [u8]> {
    let (m, u) = (mount.as_bytes(), uri);
    let (mut i, mut j) = (0, 0);
    while i < m.len() {
        if m[i] == b'/' {
            if j >= u.len() || u[j] != b'/' {
                return None;
            }
            while i < m.len() && m[i] == b'/' {
                i += 1;
            }
            while j < u.len() && u[j] == b'/' {
                j += 1;
            }
        } else {
            if j >= u.len() || u[j] != m[i] {
                return None;
            }
            i += 1;
            j += 1;
        }
    }
    let rest = &uri[j..];
    if !rest.is_empty() && !rest.starts_with(b"/") {
        return None; // "/app" must not match "/application"
    }
    if require_slash && rest.is_empty() {
        return None;
    }
    Some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_and_quote_like_apache() {
        assert_eq!(
            words(r#"/app "/srv/my app.wsgi" x=1"#).unwrap(),
            ["/app", "/srv/my app.wsgi", "x=1"]
        );
        assert_eq!(words(r#"'a\'b' c"#).unwrap(), ["a'b", "c"]);
        assert_eq!(words("   ").unwrap(), Vec::<String>::new());
        assert!(words(r#""open"#).is_err());
    }

    #[test]
    fn flags_and_one_argument() {
        assert!(flag("X", "ON").unwrap());
        assert!(!flag("X", "off").unwrap());
        let err = flag("WSGIChunkedRequest", "yes").unwrap_err();
        assert!(
            err.contains("WSGIChunkedRequest") && err.contains("On or Off"),
            "{err}"
        );
        assert!(
            one("X", &["a".into(), "b".into()], "a path")
                .unwrap_err()
                .contains("exactly one")
        );
    }

    #[test]
    fn options_reject_unknown_and_duplicates() {
        let o = options("D", &["a=1".into(), "b=".into()], &["a", "b"]).unwrap();
        assert_eq!(
            o,
            [
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), String::new())
            ]
        );
        assert!(
            options("D", &["c=1".into()], &["a"])
                .unwrap_err()
                .contains("unknown option 'c'")
        );
        assert!(
            options("D", &["a=1".into(), "a=2".into()], &["a"])
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            options("D", &["bare".into()], &["a"])
                .unwrap_err()
                .contains("option=value")
        );
    }

    #[test]
    fn group_specs() {
        assert_eq!(GroupSpec::parse("%{GLOBAL}"), GroupSpec::Global);
        assert_eq!(GroupSpec::parse(""), GroupSpec::Global);
        assert_eq!(GroupSpec::parse("%{ENV:APP}"), GroupSpec::Env("APP".into()));
        assert_eq!(GroupSpec::parse("%{RESOURCE}"), GroupSpec::Resource);
        assert_eq!(GroupSpec::parse("%{SERVER}"), GroupSpec::Server);
        assert_eq!(
            GroupSpec::parse("%{HOST}"),
            GroupSpec::Named("%{HOST}".into())
        );
        assert_eq!(GroupSpec::parse("site1"), GroupSpec::Named("site1".into()));
    }

    #[test]
    fn numeric_values() {
        assert_eq!(hash_seed("S", "random").unwrap(), None);
        assert_eq!(hash_seed("S", "4294967295").unwrap(), Some(u32::MAX));
        assert!(hash_seed("S", "-1").is_err());
        assert_eq!(optimize("O", "2").unwrap(), 2);
        assert!(optimize("O", "3").unwrap_err().contains("0, 1 or 2"));
        assert_eq!(MapHead::parse("M", "AUTO").unwrap(), MapHead::Auto);
    }

    #[test]
    fn mount_points() {
        assert_eq!(mount_point("A", "/").unwrap(), (String::new(), false));
        assert_eq!(
            mount_point("A", "/app/").unwrap(),
            ("/app".to_owned(), true)
        );
        assert_eq!(
            mount_point("A", "/app").unwrap(),
            ("/app".to_owned(), false)
        );
        assert!(mount_point("A", "app").is_err());
    }

    #[test]
    fn matching_mount_points() {
        assert_eq!(match_mount("", false, b"/"), Some(&b"/"[..]));
        assert_eq!(match_mount("", false, b"/x/y"), Some(&b"/x/y"[..]));
        assert_eq!(match_mount("/app", false, b"/app"), Some(&b""[..]));
        assert_eq!(match_mount("/app", false, b"/app/x"), Some(&b"/x"[..]));
        assert_eq!(match_mount("/app", false, b"//app//x"), Some(&b"//x"[..]));
        assert_eq!(match_mount("/app", false, b"/application"), None);
        assert_eq!(match_mount("/app", true, b"/app"), None);
        assert_eq!(match_mount("/app", true, b"/app/"), Some(&b"/"[..]));
        assert_eq!(match_mount("/a/b", false, b"/a/c"), None);
    }
}
