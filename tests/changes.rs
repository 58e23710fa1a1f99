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
    let post = ["--method", "POST", "--body-size", "10000"];
    let counts = drive(workspace(), &apache.url("/daemon"), &post, Some(&graceful));
    assert_lossless(&counts, 3);
    let log = apache.error_log();
    assert!(!log.contains("AH00291"), "{log}");
}

#[test]
fn a_deleted_socket_directory_fails_fast_and_a_restart_recreates_it() {
    let apache = Apache::start(
        Mpm::Worker,
        "WSGIDaemonProcess site processes=1 threads=2\n\
         WSGIScriptAlias / {root}/apps/changes.py process-group=site application-group=%{GLOBAL}\n",
    );
    assert_eq!(get(&apache.url("/")).status, 200);
    // The generation's socket directory (DefaultRuntimeDir/rwsgi.<parent pid>).
    let dir = apache.root().join(format!("rwsgi.{}", apache.pid()));
    assert!(dir.is_dir(), "no {}", dir.display());
    std::fs::remove_dir_all(&dir).unwrap();
    // Connections the Apache children keep open still serve; a request that needs a new
    // one is answered at once (not after connect-timeout's 15 s), naming the directory.
    // The child keeps one daemon connection (from the request above): one request is held
    // in the application on it, so the others need new ones, whatever the timing.
    let holds = apache.root().join("holds");
    std::fs::create_dir(&holds).unwrap();
    chmod_world_writable(&holds);
    let release = holds.join("release");
    let started = std::time::Instant::now();
    let url = apache.url("/");
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let held = s.spawn(|| get(&format!("{url}?hold={}", release.display())).status);
        wait_for_file(&holds.join("release.in"));
        let mut statuses: Vec<u16> = (0..7).map(|_| get(&url).status).collect();
        std::fs::write(&release, b"").unwrap();
        statuses.push(held.join().unwrap());
        statuses
    });
    assert!(statuses.contains(&503), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    apache.assert_log(&format!(
        "the daemon socket directory {} no longer exists",
        dir.display()
    ));
    // A graceful restart makes it again, and the new daemons serve.
    let _ = std::process::Command::new("kill")
        .args(["-USR1", &apache.pid().to_string()])
        .status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !dir.is_dir() || get(&apache.url("/")).status != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "not serving again after the restart:\n{}",
            apache.error_log()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn chmod_world_writable(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
}

/// Waits (a minute at most, as a last resort) until `path` exists.
fn wait_for_file(path: &std::path::Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A tmpfs mounted for a test; unmounted (and its mount point removed) when dropped.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn a_full_error_log_file_system_does_not_stop_serving() {
    if !is_root() {
        println!("not run: mounting a small file system needs root");
        return;
    }
    let stage = Stage::new(Mpm::Worker);
    let logs = stage.root().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs"])
        .arg(&logs)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount failed");
    // Declared before the server, so dropped after it.
    let _mount = Mount(logs.clone());
    std::os::unix::fs::symlink(logs.join("error_log"), stage.root().join("error_log")).unwrap();
    let apache = stage.start(
        "WSGIDaemonProcess site processes=1 threads=2\n\
         WSGIScriptAlias /daemon {root}/apps/broken.py process-group=site application-group=%{GLOBAL}\n\
         WSGIScriptAlias /embedded {root}/apps/broken.py application-group=%{GLOBAL}\n",
    );
    assert_eq!(get(&apache.url("/daemon/ok")).status, 200);
    // Fill the file system the error log is on.
    let mut filler = std::fs::File::create(logs.join("filler")).unwrap();
    let block = vec![b'x'; 4096];
    while std::io::Write::write_all(&mut filler, &block).is_ok() {}
    drop(filler);
    // Requests that log tracebacks get their 500, the others their 200, in both modes.
    for _ in 0..20 {
        for mode in ["daemon", "embedded"] {
            let failed = get(&apache.url(&format!("/{mode}/raise-before")));
            assert_eq!(failed.status, 500, "{mode}");
            let ok = get(&apache.url(&format!("/{mode}/ok")));
            assert_eq!(
                (ok.status, ok.text().as_str()),
                (200, "still serving"),
                "{mode}"
            );
        }
    }
}

#[test]
fn recycling_by_resident_memory_loses_nothing() {
    // A limit below what a daemon with Python uses: each one recycles as soon as it has
    // served, over and over, under load.
    let apache = Apache::start(
        Mpm::Worker,
        "WSGIDaemonProcess site processes=2 threads=4 resident-memory-limit=8M\n\
         WSGIScriptAlias / {root}/apps/changes.py process-group=site application-group=%{GLOBAL}\n",
    );
    let counts = drive(workspace(), &apache.url("/"), &[], None);
    assert_lossless(&counts, 0);
    apache.assert_log("resident-memory-limit");
}
