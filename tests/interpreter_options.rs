//! Interpreter switches through a real Apache: WSGIRestrictStdin, WSGIRestrictStdout,
//! WSGICaseSensitivity, WSGIPassApacheRequest.

mod harness;

use harness::*;

fn streams(apache: &Apache, path: &str) -> std::collections::BTreeMap<String, String> {
    let reply = get(&apache.url(path));
    assert_eq!(reply.status, 200, "{}", reply.text());
    kv(&reply.text())
}

#[test]
fn stdin_and_stdout_are_free_by_default_and_restricted_on_request() {
    let apache = Apache::start(Mpm::Event, "WSGIScriptAlias /s {root}/apps/streams.py\n");
    let got = streams(&apache, "/s");
    assert_eq!(
        (got["stdin"].as_str(), got["stdout"].as_str()),
        ("ok", "ok")
    );
    // Off (the default): print() goes to the error log.
    apache.wait_for_log("printed by streams.py");

    let apache = Apache::start(
        Mpm::Event,
        "WSGIRestrictStdin On\nWSGIRestrictStdout On\nWSGIScriptAlias /s {root}/apps/streams.py\n",
    );
    let got = streams(&apache, "/s");
    assert_mentions(
        &got["stdin"],
        &[
            "OSError: sys.stdin access restricted by mod_wsgi",
            "WSGIRestrictStdin On",
            "wsgi.input",
        ],
    );
    assert_mentions(
        &got["stdout"],
        &[
            "OSError: sys.stdout access restricted by mod_wsgi",
            "WSGIRestrictStdout On",
        ],
    );
    assert!(!apache.error_log().contains("printed by streams.py"));
}

/// The script module's name, as mod_wsgi makes it: `_mod_wsgi_` and the MD5 of the path,
/// lower-cased first when `lower`.
fn module_name(path: &str, lower: bool) -> String {
    let path = if lower {
        path.to_lowercase()
    } else {
        path.to_owned()
    };
    let out = std::process::Command::new(test_python())
        .args([
            "-c",
            "import hashlib, sys; print(hashlib.md5(sys.argv[1].encode()).hexdigest())",
            &path,
        ])
        .output()
        .unwrap();
    format!("_mod_wsgi_{}", String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn case_sensitivity_off_lower_cases_the_script_path_for_its_module() {
    let stage = Stage::new(Mpm::Event);
    stage.write(
        "Mixed/Streams.py",
        &std::fs::read_to_string(apps_source().join("streams.py")).unwrap(),
    );
    let path = stage.root().join("Mixed/Streams.py").display().to_string();
    let apache = stage.start("WSGIScriptAlias /s {root}/Mixed/Streams.py\n");
    assert_eq!(streams(&apache, "/s")["module"], module_name(&path, false));

    let stage = Stage::new(Mpm::Event);
    stage.write(
        "Mixed/Streams.py",
        &std::fs::read_to_string(apps_source().join("streams.py")).unwrap(),
    );
    let path = stage.root().join("Mixed/Streams.py").display().to_string();
    let apache =
        stage.start("WSGICaseSensitivity Off\nWSGIScriptAlias /s {root}/Mixed/Streams.py\n");
    assert_eq!(streams(&apache, "/s")["module"], module_name(&path, true));
}

#[test]
fn the_switches_take_on_or_off() {
    for d in [
        "WSGIRestrictStdin",
        "WSGIRestrictStdout",
        "WSGICaseSensitivity",
    ] {
        let text = config_error(&format!("{d} Maybe\n"));
        assert_mentions(&text, &[d]);
    }
}

/// WSGIPassApacheRequest On (embedded): `apache.request_rec`, a capsule pointing at the
/// request being served; absent by default.
#[test]
fn pass_apache_request_puts_the_request_rec_in_the_environ() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIScriptAlias /rec {root}/apps/request_rec.py\n\
         WSGIScriptAlias /none {root}/apps/request_rec.py\n\
         <Location /rec>\n  WSGIPassApacheRequest On\n</Location>\n",
    );
    let got = kv(&get(&apache.url("/rec?x=1")).text());
    assert_eq!(got["capsule"], "apache.request_rec");
    assert_eq!(got["the_request"], "GET /rec?x=1 HTTP/1.1");
    assert_eq!(kv(&get(&apache.url("/none")).text())["capsule"], "none");
    apache.assert_log_clean(&["printed by streams.py"]);
}

/// With mod_ssl loaded, embedded environs have `mod_ssl.is_https()` and
/// `mod_ssl.var_lookup(name)`, answering for the request's own connection; without it, the
/// keys are absent.
#[test]
fn mod_ssl_callables_answer_for_the_connection() {
    let apache = Apache::start(Mpm::Event, "WSGIScriptAlias /ssl {root}/apps/ssl_vars.py\n");
    assert_eq!(kv(&get(&apache.url("/ssl")).text())["callables"], "absent");
    drop(apache);

    let stage = Stage::new(Mpm::Event);
    let (crt, key) = (stage.root().join("site.crt"), stage.root().join("site.key"));
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    chmod_world_readable(&key);
    let https = free_port();
    let apache = stage.start(&format!(
        "LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so\n\
         LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so\n\
         WSGIScriptAlias /ssl {{root}}/apps/ssl_vars.py\n\
         Listen 127.0.0.1:{https} https\n\
         <VirtualHost 127.0.0.1:{https}>\n  SSLEngine on\n\
         \x20 SSLCertificateFile {}\n  SSLCertificateKeyFile {}\n</VirtualHost>\n",
        crt.display(),
        key.display()
    ));
    let plain = kv(&get(&apache.url("/ssl")).text());
    assert_eq!(plain["callables"], "present");
    assert_eq!(plain["is_https"], "False");
    assert_eq!(plain["HTTPS"], "off");
    let out = std::process::Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "30",
            &format!("https://127.0.0.1:{https}/ssl"),
        ])
        .output()
        .unwrap();
    let secure = kv(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        secure.get("is_https").map(String::as_str),
        Some("True"),
        "{secure:?}"
    );
    assert_eq!(secure["HTTPS"], "on");
    assert!(secure["SSL_PROTOCOL"].starts_with("TLSv1."), "{secure:?}");
    apache.assert_log_clean(&["printed by streams.py"]);
}

const SCOPED: &str = "WSGIRestrictStdout On\nWSGISwitchInterval 0.005\nWSGIPythonPath {root}/top\n\
<WSGIInterpreterOptions process-group=%{GLOBAL} application-group=free>\n\
  WSGIRestrictStdin On\n\
</WSGIInterpreterOptions>\n\
<WSGIInterpreterOptions application-group=free>\n\
  WSGIRestrictStdout Off\n  WSGIRestrictStdin Off\n  WSGIPythonPath {root}/free\n  WSGIRestrictSignal Off\n\
</WSGIInterpreterOptions>\n\
<WSGIInterpreterOptions process-group=d>\n  WSGIRestrictStdin On\n  WSGIPythonPath {root}/daemon\n\
  WSGISwitchInterval 0.02\n\
</WSGIInterpreterOptions>\n\
WSGIDaemonProcess d processes=1 threads=2\n\
WSGIScriptAlias /plain {root}/apps/streams.py application-group=plain\n\
WSGIScriptAlias /free {root}/apps/streams.py application-group=free\n\
WSGIScriptAlias /daemon {root}/apps/streams.py process-group=d application-group=plain\n";

fn scoped_server() -> Apache {
    let stage = Stage::new(Mpm::Event);
    for dir in ["top", "free", "daemon"] {
        stage.write(&format!("{dir}/.keep"), "");
    }
    stage.start(SCOPED)
}

fn check_plain(got: &std::collections::BTreeMap<String, String>) {
    assert!(got["stdout"].starts_with("OSError"), "{got:?}");
    assert_eq!(got["stdin"], "ok");
    assert_eq!(got["switch"], "0.005");
    assert_eq!(got["path"], "top");
    assert_eq!(got["signal_guarded"], "True");
}

fn check_free(got: &std::collections::BTreeMap<String, String>) {
    assert_eq!(got["stdout"], "ok", "{got:?}");
    // Two selectors beat one, though written first.
    assert!(got["stdin"].starts_with("OSError"), "{got:?}");
    assert_eq!(got["switch"], "0.005");
    // Each layer's directories go in front of what came before, as in mod_wsgi: the most
    // specific section's first.
    assert_eq!(got["path"], "free,top");
    assert_eq!(got["signal_guarded"], "False");
}

#[test]
fn interpreter_options_scope_settings_to_groups_and_processes() {
    // `plain` first: it takes the main interpreter; `free` gets a sub-interpreter.
    let apache = scoped_server();
    check_plain(&streams(&apache, "/plain"));
    check_free(&streams(&apache, "/free"));
    let daemon = streams(&apache, "/daemon");
    assert!(daemon["stdin"].starts_with("OSError"), "{daemon:?}");
    assert!(daemon["stdout"].starts_with("OSError"), "{daemon:?}");
    // WSGIPythonPath is embedded mode's (a daemon group has python-path=), as in mod_wsgi.
    assert_eq!(daemon["path"], "daemon");
    // The daemon group's section sets the interval for its processes.
    assert_eq!(daemon["switch"], "0.02");
    apache.assert_log_clean(&["printed by streams.py"]);

    // `free` first: the main interpreter learns its group with the request, and takes the
    // section's settings then.
    let apache = scoped_server();
    let free = streams(&apache, "/free");
    check_free(&free);
    check_plain(&streams(&apache, "/plain"));
}

#[test]
fn interpreter_options_refuse_what_they_cannot_scope() {
    let text = config_error(
        "<WSGIInterpreterOptions application-group=x>\n  WSGIPythonHome /usr\n</WSGIInterpreterOptions>\n",
    );
    assert_mentions(
        &text,
        &[
            "WSGIPythonHome cannot be used inside <WSGIInterpreterOptions>",
            "WSGIRestrictStdin",
            "httpd.conf:",
        ],
    );
    let text = config_error(
        "<WSGIInterpreterOptions application-group=x>\n  WSGISwitchInterval 0.01\n</WSGIInterpreterOptions>\n",
    );
    assert_mentions(
        &text,
        &[
            "WSGISwitchInterval",
            "needs WSGIPerInterpreterGIL On",
            "whole process",
        ],
    );
    let text = config_error("<WSGIInterpreterOptions group=x>\n</WSGIInterpreterOptions>\n");
    assert_mentions(
        &text,
        &[
            "unknown selector 'group'",
            "process-group or application-group",
        ],
    );
    let text = config_error(
        "<WSGIInterpreterOptions process-group=a>\n  WSGIRestrictStdin Maybe\n</WSGIInterpreterOptions>\n",
    );
    assert_mentions(&text, &["WSGIRestrictStdin", "On", "Off"]);
    let text = config_error(
        "<VirtualHost *:80>\n<WSGIInterpreterOptions>\n</WSGIInterpreterOptions>\n</VirtualHost>\n",
    );
    assert_mentions(
        &text,
        &["<WSGIInterpreterOptions> cannot occur within <VirtualHost>"],
    );
}

/// `WSGIPerInterpreterGIL On` for one group only: its sub-interpreter gets its own GIL, the
/// others share the main one (Python 3.12+); a 3.11 build refuses it as at top level.
#[test]
fn interpreter_options_give_one_group_its_own_gil() {
    let out = std::process::Command::new(test_python())
        .args(["-c", "import sys; print(sys.version_info >= (3, 12))"])
        .output()
        .unwrap();
    let supported = String::from_utf8_lossy(&out.stdout).trim() == "True";
    let snippet = "<WSGIInterpreterOptions application-group=own>\n  WSGIPerInterpreterGIL On\n\
                   </WSGIInterpreterOptions>\n\
                   WSGIScriptAlias /first {root}/apps/streams.py application-group=first\n\
                   WSGIScriptAlias /shared {root}/apps/streams.py application-group=shared\n\
                   WSGIScriptAlias /own {root}/apps/streams.py application-group=own\n";
    if !supported {
        let text = config_error(snippet);
        assert_mentions(
            &text,
            &[
                "WSGIPerInterpreterGIL",
                "Python 3.12",
                "<WSGIInterpreterOptions>",
            ],
        );
        return;
    }
    let apache = Apache::start(Mpm::Event, snippet);
    for path in ["/first", "/shared", "/own"] {
        assert_eq!(get(&apache.url(path)).status, 200);
    }
    apache.assert_log(
        "RW0118: application group 'own' runs in a new sub-interpreter with its own GIL",
    );
    let log = apache.wait_for_log("RW0118: application group 'shared'");
    // (The harness's own-GIL pass turns it on for every group at top level.)
    if std::env::var_os("RWSGI_TEST_OWN_GIL").is_none() {
        assert!(
            log.contains("RW0118: application group 'shared' runs in a new sub-interpreter\n"),
            "{log}"
        );
    }
}
