//! Turns the command line and the host's facts into a checked, fully resolved `Plan`: every
//! path absolute, every default applied, every inconsistency reported before Apache starts.
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::cli::{ApplicationType, LogLevel, MapHead, Mpm, ServerArgs};
use crate::host::Host;
use crate::platform::{self, Os};

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
    pub setenv: Vec<(String, String)>,
    pub passenv: Vec<String>,
    pub reload_script: bool,
    pub reload_on_changes: bool,
    pub include_files: Vec<PathBuf>,
    pub map_head_to_get: MapHead,
    pub chunked_request: bool,
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

/// Looks up users and groups; a trait so configuration rendering can be tested without the
/// machine's account database.
pub trait Accounts {
    /// (uid, primary gid, name) of a user name or `#uid`.
    fn user(&self, name: &str) -> Option<(u32, u32, String)>;
    /// (gid, name) of a group name or `#gid`.
    fn group(&self, name: &str) -> Option<(u32, String)>;
    fn group_name(&self, gid: u32) -> Option<String>;
}

fn absolute(base: &Path, p: &Path) -> PathBuf {
    let joined = base.join(p);
    // dunce: on Windows without the \\?\ prefix, which Apache would not read.
    dunce::canonicalize(&joined).unwrap_or(joined)
}

/// `pkg.module` or `pkg.module:callable`.
fn parse_module_entry(entry: &str) -> Option<(String, Option<String>)> {
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

fn resolve_app(args: &ServerArgs, host: &Host) -> Result<(App, Option<String>)> {
    let entry = match (&args.application, &args.entry_point) {
        (Some(_), Some(_)) => {
            bail!("give the application once: as the argument or with --entry-point, not both")
        }
        (Some(e), None) | (None, Some(e)) => Some(e.as_str()),
        (None, None) => None,
    };
    let Some(entry) = entry else {
        if args.application_type == Some(ApplicationType::Static) {
            return Ok((App::Static, None));
        }
        bail!(
            "no application given: rwsgi-express start-server wsgi.py (a WSGI script) or \
             rwsgi-express start-server pkg.module:application (a module entry point)"
        );
    };
    let as_path = absolute(&host.cwd, Path::new(entry));
    let kind = args.application_type.unwrap_or(if as_path.is_file() {
        ApplicationType::Script
    } else if parse_module_entry(entry).is_some() && !entry.ends_with(".py") {
        ApplicationType::Module
    } else {
        ApplicationType::Script
    });
    match kind {
        ApplicationType::Script => {
            if !as_path.is_file() {
                bail!(
                    "the WSGI script {} does not exist (for a module entry point write \
                     pkg.module:application)",
                    as_path.display()
                );
            }
            Ok((App::Script(as_path), None))
        }
        ApplicationType::Module => match parse_module_entry(entry) {
            Some((module, callable)) => Ok((App::Module(module), callable)),
            None => bail!(
                "{entry:?} is not a module entry point: write pkg.module or pkg.module:callable"
            ),
        },
        ApplicationType::Static => {
            bail!("--application-type static serves files only: do not give an application")
        }
    }
}

fn resolve_run_as(
    args: &ServerArgs,
    host: &Host,
    accounts: &dyn Accounts,
) -> Result<Option<RunAs>> {
    if host.os == Os::Windows && (args.user.is_some() || args.group.is_some()) {
        bail!(
            "--user and --group: Apache for Windows runs as the account that starts it (as a \
             service, the service's account); remove them"
        );
    }
    if !host.is_root() {
        if args.user.is_some() || args.group.is_some() {
            bail!(
                "--user and --group need rwsgi-express to be started as root (only root can \
                 switch users); without them Apache runs as you"
            );
        }
        return Ok(None);
    }
    let (user, defaulted) = match &args.user {
        Some(u) => (
            accounts.user(u).ok_or_else(|| {
                anyhow::anyhow!("--user {u}: no such user (see `getent passwd {u}`)")
            })?,
            false,
        ),
        None => (
            accounts
                .user("www-data")
                .or_else(|| accounts.user("nobody"))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "running as root, and neither www-data nor nobody exists: name an \
                         unprivileged account with --user"
                    )
                })?,
            true,
        ),
    };
    let (uid, primary_gid, user_name) = user;
    if uid == 0 {
        bail!(
            "--user {user_name}: Apache's children must not run as root; name an \
             unprivileged account"
        );
    }
    let (gid, group) = match &args.group {
        Some(g) => accounts.group(g).ok_or_else(|| {
            anyhow::anyhow!("--group {g}: no such group (see `getent group {g}`)")
        })?,
        None => (
            primary_gid,
            accounts
                .group_name(primary_gid)
                .unwrap_or_else(|| format!("#{primary_gid}")),
        ),
    };
    Ok(Some(RunAs {
        user: user_name,
        group,
        uid,
        gid,
        defaulted,
    }))
}

fn resolve_https(args: &ServerArgs, host: &Host) -> Result<Option<Https>> {
    let (cert, key) = match &args.ssl_certificate {
        Some(stem) => {
            if args.ssl_certificate_file.is_some() || args.ssl_certificate_key_file.is_some() {
                bail!(
                    "--ssl-certificate names both files (STEM.crt and STEM.key): do not also \
                     give --ssl-certificate-file/--ssl-certificate-key-file"
                );
            }
            let stem = stem.to_string_lossy();
            (
                Some(PathBuf::from(format!("{stem}.crt"))),
                Some(PathBuf::from(format!("{stem}.key"))),
            )
        }
        None => (
            args.ssl_certificate_file.clone(),
            args.ssl_certificate_key_file.clone(),
        ),
    };
    let Some(port) = args.https_port else {
        if cert.is_some() || key.is_some() || args.https_only {
            bail!("the HTTPS options need --https-port");
        }
        return Ok(None);
    };
    let (Some(cert), Some(key)) = (cert, key) else {
        bail!(
            "--https-port needs a certificate: --ssl-certificate-file and \
             --ssl-certificate-key-file (or --ssl-certificate STEM)"
        );
    };
    if port == args.port {
        bail!("--https-port {port} is also the HTTP --port");
    }
    let mut files = vec![absolute(&host.cwd, &cert), absolute(&host.cwd, &key)];
    if let Some(chain) = &args.ssl_certificate_chain_file {
        files.push(absolute(&host.cwd, chain));
    }
    for f in &files {
        if !f.is_file() {
            bail!("{} does not exist", f.display());
        }
    }
    Ok(Some(Https {
        port,
        certificate: files[0].clone(),
        key: files[1].clone(),
        chain: files.get(2).cloned(),
        only: args.https_only,
    }))
}

/// Options that configure daemon processes, given where none run.
fn unused_daemon_options(args: &ServerArgs, why: &str) -> Option<String> {
    let mut unused = args.daemon.given();
    // Also Apache's `Timeout` and `GracefulShutdownTimeout`, which apply in every mode.
    unused.retain(|o| *o != "--socket-timeout" && *o != "--shutdown-timeout");
    if args.max_clients.is_some() {
        unused.push("--max-clients");
    }
    if args.process_group.is_some() {
        unused.push("--process-group");
    }
    (!unused.is_empty()).then(|| {
        format!(
            "{} configure daemon processes; {why}, so they have no effect",
            unused.join(", ")
        )
    })
}

/// What separates `WSGIPythonPath` entries on `os` (the module's PATH_LIST_SEPARATOR there).
pub fn path_list_separator(os: Os) -> char {
    match os {
        Os::Unix => ':',
        Os::Windows => ';',
    }
}

/// A daemon group name is one word of httpd.conf, and the module's own rules apply.
fn check_group_name(what: &str, name: &str) -> Result<()> {
    if name.starts_with("%{")
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"'\\".contains(c))
    {
        bail!("{what}: {name:?} cannot name a daemon process group (no spaces, quotes or %{{…}})");
    }
    rwsgi_core::daemon_options::parse(&[name.to_owned()])
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

/// The daemon process group: the `WSGIDaemonProcess` line as mod_wsgi-express writes it,
/// checked by the module's own parser.
fn resolve_daemon(
    args: &ServerArgs,
    host: &Host,
    working_directory: &Path,
    python_path: &[PathBuf],
    locale: &str,
) -> Result<DaemonGroup> {
    let listen_host = args.host.as_deref().unwrap_or("localhost");
    let (name, display_name) = match &args.process_group {
        Some(g) => {
            check_group_name("--process-group", g)?;
            (g.clone(), format!("(rwsgi:{g})"))
        }
        None => {
            let name = format!("{listen_host}:{}", args.port);
            check_group_name("--host", &name)?;
            let title = format!("(rwsgi:{name}:{})", host.uid);
            (name, title)
        }
    };
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let mut options: Vec<(String, String)> = vec![
        ("display-name".into(), display_name.clone()),
        // The daemon works here, and it is first on sys.path.
        ("home".into(), path(working_directory)),
    ];
    // `processes=` also makes wsgi.multiprocess True, which one process is not.
    if args.processes > 1 {
        options.push(("processes".into(), args.processes.to_string()));
    }
    options.push(("threads".into(), args.threads.to_string()));
    let rest: Vec<String> = python_path
        .iter()
        .filter(|p| p.as_path() != working_directory)
        .map(|p| path(p))
        .collect();
    if !rest.is_empty() {
        options.push(("python-path".into(), rest.join(":")));
    }
    options.push(("lang".into(), locale.to_owned()));
    options.push(("locale".into(), locale.to_owned()));
    let daemon_options = args.daemon.options();
    for o in &daemon_options {
        if let Some(value) = o.given.or(o.default) {
            options.push((o.key.to_owned(), value.to_string()));
        }
    }
    if args.server_metrics {
        options.push(("server-metrics".into(), "On".into()));
    }

    let words = |opts: &[(String, String)]| {
        std::iter::once(name.clone())
            .chain(opts.iter().map(|(k, v)| format!("{k}={v}")))
            .collect::<Vec<_>>()
    };
    for (i, (key, value)) in options.iter().enumerate() {
        if let Err(e) = rwsgi_core::daemon_options::parse(&words(&options[i..=i])) {
            let flag = daemon_options.iter().find(|o| o.key == key).map_or_else(
                || format!("{key}={value}"),
                |o| format!("{} {value}", o.flag),
            );
            bail!("{flag}: {e}");
        }
    }
    // The whole line, as the module will read it.
    rwsgi_core::daemon_options::parse(&words(&options)).map_err(|e| anyhow::anyhow!(e))?;
    let workers = args.processes * args.threads;
    let max_clients = match args.max_clients {
        Some(m) => m.max(workers),
        None => 10 + 10.max(workers * 3 / 2),
    };
    Ok(DaemonGroup {
        name,
        display_name,
        options,
        max_clients,
    })
}

/// A mod_reqtimeout stage: `T-MAX,MinRate=R`, or a fixed `T` when MAX does not exceed it
/// (Apache refuses `T-MAX` then).
fn read_timeout(stage: &str, timeout: u32, max: u32, min_rate: u32) -> String {
    if max > timeout && min_rate > 0 {
        format!("{stage}={timeout}-{max},MinRate={min_rate}")
    } else if max == 0 && min_rate > 0 {
        format!("{stage}={timeout},MinRate={min_rate}")
    } else {
        format!("{stage}={timeout}")
    }
}

/// The caller's LANG unless it is unset or C/POSIX, where Python's filesystem encoding
/// would be ASCII (mod_wsgi-express does the same).
fn default_locale() -> String {
    match std::env::var("LANG") {
        Ok(l) if !matches!(l.as_str(), "" | "C" | "POSIX") => l,
        _ => "C.UTF-8".to_owned(),
    }
}

/// A value written into httpd.conf: one line, or Apache would read the rest as directives.
fn one_line(what: &str, value: &str) -> Result<()> {
    if value.chars().any(|c| c.is_control()) {
        bail!("{what} {value:?} contains a control character (a newline?)");
    }
    Ok(())
}

fn access_log_format(name: &str) -> String {
    match name {
        "common" => "%h %l %u %t \"%r\" %>s %b".to_owned(),
        "combined" => "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\"".to_owned(),
        other => other.to_owned(),
    }
}

pub fn resolve(args: &ServerArgs, host: &Host, accounts: &dyn Accounts) -> Result<Plan> {
    let mut texts: Vec<(&str, String)> = vec![("--mount-point", args.mount_point.clone())];
    texts.extend(args.setenv.iter().map(|v| ("--setenv", v.clone())));
    texts.extend(args.url_alias.iter().map(|v| ("--url-alias", v.clone())));
    texts.extend(
        args.server_name
            .iter()
            .map(|v| ("--server-name", v.clone())),
    );
    texts.extend(
        args.server_alias
            .iter()
            .map(|v| ("--server-alias", v.clone())),
    );
    texts.extend(
        args.error_log_format
            .iter()
            .map(|v| ("--error-log-format", v.clone())),
    );
    texts.push(("--access-log-format", args.access_log_format.clone()));
    texts.extend(
        args.application
            .iter()
            .map(|v| ("the application", v.clone())),
    );
    texts.extend(
        args.entry_point
            .iter()
            .map(|v| ("--entry-point", v.clone())),
    );
    for p in args
        .python_path
        .iter()
        .chain(&args.working_directory)
        .chain(&args.server_root)
    {
        texts.push(("path", p.to_string_lossy().into_owned()));
    }
    for (what, value) in &texts {
        one_line(what, value)?;
    }
    let names = args.setenv.iter().step_by(2).chain(&args.passenv);
    for name in names {
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            bail!("{name:?} is not an environment variable name (letters, digits and _)");
        }
    }
    let (app, named_callable) = resolve_app(args, host)?;
    let mount_point = args.mount_point.trim_end_matches('/').to_owned();
    if !args.mount_point.starts_with('/') {
        bail!("--mount-point {:?} must start with /", args.mount_point);
    }
    // A script's own directory by default: the invoking user's current directory (say,
    // root's home) may be out of reach for Apache's user. A module is imported from here.
    let working_directory = match (&args.working_directory, &app) {
        (Some(d), _) => absolute(&host.cwd, d),
        (None, App::Script(script)) => script
            .parent()
            .map_or_else(|| host.cwd.clone(), Path::to_owned),
        (None, _) => host.cwd.clone(),
    };
    if !working_directory.is_dir() {
        bail!(
            "--working-directory {} is not a directory",
            working_directory.display()
        );
    }
    let mut python_path = vec![working_directory.clone()];
    if let App::Script(script) = &app {
        python_path.extend(script.parent().map(Path::to_owned));
    }
    for p in &args.python_path {
        let p = absolute(&host.cwd, p);
        if !p.is_dir() {
            bail!("--python-path {} is not a directory", p.display());
        }
        python_path.push(p);
    }
    let mut seen = std::collections::HashSet::new();
    python_path.retain(|p| seen.insert(p.clone()));
    let separator = path_list_separator(host.os);
    if let Some(p) = python_path
        .iter()
        .find(|p| p.to_string_lossy().contains(separator))
    {
        bail!(
            "{} contains '{separator}', which separates sys.path entries in WSGIPythonPath; rename it",
            p.display()
        );
    }
    let application_group = &args.application_group;
    if application_group.is_empty()
        || application_group
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\')
    {
        bail!(
            "--application-group {application_group:?}: name a group without spaces, quotes \
             or backslashes, or use %{{GLOBAL}} (the default)"
        );
    }
    let python_home = match &args.python_home {
        Some(h) => {
            let h = absolute(&host.cwd, h);
            if !h.is_dir() {
                bail!("--python-home {} is not a directory", h.display());
            }
            Some(h)
        }
        // Windows: always, as mod_wsgi-express does; Python would otherwise look for its
        // home next to httpd.exe.
        None => host
            .virtual_env
            .clone()
            .or_else(|| (host.os == Os::Windows).then(|| host.python.home.clone())),
    };
    let python_dll = match host.os {
        Os::Unix => None,
        Os::Windows => {
            let home = python_home.as_deref().unwrap_or(&host.python.home);
            let dll = platform::python_dll_for(home).or_else(|| host.python.dll.clone());
            Some(dll.ok_or_else(|| {
                anyhow::anyhow!(
                    "cannot find python{}.dll for the Python home {}: name a python.org Python {} (or a venv made from one) with --python-home",
                    crate::host::PYTHON_VERSION.replace('.', ""),
                    home.display(),
                    crate::host::PYTHON_VERSION
                )
            })?)
        }
    };
    if host.os == Os::Windows && args.processes > 1 {
        bail!(
            "--processes {}: Apache for Windows runs one child process; give it more --threads instead",
            args.processes
        );
    }

    // Daemon processes need fork: Apache for Windows runs the application embedded.
    let daemon_mode = !args.embedded_mode && app != App::Static && host.os == Os::Unix;
    if host.os == Os::Unix && args.server_mpm == Mpm::Prefork && args.threads != 1 && !daemon_mode {
        bail!(
            "the prefork MPM runs one thread per process: add --threads 1, or use \
             --server-mpm worker"
        );
    }
    // Ports below 1024 are not refused here: containers and CAP_NET_BIND_SERVICE allow them
    // without root, and Apache's own error says when they are not allowed.
    let run_as = resolve_run_as(args, host, accounts)?;
    let https = resolve_https(args, host)?;

    let server_root = match &args.server_root {
        Some(d) => absolute(&host.cwd, d),
        None => {
            // mod_wsgi-express's names; ':' cannot be in a Windows file name.
            let sep = if host.os == Os::Windows { '-' } else { ':' };
            host.temp_dir.join(format!(
                "rwsgi-express-{}{sep}{}{sep}{}",
                args.host.as_deref().unwrap_or("localhost"),
                args.port,
                host.user
            ))
        }
    };
    let document_root = match &args.document_root {
        Some(d) => {
            let d = absolute(&host.cwd, d);
            if !d.is_dir() {
                bail!("--document-root {} is not a directory", d.display());
            }
            d
        }
        None => server_root.join("htdocs"),
    };
    let mut url_aliases = Vec::new();
    for pair in args.url_alias.chunks(2) {
        let url = pair[0].clone();
        if !url.starts_with('/') {
            bail!("--url-alias {url:?}: the URL path must start with /");
        }
        let path = absolute(&host.cwd, Path::new(&pair[1]));
        if !path.exists() {
            bail!(
                "--url-alias {url} {}: no such file or directory",
                path.display()
            );
        }
        url_aliases.push((url, path));
    }
    url_aliases.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));

    let setenv = args
        .setenv
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    let mut include_files = Vec::new();
    for f in &args.include_file {
        let f = absolute(&host.cwd, f);
        if !f.is_file() {
            bail!("--include-file {}: no such file", f.display());
        }
        include_files.push(f);
    }

    let terminal = args.log_directory.is_none() && (args.log_to_terminal || host.terminal);
    let logs = Logs {
        terminal,
        os: host.os,
        directory: args
            .log_directory
            .as_ref()
            .map(|d| absolute(&host.cwd, d))
            .unwrap_or_else(|| server_root.clone()),
        error_name: args.error_log_name.clone(),
        access_name: args.access_log_name.clone(),
        access_format: args
            .access_log
            .then(|| access_log_format(&args.access_log_format)),
        level: args.log_level,
    };
    if args.log_directory.is_some() && !logs.directory.is_dir() {
        bail!(
            "--log-directory {} is not a directory",
            logs.directory.display()
        );
    }

    let request_read_timeout = format!(
        "{} {}",
        read_timeout(
            "header",
            args.header_timeout,
            args.header_max_timeout,
            args.header_min_rate
        ),
        read_timeout(
            "body",
            args.body_timeout,
            args.body_max_timeout,
            args.body_min_rate
        )
    );

    let locale = args.locale.clone().unwrap_or_else(default_locale);
    one_line("--locale", &locale)?;
    let mut notices = Vec::new();
    let daemon = if daemon_mode {
        Some(resolve_daemon(
            args,
            host,
            &working_directory,
            &python_path,
            &locale,
        )?)
    } else {
        let why = if app == App::Static {
            "static files run no application"
        } else if host.os == Os::Windows {
            "Apache for Windows runs the application embedded (it has no daemon processes)"
        } else {
            "--embedded-mode runs the application in Apache's children"
        };
        notices.extend(unused_daemon_options(args, why));
        None
    };
    if run_as.as_ref().is_some_and(|r| r.defaulted) {
        let r = run_as.as_ref().unwrap();
        notices.push(format!(
            "running as root: Apache's children run as {}:{} (choose with --user/--group)",
            r.user, r.group
        ));
    }
    if !args.trust_proxy.is_empty() && args.trust_proxy_header.is_empty() {
        notices.push(
            "--trust-proxy has no effect without --trust-proxy-header (which headers to trust)"
                .to_owned(),
        );
    }

    if host.os == Os::Windows && args.server_mpm != Mpm::Worker {
        notices.push(format!(
            "--server-mpm {} has no effect: Apache for Windows has one MPM (winnt)",
            args.server_mpm.name()
        ));
    }

    Ok(Plan {
        os: host.os,
        application_group: args.application_group.clone(),
        python_dll,
        callable: named_callable.unwrap_or_else(|| args.callable_object.clone()),
        reload_script: matches!(app, App::Script(_)) && !args.disable_reloading,
        app,
        mount_point,
        working_directory,
        python_path,
        python_home,
        python_warnings: args.python_warnings.clone(),
        setenv,
        passenv: args.passenv.clone(),
        reload_on_changes: args.reload_on_changes,
        include_files,
        map_head_to_get: args.map_head_to_get,
        chunked_request: args.chunked_request,
        processes: args.processes,
        threads: args.threads,
        daemon,
        mpm: match host.os {
            Os::Unix => args.server_mpm,
            Os::Windows => Mpm::Winnt,
        },
        host: args.host.clone(),
        port: args.port,
        server_name: args
            .server_name
            .clone()
            .unwrap_or_else(|| "localhost".to_owned()),
        server_aliases: args.server_alias.clone(),
        limit_request_body: args.limit_request_body,
        keep_alive_timeout: args.keep_alive_timeout,
        server_backlog: args.server_backlog,
        request_read_timeout,
        timeout: args.daemon.socket_timeout.unwrap_or(60),
        shutdown_timeout: args.daemon.shutdown_timeout.unwrap_or(5),
        trust_proxy_headers: args.trust_proxy_header.clone(),
        trust_proxies: args.trust_proxy.clone(),
        https,
        url_aliases,
        document_root,
        logs,
        pid_file: args
            .pid_file
            .as_ref()
            .map(|p| absolute(&host.cwd, p))
            .unwrap_or_else(|| server_root.join("httpd.pid")),
        server_root,
        run_as,
        httpd: host.httpd.clone(),
        modules_dir: host.modules_dir.clone(),
        module: host.module.clone(),
        mime_types: match &args.mime_types {
            Some(m) => {
                let m = absolute(&host.cwd, m);
                if !m.is_file() {
                    bail!("--mime-types {}: no such file", m.display());
                }
                Some(m)
            }
            None => host.mime_types.clone(),
        },
        directory_index: args.directory_index.clone().or_else(|| {
            (args.application_type == Some(ApplicationType::Static))
                .then(|| "index.html".to_owned())
        }),
        enable_sendfile: args.enable_sendfile,
        compress_responses: args.compress_responses,
        rewrite_rules: match &args.rewrite_rules {
            Some(f) => {
                let f = absolute(&host.cwd, f);
                if !f.is_file() {
                    bail!("--rewrite-rules {}: no such file", f.display());
                }
                Some(f)
            }
            None => None,
        },
        error_log_format: args.error_log_format.clone(),
        server_status: args.server_status,
        server_metrics: args.server_metrics,
        locale,
        notices,
    })
}
