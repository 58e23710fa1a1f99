//! Apache's error log line, for a process that writes the log itself (a daemon exec'd into
//! its own Python): the main server's `ErrorLogFormat` parsed and rendered as httpd's
//! `server/log.c` does, or its default format when there is none. Only what a line without
//! a request or connection has is filled in; the rest is empty, which drops its field.

/// One item of the format.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Item {
    kind: Kind,
    /// The `{…}` argument.
    arg: Option<String>,
    /// A field separator comes before it (a space, or `% `).
    field_start: bool,
    /// `-`: an empty item logs `-` instead of dropping its field.
    hyphen: bool,
    /// The item appears only on lines of this level or more verbose (`%7F`).
    min_level: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Text(String),
    Message,
    Directive(char),
}

/// A parsed `ErrorLogFormat`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorLogFormat {
    items: Vec<Item>,
}

/// What one line says, beyond its message.
pub struct LineFacts<'a> {
    /// Apache's number for the level (`APLOG_ERR` 3 …).
    pub level: u8,
    /// The module's short name (`wsgi`).
    pub module: &'a str,
    pub pid: u32,
    /// The kernel's thread id (`%T`, and `%{g}T`).
    pub tid: u64,
    /// The main server's `ServerName` (`%v`, `%V`).
    pub server_name: &'a str,
    /// `%F`: the source position the line names, `file(line)`.
    pub file_line: Option<&'a str>,
    /// The time as `%{arg}t` writes it (`None`: `%t`).
    pub time: &'a dyn Fn(Option<&str>) -> String,
}

const LEVEL_NAMES: [&str; 16] = [
    "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug", "trace1", "trace2",
    "trace3", "trace4", "trace5", "trace6", "trace7", "trace8",
];

/// The directive letters httpd knows (`%M` and `%%` apart).
const DIRECTIVES: &str = "aAeEFikLlmnPtTvV";

impl ErrorLogFormat {
    /// Parses the main server's format as httpd does; errors are httpd's own.
    pub fn parse(format: &str) -> Result<ErrorLogFormat, String> {
        let mut items = Vec::new();
        let mut rest = format;
        let mut seen_message = false;
        while !rest.is_empty() {
            let (item, after) = parse_item(rest)?;
            if item.kind == Kind::Message {
                seen_message = true;
            }
            items.push(item);
            rest = after;
        }
        if !seen_message {
            return Err("main ErrorLogFormat must contain message format string '%M'".to_owned());
        }
        Ok(ErrorLogFormat { items })
    }

    /// The line (without its end of line) for `message` (escaped as Apache escapes it).
    pub fn render(&self, facts: &LineFacts<'_>, message: &str) -> String {
        let mut out = String::new();
        let mut field_start = 0;
        let mut skipping = false;
        for item in &self.items {
            if item.field_start {
                if skipping {
                    skipping = false;
                } else {
                    field_start = out.len();
                }
            }
            if item.kind == Kind::Message {
                out.push_str(&escape(message));
            } else if skipping {
                continue;
            } else if item.min_level > facts.level {
                out.truncate(field_start);
                skipping = true;
            } else {
                let value = value(item, facts);
                if !value.is_empty() {
                    out.push_str(&value);
                } else if item.hyphen {
                    out.push('-');
                } else {
                    out.truncate(field_start);
                    skipping = true;
                }
            }
        }
        out
    }
}

/// httpd's line when no `ErrorLogFormat` is set (`do_errorlog_default`); without the time
/// when the log is a provider's (syslog), which stamps its own.
pub fn render_default(facts: &LineFacts<'_>, message: &str, with_time: bool) -> String {
    let mut out = String::new();
    if with_time {
        out.push_str(&format!("[{}] ", (facts.time)(Some("u"))));
    }
    out.push_str(&format!(
        "[{}:{}] [pid {}:tid {}] ",
        facts.module,
        level_name(facts.level),
        facts.pid,
        facts.tid
    ));
    if facts.level >= 7 {
        if let Some(at) = facts.file_line {
            out.push_str(at);
            out.push_str(": ");
        }
    }
    out.push_str(&escape(message));
    out
}

/// A moment in local time, broken down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    /// 0–11.
    pub month: u32,
    pub day: u32,
    /// 0 (Sunday) – 6.
    pub weekday: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub microsecond: u32,
    /// Seconds east of UTC.
    pub utc_offset: i64,
}

/// `%t` and `%{u}t`, `%{cu}t`, `%{cuz}t`… as httpd writes them (`ap_recent_ctime_ex`):
/// `u` adds microseconds, `c` the compact ISO 8601 form, `z` the UTC offset. `None` for an
/// argument with `%`, which is a `strftime` format.
pub fn ctime(t: &LocalTime, arg: Option<&str>) -> Option<String> {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let options = arg.unwrap_or("");
    if options.contains('%') {
        return None;
    }
    let (usec, compact, gmtoff) = (
        options.contains('u'),
        options.contains('c'),
        options.contains('z'),
    );
    let mut out = if compact {
        format!("{:04}-{:02}-", t.year, t.month + 1)
    } else {
        format!(
            "{} {} ",
            DAYS[t.weekday.min(6) as usize],
            MONTHS[t.month.min(11) as usize]
        )
    };
    out += &format!("{:02} {:02}:{:02}:{:02}", t.day, t.hour, t.minute, t.second);
    if usec {
        out += &format!(".{:06}", t.microsecond);
    }
    if !compact {
        out += &format!(" {:04}", t.year);
    }
    if gmtoff {
        let sign = if t.utc_offset < 0 { '-' } else { '+' };
        let off = t.utc_offset.abs();
        out += &format!(" {sign}{:02}{:02}", off / 3600, off % 3600 / 60);
    }
    Some(out)
}

/// `ErrorLog syslog[:facility[:tag]]`: where Apache sends the main server's lines.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Syslog {
    /// `openlog`'s identity: the tag, else Apache's `argv[0]`.
    pub tag: String,
    /// The facility as `syslog.h` numbers it (`LOG_LOCAL7`, 23 << 3, by default).
    pub facility: i32,
}

/// The facilities httpd knows, in its order, as `syslog.h` numbers them.
const FACILITIES: [(&str, i32); 20] = [
    ("auth", 4 << 3),
    ("authpriv", 10 << 3),
    ("cron", 9 << 3),
    ("daemon", 3 << 3),
    ("ftp", 11 << 3),
    ("kern", 0),
    ("lpr", 6 << 3),
    ("mail", 2 << 3),
    ("news", 7 << 3),
    ("syslog", 5 << 3),
    ("user", 1 << 3),
    ("uucp", 8 << 3),
    ("local0", 16 << 3),
    ("local1", 17 << 3),
    ("local2", 18 << 3),
    ("local3", 19 << 3),
    ("local4", 20 << 3),
    ("local5", 21 << 3),
    ("local6", 22 << 3),
    ("local7", 23 << 3),
];

impl Syslog {
    /// The main server's `ErrorLog` (`error_fname`) when it is syslog, read as httpd's
    /// `open_error_log` reads it (a facility name may be cut short: the first one it
    /// begins); `argv0` is Apache's own name, the default tag.
    pub fn from_error_log(error_fname: &str, argv0: &str) -> Option<Syslog> {
        if !error_fname.get(..6)?.eq_ignore_ascii_case("syslog") {
            return None;
        }
        // httpd looks for the `:` anywhere after the prefix (`syslogd.log` is syslog too).
        let Some((_, spec)) = error_fname[6..].split_once(':') else {
            return Some(Syslog {
                tag: argv0.to_owned(),
                facility: 23 << 3,
            });
        };
        let (facility, tag) = match spec.split_once(':') {
            Some((facility, tag)) if !tag.is_empty() => (facility, tag),
            Some((facility, _)) => (facility, argv0),
            None => (spec, argv0),
        };
        let facility = if facility.is_empty() {
            23 << 3
        } else {
            FACILITIES
                .iter()
                .find(|(name, _)| {
                    name.len() >= facility.len()
                        && name[..facility.len()].eq_ignore_ascii_case(facility)
                })
                .map(|(_, code)| *code)?
        };
        Some(Syslog {
            tag: tag.to_owned(),
            facility,
        })
    }
}

fn level_name(level: u8) -> &'static str {
    LEVEL_NAMES[usize::from(level.min(15))]
}

fn value(item: &Item, facts: &LineFacts<'_>) -> String {
    let Kind::Directive(c) = &item.kind else {
        let Kind::Text(text) = &item.kind else {
            return String::new();
        };
        return text.clone();
    };
    match c {
        't' => (facts.time)(item.arg.as_deref()),
        'l' => level_name(facts.level).to_owned(),
        'm' => facts.module.to_owned(),
        'P' => facts.pid.to_string(),
        'T' => facts.tid.to_string(),
        'F' => facts.file_line.unwrap_or("").to_owned(),
        'v' | 'V' => facts.server_name.to_owned(),
        // No request, connection or APR status on a daemon's own line.
        _ => String::new(),
    }
}

/// One item at the start of `s`, and what follows it (httpd's `parse_errorlog_item`).
fn parse_item(s: &str) -> Result<(Item, &str), String> {
    let mut item = Item {
        kind: Kind::Text(String::new()),
        arg: None,
        field_start: false,
        hyphen: false,
        min_level: 0,
    };
    let Some(mut rest) = s.strip_prefix('%') else {
        item.field_start = s.starts_with(' ');
        let (text, after) = misc_string(s);
        item.kind = Kind::Text(text);
        return Ok((item, after));
    };
    if let Some(after) = rest.strip_prefix(' ') {
        // `% ` is a field separator before the next item.
        let (mut next, after) = parse_item(after)?;
        next.field_start = true;
        return Ok((next, after));
    }
    if let Some(after) = rest.strip_prefix('%') {
        item.kind = Kind::Text("%".to_owned());
        return Ok((item, after));
    }
    loop {
        let Some(c) = rest.chars().next() else {
            return Err("Ran off end of error log format parsing args to some directive".into());
        };
        match c {
            '{' => {
                let end = rest.find('}').unwrap_or(rest.len());
                item.arg = Some(rest[1..end].to_owned());
                rest = rest.get(end + 1..).unwrap_or("");
            }
            '+' => return Err("The '+' flag cannot be used in the main error log format".into()),
            '-' => {
                item.hyphen = true;
                rest = &rest[1..];
            }
            '0'..='9' => {
                let digits =
                    rest.len() - rest.trim_start_matches(|d: char| d.is_ascii_digit()).len();
                let level: u32 = rest[..digits].parse().unwrap_or(u32::MAX);
                if level > 15 {
                    return Err("The specified loglevel modifier is out of range".into());
                }
                item.min_level = level as u8;
                rest = &rest[digits..];
            }
            'M' => {
                item.kind = Kind::Message;
                return Ok((item, &rest[1..]));
            }
            c if DIRECTIVES.contains(c) => {
                item.kind = Kind::Directive(c);
                return Ok((item, &rest[c.len_utf8()..]));
            }
            c => return Err(format!("Unrecognized error log format directive %{c}")),
        }
    }
}

/// Literal text up to the next `%` or the next space after its first non-space character,
/// with `\n`, `\r`, `\t` and `\<c>` (httpd's `parse_errorlog_misc_string`).
fn misc_string(s: &str) -> (String, &str) {
    let mut out = String::new();
    let mut at_start = true;
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c == '%' || (c == ' ' && !at_start) {
            return (out, &s[i..]);
        }
        chars.next();
        if c != '\\' {
            if c != ' ' {
                at_start = false;
            }
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, 'r')) => out.push('\r'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((_, other)) => out.push(other),
            None => out.push('\\'),
        }
    }
    (out, "")
}

/// A message as httpd writes it into the error log (`ap_escape_errorlog_item`): bytes that
/// are not printable ASCII as `\xhh` (`\n`, `\t`… by name), a backslash doubled; a double
/// quote stays.
pub fn escape(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for b in message.bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            0x08 => out.push_str("\\b"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0b => out.push_str("\\v"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(level: u8, time: &'a dyn Fn(Option<&str>) -> String) -> LineFacts<'a> {
        LineFacts {
            level,
            module: "wsgi",
            pid: 41,
            tid: 42,
            server_name: "example.test",
            file_line: Some("mod_rwsgi(0)"),
            time,
        }
    }

    fn time(arg: Option<&str>) -> String {
        match arg {
            Some("u") => "Tue Dec 08 00:11:35.123456 2026".to_owned(),
            Some(other) => format!("<{other}>"),
            None => "Tue Dec 08 00:11:35 2026".to_owned(),
        }
    }

    /// httpd's default format written out (`core.c`'s documentation of it).
    const DEFAULT: &str =
        "[%{u}t] [%-m:%l] [pid %P:tid %T] %7F: %E: [client\\ %a] %M% ,\\ referer\\ %{Referer}i";

    #[test]
    fn the_default_written_out_renders_as_the_default() {
        let f = ErrorLogFormat::parse(DEFAULT).unwrap();
        for level in [3, 6, 7] {
            assert_eq!(
                f.render(&facts(level, &time), "RW0202: ready"),
                render_default(&facts(level, &time), "RW0202: ready", true),
                "level {level}"
            );
        }
        assert_eq!(
            f.render(&facts(3, &time), "RW0202: ready"),
            "[Tue Dec 08 00:11:35.123456 2026] [wsgi:error] [pid 41:tid 42] RW0202: ready"
        );
        assert_eq!(
            f.render(&facts(7, &time), "x"),
            "[Tue Dec 08 00:11:35.123456 2026] [wsgi:debug] [pid 41:tid 42] mod_rwsgi(0): x"
        );
    }

    #[test]
    fn a_custom_format_keeps_its_text_and_drops_empty_fields() {
        let f = ErrorLogFormat::parse("%{cu}t %-{X}i [%v] %l %M%% [%-a] end\\tx").unwrap();
        assert_eq!(
            f.render(&facts(4, &time), "hello"),
            "<cu> - [example.test] warn hello% [-] end\tx"
        );
        // An unescaped space splits `[client %a]` into two fields: only ` %a]` goes, as in
        // httpd (its default format writes `[client\ %a]`).
        let f = ErrorLogFormat::parse("[%t] [%{g}T] [client %a] %M").unwrap();
        assert_eq!(
            f.render(&facts(3, &time), "m"),
            "[Tue Dec 08 00:11:35 2026] [42] [client m"
        );
    }

    #[test]
    fn httpd_refuses_what_httpd_refuses() {
        for (format, error) in [
            ("%t %l", "must contain message format string '%M'"),
            ("%+a %M", "'+' flag"),
            ("%99F %M", "out of range"),
            ("%Q %M", "Unrecognized error log format directive %Q"),
            ("%M %{x", "Ran off end"),
        ] {
            let err = ErrorLogFormat::parse(format).unwrap_err();
            assert!(err.contains(error), "{format}: {err}");
        }
    }

    #[test]
    fn times_are_written_as_httpd_writes_them() {
        let t = LocalTime {
            year: 2026,
            month: 11,
            day: 8,
            weekday: 2,
            hour: 0,
            minute: 11,
            second: 5,
            microsecond: 1234,
            utc_offset: -(5 * 3600 + 30 * 60),
        };
        assert_eq!(ctime(&t, None).unwrap(), "Tue Dec 08 00:11:05 2026");
        assert_eq!(
            ctime(&t, Some("u")).unwrap(),
            "Tue Dec 08 00:11:05.001234 2026"
        );
        assert_eq!(ctime(&t, Some("cu")).unwrap(), "2026-12-08 00:11:05.001234");
        assert_eq!(ctime(&t, Some("cz")).unwrap(), "2026-12-08 00:11:05 -0530");
        assert_eq!(ctime(&t, Some("%H")), None);
    }

    #[test]
    fn syslog_error_logs_are_read_as_httpd_reads_them() {
        let read = |f: &str| Syslog::from_error_log(f, "apache2");
        let at = |tag: &str, facility: i32| {
            Some(Syslog {
                tag: tag.into(),
                facility,
            })
        };
        assert_eq!(read("/var/log/apache2/error.log"), None);
        assert_eq!(read("|/usr/bin/logger"), None);
        assert_eq!(read("syslogd.log"), at("apache2", 23 << 3));
        assert_eq!(read("syslog"), at("apache2", 23 << 3));
        assert_eq!(read("syslog:user"), at("apache2", 8));
        assert_eq!(read("SYSLOG:local3:web"), at("web", 19 << 3));
        assert_eq!(read("syslog::web"), at("web", 23 << 3));
        assert_eq!(read("syslog:auth"), at("apache2", 4 << 3));
        assert_eq!(read("syslog:nosuch"), None);
    }

    #[test]
    fn messages_are_escaped_as_httpd_escapes_them() {
        assert_eq!(
            escape("a\nb\\c\"d\u{e9}\x01"),
            "a\\nb\\\\c\"d\\xc3\\xa9\\x01"
        );
        assert_eq!(
            render_default(&facts(3, &time), "x", false),
            "[wsgi:error] [pid 41:tid 42] x"
        );
    }
}
