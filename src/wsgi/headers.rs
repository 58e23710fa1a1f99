//! Validation of what applications pass to `start_response` (pure, unit-tested).

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
