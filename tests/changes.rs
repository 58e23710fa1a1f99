//! Load while a plain Apache configuration changes (`bench/changes.py` counts every
//! request's outcome; rwsgi-express's tests/changes.rs does the same through
//! rwsgi-express): a deploy by touching the WSGI script restarts its daemons, and graceful
//! restarts of an event-MPM server, lose, cut and delay nothing.

mod harness;

use harness::load::{assert_lossless, drive};
use harness::*;

fn workspace() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn touching_the_script_restarts_its_daemons_without_loss() {
    let apache = Apache::start(
        Mpm::Worker,
        "WSGIDaemonProcess site processes=2 threads=4\n\
         WSGIScriptAlias / {root}/apps/changes.py process-group=site application-group=%{GLOBAL}\n",
    );
    let script = apache.root().join("apps/changes.py");
    let touch = format!("touch {}", script.display());
    let counts = drive(workspace(), &apache.url("/"), &[], Some(&touch));
    assert_lossless(&counts, 3);
    let counts = drive(
        workspace(),
        &apache.url("/"),
        &["--method", "POST", "--body-size", "10000"],
        Some(&touch),
    );
    assert_lossless(&counts, 3);
    // Each deploy restarted the daemons that had loaded the old script.
    apache.assert_log("RW0221");
}

#[test]
fn graceful_restarts_of_the_event_mpm_lose_nothing() {
    // Embedded and daemon mode side by side; 25 threads per child for 4 connections (the
    // event MPM closes kept-alive connections when it runs short of threads).
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess site processes=2 threads=4\n\
         WSGIScriptAlias /daemon {root}/apps/changes.py process-group=site application-group=%{GLOBAL}\n\
         WSGIScriptAlias /embedded {root}/apps/changes.py application-group=%{GLOBAL}\n",
    );
    let graceful = format!("kill -USR1 {}", apache.pid());
    for url in ["/daemon", "/embedded"] {
        let counts = drive(workspace(), &apache.url(url), &[], Some(&graceful));
        assert_lossless(&counts, 3);
    }
    let log = apache.error_log();
    assert!(!log.contains("AH00291"), "{log}");
}
