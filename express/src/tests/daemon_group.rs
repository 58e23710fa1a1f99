//! The daemon process group rwsgi-express writes: its options from the command line, what
//! embedded mode does with them, and a group on a Python of its own.

use super::*;

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

/// `--free-threading` turns the GIL off where the application runs: for the daemon group
/// alone (a section naming it, whichever Python the group runs), or at top level in
/// embedded mode.
#[test]
fn free_threading_reaches_the_mode_the_app_runs_in() {
    let f = Fixture::new();
    let daemon = f.conf(&["wsgi.py", "--free-threading", "--process-group", "site"]);
    assert!(
        daemon.contains(
            "\n<WSGIInterpreterOptions process-group=site>\nWSGIFreeThreading On\n</WSGIInterpreterOptions>\n"
        ),
        "{daemon}"
    );
    let embedded = f.conf(&["wsgi.py", "--free-threading", "--embedded-mode"]);
    assert!(embedded.contains("\nWSGIFreeThreading On\n"), "{embedded}");
    assert!(!embedded.contains("WSGIInterpreterOptions"), "{embedded}");
    assert!(!f.conf(&["wsgi.py"]).contains("WSGIFreeThreading"));
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
