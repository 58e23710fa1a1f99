//! Daemon mode through a real Apache: WSGIDaemonProcess groups, the framed protocol, and
//! what happens when daemons die, hang, recycle or Apache restarts.

mod harness;

use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use harness::*;
use rwsgi_core::protocol::{self, Frame, FrameReader, Hello};
use rwsgi_core::route::Route;
use sha2::{Digest, Sha256};

const DAEMON: &str = "
WSGIDaemonProcess site processes=2 threads=4 display-name=%{GROUP}
WSGIScriptAlias /env {root}/apps/environ.py process-group=site
WSGIScriptAlias /echo {root}/apps/echo.py process-group=site
WSGIScriptAlias /resp {root}/apps/responses.py process-group=site
WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=site
WSGIScriptAlias /embedded {root}/apps/environ.py
";

fn pid_of(reply: &Reply) -> u32 {
    kv(&reply.text())["pid"].trim().parse().unwrap()
}

/// Sends `pid` a signal (`-KILL`, `-USR1`, …) with kill(1).
fn signal(pid: u32, which: &str) {
    let status = std::process::Command::new("kill")
        .args([which, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {which} {pid}");
}

/// Waits until process `pid` has exited.
fn wait_until_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "pid {pid} still runs");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every process's pid (from /proc).
fn all_pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse().ok())
}

/// The parent of process `pid`, while it runs.
fn parent_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))?
        .trim()
        .parse()
        .ok()
}

/// Waits until the supervisor of Apache's `n`-th generation has started.
fn wait_for_generation(apache: &Apache, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while apache.error_log().matches("RW0201").count() < n {
        assert!(Instant::now() < deadline, "{}", apache.error_log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The daemon socket(s) under the stage's runtime directory.
fn sockets(apache: &Apache) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(apache.root()).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("rwsgi.") {
            for s in std::fs::read_dir(e.path()).unwrap().flatten() {
                if s.file_name().to_string_lossy().ends_with(".sock") {
                    out.push(s.path());
                }
            }
        }
    }
    out
}

#[test]
fn requests_run_in_the_daemon_group() {
    let apache = Apache::start(Mpm::Event, DAEMON);
    let env = kv(&get(&apache.url("/env/x?q=1")).text());
    assert_eq!(env["mod_wsgi.process_group"], "site");
    assert_eq!(env["PATH_INFO"], "/x");
    assert_eq!(env["QUERY_STRING"], "q=1");
    assert_eq!(env["SCRIPT_NAME"], "/env");
    assert_eq!(env["REQUEST_METHOD"], "GET");
    assert_eq!(env["wsgi.multiprocess"], "True");
    assert_eq!(env["wsgi.multithread"], "True");
    assert_eq!(env["all_native_str"], "True");
    assert_eq!(env["none_values"], "");
    assert_eq!(env["wsgi.url_scheme"], "http");
    assert!(env["mod_wsgi.daemon_start"].parse::<f64>().unwrap() > 1e9);
    let embedded = kv(&get(&apache.url("/embedded")).text());
    assert_eq!(embedded["mod_wsgi.process_group"], "");
    assert_ne!(env["pid"], embedded["pid"]);
    // display-name=%{GROUP} shows in ps.
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", env["pid"])).unwrap();
    assert!(
        cmdline.starts_with(b"(wsgi:site)"),
        "{:?}",
        String::from_utf8_lossy(&cmdline)
    );
    if is_root() {
        let status = std::fs::read_to_string(format!("/proc/{}/status", env["pid"])).unwrap();
        let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert_eq!(
            uid.split_whitespace().nth(1),
            Some("33"),
            "daemon runs as www-data"
        );
    }
    apache.wait_for_log("RW0202: daemon process");
}

#[test]
fn bodies_stream_both_ways() {
    let apache = Apache::start(Mpm::Worker, DAEMON);
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let want = format!("{:x}", Sha256::digest(&body));
    for mode in ["read", "readn&n=1000", "readline", "iter"] {
        let reply = post(
            &apache.url(&format!("/echo?mode={mode}")),
            "application/octet-stream",
            &body,
        );
        assert_eq!(reply.status, 200, "{mode}");
        let r = kv(&reply.text());
        assert_eq!(r["sha256"], want, "{mode}");
        assert_eq!(r["len"], "3000000", "{mode}");
    }
    // A streamed response arrives whole.
    let reply = get(&apache.url("/ctl/slow?n=5&pause=0.01"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text().matches("chunk").count(), 5);
}

/// `WSGIStreamCoalescing On` in daemon mode (the Apache child's connection to the client):
/// streamed responses still arrive whole, one after another on one connection.
#[test]
fn streamed_responses_arrive_whole_with_stream_coalescing() {
    let apache = Apache::start(
        Mpm::Worker,
        &format!("{DAEMON}\n<Location /ctl>\nWSGIStreamCoalescing On\n</Location>\n"),
    );
    let agent = client();
    for _ in 0..3 {
        let reply = text_via(&agent, &apache.url("/ctl/slow?n=200&pause=0"));
        assert_eq!(reply.matches("chunk").count(), 200, "{reply}");
    }
    apache.assert_log_clean(&[]);
}

#[test]
fn a_daemon_killed_mid_response_cuts_it_and_says_why() {
    let apache = Apache::start(Mpm::Event, DAEMON);
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", apache.port())).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    conn.write_all(
        b"GET /ctl/slow?n=50&pause=0.1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("pid=") || !got.ends_with(b"\n") {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    let pid: u32 = text.split("pid=").nth(1).unwrap()[..8].parse().unwrap();
    signal(pid, "-KILL");
    let _ = conn.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    let declared = 50 * 6 + 12;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    assert!(
        body.len() < declared,
        "the client got a complete response: {text}"
    );
    apache.wait_for_log(&format!(
        "daemon pid {pid} of group 'site' died (signal 9 (SIGKILL)) during request GET /ctl/slow"
    ));
    // New requests are served (by the replacement, or the other process).
    for _ in 0..4 {
        assert_eq!(get(&apache.url("/ctl/pid")).status, 200);
    }
}

#[test]
fn maximum_requests_recycles_without_failing_a_request() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess one processes=1 threads=2 maximum-requests=5\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=one\n",
    );
    let url = apache.url("/ctl/pid");
    let pids = std::sync::Mutex::new(std::collections::BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                for _ in 0..15 {
                    let reply = get(&url);
                    assert_eq!(reply.status, 200, "{}", reply.text());
                    *pids.lock().unwrap().entry(pid_of(&reply)).or_insert(0) += 1;
                }
            });
        }
    });
    let pids = pids.into_inner().unwrap();
    assert!(
        pids.len() >= 9,
        "45 requests at 5 per process used only {pids:?}"
    );
    // Exact, although two threads wait for connections in each process.
    assert!(pids.values().all(|&n| n <= 5), "{pids:?}");
    apache.assert_log("recycles (maximum-requests) after 5 requests");
}

#[test]
fn apache_graceful_restart_lets_daemon_requests_finish() {
    let apache = Apache::start(Mpm::Event, DAEMON);
    assert_eq!(get(&apache.url("/ctl/pid")).status, 200);
    let url = apache.url("/ctl/slow?n=20&pause=0.1");
    let slow = std::thread::spawn(move || get(&url));
    std::thread::sleep(Duration::from_millis(500));
    signal(apache.pid(), "-USR1");
    let reply = slow.join().unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.text().matches("chunk").count(),
        20,
        "the in-flight request was cut"
    );
    // The new generation serves.
    wait_for_generation(&apache, 2);
    assert_eq!(get(&apache.url("/ctl/pid")).status, 200);
}

#[test]
fn queue_timeout_answers_504() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess q processes=1 threads=1 queue-timeout=1\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=q\n",
    );
    let url = apache.url("/ctl/sleep?s=3");
    let busy = std::thread::spawn(move || get(&url));
    std::thread::sleep(Duration::from_millis(300));
    let queued = get(&apache.url("/ctl/pid"));
    assert_eq!(queued.status, 504);
    assert_eq!(busy.join().unwrap().status, 200);
    apache.assert_log("queue-timeout: the request waited");
    assert_eq!(get(&apache.url("/ctl/pid")).status, 200);
}

#[test]
fn only_apache_can_run_a_request() {
    let apache = Apache::start(Mpm::Event, DAEMON);
    assert_eq!(get(&apache.url("/ctl/pid")).status, 200);
    let socket = sockets(&apache).pop().expect("a daemon socket");
    let dir = socket.parent().unwrap();
    let meta = std::fs::metadata(dir).unwrap();
    assert_eq!(
        meta.mode() & 0o777,
        0o700,
        "socket directory must be private"
    );
    if is_root() {
        assert_eq!(meta.uid(), 33, "socket directory belongs to Apache's User");
        // Another local user cannot even reach the socket.
        let out = std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "test",
                "-e",
            ])
            .arg(&socket)
            .status()
            .unwrap();
        assert!(!out.success(), "nobody can see {}", socket.display());
    }
    // A client with the wrong secret is refused before anything runs.
    let marker = apache.root().join("touched");
    let mut conn = UnixStream::connect(&socket).unwrap();
    let mut out = Vec::new();
    Frame::Hello(Hello {
        secret: [0; protocol::SECRET_LEN],
        request_start_us: 0,
        queue_start_us: 0,
    })
    .encode(&mut out);
    let script = apache
        .root()
        .join("apps/daemon_ctl.py")
        .display()
        .to_string();
    let query = format!("file={}", marker.display());
    let route = Route {
        script: script.clone(),
        callable: "application".into(),
        process_group: "site".into(),
        ..Route::default()
    };
    protocol::encode_request(
        &mut out,
        &route,
        &[
            ("REQUEST_METHOD", "GET"),
            ("PATH_INFO", "/touch"),
            ("QUERY_STRING", query.as_str()),
            ("SCRIPT_FILENAME", script.as_str()),
            ("mod_wsgi.callable_object", "application"),
        ],
    );
    conn.write_all(&out).unwrap();
    let mut reader = FrameReader::new(conn);
    match reader.read_frame().unwrap() {
        Some(Frame::Error { status, .. }) => assert_eq!(status, 403),
        other => panic!("expected a refusal, got {other:?}"),
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !marker.exists(),
        "the app ran for an unauthenticated client"
    );
    apache.wait_for_log("refused a connection from pid");
    // A client of another rwsgi build is refused as such, and told why, before its secret
    // is looked at.
    // Version 3's Hello, as such a client sends it (63 bytes: its layout also carried the
    // script's mtime).
    let old = 3u16;
    let mut conn = UnixStream::connect(&socket).unwrap();
    let mut out = vec![protocol::kind::HELLO, 0, 0, 0, 63];
    out.extend_from_slice(protocol::MAGIC);
    out.extend_from_slice(&old.to_be_bytes());
    out.extend_from_slice(&[0; protocol::SECRET_LEN + 24]);
    conn.write_all(&out).unwrap();
    let mut reader = FrameReader::new(conn);
    match reader.read_frame().unwrap() {
        Some(Frame::Error { status, reason }) => {
            assert_eq!(status, 502);
            assert!(
                reason.contains(&format!("protocol version {old}")),
                "{reason}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    apache.wait_for_log(&format!(
        "protocol version {old} (this daemon speaks {})",
        protocol::VERSION
    ));
}

/// A daemon that sends a frame the protocol does not allow has broken the protocol; it has
/// not died. The Apache child says so, naming both processes, and answers 502. The test
/// stands in for the daemon on the group's socket path.
#[test]
fn a_daemon_that_breaks_the_protocol_is_named_as_such_not_as_dead() {
    if !is_root() {
        eprintln!("skipped: needs root to enter the socket directory");
        return;
    }
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess liar processes=1 threads=1
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=liar
",
    );
    apache.wait_for_log("RW0202: daemon process");
    let socket = sockets(&apache).pop().expect("a daemon socket");
    std::fs::remove_file(&socket).unwrap();
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let impostor = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut reader = FrameReader::new(conn.try_clone().unwrap());
        assert!(matches!(reader.read_frame(), Ok(Some(Frame::Hello(_)))));
        // The Apache child's decisions arrive typed, not as variables.
        match reader.read_frame() {
            Ok(Some(Frame::Request { route, .. })) => {
                assert_eq!(route.process_group, "liar");
                assert_eq!(route.callable, "application");
                assert!(route.script.ends_with("/apps/daemon_ctl.py"), "{route:?}");
                assert!(route.reload && !route.ignore_activity && !route.handler_script);
                assert!(route.script_mtime_us.is_some());
            }
            other => panic!("expected a Request frame, got {other:?}"),
        }
        let mut out = Vec::new();
        Frame::Accepted {
            pid: std::process::id(),
        }
        .encode(&mut out);
        // A Data frame over the reader's limit: what the old daemon sent for a 50 MB block.
        out.push(protocol::kind::DATA);
        out.extend_from_slice(&((protocol::MAX_PAYLOAD + 1) as u32).to_be_bytes());
        (&conn).write_all(&out).unwrap();
        // Hold the connection open: the child must not take this for a death either.
        let mut rest = Vec::new();
        let _ = (&conn).read_to_end(&mut rest);
    });
    let reply = get(&apache.url("/ctl/pid"));
    assert_eq!(reply.status, 502, "{}", reply.text());
    let log = apache.wait_for_log("broke the protocol");
    let me = std::process::id();
    let line = log
        .lines()
        .find(|l| l.contains("broke the protocol"))
        .unwrap();
    assert!(
        line.contains(&format!("RW0214: daemon pid {me} of group 'liar' broke the protocol (frame of {} bytes exceeds the", protocol::MAX_PAYLOAD + 1)),
        "{line}"
    );
    assert!(
        line.contains("during request GET /ctl/pid in Apache child pid "),
        "{line}"
    );
    assert!(line.contains("answering 502"), "{line}");
    assert!(
        !log.contains("RW0212"),
        "a protocol error is not a death:\n{log}"
    );
    impostor.join().unwrap();
}

#[test]
fn an_unreadable_python_path_is_named_and_requests_get_503() {
    if !is_root() {
        eprintln!("skipped: needs root to run the daemon as another user");
        return;
    }
    let stage = Stage::new(Mpm::Event);
    let private = stage.root().join("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let apache = stage.start(
        "WSGIDaemonProcess locked processes=1 threads=1 connect-timeout=1 python-path={root}/private/lib\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=locked\n",
    );
    let started = Instant::now();
    let reply = get(&apache.url("/ctl/pid"));
    assert_eq!(reply.status, 503);
    assert!(started.elapsed() < Duration::from_secs(5));
    let log = apache.wait_for_log("cannot start: cannot enter");
    assert!(log.contains("/private (Permission denied)"), "{log}");
    assert!(log.contains("as www-data (uid 33)"), "{log}");
    // rwsgi's log text is ASCII: Apache's error log writes other bytes as `\xNN`.
    let log = apache.wait_for_log("; needed for");
    assert!(
        !log.contains("\\x"),
        "escaped bytes in the error log:\n{log}"
    );
    apache.wait_for_log("took the request within connect-timeout (1.0s)");
    // Repeated failures back off instead of looping every second.
    apache.wait_for_log("times in a row; next start in");
}

#[test]
fn bad_daemon_configuration_fails_the_config_test() {
    for (snippet, want) in [
        ("WSGIDaemonProcess site bogus=1\n", "unknown option 'bogus'"),
        ("WSGIDaemonProcess site user=root\n", "user=root is refused"),
        (
            "WSGIScriptAlias / {root}/apps/environ.py process-group=nope\n",
            "process-group=nope names no WSGIDaemonProcess group",
        ),
        (
            "WSGIDaemonProcess a\nWSGIDaemonProcess a\n",
            "a group called 'a' is already defined",
        ),
    ] {
        let out = Stage::new(Mpm::Event).config_test(snippet);
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{snippet} passed apache2 -t");
        assert!(text.contains(want), "{snippet}: {text}");
    }
}

/// With `launch=fork`, a group's venv of another Python X.Y fails `apache2 -t` naming both
/// versions (its daemons would run the module's Python beside packages built for the
/// other); one of the module's own X.Y passes. (Without `launch=fork` such a group is
/// exec'd into the venv's Python: tests/launch.rs.)
#[test]
fn a_forked_daemon_venv_of_another_python_fails_the_config_test() {
    let linked = harness::daemon_runtime::python_facts(&test_python()).0;
    let other = if linked == "3.12" { "3.13" } else { "3.12" };
    // A free-threaded Python's venvs (and the module) are 3.13t: its executable says so.
    let build = if is_free_threaded(&test_python()) {
        "t"
    } else {
        ""
    };
    let stage = Stage::new(Mpm::Event);
    for (dir, version, build) in [("venv-other", other, ""), ("venv-same", &linked, build)] {
        stage.write(
            &format!("{dir}/pyvenv.cfg"),
            &format!(
                "home = /usr/bin\ninclude-system-site-packages = false\nversion = {version}.4\n\
                 executable = /usr/bin/python{version}{build}\n"
            ),
        );
    }
    let linked = format!("{linked}{build}");
    let out =
        stage.config_test("WSGIDaemonProcess site launch=fork python-home={root}/venv-other\n");
    let text = output_text(&out);
    assert!(!out.status.success(), "passed apache2 -t: {text}");
    assert_mentions(
        &text,
        &[
            "WSGIDaemonProcess site: python-home=",
            &format!("is a virtual environment for Python {other}"),
            &format!("launch=fork runs the daemons on this mod_rwsgi.so's Python {linked}"),
            "remove launch=fork",
        ],
    );
    let out = stage.config_test("WSGIDaemonProcess site python-home={root}/venv-same\n");
    assert!(out.status.success(), "{}", output_text(&out));
}

#[test]
fn request_timeout_answers_504_logs_the_stack_and_recycles() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess rt processes=1 threads=2 request-timeout=1\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=rt\n",
    );
    let before = pid_of(&get(&apache.url("/ctl/pid")));
    let stuck = get(&apache.url("/ctl/sleep?s=60"));
    assert_eq!(stuck.status, 504, "{}", stuck.text());
    // The stack of the stuck thread, down to the line it waits in: it is logged after the
    // 504 went out and may follow the recycle line, so wait for its last line.
    apache.wait_for_log("time.sleep(float(query.get(\"s\"");
    let log = apache.wait_for_log("recycles (request-timeout)");
    assert!(
        log.contains("RW0218: request-timeout: GET /ctl/sleep?s=60 ran"),
        "{log}"
    );
    assert!(log.contains("daemon_ctl.py\", line"), "{log}");
    // The Apache child's line names the daemon.
    assert!(
        log.contains(&format!(
            "RW0215: daemon group 'rt' (pid {before}): request-timeout: GET /ctl/sleep?s=60"
        )),
        "{log}"
    );
    // A fresh process serves; the stuck one is gone.
    let after = pid_of(&get(&apache.url("/ctl/pid")));
    assert_ne!(before, after);
    wait_until_gone(before);
}

#[test]
fn interrupt_timeout_unwinds_the_request_and_keeps_the_process() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess it processes=1 threads=2 request-timeout=1 interrupt-timeout=2\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=it\n",
    );
    let before = pid_of(&get(&apache.url("/ctl/pid")));
    // Busy in Python: the injected exception stops it.
    let spun = get(&apache.url("/ctl/spin?s=60"));
    assert_eq!(spun.status, 504);
    // The traceback's last line (RW0218's line names the exception too).
    apache.wait_for_log("] mod_wsgi.RequestTimeout");
    assert_eq!(pid_of(&get(&apache.url("/ctl/pid"))), before);
    // Blocked in C (time.sleep), it cannot be interrupted: the process recycles instead.
    assert_eq!(get(&apache.url("/ctl/sleep?s=60")).status, 504);
    apache.assert_log("did not stop within interrupt-timeout (2s); the process recycles");
    apache.assert_log("recycles (request-timeout)");
    assert_ne!(pid_of(&get(&apache.url("/ctl/pid"))), before);
}

/// Runs `clients` threads requesting `path` until `busy` returns, and returns the replies'
/// pids; any failed request fails the test.
/// Waits (up to 60 s, as a last resort) until `done` holds; the caller's assertion then says
/// what was missing.
fn wait_until(done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn under_load(
    apache: &Apache,
    clients: usize,
    path: &str,
    busy: impl FnOnce(&dyn Fn() -> usize),
) -> std::collections::BTreeSet<u32> {
    let url = apache.url(path);
    let done = std::sync::atomic::AtomicBool::new(false);
    let pids = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let count = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let reply = get(&url);
                    assert_eq!(reply.status, 200, "{}", reply.text());
                    let text = reply.text();
                    let pid = text.split("pid=").nth(1).unwrap()[..8]
                        .trim()
                        .parse()
                        .unwrap();
                    pids.lock().unwrap().insert(pid);
                    count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
        busy(&|| pids.lock().unwrap().len());
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    assert!(count.into_inner() > clients, "the load did not run");
    pids.into_inner().unwrap()
}

#[test]
fn a_request_quiet_for_longer_than_connect_timeout_still_completes() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess quiet processes=1 threads=1 connect-timeout=1\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=quiet\n",
    );
    // connect-timeout bounds the wait for a daemon to take the request, not the request.
    assert_eq!(get(&apache.url("/ctl/sleep?s=3")).status, 200);
}

#[test]
fn a_recycling_process_hands_over_to_its_replacement_at_once() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess ho processes=1 threads=2 maximum-requests=1\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=ho\n",
    );
    // The first request is the process's last: it recycles as the request starts.
    let url = apache.url("/ctl/slow?n=40&pause=0.1");
    let slow = std::thread::spawn(move || get(&url));
    std::thread::sleep(Duration::from_millis(300));
    let new = pid_of(&get(&apache.url("/ctl/pid")));
    // The replacement answered while the old process was still finishing.
    assert!(!slow.is_finished(), "the slow request ended first");
    let slow = slow.join().unwrap();
    assert_eq!(slow.text().matches("chunk").count(), 40);
    assert_ne!(pid_of(&slow), new);
    apache.assert_log("recycles (maximum-requests) after 1 requests");
}

#[test]
fn restart_interval_recycles_under_continuous_load_without_failures() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess ri processes=1 threads=2 restart-interval=1\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=ri\n",
    );
    let pids = under_load(&apache, 3, "/ctl/slow?n=2&pause=0.05", |seen| {
        apache.wait_for_log("recycles (restart-interval)");
        // Until the replacement has answered (the assertion below says which pids did).
        wait_until(|| seen() >= 2);
    });
    assert!(pids.len() >= 2, "one process served everything: {pids:?}");
    apache.assert_log("recycles (restart-interval)");
}

#[test]
fn resident_memory_limit_recycles_gracefully() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess rss processes=1 threads=2 resident-memory-limit=150M\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=rss\n",
    );
    let before = pid_of(&get(&apache.url("/ctl/pid")));
    let pids = under_load(&apache, 2, "/ctl/slow?n=2&pause=0.05", |seen| {
        // The request that grows the process completes; the process then recycles.
        let grown = get(&apache.url("/ctl/grow?mb=200"));
        assert_eq!(grown.status, 200);
        apache.assert_log("recycles (resident-memory-limit)");
        wait_until(|| seen() >= 2);
    });
    assert!(pids.len() >= 2, "{pids:?}");
    wait_until_gone(before);
}

#[test]
fn apache_graceful_restarts_under_continuous_load_fail_no_request() {
    let apache = Apache::start(Mpm::Event, DAEMON);
    let pids = under_load(&apache, 3, "/ctl/slow?n=3&pause=0.05", |seen| {
        // Each generation answers before the next replaces it; a generation restarted
        // before its first answer would leave nothing to see.
        wait_until(|| seen() >= 1);
        for round in 2..=3 {
            let before = seen();
            signal(apache.pid(), "-USR1");
            wait_for_generation(&apache, round);
            wait_until(|| seen() > before);
        }
        // Two processes per generation: a third pid is a later generation's.
        wait_until(|| seen() >= 3);
    });
    // Requests were served by both the first and a later generation's daemons.
    assert!(pids.len() >= 3, "{pids:?}");
}

#[test]
fn deadlock_timeout_replaces_a_process_whose_gil_is_held() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess dl processes=1 threads=2 deadlock-timeout=2\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=dl\n",
    );
    let before = pid_of(&get(&apache.url("/ctl/pid")));
    let hog = get(&apache.url("/ctl/hog"));
    assert_eq!(hog.status, 502);
    let log = apache.wait_for_log("died (exit status 75)");
    assert!(
        log.contains(&format!(
            "RW0219: daemon process {before} of group 'dl': no thread could take Python's GIL"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!("daemon pid {before} of group 'dl' died")),
        "{log}"
    );
    assert_ne!(pid_of(&get(&apache.url("/ctl/pid"))), before);
}

#[test]
fn header_buffer_size_limits_a_response_header() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess hb processes=1 threads=1 header-buffer-size=8192\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=hb\n",
    );
    assert_eq!(get(&apache.url("/ctl/header?n=8000")).status, 200);
    assert_eq!(get(&apache.url("/ctl/header?n=9000")).status, 502);
    apache
        .assert_log("sent a response header X-Long of 9008 bytes, over header-buffer-size (8192)");
    assert_eq!(get(&apache.url("/ctl/pid")).status, 200);
}

#[test]
fn recycling_with_many_waiting_threads_fails_no_sequential_request() {
    // Seven idle threads of a recycling process each close one connection they took;
    // the Apache child retries until a daemon takes the request.
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess many processes=1 threads=8 maximum-requests=2\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=many\n",
    );
    let mut pids = std::collections::BTreeSet::new();
    for _ in 0..12 {
        let reply = get(&apache.url("/ctl/pid"));
        assert_eq!(reply.status, 200, "{}", reply.text());
        pids.insert(pid_of(&reply));
    }
    assert!(pids.len() >= 6, "{pids:?}");
}

#[test]
fn apache_children_keep_their_daemon_connections_between_requests() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess one processes=1 threads=2\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=one\n",
    );
    // The daemon lists its open sockets: the group's socket plus one per kept connection.
    // A connection per request would show a new socket every time.
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let reply = get(&apache.url("/ctl/sockets"));
        assert_eq!(reply.status, 200, "{}", reply.text());
        let text = reply.text();
        seen.extend(text.lines().nth(1).unwrap().split(' ').map(str::to_owned));
    }
    assert!(
        seen.len() <= 6,
        "20 sequential requests used {} sockets: {seen:?}",
        seen.len()
    );
}

#[test]
fn a_daemon_killed_while_idle_leaves_no_stale_connection_behind() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess one processes=1 threads=4\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=one\n",
    );
    // Several concurrent requests: the Apache children keep several connections.
    let url = apache.url("/ctl/sleep?s=0.3");
    let pid = std::thread::scope(|s| {
        let replies: Vec<_> = (0..4).map(|_| s.spawn(|| get(&url))).collect();
        let replies: Vec<Reply> = replies.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(replies.iter().all(|r| r.status == 200));
        pid_of(&replies[0])
    });
    signal(pid, "-KILL");
    wait_until_gone(pid);
    // Every kept connection is now dead: requests find that out, connect afresh and wait
    // for the replacement instead of failing.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..5 {
                    let reply = get(&apache.url("/ctl/pid"));
                    assert_eq!(reply.status, 200, "{}", reply.text());
                    assert_ne!(pid_of(&reply), pid);
                }
            });
        }
    });
    assert!(
        !apache.error_log().contains("RW0211"),
        "{}",
        apache.error_log()
    );
}

#[test]
fn a_recycling_process_closes_its_kept_connections_at_once() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess kc processes=1 threads=2 maximum-requests=3\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=kc\n",
    );
    // Two requests at once: the Apache child keeps two connections.
    let url = apache.url("/ctl/sleep?s=0.3");
    let old = std::thread::scope(|s| {
        let a = s.spawn(|| get(&url));
        let b = s.spawn(|| get(&url));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        assert_eq!((a.status, b.status), (200, 200));
        pid_of(&a)
    });
    // The third request is the process's last; it runs for 4 s on one kept connection.
    let url = apache.url("/ctl/slow?n=40&pause=0.1");
    let slow = std::thread::spawn(move || get(&url));
    // Long enough for the old process's idle thread to stop waiting for requests.
    std::thread::sleep(Duration::from_millis(1500));
    // The other kept connection was closed when the recycle began, so this request goes
    // to the replacement instead of waiting for the old process to finish.
    let reply = get(&apache.url("/ctl/pid"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        !slow.is_finished(),
        "the request waited for the old process"
    );
    assert_ne!(pid_of(&reply), old);
    assert_eq!(slow.join().unwrap().text().matches("chunk").count(), 40);
}

/// Sends `GET path` on a raw connection; returns what the client had when the first body
/// bytes arrived, and the whole response.
fn first_body_read(apache: &Apache, path: &str) -> (String, String) {
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", apache.port())).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    let first = loop {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        if text
            .split_once("\r\n\r\n")
            .is_some_and(|(_, body)| !body.is_empty())
        {
            break text;
        }
    };
    conn.read_to_end(&mut got).unwrap();
    (first, String::from_utf8_lossy(&got).into_owned())
}

#[test]
fn response_flush_delay_gathers_a_streams_chunks() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess now processes=1 threads=1 response-flush-delay=0\n\
         WSGIDaemonProcess dflt processes=1 threads=1\n\
         WSGIDaemonProcess slow processes=1 threads=1 response-flush-delay=3000\n\
         WSGIScriptAlias /now {root}/apps/daemon_ctl.py process-group=now\n\
         WSGIScriptAlias /dflt {root}/apps/daemon_ctl.py process-group=dflt\n\
         WSGIScriptAlias /slow {root}/apps/daemon_ctl.py process-group=slow\n",
    );
    // The app yields its first line, then a chunk every 0.3 s.
    let stream = "/slow?n=3&pause=0.3";
    for (group, chunks_with_the_first_line) in [("now", 0), ("dflt", 0), ("slow", 3)] {
        let (first, all) = first_body_read(&apache, &format!("/{group}{stream}"));
        assert!(first.contains("pid="), "{group}: {first}");
        assert_eq!(
            first.matches("chunk").count(),
            chunks_with_the_first_line,
            "{group}: {first}"
        );
        assert_eq!(all.matches("chunk").count(), 3, "{group}: {all}");
    }
}

#[test]
fn response_socket_timeout_frees_a_thread_from_a_client_that_stopped_reading() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess rs processes=1 threads=1 response-socket-timeout=1\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=rs\n",
    );
    // A client that asks for 256 MB and reads none of it: every buffer on the way fills.
    let mut stalled = std::net::TcpStream::connect(("127.0.0.1", apache.port())).unwrap();
    stalled
        .write_all(b"GET /ctl/big?mb=256 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    apache.wait_for_log("response-socket-timeout: the client stopped reading");
    // The only daemon thread is free again (without the option it would wait for
    // socket-timeout, 60 s, and this request would get 503 after connect-timeout).
    let reply = get(&apache.url("/ctl/pid"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    drop(stalled);
}

#[test]
fn sigusr1_evicts_one_process_within_eviction_timeout() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess ev processes=1 threads=2 eviction-timeout=1\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=ev\n",
    );
    let old = pid_of(&get(&apache.url("/ctl/pid")));
    let url = apache.url("/ctl/sleep?s=30");
    let stuck = std::thread::spawn(move || get(&url));
    std::thread::sleep(Duration::from_millis(300));
    signal(old, "-USR1");
    apache.wait_for_log("recycles (eviction by SIGUSR1)");
    // The replacement serves at once; the old process gets eviction-timeout (1 s), not
    // graceful-timeout (15 s), for the request it still runs.
    let new = pid_of(&get(&apache.url("/ctl/pid")));
    assert_ne!(new, old);
    wait_until_gone(old);
    assert_eq!(stuck.join().unwrap().status, 502);
    apache.assert_log("exits with 1 requests still running");
}

#[test]
fn script_user_and_group_refuse_scripts_others_could_change() {
    use std::os::unix::fs::PermissionsExt;
    let stage = Stage::new(Mpm::Event);
    let app = "def application(environ, start_response):\n    \
               start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
               return [b'ran\\n']\n";
    stage.write("mine/app.py", app);
    std::fs::set_permissions(
        stage.root().join("mine"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let open = stage.write("open/app.py", app);
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o664)).unwrap();
    let owner = std::fs::metadata(&open).unwrap();
    let (uid, gid) = (owner.uid(), owner.gid());
    let other = if uid == 0 { 33 } else { 0 };
    let apache = stage.start(&format!(
        "WSGIDaemonProcess ok processes=1 threads=1 script-user=#{uid} script-group=#{gid}\n\
         WSGIDaemonProcess wrong processes=1 threads=1 script-user=#{other}\n\
         WSGIScriptAlias /ok {{root}}/mine/app.py process-group=ok\n\
         WSGIScriptAlias /open {{root}}/open/app.py process-group=ok\n\
         WSGIScriptAlias /wrong {{root}}/mine/app.py process-group=wrong\n"
    ));
    assert_eq!(get(&apache.url("/ok")).text(), "ran\n");
    assert_eq!(get(&apache.url("/open")).status, 403);
    apache.assert_log("open/app.py is writable by its group or others (mode 664)");
    assert_eq!(get(&apache.url("/wrong")).status, 403);
    apache.assert_log(&format!(
        "RW0220: daemon group 'wrong' refuses to run {}/mine/app.py: {}/mine/app.py belongs to uid {uid}, not to script-user (uid {other}); answering 403",
        apache.root().display(),
        apache.root().display()
    ));
}

#[test]
fn startup_timeout_restarts_a_process_whose_script_keeps_failing_to_load() {
    let stage = Stage::new(Mpm::Event);
    // Fails while `down` exists, and, like Django's populate(), can never be loaded again in
    // the same interpreter after a failed attempt.
    stage.write(
        "startup/app.py",
        "import os, sys\n\
         if getattr(sys, '_rwsgi_tried', False):\n    \
             raise RuntimeError(\"populate() isn't reentrant\")\n\
         sys._rwsgi_tried = True\n\
         if os.path.exists(os.path.join(os.path.dirname(__file__), 'down')):\n    \
             raise RuntimeError('the database is not up yet')\n\
         def application(environ, start_response):\n    \
             start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
             return [('pid=%d\\n' % os.getpid()).encode()]\n",
    );
    let down = stage.write("startup/down", "");
    let apache = stage.start(
        "WSGIDaemonProcess st processes=1 threads=1 startup-timeout=1\n\
         WSGIScriptAlias /app {root}/startup/app.py process-group=st\n",
    );
    assert_eq!(get(&apache.url("/app")).status, 500);
    apache.assert_log("the database is not up yet");
    std::fs::remove_file(down).unwrap();
    // The cause is gone, but this interpreter cannot recover.
    assert_eq!(get(&apache.url("/app")).status, 500);
    apache.assert_log("populate() isn't reentrant");
    apache.wait_for_log("recycles (startup-timeout)");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = get(&apache.url("/app"));
        if reply.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "{}", apache.error_log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The live Apache children a `/metrics` answer lists, after checking each is a child of
/// this Apache in the scoreboard's running generation.
fn scoreboard_children(apache: &Apache, m: &std::collections::BTreeMap<String, String>) -> usize {
    let generation = &m["running_generation"];
    let children: Vec<&str> = m["children"].split_whitespace().collect();
    assert!(!children.is_empty(), "{m:?}");
    for child in &children {
        let (pid, g) = child.split_once(':').unwrap();
        assert_eq!(g, generation, "{m:?}");
        assert_eq!(
            parent_of(pid.parse().unwrap()),
            Some(apache.pid()),
            "scoreboard pid {pid} is not an Apache child: {m:?}"
        );
    }
    children.len()
}

/// Forked daemons read Apache's scoreboard themselves; exec'd ones
/// (`RWSGI_TEST_LAUNCH=exec`) get it from their supervisor.
#[test]
fn server_metrics_reads_apaches_scoreboard_where_enabled() {
    let apache = Apache::start(
        Mpm::Event,
        "
ExtendedStatus On
WSGIServerMetrics On
WSGIDaemonProcess on processes=1 threads=2 server-metrics=On
WSGIDaemonProcess off processes=1 threads=2
WSGIScriptAlias /on {root}/apps/metrics.py process-group=on
WSGIScriptAlias /off {root}/apps/metrics.py process-group=off
WSGIScriptAlias /embedded {root}/apps/metrics.py
",
    );
    let off = kv(&get(&apache.url("/off")).text());
    assert_eq!(off["enabled"], "False", "server-metrics not given: None");

    // Daemons forked at start-up see the scoreboard Apache creates after post_config.
    let on = kv(&get(&apache.url("/on")).text());
    assert_eq!(on["enabled"], "True", "{on:?}");
    assert_eq!(on["running_time_ok"], "True", "{on:?}");
    // The harness's event MPM: ServerLimit 2, ThreadLimit 25.
    assert_eq!(on["limits"], "2,25", "{on:?}");
    assert!(scoreboard_children(&apache, &on) >= 1);
    // The Apache worker relaying this very request is busy writing it.
    assert!(on["writing"].contains("GET /on HTTP/1.1"), "{on:?}");

    let embedded = kv(&get(&apache.url("/embedded")).text());
    assert_eq!(embedded["enabled"], "True", "WSGIServerMetrics On");
    assert!(
        embedded["writing"].contains("GET /embedded HTTP/1.1"),
        "{embedded:?}"
    );

    // After a full restart the new generation's daemons read the same, live scoreboard.
    signal(apache.pid(), "-HUP");
    wait_for_generation(&apache, 2);
    let deadline = Instant::now() + Duration::from_secs(15);
    let after = loop {
        let reply = get(&apache.url("/on"));
        let m = kv(&reply.text());
        if reply.status == 200 && m.get("pid") != on.get("pid") {
            break m;
        }
        assert!(Instant::now() < deadline, "{}", apache.error_log());
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(after["enabled"], "True");
    assert!(scoreboard_children(&apache, &after) >= 1);
    assert!(after["writing"].contains("GET /on HTTP/1.1"), "{after:?}");
    apache.assert_log_clean(&[]);
}

/// Which Apache children (not daemons, not the supervisor) have `name` open.
fn apache_children_holding(apache: &Apache, name: &str) -> Vec<u32> {
    all_pids()
        .filter(|&pid| parent_of(pid) == Some(apache.pid()))
        .filter(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.flatten()
                    .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                    .any(|target| target.file_name().is_some_and(|f| f == name))
            })
        })
        .collect()
}

#[test]
fn file_wrapper_files_reach_apache_as_open_files() {
    let stage = Stage::new(Mpm::Event);
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 13 % 251) as u8).collect();
    std::fs::write(stage.root().join("apps/data.bin"), &data).unwrap();
    let big = std::fs::File::create(stage.root().join("apps/big.bin")).unwrap();
    big.set_len(48 << 20).unwrap();
    let apache = stage.start(DAEMON);

    let r = get(&apache.url("/resp/file"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("300000"));
    assert!(r.body == data, "the whole file, intact");
    let r = get(&apache.url("/resp/file?skip=1000"));
    assert!(r.body == data[1000..], "from the file's position");
    // Below the size worth passing, the bytes are copied; the result is the same.
    let r = get(&apache.url("/resp/file?cl=500"));
    assert!(r.body == data[..500], "the app's Content-Length");

    // A client that reads nothing: the Apache child, not the daemon, is the one sending
    // the file, so it holds it open while the daemon thread is long free.
    let mut slow = std::net::TcpStream::connect(("127.0.0.1", apache.port())).unwrap();
    slow.write_all(b"GET /resp/file?name=big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 512];
    let n = slow.read(&mut head).unwrap();
    assert!(head[..n].starts_with(b"HTTP/1.1 200"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while apache_children_holding(&apache, "big.bin").is_empty() {
        assert!(
            Instant::now() < deadline,
            "no Apache child holds big.bin: the daemon copied it"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The server keeps serving meanwhile.
    assert_eq!(get(&apache.url("/ctl/pid")).status, 200);
    drop(slow);

    let r = get(&apache.url("/resp/file?name=big.bin"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 48 << 20);
    apache.assert_log_clean(&[]);
}

/// Processes whose command line starts with `title` (daemons set theirs first thing).
fn processes_titled(title: &str) -> Vec<u32> {
    all_pids()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| cmdline.starts_with(title.as_bytes()))
        })
        .collect()
}

#[test]
fn a_daemon_stopped_while_it_starts_exits_once_up() {
    let mut apache = Apache::start(
        Mpm::Event,
        "
WSGIDaemonProcess slowstart processes=2 threads=2 display-name=%{GROUP}
WSGIImportScript {root}/apps/slow_import.py process-group=slowstart application-group=%{GLOBAL}
WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=slowstart
",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let daemons = loop {
        let d = processes_titled("(wsgi:slowstart)");
        if d.len() == 2 {
            break d;
        }
        assert!(Instant::now() < deadline, "{}", apache.error_log());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        !apache.error_log().contains("RW0202"),
        "the daemons were to be still starting"
    );
    apache.stop();
    // Up after the 3 s import, they see the stop and exit; they used to miss it and run
    // until the supervisor's SIGKILL (graceful-timeout + shutdown-timeout + 1 s = 21 s).
    for pid in daemons {
        wait_until_gone(pid);
    }
    let log = apache.error_log();
    assert!(!log.contains("RW0206"), "a daemon had to be killed:\n{log}");
}

#[test]
fn each_daemon_request_gets_exactly_its_own_variables() {
    // One thread serves every request, so each environ is built right after the one
    // before it (a daemon thread reuses the Python strings of values that repeat).
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess one processes=1 threads=1\n\
         WSGIScriptAlias /env {root}/apps/environ.py process-group=one\n",
    );
    let long = "v".repeat(3000);
    let requests: [&[(&str, &str)]; 5] = [
        &[("X-A", "1"), ("X-B", "b")],
        &[("X-B", "c")],
        &[("X-C", "z"), ("X-A", "2"), ("X-Long", &long)],
        &[("X-C", "z"), ("X-A", "2"), ("X-Long", &long)],
        &[("X-A", "3")],
    ];
    for (i, headers) in requests.iter().enumerate() {
        let reply = get_with(&apache.url(&format!("/env/{i}?n={i}")), headers);
        assert_eq!(reply.status, 200, "{}", reply.text());
        let env = kv(&reply.text());
        assert_eq!(env["PATH_INFO"], format!("/{i}"));
        assert_eq!(env["QUERY_STRING"], format!("n={i}"));
        for name in ["X-A", "X-B", "X-C", "X-Long"] {
            let key = format!("HTTP_{}", name.to_uppercase().replace('-', "_"));
            let sent = headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
            assert_eq!(
                env.get(&key).map(String::as_str),
                sent,
                "request {i}: {key}"
            );
        }
    }
    // A latin-1 value, then one of the same length that differs only in that byte.
    for (value, shown) in [
        (&b"caf\xe9"[..], "café"),
        (b"cafe", "cafe"),
        (b"caf\xe9", "café"),
    ] {
        let mut request =
            b"GET /env/l HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-L: ".to_vec();
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n\r\n");
        let out = raw(apache.port(), &request, Duration::from_secs(10));
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains(&format!("\nHTTP_X_L={shown}\n")), "{text}");
    }
    apache.assert_log_clean(&[]);
}

#[test]
fn a_changed_script_is_loaded_again_in_the_daemon() {
    let stage = Stage::new(Mpm::Event);
    stage.write("reload/app.py", &script_with_body("version-1"));
    let apache = stage.start(
        "WSGIDaemonProcess one processes=1 threads=2\n\
         WSGIScriptAlias /r {root}/reload/app.py process-group=one application-group=app\n\
         WSGIScriptAlias /off {root}/reload/app.py process-group=one application-group=app\n\
         <Location /off>\n  WSGIScriptReloading Off\n</Location>\n",
    );
    for _ in 0..3 {
        assert_eq!(get(&apache.url("/r")).text(), "version-1");
    }
    // The daemon learns the script's mtime from the Apache child, which stat'ed it.
    rewrite(&apache.stage, "reload/app.py", "version-2");
    assert_eq!(get(&apache.url("/off")).text(), "version-1");
    for _ in 0..3 {
        assert_eq!(get(&apache.url("/r")).text(), "version-2");
    }
    apache.assert_log_clean(&[]);
}

/// WSGIErrorOverride On: an error status from the application gets Apache's error document
/// (here an ErrorDocument string) instead of the application's body; success is untouched,
/// and where the switch is Off the application's body stands.
#[test]
fn error_override_gives_apaches_error_document() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess eo processes=1 threads=2\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=eo\n\
         WSGIScriptAlias /own {root}/apps/daemon_ctl.py process-group=eo\n\
         <Location /ctl>\n  WSGIErrorOverride On\n</Location>\n\
         ErrorDocument 404 \"Apache's own 404\"\n",
    );
    let overridden = get(&apache.url("/ctl/status?code=404"));
    assert_eq!(overridden.status, 404);
    assert_eq!(overridden.text(), "Apache's own 404");
    let own = get(&apache.url("/own/status?code=404"));
    assert_eq!(own.status, 404);
    assert_eq!(own.text(), "the application's own error page\n");
    let fine = get(&apache.url("/ctl/pid"));
    assert_eq!(fine.status, 200);
    assert!(fine.text().starts_with("pid="), "{}", fine.text());
    apache.assert_log_clean(&[]);
}

/// How a request is routed and timed (its script, callable, process and application
/// group, reloading, activity) is the Apache child's configuration, carried to the daemon
/// typed: `mod_wsgi.*` names set with SetEnv, or from a request header with SetEnvIf, reach
/// the application's environ like any variable, never the routing.
#[test]
fn mod_wsgi_names_in_the_request_environment_cannot_reroute_or_retime_it() {
    let apache = Apache::start(
        Mpm::Event,
        "LoadModule setenvif_module /usr/lib/apache2/modules/mod_setenvif.so\n\
         WSGIDaemonProcess idle processes=1 threads=2 inactivity-timeout=2\n\
         WSGIScriptAlias /g {root}/apps/group_info.py process-group=idle application-group=real\n\
         WSGIScriptAlias /c {root}/apps/dir_callable.py process-group=idle application-group=real\n\
         WSGIScriptAlias /e {root}/apps/dir_callable.py\n\
         SetEnv mod_wsgi.application_group forged\n\
         SetEnv mod_wsgi.callable_object my_app\n\
         SetEnv mod_wsgi.process_group forged\n\
         SetEnv mod_wsgi.handler_script {root}/apps/daemon_ctl.py\n\
         SetEnv mod_wsgi.script_reloading 0\n\
         <Location /g>\n  SetEnv mod_wsgi.ignore_activity 1\n</Location>\n\
         SetEnvIf X-Forge 1 mod_wsgi.ignore_activity=1\n",
    );
    let forged = [("X-Forge", "1")];
    let group = kv(&get(&apache.url("/g")).text());
    assert_eq!(group["module"], "real", "{group:?}");
    assert_eq!(group["environ"], "real", "{group:?}");
    for path in ["/c", "/e"] {
        let called = kv(&get_with(&apache.url(path), &forged).text());
        assert_eq!(called["which"], "application", "{path}: {called:?}");
        assert_eq!(
            called["callable_object"], "application",
            "{path}: {called:?}"
        );
    }
    // Requests keep coming, so inactivity-timeout (2 s) never fires, whatever the
    // request environment says about activity.
    let first: u32 = group["pid"].parse().unwrap();
    let start = Instant::now();
    let mut served = 0;
    while start.elapsed() < Duration::from_secs(6) {
        let g = kv(&get(&apache.url("/g")).text());
        assert_eq!(
            g["pid"].parse::<u32>().unwrap(),
            first,
            "after {served} requests"
        );
        let c = get_with(&apache.url("/c"), &forged);
        assert_eq!(c.status, 200);
        served += 2;
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = apache.error_log();
    assert!(!log.contains("inactivity-timeout"), "{log}");
}

/// WSGIIgnoreActivity On: requests to the location do not keep inactivity-timeout from
/// recycling the daemon.
#[test]
fn ignored_requests_do_not_hold_off_inactivity_timeout() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess idle processes=1 threads=2 inactivity-timeout=2\n\
         WSGIScriptAlias /health {root}/apps/daemon_ctl.py process-group=idle\n\
         <Location /health>\n  WSGIIgnoreActivity On\n</Location>\n",
    );
    let first = pid_of(&get(&apache.url("/health/pid")));
    // Ask only the ignored location, steadily, until another daemon answers.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut now = first;
    while now == first && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        now = pid_of(&get(&apache.url("/health/pid")));
    }
    assert_ne!(now, first, "the daemon was never recycled");
    apache.assert_log("recycles (inactivity-timeout)");
}
