//! Snapshot tests of the generated files, one per option group, and the refusals of bad
//! option combinations. Paths of the temporary application directory print as `/srv/app`.
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::host::Host;
use crate::plan::{self, Accounts, Plan};
use crate::render;

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
        Fixture { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    fn host(&self, uid: u32) -> Host {
        Host {
            cwd: self.path(),
            uid,
            httpd: PathBuf::from("/usr/sbin/apache2"),
            modules_dir: PathBuf::from("/usr/lib/apache2/modules"),
            module: PathBuf::from("/usr/lib/apache2/modules/mod_rwsgi.so"),
            virtual_env: None,
            terminal: false,
            mime_types: Some(PathBuf::from("/etc/mime.types")),
            temp_dir: PathBuf::from("/tmp"),
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
        "--map-head-to-get",
        "off",
    ]));
}

#[test]
fn capacity_event_and_prefork() {
    let f = Fixture::new();
    let event = f.conf(&["wsgi.py", "--processes", "4", "--threads", "8"]);
    let prefork = f.conf(&[
        "wsgi.py",
        "--processes",
        "3",
        "--threads",
        "1",
        "--server-mpm",
        "prefork",
    ]);
    insta::assert_snapshot!("capacity_event", event);
    insta::assert_snapshot!("capacity_prefork", prefork);
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
    insta::assert_snapshot!(f.show(render::apachectl(&f.plan(&["wsgi.py"]))));
}

#[test]
fn daemon_options_are_accepted_and_reported() {
    let f = Fixture::new();
    let plan = f.plan(&[
        "wsgi.py",
        "--request-timeout",
        "60",
        "--maximum-requests",
        "1000",
        "--max-clients",
        "20",
        "--socket-timeout",
        "30",
    ]);
    assert_eq!(plan.timeout, 30);
    let notice = plan.notices.join("\n");
    for o in ["--request-timeout", "--maximum-requests", "--max-clients"] {
        assert!(notice.contains(o), "{notice}");
    }
    assert!(!notice.contains("--socket-timeout"), "{notice}");
}

#[test]
fn refusals_name_the_problem() {
    let f = Fixture::new();
    let cases: &[(u32, &[&str], &str)] = &[
        (1000, &[], "no application given"),
        (1000, &["missing.py"], "missing.py does not exist"),
        (1000, &["wsgi.py", "--entry-point", "x"], "not both"),
        (1000, &["pkg.app:"], "for a module entry point write"),
        (
            1000,
            &["--entry-point", "a-b", "--application-type", "module"],
            "is not a module entry point",
        ),
        (
            1000,
            &["wsgi.py", "--mount-point", "app"],
            "must start with /",
        ),
        (1000, &["wsgi.py", "--server-mpm", "prefork"], "--threads 1"),
        (
            1000,
            &["wsgi.py", "--user", "nobody"],
            "need rwsgi-express to be started as root",
        ),
        (
            1000,
            &["wsgi.py", "--setenv", "A B", "x"],
            "is not an environment variable name",
        ),
        (
            1000,
            &["wsgi.py", "--mount-point", "/a\nInclude /etc/x"],
            "contains a control character",
        ),
        (
            1000,
            &["wsgi.py", "--application-group", "x"],
            "main interpreter",
        ),
        (
            1000,
            &["wsgi.py", "--python-home", "nothere"],
            "is not a directory",
        ),
        (0, &["wsgi.py", "--user", "root"], "must not run as root"),
        (
            0,
            &["wsgi.py", "--user", "nosuch"],
            "--user nosuch: no such user",
        ),
        (
            0,
            &["wsgi.py", "--group", "nosuch"],
            "--group nosuch: no such group",
        ),
        (
            1000,
            &["wsgi.py", "--https-port", "8443"],
            "needs a certificate",
        ),
        (1000, &["wsgi.py", "--https-only"], "need --https-port"),
        (
            1000,
            &["wsgi.py", "--url-alias", "static", "static"],
            "must start with /",
        ),
        (
            1000,
            &["wsgi.py", "--url-alias", "/s", "nothere"],
            "no such file or directory",
        ),
        (
            1000,
            &["wsgi.py", "--document-root", "nothere"],
            "is not a directory",
        ),
        (
            1000,
            &["wsgi.py", "--include-file", "nothere"],
            "no such file",
        ),
        (
            1000,
            &["wsgi.py", "--application-type", "static"],
            "do not give an application",
        ),
    ];
    for (uid, args, expected) in cases {
        let message = f.error(*uid, args);
        assert!(message.contains(expected), "{args:?}: {message}");
    }
}

#[test]
fn entry_points_are_classified() {
    let f = Fixture::new();
    assert_eq!(
        f.plan(&["wsgi.py"]).app,
        plan::App::Script(f.path().join("wsgi.py"))
    );
    let module = f.plan(&["pkg.app"]);
    assert_eq!(module.app, plan::App::Module("pkg.app".into()));
    assert_eq!(module.callable, "application");
    let named = f.plan(&["pkg.app:server", "--callable-object", "ignored"]);
    assert_eq!(named.callable, "server");
    let forced = f.plan(&["--entry-point", "pkg", "--application-type", "module"]);
    assert_eq!(forced.app, plan::App::Module("pkg".into()));
    // sys.path: the working directory, then the script's directory.
    let sub = f.plan(&["static/../wsgi.py", "--python-path", "lib"]);
    assert_eq!(sub.python_path, vec![f.path(), f.path().join("lib")]);
    assert!(
        Path::new(&f.plan(&["wsgi.py"]).server_root).ends_with("rwsgi-express-localhost:8000:1000")
    );
}
