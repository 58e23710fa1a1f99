//! Application groups through a real Apache: every form of WSGIApplicationGroup and
//! application-group= names the group the request runs in, in embedded and daemon mode; a
//! process runs its one group in the main interpreter, and every further group in a
//! sub-interpreter of its own.

mod harness;

use harness::*;

/// Starts Apache with `snippet`, asks `path` for its group_info.py answer.
fn info(apache: &Apache, path: &str) -> std::collections::BTreeMap<String, String> {
    let reply = get(&apache.url(path));
    assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    kv(&reply.text())
}

#[test]
fn every_form_names_the_group_in_embedded_mode() {
    let port_probe = |apache: &Apache| apache.port();
    for (value, expected) in [
        ("%{GLOBAL}", "".to_owned()),
        ("site1", "site1".to_owned()),
        ("%{SERVER}", "localhost:{port}".to_owned()),
        ("%{RESOURCE}", "localhost:{port}|/app".to_owned()),
    ] {
        let apache = Apache::start(
            Mpm::Event,
            &format!(
                "WSGIScriptAlias /app {{root}}/apps/group_info.py\nWSGIApplicationGroup {value}\n"
            ),
        );
        let expected = expected.replace("{port}", &port_probe(&apache).to_string());
        let got = info(&apache, "/app/x");
        assert_eq!(got["environ"], expected, "{value}");
        // The only group of the process: it runs in the main interpreter, which names it.
        assert_eq!(got["module"], expected, "{value}");
        assert_eq!(got["main"], "True", "{value}");
        apache.assert_log_clean(&[]);
    }
}

#[test]
fn application_group_option_and_env_forms() {
    let apache = Apache::start(
        Mpm::Prefork,
        "WSGIScriptAlias /opt {root}/apps/group_info.py application-group=%{RESOURCE}\n",
    );
    let port = apache.port();
    let got = info(&apache, "/opt");
    assert_eq!(got["environ"], format!("localhost:{port}|/opt"));
    assert_eq!(got["module"], format!("localhost:{port}|/opt"));
    apache.assert_log_clean(&[]);

    let apache = Apache::start(
        Mpm::Prefork,
        "WSGIScriptAlias /env {root}/apps/group_info.py\n\
         WSGIApplicationGroup %{ENV:RWSGI_GROUP}\n\
         SetEnv RWSGI_GROUP %{SERVER}\n",
    );
    let port = apache.port();
    assert_eq!(
        info(&apache, "/env")["environ"],
        format!("localhost:{port}")
    );
    apache.assert_log_clean(&[]);
}

/// Two applications that collide in one interpreter (same module name from their own
/// directories, the same `os.environ.setdefault` key), mounted in one process.
fn two_apps(process: &str) -> String {
    format!(
        "WSGIScriptAlias /one {{root}}/apps/isolation/one/wsgi.py{process}\n\
         WSGIScriptAlias /two {{root}}/apps/isolation/two/wsgi.py{process}\n"
    )
}

/// Asks each mount twice (in turn) and checks that each sees only its own module and
/// environment, in an interpreter of its own, named after its %{RESOURCE} group.
fn assert_isolated(apache: &Apache) {
    let port = apache.port();
    let mut seen = Vec::new();
    for _ in 0..2 {
        for app in ["one", "two"] {
            let got = info(apache, &format!("/{app}"));
            assert_eq!(got["module"], app, "{got:?}");
            assert_eq!(got["env"], app, "{got:?}");
            assert_eq!(got["group"], format!("localhost:{port}|/{app}"), "{got:?}");
            seen.push((app, got["pid"].clone(), got["interpreter"].clone()));
        }
    }
    // Within one process, the two applications never share an interpreter.
    for (a, pid_a, interp_a) in &seen {
        for (b, pid_b, interp_b) in &seen {
            if a != b && pid_a == pid_b {
                assert_ne!(interp_a, interp_b, "{seen:?}");
            }
        }
    }
    apache.assert_log_clean(&[]);
}

#[test]
fn two_applications_in_one_embedded_process_are_isolated() {
    for mpm in [Mpm::Event, Mpm::Prefork] {
        let mut apache = Apache::start(mpm, &two_apps(""));
        assert_isolated(&apache);
        // At exit each interpreter is ended in turn: the sub-interpreter's atexit handlers
        // run, then the main one's, and nothing crashes.
        apache.stop();
        let log = apache.error_log();
        for app in ["one", "two"] {
            let ran = log.contains(&format!("isolation app {app}: atexit"));
            // Python 3.12 cannot finalise the main interpreter after ending own-GIL
            // sub-interpreters (RWSGI_TEST_OWN_GIL): it says so instead.
            assert!(
                ran || log.contains("Python 3.12 cannot finalise"),
                "{mpm:?}: {log}"
            );
        }
        for bad in [
            "Fatal Python error",
            "exit signal",
            "RW0121",
            "was still",
            "Traceback",
        ] {
            assert!(!log.contains(bad), "{mpm:?}: {bad}: {log}");
        }
    }
}

#[test]
fn two_applications_in_one_daemon_process_are_isolated() {
    let apache = Apache::start(
        Mpm::Event,
        &format!(
            "WSGIDaemonProcess one processes=1 threads=4\n{}",
            two_apps(" process-group=one")
        ),
    );
    assert_isolated(&apache);
}

const TWO_GROUPS: &str = "
WSGIDaemonProcess one processes=1 threads=2
WSGIScriptAlias /a {root}/apps/group_info.py process-group=one application-group=alpha
WSGIScriptAlias /b {root}/apps/group_info2.py process-group=one application-group=beta
WSGIScriptAlias /c {root}/apps/group_info.py process-group=one application-group=alpha
";

#[test]
fn a_named_group_shared_by_two_mounts_shares_one_interpreter() {
    let apache = Apache::start(Mpm::Event, TWO_GROUPS);
    let first = info(&apache, "/a");
    assert_eq!(first["environ"], "alpha");
    assert_eq!(first["module"], "alpha");
    // Another group in the same (only) daemon process: its own sub-interpreter.
    let beta = info(&apache, "/b");
    assert_eq!(beta["environ"], "beta");
    assert_eq!(beta["module"], "beta");
    assert_eq!(beta["pid"], first["pid"]);
    assert_ne!(beta["interpreter"], first["interpreter"]);
    assert_eq!(
        (first["main"].as_str(), beta["main"].as_str()),
        ("True", "False")
    );
    // A second mount of the first group shares its interpreter.
    let again = info(&apache, "/c");
    assert_eq!(again["module"], "alpha");
    assert_eq!(again["pid"], first["pid"]);
    assert_eq!(again["interpreter"], first["interpreter"]);
    apache.assert_log_clean(&[]);
}

#[test]
fn an_import_script_runs_in_its_groups_interpreter() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess one processes=1 threads=2\n\
         WSGIImportScript {root}/apps/dir_preload.py process-group=one application-group=alpha\n\
         WSGIScriptAlias /b {root}/apps/group_info2.py process-group=one application-group=beta\n\
         WSGIScriptAlias /a {root}/apps/group_info.py process-group=one application-group=alpha\n",
    );
    // The import ran at start for 'alpha', which took the main interpreter: 'beta', even
    // asked first, gets a sub-interpreter.
    let beta = info(&apache, "/b");
    assert_eq!(beta["module"], "beta");
    let alpha = info(&apache, "/a");
    assert_eq!(alpha["module"], "alpha");
    assert_eq!(alpha["pid"], beta["pid"]);
    assert_ne!(alpha["interpreter"], beta["interpreter"]);
    apache.assert_log_clean(&[]);
}

#[test]
fn groups_in_their_own_daemon_processes_each_run_in_a_main_interpreter() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess one processes=1 threads=2\n\
         WSGIDaemonProcess two processes=1 threads=2\n\
         WSGIScriptAlias /a {root}/apps/group_info.py process-group=one application-group=%{RESOURCE}\n\
         WSGIScriptAlias /b {root}/apps/group_info2.py process-group=two application-group=%{RESOURCE}\n",
    );
    let port = apache.port();
    let a = info(&apache, "/a");
    let b = info(&apache, "/b");
    assert_eq!(a["module"], format!("localhost:{port}|/a"));
    assert_eq!(b["module"], format!("localhost:{port}|/b"));
    assert_ne!(a["pid"], b["pid"]);
    assert_eq!((a["main"].as_str(), b["main"].as_str()), ("True", "True"));
    apache.assert_log_clean(&[]);
}

#[test]
fn configuration_accepts_every_form_and_refuses_what_cannot_work() {
    for snippet in [
        "WSGIApplicationGroup %{SERVER}\n",
        "WSGIApplicationGroup %{RESOURCE}\n",
        "WSGIApplicationGroup shop\n",
        "WSGIScriptAlias /x {root}/apps/group_info.py application-group=%{RESOURCE}\n",
        "WSGIHandlerScript my-handler {root}/apps/dir_handler.py application-group=shop\n",
        "WSGIImportScript {root}/apps/dir_preload.py process-group=%{GLOBAL} application-group=shop\n",
    ] {
        let stage = Stage::new(Mpm::Event);
        let out = stage.config_test(snippet);
        assert!(out.status.success(), "{snippet}: {}", output_text(&out));
    }
    let text = config_error(
        "WSGIImportScript {root}/apps/dir_preload.py process-group=%{GLOBAL} application-group=%{RESOURCE}\n",
    );
    assert_mentions(&text, &["WSGIImportScript", "%{RESOURCE}", "request"]);
    let text = config_error("WSGIProcessGroup %{SERVER}\n");
    assert_mentions(&text, &["WSGIProcessGroup", "not a process group"]);
}

/// Installs cryptography (built with pyo3, which refuses a second interpreter) from PyPI
/// into `{root}/site` for Apache's Python.
fn install_pyo3_package(stage: &Stage) {
    let site = stage.root().join("site");
    let out = std::process::Command::new(test_python())
        .args(["-m", "pip", "install", "-q", "--no-deps", "--target"])
        .arg(&site)
        .args(["cryptography", "cffi"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pip install cryptography (PyPI must be reachable): {}",
        output_text(&out)
    );
    chmod_world_readable(&site);
}

#[test]
fn c_extensions_load_in_global_and_a_pyo3_package_refusing_a_sub_interpreter_is_explained() {
    let stage = Stage::new(Mpm::Event);
    if is_free_threaded(&test_python()) {
        // cryptography has no wheels for free-threaded Pythons, and the pyo3 packages that
        // do (rpds-py) break in a second interpreter with a TypeError instead of refusing:
        // the standard library's extensions alone, in both kinds of interpreter.
        let apache = stage.start(
            "WSGIScriptAlias /sub {root}/apps/extensions.py\n\
             WSGIScriptAlias /global {root}/apps/extensions.py application-group=%{GLOBAL}\n",
        );
        for path in ["/global", "/sub"] {
            let reply = get(&apache.url(path));
            assert_eq!(reply.status, 200, "{path}: {}", reply.text());
            assert!(
                reply
                    .text()
                    .starts_with("decimal=3.0 sqlite=42 ssl=OpenSSL pyo3=none"),
                "{path}: {}",
                reply.text()
            );
        }
        return;
    }
    install_pyo3_package(&stage);
    let apache = stage.start(
        "WSGIPythonPath {root}/site\n\
         WSGIScriptAlias /sub {root}/apps/extensions.py\n\
         WSGIScriptAlias /global {root}/apps/extensions.py application-group=%{GLOBAL}\n",
    );
    // The extensions load in the main interpreter (%{GLOBAL}).
    let reply = get(&apache.url("/global"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        reply
            .text()
            .starts_with("decimal=3.0 sqlite=42 ssl=OpenSSL pyo3=cryptography:"),
        "{}",
        reply.text()
    );
    // The default group is a sub-interpreter in this process, where pyo3's module refuses
    // to load a second time: a 500 and a log line naming the package and the fix.
    let reply = get(&apache.url("/sub"));
    assert_eq!(reply.status, 500, "{}", reply.text());
    let log = apache.wait_for_log("RW0119");
    let line = log.lines().find(|l| l.contains("RW0119")).unwrap();
    assert_mentions(line, &["|/sub'", "%{GLOBAL}", "WSGIDaemonProcess"]);
    // cryptography; with their own GIL (RWSGI_TEST_OWN_GIL), the first single-phase
    // module of the standard library may refuse first.
    assert!(
        ["'cryptography'", "'_decimal'", "'_sqlite3'", "'_ssl'"]
            .iter()
            .any(|p| line.contains(p)),
        "{line}"
    );
    assert!(log.contains("ImportError"), "{log}");
    // The server keeps serving.
    assert_eq!(get(&apache.url("/global")).status, 200);
}

/// The version of the Python under test, as (major, minor).
fn python_version() -> (u32, u32) {
    let out = std::process::Command::new(test_python())
        .args(["-c", "import sys; print('%d %d' % sys.version_info[:2])"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace().map(|p| p.parse().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

/// With `WSGIPerInterpreterGIL On` (Python 3.12+) a sub-interpreter is isolated as PEP
/// 684 requires: it refuses a single-phase C module, which a shared-GIL sub-interpreter
/// loads. On 3.11 the directive fails the configuration test instead.
#[test]
fn per_interpreter_gil_gives_sub_interpreters_their_own_gil() {
    let config = |gil: &str| {
        format!(
            "WSGIPerInterpreterGIL {gil}\n\
             WSGIScriptAlias /main {{root}}/apps/group_info.py application-group=%{{GLOBAL}}\n\
             WSGIScriptAlias /single {{root}}/apps/single_phase.py\n"
        )
    };
    if python_version() < (3, 12) {
        let text = config_error(&config("On"));
        assert_mentions(&text, &["WSGIPerInterpreterGIL", "Python 3.12"]);
        return;
    }
    let apache = Apache::start(Mpm::Event, &config("On"));
    assert_eq!(info(&apache, "/main")["module"], "");
    let reply = get(&apache.url("/single"));
    assert_eq!(reply.status, 500, "{}", reply.text());
    let log = apache.wait_for_log("RW0119");
    assert!(
        log.contains("runs in a new sub-interpreter with its own GIL"),
        "{log}"
    );
    let line = log.lines().find(|l| l.contains("RW0119")).unwrap();
    assert_mentions(line, &["'_testsinglephase'", "|/single'", "%{GLOBAL}"]);
    // The main interpreter keeps serving.
    assert_eq!(info(&apache, "/main")["module"], "");

    let apache = Apache::start(Mpm::Event, &config("Off"));
    let reply = get(&apache.url("/single"));
    if is_free_threaded(&test_python()) {
        // A free-threaded Python checks every sub-interpreter's extensions, shared GIL
        // or not.
        assert_eq!(reply.status, 500, "{}", reply.text());
        apache.wait_for_log("RW0119");
    } else {
        assert_eq!(reply.status, 200, "{}", reply.text());
        apache.assert_log_clean(&[]);
    }
}

/// The isolation app's answer for `Host: host` at /app.
fn info_for_host(apache: &Apache, host: &str) -> std::collections::BTreeMap<String, String> {
    let request = format!("GET /app HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    let out = raw(
        apache.port(),
        request.as_bytes(),
        std::time::Duration::from_secs(30),
    );
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(text.starts_with("HTTP/1.1 200"), "{host}: {text}");
    kv(text.split("\r\n\r\n").nth(1).unwrap_or_default())
}

/// %{SERVER}: two virtual hosts mounting their applications at the same path are two
/// groups (host:port, the port as the request names it), isolated in one process
/// (embedded and daemon).
#[test]
fn server_groups_of_two_virtual_hosts_are_isolated() {
    for process in ["", "  WSGIProcessGroup one\n"] {
        let vhost = |name: &str, app: &str| {
            format!(
                "<VirtualHost 127.0.0.1:*>\n  ServerName {name}\n\
                 \x20 WSGIScriptAlias /app {{root}}/apps/isolation/{app}/wsgi.py\n\
                 \x20 WSGIApplicationGroup %{{SERVER}}\n{process}</VirtualHost>\n"
            )
        };
        let apache = Apache::start(
            Mpm::Event,
            &format!(
                "WSGIDaemonProcess one processes=1 threads=4\n{}{}",
                vhost("alpha.test", "one"),
                vhost("beta.test", "two")
            ),
        );
        let port = apache.port();
        for _ in 0..2 {
            let alpha = info_for_host(&apache, &format!("alpha.test:{port}"));
            let beta = info_for_host(&apache, &format!("beta.test:{port}"));
            assert_eq!(alpha["group"], format!("alpha.test:{port}"), "{alpha:?}");
            assert_eq!(beta["group"], format!("beta.test:{port}"), "{beta:?}");
            assert_eq!(
                (alpha["module"].as_str(), alpha["env"].as_str()),
                ("one", "one")
            );
            assert_eq!(
                (beta["module"].as_str(), beta["env"].as_str()),
                ("two", "two")
            );
            if alpha["pid"] == beta["pid"] {
                assert_ne!(alpha["interpreter"], beta["interpreter"]);
            }
        }
        apache.assert_log_clean(&[]);
    }
}

/// request-timeout's interrupt reaches a request running in a sub-interpreter, with that
/// interpreter's `mod_wsgi.RequestTimeout`, and the process keeps serving.
#[test]
fn interrupt_timeout_reaches_a_sub_interpreter() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess it processes=1 threads=2 request-timeout=1 interrupt-timeout=5\n\
         WSGIScriptAlias /main {root}/apps/group_info.py process-group=it application-group=%{GLOBAL}\n\
         WSGIScriptAlias /ctl {root}/apps/daemon_ctl.py process-group=it\n",
    );
    let main = info(&apache, "/main");
    let before = get(&apache.url("/ctl/pid"));
    assert_eq!(before.status, 200);
    let spun = get(&apache.url("/ctl/spin?s=60"));
    assert_eq!(spun.status, 504);
    // The traceback's last line (RW0218's line names the exception too).
    let log = apache.wait_for_log("] mod_wsgi.RequestTimeout");
    assert!(log.contains("RW0118: application group"), "{log}");
    // The same process serves both groups on.
    assert_eq!(get(&apache.url("/ctl/pid")).text(), before.text());
    assert_eq!(info(&apache, "/main")["pid"], main["pid"]);
    assert!(!log.contains("recycles ("), "{log}");
}

/// A changed script is loaded again in its own group's interpreter (here a
/// sub-interpreter), and only there.
#[test]
fn scripts_reload_in_their_own_groups_interpreter() {
    let stage = Stage::new(Mpm::Event);
    stage.write("reload/a.py", &script_with_body("a-1"));
    stage.write("reload/b.py", &script_with_body("b-1"));
    let apache = stage.start(
        "WSGIDaemonProcess one processes=1 threads=2\n\
         WSGIScriptAlias /a {root}/reload/a.py process-group=one\n\
         WSGIScriptAlias /b {root}/reload/b.py process-group=one\n",
    );
    assert_eq!(get(&apache.url("/a")).text(), "a-1");
    assert_eq!(get(&apache.url("/b")).text(), "b-1");
    apache.wait_for_log("RW0118: application group");
    rewrite(&apache.stage, "reload/b.py", "b-2");
    assert_eq!(get(&apache.url("/b")).text(), "b-2");
    assert_eq!(get(&apache.url("/a")).text(), "a-1");
    rewrite(&apache.stage, "reload/a.py", "a-2");
    assert_eq!(get(&apache.url("/a")).text(), "a-2");
    assert_eq!(get(&apache.url("/b")).text(), "b-2");
    apache.assert_log_clean(&[]);
}

/// `%{GLOBAL}` keeps the main interpreter only in the processes it can run in: named with
/// `process-group=%{GLOBAL}` (Apache's children), it leaves a daemon group's one
/// application in that daemon's main interpreter.
#[test]
fn global_named_for_embedded_leaves_a_daemons_main_interpreter_alone() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess one processes=1 threads=2\n\
         WSGIScriptAlias /d {root}/apps/group_info.py process-group=one\n\
         WSGIScriptAlias /e {root}/apps/group_info2.py process-group=%{GLOBAL} application-group=%{GLOBAL}\n",
    );
    let port = apache.port();
    let daemon = info(&apache, "/d");
    assert_eq!(daemon["environ"], format!("localhost:{port}|/d"));
    assert_eq!(daemon["main"], "True", "{daemon:?}");
    let embedded = info(&apache, "/e");
    assert_eq!(embedded["environ"], "");
    assert_eq!(embedded["main"], "True", "{embedded:?}");
    assert_ne!(daemon["pid"], embedded["pid"]);
    apache.assert_log_clean(&[]);
}

/// A daemon thread an application left running in a sub-interpreter: at exit that
/// interpreter cannot be ended (Python would abort the process), so it is left to the
/// process's exit, and the child says so instead of crashing.
#[test]
fn a_daemon_thread_in_a_sub_interpreter_does_not_crash_the_exit() {
    let mut apache = Apache::start(
        Mpm::Event,
        "WSGIScriptAlias /main {root}/apps/group_info.py\n\
         WSGIScriptAlias /thread {root}/apps/daemon_thread.py\n",
    );
    let main = info(&apache, "/main");
    let reply = get(&apache.url("/thread"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(info(&apache, "/main")["pid"], main["pid"]);
    apache.stop();
    let log = apache.error_log();
    for bad in ["Fatal Python error", "exit signal"] {
        assert!(!log.contains(bad), "{bad}: {log}");
    }
    assert!(
        log.contains("was not ended: a thread the application started is still running in it"),
        "{log}"
    );
}
