//! Daemon groups exec'd into their own Python (docs/daemon.md "Launch styles"): groups on
//! the module's Python (forked), on another build of it (exec'd) and on other Python
//! versions, side by side in one Apache; what an exec'd daemon holds; and the
//! configuration check of a group's Python. The daemon suite itself runs exec'd too
//! (`RWSGI_TEST_LAUNCH=exec`, scripts/cargo-tests.sh).

mod harness;

use std::time::Duration;

use harness::daemon_runtime::{
    bare_venv, free_threaded_python, other_pythons, python_facts, runtime_venv,
};
use harness::*;

/// Answers `version|executable|pid|venv whose site-packages it imports from`.
const WHO: &str = r#"
import os, sys

def application(environ, start_response):
    try:
        import rwsgi_venv_marker
        venv = rwsgi_venv_marker.VENV
    except ImportError:
        venv = "-"
    body = "%s|%s|%d|%s" % (sys.version.split()[0], sys.executable, os.getpid(), venv)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
"#;

struct Who {
    version: String,
    executable: String,
    pid: u32,
    venv: String,
}

fn who(apache: &Apache, path: &str) -> Who {
    let reply = get(&apache.url(path));
    assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    let text = reply.text();
    let parts: Vec<&str> = text.split('|').collect();
    assert_eq!(parts.len(), 4, "{path}: {text}");
    Who {
        version: parts[0].to_owned(),
        executable: parts[1].to_owned(),
        pid: parts[2].parse().unwrap(),
        venv: parts[3].to_owned(),
    }
}

fn proc_text(pid: u32, what: &str) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/{what}")).unwrap()).into_owned()
}

/// The targets of a process's open descriptors.
fn open_files(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|p| p.display().to_string())
        .collect()
}

/// One Apache: a forked group on the module's Python, a group exec'd into another build
/// of it (Debian's static /usr/bin/python3.11 when that is the test Python), and one
/// group per other Python X.Y on this machine, each exec'd into its venv by `python-home=`
/// alone. Each answers with its own interpreter and its own venv's packages.
#[test]
fn groups_on_different_pythons_serve_side_by_side() {
    let python = test_python();
    let (linked, _) = python_facts(&python);
    let same = runtime_venv(&python);
    let others: Vec<(String, std::path::PathBuf)> = other_pythons()
        .iter()
        .map(|p| (python_facts(p).0, runtime_venv(p)))
        .collect();
    if others.is_empty() {
        eprintln!(
            "launch: no Python of another X.Y than {linked} is staged here (scripts/python/pythons.sh); only this Python's builds are tested side by side"
        );
    }
    let stage = Stage::new(Mpm::Event);
    stage.write("who.py", WHO);
    let mut conf = format!(
        "WSGIDaemonProcess forked launch=fork threads=2\n\
         WSGIScriptAlias /forked {{root}}/who.py process-group=forked application-group=%{{GLOBAL}}\n\
         WSGIDaemonProcess same python-executable={}/bin/python3 threads=2 display-name=%{{GROUP}}\n\
         WSGIScriptAlias /same {{root}}/who.py process-group=same application-group=%{{GLOBAL}}\n",
        same.display()
    );
    for (version, venv) in &others {
        let name = format!("py{}", version.replace('.', ""));
        conf += &format!(
            "WSGIDaemonProcess {name} python-home={} threads=2\n\
             WSGIScriptAlias /{name} {{root}}/who.py process-group={name} application-group=%{{GLOBAL}}\n",
            venv.display()
        );
    }
    let apache = stage.start(&conf);

    let forked = who(&apache, "/forked");
    assert!(
        forked.version.starts_with(&format!("{linked}.")),
        "{}",
        forked.version
    );
    let forked_maps = proc_text(forked.pid, "maps");
    assert!(
        forked_maps.contains("mod_rwsgi.so"),
        "a forked daemon runs in the module"
    );

    let exec = who(&apache, "/same");
    assert!(
        exec.version.starts_with(&format!("{linked}.")),
        "{}",
        exec.version
    );
    assert_eq!(exec.executable, format!("{}/bin/python3", same.display()));
    assert_eq!(exec.venv, same.display().to_string());
    // It runs the interpreter, not Apache: no module, no APR.
    let maps = proc_text(exec.pid, "maps");
    assert!(
        !maps.contains("mod_rwsgi.so"),
        "the exec'd daemon maps mod_rwsgi.so"
    );
    assert!(!maps.contains("libapr"), "the exec'd daemon maps APR");
    assert!(
        maps.contains("_daemon"),
        "the exec'd daemon runs rwsgi._daemon"
    );
    // Its title is display-name's; its settings and secret came on a descriptor it closed.
    assert_eq!(
        proc_text(exec.pid, "cmdline").trim_end_matches('\0'),
        "(wsgi:same)"
    );
    let files = open_files(exec.pid);
    assert!(
        !files.iter().any(|f| f.contains("rwsgi-daemon-spec")),
        "the settings' memfd is still open: {files:?}"
    );
    // Its environment is a forked daemon's: nothing was added to carry them. (HOME is set
    // for both, but /proc shows a forked process's environment as it was at its exec.)
    let forked_env = proc_text(forked.pid, "environ");
    let forked_env: std::collections::HashSet<&str> = forked_env.split('\0').collect();
    let exec_env = proc_text(exec.pid, "environ");
    let added: Vec<&str> = exec_env
        .split('\0')
        .filter(|e| !forked_env.contains(e) && !e.starts_with("HOME="))
        .collect();
    assert!(
        added.is_empty(),
        "the exec'd daemon's environment has more: {added:?}"
    );
    let log = apache.wait_for_log(&format!(
        "of group 'same' ready (2 threads, Python {} ({}/bin/python3))",
        exec.version,
        same.display()
    ));
    assert!(log.contains("RW0202"), "{log}");

    for (version, venv) in &others {
        let name = format!("py{}", version.replace('.', ""));
        let w = who(&apache, &format!("/{name}"));
        assert!(
            w.version.starts_with(&format!("{version}.")),
            "{name}: {}",
            w.version
        );
        assert_eq!(w.venv, venv.display().to_string(), "{name}");
        assert!(
            w.executable.starts_with(&venv.display().to_string()),
            "{name}: {}",
            w.executable
        );
    }
    // Requests keep reaching the same processes.
    assert_eq!(who(&apache, "/same").pid, exec.pid);
    assert_eq!(who(&apache, "/forked").pid, forked.pid);
}

/// A group's Python is tried at `apache2 -t` as the daemons' user: one without rwsgi's
/// runtime is named with the pip command that installs it; one that does not exist or that
/// the daemons' user cannot run is named too. Nothing starts to crash-loop.
#[test]
fn a_python_that_cannot_run_the_daemon_fails_the_config_test() {
    let python = test_python();
    let bare = bare_venv(&python);
    let stage = Stage::new(Mpm::Event);
    let out = stage.config_test(&format!(
        "WSGIDaemonProcess site launch=exec python-home={}\n",
        bare.display()
    ));
    let text = output_text(&out);
    assert!(!out.status.success(), "passed apache2 -t: {text}");
    assert_mentions(
        &text,
        &[
            "RW0224: WSGIDaemonProcess site:",
            &format!("{}/bin/python3 (Python", bare.display()),
            "cannot import rwsgi's daemon runtime",
            &format!("{}/bin/python3 -m pip install rwsgi==", bare.display()),
        ],
    );

    let out = stage.config_test("WSGIDaemonProcess site python-executable=/nonexistent/python3\n");
    let text = output_text(&out);
    assert!(!out.status.success(), "passed apache2 -t: {text}");
    assert_mentions(&text, &["cannot execute python /nonexistent/python3"]);

    let out = stage.config_test("WSGIDaemonProcess site python-executable=bin/python3\n");
    assert_mentions(&output_text(&out), &["must be an absolute path"]);
    let out = stage.config_test("WSGIDaemonProcess site launch=exec\n");
    assert_mentions(
        &output_text(&out),
        &["launch=exec needs the Python to exec"],
    );
    let out = stage
        .config_test("WSGIDaemonProcess site launch=fork python-executable=/usr/bin/python3\n");
    assert_mentions(
        &output_text(&out),
        &["python-executable= needs launch=exec or auto"],
    );

    if is_root() {
        // A runtime venv behind a directory only root can enter: www-data cannot run it.
        let venv = runtime_venv(&python);
        let private = stage.root().join("private");
        std::fs::create_dir(&private).unwrap();
        std::os::unix::fs::symlink(&venv, private.join("venv")).unwrap();
        std::fs::set_permissions(
            &private,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let out = stage.config_test(&format!(
            "WSGIDaemonProcess site python-executable={}/venv/bin/python3\n",
            private.display()
        ));
        let text = output_text(&out);
        assert!(!out.status.success(), "passed apache2 -t: {text}");
        assert_mentions(
            &text,
            &[
                &format!(
                    "cannot execute python {}/venv/bin/python3 as www-data",
                    private.display()
                ),
                "Permission denied",
            ],
        );
        // The same directory open to group `daemon` only: a group whose daemons run with
        // that group (group=, or supplementary-groups=) passes, as its daemons would run.
        let status = std::process::Command::new("chgrp")
            .arg("daemon")
            .arg(&private)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::set_permissions(
            &private,
            std::os::unix::fs::PermissionsExt::from_mode(0o750),
        )
        .unwrap();
        for options in ["group=daemon", "supplementary-groups=daemon"] {
            let out = stage.config_test(&format!(
                "WSGIDaemonProcess site {options} python-executable={}/venv/bin/python3\n",
                private.display()
            ));
            assert!(out.status.success(), "{options}: {}", output_text(&out));
        }
    }
}

/// A group exec'd into a free-threaded Python (3.13t) under a module built with a GIL:
/// `WSGIFreeThreading On` in a section for that group runs its daemons without the GIL;
/// Off (the default) keeps it there, as mod_wsgi does. On for a group whose Python has a
/// GIL fails `apache2 -t`, naming the group and the fix.
#[test]
fn a_group_exec_d_into_a_free_threaded_python_runs_without_its_gil() {
    let Some(free_threaded) = free_threaded_python() else {
        eprintln!(
            "launch: no free-threaded Python is staged here (scripts/python/pythons.sh builds 3.13t); not tested"
        );
        return;
    };
    let venv = runtime_venv(&free_threaded);
    let apache = Apache::start(
        Mpm::Event,
        &format!(
            "WSGIDaemonProcess ft python-executable={venv}/bin/python3 threads=2\n\
             WSGIDaemonProcess ftgil python-executable={venv}/bin/python3\n\
             <WSGIInterpreterOptions process-group=ft>\n\
             WSGIFreeThreading On\n\
             </WSGIInterpreterOptions>\n\
             WSGIScriptAlias /ft {{root}}/apps/gil_state.py process-group=ft application-group=%{{GLOBAL}}\n\
             WSGIScriptAlias /sub {{root}}/apps/gil_state.py process-group=ft\n\
             WSGIScriptAlias /ftgil {{root}}/apps/gil_state.py process-group=ftgil application-group=%{{GLOBAL}}\n",
            venv = venv.display()
        ),
    );
    let state = |path: &str| gil_state(&apache, path);
    assert_eq!(state("/ft"), "python=False event=False metrics=False");
    assert_eq!(state("/sub"), "python=False event=False metrics=False");
    assert_eq!(state("/ftgil"), "python=True event=True metrics=True");
    apache.assert_log_clean(&[]);

    if !is_free_threaded(&test_python()) {
        let gil_venv = runtime_venv(&test_python());
        let out = Stage::new(Mpm::Event).config_test(&format!(
            "WSGIDaemonProcess site python-executable={}/bin/python3\n\
             <WSGIInterpreterOptions process-group=site>\nWSGIFreeThreading On\n</WSGIInterpreterOptions>\n",
            gil_venv.display()
        ));
        let text = output_text(&out);
        assert!(!out.status.success(), "passed apache2 -t: {text}");
        assert_mentions(
            &text,
            &[
                "WSGIFreeThreading On applies to daemon group site",
                &format!("{}/bin/python3", gil_venv.display()),
                "built with a GIL",
            ],
        );
    }
}

/// `server-metrics=On` in a group exec'd into its own Python: the daemon does not map
/// Apache's scoreboard, so each `mod_wsgi.server_metrics()` call asks the supervisor, which
/// does, and gets the live one.
#[test]
fn an_exec_d_daemon_gets_apaches_scoreboard_from_its_supervisor() {
    let venv = runtime_venv(&test_python());
    let apache = Apache::start(
        Mpm::Event,
        &format!(
            "ExtendedStatus On\n\
             WSGIDaemonProcess m threads=2 server-metrics=On python-executable={}/bin/python3\n\
             WSGIScriptAlias /m {{root}}/apps/metrics.py process-group=m\n",
            venv.display()
        ),
    );
    // One channel, many round trips.
    for _ in 0..3 {
        let reply = get(&apache.url("/m"));
        assert_eq!(reply.status, 200, "{}", reply.text());
        let m = kv(&reply.text());
        assert_eq!(m["enabled"], "True", "{m:?}");
        let daemon: u32 = m["pid"].parse().unwrap();
        let exe = std::fs::read_link(format!("/proc/{daemon}/exe")).unwrap();
        assert!(
            exe.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("python"),
            "not exec'd: {} {m:?}",
            exe.display()
        );
        // The harness's event MPM: ServerLimit 2, ThreadLimit 25.
        assert_eq!(m["limits"], "2,25", "{m:?}");
        let children: Vec<&str> = m["children"].split_whitespace().collect();
        assert!(!children.is_empty(), "{m:?}");
        for child in children {
            let (pid, generation) = child.split_once(':').unwrap();
            assert_eq!(generation, m["running_generation"], "{m:?}");
            let ppid = proc_text(pid.parse().unwrap(), "status")
                .lines()
                .find_map(|l| l.strip_prefix("PPid:").map(|p| p.trim().to_owned()));
            assert_eq!(
                ppid,
                Some(apache.pid().to_string()),
                "scoreboard pid {pid} is not an Apache child: {m:?}"
            );
        }
        // The Apache worker relaying this very request is busy writing it.
        assert!(m["writing"].contains("GET /m HTTP/1.1"), "{m:?}");
    }
    apache.assert_log_clean(&[]);
}

/// A daemon that recycles keeps its channel while it finishes its requests, beside its
/// replacement's.
#[test]
fn a_recycling_exec_d_daemon_still_gets_the_scoreboard() {
    let venv = runtime_venv(&test_python());
    let stage = Stage::new(Mpm::Event);
    stage.write(
        "late.py",
        r#"
import os, time
import mod_wsgi

def application(environ, start_response):
    time.sleep(float(environ.get("QUERY_STRING") or 0))
    body = ("%d|%s" % (os.getpid(), mod_wsgi.server_metrics() is not None)).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
"#,
    );
    let apache = stage.start(&format!(
        "WSGIDaemonProcess r threads=2 maximum-requests=1 server-metrics=On python-executable={}/bin/python3\n\
         WSGIScriptAlias /r {{root}}/late.py process-group=r\n",
        venv.display()
    ));
    // The first request is its daemon's last: the daemon recycles as it starts, and asks
    // for the scoreboard a second later, while its replacement already serves.
    let url = apache.url("/r?1");
    let late = std::thread::spawn(move || get(&url));
    std::thread::sleep(Duration::from_millis(300));
    let replacement = get(&apache.url("/r"));
    assert!(!late.is_finished(), "the late request ended first");
    let late = late.join().unwrap();
    let (old, new) = (late.text(), replacement.text());
    let (old_pid, old_enabled) = old.split_once('|').unwrap();
    let (new_pid, new_enabled) = new.split_once('|').unwrap();
    assert_ne!(old_pid, new_pid, "{old} {new}");
    assert_eq!((old_enabled, new_enabled), ("True", "True"), "{old} {new}");
    apache.assert_log_clean(&[]);
}

/// A runtime removed after the configuration check (a venv rebuilt without rwsgi): the
/// exec'd daemon cannot import it, says so with the fix, and exits as a daemon that cannot
/// start, so the supervisor backs off instead of restarting it at once.
#[test]
fn a_runtime_removed_after_the_check_is_named_and_backed_off() {
    let stage = Stage::new(Mpm::Event);
    stage.write("who.py", WHO);
    let venv = stage.root().join("venv");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(runtime_venv(&test_python()))
        .arg(&venv)
        .status()
        .unwrap();
    assert!(copied.success());
    let apache = stage.start(&format!(
        "WSGIDaemonProcess g python-executable={}/bin/python3 threads=2\n\
         WSGIScriptAlias /who {{root}}/who.py process-group=g\n",
        venv.display()
    ));
    let first = who(&apache, "/who");
    let (version, _) = python_facts(&test_python());
    let package = venv.join(format!("lib/python{version}/site-packages/rwsgi"));
    for entry in std::fs::read_dir(&package).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with("_daemon") {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &first.pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let log = apache.wait_for_log("exit status 78: it could not start");
    assert_mentions(
        &log,
        &[
            &format!(
                "{}/bin/python3 cannot import rwsgi's daemon runtime",
                venv.display()
            ),
            "-m pip install rwsgi installs it",
            // RW0204 names the Python the group is exec'd into.
            &format!("(exec'd into {}/bin/python3)", venv.display()),
        ],
    );
}

/// An exec'd daemon writes its lines as Apache writes a forked daemon's: in the main
/// server's `ErrorLogFormat` (time, level, module, an empty request field as `-`, pid,
/// ServerName, the message escaped as Apache escapes it). Compared with the forked group's
/// lines, which Apache itself formats, with the digits masked (times and pids differ).
#[test]
fn an_exec_d_daemon_logs_in_the_main_servers_format() {
    let venv = runtime_venv(&test_python());
    let stage = Stage::new(Mpm::Event);
    stage.write(
        "say.py",
        "def application(environ, start_response):\n\
         \x20   environ['wsgi.errors'].write('said by %s: \\u00fc\\tq\\n' % environ['mod_wsgi.process_group'])\n\
         \x20   start_response('200 OK', [])\n\
         \x20   return [b'ok']\n",
    );
    let apache = stage.start(&format!(
        "ErrorLogFormat \"%{{cu}}t|%l|%m|%-{{Referer}}i|[pid\\ %P:%{{g}}T]|%v|%M% |%7F\"\n\
         WSGIDaemonProcess forked launch=fork threads=2\n\
         WSGIDaemonProcess execd threads=2 python-executable={}/bin/python3\n\
         WSGIScriptAlias /forked {{root}}/say.py process-group=forked\n\
         WSGIScriptAlias /execd {{root}}/say.py process-group=execd\n",
        venv.display()
    ));
    for group in ["forked", "execd"] {
        assert_eq!(get(&apache.url(&format!("/{group}"))).status, 200);
    }
    apache.wait_for_log("said by forked");
    let log = apache.wait_for_log("said by execd");
    let line = |needle: &str| {
        log.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle}:\n{log}"))
            .to_owned()
    };
    let masked = |l: &str| -> String {
        l.chars()
            .map(|c| if c.is_ascii_digit() { '0' } else { c })
            .collect()
    };
    for (forked, execd) in [
        (
            line("of group 'forked' ready"),
            line("of group 'execd' ready"),
        ),
        (line("said by forked"), line("said by execd")),
    ] {
        let prefix = |l: &str| masked(l.split_once("|RW").or(l.split_once("|said")).unwrap().0);
        assert_eq!(prefix(&forked), prefix(&execd), "\n{forked}\n{execd}");
        // The escaped space keeps `[pid N:T]` one field; `|%7F` is dropped below debug.
        assert!(execd.contains("|wsgi|-|[pid "), "{execd}");
        assert!(execd.contains("]|localhost|"), "{execd}");
    }
    assert!(
        line("said by execd").ends_with("|said by execd: \\xc3\\xbc\\tq"),
        "{}",
        line("said by execd")
    );
    assert!(
        line("said by forked").ends_with("|said by forked: \\xc3\\xbc\\tq"),
        "{}",
        line("said by forked")
    );
}

/// `ErrorLog syslog:local3:rwsgi-test`: Apache points its stderr at /dev/null, so an exec'd
/// daemon sends its lines to syslog itself, as Apache does for a forked one: the same
/// facility and tag, the same line. The test is the machine's syslog for its length: it
/// binds /dev/log, so it runs where nothing else does (it says so when skipped).
#[test]
fn an_exec_d_daemon_logs_to_syslog_as_apache_does() {
    use std::os::unix::net::UnixDatagram;
    let path = std::path::Path::new("/dev/log");
    if !is_root() || path.exists() {
        eprintln!(
            "launch: syslog test skipped: it needs root and a machine without a syslog daemon (/dev/log exists or cannot be made)"
        );
        return;
    }
    let Ok(receiver) = UnixDatagram::bind(path) else {
        eprintln!("launch: syslog test skipped: /dev/log cannot be bound");
        return;
    };
    /// Removes /dev/log however the test ends.
    struct Unbind;
    impl Drop for Unbind {
        fn drop(&mut self) {
            let _ = std::fs::remove_file("/dev/log");
        }
    }
    let _unbind = Unbind;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    receiver
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let venv = runtime_venv(&test_python());
    let stage = Stage::new(Mpm::Event);
    stage.write("who.py", WHO);
    let apache = stage.start(&format!(
        "ErrorLog syslog:local3:rwsgi-test\n\
         WSGIDaemonProcess forked launch=fork threads=2\n\
         WSGIDaemonProcess execd threads=2 python-executable={}/bin/python3\n\
         WSGIScriptAlias /forked {{root}}/who.py process-group=forked\n\
         WSGIScriptAlias /execd {{root}}/who.py process-group=execd\n",
        venv.display()
    ));
    assert_eq!(get(&apache.url("/forked")).status, 200);
    assert_eq!(get(&apache.url("/execd")).status, 200);
    let mut lines = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let seen = |lines: &[String], group: &str| {
        lines
            .iter()
            .any(|l| l.contains(&format!("of group '{group}' ready")))
    };
    while !(seen(&lines, "forked") && seen(&lines, "execd")) && std::time::Instant::now() < deadline
    {
        let mut buf = [0u8; 8192];
        if let Ok(n) = receiver.recv(&mut buf) {
            lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    drop(apache);
    let line = |needle: &str| {
        lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle}:\n{}", lines.join("\n")))
            .clone()
    };
    let forked = line("of group 'forked' ready");
    let execd = line("of group 'execd' ready");
    // `<158>` is local3 (19) and info (6); then syslog's time, `rwsgi-test[pid]: `, the line.
    for l in [&forked, &execd] {
        assert!(l.starts_with("<158>"), "{l}");
        assert!(l.contains(" rwsgi-test["), "{l}");
        assert!(l.contains("]: [wsgi:info] [pid "), "{l}");
    }
    let tail = |l: &str| -> String {
        let from = l.find("rwsgi-test[").unwrap();
        let to = l.find("RW0202").unwrap();
        l[from..to]
            .chars()
            .map(|c| if c.is_ascii_digit() { '0' } else { c })
            .collect()
    };
    assert_eq!(tail(&forked), tail(&execd), "\n{forked}\n{execd}");
}
