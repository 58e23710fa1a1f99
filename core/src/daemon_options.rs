//! `WSGIDaemonProcess name option=value …`: every option mod_wsgi 6.1 accepts, checked and
//! typed, plus rwsgi's `resident-memory-limit=` (recycle on RSS, which mod_wsgi lacks).

use std::time::Duration;

/// A user or group as written: a name, or `#id`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Account {
    Name(String),
    Id(u32),
}

impl Account {
    fn parse(option: &str, value: &str) -> Result<Account, String> {
        if value.is_empty() {
            return Err(format!("{option}= needs a name or #id"));
        }
        match value.strip_prefix('#') {
            Some(id) => id
                .parse()
                .map(Account::Id)
                .map_err(|_| format!("{option}={value}: expected a name or #number")),
            None => Ok(Account::Name(value.to_owned())),
        }
    }
}

/// One daemon process group.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DaemonOptions {
    pub name: String,
    pub processes: u32,
    /// `processes=` was given (even `1`): `wsgi.multiprocess` is then True, as in mod_wsgi.
    pub multiprocess: bool,
    pub threads: u32,
    pub user: Option<Account>,
    pub group: Option<Account>,
    pub supplementary_groups: Vec<String>,
    pub umask: Option<u32>,
    pub home: Option<String>,
    pub lang: Option<String>,
    pub locale: Option<String>,
    pub python_home: Option<String>,
    pub python_path: Vec<String>,
    pub python_eggs: Option<String>,
    pub switch_interval: Option<f64>,
    pub display_name: Option<String>,
    pub maximum_requests: u64,
    pub restart_interval: Option<Duration>,
    pub inactivity_timeout: Option<Duration>,
    pub request_timeout: Option<Duration>,
    pub interrupt_timeout: Option<Duration>,
    pub graceful_timeout: Duration,
    pub eviction_timeout: Option<Duration>,
    pub shutdown_timeout: Duration,
    pub deadlock_timeout: Option<Duration>,
    pub startup_timeout: Option<Duration>,
    pub connect_timeout: Duration,
    /// `None`: Apache's `Timeout`.
    pub socket_timeout: Option<Duration>,
    pub queue_timeout: Option<Duration>,
    pub response_socket_timeout: Option<Duration>,
    pub response_flush_delay: Option<Duration>,
    pub listen_backlog: u32,
    pub stack_size: Option<u64>,
    pub memory_limit: Option<u64>,
    pub virtual_memory_limit: Option<u64>,
    /// rwsgi: recycle gracefully once resident memory exceeds this many bytes.
    pub resident_memory_limit: Option<u64>,
    pub cpu_time_limit: Option<u64>,
    pub cpu_priority: i32,
    pub header_buffer_size: u32,
    pub response_buffer_size: u64,
    pub send_buffer_size: Option<u32>,
    pub receive_buffer_size: Option<u32>,
    pub socket_user: Option<Account>,
    pub script_user: Option<Account>,
    pub script_group: Option<Account>,
    pub server_metrics: bool,
    /// rwsgi: `python-executable=`, the interpreter the group's daemons are exec'd into.
    pub python_executable: Option<String>,
    /// rwsgi: `launch=`, whether the daemons are forked or exec'd into their Python.
    pub launch: Launch,
}

/// How a group's daemon processes start (`launch=`; docs/daemon.md "Launch styles").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Launch {
    /// Exec'd when the group needs a Python other than the module's (`python-executable=`,
    /// or a `python-home=` venv of another X.Y); forked otherwise.
    #[default]
    Auto,
    /// Forked from the supervisor, on the module's own Python.
    Fork,
    /// Exec'd into the group's interpreter, which imports `rwsgi._daemon`.
    Exec,
}

impl DaemonOptions {
    /// mod_wsgi's module defaults.
    pub fn new(name: &str) -> DaemonOptions {
        DaemonOptions {
            name: name.to_owned(),
            processes: 1,
            multiprocess: false,
            threads: 15,
            user: None,
            group: None,
            supplementary_groups: Vec::new(),
            umask: None,
            home: None,
            lang: None,
            locale: None,
            python_home: None,
            python_path: Vec::new(),
            python_eggs: None,
            switch_interval: None,
            display_name: None,
            maximum_requests: 0,
            restart_interval: None,
            inactivity_timeout: None,
            request_timeout: None,
            interrupt_timeout: None,
            graceful_timeout: Duration::from_secs(15),
            eviction_timeout: None,
            shutdown_timeout: Duration::from_secs(5),
            deadlock_timeout: Some(Duration::from_secs(300)),
            startup_timeout: None,
            connect_timeout: Duration::from_secs(15),
            socket_timeout: None,
            queue_timeout: None,
            response_socket_timeout: None,
            // mod_wsgi's default: a stream's chunks that follow each other within 5 ms reach
            // the client in one write.
            response_flush_delay: Some(Duration::from_millis(5)),
            listen_backlog: 100,
            stack_size: None,
            memory_limit: None,
            virtual_memory_limit: None,
            resident_memory_limit: None,
            cpu_time_limit: None,
            cpu_priority: 0,
            header_buffer_size: 32768,
            response_buffer_size: 8 << 20,
            send_buffer_size: None,
            receive_buffer_size: None,
            socket_user: None,
            script_user: None,
            script_group: None,
            server_metrics: false,
            python_executable: None,
            launch: Launch::Auto,
        }
    }

    /// The process title `ps` shows, if `display-name=` asked for one.
    pub fn title(&self) -> Option<String> {
        self.display_name.as_ref().map(|d| {
            if d == "%{GROUP}" {
                format!("(wsgi:{})", self.name)
            } else {
                d.clone()
            }
        })
    }
}

/// Every option `WSGIDaemonProcess` accepts.
pub const OPTION_NAMES: &[&str] = &[
    "processes",
    "threads",
    "user",
    "group",
    "supplementary-groups",
    "umask",
    "home",
    "lang",
    "locale",
    "python-home",
    "python-path",
    "python-eggs",
    "switch-interval",
    "display-name",
    "maximum-requests",
    "restart-interval",
    "inactivity-timeout",
    "request-timeout",
    "interrupt-timeout",
    "graceful-timeout",
    "eviction-timeout",
    "shutdown-timeout",
    "deadlock-timeout",
    "startup-timeout",
    "connect-timeout",
    "socket-timeout",
    "queue-timeout",
    "response-socket-timeout",
    "response-flush-delay",
    "listen-backlog",
    "stack-size",
    "memory-limit",
    "virtual-memory-limit",
    "resident-memory-limit",
    "cpu-time-limit",
    "cpu-priority",
    "header-buffer-size",
    "response-buffer-size",
    "send-buffer-size",
    "receive-buffer-size",
    "socket-user",
    "script-user",
    "script-group",
    "server-metrics",
    "python-executable",
    "launch",
];

/// Parses the words after the directive name. Errors name the option and say what is valid.
pub fn parse(words: &[String]) -> Result<DaemonOptions, String> {
    let d = "WSGIDaemonProcess";
    let [name, opts @ ..] = words else {
        return Err(format!(
            "{d}: missing the group name, e.g. {d} myapp processes=2 threads=15"
        ));
    };
    if name.is_empty() || name.contains('=') || name.contains('/') {
        return Err(format!(
            "{d}: '{name}' is not a valid group name; give a name first, e.g. {d} myapp processes=2"
        ));
    }
    let mut o = DaemonOptions::new(name);
    let mut seen: Vec<&str> = Vec::new();
    for word in opts {
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!(
                "{d} {name}: unexpected argument '{word}', expected option=value"
            ));
        };
        if key == "chroot" {
            return Err(format!(
                "{d} {name}: chroot= is not supported (mod_wsgi deprecated it); run Apache in a container instead"
            ));
        }
        let Some(&known) = OPTION_NAMES.iter().find(|n| **n == key) else {
            return Err(format!(
                "{d} {name}: unknown option '{key}' (valid options: {})",
                OPTION_NAMES.join(", ")
            ));
        };
        if seen.contains(&known) {
            return Err(format!("{d} {name}: option '{key}' given twice"));
        }
        seen.push(known);
        apply(&mut o, known, value).map_err(|e| format!("{d} {name}: {e}"))?;
    }
    Ok(o)
}

fn apply(o: &mut DaemonOptions, key: &str, v: &str) -> Result<(), String> {
    let nonempty = || {
        if v.is_empty() {
            Err(format!("{key}= needs a value"))
        } else {
            Ok(v.to_owned())
        }
    };
    match key {
        "processes" => {
            o.processes = count(key, v, 1)?;
            o.multiprocess = true;
        }
        "threads" => {
            o.threads = count(key, v, 0)?;
            if o.threads == 0 {
                return Err(
                    "threads=0 (service-script mode) is not supported; use threads=1 or more"
                        .into(),
                );
            }
        }
        "user" => {
            let a = Account::parse(key, v)?;
            if a == Account::Name("root".into()) || a == Account::Id(0) {
                return Err(
                    "user=root is refused: a daemon running the application as root is a security hole; name an unprivileged user".into(),
                );
            }
            o.user = Some(a);
        }
        "group" => o.group = Some(Account::parse(key, v)?),
        "supplementary-groups" => {
            o.supplementary_groups = v
                .split(',')
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect()
        }
        "umask" => {
            o.umask = Some(
                u32::from_str_radix(v, 8)
                    .ok()
                    .filter(|m| *m <= 0o777)
                    .ok_or_else(|| format!("umask={v}: expected an octal mask such as 0022"))?,
            )
        }
        "home" => o.home = Some(nonempty()?),
        "lang" => o.lang = Some(nonempty()?),
        "locale" => o.locale = Some(nonempty()?),
        "python-home" => o.python_home = Some(nonempty()?),
        "python-path" => {
            o.python_path = v
                .split(crate::directive_args::PATH_LIST_SEPARATOR)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        }
        "python-eggs" => o.python_eggs = Some(nonempty()?),
        "switch-interval" => {
            o.switch_interval = Some(
                v.parse::<f64>()
                    .ok()
                    .filter(|s| *s > 0.0 && s.is_finite())
                    .ok_or_else(|| {
                        format!("switch-interval={v}: expected seconds greater than 0")
                    })?,
            )
        }
        "display-name" => o.display_name = Some(nonempty()?),
        "maximum-requests" => o.maximum_requests = number(key, v)?,
        "restart-interval" => o.restart_interval = seconds(key, v)?,
        "inactivity-timeout" => o.inactivity_timeout = seconds(key, v)?,
        "request-timeout" => o.request_timeout = seconds(key, v)?,
        "interrupt-timeout" => o.interrupt_timeout = seconds(key, v)?,
        "graceful-timeout" => o.graceful_timeout = seconds(key, v)?.unwrap_or_default(),
        "eviction-timeout" => o.eviction_timeout = seconds(key, v)?,
        "shutdown-timeout" => o.shutdown_timeout = seconds(key, v)?.unwrap_or_default(),
        "deadlock-timeout" => o.deadlock_timeout = seconds(key, v)?,
        "startup-timeout" => o.startup_timeout = seconds(key, v)?,
        "connect-timeout" => o.connect_timeout = seconds(key, v)?.unwrap_or_default(),
        "socket-timeout" => o.socket_timeout = seconds(key, v)?,
        "queue-timeout" => o.queue_timeout = seconds(key, v)?,
        "response-socket-timeout" => o.response_socket_timeout = seconds(key, v)?,
        "response-flush-delay" => {
            let ms: u64 = number(key, v)?;
            o.response_flush_delay = (ms > 0).then(|| Duration::from_millis(ms));
        }
        "listen-backlog" => o.listen_backlog = count(key, v, 1)?,
        "stack-size" => o.stack_size = nonzero(bytes(key, v)?),
        "memory-limit" => o.memory_limit = nonzero(bytes(key, v)?),
        "virtual-memory-limit" => o.virtual_memory_limit = nonzero(bytes(key, v)?),
        "resident-memory-limit" => o.resident_memory_limit = nonzero(bytes(key, v)?),
        "cpu-time-limit" => o.cpu_time_limit = nonzero(number(key, v)?),
        "cpu-priority" => {
            o.cpu_priority = v
                .parse()
                .ok()
                .filter(|p| (-20..=19).contains(p))
                .ok_or_else(|| format!("cpu-priority={v}: expected a nice value from -20 to 19"))?
        }
        "header-buffer-size" => {
            let n: u64 = bytes(key, v)?;
            o.header_buffer_size = match n {
                0 => 32768,
                8192..=0x0100_0000 => n as u32,
                _ => {
                    return Err(format!(
                        "header-buffer-size={v}: expected 8192 to 16M bytes"
                    ));
                }
            }
        }
        "response-buffer-size" => {
            let n = bytes(key, v)?;
            o.response_buffer_size = match n {
                0 => 8 << 20,
                65536.. => n,
                _ => return Err(format!("response-buffer-size={v}: expected at least 65536")),
            }
        }
        "send-buffer-size" => o.send_buffer_size = socket_buffer(key, v)?,
        "receive-buffer-size" => o.receive_buffer_size = socket_buffer(key, v)?,
        "socket-user" => o.socket_user = Some(Account::parse(key, v)?),
        "script-user" => o.script_user = Some(Account::parse(key, v)?),
        "script-group" => o.script_group = Some(Account::parse(key, v)?),
        "server-metrics" => {
            o.server_metrics = crate::directive_args::flag("server-metrics", v)?;
        }
        "python-executable" => o.python_executable = Some(nonempty()?),
        "launch" => {
            o.launch = match v {
                "auto" => Launch::Auto,
                "fork" => Launch::Fork,
                "exec" => Launch::Exec,
                _ => return Err(format!("launch={v}: expected fork, exec or auto")),
            }
        }
        other => unreachable!("option {other} is listed but not handled"),
    }
    Ok(())
}

fn number(key: &str, v: &str) -> Result<u64, String> {
    v.parse()
        .map_err(|_| format!("{key}={v}: expected a whole number"))
}

fn count(key: &str, v: &str, min: u32) -> Result<u32, String> {
    v.parse()
        .ok()
        .filter(|n| *n >= min)
        .ok_or_else(|| format!("{key}={v}: expected a whole number of at least {min}"))
}

fn nonzero(n: u64) -> Option<u64> {
    (n > 0).then_some(n)
}

/// Seconds, fractions allowed; `0` turns the timeout off.
fn seconds(key: &str, v: &str) -> Result<Option<Duration>, String> {
    let s: f64 = v
        .parse()
        .ok()
        .filter(|s: &f64| *s >= 0.0 && s.is_finite() && *s < 1e9)
        .ok_or_else(|| format!("{key}={v}: expected a number of seconds (0 turns it off)"))?;
    Ok((s > 0.0).then(|| Duration::from_secs_f64(s)))
}

/// Bytes, with an optional K, M or G suffix (powers of 1024).
pub fn bytes(key: &str, v: &str) -> Result<u64, String> {
    let (digits, shift) = match v.char_indices().last() {
        Some((i, 'k' | 'K')) => (&v[..i], 10),
        Some((i, 'm' | 'M')) => (&v[..i], 20),
        Some((i, 'g' | 'G')) => (&v[..i], 30),
        _ => (v, 0),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("{key}={v}: expected a size in bytes, optionally with K, M or G"))
}

fn socket_buffer(key: &str, v: &str) -> Result<Option<u32>, String> {
    match bytes(key, v)? {
        0 => Ok(None),
        n @ 512..=0x7fff_ffff => Ok(Some(n as u32)),
        _ => Err(format!(
            "{key}={v}: expected 0 (system default) or at least 512"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Result<DaemonOptions, String> {
        parse(&crate::directive_args::words(line).unwrap())
    }

    #[test]
    fn defaults_match_mod_wsgi() {
        let o = p("app").unwrap();
        assert_eq!((o.processes, o.threads, o.multiprocess), (1, 15, false));
        assert_eq!(o.graceful_timeout, Duration::from_secs(15));
        assert_eq!(o.shutdown_timeout, Duration::from_secs(5));
        assert_eq!(o.connect_timeout, Duration::from_secs(15));
        assert_eq!(o.listen_backlog, 100);
        assert_eq!(o.header_buffer_size, 32768);
        assert!(o.queue_timeout.is_none() && o.request_timeout.is_none());
    }

    #[test]
    fn every_option_parses() {
        let o = p(
            "app processes=2 threads=4 user=www-data group=#33 supplementary-groups=a,b \
                   umask=0027 home=/srv lang=en_US.UTF-8 locale=C.UTF-8 python-home=/venv \
                   python-path=/a:/b python-eggs=/tmp/e switch-interval=0.01 display-name=%{GROUP} \
                   maximum-requests=100 restart-interval=3600 inactivity-timeout=300 \
                   request-timeout=60 interrupt-timeout=0 graceful-timeout=10 eviction-timeout=5 \
                   shutdown-timeout=3 deadlock-timeout=60 startup-timeout=15 connect-timeout=2.5 \
                   socket-timeout=30 queue-timeout=45 response-socket-timeout=10 \
                   response-flush-delay=5 listen-backlog=50 stack-size=512K memory-limit=1G \
                   virtual-memory-limit=2G resident-memory-limit=256M cpu-time-limit=100 \
                   cpu-priority=5 header-buffer-size=65536 response-buffer-size=1M \
                   send-buffer-size=4096 receive-buffer-size=0 socket-user=www-data \
                   script-user=app script-group=app server-metrics=On",
        )
        .unwrap();
        assert_eq!((o.processes, o.threads, o.multiprocess), (2, 4, true));
        assert_eq!(o.group, Some(Account::Id(33)));
        assert_eq!(o.umask, Some(0o027));
        assert_eq!(o.python_path, ["/a", "/b"]);
        assert_eq!(o.title().as_deref(), Some("(wsgi:app)"));
        assert_eq!(o.connect_timeout, Duration::from_millis(2500));
        assert_eq!(o.interrupt_timeout, None);
        assert_eq!(o.stack_size, Some(512 << 10));
        assert_eq!(o.resident_memory_limit, Some(256 << 20));
        assert_eq!(o.receive_buffer_size, None);
        assert_eq!(o.send_buffer_size, Some(4096));
        assert!(o.server_metrics);
        // Every listed option appeared in that line.
        for name in OPTION_NAMES {
            assert!(
                format!("{o:?}").contains(&name.replace('-', "_")),
                "{name} has no field"
            );
        }
    }

    #[test]
    fn errors_name_the_option_and_the_fix() {
        let cases = [
            ("", "missing the group name"),
            ("app bogus=1", "unknown option 'bogus'"),
            (
                "app processes=0",
                "processes=0: expected a whole number of at least 1",
            ),
            (
                "app threads=0",
                "threads=0 (service-script mode) is not supported",
            ),
            ("app user=root", "user=root is refused"),
            ("app user=#0", "user=root is refused"),
            ("app umask=999", "umask=999: expected an octal mask"),
            (
                "app request-timeout=soon",
                "request-timeout=soon: expected a number of seconds",
            ),
            (
                "app header-buffer-size=100",
                "header-buffer-size=100: expected 8192",
            ),
            ("app send-buffer-size=10", "send-buffer-size=10: expected 0"),
            (
                "app stack-size=12X",
                "stack-size=12X: expected a size in bytes",
            ),
            (
                "app processes=2 processes=3",
                "option 'processes' given twice",
            ),
            ("app chroot=/jail", "chroot= is not supported"),
            ("app threads", "unexpected argument 'threads'"),
            ("processes=2", "is not a valid group name"),
            (
                "app cpu-priority=40",
                "cpu-priority=40: expected a nice value",
            ),
        ];
        for (line, want) in cases {
            let err = p(line).unwrap_err();
            assert!(err.contains(want), "{line}: {err}");
            assert!(err.starts_with("WSGIDaemonProcess"), "{err}");
        }
    }

    #[test]
    fn sizes_take_suffixes() {
        assert_eq!(bytes("x", "10"), Ok(10));
        assert_eq!(bytes("x", "2k"), Ok(2048));
        assert_eq!(bytes("x", "3G"), Ok(3 << 30));
        assert!(bytes("x", "M").is_err());
        assert!(bytes("x", "99999999999999G").is_err());
    }
}
