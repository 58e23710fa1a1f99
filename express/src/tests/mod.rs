//! Snapshot tests of the generated files, one per option group, and the refusals of bad
//! option combinations. Paths of the temporary application directory print as `/srv/app`.
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::host::Host;
use crate::plan::{self, Plan};
use crate::platform::{Accounts, Os, Python};
use crate::render;

mod daemon_group;
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
