//! Why a directive line is refused. Its `Display` is the whole message Apache prints for
//! the line (at start-up and under `apache2 -t`): it names the directive and says what to
//! write instead. The fence's trampoline turns it into Apache's string; nothing else here
//! knows about Apache.

/// A directive line that cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum DirectiveError {
    /// `rwsgi_core`'s argument parsers (flags, `key=value` options, numbers, mount points,
    /// `WSGIDaemonProcess` options, proxies): their messages already name the directive.
    #[error("{0}")]
    Args(String),
    /// The line does not split into words (a quote left open).
    #[error("{directive}: {reason}")]
    Words { directive: String, reason: String },
    /// Too few arguments, or not the kind the directive takes.
    #[error("{directive}: expected {expected}")]
    Usage { directive: String, expected: String },
    /// A directive that takes a list was given none.
    #[error("{directive}: name at least one {what}")]
    NothingNamed {
        directive: String,
        what: &'static str,
    },
    /// A value out of the directive's range.
    #[error("{directive}: expected {expected}, got '{value}'")]
    BadValue {
        directive: String,
        expected: &'static str,
        value: String,
    },
    /// A `key=value` option whose value is not valid.
    #[error("{directive}: {option}= {problem}")]
    BadOption {
        directive: String,
        option: &'static str,
        problem: &'static str,
    },
    /// Not a (non-negative) number of seconds.
    #[error("{directive}: '{value}' is not a number of seconds")]
    NotSeconds { directive: String, value: String },
    /// A path Apache cannot resolve against its `ServerRoot`.
    #[error("{directive}: invalid path '{path}'")]
    InvalidPath { directive: String, path: String },
    /// A path that must be absolute is not.
    #[error("{directive}: '{path}' must be an absolute path")]
    NotAbsolute { directive: String, path: String },
    /// Not a regular expression Apache can compile.
    #[error("{directive}: '{pattern}' is not a valid regular expression")]
    InvalidRegex { directive: String, pattern: String },
    /// `WSGITelemetryService` given something other than `unix:/…`.
    #[error("{directive}: '{address}' is not a Unix socket address; write unix:/path/to/socket")]
    NotUnixSocket { directive: String, address: String },
    /// A process group selector that names no process group (`%{SERVER}` and the like).
    #[error(
        "{directive}: '{value}' is not a process group; name a WSGIDaemonProcess group, \
         %{{GLOBAL}} (embedded) or %{{ENV:variable}}"
    )]
    NotAProcessGroup { directive: String, value: String },
    /// An empty application group selector.
    #[error("{directive}: the application group is empty; name one, or use %{{GLOBAL}}")]
    EmptyApplicationGroup { directive: String },
    /// A second `WSGIDaemonProcess` with a name already used in this server.
    #[error("{directive}: a group called '{name}' is already defined; group names must be unique")]
    DuplicateDaemonGroup { directive: String, name: String },
    /// Daemon mode needs `fork`, which Windows does not have: `what` (a directive, or a
    /// directive and the value) only makes sense with it.
    #[error(
        "{what}: daemon mode is not available on Windows: Apache for Windows runs one child \
         process, which cannot fork daemon processes (mod_wsgi has no daemon mode there \
         either). Run the application embedded: remove it, or use %{{GLOBAL}}"
    )]
    DaemonModeUnavailable { what: String },
    /// `WSGIPerInterpreterGIL On` with a Python older than 3.12 (no PEP 684).
    #[error(
        "{directive}: On needs Python 3.12 or later (PEP 684); this mod_rwsgi is built for Python {linked}. \
         Install rwsgi for Python 3.12+ (pip install rwsgi in a 3.12 venv), or remove the directive"
    )]
    NeedsOwnGil {
        directive: String,
        linked: &'static str,
    },
    /// `WSGIFreeThreading On` with a Python built with a GIL.
    #[error(
        "{directive}: On needs a free-threaded Python build (3.13t or later); this mod_rwsgi is built \
         for Python {linked} with a GIL. Build rwsgi with a free-threaded Python, or turn it on \
         for a daemon group on one only (<WSGIInterpreterOptions process-group=NAME> with \
         WSGIDaemonProcess NAME python-executable=/path/to/python3.13t), or remove the \
         directive (WSGIPerInterpreterGIL On runs groups in parallel on Python 3.12+)"
    )]
    NeedsFreeThreading {
        directive: String,
        linked: &'static str,
    },
    /// A directive mod_wsgi itself removed.
    #[error("{directive}: this directive was removed from mod_wsgi and has no effect; delete it")]
    Removed { directive: String },
    /// A section's opening line without its `>` (Apache's own wording).
    #[error("{section} directive missing closing '>'")]
    UnclosedSection { section: &'static str },
    /// A line inside `<WSGIInterpreterOptions>` that its directive's setter refused.
    #[error("{error} (inside {section} at {location})")]
    InSection {
        #[source]
        error: Box<DirectiveError>,
        section: &'static str,
        /// `file:line`.
        location: String,
    },
    /// A directive `<WSGIInterpreterOptions>` cannot scope.
    #[error(
        "{directive} cannot be used inside <WSGIInterpreterOptions>: only WSGIPerInterpreterGIL, \
         WSGIFreeThreading, WSGISwitchInterval, WSGIPythonPath, WSGIRestrictStdin, \
         WSGIRestrictStdout and WSGIRestrictSignal can"
    )]
    NotAllowedInSection { directive: String },
    /// `WSGISwitchInterval` for one application group whose GIL the process shares.
    #[error(
        "WSGISwitchInterval inside {section} with application-group= needs WSGIPerInterpreterGIL On \
         in the same section: a group sharing the GIL shares its switch interval with the \
         whole process. Set it in a section without application-group= (or at top level)"
    )]
    SwitchIntervalNeedsOwnGil { section: &'static str },
    /// `WSGIFreeThreading` in a section with `application-group=`.
    #[error(
        "{section}: WSGIFreeThreading cannot be set per application group: a process runs \
         with its GIL or without it for every group in it. Set it in a section with \
         process-group= only (or at top level)"
    )]
    FreeThreadingPerProcess { section: &'static str },
    /// A rule of one directive alone (`reason` says which and what to do).
    #[error("{directive}: {reason}")]
    Invalid { directive: String, reason: String },
}

#[cfg(test)]
mod tests {
    use super::DirectiveError as E;

    // The messages are what users see and search for: they must not drift.
    #[test]
    fn messages_read_as_before() {
        let d = || "WSGIThing".to_owned();
        let cases = [
            (
                E::Args("WSGIThing: expected On or Off, got 'x'".into()),
                "WSGIThing: expected On or Off, got 'x'",
            ),
            (
                E::Words {
                    directive: d(),
                    reason: "unterminated quote in '\"a'".into(),
                },
                "WSGIThing: unterminated quote in '\"a'",
            ),
            (
                E::NothingNamed {
                    directive: d(),
                    what: "option (or None, or All)",
                },
                "WSGIThing: name at least one option (or None, or All)",
            ),
            (
                E::BadOption {
                    directive: d(),
                    option: "callable-object",
                    problem: "needs a name",
                },
                "WSGIThing: callable-object= needs a name",
            ),
            (
                E::NotAProcessGroup {
                    directive: d(),
                    value: "%{SERVER}".into(),
                },
                "WSGIThing: '%{SERVER}' is not a process group; name a WSGIDaemonProcess group, \
                 %{GLOBAL} (embedded) or %{ENV:variable}",
            ),
            (
                E::EmptyApplicationGroup { directive: d() },
                "WSGIThing: the application group is empty; name one, or use %{GLOBAL}",
            ),
            (
                E::DaemonModeUnavailable { what: d() },
                "WSGIThing: daemon mode is not available on Windows: Apache for Windows runs one \
                 child process, which cannot fork daemon processes (mod_wsgi has no daemon mode \
                 there either). Run the application embedded: remove it, or use %{GLOBAL}",
            ),
            (
                E::InSection {
                    error: Box::new(E::Removed { directive: d() }),
                    section: "<WSGIInterpreterOptions>",
                    location: "/etc/a.conf:3".into(),
                },
                "WSGIThing: this directive was removed from mod_wsgi and has no effect; delete it \
                 (inside <WSGIInterpreterOptions> at /etc/a.conf:3)",
            ),
            (
                E::UnclosedSection {
                    section: "<WSGIInterpreterOptions>",
                },
                "<WSGIInterpreterOptions> directive missing closing '>'",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }
}
