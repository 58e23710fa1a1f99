//! Snapshot tests of the generated files, one per option group, and the refusals of bad
//! option combinations. Paths of the temporary application directory print as `/srv/app`.
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::host::Host;
use crate::plan::{self, Plan};
use crate::platform::{Accounts, Os, Python};
use crate::render;

mod refusals;

struct FakeAccounts;

impl Accounts for FakeAccounts {
    fn user(&self, name: &str) -> Option<(u32, u32, String)> {
        match name {
            "www-data" | "#33" => Some((33, 33, "www-data".into())),
            "nobody" => Some((65534, 65534, "nobody".into())),
            "root" => Some((0, 0, "root".into())),
            _ => None,
        }
    }
    fn group(&self, name: &str) -> Option<(u32, String)> {
        match name {
            "www-data" => Some((33, "www-data".into())),
            "nogroup" => Some((65534, "nogroup".into())),
            _ => None,
        }
    }
    fn group_name(&self, gid: u32) -> Option<String> {
        match gid {
            33 => Some("www-data".into()),
            65534 => Some("nogroup".into()),
            _ => None,
        }
    }
}

/// An application directory with a script, a package, static files and a certificate.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("wsgi.py"), "def application(e, s): pass\n").unwrap();
        std::fs::create_dir_all(p.join("pkg")).unwrap();
        std::fs::write(p.join("pkg/__init__.py"), "").unwrap();
        std::fs::create_dir_all(p.join("static")).unwrap();
        std::fs::create_dir_all(p.join("lib")).unwrap();
        std::fs::write(p.join("favicon.ico"), "").unwrap();
        std::fs::write(p.join("extra.conf"), "# extra\n").unwrap();
        std::fs::write(p.join("site.crt"), "").unwrap();
        std::fs::write(p.join("site.key"), "").unwrap();
        std::fs::write(p.join("auth.py"), "def check_password(e, u, p): pass\n").unwrap();
        Fixture { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    fn host(&self, uid: u32) -> Host {
        Host {
            os: Os::Unix,
            cwd: self.path(),
            uid,
            user: uid.to_string(),
            python: Python {
                home: PathBuf::from("/usr"),
                dll: None,
            },
            httpd: PathBuf::from("/usr/sbin/apache2"),
            modules_dir: PathBuf::from("/usr/lib/apache2/modules"),
            module: PathBuf::from("/usr/lib/apache2/modules/mod_rwsgi.so"),
            virtual_env: None,
            terminal: false,
            mime_types: Some(PathBuf::from("/etc/mime.types")),
            temp_dir: PathBuf::from("/tmp"),
        }
    }

    /// Apache Lounge in C:\Apache24 and python.org's Python in C:\Python311.
    fn windows_host(&self) -> Host {
        Host {
            os: Os::Windows,
            cwd: self.path(),
            uid: 0,
            user: "alice".to_owned(),
            python: Python {
                home: PathBuf::from("C:\\Python311"),
                dll: Some(PathBuf::from("C:\\Python311\\python311.dll")),
            },
            httpd: PathBuf::from("C:\\Apache24\\bin\\httpd.exe"),
            modules_dir: PathBuf::from("C:\\Apache24\\modules"),
            module: PathBuf::from("C:\\rwsgi\\mod_rwsgi.dll"),
            virtual_env: None,
            terminal: false,
            mime_types: Some(PathBuf::from("C:\\Apache24\\conf\\mime.types")),
            temp_dir: PathBuf::from("C:\\Users\\alice\\AppData\\Local\\Temp"),
        }
    }

    fn plan_with(&self, host: &Host, args: &[&str]) -> anyhow::Result<Plan> {
        let mut argv = vec!["rwsgi-express", "start-server"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv)?;
        let Command::StartServer(args) = cli.command else {
            unreachable!()
        };
        plan::resolve(&args, host, &FakeAccounts)
    }

    fn plan(&self, args: &[&str]) -> Plan {
        self.plan_with(&self.host(1000), args).unwrap()
    }

    fn error(&self, uid: u32, args: &[&str]) -> String {
        format!("{:#}", self.plan_with(&self.host(uid), args).unwrap_err())
    }

    /// A generated file with the fixture's path shown as /srv/app.
    fn show(&self, text: String) -> String {
        text.replace(&self.path().display().to_string(), "/srv/app")
    }

    fn conf(&self, args: &[&str]) -> String {
        self.show(render::httpd_conf(&self.plan(args)))
    }
}

#[test]
fn defaults_for_a_script() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.conf(&["wsgi.py"]));
}

#[test]
fn as_root_with_the_default_user() {
    let f = Fixture::new();
    let plan = f
        .plan_with(&f.host(0), &["wsgi.py", "--port", "80"])
        .unwrap();
    assert!(plan.notices.iter().any(|n| n.contains("www-data:www-data")));
    insta::assert_snapshot!(f.show(render::httpd_conf(&plan)));
}

#[test]
fn as_root_with_user_and_group() {
    let f = Fixture::new();
    let plan = f
        .plan_with(
            &f.host(0),
            &["wsgi.py", "--user", "nobody", "--group", "nogroup"],
        )
        .unwrap();
    let run_as = plan.run_as.unwrap();
    assert_eq!(
        (run_as.uid, run_as.gid, run_as.defaulted),
        (65534, 65534, false)
    );
    assert_eq!(
        (run_as.user.as_str(), run_as.group.as_str()),
        ("nobody", "nogroup")
    );
}

#[test]
fn application_options() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.conf(&[
        "pkg.app:make",
        "--mount-point",
        "/app.v1/",
        "--working-directory",
        ".",
        "--python-path",
        "lib",
        "--setenv",
        "MODE",
        "prod \"x\"",
        "--passenv",
        "HOME",
        "--include-file",
        "extra.conf",
        "--python-warnings",
        "ignore::DeprecationWarning",
        "--chunked-request",
        "--stream-coalescing",
        "--map-head-to-get",
        "off",
    ]));
}

/// `--auth-*` and `--host-access-script`: the Python auth hooks over the mount point, with
/// the auth modules they need.
#[test]
fn access_control_options() {
    let f = Fixture::new();
    let basic = f.conf(&[
        "wsgi.py",
        "--mount-point",
        "/app",
        "--auth-user-script",
        "auth.py",
    ]);
    assert!(basic.contains("AuthType Basic\n    AuthName \"localhost:8000\"\n    AuthBasicProvider wsgi\n    WSGIAuthUserScript \"/srv/app/auth.py\"\n    Require valid-user\n"), "{basic}");
    assert!(basic.contains("<Location \"/app\">"), "{basic}");
    assert!(basic.contains("mod_auth_basic.so"), "{basic}");
    insta::assert_snapshot!(f.conf(&[
        "wsgi.py",
        "--auth-user-script",
        "auth.py",
        "--auth-type",
        "digest",
        "--auth-group-script",
        "auth.py",
        "--auth-group",
        "editors",
        "--host-access-script",
        "auth.py",
    ]));
}

/// `--error-override` and `--ignore-activity` become the directives of the same names, in
/// daemon mode; in embedded mode they are reported as having no effect.
#[test]
fn error_override_and_ignore_activity() {
    let f = Fixture::new();
    let conf = f.conf(&[
        "wsgi.py",
        "--error-override",
        "--ignore-activity",
        "/health",
        "--inactivity-timeout",
        "60",
    ]);
    assert!(
        conf.contains("WSGIApplicationGroup %{GLOBAL}\nWSGIErrorOverride On\n"),
        "{conf}"
    );
    assert!(
        conf.contains("<Location \"/health\">\n    WSGIIgnoreActivity On\n</Location>"),
        "{conf}"
    );
    let plan = f.plan(&[
        "wsgi.py",
        "--embedded-mode",
        "--error-override",
        "--ignore-activity",
        "/h",
    ]);
    let conf = render::httpd_conf(&plan);
    assert!(
        !conf.contains("WSGIErrorOverride") && !conf.contains("WSGIIgnoreActivity"),
        "{conf}"
    );
    let notice = plan.notices.join("\n");
    for o in ["--ignore-activity", "--error-override"] {
        assert!(notice.contains(o), "{o}: {notice}");
    }
}

#[test]
fn capacity_event_and_prefork() {
    let f = Fixture::new();
    let event = f.conf(&["wsgi.py", "--processes", "4", "--threads", "8"]);
    // In daemon mode the daemons run the threads: prefork's children only relay.
    let prefork = f.conf(&[
        "wsgi.py",
        "--processes",
        "3",
        "--threads",
        "4",
        "--server-mpm",
        "prefork",
    ]);
    insta::assert_snapshot!("capacity_event", event);
    insta::assert_snapshot!("capacity_prefork", prefork);
}

#[test]
fn capacity_embedded_event_and_prefork() {
    let f = Fixture::new();
    let event = f.conf(&[
        "wsgi.py",
        "--embedded-mode",
        "--processes",
        "4",
        "--threads",
        "8",
    ]);
    let prefork = f.conf(&[
        "wsgi.py",
        "--embedded-mode",
        "--processes",
        "3",
        "--threads",
        "1",
        "--server-mpm",
        "prefork",
    ]);
    insta::assert_snapshot!("capacity_embedded_event", event);
    insta::assert_snapshot!("capacity_embedded_prefork", prefork);
    for conf in [&event, &prefork] {
        assert!(conf.contains("WSGIRestrictEmbedded Off"), "{conf}");
        assert!(!conf.contains("WSGIDaemonProcess"), "{conf}");
        assert!(!conf.contains("WSGIProcessGroup"), "{conf}");
        assert!(
            conf.contains("WSGIImportScript \"/tmp/rwsgi-express-localhost:8000:1000/handler.wsgi\" process-group=%{GLOBAL}"),
            "{conf}"
        );
    }
}

/// mod_wsgi-express's front-end sizing: 10 + max(10, 1.5 × processes × threads)
/// connections, never fewer than processes × threads.
#[test]
fn max_clients_sizes_the_front_end() {
    let f = Fixture::new();
    let clients = |args: &[&str]| {
        let mut all = vec!["wsgi.py"];
        all.extend_from_slice(args);
        f.plan(&all).daemon.unwrap().max_clients
    };
    assert_eq!(clients(&[]), 20);
    assert_eq!(clients(&["--processes", "4", "--threads", "8"]), 58);
    assert_eq!(clients(&["--max-clients", "150"]), 150);
    assert_eq!(
        clients(&["--max-clients", "5", "--processes", "2", "--threads", "10"]),
        20
    );
    let conf = f.conf(&["wsgi.py", "--max-clients", "150"]);
    // 150 connections: 9 children of 18 threads (162), and twice the slots for restarts.
    for line in [
        "ThreadsPerChild 18\n",
        "MaxRequestWorkers 162\n",
        "ServerLimit 18\n",
    ] {
        assert!(conf.contains(line), "{line:?} in:\n{conf}");
    }
}

#[test]
fn network_options() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.conf(&[
        "wsgi.py",
        "--host",
        "127.0.0.1",
        "--port",
        "8080",
        "--server-name",
        "example.test",
        "--server-alias",
        "www.example.test",
        "--limit-request-body",
        "0",
        "--keep-alive-timeout",
        "0",
        "--server-backlog",
        "64",
        "--body-max-timeout",
        "60",
        "--socket-timeout",
        "30",
        "--trust-proxy-header",
        "X-Forwarded-For",
        "--trust-proxy-header",
        "X-Forwarded-Proto",
        "--trust-proxy",
        "10.0.0.0/8",
    ]));
}

#[test]
fn https_options() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.conf(&[
        "wsgi.py",
        "--https-port",
        "8443",
        "--ssl-certificate",
        "site",
        "--https-only",
    ]));
}

#[test]
fn static_files() {
    let f = Fixture::new();
    let conf = f.conf(&[
        "wsgi.py",
        "--url-alias",
        "/static",
        "static",
        "--url-alias",
        "/favicon.ico",
        "favicon.ico",
        "--url-alias",
        "/static/deep",
        "lib",
        "--document-root",
        ".",
    ]);
    insta::assert_snapshot!(conf);
    let only = f.conf(&["--application-type", "static", "--document-root", "static"]);
    assert!(!only.contains("wsgi-handler"), "{only}");
}

#[test]
fn log_options() {
    let f = Fixture::new();
    let files = f.conf(&[
        "wsgi.py",
        "--access-log",
        "--access-log-format",
        "combined",
        "--log-level",
        "info",
        "--log-directory",
        "lib",
        "--log-to-terminal",
    ]);
    insta::assert_snapshot!("logs_to_files", files);
    let terminal = f.conf(&["wsgi.py", "--access-log", "--log-to-terminal"]);
    assert!(terminal.contains("ErrorLog \"/dev/stderr\""), "{terminal}");
    assert!(
        terminal.contains("CustomLog \"/dev/stdout\" rwsgi"),
        "{terminal}"
    );
}

#[test]
fn handler_for_a_script_and_a_module() {
    let f = Fixture::new();
    let script = f.show(render::handler_wsgi(&f.plan(&[
        "wsgi.py",
        "--mount-point",
        "/it's",
    ])));
    insta::assert_snapshot!("handler_script", script);
    let module = f.plan(&["pkg.app:make", "--disable-reloading"]);
    let module = f.show(render::handler_wsgi(&module));
    assert!(module.contains("ENTRY_POINT = 'pkg.app'"), "{module}");
    assert!(module.contains("APPLICATION_TYPE = 'module'"), "{module}");
    assert!(module.contains("CALLABLE_OBJECT = 'make'"), "{module}");
    assert!(module.contains("MOUNT_POINT = ''"), "{module}");
    assert!(module.contains("RELOAD = False"), "{module}");
}

#[test]
fn apachectl_script() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.show(render::apachectl(&f.plan(&["wsgi.py"])).1));
}

/// Apache for Windows: embedded (no daemon processes), mpm_winnt built in, python3XX.dll
/// loaded first, forward slashes, no user switching.
#[test]
fn windows_configuration() {
    let f = Fixture::new();
    let plan = f
        .plan_with(&f.windows_host(), &["wsgi.py", "--threads", "8"])
        .unwrap();
    assert!(plan.daemon.is_none());
    let conf = f.show(render::httpd_conf(&plan));
    let load_file = conf
        .find("LoadFile \"C:/Python311/python311.dll\"")
        .unwrap();
    let load_module = conf
        .find("LoadModule wsgi_module \"C:/rwsgi/mod_rwsgi.dll\"")
        .unwrap();
    assert!(load_file < load_module, "{conf}");
    for absent in [
        "mpm_",
        "User ",
        "Group ",
        "WSGIDaemonProcess",
        "StartServers",
        "\\",
    ] {
        assert!(!conf.contains(absent), "{absent:?} in:\n{conf}");
    }
    insta::assert_snapshot!(conf);
    let (name, script) = render::apachectl(&plan);
    assert_eq!(name, "apachectl.bat");
    assert!(script.contains("-DONE_PROCESS"), "{script}");
    assert!(script.contains("\r\n"), "a batch file has CRLF lines");
    assert!(
        plan.server_root
            .ends_with("rwsgi-express-localhost-8000-alice")
    );
}

#[test]
fn windows_refuses_what_it_cannot_do() {
    let f = Fixture::new();
    let host = f.windows_host();
    let error = |args: &[&str]| format!("{:#}", f.plan_with(&host, args).unwrap_err());
    assert!(
        error(&["wsgi.py", "--user", "bob"]).contains("runs as the account that starts it"),
        "{}",
        error(&["wsgi.py", "--user", "bob"])
    );
    assert!(error(&["wsgi.py", "--processes", "2"]).contains("one child process"));
    let plan = f
        .plan_with(&host, &["wsgi.py", "--maximum-requests", "5"])
        .unwrap();
    assert!(
        plan.notices
            .iter()
            .any(|n| n.contains("--maximum-requests") && n.contains("no daemon processes")),
        "{:?}",
        plan.notices
    );
}

#[test]
fn daemon_options_become_options_of_the_group() {
    let f = Fixture::new();
    let plan = f.plan(&[
        "wsgi.py",
        "--maximum-requests",
        "1000",
        "--restart-interval",
        "3600",
        "--inactivity-timeout",
        "300",
        "--cpu-time-limit",
        "100",
        "--daemon-backlog",
        "50",
        "--queue-timeout",
        "10",
        "--connect-timeout",
        "5",
        "--graceful-timeout",
        "20",
        "--shutdown-timeout",
        "3",
        "--socket-timeout",
        "30",
        "--max-clients",
        "20",
        "--process-group",
        "shop",
    ]);
    assert_eq!(plan.timeout, 30);
    assert_eq!(plan.notices, Vec::<String>::new());
    let daemon = plan.daemon.unwrap();
    assert_eq!(daemon.name, "shop");
    assert_eq!(daemon.display_name, "(rwsgi:shop)");
    let options: Vec<String> = daemon
        .options
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for o in [
        "maximum-requests=1000",
        "restart-interval=3600",
        "inactivity-timeout=300",
        "cpu-time-limit=100",
        "listen-backlog=50",
        "queue-timeout=10",
        "connect-timeout=5",
        "graceful-timeout=20",
        "shutdown-timeout=3",
        "socket-timeout=30",
        "request-timeout=60",
        "threads=5",
    ] {
        assert!(options.contains(&o.to_owned()), "{o} in {options:?}");
    }
    // One process: no processes=, which would make wsgi.multiprocess True.
    assert!(!options.iter().any(|o| o.starts_with("processes=")));
    let conf = f.conf(&["wsgi.py", "--process-group", "shop"]);
    assert!(conf.contains("WSGIProcessGroup shop\n"), "{conf}");
    assert!(
        conf.contains("wsgi-handler \"/tmp/rwsgi-express-localhost:8000:1000/handler.wsgi\" process-group=shop application-group=%{GLOBAL}"),
        "{conf}"
    );
}

/// These daemon options are written only when given (the module's own defaults apply
/// otherwise), and since the module acts on all of them, nothing is reported at start-up.
/// startup-timeout and deadlock-timeout are written with mod_wsgi-express's defaults.
#[test]
fn optional_daemon_options_are_written_only_when_given() {
    let f = Fixture::new();
    let default = f.plan(&["wsgi.py"]);
    assert_eq!(default.notices, Vec::<String>::new());
    let options = &default.daemon.as_ref().unwrap().options;
    let keys: Vec<&str> = options.iter().map(|(k, _)| k.as_str()).collect();
    for (k, v) in [("startup-timeout", "15"), ("deadlock-timeout", "60")] {
        assert!(
            options.contains(&(k.to_owned(), v.to_owned())),
            "{k}={v} by default: {options:?}"
        );
    }
    for key in [
        "server-metrics",
        "eviction-timeout",
        "interrupt-timeout",
        "header-buffer-size",
        "response-buffer-size",
        "send-buffer-size",
        "receive-buffer-size",
        "response-socket-timeout",
    ] {
        assert!(!keys.contains(&key), "{key} written by default: {keys:?}");
    }
    let given = f.plan(&[
        "wsgi.py",
        "--startup-timeout",
        "30",
        "--response-buffer-size",
        "1048576",
        "--deadlock-timeout",
        "90",
        "--header-buffer-size",
        "65536",
    ]);
    let options = &given.daemon.as_ref().unwrap().options;
    for (k, v) in [
        ("startup-timeout", "30"),
        ("response-buffer-size", "1048576"),
        ("deadlock-timeout", "90"),
        ("header-buffer-size", "65536"),
    ] {
        assert!(
            options.contains(&(k.to_owned(), v.to_owned())),
            "{k}={v} in {options:?}"
        );
    }
    // The module acts on all of them: nothing to report.
    assert_eq!(given.notices, Vec::<String>::new());
}

#[test]
fn embedded_mode_reports_daemon_options_as_unused() {
    let f = Fixture::new();
    let plan = f.plan(&[
        "wsgi.py",
        "--embedded-mode",
        "--request-timeout",
        "60",
        "--maximum-requests",
        "1000",
        "--max-clients",
        "20",
        "--socket-timeout",
        "30",
        "--process-group",
        "shop",
    ]);
    assert_eq!(plan.daemon, None);
    assert_eq!(plan.timeout, 30);
    let notice = plan.notices.join("\n");
    for o in [
        "--request-timeout",
        "--maximum-requests",
        "--max-clients",
        "--process-group",
        "--embedded-mode runs the application in Apache's children",
    ] {
        assert!(notice.contains(o), "{notice}");
    }
    assert!(!notice.contains("--socket-timeout"), "{notice}");
}

#[test]
fn the_daemon_line_has_the_application_paths_and_locale() {
    let f = Fixture::new();
    let plan = f.plan(&[
        "wsgi.py",
        "--python-path",
        "lib",
        "--locale",
        "en_US.UTF-8",
        "--processes",
        "2",
    ]);
    let daemon = plan.daemon.as_ref().unwrap();
    let value = |key: &str| {
        daemon
            .options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        value("display-name").as_deref(),
        Some("(rwsgi:localhost:8000:1000)")
    );
    assert_eq!(value("home"), Some(f.path().display().to_string()));
    assert_eq!(
        value("python-path"),
        Some(f.path().join("lib").display().to_string())
    );
    assert_eq!(value("processes").as_deref(), Some("2"));
    assert_eq!(value("lang").as_deref(), Some("en_US.UTF-8"));
    assert_eq!(value("locale").as_deref(), Some("en_US.UTF-8"));
    let conf = render::httpd_conf(&plan);
    // sys.path comes from the group: no WSGIPythonPath for Apache's children.
    assert!(!conf.contains("WSGIPythonPath"), "{conf}");
    assert!(
        conf.contains("WSGISocketPrefix \"/tmp/rwsgi-express-localhost:8000:1000/wsgi\""),
        "{conf}"
    );
    assert!(conf.contains("WSGIRestrictEmbedded On"), "{conf}");
    let summary = crate::run::summary(&plan);
    assert!(
        summary.contains("daemon, 2 processes × 5 threads in (rwsgi:localhost:8000:1000)"),
        "{summary}"
    );
    let spaced = f.dir.path().join("my app");
    std::fs::create_dir(&spaced).unwrap();
    let spaced = f.plan(&["wsgi.py", "--working-directory", "my app"]);
    let conf = render::httpd_conf(&spaced);
    assert!(conf.contains("    \"home="), "{conf}");
}

/// `--server-metrics` turns `mod_wsgi.server_metrics()` on where the application runs: the
/// daemon group's `server-metrics=On`, or `WSGIServerMetrics On` in embedded mode.
#[test]
fn server_metrics_reaches_the_mode_the_app_runs_in() {
    let f = Fixture::new();
    let daemon = f.conf(&["wsgi.py", "--server-metrics"]);
    assert!(daemon.contains("\n    server-metrics=On"), "{daemon}");
    assert!(!daemon.contains("WSGIServerMetrics"), "{daemon}");
    let embedded = f.conf(&["wsgi.py", "--server-metrics", "--embedded-mode"]);
    assert!(embedded.contains("\nWSGIServerMetrics On\n"), "{embedded}");
    let off = f.conf(&["wsgi.py"]);
    assert!(!off.contains("server-metrics") && !off.contains("WSGIServerMetrics"));
}

/// A daemon group of its own Python: `--python-home` with a venv of another X.Y moves from
/// `WSGIPythonHome` (the module's Python) to the group's `python-home=`, and
/// `--python-executable` becomes its `python-executable=`; the daemons are exec'd into it.
/// Embedded mode, which runs the module's Python, refuses both.
#[test]
fn a_daemon_group_runs_its_own_python() {
    let f = Fixture::new();
    let venv = f.path().join("venv");
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    std::fs::write(
        venv.join("pyvenv.cfg"),
        "home = /opt/py/bin\nversion = 3.99.1\n",
    )
    .unwrap();
    // As in a real venv, its python3 is a symlink to the base Python's: the venv's path
    // is what the group must name (only through it does Python find the venv).
    std::fs::create_dir_all(f.path().join("base")).unwrap();
    std::fs::write(f.path().join("base/python3.99"), "").unwrap();
    std::os::unix::fs::symlink(f.path().join("base/python3.99"), venv.join("bin/python3")).unwrap();
    let conf = f.conf(&["wsgi.py", "--python-home", "venv"]);
    assert!(!conf.contains("WSGIPythonHome"), "{conf}");
    // The group's options, one per continued line.
    assert!(conf.contains("    python-home=/srv/app/venv"), "{conf}");
    let plan = f.plan(&["wsgi.py", "--python-home", "venv"]);
    assert_eq!(plan.python_executable, Some(venv.join("bin/python3")));

    let conf = f.conf(&["wsgi.py", "--python-executable", "venv/bin/python3"]);
    assert!(
        conf.contains("    python-executable=/srv/app/venv/bin/python3"),
        "{conf}"
    );

    let error = f.error(
        1000,
        &["wsgi.py", "--python-home", "venv", "--embedded-mode"],
    );
    assert!(
        error.contains("is a virtual environment of Python 3.99")
            && error.contains("leave out --embedded-mode"),
        "{error}"
    );
    let error = f.error(
        1000,
        &[
            "wsgi.py",
            "--python-executable",
            "venv/bin/python3",
            "--embedded-mode",
        ],
    );
    assert!(
        error.contains("only daemon processes run another Python"),
        "{error}"
    );
    let error = f.error(1000, &["wsgi.py", "--python-executable", "nothere"]);
    assert!(
        error.contains("--python-executable") && error.contains("no such file"),
        "{error}"
    );
}
