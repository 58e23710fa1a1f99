//! Load while the server changes: `bench/changes.py` keeps clients sending requests over
//! kept-alive connections while a change (a graceful restart, SIGHUP, recycling, a killed
//! daemon) happens every two seconds, and counts every request's outcome. Nothing may be
//! lost, reset, cut or answered late (over 1 s). On a loaded machine the load is small
//! (four connections), never the bar.
#![cfg(unix)]
#[path = "../../tests/harness/load.rs"]
mod load;
mod support;

use std::path::{Path, PathBuf};

use load::{Counts, assert_lossless, drive, run};
use support::*;

/// Answers GET with a greeting (after 0.2 s with `?slow`) and POST with the body's length.
const HELLO: &str = r#"import time

def application(environ, start_response):
    if environ.get('QUERY_STRING') == 'slow':
        time.sleep(0.2)
    if environ['REQUEST_METHOD'] == 'POST':
        body = b'%d' % len(environ['wsgi.input'].read())
    else:
        body = b'Hello, world!'
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]
"#;

/// changes.py's counts for a load against `express`.
fn load(express: &Express, extra: &[&str], change: Option<&str>) -> Counts {
    drive(&workspace(), &express.url("/"), extra, change)
}

fn hello_app() -> AppDir {
    let app = AppDir::new();
    app.write("hello.py", HELLO);
    app
}

/// rwsgi-express serving hello.py from a group of two daemons of four threads, with
/// `extra` options.
fn start_group(app: &AppDir, extra: &[&str]) -> Express {
    let mut args = vec!["hello.py", "--processes", "2", "--threads", "4"];
    args.extend_from_slice(extra);
    app.start(&args)
}

/// The checkout (where bench/ is).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A shell command that sends `signal` to one daemon process of `express`'s group, found
/// by its process title (the title must start the line: this command's own holds it too).
fn signal_one_daemon(express: &Express, signal: &str) -> String {
    let title = format!("(rwsgi:127.0.0.1:{}", express.port);
    format!(
        "kill -{signal} $(ps -eo pid=,args= | awk -v t='{title}' 'index($2, t) == 1 {{print $1; exit}}')"
    )
}

fn graceful_restart(express: &Express) -> String {
    format!("kill -USR1 {}", express.apache_pid())
}

#[test]
fn graceful_restarts_lose_nothing_in_daemon_mode() {
    let app = hello_app();
    let express = start_group(&app, &[]);
    let counts = load(&express, &[], Some(&graceful_restart(&express)));
    assert_lossless(&counts, 3);
    // POST bodies, restarted by rwsgi-express's own SIGHUP.
    let sighup = format!("kill -HUP {}", express.pid());
    let counts = load(
        &express,
        &["--method", "POST", "--body-size", "10000"],
        Some(&sighup),
    );
    assert_lossless(&counts, 3);
    // The supervisors the restarts replaced were reaped quietly.
    let log = express.error_log();
    assert!(!log.contains("AH00291"), "{log}");
}

#[test]
fn graceful_restarts_lose_nothing_in_embedded_mode() {
    let app = hello_app();
    let express = start_group(&app, &["--embedded-mode"]);
    let counts = load(&express, &[], Some(&graceful_restart(&express)));
    assert_lossless(&counts, 3);
    let counts = load(
        &express,
        &["--method", "POST", "--body-size", "10000"],
        Some(&graceful_restart(&express)),
    );
    assert_lossless(&counts, 3);
}

#[test]
fn daemon_recycling_loses_nothing() {
    let app = hello_app();
    for recycle in [["--maximum-requests", "150"], ["--restart-interval", "2"]] {
        // RW0207 (a daemon recycles) is an info line.
        let mut args = vec!["--log-level", "info"];
        args.extend(recycle);
        let express = start_group(&app, &args);
        let counts = load(&express, &[], None);
        assert_lossless(&counts, 0);
        let log = express.error_log();
        assert!(
            log.contains("RW0207"),
            "{recycle:?} recycled no daemon:\n{log}"
        );
    }
}

#[test]
fn recycling_when_idle_loses_nothing() {
    // The clients pause for 1.6 s every 3 s: the daemons recycle for inactivity (1 s) in
    // each pause, and the requests after it must find their replacements.
    let app = hello_app();
    let express = start_group(&app, &["--inactivity-timeout", "1", "--log-level", "info"]);
    let counts = run(
        &workspace(),
        &express.url("/"),
        &["--duration", "12", "--every", "3", "--change", "pause:1.6"],
    );
    assert_lossless(&counts, 3);
    let log = express.error_log();
    assert!(
        log.contains("inactivity-timeout"),
        "no daemon recycled when idle:\n{log}"
    );
}

#[test]
fn a_killed_daemon_cuts_only_what_it_held() {
    let app = hello_app();
    let express = start_group(&app, &[]);
    let kill_one = signal_one_daemon(&express, "9");
    // Requests of 0.2 s, so that each kill finds some running.
    let counts = drive(&workspace(), &express.url("/?slow"), &[], Some(&kill_one));
    assert_eq!(counts.get("failed_changes"), 0, "{}", counts.0);
    assert_eq!(counts.get("changes"), 3, "{}", counts.0);
    // Requests waiting for a daemon are served by the other one or the replacement; only
    // those the killed process held (at most its four threads' worth) fail, and visibly:
    // a cut response, or 502 when nothing had been sent. Nothing times out, waits over a
    // second, or fails to connect.
    for kind in ["timeout", "slow", "connect_errors", "reset", "closed"] {
        assert_eq!(counts.get(kind), 0, "{kind}: {}", counts.0);
    }
    assert!(counts.failed() <= 3 * 4, "{}", counts.0);
    assert!(counts.get("ok") > 50, "{}", counts.0);
    let statuses = counts.0["statuses"].as_object().unwrap();
    assert!(statuses.keys().all(|s| s == "502"), "{}", counts.0);
    let log = express.error_log();
    assert!(log.contains("RW0204"), "no daemon death logged:\n{log}");
}

#[test]
fn a_stopped_daemon_is_replaced() {
    let app = hello_app();
    let express = start_group(&app, &["--log-level", "info"]);
    // SIGSTOP to one daemon, once, 3 s into 14 s of load: it keeps taking connections it
    // cannot answer until the supervisor replaces it, a third of connect-timeout (15 s)
    // later; the requests it took are then retried on the other daemon.
    let stop_one = signal_one_daemon(&express, "STOP");
    let counts = run(
        &workspace(),
        &express.url("/"),
        &[
            "--duration",
            "14",
            "--every",
            "3",
            "--settle",
            "10",
            "--change",
            &stop_one,
            "--slow",
            "8",
        ],
    );
    assert_eq!(counts.get("changes"), 1, "{}", counts.0);
    // Nothing failed or waited past the replacement (5 s, plus a loaded machine's slack).
    assert_eq!(counts.failed(), 0, "{}", counts.0);
    let log = express.error_log();
    assert!(
        log.contains("RW0222"),
        "the stopped daemon was not replaced:\n{log}"
    );
    assert!(log.contains("died (signal 9 (SIGKILL))"), "{log}");
    // Its replacement serves.
    assert_eq!(
        log.matches("RW0202").count(),
        3,
        "two daemons and one replacement started:\n{log}"
    );
}

#[test]
fn a_killed_supervisor_is_replaced_and_its_daemons_go() {
    let app = hello_app();
    let mut express = start_group(&app, &[]);
    // SIGKILL to the daemon supervisor (Apache's child titled "(rwsgi:supervisor…").
    let kill_supervisor = format!(
        "kill -9 $(ps -eo pid=,ppid=,args= | awk '$2 == {} && index($3, \"(rwsgi:supervisor\") == 1 {{print $1; exit}}')",
        express.apache_pid()
    );
    let counts = load(&express, &[], Some(&kill_supervisor));
    assert_lossless(&counts, 3);
    let log = express.error_log();
    assert_eq!(log.matches("RW0223").count(), 3, "{log}");
    // The daemons of the killed supervisors stop with them: two daemons are left.
    let title = format!("(rwsgi:127.0.0.1:{}", express.port);
    let daemons = || {
        pids()
            .into_iter()
            .filter(|pid| cmdline(*pid).starts_with(&title))
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while daemons() != 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} daemon processes, not 2",
            daemons()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Stopping the server ends its supervisor too, which is no death to replace.
    assert!(express.stop().success());
    let log = express.error_log();
    assert_eq!(log.matches("RW0223").count(), 3, "{log}");
}
