//! The command line. Option names are mod_wsgi-express's, so scripts and Dockerfiles that call
//! `mod_wsgi-express start-server …` work by changing the command name.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "rwsgi-express",
    version,
    about = "Run a Python WSGI application under Apache httpd with mod_rwsgi, from one command",
    after_help = "Run `rwsgi-express start-server --help` for the server options."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate an Apache configuration for the application and run Apache in the foreground.
    StartServer(Box<ServerArgs>),
    /// Generate the configuration and an `apachectl` script, then exit.
    SetupServer(Box<ServerArgs>),
    /// Print the lines that load mod_rwsgi into an existing Apache configuration.
    ModuleConfig,
    /// Print the path of mod_rwsgi.so.
    ModuleLocation,
    /// Copy mod_rwsgi.so into Apache's modules directory and print the lines that load it.
    InstallModule {
        /// Where to copy the module (default: Apache's modules directory).
        #[arg(long, value_name = "DIR")]
        modules_directory: Option<PathBuf>,
    },
    /// Runs a command as an unprivileged user (start-server's application check, as root).
    #[command(hide = true, name = "__run-as")]
    RunAs {
        #[command(flatten)]
        account: Account,
        /// The program and its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// Checks paths as an unprivileged user (run by start-server as root).
    #[command(hide = true, name = "__check-access")]
    CheckAccess {
        #[command(flatten)]
        account: Account,
        /// `KIND:LABEL:PATH` items (kind `file` or `dir`).
        items: Vec<String>,
    },
}

/// The unprivileged account a hidden helper command becomes (start-server runs them as
/// root).
#[derive(Debug, Args)]
pub struct Account {
    #[arg(long)]
    pub user: String,
    #[arg(long)]
    pub uid: u32,
    #[arg(long)]
    pub gid: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ApplicationType {
    /// A WSGI script file (wsgi.py).
    Script,
    /// An importable module, `pkg.module` or `pkg.module:callable`.
    Module,
    /// Serve the document root only, no application.
    Static,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mpm {
    Event,
    Worker,
    Prefork,
    /// Apache for Windows' only MPM, built in.
    #[value(skip)]
    Winnt,
}

impl Mpm {
    pub fn name(self) -> &'static str {
        match self {
            Mpm::Event => "event",
            Mpm::Worker => "worker",
            Mpm::Prefork => "prefork",
            Mpm::Winnt => "winnt",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MapHead {
    On,
    Off,
    Auto,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Emerg,
    Alert,
    Crit,
    Error,
    Warn,
    Notice,
    Info,
    Debug,
}

/// Options of `start-server` and `setup-server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The application: a WSGI script (`wsgi.py`) or a module entry point (`pkg.mod:app`).
    #[arg(value_name = "SCRIPT|MODULE")]
    pub application: Option<String>,

    // ---- Application ----
    /// The application, when not given as the positional argument.
    #[arg(long, value_name = "SCRIPT|MODULE", help_heading = "Application")]
    pub entry_point: Option<String>,
    /// How to load the entry point (default: script when it is a file, else module).
    #[arg(long, value_enum, help_heading = "Application")]
    pub application_type: Option<ApplicationType>,
    /// The WSGI callable's name (a `module:name` entry point names it too).
    #[arg(
        long,
        default_value = "application",
        value_name = "NAME",
        help_heading = "Application"
    )]
    pub callable_object: String,
    /// URL path the application is mounted at.
    #[arg(
        long,
        default_value = "/",
        value_name = "URL-PATH",
        help_heading = "Application"
    )]
    pub mount_point: String,
    /// Directory Apache runs in; first on sys.path (default: the current directory).
    #[arg(long, value_name = "DIR", help_heading = "Application")]
    pub working_directory: Option<PathBuf>,
    /// Add a directory to sys.path (repeatable).
    #[arg(long, value_name = "DIR", help_heading = "Application")]
    pub python_path: Vec<PathBuf>,
    /// Set a variable in the WSGI environ (repeatable).
    #[arg(long, num_args = 2, value_names = ["NAME", "VALUE"], action = clap::ArgAction::Append, help_heading = "Application")]
    pub setenv: Vec<String>,
    /// Pass a variable of rwsgi-express's environment into the WSGI environ (repeatable).
    #[arg(long, value_name = "NAME", help_heading = "Application")]
    pub passenv: Vec<String>,
    /// Restart gracefully when a Python file of the application changes.
    #[arg(long, help_heading = "Application")]
    pub reload_on_changes: bool,
    /// Do not import the application before starting Apache (for an application whose
    /// import has side effects); a broken application then answers 500 instead of
    /// stopping the start.
    #[arg(long, help_heading = "Application")]
    pub lazy_app: bool,
    /// Do not reload a script entry point when its file changes.
    #[arg(long, help_heading = "Application")]
    pub disable_reloading: bool,
    /// Append a file of Apache directives to the configuration (repeatable).
    #[arg(long, value_name = "FILE", help_heading = "Application")]
    pub include_file: Vec<PathBuf>,
    /// Python warnings filter (repeatable), as for `python -W`.
    #[arg(long, value_name = "FILTER", help_heading = "Application")]
    pub python_warnings: Vec<String>,
    /// Run Python without its GIL, so the threads of a process run Python in parallel:
    /// WSGIFreeThreading On. Needs a free-threaded Python (3.13t or later) for the
    /// application, rwsgi's own or --python-executable's.
    #[arg(long, help_heading = "Application")]
    pub free_threading: bool,
    /// Serve HEAD requests as GET to the application.
    #[arg(long, value_enum, default_value = "auto", help_heading = "Application")]
    pub map_head_to_get: MapHead,
    /// Accept chunked request bodies.
    #[arg(long, help_heading = "Application")]
    pub chunked_request: bool,
    /// Let the kernel merge the small blocks of streamed responses into fewer packets
    /// (WSGIStreamCoalescing On; rwsgi's own).
    #[arg(long, help_heading = "Application")]
    pub stream_coalescing: bool,
    /// Authenticate every request with this script's check_password() (Basic) or
    /// get_realm_hash() (Digest): WSGIAuthUserScript.
    #[arg(long, value_name = "FILE", help_heading = "Access control")]
    pub auth_user_script: Option<PathBuf>,
    /// Basic or Digest (with --auth-user-script).
    #[arg(
        long,
        value_name = "TYPE",
        default_value = "Basic",
        help_heading = "Access control"
    )]
    pub auth_type: String,
    /// Require the user to be in --auth-group, per this script's groups_for_user():
    /// WSGIAuthGroupScript.
    #[arg(long, value_name = "FILE", help_heading = "Access control")]
    pub auth_group_script: Option<PathBuf>,
    /// The group --auth-group-script must put the user in.
    #[arg(long, value_name = "NAME", help_heading = "Access control")]
    pub auth_group: Option<String>,
    /// Decide access by client host with this script's allow_access(): WSGIAccessScript.
    #[arg(long, value_name = "FILE", help_heading = "Access control")]
    pub host_access_script: Option<PathBuf>,
    /// Python interpreter for the application: only %{GLOBAL} (the main interpreter).
    #[arg(
        long,
        default_value = "%{GLOBAL}",
        value_name = "NAME",
        help_heading = "Application"
    )]
    pub application_group: String,
    /// Name of the daemon process group (default: HOST:PORT, e.g. localhost:8000).
    #[arg(long, value_name = "NAME", help_heading = "Application")]
    pub process_group: Option<String>,
    /// Python home or virtual environment (default: $VIRTUAL_ENV, else a virtual
    /// environment whose python3 is first on PATH, else the Python rwsgi was built with).
    #[arg(long, value_name = "DIR", help_heading = "Application")]
    pub python_home: Option<PathBuf>,
    /// Python interpreter the daemon processes are exec'd into, another X.Y or build than
    /// rwsgi's own (it needs rwsgi's daemon runtime: PATH -m pip install rwsgi). A
    /// --python-home virtual environment of another Python X.Y does the same.
    #[arg(long, value_name = "PATH", help_heading = "Application")]
    pub python_executable: Option<PathBuf>,
    /// LANG and LC_ALL for Apache and the application (default: C.UTF-8 when unset or C).
    #[arg(
        long,
        alias = "lang",
        value_name = "LOCALE",
        help_heading = "Application"
    )]
    pub locale: Option<String>,

    // ---- Capacity ----
    /// Processes that run the application.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024), help_heading = "Capacity")]
    pub processes: u32,
    /// Threads per process.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1024), help_heading = "Capacity")]
    pub threads: u32,
    /// Connections Apache's front end serves at once in daemon mode
    /// (default: 10 + max(10, 1.5 × processes × threads); never less than processes × threads).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000), help_heading = "Capacity")]
    pub max_clients: Option<u32>,
    /// Run the application inside Apache's children instead of daemon processes; the
    /// children are then sized by --processes × --threads.
    #[arg(long, help_heading = "Capacity")]
    pub embedded_mode: bool,
    /// Apache MPM. The default, worker, gives each connection a thread of its own: a
    /// connection is taken only when a thread is free (the rest wait in the listen queue),
    /// and a kept-alive connection is never closed under a client that reuses it. The event
    /// MPM closes idle kept-alive connections, unannounced, when it runs out of threads.
    #[arg(long, value_enum, default_value = "worker", help_heading = "Capacity")]
    pub server_mpm: Mpm,

    #[command(flatten)]
    pub daemon: DaemonArgs,

    // ---- Network ----
    /// Address to listen on (default: every address).
    #[arg(long, help_heading = "Network")]
    pub host: Option<String>,
    /// HTTP port.
    #[arg(long, default_value_t = 8000, help_heading = "Network")]
    pub port: u16,
    /// Host name of the server (Apache's ServerName).
    #[arg(long, help_heading = "Network")]
    pub server_name: Option<String>,
    /// Another name the server answers to (repeatable).
    #[arg(long, value_name = "NAME", help_heading = "Network")]
    pub server_alias: Vec<String>,
    /// Largest request body accepted, in bytes (0: no limit).
    #[arg(
        long,
        default_value_t = 10_485_760,
        value_name = "BYTES",
        help_heading = "Network"
    )]
    pub limit_request_body: u64,
    /// Seconds an idle keep-alive connection stays open (0 disables keep-alive).
    #[arg(
        long,
        default_value_t = 2,
        value_name = "SECONDS",
        help_heading = "Network"
    )]
    pub keep_alive_timeout: u32,
    /// Listen backlog of the server socket.
    #[arg(long, default_value_t = 500, help_heading = "Network")]
    pub server_backlog: u32,
    /// Seconds to receive the request headers (mod_reqtimeout).
    #[arg(
        long,
        default_value_t = 15,
        value_name = "SECONDS",
        help_heading = "Network"
    )]
    pub header_timeout: u32,
    /// Maximum seconds for the headers when data keeps arriving.
    #[arg(
        long,
        default_value_t = 30,
        value_name = "SECONDS",
        help_heading = "Network"
    )]
    pub header_max_timeout: u32,
    /// Bytes per second that extend the header timeout.
    #[arg(
        long,
        default_value_t = 500,
        value_name = "BYTES",
        help_heading = "Network"
    )]
    pub header_min_rate: u32,
    /// Seconds to receive the request body.
    #[arg(
        long,
        default_value_t = 15,
        value_name = "SECONDS",
        help_heading = "Network"
    )]
    pub body_timeout: u32,
    /// Maximum seconds for the body when data keeps arriving (0: no maximum).
    #[arg(
        long,
        default_value_t = 0,
        value_name = "SECONDS",
        help_heading = "Network"
    )]
    pub body_max_timeout: u32,
    /// Bytes per second that extend the body timeout.
    #[arg(
        long,
        default_value_t = 500,
        value_name = "BYTES",
        help_heading = "Network"
    )]
    pub body_min_rate: u32,
    /// A proxy header to trust (repeatable): X-Forwarded-For, X-Forwarded-Proto, …
    #[arg(long, value_name = "HEADER", help_heading = "Network")]
    pub trust_proxy_header: Vec<String>,
    /// A proxy address or CIDR range whose headers are trusted (repeatable; default: any).
    #[arg(long, value_name = "ADDRESS", help_heading = "Network")]
    pub trust_proxy: Vec<String>,

    // ---- HTTPS ----
    /// HTTPS port.
    #[arg(long, value_name = "PORT", help_heading = "HTTPS")]
    pub https_port: Option<u16>,
    /// Certificate (PEM).
    #[arg(long, value_name = "FILE", help_heading = "HTTPS")]
    pub ssl_certificate_file: Option<PathBuf>,
    /// Private key of the certificate (PEM).
    #[arg(long, value_name = "FILE", help_heading = "HTTPS")]
    pub ssl_certificate_key_file: Option<PathBuf>,
    /// Certificate and key as STEM.crt and STEM.key.
    #[arg(long, value_name = "STEM", help_heading = "HTTPS")]
    pub ssl_certificate: Option<PathBuf>,
    /// Intermediate certificates (PEM).
    #[arg(long, value_name = "FILE", help_heading = "HTTPS")]
    pub ssl_certificate_chain_file: Option<PathBuf>,
    /// Redirect every HTTP request to HTTPS.
    #[arg(long, help_heading = "HTTPS")]
    pub https_only: bool,

    // ---- Static files ----
    /// Serve a file or directory at a URL (repeatable).
    #[arg(long, num_args = 2, value_names = ["URL-PATH", "FILE|DIR"], action = clap::ArgAction::Append, help_heading = "Static files")]
    pub url_alias: Vec<String>,
    /// Apache's error pages replace the application's for its 4xx and 5xx responses
    /// (daemon mode).
    #[arg(long, help_heading = "Static files")]
    pub error_override: bool,
    /// Static files here win; the application serves what is not found
    /// (default: an empty htdocs in the server root).
    #[arg(long, value_name = "DIR", help_heading = "Static files")]
    pub document_root: Option<PathBuf>,
    /// A directory in the document root holding this file is served as that file
    /// (default for --application-type static: index.html).
    #[arg(long, value_name = "NAME", help_heading = "Static files")]
    pub directory_index: Option<String>,
    /// The MIME types file (default: /etc/mime.types, else Apache's own).
    #[arg(long, value_name = "FILE", help_heading = "Static files")]
    pub mime_types: Option<PathBuf>,
    /// Send static files and wsgi.file_wrapper responses with sendfile().
    #[arg(long, help_heading = "Static files")]
    pub enable_sendfile: bool,
    /// Compress text responses (mod_deflate).
    #[arg(long, help_heading = "Static files")]
    pub compress_responses: bool,
    /// mod_rewrite rules applied in the document root before the application's.
    #[arg(long, value_name = "FILE", help_heading = "Static files")]
    pub rewrite_rules: Option<PathBuf>,

    // ---- Logging ----
    /// Write an access log.
    #[arg(long, help_heading = "Logging")]
    pub access_log: bool,
    /// `common`, `combined` or an Apache LogFormat string.
    #[arg(
        long,
        default_value = "common",
        value_name = "FORMAT",
        help_heading = "Logging"
    )]
    pub access_log_format: String,
    /// Logs to the terminal: the default when stdout is a terminal or rwsgi-express is PID 1.
    #[arg(long, help_heading = "Logging")]
    pub log_to_terminal: bool,
    /// Write log files here (default: the server root); turns off --log-to-terminal.
    #[arg(long, value_name = "DIR", help_heading = "Logging")]
    pub log_directory: Option<PathBuf>,
    /// Apache's LogLevel.
    #[arg(long, value_enum, default_value = "warn", help_heading = "Logging")]
    pub log_level: LogLevel,
    /// Name of the error log file.
    #[arg(
        long,
        default_value = "error_log",
        value_name = "NAME",
        help_heading = "Logging"
    )]
    pub error_log_name: String,
    /// Apache's ErrorLogFormat.
    #[arg(long, value_name = "FORMAT", help_heading = "Logging")]
    pub error_log_format: Option<String>,
    /// Serve Apache's /server-status page to local clients.
    #[arg(long, help_heading = "Logging")]
    pub server_status: bool,
    /// Let the application read Apache's scoreboard with `mod_wsgi.server_metrics()`.
    #[arg(long, help_heading = "Logging")]
    pub server_metrics: bool,
    /// Name of the access log file.
    #[arg(
        long,
        default_value = "access_log",
        value_name = "NAME",
        help_heading = "Logging"
    )]
    pub access_log_name: String,

    // ---- Privileges and paths ----
    /// When started as root: the user Apache's children and the daemon processes run as
    /// (default: www-data, else nobody).
    #[arg(long, help_heading = "Privileges and paths")]
    pub user: Option<String>,
    /// When started as root: their group (default: the user's primary group).
    #[arg(long, help_heading = "Privileges and paths")]
    pub group: Option<String>,
    /// Directory for the generated configuration (default: /tmp/rwsgi-express-HOST:PORT:UID).
    #[arg(long, value_name = "DIR", help_heading = "Privileges and paths")]
    pub server_root: Option<PathBuf>,
    /// Apache's executable (default: $HTTPD, apxs, then the usual Debian/RHEL paths).
    #[arg(long, value_name = "FILE", help_heading = "Privileges and paths")]
    pub httpd_executable: Option<PathBuf>,
    /// Where Apache's own modules are (default: found from Apache's location).
    #[arg(long, value_name = "DIR", help_heading = "Privileges and paths")]
    pub modules_directory: Option<PathBuf>,
    /// Apache's pid file (default: httpd.pid in the server root).
    #[arg(long, value_name = "FILE", help_heading = "Privileges and paths")]
    pub pid_file: Option<PathBuf>,
    /// Only write the configuration (same as setup-server).
    #[arg(long, help_heading = "Privileges and paths")]
    pub setup_only: bool,
}

/// Options of the daemon process group (`WSGIDaemonProcess`), as mod_wsgi-express names them.
/// Without `--embedded-mode` each one given becomes an option of the group's line.
#[derive(Debug, Args, Default)]
pub struct DaemonArgs {
    /// Recycle a daemon process gracefully after this many requests (0: never).
    #[arg(long, value_name = "N", help_heading = "Daemon processes")]
    pub maximum_requests: Option<u64>,
    /// Recycle a daemon process whose application failed to load and has not loaded within
    /// this time [default: 15].
    #[arg(long, value_name = "SECONDS", help_heading = "Daemon processes")]
    pub startup_timeout: Option<u32>,
    /// How long a stop waits for running requests: Apache's graceful stop on SIGTERM
    /// (GracefulShutdownTimeout), and each daemon process [default: 5].
    #[arg(long, value_name = "SECONDS", help_heading = "Daemon processes")]
    pub shutdown_timeout: Option<u32>,
    /// How long a recycling daemon process waits for running requests [default: 15].
    #[arg(long, value_name = "SECONDS", help_heading = "Daemon processes")]
    pub graceful_timeout: Option<u32>,
    /// Grace period when a daemon process is told to recycle by a signal.
    #[arg(long, value_name = "SECONDS", help_heading = "Daemon processes")]
    pub eviction_timeout: Option<u32>,
    /// Recycle a daemon process whose Python is blocked (GIL held) this long [default: 60].
    #[arg(long, value_name = "SECONDS", help_heading = "Daemon processes")]
    pub deadlock_timeout: Option<u32>,
    /// Recycle a daemon process idle this long (0: never).
    #[arg(long, value_name = "SECONDS", help_heading = "Daemon processes")]
    pub inactivity_timeout: Option<u32>,
    /// Requests to this URL path (a health check) do not count as activity for
    /// --inactivity-timeout (repeatable).
    #[arg(long, value_name = "URL-PATH", help_heading = "Daemon processes")]
    pub ignore_activity: Vec<String>,
    /// Longest time a request may run in a daemon process [default: 60].
    #[arg(long, value_name = "SECONDS", help_heading = "Daemon processes")]
    pub request_timeout: Option<u32>,
    /// Interrupt a request that outlived --request-timeout instead of recycling.
    #[arg(long, value_name = "SECONDS", help_heading = "Daemon processes")]
    pub interrupt_timeout: Option<u32>,
    /// How long a request waits for a daemon process to take it, then 503 [default: 15].
    #[arg(long, value_name = "SECONDS", help_heading = "Daemon processes")]
    pub connect_timeout: Option<u32>,
    /// I/O timeout between Apache and the daemon processes, and Apache's `Timeout` for
    /// client I/O [default: 60].
    #[arg(long, value_name = "SECONDS", help_heading = "Daemon processes")]
    pub socket_timeout: Option<u32>,
    /// A request that waited longer for a free daemon thread gets 504 [default: 45].
    #[arg(long, value_name = "SECONDS", help_heading = "Daemon processes")]
    pub queue_timeout: Option<u32>,
    /// Recycle each daemon process after this long (0: never).
    #[arg(long, value_name = "SECONDS", help_heading = "Daemon processes")]
    pub restart_interval: Option<u32>,
    /// CPU seconds a daemon process may use before it is recycled (0: no limit).
    #[arg(long, value_name = "SECONDS", help_heading = "Daemon processes")]
    pub cpu_time_limit: Option<u32>,
    /// Listen backlog of the daemon processes' socket [default: 100].
    #[arg(long, value_name = "N", help_heading = "Daemon processes")]
    pub daemon_backlog: Option<u32>,
    /// SO_SNDBUF of the daemon socket (0: the system's).
    #[arg(long, value_name = "BYTES", help_heading = "Daemon processes")]
    pub send_buffer_size: Option<u32>,
    /// SO_RCVBUF of the daemon socket (0: the system's).
    #[arg(long, value_name = "BYTES", help_heading = "Daemon processes")]
    pub receive_buffer_size: Option<u32>,
    /// Largest response header line from a daemon process.
    #[arg(long, value_name = "BYTES", help_heading = "Daemon processes")]
    pub header_buffer_size: Option<u32>,
    /// Response bytes passed on without a flush before one is forced.
    #[arg(long, value_name = "BYTES", help_heading = "Daemon processes")]
    pub response_buffer_size: Option<u32>,
    /// Write timeout towards the client while a response is passed on.
    #[arg(long, value_name = "SECONDS", help_heading = "Daemon processes")]
    pub response_socket_timeout: Option<u32>,
}

/// One daemon option: how the command line and `WSGIDaemonProcess` name it, what was given,
/// and the value rwsgi-express writes when nothing was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaemonOption {
    pub flag: &'static str,
    /// The `WSGIDaemonProcess` option.
    pub key: &'static str,
    pub given: Option<u64>,
    /// mod_wsgi-express's default, for the options written even when not given. The others
    /// are written only when given; the module's own defaults apply otherwise.
    pub default: Option<u64>,
}

impl DaemonArgs {
    /// Every daemon option, in the order mod_wsgi-express writes them.
    pub fn options(&self) -> Vec<DaemonOption> {
        let n = |v: Option<u32>| v.map(u64::from);
        let o = |flag, key, given, default| DaemonOption {
            flag,
            key,
            given,
            default,
        };
        vec![
            o(
                "--maximum-requests",
                "maximum-requests",
                self.maximum_requests,
                None,
            ),
            o(
                "--daemon-backlog",
                "listen-backlog",
                n(self.daemon_backlog),
                Some(100),
            ),
            o(
                "--queue-timeout",
                "queue-timeout",
                n(self.queue_timeout),
                Some(45),
            ),
            o(
                "--socket-timeout",
                "socket-timeout",
                n(self.socket_timeout),
                Some(60),
            ),
            o(
                "--connect-timeout",
                "connect-timeout",
                n(self.connect_timeout),
                Some(15),
            ),
            o(
                "--request-timeout",
                "request-timeout",
                n(self.request_timeout),
                Some(60),
            ),
            o(
                "--interrupt-timeout",
                "interrupt-timeout",
                n(self.interrupt_timeout),
                None,
            ),
            o(
                "--inactivity-timeout",
                "inactivity-timeout",
                n(self.inactivity_timeout),
                None,
            ),
            o(
                "--startup-timeout",
                "startup-timeout",
                n(self.startup_timeout),
                Some(15),
            ),
            o(
                "--deadlock-timeout",
                "deadlock-timeout",
                n(self.deadlock_timeout),
                Some(60),
            ),
            o(
                "--graceful-timeout",
                "graceful-timeout",
                n(self.graceful_timeout),
                Some(15),
            ),
            o(
                "--eviction-timeout",
                "eviction-timeout",
                n(self.eviction_timeout),
                None,
            ),
            o(
                "--restart-interval",
                "restart-interval",
                n(self.restart_interval),
                None,
            ),
            o(
                "--cpu-time-limit",
                "cpu-time-limit",
                n(self.cpu_time_limit),
                None,
            ),
            o(
                "--shutdown-timeout",
                "shutdown-timeout",
                n(self.shutdown_timeout),
                Some(5),
            ),
            o(
                "--send-buffer-size",
                "send-buffer-size",
                n(self.send_buffer_size),
                None,
            ),
            o(
                "--receive-buffer-size",
                "receive-buffer-size",
                n(self.receive_buffer_size),
                None,
            ),
            o(
                "--header-buffer-size",
                "header-buffer-size",
                n(self.header_buffer_size),
                None,
            ),
            o(
                "--response-buffer-size",
                "response-buffer-size",
                n(self.response_buffer_size),
                None,
            ),
            o(
                "--response-socket-timeout",
                "response-socket-timeout",
                n(self.response_socket_timeout),
                None,
            ),
        ]
    }

    /// The daemon options given on the command line, by their option names.
    pub fn given(&self) -> Vec<&'static str> {
        self.options()
            .into_iter()
            .filter(|o| o.given.is_some())
            .map(|o| o.flag)
            .collect()
    }
}
