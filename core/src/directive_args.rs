//! Directive arguments: words (with Apache's quoting), flags, `key=value` options, group
//! selectors and mount points.

/// What separates directories in `WSGIPythonPath` and `python-path=` (and a Python home's
/// `prefix` from its `exec_prefix`): `:` as in `PYTHONPATH`, `;` on Windows, where `:`
/// belongs to drive letters.
pub const PATH_LIST_SEPARATOR: char = if cfg!(windows) { ';' } else { ':' };

/// Splits a raw argument line into words by Apache's rules (`ap_getword_conf`), as mod_wsgi
/// reads every directive:
/// - whitespace separates words;
/// - a word that starts with `"` or `'` runs to the matching quote, inside which `\\` and
///   a backslash before that quote stand for the character itself;
/// - elsewhere `\\` stands for one backslash and every other character is itself;
/// - an option's value may be quoted on its own (`python-home="/srv/my venv"`,
///   `lang='en_US.UTF-8'`), as mod_wsgi reads `name=value` options: the value after the
///   first `=` of a word follows the rules above.
///
/// A quote left open is an error (Apache would silently take the rest of the line).
pub fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        let (word, after) = if rest.starts_with(['"', '\'']) {
            quoted(rest, line)?
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            match rest[..end].split_once('=') {
                // `name="value"`: the value is a word of its own.
                Some((name, value)) if value.starts_with(['"', '\'']) => {
                    let value_at = name.len() + 1;
                    let (value, after) = quoted(&rest[value_at..], line)?;
                    (format!("{}={value}", unescape(name, None)), after)
                }
                _ => (unescape(&rest[..end], None), &rest[end..]),
            }
        };
        out.push(word);
        rest = after.trim_start();
    }
    Ok(out)
}

/// The quoted word at the start of `text`, and what follows its closing quote.
fn quoted<'t>(text: &'t str, line: &str) -> Result<(String, &'t str), String> {
    let quote = text.chars().next().unwrap_or('"');
    let body = &text[1..];
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == quote {
            return Ok((unescape(&body[..i], Some(quote)), &body[i + 1..]));
        }
    }
    Err(format!("unterminated quote in '{line}'"))
}

/// `ap_getword_conf`'s escapes: `\\` is one backslash, and inside quotes a backslash before
/// the quote character is that character; any other backslash stays.
fn unescape(text: &str, quote: Option<char>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&next) = chars.peek() {
                if next == '\\' || Some(next) == quote {
                    out.push(next);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
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
    /// `%{HOST}`: the host the client asked for, `Host:` (application groups only).
    Host,
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
            "%{HOST}" => GroupSpec::Host,
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
    fn option_values_may_be_quoted() {
        assert_eq!(
            words(r#"site python-home="/srv/my venv" lang='en_US.UTF-8' threads=5"#).unwrap(),
            [
                "site",
                "python-home=/srv/my venv",
                "lang=en_US.UTF-8",
                "threads=5"
            ]
        );
        // Only the value after the first `=` is a word of its own; a quote elsewhere is a
        // character like any other, as in Apache.
        assert_eq!(words(r#"a=b="c""#).unwrap(), [r#"a=b="c""#]);
        assert_eq!(words(r#"x"y" z"#).unwrap(), [r#"x"y""#, "z"]);
        assert!(words(r#"python-home="/srv"#).is_err());
    }

    #[test]
    fn backslashes_follow_ap_getword_conf() {
        assert_eq!(words(r"a\\b c\d").unwrap(), [r"a\b", r"c\d"]);
        assert_eq!(words(r#""a\"b" 'c\\d'"#).unwrap(), [r#"a"b"#, r"c\d"]);
        assert_eq!(words(r#"k="a \" b""#).unwrap(), [r#"k=a " b"#]);
        // The word after a closing quote starts at once, as in Apache.
        assert_eq!(words(r#""a"b"#).unwrap(), ["a", "b"]);
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
        assert_eq!(GroupSpec::parse("%{HOST}"), GroupSpec::Host);
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
