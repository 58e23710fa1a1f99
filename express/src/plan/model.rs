//! What a resolved [`Plan`] is made of, and the small checks every part of its resolution
//! shares.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::cli::{LogLevel, MapHead, Mpm};
use crate::platform::Os;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum App {
    /// A WSGI script file.
    Script(PathBuf),
    /// An importable module.
    Module(String),
    /// No application: the document root only.
    Static,
}

impl App {
    pub fn describe(&self) -> String {
        match self {
            App::Script(p) => format!("{} (script)", p.display()),
            App::Module(m) => format!("{m} (module)"),
            App::Static => "static files only".to_owned(),
        }
    }
}

/// Who Apache's children run as, when started as root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAs {
    pub user: String,
    pub group: String,
    pub uid: u32,
    pub gid: u32,
    /// Picked by rwsgi-express (no --user given): said so at start-up.
    pub defaulted: bool,
}

/// The daemon process group that runs the application (daemon mode, the default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonGroup {
    /// `--process-group`, else `HOST:PORT`.
    pub name: String,
    /// What `ps` shows for the daemon processes.
    pub display_name: String,
    /// The `WSGIDaemonProcess` options after the name, in order.
    pub options: Vec<(String, String)>,
    /// Connections Apache's front end serves at once (`--max-clients`).
    pub max_clients: u32,
}

impl DaemonGroup {
    /// Apache's children in daemon mode, sized for connections as mod_wsgi-express sizes
    /// them: (processes, threads per process). Prefork has one thread per process; the
    /// threaded MPMs have 10 threads per process up to 20 connections, else about 20.
    pub fn front_end(&self, mpm: Mpm) -> (u32, u32) {
        let clients = self.max_clients;
        if mpm == Mpm::Prefork {
            return (clients, 1);
        }
        let threads = if clients > 20 {
            clients / (clients / 20 + 1)
        } else {
            10
        };
        (clients.div_ceil(threads), threads)
    }
}

#[derive(Clone, Debug)]
pub struct Https {
    pub port: u16,
    pub certificate: PathBuf,
    pub key: PathBuf,
    pub chain: Option<PathBuf>,
    pub only: bool,
}

#[derive(Clone, Debug)]
pub struct Logs {
    /// ErrorLog /dev/stderr and CustomLog /dev/stdout (the console, CON, on Windows).
    pub terminal: bool,
    pub os: Os,
    pub directory: PathBuf,
    pub error_name: String,
    pub access_name: String,
    /// The LogFormat string, when the access log is on.
    pub access_format: Option<String>,
    pub level: LogLevel,
}

impl Logs {
    pub fn error_log(&self) -> PathBuf {
        let terminal = if self.os == Os::Windows {
            "CON"
        } else {
            "/dev/stderr"
        };
        self.path(&self.error_name, terminal)
    }

    pub fn access_log(&self) -> PathBuf {
        let terminal = if self.os == Os::Windows {
            "CON"
        } else {
            "/dev/stdout"
        };
        self.path(&self.access_name, terminal)
    }

    fn path(&self, name: &str, terminal: &str) -> PathBuf {
        if self.terminal {
            PathBuf::from(terminal)
        } else {
            self.directory.join(name)
        }
    }
}

/// Authentication of every request by Python scripts (`--auth-*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    pub user_script: PathBuf,
    /// `Basic` or `Digest`.
    pub kind: &'static str,
    /// `--auth-group-script` and the group it must put the user in.
    pub group: Option<(PathBuf, String)>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    /// The platform the configuration is written for.
    pub os: Os,
    pub server_root: PathBuf,
    pub app: App,
    pub callable: String,
    /// `--application-group`: the server's one application runs in its processes' main
    /// interpreter whatever the group is called; the name is what the application sees.
    pub application_group: String,
    /// "" for the root, else "/path" without a trailing slash.
    pub mount_point: String,
    pub working_directory: PathBuf,
    /// sys.path additions, in order.
    pub python_path: Vec<PathBuf>,
    pub python_home: Option<PathBuf>,
    /// `python3XX.dll`, loaded before the module on Windows (`LoadFile`).
    pub python_dll: Option<PathBuf>,
    pub python_warnings: Vec<String>,
    /// `--free-threading`: WSGIFreeThreading On for the processes that run the application.
    pub free_threading: bool,
    /// The Python the application runs (its home's executable), for the check before
    /// start; `None` when it has none rwsgi-express can run.
    pub python_executable: Option<PathBuf>,
    /// Import the application once before Apache starts (not with `--lazy-app`).
    pub check_app: bool,
    pub setenv: Vec<(String, String)>,
    pub passenv: Vec<String>,
    pub reload_script: bool,
    pub reload_on_changes: bool,
    pub include_files: Vec<PathBuf>,
    pub map_head_to_get: MapHead,
    pub chunked_request: bool,
    /// `--stream-coalescing`.
    pub stream_coalescing: bool,
    pub processes: u32,
    pub threads: u32,
    /// `None`: the application runs embedded in Apache's children (`--embedded-mode`), or
    /// there is no application.
    pub daemon: Option<DaemonGroup>,
    pub mpm: Mpm,
    pub host: Option<String>,
    pub port: u16,
    pub server_name: String,
    pub server_aliases: Vec<String>,
    pub limit_request_body: u64,
    pub keep_alive_timeout: u32,
    pub server_backlog: u32,
    pub request_read_timeout: String,
    /// Apache's `Timeout`: --socket-timeout, as mod_wsgi-express does.
    pub timeout: u32,
    /// Apache's `GracefulShutdownTimeout`: how long a SIGTERM lets requests finish
    /// (--shutdown-timeout).
    pub shutdown_timeout: u32,
    pub trust_proxy_headers: Vec<String>,
    pub trust_proxies: Vec<String>,
    pub https: Option<Https>,
    /// Longest URL first, so a longer alias is not hidden by a shorter one.
    pub url_aliases: Vec<(String, PathBuf)>,
    /// `--auth-user-script` and what goes with it.
    pub auth: Option<Auth>,
    /// `--host-access-script`.
    pub host_access_script: Option<PathBuf>,
    /// `--error-override` (daemon mode).
    pub error_override: bool,
    /// `--ignore-activity` URL paths (daemon mode).
    pub ignore_activity: Vec<String>,
    pub document_root: PathBuf,
    pub logs: Logs,
    pub pid_file: PathBuf,
    pub run_as: Option<RunAs>,
    pub httpd: PathBuf,
    pub modules_dir: PathBuf,
    pub module: PathBuf,
    pub mime_types: Option<PathBuf>,
    pub directory_index: Option<String>,
    pub enable_sendfile: bool,
    pub compress_responses: bool,
    pub rewrite_rules: Option<PathBuf>,
    pub error_log_format: Option<String>,
    pub server_status: bool,
    /// `mod_wsgi.server_metrics()` on (embedded mode: `WSGIServerMetrics On`; daemon mode:
    /// the group's `server-metrics=On`).
    pub server_metrics: bool,
    /// LANG/LC_ALL for Apache.
    pub locale: String,
    /// Things to tell the user at start-up (ignored options and the like).
    pub notices: Vec<String>,
}

impl Plan {
    pub fn conf_path(&self) -> PathBuf {
        self.server_root.join("httpd.conf")
    }

    pub fn handler_path(&self) -> PathBuf {
        self.server_root.join("handler.wsgi")
    }

    pub fn url(&self) -> String {
        let host = match self.host.as_deref() {
            None | Some("0.0.0.0") | Some("::") => "localhost",
            Some(h) => h,
        };
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let mount = if self.mount_point.is_empty() {
            "/"
        } else {
            &self.mount_point
        };
        match &self.https {
            Some(h) if h.only => format!("https://{host}:{}{mount}", h.port),
            _ => format!("http://{host}:{}{mount}", self.port),
        }
    }
}

pub(super) fn absolute(base: &Path, p: &Path) -> PathBuf {
    let joined = base.join(p);
    // dunce: on Windows without the \\?\ prefix, which Apache would not read.
    dunce::canonicalize(&joined).unwrap_or(joined)
}

/// `p` made absolute, and refused unless it is a file: `FLAG PATH: no such file`.
pub(super) fn existing_file(flag: &str, base: &Path, p: &Path) -> Result<PathBuf> {
    let f = absolute(base, p);
    if !f.is_file() {
        bail!("{flag} {}: no such file", f.display());
    }
    Ok(f)
}

/// `p` made absolute, and refused unless it is a directory: `FLAG PATH is not a directory`.
pub(super) fn existing_dir(flag: &str, base: &Path, p: &Path) -> Result<PathBuf> {
    let d = absolute(base, p);
    if !d.is_dir() {
        bail!("{flag} {} is not a directory", d.display());
    }
    Ok(d)
}

/// `pkg.module` or `pkg.module:callable`.
pub(super) fn parse_module_entry(entry: &str) -> Option<(String, Option<String>)> {
    let ident = |s: &str| {
        let mut chars = s.chars();
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || c == '_')
    };
    let (module, callable) = match entry.split_once(':') {
        Some((m, c)) => (m, Some(c)),
        None => (entry, None),
    };
    if !module.split('.').all(ident) || !callable.is_none_or(ident) {
        return None;
    }
    Some((module.to_owned(), callable.map(str::to_owned)))
}

/// What separates `WSGIPythonPath` entries on `os` (the module's PATH_LIST_SEPARATOR there).
pub fn path_list_separator(os: Os) -> char {
    match os {
        Os::Unix => ':',
        Os::Windows => ';',
    }
}

/// The caller's LANG unless it is unset or C/POSIX, where Python's filesystem encoding
/// would be ASCII (mod_wsgi-express does the same).
pub(super) fn default_locale() -> String {
    match std::env::var("LANG") {
        Ok(l) if !matches!(l.as_str(), "" | "C" | "POSIX") => l,
        _ => "C.UTF-8".to_owned(),
    }
}

/// A value written into httpd.conf: one line, or Apache would read the rest as directives.
pub(super) fn one_line(what: &str, value: &str) -> Result<()> {
    if value.chars().any(|c| c.is_control()) {
        bail!("{what} {value:?} contains a control character (a newline?)");
    }
    Ok(())
}

pub(super) fn access_log_format(name: &str) -> String {
    match name {
        "common" => "%h %l %u %t \"%r\" %>s %b".to_owned(),
        "combined" => "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\"".to_owned(),
        other => other.to_owned(),
    }
}
